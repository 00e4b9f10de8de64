#!/usr/bin/env python3
"""Train the paper's network with PyTorch on random data and print seconds per epoch.

The side-by-side reference for `bench perf` (which runs this script with --torch): the same
network as bench's "paper" model (conv 30@5x5 -> ReLU -> max-pool 2 -> affine 100 -> BN ->
ReLU -> affine 10, softmax cross-entropy), the same batch, Momentum (lr 0.1, momentum 0.9,
PyTorch's form v = 0.9 v + g; w -= lr v, the same cost per step), fp32 on the CPU, a fixed
number of timed iterations after a warm-up. An epoch is 60,000 / batch iterations.

    python3 scripts/torch_bench.py [--threads N[,M...]] [--batch 100] [--iters 100]

With several thread counts each is timed in turn (the same network and data), one block of
lines each: `bench perf --torch` takes the fastest as PyTorch's best setting.

Needs torch (Debian: apt-get install python3-torch). Random data: the speed of these layers
does not depend on the pixel values.
"""
import argparse
import os
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default=str(os.cpu_count() or 1),
                    help="thread count, or a comma-separated list of them")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()

    import torch
    import torch.nn as nn

    settings = [int(t) for t in str(a.threads).split(",") if t]
    for threads in settings:
        run(torch, nn, threads, a)


def run(torch, nn, threads, a):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(30 * 12 * 12, 100), nn.BatchNorm1d(100, eps=1e-6, momentum=0.1), nn.ReLU(),
        nn.Linear(100, 10),
    )
    for m in net.modules():  # the paper's init: N(0, 0.01^2) weights, zero biases
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    net.train()
    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.iters):
        step()
    dt = (time.perf_counter() - t0) / a.iters

    net.eval()
    with torch.no_grad():
        xe = torch.rand(a.batch, 1, 28, 28)
        t1 = time.perf_counter()
        for _ in range(10000 // a.batch):
            net(xe)
        t_eval = time.perf_counter() - t1

    per_epoch = 60000 // a.batch
    print(f"torch {torch.__version__}, {threads} thread{'s' if threads > 1 else ''}, batch {a.batch}, "
          f"{a.iters} timed iterations")
    print(f"  {dt * 1e3:.3f} ms per iteration, {a.batch / dt:.0f} images/s")
    print(f"  seconds per epoch ({per_epoch} iterations): {dt * per_epoch:.2f} s")
    print(f"  evaluation of 10,000 images: {t_eval:.3f} s")


if __name__ == "__main__":
    main()
