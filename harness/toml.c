/* toml: a strict TOML 1.0.0 parser (see toml.h for the contract).
 *
 * One pass of recursive descent over a byte buffer that has been checked to be UTF-8 first.
 * The grammar is the ABNF of toml.io (v1.0.0); the comments below quote the rules it encodes.
 * Recursion happens only for nested arrays and inline tables, and every container checks its
 * depth against TOML_MAX_DEPTH when it is created, so neither the parser nor toml_free can be
 * driven into unbounded recursion.
 *
 * Redefinition rules. Tables carry flags saying how they came to exist:
 *   (none)     created implicitly as an intermediate of a [a.b.c] header path;
 *   F_HEADER   defined by a [header] (or an element of an [[array of tables]]);
 *   F_DOTTED   created (or claimed) by a dotted key `a.b = 1` in section number `gen`;
 *   F_INLINE   an inline table { ... }, immutable once closed.
 * A header may pass through any table that is not inline (and through the last element of an
 * array of tables) but may only define a table that has none of the three defining flags.
 * A dotted key may pass through tables created implicitly or by dotted keys of the same
 * section, never through a [header] table, an inline table or an array; it claims what it
 * passes through, so that a later [header] cannot redefine it. This is the behaviour the
 * toml-test suite and the specification's examples require (see toml-lang/toml#846). */
#include "toml.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    F_HEADER = 1u << 0, /* table defined by [header] or [[header]] */
    F_DOTTED = 1u << 1, /* table created or claimed by dotted keys */
    F_INLINE = 1u << 2, /* closed inline table: immutable */
    F_AOT = 1u << 3,    /* array created by [[header]]: extensible */
};

/* Tables switch from linear search to a hash index at this many entries. */
#define TABLE_INDEX_MIN 16

typedef struct toml_entry {
    char *key;      /* [klen + 1], NUL-terminated, may contain NULs */
    size_t klen;
    int line, col;  /* where the key was first written */
    toml_value *val;
} toml_entry;

struct toml_value {
    toml_type type;
    int line, col;
    unsigned flags;  /* F_* (tables and arrays) */
    unsigned gen;    /* section in which F_DOTTED was set */
    int depth;       /* nesting depth, root = 0 */
    union {
        struct {
            toml_entry *ent;  /* [cap], n used, in insertion order */
            size_t n, cap;
            size_t *index;    /* [index_cap] open-addressing slots holding entry i + 1, or NULL */
            size_t index_cap; /* power of two >= 2 n when index != NULL */
        } tbl;
        struct {
            toml_value **item; /* [cap], n used */
            size_t n, cap;
        } arr;
        struct {
            char *s;  /* [len + 1] string bytes, or canonical date/time text */
            size_t len;
            toml_datetime dt; /* date/time kinds only */
        } str;
        int64_t i;
        double f;
        bool b;
    } u;
};

/* ---------------------------------------------------------------- tree ---------------------- */

static const char *const type_names[] = {
    [TOML_TABLE] = "table",
    [TOML_ARRAY] = "array",
    [TOML_STRING] = "string",
    [TOML_INTEGER] = "integer",
    [TOML_FLOAT] = "float",
    [TOML_BOOL] = "bool",
    [TOML_DATETIME] = "datetime",
    [TOML_DATETIME_LOCAL] = "datetime-local",
    [TOML_DATE_LOCAL] = "date-local",
    [TOML_TIME_LOCAL] = "time-local",
};

const char *toml_type_name(toml_type t)
{
    if ((unsigned)t >= sizeof type_names / sizeof type_names[0])
        return "unknown";
    return type_names[t];
}

static bool is_datetime_type(toml_type t)
{
    return t == TOML_DATETIME || t == TOML_DATETIME_LOCAL || t == TOML_DATE_LOCAL ||
           t == TOML_TIME_LOCAL;
}

void toml_free(toml_value *v)
{
    if (!v)
        return;
    if (v->type == TOML_TABLE) {
        for (size_t i = 0; i < v->u.tbl.n; i++) {
            free(v->u.tbl.ent[i].key);
            toml_free(v->u.tbl.ent[i].val);
        }
        free(v->u.tbl.ent);
        free(v->u.tbl.index);
    } else if (v->type == TOML_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            toml_free(v->u.arr.item[i]);
        free(v->u.arr.item);
    } else if (v->type == TOML_STRING || is_datetime_type(v->type)) {
        free(v->u.str.s);
    }
    free(v);
}

static toml_value *value_new(toml_type type, int line, int col, int depth)
{
    toml_value *v = calloc(1, sizeof *v);
    if (v) {
        v->type = type;
        v->line = line;
        v->col = col;
        v->depth = depth;
    }
    return v;
}

/* FNV-1a over the key bytes. */
static size_t key_hash(const char *k, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

/* Entry index of key in table t, or -1. */
static long table_find(const toml_value *t, const char *key, size_t len)
{
    assert(t->type == TOML_TABLE);
    const toml_entry *ent = t->u.tbl.ent;
    if (t->u.tbl.index) {
        size_t mask = t->u.tbl.index_cap - 1;
        for (size_t s = key_hash(key, len) & mask;; s = (s + 1) & mask) {
            size_t slot = t->u.tbl.index[s];
            if (slot == 0)
                return -1;
            const toml_entry *en = &ent[slot - 1];
            if (en->klen == len && memcmp(en->key, key, len) == 0)
                return (long)(slot - 1);
        }
    }
    for (size_t i = 0; i < t->u.tbl.n; i++)
        if (ent[i].klen == len && memcmp(ent[i].key, key, len) == 0)
            return (long)i;
    return -1;
}

static void index_put(size_t *index, size_t cap, const toml_entry *en, size_t i)
{
    size_t mask = cap - 1;
    size_t s = key_hash(en->key, en->klen) & mask;
    while (index[s] != 0)
        s = (s + 1) & mask;
    index[s] = i + 1;
}

/* Append key -> val to t (the caller has checked that key is absent). On success t owns val;
 * on failure (ERR_NOMEM) the caller still does. */
static int table_add(toml_value *t, const char *key, size_t len, int line, int col,
                     toml_value *val)
{
    assert(t->type == TOML_TABLE);
    if (t->u.tbl.n == t->u.tbl.cap) {
        size_t cap = t->u.tbl.cap ? 2 * t->u.tbl.cap : 4;
        toml_entry *ent = realloc(t->u.tbl.ent, cap * sizeof *ent);
        if (!ent)
            return ERR_NOMEM;
        t->u.tbl.ent = ent;
        t->u.tbl.cap = cap;
    }
    char *k = malloc(len + 1);
    if (!k)
        return ERR_NOMEM;
    memcpy(k, key, len);
    k[len] = '\0';
    size_t i = t->u.tbl.n;
    t->u.tbl.ent[i] = (toml_entry){k, len, line, col, val};
    t->u.tbl.n++;

    /* Keep the load factor of the hash index at or below 1/2, rebuilding on growth. */
    size_t n = t->u.tbl.n;
    if (n >= TABLE_INDEX_MIN && 2 * n > t->u.tbl.index_cap) {
        size_t cap = 64;
        while (cap < 4 * n)
            cap *= 2;
        size_t *index = calloc(cap, sizeof *index);
        if (index) {
            for (size_t j = 0; j < n; j++)
                index_put(index, cap, &t->u.tbl.ent[j], j);
            free(t->u.tbl.index);
            t->u.tbl.index = index;
            t->u.tbl.index_cap = cap;
        } else {
            /* Out of memory for the index only: fall back to linear search. */
            free(t->u.tbl.index);
            t->u.tbl.index = NULL;
            t->u.tbl.index_cap = 0;
        }
    } else if (t->u.tbl.index) {
        index_put(t->u.tbl.index, t->u.tbl.index_cap, &t->u.tbl.ent[i], i);
    }
    return 0;
}

static int array_push(toml_value *a, toml_value *item)
{
    assert(a->type == TOML_ARRAY);
    if (a->u.arr.n == a->u.arr.cap) {
        size_t cap = a->u.arr.cap ? 2 * a->u.arr.cap : 4;
        toml_value **it = realloc(a->u.arr.item, cap * sizeof *it);
        if (!it)
            return ERR_NOMEM;
        a->u.arr.item = it;
        a->u.arr.cap = cap;
    }
    a->u.arr.item[a->u.arr.n++] = item;
    return 0;
}

/* ---------------------------------------------------------------- accessors ----------------- */

toml_type toml_type_of(const toml_value *v)
{
    assert(v);
    return v->type;
}

int toml_line(const toml_value *v)
{
    assert(v);
    return v->line;
}

int toml_column(const toml_value *v)
{
    assert(v);
    return v->col;
}

size_t toml_len(const toml_value *v)
{
    assert(v && (v->type == TOML_TABLE || v->type == TOML_ARRAY));
    return v->type == TOML_TABLE ? v->u.tbl.n : v->u.arr.n;
}

const char *toml_key_at(const toml_value *tbl, size_t i)
{
    assert(tbl && tbl->type == TOML_TABLE && i < tbl->u.tbl.n);
    return tbl->u.tbl.ent[i].key;
}

size_t toml_key_len(const toml_value *tbl, size_t i)
{
    assert(tbl && tbl->type == TOML_TABLE && i < tbl->u.tbl.n);
    return tbl->u.tbl.ent[i].klen;
}

int toml_key_line(const toml_value *tbl, size_t i)
{
    assert(tbl && tbl->type == TOML_TABLE && i < tbl->u.tbl.n);
    return tbl->u.tbl.ent[i].line;
}

int toml_key_column(const toml_value *tbl, size_t i)
{
    assert(tbl && tbl->type == TOML_TABLE && i < tbl->u.tbl.n);
    return tbl->u.tbl.ent[i].col;
}

toml_value *toml_value_at(const toml_value *v, size_t i)
{
    assert(v && (v->type == TOML_TABLE || v->type == TOML_ARRAY));
    if (v->type == TOML_TABLE) {
        assert(i < v->u.tbl.n);
        return v->u.tbl.ent[i].val;
    }
    assert(i < v->u.arr.n);
    return v->u.arr.item[i];
}

long toml_find(const toml_value *tbl, const char *key)
{
    assert(tbl && tbl->type == TOML_TABLE && key);
    return table_find(tbl, key, strlen(key));
}

toml_value *toml_get(const toml_value *tbl, const char *key)
{
    long i = toml_find(tbl, key);
    return i < 0 ? NULL : tbl->u.tbl.ent[i].val;
}

const char *toml_string(const toml_value *v)
{
    assert(v && v->type == TOML_STRING);
    return v->u.str.s;
}

size_t toml_string_len(const toml_value *v)
{
    assert(v && v->type == TOML_STRING);
    return v->u.str.len;
}

int64_t toml_integer(const toml_value *v)
{
    assert(v && v->type == TOML_INTEGER);
    return v->u.i;
}

double toml_float(const toml_value *v)
{
    assert(v && v->type == TOML_FLOAT);
    return v->u.f;
}

bool toml_bool(const toml_value *v)
{
    assert(v && v->type == TOML_BOOL);
    return v->u.b;
}

const char *toml_datetime_text(const toml_value *v)
{
    assert(v && is_datetime_type(v->type));
    return v->u.str.s;
}

toml_datetime toml_datetime_of(const toml_value *v)
{
    assert(v && is_datetime_type(v->type));
    return v->u.str.dt;
}

/* ---------------------------------------------------------------- parser state -------------- */

typedef struct parser {
    const char *s;      /* [n] the document */
    size_t n, pos;      /* length, read position */
    int line;           /* 1-based line of pos */
    size_t line_start;  /* offset of the first byte of that line */
    size_t cc_start, cc_pos; /* column cache: line start and offset it was computed for */
    int cc_col;
    const char *file;   /* name for messages */
    err_info *e;
    toml_value *root;   /* the document */
    toml_value *cur;    /* table receiving key/values: the last [header], initially root */
    unsigned gen;       /* section number, incremented by each header */
} parser;

/* One part of a (dotted) key, as decoded. */
typedef struct key_part {
    char *s;  /* [len + 1] */
    size_t len;
    int line, col;
} key_part;

typedef struct key_path {
    key_part *part; /* [cap], n used */
    size_t n, cap;
} key_path;

static void key_path_release(key_path *kp)
{
    for (size_t i = 0; i < kp->n; i++)
        free(kp->part[i].s);
    free(kp->part);
    *kp = (key_path){0};
}

/* Growable byte buffer for decoded strings. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static int sbuf_add(sbuf *b, const char *src, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return ERR_NOMEM;
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->n, src, len);
    b->n += len;
    b->s[b->n] = '\0';
    return 0;
}

/* Column (1-based, in code points) of offset pos on the current line. Amortised O(1) for the
 * increasing offsets the parser asks about, so that very long lines stay linear. */
static int col_of(parser *p, size_t pos)
{
    if (pos < p->line_start)
        pos = p->line_start;
    if (p->cc_start != p->line_start || pos < p->cc_pos) {
        p->cc_start = p->line_start;
        p->cc_pos = p->line_start;
        p->cc_col = 1;
    }
    for (size_t k = p->cc_pos; k < pos; k++)
        if (((unsigned char)p->s[k] & 0xC0) != 0x80)
            p->cc_col++;
    p->cc_pos = pos;
    return p->cc_col;
}

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Set "FILE:LINE:COL: message"; returns ERR_FORMAT. */
static int vfail_lc(parser *p, int line, int col, const char *fmt, va_list ap)
    PRINTF_LIKE(4, 0);
static int vfail_lc(parser *p, int line, int col, const char *fmt, va_list ap)
{
    char msg[ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return err_set(p->e, ERR_FORMAT, "%s:%d:%d: %s", p->file, line, col, msg);
}

/* Fail at offset pos of the current line. */
static int fail(parser *p, size_t pos, const char *fmt, ...) PRINTF_LIKE(3, 4);
static int fail(parser *p, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail_lc(p, p->line, col_of(p, pos), fmt, ap);
    va_end(ap);
    return rc;
}

/* Fail at a key part (which records its own line and column). */
static int fail_key(parser *p, const key_part *kpart, const char *fmt, ...) PRINTF_LIKE(3, 4);
static int fail_key(parser *p, const key_part *kpart, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail_lc(p, kpart->line, kpart->col, fmt, ap);
    va_end(ap);
    return rc;
}

static int nomem(parser *p)
{
    return err_set(p->e, ERR_NOMEM, "%s: out of memory while parsing", p->file);
}

/* Map an allocation result to the error path. */
static int check_alloc(parser *p, int rc)
{
    return rc == ERR_NOMEM ? nomem(p) : rc;
}

/* Printable rendering of a byte for messages: 'x', or a code such as U+000D. */
static const char *char_desc(char *buf, size_t cap, const parser *p, size_t pos)
{
    if (pos >= p->n) {
        snprintf(buf, cap, "end of file");
        return buf;
    }
    unsigned char c = (unsigned char)p->s[pos];
    if (c == '\n' || (c == '\r' && pos + 1 < p->n && p->s[pos + 1] == '\n'))
        snprintf(buf, cap, "end of line");
    else if (c >= 0x21 && c < 0x7F)
        snprintf(buf, cap, "'%c'", c);
    else if (c == ' ')
        snprintf(buf, cap, "space");
    else if (c < 0x80)
        snprintf(buf, cap, "character U+%04X", c);
    else
        snprintf(buf, cap, "non-ASCII character");
    return buf;
}

/* The dotted key parts [0, upto) of kp as text for messages ("a.b"), with control characters
 * replaced by '?' and long keys cut with "...". */
static const char *key_desc(char *buf, size_t cap, const key_path *kp, size_t upto)
{
    assert(cap > 4);
    size_t o = 0;
    bool cut = false;
    for (size_t i = 0; i < upto && !cut; i++) {
        for (size_t k = (i == 0); k <= kp->part[i].len; k++) {
            if (o + 1 == cap) {
                cut = true;
                break;
            }
            /* k == 0 stands for the dot before every part but the first. */
            unsigned char c = k == 0 ? '.' : (unsigned char)kp->part[i].s[k - 1];
            buf[o++] = (c < 0x20 || c == 0x7F || c == '\'') ? '?' : (char)c;
        }
    }
    buf[o] = '\0';
    if (cut) {
        /* Put the ellipsis before the lead byte of any UTF-8 sequence it would split. */
        size_t at = cap - 4;
        while (at > 0 && ((unsigned char)buf[at] & 0xC0) == 0x80)
            at--;
        memcpy(buf + at, "...", 4);
    }
    return buf;
}

static int peek(const parser *p)
{
    return p->pos < p->n ? (unsigned char)p->s[p->pos] : -1;
}

static int peek_at(const parser *p, size_t k)
{
    return p->pos + k < p->n ? (unsigned char)p->s[p->pos + k] : -1;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_bare_key_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           c == '-';
}

/* A control character that may not appear in comments and strings: U+0000-U+001F except
 * tab, and U+007F (newlines are handled by the callers). */
static bool is_control(int c)
{
    return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

/* ws = *( %x20 / %x09 ) */
static void skip_ws(parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

/* newline = %x0A / %x0D.0A. Consumes one if present: returns 1, 0 if none, ERR_FORMAT on a
 * carriage return that is not followed by a line feed. */
static int eat_newline(parser *p)
{
    int c = peek(p);
    if (c == '\r') {
        if (peek_at(p, 1) != '\n')
            return fail(p, p->pos, "carriage return not followed by line feed");
        p->pos++;
        c = '\n';
    }
    if (c != '\n')
        return 0;
    p->pos++;
    p->line++;
    p->line_start = p->pos;
    return 1;
}

/* comment = "#" *( %x09 / %x20-7E / non-ascii ); stops before the newline. */
static int skip_comment(parser *p)
{
    assert(peek(p) == '#');
    p->pos++;
    for (;;) {
        int c = peek(p);
        if (c < 0 || c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
            return 0;
        if (is_control(c))
            return fail(p, p->pos, "control character U+%04X in comment", c);
        p->pos++;
    }
}

/* ws-comment-newline = *( wschar / [ comment ] newline ), used inside arrays. */
static int skip_ws_comment_newline(parser *p)
{
    for (;;) {
        skip_ws(p);
        int c = peek(p);
        if (c == '#') {
            int rc = skip_comment(p);
            if (rc < 0)
                return rc;
            continue;
        }
        int rc = eat_newline(p);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return 0;
    }
}

/* ---------------------------------------------------------------- strings ------------------- */

/* Append code point cp (a Unicode scalar value) as UTF-8. */
static int put_utf8(sbuf *b, uint32_t cp)
{
    char u[4];
    size_t len;
    if (cp < 0x80) {
        u[0] = (char)cp;
        len = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        len = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        len = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        len = 4;
    }
    return sbuf_add(b, u, len);
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* escaped = "\" ( %x22 / %x5C / b / f / n / r / t / u 4HEXDIG / U 8HEXDIG ). At the backslash;
 * \u and \U must name a Unicode scalar value (not a surrogate, at most U+10FFFF). */
static int parse_escape(parser *p, sbuf *b)
{
    size_t at = p->pos;
    assert(peek(p) == '\\');
    int c = peek_at(p, 1);
    static const char simple_from[] = "btnfr\"\\";
    static const char simple_to[] = "\b\t\n\f\r\"\\";
    const char *hit = c > 0 ? strchr(simple_from, c) : NULL;
    if (hit) {
        p->pos += 2;
        return check_alloc(p, sbuf_add(b, &simple_to[hit - simple_from], 1));
    }
    if (c == 'u' || c == 'U') {
        int ndig = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int k = 0; k < ndig; k++) {
            int h = hex_value(peek_at(p, 2 + (size_t)k));
            if (h < 0)
                return fail(p, at, "escape '\\%c' needs %d hexadecimal digits", c, ndig);
            cp = cp * 16 + (uint32_t)h;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail(p, at, "escape '\\%c' names U+%04X, which is not a Unicode scalar value",
                        c, (unsigned)cp);
        p->pos += 2 + (size_t)ndig;
        return check_alloc(p, put_utf8(b, cp));
    }
    char d[32];
    return fail(p, at, "invalid escape sequence: backslash followed by %s",
                char_desc(d, sizeof d, p, at + 1));
}

/* Single-line basic ("...") or literal ('...') string; at the opening quote. */
static int parse_line_string(parser *p, sbuf *b)
{
    int q = peek(p);
    size_t start = p->pos;
    p->pos++;
    for (;;) {
        int c = peek(p);
        if (c == q) {
            p->pos++;
            return 0;
        }
        if (c < 0 || c == '\n' || c == '\r')
            return fail(p, start, "unterminated string (a %s string must close on its line)",
                        q == '"' ? "basic" : "literal");
        if (is_control(c))
            return fail(p, p->pos, "control character U+%04X in string", c);
        if (c == '\\' && q == '"') {
            int rc = parse_escape(p, b);
            if (rc < 0)
                return rc;
            continue;
        }
        /* Copy a run of ordinary bytes at once. */
        size_t run = p->pos;
        while (run < p->n && p->s[run] != q && p->s[run] != '\\' && !is_control((unsigned char)p->s[run]) &&
               p->s[run] != '\n')
            run++;
        if (run == p->pos)
            run++; /* a backslash in a literal string */
        if (sbuf_add(b, p->s + p->pos, run - p->pos) < 0)
            return nomem(p);
        p->pos = run;
    }
}

/* Multi-line basic ("""...""") or literal ('''...''') string; at the first of three quotes.
 * A newline right after the opening delimiter is trimmed; newlines inside are kept as LF
 * (CRLF is normalised); up to two quotes may touch the closing delimiter, so """" ends the
 * string with one quote. In basic strings a backslash ending a line trims all whitespace and
 * newlines up to the next other character. */
static int parse_ml_string(parser *p, sbuf *b)
{
    int q = peek(p);
    int start_line = p->line;
    p->pos += 3;
    int rc = eat_newline(p);
    if (rc < 0)
        return rc;
    for (;;) {
        int c = peek(p);
        if (c < 0)
            return fail(p, p->pos, "unterminated multi-line string opened on line %d",
                        start_line);
        if (c == q) {
            size_t k = 0;
            while (peek_at(p, k) == q)
                k++;
            if (k >= 3) {
                if (k > 5)
                    return fail(p, p->pos + 5, "too many quotes at the end of a multi-line "
                                               "string");
                if (sbuf_add(b, p->s + p->pos, k - 3) < 0)
                    return nomem(p);
                p->pos += k;
                return 0;
            }
            if (sbuf_add(b, p->s + p->pos, k) < 0)
                return nomem(p);
            p->pos += k;
            continue;
        }
        if (c == '\n' || c == '\r') {
            rc = eat_newline(p);
            if (rc < 0)
                return rc;
            if (sbuf_add(b, "\n", 1) < 0)
                return nomem(p);
            continue;
        }
        if (is_control(c))
            return fail(p, p->pos, "control character U+%04X in string", c);
        if (c == '\\' && q == '"') {
            /* mlb-escaped-nl = escape ws newline *( wschar / newline ) */
            size_t k = 1;
            while (peek_at(p, k) == ' ' || peek_at(p, k) == '\t')
                k++;
            int nc = peek_at(p, k);
            if (nc == '\n' || nc == '\r') {
                p->pos += k;
                for (;;) {
                    skip_ws(p);
                    rc = eat_newline(p);
                    if (rc < 0)
                        return rc;
                    if (rc == 0)
                        break;
                }
                continue;
            }
            rc = parse_escape(p, b);
            if (rc < 0)
                return rc;
            continue;
        }
        size_t run = p->pos;
        while (run < p->n && p->s[run] != q && p->s[run] != '\\' && p->s[run] != '\n' &&
               p->s[run] != '\r' && !is_control((unsigned char)p->s[run]))
            run++;
        if (run == p->pos)
            run++; /* a backslash in a literal string */
        if (sbuf_add(b, p->s + p->pos, run - p->pos) < 0)
            return nomem(p);
        p->pos = run;
    }
}

/* Any string at the current quote; *ml tells whether it was multi-line. */
static int parse_string(parser *p, sbuf *b, bool *ml)
{
    int q = peek(p);
    *ml = peek_at(p, 1) == q && peek_at(p, 2) == q;
    if (sbuf_add(b, "", 0) < 0) /* an empty string is "" rather than NULL */
        return nomem(p);
    return *ml ? parse_ml_string(p, b) : parse_line_string(p, b);
}

/* ---------------------------------------------------------------- keys ---------------------- */

/* key = simple-key *( ws "." ws simple-key ); simple-key = quoted-key / unquoted-key.
 * Leaves pos after the trailing whitespace. */
static int parse_key(parser *p, key_path *kp)
{
    for (;;) {
        skip_ws(p);
        size_t at = p->pos;
        int c = peek(p);
        sbuf b = {0};
        if (c == '"' || c == '\'') {
            bool ml;
            if (peek_at(p, 1) == c && peek_at(p, 2) == c)
                return fail(p, at, "a multi-line string cannot be a key");
            int rc = parse_string(p, &b, &ml);
            if (rc < 0) {
                free(b.s);
                return rc;
            }
        } else if (is_bare_key_char(c)) {
            size_t end = p->pos;
            while (end < p->n && is_bare_key_char((unsigned char)p->s[end]))
                end++;
            if (sbuf_add(&b, p->s + p->pos, end - p->pos) < 0)
                return nomem(p);
            p->pos = end;
        } else {
            char d[32];
            return fail(p, at, "expected a key, found %s", char_desc(d, sizeof d, p, at));
        }
        if (kp->n == TOML_MAX_DEPTH) {
            free(b.s);
            return fail(p, at, "key has more than %d dotted parts", TOML_MAX_DEPTH);
        }
        if (kp->n == kp->cap) {
            size_t cap = kp->cap ? 2 * kp->cap : 4;
            key_part *part = realloc(kp->part, cap * sizeof *part);
            if (!part) {
                free(b.s);
                return nomem(p);
            }
            kp->part = part;
            kp->cap = cap;
        }
        kp->part[kp->n++] = (key_part){b.s, b.n, p->line, col_of(p, at)};
        skip_ws(p);
        if (peek(p) != '.')
            return 0;
        p->pos++;
    }
}

/* ---------------------------------------------------------------- scalars ------------------- */

static int check_depth(parser *p, size_t at, int depth)
{
    if (depth > TOML_MAX_DEPTH)
        return fail(p, at, "tables and arrays nested more than %d deep", TOML_MAX_DEPTH);
    return 0;
}

/* Read exactly n decimal digits at pos+k into *out; false if any is missing. */
static bool digits_at(const parser *p, size_t k, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        int c = peek_at(p, k + (size_t)i);
        if (!is_digit(c))
            return false;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* partial-time = time-hour ":" time-minute ":" time-second [ time-secfrac ], at pos.
 * Appends the canonical text (fraction without trailing zeros) to b. */
static int parse_time(parser *p, toml_datetime *dt, sbuf *b)
{
    size_t at = p->pos;
    if (!digits_at(p, 0, 2, &dt->hour) || peek_at(p, 2) != ':' ||
        !digits_at(p, 3, 2, &dt->minute) || peek_at(p, 5) != ':' ||
        !digits_at(p, 6, 2, &dt->second))
        return fail(p, at, "malformed time (expected HH:MM:SS)");
    if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
        return fail(p, at, "time %02d:%02d:%02d out of range", dt->hour, dt->minute,
                    dt->second);
    if (sbuf_add(b, p->s + p->pos, 8) < 0)
        return nomem(p);
    p->pos += 8;
    if (peek(p) == '.') {
        size_t k = 1;
        while (is_digit(peek_at(p, k)))
            k++;
        if (k == 1)
            return fail(p, p->pos, "expected digits after '.' in time");
        /* Nanoseconds from the first nine digits; further precision is truncated. */
        int ns = 0;
        for (size_t i = 1; i <= 9; i++)
            ns = ns * 10 + (i < k ? p->s[p->pos + i] - '0' : 0);
        dt->nanosecond = ns;
        size_t last = k - 1;
        while (last >= 1 && p->s[p->pos + last] == '0')
            last--;
        if (last >= 1 && sbuf_add(b, p->s + p->pos, last + 1) < 0)
            return nomem(p);
        p->pos += k;
    }
    return 0;
}

/* Dates and times, at pos: full-date [ ("T" / "t" / " ") partial-time [ time-offset ] ] or a
 * partial-time. The value is validated (month lengths, leap years, offset range). */
static int parse_datetime(parser *p, toml_value **out, int line, int col)
{
    size_t at = p->pos;
    toml_datetime dt = {0};
    sbuf b = {0};
    toml_type type;
    int rc;

    if (is_digit(peek_at(p, 0)) && is_digit(peek_at(p, 1)) && peek_at(p, 2) == ':') {
        type = TOML_TIME_LOCAL;
        rc = parse_time(p, &dt, &b);
        if (rc < 0)
            goto done;
    } else {
        rc = ERR_FORMAT;
        if (!digits_at(p, 0, 4, &dt.year) || peek_at(p, 4) != '-' ||
            !digits_at(p, 5, 2, &dt.month) || peek_at(p, 7) != '-' ||
            !digits_at(p, 8, 2, &dt.day)) {
            fail(p, at, "malformed date (expected YYYY-MM-DD)");
            goto done;
        }
        if (is_digit(peek_at(p, 10))) {
            fail(p, at, "malformed date (expected YYYY-MM-DD)");
            goto done;
        }
        if (dt.month < 1 || dt.month > 12 || dt.day < 1 ||
            dt.day > days_in_month(dt.year, dt.month)) {
            fail(p, at, "date %04d-%02d-%02d does not exist", dt.year, dt.month, dt.day);
            goto done;
        }
        if (sbuf_add(&b, p->s + p->pos, 10) < 0) {
            rc = nomem(p);
            goto done;
        }
        p->pos += 10;
        type = TOML_DATE_LOCAL;
        int c = peek(p);
        bool time = c == 'T' || c == 't' ||
                    (c == ' ' && is_digit(peek_at(p, 1)) && is_digit(peek_at(p, 2)) &&
                     peek_at(p, 3) == ':');
        if (time) {
            p->pos++;
            if (sbuf_add(&b, "T", 1) < 0) {
                rc = nomem(p);
                goto done;
            }
            rc = parse_time(p, &dt, &b);
            if (rc < 0)
                goto done;
            type = TOML_DATETIME_LOCAL;
            /* time-offset = "Z" / time-numoffset; time-numoffset = ( "+" / "-" ) HH ":" MM */
            c = peek(p);
            if (c == 'Z' || c == 'z') {
                p->pos++;
                type = TOML_DATETIME;
                rc = check_alloc(p, sbuf_add(&b, "Z", 1));
            } else if (c == '+' || c == '-') {
                int oh, om;
                if (!digits_at(p, 1, 2, &oh) || peek_at(p, 3) != ':' ||
                    !digits_at(p, 4, 2, &om)) {
                    rc = fail(p, p->pos, "malformed time offset (expected %cHH:MM)", c);
                    goto done;
                }
                if (oh > 23 || om > 59) {
                    rc = fail(p, p->pos, "time offset %c%02d:%02d out of range", c, oh, om);
                    goto done;
                }
                dt.offset_minutes = (c == '-' ? -1 : 1) * (oh * 60 + om);
                rc = check_alloc(p, sbuf_add(&b, p->s + p->pos, 6));
                p->pos += 6;
                type = TOML_DATETIME;
            }
            if (rc < 0)
                goto done;
        }
    }
    rc = 0;
    toml_value *v = value_new(type, line, col, 0);
    if (!v) {
        rc = nomem(p);
        goto done;
    }
    v->u.str.s = b.s;
    v->u.str.len = b.n;
    v->u.str.dt = dt;
    b.s = NULL;
    *out = v;
done:
    free(b.s);
    return rc;
}

/* digits with underscores, each underscore between two digits of the base:
 * e.g. dec-int body = DIGIT *( DIGIT / "_" DIGIT ). */
static bool digits_ok(const char *s, size_t n, int base)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '_') {
            if (i == 0 || i + 1 == n || s[i + 1] == '_')
                return false;
            continue;
        }
        int d = hex_value(c);
        if (d < 0 || d >= base)
            return false;
    }
    return true;
}

/* Integers and floats, at pos. The token is the longest run of characters that can occur in
 * a number; it must then match one of
 *   dec-int = [ "+" / "-" ] ( DIGIT / digit1-9 1*( DIGIT / "_" DIGIT ) )
 *   hex-int = "0x" HEXDIG *( HEXDIG / "_" HEXDIG )   (likewise "0o" octal, "0b" binary)
 *   float   = dec-int ( exp / frac [ exp ] ) / [ "+" / "-" ] ( "inf" / "nan" )
 *   frac    = "." zero-prefixable-int;  exp = "e" [ "+" / "-" ] zero-prefixable-int
 * Integers must fit int64_t; finite floats must stay finite. */
static int parse_number(parser *p, toml_value **out, int line, int col)
{
    size_t at = p->pos, end = p->pos;
    while (end < p->n && (is_bare_key_char((unsigned char)p->s[end]) || p->s[end] == '.' ||
                          p->s[end] == '+'))
        end++;
    /* A '-' or '+' only continues a number after an exponent marker. */
    const char *t = p->s + at;
    size_t n = 0;
    for (; at + n < end; n++) {
        char c = t[n];
        if ((c == '+' || c == '-') && n > 0 && t[n - 1] != 'e' && t[n - 1] != 'E')
            break;
    }
    p->pos = at + n;

    size_t i = 0;
    bool neg = false, has_sign = false;
    if (n > 0 && (t[0] == '+' || t[0] == '-')) {
        neg = t[0] == '-';
        has_sign = true;
        i = 1;
    }
    const char *body = t + i;
    size_t blen = n - i;
    char tok_buf[64];
    /* The token as quoted in messages, cut at 40 bytes; formatted only when failing. */
#define tok (snprintf(tok_buf, sizeof tok_buf, "%.*s%s", (int)(n < 40 ? n : 40), t, \
                      n < 40 ? "" : "..."), tok_buf)

    if (blen == 3 && (memcmp(body, "inf", 3) == 0 || memcmp(body, "nan", 3) == 0)) {
        toml_value *v = value_new(TOML_FLOAT, line, col, 0);
        if (!v)
            return nomem(p);
        v->u.f = body[0] == 'i' ? (neg ? -INFINITY : INFINITY) : (neg ? -NAN : NAN);
        *out = v;
        return 0;
    }

    if (blen >= 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'o' || body[1] == 'b')) {
        int base = body[1] == 'x' ? 16 : body[1] == 'o' ? 8 : 2;
        if (has_sign)
            return fail(p, at, "a sign is not allowed on a %s integer in '%s'",
                        base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary", tok);
        if (!digits_ok(body + 2, blen - 2, base))
            return fail(p, at, "invalid %s integer '%s'",
                        base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary", tok);
        uint64_t u = 0;
        for (size_t k = 2; k < blen; k++) {
            if (body[k] == '_')
                continue;
            uint64_t d = (uint64_t)hex_value((unsigned char)body[k]);
            if (u > ((uint64_t)INT64_MAX - d) / (uint64_t)base)
                return fail(p, at, "integer '%s' does not fit in 64 bits", tok);
            u = u * (uint64_t)base + d;
        }
        toml_value *v = value_new(TOML_INTEGER, line, col, 0);
        if (!v)
            return nomem(p);
        v->u.i = (int64_t)u;
        *out = v;
        return 0;
    }

    /* Split a decimal into integer part, fraction and exponent. */
    size_t ip_end = 0;
    while (ip_end < blen && body[ip_end] != '.' && body[ip_end] != 'e' && body[ip_end] != 'E')
        ip_end++;
    if (!digits_ok(body, ip_end, 10))
        return fail(p, at, "invalid number '%s'", tok);
    if (ip_end > 1 && body[0] == '0')
        return fail(p, at, "leading zeros are not allowed in '%s'", tok);

    if (ip_end == blen) {
        uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        uint64_t u = 0;
        for (size_t k = 0; k < blen; k++) {
            if (body[k] == '_')
                continue;
            uint64_t d = (uint64_t)(body[k] - '0');
            if (u > (limit - d) / 10)
                return fail(p, at, "integer '%s' does not fit in 64 bits", tok);
            u = u * 10 + d;
        }
        toml_value *v = value_new(TOML_INTEGER, line, col, 0);
        if (!v)
            return nomem(p);
        /* -2^63 has no positive counterpart, so it is spelled out. */
        if (!neg)
            v->u.i = (int64_t)u;
        else
            v->u.i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
        *out = v;
        return 0;
    }

    size_t k = ip_end;
    if (body[k] == '.') {
        size_t f = k + 1, fe = f;
        while (fe < blen && body[fe] != 'e' && body[fe] != 'E')
            fe++;
        if (!digits_ok(body + f, fe - f, 10))
            return fail(p, at, "invalid float '%s' (digits must follow '.')", tok);
        k = fe;
    }
    if (k < blen) {
        assert(body[k] == 'e' || body[k] == 'E');
        size_t x = k + 1;
        if (x < blen && (body[x] == '+' || body[x] == '-'))
            x++;
        if (!digits_ok(body + x, blen - x, 10))
            return fail(p, at, "invalid float exponent in '%s'", tok);
    }

    /* Convert without underscores. strtod reads '.' as the decimal point in the "C" locale,
     * which bench never changes. */
    char *buf = malloc(n + 1);
    if (!buf)
        return nomem(p);
    size_t o = 0;
    for (size_t q = 0; q < n; q++)
        if (t[q] != '_')
            buf[o++] = t[q];
    buf[o] = '\0';
    errno = 0;
    double d = strtod(buf, NULL);
    free(buf);
    if (isinf(d))
        return fail(p, at, "float '%s' is out of range", tok);
    toml_value *v = value_new(TOML_FLOAT, line, col, 0);
    if (!v)
        return nomem(p);
    v->u.f = d;
    *out = v;
    return 0;
}
#undef tok

/* ---------------------------------------------------------------- values -------------------- */

static int parse_value(parser *p, toml_value **out, int depth);
static int parse_keyval(parser *p, toml_value *tbl);

/* array = "[" ws-comment-newline [ values ] ws-comment-newline "]" with comma separators and
 * an optional trailing comma. Array literals are immutable ([[x]] cannot extend them). */
static int parse_array(parser *p, toml_value **out, int depth)
{
    size_t at = p->pos;
    int rc = check_depth(p, at, depth);
    if (rc < 0)
        return rc;
    toml_value *a = value_new(TOML_ARRAY, p->line, col_of(p, at), depth);
    if (!a)
        return nomem(p);
    p->pos++;
    for (;;) {
        rc = skip_ws_comment_newline(p);
        if (rc < 0)
            goto done;
        if (peek(p) == ']')
            break;
        toml_value *item = NULL;
        rc = parse_value(p, &item, depth + 1);
        if (rc < 0)
            goto done;
        if (array_push(a, item) < 0) {
            toml_free(item);
            rc = nomem(p);
            goto done;
        }
        rc = skip_ws_comment_newline(p);
        if (rc < 0)
            goto done;
        int c = peek(p);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == ']')
            break;
        char d[32];
        rc = c < 0 ? fail(p, p->pos, "unterminated array opened at line %d", a->line)
                   : fail(p, p->pos, "expected ',' or ']' in array, found %s",
                          char_desc(d, sizeof d, p, p->pos));
        goto done;
    }
    p->pos++;
    rc = 0;
done:
    if (rc < 0)
        toml_free(a);
    else
        *out = a;
    return rc;
}

/* inline-table = "{" ws [ keyval *( ws "," ws keyval ) ] ws "}"; no newlines, no trailing
 * comma (TOML 1.0). Immutable once closed. */
static int parse_inline_table(parser *p, toml_value **out, int depth)
{
    size_t at = p->pos;
    int rc = check_depth(p, at, depth);
    if (rc < 0)
        return rc;
    toml_value *t = value_new(TOML_TABLE, p->line, col_of(p, at), depth);
    if (!t)
        return nomem(p);
    p->pos++;
    skip_ws(p);
    if (peek(p) != '}') {
        for (;;) {
            rc = parse_keyval(p, t);
            if (rc < 0)
                goto done;
            skip_ws(p);
            int c = peek(p);
            if (c == ',') {
                p->pos++;
                skip_ws(p);
                if (peek(p) == '}') {
                    rc = fail(p, p->pos, "trailing comma is not allowed in an inline table");
                    goto done;
                }
                continue;
            }
            if (c == '}')
                break;
            char d[32];
            rc = fail(p, p->pos, "expected ',' or '}' in inline table, found %s",
                      char_desc(d, sizeof d, p, p->pos));
            goto done;
        }
    }
    p->pos++;
    t->flags |= F_INLINE;
    rc = 0;
done:
    if (rc < 0)
        toml_free(t);
    else
        *out = t;
    return rc;
}

/* val = string / boolean / array / inline-table / date-time / float / integer. depth is the
 * nesting depth the value would have (for arrays and inline tables). */
static int parse_value(parser *p, toml_value **out, int depth)
{
    size_t at = p->pos;
    int line = p->line, col = col_of(p, at);
    int c = peek(p);
    if (c == '"' || c == '\'') {
        sbuf b = {0};
        bool ml;
        int rc = parse_string(p, &b, &ml);
        if (rc < 0) {
            free(b.s);
            return rc;
        }
        toml_value *v = value_new(TOML_STRING, line, col, 0);
        if (!v) {
            free(b.s);
            return nomem(p);
        }
        v->u.str.s = b.s;
        v->u.str.len = b.n;
        *out = v;
        return 0;
    }
    if (c == '[')
        return parse_array(p, out, depth);
    if (c == '{')
        return parse_inline_table(p, out, depth);
    if (c == 't' || c == 'f') {
        const char *word = c == 't' ? "true" : "false";
        size_t len = strlen(word);
        if (p->n - p->pos >= len && memcmp(p->s + p->pos, word, len) == 0 &&
            !is_bare_key_char(peek_at(p, len))) {
            toml_value *v = value_new(TOML_BOOL, line, col, 0);
            if (!v)
                return nomem(p);
            v->u.b = c == 't';
            p->pos += len;
            *out = v;
            return 0;
        }
    }
    if (is_digit(c)) {
        bool date = is_digit(peek_at(p, 1)) && is_digit(peek_at(p, 2)) &&
                    is_digit(peek_at(p, 3)) && peek_at(p, 4) == '-';
        bool time = is_digit(peek_at(p, 1)) && peek_at(p, 2) == ':';
        if (date || time)
            return parse_datetime(p, out, line, col);
    }
    if (is_digit(c) || c == '+' || c == '-' || c == 'i' || c == 'n')
        return parse_number(p, out, line, col);
    char d[32];
    if (c < 0 || c == '\n' || c == '\r' || c == '#')
        return fail(p, at, "missing value");
    return fail(p, at, "expected a value, found %s", char_desc(d, sizeof d, p, at));
}

/* ---------------------------------------------------------------- structure ----------------- */

/* Create an empty table under key part kp->part[i] of parent. */
static int add_table(parser *p, toml_value **out, toml_value *parent, const key_part *kpart,
                     unsigned flags)
{
    toml_value *t = value_new(TOML_TABLE, kpart->line, kpart->col, parent->depth + 1);
    if (!t)
        return nomem(p);
    t->flags = flags;
    t->gen = p->gen;
    if (table_add(parent, kpart->s, kpart->len, kpart->line, kpart->col, t) < 0) {
        toml_free(t);
        return nomem(p);
    }
    *out = t;
    return 0;
}

/* keyval = key keyval-sep val, inserted into tbl through its dotted key parts. */
/* A value that fails to parse names its key: "FILE:LINE:COL: key 'lr': invalid float '1.'"
 * (the key as written in its table; an inner key of an inline table already named itself). */
static void name_key_in_error(parser *p, const char *key)
{
    if (!p->e || p->e->code != ERR_FORMAT)
        return;
    char *m = p->e->msg;
    size_t flen = strlen(p->file);
    if (strncmp(m, p->file, flen) != 0)
        return;
    char *rest = m + flen;
    int line, col, used = 0;
    if (sscanf(rest, ":%d:%d: %n", &line, &col, &used) != 2 || used == 0)
        return;
    rest += used;
    if (strncmp(rest, "key '", 5) == 0)
        return;
    char tail[ERR_MSG_MAX];
    snprintf(tail, sizeof tail, "%s", rest);
    size_t at = (size_t)(rest - m);
    snprintf(rest, sizeof p->e->msg - at, "key '%s': %s", key, tail);
}

static int parse_keyval(parser *p, toml_value *tbl)
{
    key_path kp = {0};
    char kd[80], kd2[80];
    int rc = parse_key(p, &kp);
    if (rc < 0)
        goto done;
    if (peek(p) != '=') {
        char d[32];
        rc = fail(p, p->pos, "expected '=' after key '%s', found %s",
                  key_desc(kd, sizeof kd, &kp, kp.n), char_desc(d, sizeof d, p, p->pos));
        goto done;
    }
    p->pos++;
    skip_ws(p);

    /* Walk (and create) the tables named by all but the last key part. */
    toml_value *t = tbl;
    for (size_t i = 0; i + 1 < kp.n; i++) {
        const key_part *kpart = &kp.part[i];
        long j = table_find(t, kpart->s, kpart->len);
        if (j < 0) {
            rc = check_depth(p, p->pos, t->depth + 1);
            if (rc == 0)
                rc = add_table(p, &t, t, kpart, F_DOTTED);
            if (rc < 0)
                goto done;
            continue;
        }
        toml_value *v = t->u.tbl.ent[j].val;
        const char *why = NULL;
        if (v->type != TOML_TABLE)
            why = v->type == TOML_ARRAY && (v->flags & F_AOT) ? "an array of tables"
                                                                : toml_type_name(v->type);
        else if (v->flags & F_INLINE)
            why = "an inline table, which is immutable";
        else if (v->flags & F_HEADER)
            why = "a table defined by a [header]";
        else if ((v->flags & F_DOTTED) && v->gen != p->gen)
            why = "a table defined by dotted keys in another section";
        if (why) {
            rc = fail_key(p, kpart, "cannot add key '%s': '%s' is %s (line %d)",
                      key_desc(kd, sizeof kd, &kp, kp.n), key_desc(kd2, sizeof kd2, &kp, i + 1),
                      why, v->line);
            goto done;
        }
        v->flags |= F_DOTTED;
        v->gen = p->gen;
        t = v;
    }
    const key_part *last = &kp.part[kp.n - 1];
    long j = table_find(t, last->s, last->len);
    if (j >= 0) {
        rc = fail_key(p, last, "duplicate key '%s' (first defined on line %d)",
                  key_desc(kd, sizeof kd, &kp, kp.n), t->u.tbl.ent[j].line);
        goto done;
    }
    toml_value *v = NULL;
    rc = parse_value(p, &v, t->depth + 1);
    if (rc < 0) {
        name_key_in_error(p, key_desc(kd, sizeof kd, &kp, kp.n));
        goto done;
    }
    if (table_add(t, last->s, last->len, last->line, last->col, v) < 0) {
        toml_free(v);
        rc = nomem(p);
    }
done:
    key_path_release(&kp);
    return rc;
}

/* std-table = "[" ws key ws "]";  array-table = "[[" ws key ws "]]". Makes the named table
 * (or a new last element of the named array of tables) the target of following key/values. */
static int parse_header(parser *p)
{
    size_t at = p->pos;
    bool aot = peek_at(p, 1) == '[';
    key_path kp = {0};
    char kd[80], kd2[80];
    p->pos += aot ? 2 : 1;
    int rc = parse_key(p, &kp);
    if (rc < 0)
        goto done;
    if (peek(p) != ']' || (aot && peek_at(p, 1) != ']')) {
        char d[32];
        rc = fail(p, p->pos, "expected '%s' after table name '%s', found %s", aot ? "]]" : "]",
                  key_desc(kd, sizeof kd, &kp, kp.n), char_desc(d, sizeof d, p, p->pos));
        goto done;
    }
    p->pos += aot ? 2 : 1;

    toml_value *t = p->root;
    for (size_t i = 0; i < kp.n; i++) {
        const key_part *kpart = &kp.part[i];
        bool last = i + 1 == kp.n;
        long j = table_find(t, kpart->s, kpart->len);
        toml_value *v = j >= 0 ? t->u.tbl.ent[j].val : NULL;
        if (last && aot) {
            if (!v) {
                rc = check_depth(p, at, t->depth + 2);
                if (rc < 0)
                    goto done;
                v = value_new(TOML_ARRAY, kpart->line, kpart->col, t->depth + 1);
                if (!v) {
                    rc = nomem(p);
                    goto done;
                }
                v->flags = F_AOT;
                if (table_add(t, kpart->s, kpart->len, kpart->line, kpart->col, v) < 0) {
                    toml_free(v);
                    rc = nomem(p);
                    goto done;
                }
            } else if (v->type != TOML_ARRAY || !(v->flags & F_AOT)) {
                rc = fail(p, at, "cannot define array of tables '%s': it is already %s%s "
                                 "(line %d)",
                          key_desc(kd, sizeof kd, &kp, kp.n),
                          v->type == TOML_ARRAY ? "a static " : "a ", toml_type_name(v->type),
                          v->line);
                goto done;
            }
            toml_value *e = value_new(TOML_TABLE, kpart->line, kpart->col, v->depth + 1);
            if (!e) {
                rc = nomem(p);
                goto done;
            }
            e->flags = F_HEADER;
            if (array_push(v, e) < 0) {
                toml_free(e);
                rc = nomem(p);
                goto done;
            }
            t = e;
            break;
        }
        if (!v) {
            rc = check_depth(p, at, t->depth + 1);
            if (rc == 0)
                rc = add_table(p, &t, t, kpart, last ? F_HEADER : 0);
            if (rc < 0)
                goto done;
            continue;
        }
        if (v->type == TOML_TABLE) {
            if (v->flags & F_INLINE) {
                rc = fail(p, at, "cannot extend '%s': it is an inline table (line %d), which "
                                 "is immutable",
                          key_desc(kd, sizeof kd, &kp, i + 1), v->line);
                goto done;
            }
            if (last && (v->flags & (F_HEADER | F_DOTTED))) {
                rc = fail(p, at, "table '%s' is already defined (line %d)",
                          key_desc(kd, sizeof kd, &kp, kp.n), v->line);
                goto done;
            }
            if (last)
                v->flags |= F_HEADER;
            t = v;
            continue;
        }
        if (v->type == TOML_ARRAY && (v->flags & F_AOT) && !last) {
            assert(v->u.arr.n > 0);
            t = v->u.arr.item[v->u.arr.n - 1];
            continue;
        }
        rc = fail(p, at, "cannot define table '%s': '%s' is already %s%s (line %d)",
                  key_desc(kd, sizeof kd, &kp, kp.n), key_desc(kd2, sizeof kd2, &kp, i + 1),
                  v->type == TOML_ARRAY ? (v->flags & F_AOT ? "an " : "a static ") : "a ",
                  v->type == TOML_ARRAY && (v->flags & F_AOT) ? "array of tables"
                                                               : toml_type_name(v->type),
                  v->line);
        goto done;
    }
    p->cur = t;
    p->gen++;
done:
    key_path_release(&kp);
    return rc;
}

/* ---------------------------------------------------------------- document ------------------ */

/* Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or n if all is well. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return i;
        }
        if (n - i < len)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

int toml_parse(toml_value **out, const char *text, size_t len, const char *filename,
               err_info *e)
{
    assert(out && (text || len == 0));
    *out = NULL;
    parser p = {.s = text ? text : "", .n = len, .line = 1, .file = filename ? filename : "<input>",
                .e = e, .cc_col = 1};
    int rc;

    size_t bad = utf8_invalid_at((const unsigned char *)p.s, p.n);
    if (bad < p.n) {
        for (size_t k = 0; k < bad; k++)
            if (p.s[k] == '\n') {
                p.line++;
                p.line_start = k + 1;
            }
        return fail(&p, bad, "invalid UTF-8 byte 0x%02X", (unsigned char)p.s[bad]);
    }
    if (p.n >= 3 && memcmp(p.s, "\xEF\xBB\xBF", 3) == 0)
        p.pos = p.line_start = 3;

    p.root = value_new(TOML_TABLE, 1, 1, 0);
    if (!p.root)
        return nomem(&p);
    p.cur = p.root;

    /* toml = expression *( newline expression ); expression = ws [ keyval / table ] ws
     * [ comment ] */
    for (;;) {
        skip_ws(&p);
        int c = peek(&p);
        if (c == '[') {
            rc = parse_header(&p);
        } else if (c >= 0 && c != '#' && c != '\n' && c != '\r') {
            rc = parse_keyval(&p, p.cur);
        } else {
            rc = 0;
        }
        if (rc < 0)
            goto done;
        skip_ws(&p);
        if (peek(&p) == '#') {
            rc = skip_comment(&p);
            if (rc < 0)
                goto done;
        }
        if (peek(&p) < 0)
            break;
        rc = eat_newline(&p);
        if (rc < 0)
            goto done;
        if (rc == 0) {
            char d[32];
            rc = fail(&p, p.pos, "expected end of line, found %s",
                      char_desc(d, sizeof d, &p, p.pos));
            goto done;
        }
    }
    rc = 0;
    *out = p.root;
    p.root = NULL;
done:
    toml_free(p.root);
    return rc;
}

int toml_parse_file(toml_value **out, const char *path, err_info *e)
{
    assert(out && path);
    *out = NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = err_set(e, ERR_NOMEM, "out of memory reading '%s'", path);
                goto done;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = err_set(e, ERR_IO, "cannot read '%s'", path);
        goto done;
    }
    rc = toml_parse(out, buf, n, path, e);
done:
    fclose(f);
    free(buf);
    return rc;
}
