/* err: error reporting for every fallible function of bench.
 *
 * A function that can fail returns int: 0 on success, a negative ERR_* code on failure, and
 * fills the caller's err_info with a one-line message (lowercase, no final period, the subject
 * in quotes: "cannot open 'x.toml'"). There is no "last error" global (README.md "Conventions" rule 5).
 * Programming mistakes are asserts, not error codes. */
#ifndef BENCH_ERR_H
#define BENCH_ERR_H

enum {
    ERR_OK = 0,
    ERR_INVALID = -1,  /* bad argument or configuration value */
    ERR_IO = -2,       /* open/read/write failed */
    ERR_NOMEM = -3,    /* allocation failed */
    ERR_FORMAT = -4,   /* malformed or truncated input */
    ERR_DIVERGED = -5, /* training produced a non-finite loss */
    ERR_CHECKSUM = -6, /* data does not match its expected checksum */
    ERR_INTERRUPTED = -7, /* stopped on request (signal, callback) */
    ERR_CONFLICT = -8, /* the record belongs to another writer now (a run taken over) */
};

#define ERR_MSG_MAX 512

typedef struct err_info {
    int code;               /* the last ERR_* set, 0 when none */
    char msg[ERR_MSG_MAX];  /* one line, no trailing newline */
} err_info;

/* Set e (which may be NULL) to code and a printf-formatted message; returns code so that
 * callers can write `return err_set(e, ERR_IO, "cannot open '%s'", path);`. */
int err_set(err_info *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix an existing message with context: "ctx: old message". Returns e->code. */
int err_prefix(err_info *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Reset e to "no error". */
void err_clear(err_info *e);

#endif
