#!/usr/bin/env python3
"""Writes the small IDX fixtures of tests/test_idx.c, test_dataset.c and test_data.c.

Run from anywhere: python3 tests/data/make_idx_fixtures.py. The output is deterministic
(gzip members carry mtime 0 and no file name), so re-running it changes nothing.
Fixtures live in tests/data/idx/ and tests/data/tiny/ (a four-file data set for idx:<dir>)."""
import gzip
import io
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
IDX = os.path.join(HERE, "idx")
TINY = os.path.join(HERE, "tiny")


def idx(dims, payload, type_code=0x08, magic=None):
    """IDX bytes: 00 00 type rank, big-endian uint32 dims, then payload."""
    head = magic if magic is not None else bytes([0, 0, type_code, len(dims)])
    return head + b"".join(struct.pack(">I", d) for d in dims) + payload


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(data)
    return buf.getvalue()


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


# 5 images of 3x4 pixels: pixel k of image i = (i * 12 + k) * 4 % 256, values 0..236.
N, H, W = 5, 3, 4
pixels = bytes((i * H * W + k) * 4 % 256 for i in range(N) for k in range(H * W))
labels = bytes([3, 0, 9, 1, 7])
images = idx([N, H, W], pixels)
labs = idx([N], labels)

write(IDX, "images.idx", images)
write(IDX, "labels.idx", labs)
write(IDX, "images.idx.gz", gz(images))
write(IDX, "images_gz_no_suffix.idx", gz(images))        # gzip detected by magic, not name
write(IDX, "images_two_members.idx.gz", gz(images[:20]) + gz(images[20:]))
write(IDX, "empty.idx", b"")
write(IDX, "short_magic.idx", b"\x00\x00\x08")
write(IDX, "truncated.idx", images[:-7])                  # payload 7 bytes short
write(IDX, "trailing.idx", images + b"\x00\x01")          # 2 bytes too many
write(IDX, "header_truncated.idx", images[:10])           # rank 3 needs 16 header bytes
write(IDX, "bad_magic.idx", idx([N, H, W], pixels, magic=bytes([0x01, 0x00, 0x08, 0x03])))
write(IDX, "bad_type.idx", idx([N, H, W], pixels, magic=bytes([0, 0, 0x07, 3])))
write(IDX, "rank0.idx", bytes([0, 0, 0x08, 0]) + pixels)
write(IDX, "rank5.idx", idx([1, 1, 1, 1, 2], b"\x01\x02"))
write(IDX, "zero_dim.idx", idx([N, 0, W], b""))
write(IDX, "overflow.idx", idx([0xFFFFFFFF] * 4, b"\x00" * 16))
# Rank is right but the dimensions promise more than the file holds (wrong dimensions).
write(IDX, "wrong_dims.idx", idx([N, H + 1, W], pixels))
write(IDX, "int16.idx", idx([3], struct.pack(">hhh", -2, 300, 7), type_code=0x0B))
write(IDX, "float32.idx", idx([2], struct.pack(">ff", 1.5, -0.25), type_code=0x0D))
z = gz(images)
write(IDX, "truncated.idx.gz", z[: len(z) // 2])
corrupt = bytearray(z)
corrupt[len(corrupt) // 2] ^= 0xFF                        # damages the deflate data or its CRC
write(IDX, "corrupt.idx.gz", bytes(corrupt))
write(IDX, "labels_4.idx", idx([4], labels[:4]))          # count differs from images.idx
write(IDX, "labels_10.idx", idx([N], bytes([3, 0, 10, 1, 7])))  # label 10 with 10 classes
write(IDX, "labels_rank2.idx", idx([N, 1], labels))

# A four-file data set: raw and gzipped files mixed, 4 training and 2 test images of 2x2.
tr_px = bytes(range(0, 16 * 4, 4))          # 4 images x 4 pixels
te_px = bytes([255, 0, 128, 1, 2, 3, 4, 5])  # 2 images x 4 pixels
write(TINY, "train-images-idx3-ubyte", idx([4, 2, 2], tr_px))
write(TINY, "train-labels-idx1-ubyte", idx([4], bytes([0, 1, 2, 9])))
write(TINY, "t10k-images-idx3-ubyte.gz", gz(idx([2, 2, 2], te_px)))
write(TINY, "t10k-labels-idx1-ubyte", idx([2], bytes([5, 6])))
