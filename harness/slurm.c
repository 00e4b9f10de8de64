/* slurm: a sweep as a Slurm job array. See slurm.h for the directory it keeps. */
#define _GNU_SOURCE /* gmtime_r, readlink, getline */
#include "slurm.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "path.h"
#include "proc.h"
#include "prov.h"
#include "runner.h"
#include "store.h"

enum { SLURM_PATH_MAX = 4096, SLURM_PLAN_FORMAT = 1 };

/* The warning before the time limit: USR1 to the batch shell, this many seconds before. */
#define SLURM_WARN_SIGNAL "B:USR1@120"

/* out[0..SLURM_PATH_MAX) <- the formatted path; ERR_INVALID when it does not fit. */
static int pathf(char *out, err_info *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int pathf(char *out, err_info *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, SLURM_PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= SLURM_PATH_MAX)
        return err_set(e, ERR_INVALID, "path '%.200s...' is too long", out);
    return 0;
}

/* ---- plan.tsv ---------------------------------------------------------------------------
 * One record per line, fields separated by tabs, the first field naming the record. Field
 * values escape backslash, tab and newline (\\, \t, \n), so any text round-trips. */

static void put_escaped(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '\t')
            fputs("\\t", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

/* Undo put_escaped in place. */
static void unescape(char *v)
{
    char *w = v;
    for (const char *r = v; *r; r++) {
        if (*r == '\\' && (r[1] == '\\' || r[1] == 't' || r[1] == 'n')) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : '\\';
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static void put_field(FILE *f, const char *name, const char *v)
{
    fprintf(f, "%s\t", name);
    put_escaped(f, v ? v : "");
    fputc('\n', f);
}

/* Write p to path through a temporary file renamed into place. */
static int plan_save(const slurm_plan *p, const char *path, err_info *e)
{
    char tmp[SLURM_PATH_MAX];
    int rc = pathf(tmp, e, "%s.tmp", path);
    if (rc)
        return rc;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return err_set(e, ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
    fprintf(f, "# bench slurm plan: written by 'bench slurm submit'; 'bench run --plan' "
               "checks a task's run keys against it\n");
    fprintf(f, "format\t%d\n", SLURM_PLAN_FORMAT);
    put_field(f, "experiment", p->experiment);
    put_field(f, "source", p->source);
    put_field(f, "file", p->file);
    put_field(f, "spec_sha256", p->spec_sha256);
    put_field(f, "bench", p->bench);
    put_field(f, "data_dir", p->data_dir ? p->data_dir : "");
    put_field(f, "describe", p->describe);
    fprintf(f, "tasks\t%d\n", p->tasks);
    put_field(f, "identity", p->identity);
    for (int i = 0; i < p->n_runs; i++) {
        const slurm_plan_run *r = &p->runs[i];
        fprintf(f, "run\t%d\t%d\t%s\t", r->task, r->index + 1, r->key);
        put_escaped(f, r->summary ? r->summary : "");
        fputc('\n', f);
    }
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        rc = err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        remove(tmp);
        return rc;
    }
    return 0;
}

void slurm_plan_release(slurm_plan *p)
{
    if (!p)
        return;
    char **fields[] = {&p->dir,  &p->experiment, &p->source,   &p->file,    &p->spec_sha256,
                       &p->bench, &p->data_dir,  &p->identity, &p->describe};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        free(*fields[i]);
    for (int i = 0; i < p->n_runs; i++)
        free(p->runs[i].summary);
    free(p->runs);
    memset(p, 0, sizeof *p);
}

/* The plan's string fields by record name, for loading. */
static char **plan_field(slurm_plan *p, const char *name)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"experiment", offsetof(slurm_plan, experiment)},
        {"source", offsetof(slurm_plan, source)},
        {"file", offsetof(slurm_plan, file)},
        {"spec_sha256", offsetof(slurm_plan, spec_sha256)},
        {"bench", offsetof(slurm_plan, bench)},
        {"data_dir", offsetof(slurm_plan, data_dir)},
        {"describe", offsetof(slurm_plan, describe)},
        {"identity", offsetof(slurm_plan, identity)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(fields[i].name, name) == 0)
            return (char **)((char *)p + fields[i].offset);
    return NULL;
}

/* Parse one "run TASK INDEX KEY SUMMARY" record (fields after the name) into r. */
static bool parse_run(slurm_plan_run *r, char *rest)
{
    char *task = strtok(rest, "\t"), *index = strtok(NULL, "\t"), *key = strtok(NULL, "\t"),
         *summary = strtok(NULL, "");
    char *end1 = NULL, *end2 = NULL;
    long t = task ? strtol(task, &end1, 10) : 0, i = index ? strtol(index, &end2, 10) : 0;
    if (!task || !index || !key || *end1 || *end2 || t < 1 || t > INT_MAX || i < 1 ||
        i > INT_MAX || strlen(key) != 64)
        return false;
    r->task = (int)t;
    r->index = (int)i - 1;
    memcpy(r->key, key, 65);
    unescape(summary ? summary : key + 64);
    r->summary = strdup(summary ? summary : "");
    return r->summary != NULL;
}

int slurm_plan_load(slurm_plan *p, const char *path, err_info *e)
{
    memset(p, 0, sizeof *p);
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, ERR_IO, "cannot read the plan '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int rc = 0, lineno = 0, format = 0, cap_runs = 0;
    ssize_t len;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *tab = strchr(line, '\t');
        char *value = tab ? tab + 1 : line + len;
        if (tab)
            *tab = '\0';
        char **field = plan_field(p, line);
        bool ok = true;
        if (!format && strcmp(line, "format") != 0) {
            ok = false; /* a plan starts with its format */
        } else if (strcmp(line, "format") == 0) {
            ok = sscanf(value, "%d", &format) == 1 && format == SLURM_PLAN_FORMAT;
        } else if (strcmp(line, "tasks") == 0) {
            ok = sscanf(value, "%d", &p->tasks) == 1 && p->tasks >= 1;
        } else if (strcmp(line, "run") == 0) {
            if (p->n_runs == cap_runs) {
                int ncap = cap_runs ? 2 * cap_runs : 64;
                slurm_plan_run *nr = realloc(p->runs, (size_t)ncap * sizeof *nr);
                if (!nr) {
                    rc = err_set(e, ERR_NOMEM, "out of memory reading '%s'", path);
                    break;
                }
                p->runs = nr;
                cap_runs = ncap;
            }
            memset(&p->runs[p->n_runs], 0, sizeof p->runs[0]);
            ok = parse_run(&p->runs[p->n_runs], value);
            p->n_runs += ok;
        } else if (field) {
            unescape(value);
            free(*field);
            ok = (*field = strdup(value)) != NULL;
        }
        /* unknown records are a newer bench's additions: skipped */
        if (!ok)
            rc = err_set(e, ERR_FORMAT, "%s:%d: not a plan this bench wrote (record '%s')", path,
                         lineno, line);
    }
    free(line);
    fclose(f);
    if (rc == 0 && (!format || !p->experiment || !p->file || !p->bench || !p->identity ||
                    p->tasks < 1 || p->n_runs < 1))
        rc = err_set(e, ERR_FORMAT, "'%s' is not a complete bench slurm plan", path);
    for (int i = 0; rc == 0 && i < p->n_runs; i++)
        if (p->runs[i].task > p->tasks || p->runs[i].index != i)
            rc = err_set(e, ERR_FORMAT, "'%s': run %d is out of order or of task %d beyond %d",
                         path, i + 1, p->runs[i].task, p->tasks);
    if (rc == 0 && p->data_dir && !p->data_dir[0]) {
        free(p->data_dir);
        p->data_dir = NULL;
    }
    if (rc == 0) {
        char dir[SLURM_PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        char abs[SLURM_PATH_MAX];
        if ((rc = path_absolute(abs, sizeof abs, dir, e)) == 0 && !(p->dir = strdup(abs)))
            rc = err_set(e, ERR_NOMEM, "out of memory");
    }
    if (rc)
        slurm_plan_release(p);
    return rc;
}

void slurm_plan_task_keys(const char **keys, int *n, const slurm_plan *p, int task)
{
    *n = 0;
    for (int i = 0; i < p->n_runs; i++)
        if (p->runs[i].task == task)
            keys[(*n)++] = p->runs[i].key;
}

/* ---- running Slurm's commands --------------------------------------------------------- */

/* Run argv; out[0..n) <- what it said; *status <- its exit status, -1 when it died of a
 * signal. ERR_IO when it could not be started (127: not installed). */
static int run_command(char *out, size_t n, int *status, const char *const *argv, err_info *e)
{
    int st = 0;
    *status = -1;
    int rc = proc_run(out, n, &st, argv, e);
    if (rc)
        return rc;
    if (WIFEXITED(st))
        *status = WEXITSTATUS(st);
    if (*status == 127)
        return err_set(e, ERR_IO, "%s (is Slurm's client installed?)", proc_last_line(out));
    return 0;
}

/* The cluster's MaxArraySize (array indices are 0 .. MaxArraySize-1), from `scontrol show
 * config`; 1001, Slurm's default, when scontrol cannot say. *known <- whether it said. */
static int max_array_size(bool *known)
{
    static const char *const argv[] = {"scontrol", "show", "config", NULL};
    static char out[1 << 16];
    int status = 0;
    err_info ignore = {0};
    *known = false;
    if (run_command(out, sizeof out, &status, argv, &ignore) || status != 0)
        return 1001;
    const char *at = strstr(out, "\nMaxArraySize");
    int v = 0;
    if (at && (at = strchr(at, '=')) && sscanf(at + 1, "%d", &v) == 1 && v >= 1) {
        *known = true;
        return v;
    }
    return 1001;
}

/* ---- the batch scripts ---------------------------------------------------------------- */

/* v as one shell word: single-quoted, with each ' written as '\''. */
static void put_quoted(FILE *f, const char *v)
{
    fputc('\'', f);
    for (; *v; v++) {
        if (*v == '\'')
            fputs("'\\''", f);
        else
            fputc(*v, f);
    }
    fputc('\'', f);
}

/* A job name Slurm and people read easily: the experiment's name, [A-Za-z0-9._-] only. */
static void job_name(char *out, size_t n, const char *experiment, const char *suffix)
{
    size_t k = 0;
    for (const char *p = "bench-"; *p && k + 1 < n; p++)
        out[k++] = *p;
    for (const char *p = experiment; *p && k + 1 < n && k < 40; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        out[k++] = ok ? c : '_';
    }
    out[k] = '\0';
    snprintf(out + k, n - k, "%s", suffix);
}

static int write_script(const char *path, void (*body)(FILE *, const slurm_plan *),
                        const slurm_plan *p, err_info *e)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    body(f, p);
    bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok || chmod(path, 0755) != 0)
        return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

/* task.sh OFFSET: array task SLURM_ARRAY_TASK_ID of the array that starts at task OFFSET+1. */
static void task_script(FILE *f, const slurm_plan *p)
{
    char name[64];
    job_name(name, sizeof name, p->experiment, "");
    fprintf(f, "#!/bin/bash\n"
               "# One task of a bench sweep on Slurm, written by 'bench slurm submit' with the "
               "plan beside it.\n"
               "# Usage (by sbatch): task.sh OFFSET; task T = OFFSET + SLURM_ARRAY_TASK_ID + 1 "
               "runs shard T/%d\n"
               "# into its own database db/task-T.db. Its state/task-T file records each "
               "attempt.\n", p->tasks);
    fprintf(f, "#SBATCH --job-name=%s\n#SBATCH --requeue\n#SBATCH --open-mode=append\n"
               "#SBATCH --signal=%s\n", name, SLURM_WARN_SIGNAL);
    fputs("set -u\ndir=", f);
    put_quoted(f, p->dir);
    fputs("\nbench=", f);
    put_quoted(f, p->bench);
    fputs("\nfile=", f);
    put_quoted(f, p->file);
    fprintf(f, "\ntasks=%d\n", p->tasks);
    fputs("task=$((${1:?usage: task.sh OFFSET} + SLURM_ARRAY_TASK_ID + 1))\n"
          "attempt=${SLURM_RESTART_COUNT:-0}\n"
          "state=\"$dir/state/task-$task\"\n"
          "echo \"start attempt $attempt job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} "
          "host $(hostname -s) $(date -u +%FT%TZ)\" >>\"$state\"\n"
          "# bench runs in the background so that the traps run at once (bash delays them\n"
          "# while a foreground child runs); USR1 is the warning before the time limit,\n"
          "# TERM preemption or scancel: either stops bench cleanly (its runs INTERRUPTED)\n"
          "warned=\n"
          "signalled=0\n"
          "trap 'warned=USR1; signalled=1; kill -USR1 \"$child\" 2>/dev/null' USR1\n"
          "trap 'signalled=1; kill -TERM \"$child\" 2>/dev/null' TERM\n"
          "\"$bench\" run \"$file\" --shard \"$task/$tasks\" --plan \"$dir/plan.tsv\" "
          "--db \"$dir/db/task-$task.db\"", f);
    if (p->data_dir) {
        fputs(" --data-dir ", f);
        put_quoted(f, p->data_dir);
    }
    fputs(" &\nchild=$!\n"
          "wait \"$child\"\n"
          "rc=$?\n"
          "# a trap ended the wait early: wait for bench itself (127: it was collected)\n"
          "while ((signalled)); do\n"
          "  signalled=0\n"
          "  wait \"$child\"\n"
          "  r=$?\n"
          "  ((r == 127)) || rc=$r\n"
          "done\n"
          "echo \"end attempt $attempt exit $rc${warned:+ warned $warned} $(date -u +%FT%TZ)\" "
          ">>\"$state\"\n"
          "# warned of the time limit with runs unfinished (3) or failed (1): requeue this task;\n"
          "# its next attempt skips what its database holds COMPLETED\n"
          "if [[ -n $warned ]] && ((rc == 3 || rc == 1)); then\n"
          "  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\" &&\n"
          "    echo \"requeued attempt $attempt $(date -u +%FT%TZ)\" >>\"$state\"\n"
          "fi\n"
          "exit \"$rc\"\n", f);
}

/* merge.sh: runs after every task ended (afterany), whatever their exit. */
static void merge_script(FILE *f, const slurm_plan *p)
{
    char name[64];
    job_name(name, sizeof name, p->experiment, "-merge");
    fprintf(f, "#!/bin/bash\n"
               "# Merge the task databases of a bench sweep on Slurm into bench.db, then say "
               "what is missing.\n"
               "# Written by 'bench slurm submit'; runs after every task ended, whatever "
               "their exit.\n"
               "#SBATCH --job-name=%s\n", name);
    fputs("set -u\nshopt -s nullglob\ndir=", f);
    put_quoted(f, p->dir);
    fputs("\nbench=", f);
    put_quoted(f, p->bench);
    fputs("\ndbs=(\"$dir\"/db/task-*.db)\n"
          "rc=0\n"
          "if ((${#dbs[@]})); then\n"
          "  \"$bench\" merge \"${dbs[@]}\" --into \"$dir/bench.db\" || rc=$?\n"
          "else\n"
          "  echo \"bench slurm: no task wrote a database in $dir/db\" >&2\n"
          "  rc=1\n"
          "fi\n"
          "\"$bench\" slurm status \"$dir\"\n"
          "exit \"$rc\"\n", f);
}

/* ---- submitting ----------------------------------------------------------------------- */

/* sbatch options the scripts set themselves, which a user's would break. */
static const struct {
    const char *name; /* long option */
    char letter;      /* its short form, 0 if none */
    const char *why;
} reserved_sbatch[] = {
    {"array", 'a', "bench sets the array from --tasks/--per-run"},
    {"output", 'o', "the logs go to DIR/logs"},
    {"error", 'e', "the logs go to DIR/logs"},
    {"open-mode", 0, "a requeued task appends to its log"},
    {"dependency", 'd', "the merge job depends on the tasks"},
    {"kill-on-invalid-dep", 0, "the merge job must run after failed tasks"},
    {"parsable", 0, "bench reads the job ids"},
    {"wrap", 0, "the tasks run bench's task script"},
    {"no-requeue", 0, "a task requeues itself after the warning signal"},
    {"chdir", 'D', "relative data paths are relative to the submit directory"},
    {"wait", 'W', "bench slurm submit returns once the jobs are queued"},
};

/* ERR_INVALID when an sbatch option is one of reserved_sbatch, or a --signal that does not
 * go to the batch shell as USR1 (the only signal the task script forwards as a warning). */
static int check_sbatch_args(const char *const *args, int n, err_info *e)
{
    for (int i = 0; i < n; i++) {
        const char *a = args[i];
        if (a[0] != '-')
            continue;
        if (strncmp(a, "--signal", 8) == 0 && (a[8] == '=' || a[8] == '\0')) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < n ? args[i + 1] : "");
            if (strncmp(v, "B:USR1@", 7) != 0)
                return err_set(e, ERR_INVALID, "sbatch option '%s %s': the warning must be "
                               "'B:USR1@SECONDS' (USR1 to the batch shell, which the task "
                               "script forwards to bench)", a, a[8] == '=' ? "" : v);
            continue;
        }
        for (size_t k = 0; k < sizeof reserved_sbatch / sizeof reserved_sbatch[0]; k++) {
            size_t ln = strlen(reserved_sbatch[k].name);
            bool is_long = a[1] == '-' && strncmp(a + 2, reserved_sbatch[k].name, ln) == 0 &&
                           (a[2 + ln] == '=' || a[2 + ln] == '\0');
            bool is_short = a[1] != '-' && reserved_sbatch[k].letter &&
                            a[1] == reserved_sbatch[k].letter;
            if (is_long || is_short)
                return err_set(e, ERR_INVALID, "sbatch option '%s' is bench's to set: %s", a,
                               reserved_sbatch[k].why);
        }
    }
    return 0;
}

/* Job arrays of at most max tasks each: array a covers tasks offset+1 .. offset+count. */
typedef struct slurm_array {
    int offset, count;
    char job[64]; /* the job id sbatch gave, "" before submission */
} slurm_array;

/* Submit one job: sbatch --parsable EXTRA... USER... script [arg]; job <- its id. In a dry run
 * the command is only printed. */
static int sbatch(char job[64], const slurm_submit_options *o, const char *const *extra,
                  int n_extra, const char *script, const char *arg, err_info *e)
{
    const char *argv[256];
    int n = 0;
    argv[n++] = "sbatch";
    argv[n++] = "--parsable";
    for (int i = 0; i < n_extra; i++)
        argv[n++] = extra[i];
    if (o->n_sbatch_args > 240 - n)
        return err_set(e, ERR_INVALID, "too many sbatch options (%d)", o->n_sbatch_args);
    for (int i = 0; i < o->n_sbatch_args; i++)
        argv[n++] = o->sbatch_args[i];
    argv[n++] = script;
    if (arg)
        argv[n++] = arg;
    argv[n] = NULL;
    if (o->dry_run) {
        fputs("  would run:", o->out);
        for (int i = 0; i < n; i++) {
            fputc(' ', o->out);
            put_quoted(o->out, argv[i]);
        }
        fputc('\n', o->out);
        snprintf(job, 64, "DRYRUN");
        return 0;
    }
    static char out[1 << 14];
    int status = 0;
    int rc = run_command(out, sizeof out, &status, argv, e);
    if (rc)
        return rc;
    /* --parsable prints "jobid" or "jobid;cluster" */
    char *end = out;
    long id = strtol(out, &end, 10);
    if (status != 0 || id <= 0 || (*end && *end != ';' && *end != '\n'))
        return err_set(e, ERR_IO, "sbatch %s failed: %s", script, proc_last_line(out));
    snprintf(job, 64, "%ld", id);
    return 0;
}

static void scancel_jobs(const slurm_array *arrays, int n)
{
    for (int i = 0; i < n; i++) {
        if (!arrays[i].job[0])
            continue;
        const char *argv[] = {"scancel", arrays[i].job, NULL};
        char out[1024];
        int status;
        err_info ignore = {0};
        run_command(out, sizeof out, &status, argv, &ignore);
    }
}

/* out <- the default directory: $HOME/bench-slurm/<name>-<UTC time>. */
static int default_dir(char *out, size_t n, const char *experiment, err_info *e)
{
    const char *home = getenv("HOME");
    if (!home || !home[0])
        return err_set(e, ERR_INVALID, "HOME is not set: give the directory with --dir");
    char name[64], stamp[32];
    job_name(name, sizeof name, experiment, "");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    if ((size_t)snprintf(out, n, "%s/bench-slurm/%s-%s", home, name + 6, stamp) >= n)
        return err_set(e, ERR_INVALID, "HOME '%s' is too long", home);
    return 0;
}

/* Copy the experiment's text to path. */
static int write_text(const char *path, const char *text, size_t len, err_info *e)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    bool ok = fwrite(text, 1, len, f) == len;
    if (fclose(f) != 0 || !ok)
        return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

/* An existing plan in D must be this one: same tasks, same keys. */
static int same_plan(const slurm_plan *old, const slurm_plan *p, const char *path, err_info *e)
{
    bool same = old->tasks == p->tasks && old->n_runs == p->n_runs;
    for (int i = 0; same && i < p->n_runs; i++)
        same = strcmp(old->runs[i].key, p->runs[i].key) == 0 &&
               old->runs[i].task == p->runs[i].task;
    if (!same)
        return err_set(e, ERR_INVALID, "'%s' holds another plan (%d runs in %d tasks, build %s): "
                       "choose another --dir", path, old->n_runs, old->tasks,
                       old->describe ? old->describe : "?");
    return 0;
}

/* p <- the plan of x in o->tasks tasks (one per run when 0), keys computed as bench run
 * computes them. */
static int make_plan(slurm_plan *p, const experiment *x, const slurm_submit_options *o,
                     const char *dir, err_info *e)
{
    char (*keys)[65] = calloc((size_t)x->n_runs, sizeof *keys);
    char *identity = malloc(RUNNER_IDENTITY_MAX);
    char path[SLURM_PATH_MAX], bench[SLURM_PATH_MAX];
    int rc = 0;
    memset(p, 0, sizeof *p);
    if (!keys || !identity) {
        rc = err_set(e, ERR_NOMEM, "out of memory planning %d runs", x->n_runs);
        goto done;
    }
    /* A [select] file's winner is read from the database holding its `from`'s runs; each task
     * writes a database of its own, which lacks them, so the tasks could not check the plan's
     * keys against the same decision. */
    if (x->select.on) {
        rc = err_set(e, ERR_INVALID, "%s:%d: [select]: bench slurm submit cannot plan a "
                     "selecting experiment (each task writes its own database, which lacks "
                     "'%s''s runs): run it with bench run", x->file, x->select.line,
                     x->select.from);
        goto done;
    }
    if ((rc = runner_plan_keys(keys, identity, x, o->data_dir, NULL, e)))
        goto done;
    prov_build_info b;
    if ((rc = prov_build(&b, NULL, e)))
        goto done;
    p->describe = strdup(b.git_describe);
    prov_build_release(&b);
    ssize_t bl = readlink("/proc/self/exe", bench, sizeof bench - 1);
    if (bl <= 0) {
        rc = err_set(e, ERR_IO, "cannot find the bench binary (/proc/self/exe): %s",
                     strerror(errno));
        goto done;
    }
    bench[bl] = '\0';
    const char *base = strrchr(x->file, '/');
    base = base ? base + 1 : x->file;
    if ((rc = pathf(path, e, "%s/experiment/%s", dir, base)))
        goto done;
    char source[SLURM_PATH_MAX], data_dir[SLURM_PATH_MAX];
    if ((rc = path_absolute(source, sizeof source, x->file, e)) ||
        (o->data_dir && (rc = path_absolute(data_dir, sizeof data_dir, o->data_dir, e))))
        goto done;
    p->tasks = o->tasks > 0 ? o->tasks : x->n_runs;
    p->n_runs = x->n_runs;
    p->runs = calloc((size_t)x->n_runs, sizeof *p->runs);
    p->dir = strdup(dir);
    p->experiment = strdup(x->name);
    p->source = strdup(source);
    p->file = strdup(path);
    p->spec_sha256 = strdup(x->sha256);
    p->bench = strdup(bench);
    p->data_dir = o->data_dir ? strdup(data_dir) : NULL;
    p->identity = strdup(identity);
    bool ok = p->runs && p->dir && p->experiment && p->source && p->file && p->spec_sha256 &&
              p->bench && (p->data_dir || !o->data_dir) && p->identity && p->describe;
    for (int i = 0; ok && i < x->n_runs; i++) {
        char summary[EXP_TEXT_MAX];
        exp_run_summary(summary, sizeof summary, &x->runs[i]);
        p->runs[i] = (slurm_plan_run){.task = i % p->tasks + 1, .index = i};
        memcpy(p->runs[i].key, keys[i], 65);
        ok = (p->runs[i].summary = strdup(x->runs[i].label[0] ? x->runs[i].label : summary));
    }
    if (!ok)
        rc = err_set(e, ERR_NOMEM, "out of memory planning %d runs", x->n_runs);
done:
    free(keys);
    free(identity);
    if (rc)
        slurm_plan_release(p);
    return rc;
}

/* dir <- D, absolute; refused inside the source tree, where its files would change the run
 * keys. Nothing is created yet. */
static int resolve_dir(char dir[SLURM_PATH_MAX], const experiment *x,
                       const slurm_submit_options *o, err_info *e)
{
    char given[SLURM_PATH_MAX];
    int rc = o->dir ? (snprintf(given, sizeof given, "%s", o->dir), 0)
                    : default_dir(given, sizeof given, x->name, e);
    if (rc || (rc = path_absolute(dir, SLURM_PATH_MAX, given, e)))
        return rc;
    bool dirties = false;
    if ((rc = prov_path_dirties_tree(&dirties, dir, e)))
        return rc;
    if (dirties)
        return err_set(e, ERR_INVALID, "--dir '%s' is inside the source tree (and not ignored "
                       "by git): its logs and databases would make the tree dirty and change "
                       "the run keys; choose a directory outside it", dir);
    return 0;
}

/* mkdir -p D and its subdirectories. */
static int create_dir(const char *dir, err_info *e)
{
    int rc = path_mkdirs(dir, e);
    static const char *const subdirs[] = {"experiment", "db", "logs", "state"};
    char sub[SLURM_PATH_MAX];
    for (size_t i = 0; rc == 0 && i < sizeof subdirs / sizeof subdirs[0]; i++)
        if ((rc = pathf(sub, e, "%s/%s", dir, subdirs[i])) == 0)
            rc = path_mkdirs(sub, e);
    return rc;
}

/* Save the plan (or check it against the one D holds) and the scripts. */
static int write_dir(const slurm_plan *p, const experiment *x, bool *resubmit, err_info *e)
{
    char path[SLURM_PATH_MAX];
    int rc = pathf(path, e, "%s/plan.tsv", p->dir);
    if (rc)
        return rc;
    *resubmit = access(path, F_OK) == 0;
    if (*resubmit) {
        slurm_plan old;
        if ((rc = slurm_plan_load(&old, path, e)))
            return rc;
        rc = same_plan(&old, p, path, e);
        slurm_plan_release(&old);
        if (rc)
            return rc;
    }
    if ((rc = write_text(p->file, x->text, x->text_len, e)) || (rc = plan_save(p, path, e)))
        return rc;
    if ((rc = pathf(path, e, "%s/task.sh", p->dir)) ||
        (rc = write_script(path, task_script, p, e)) ||
        (rc = pathf(path, e, "%s/merge.sh", p->dir)))
        return rc;
    return write_script(path, merge_script, p, e);
}

static int save_jobs(const char *dir, const slurm_array *arrays, int n, const char *merge,
                     err_info *e)
{
    char path[SLURM_PATH_MAX];
    int rc = pathf(path, e, "%s/jobs.tsv", dir);
    if (rc)
        return rc;
    FILE *f = fopen(path, "a");
    if (!f)
        return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    time_t now = time(NULL);
    for (int i = 0; i < n; i++)
        fprintf(f, "array\t%s\t%d\t%d\t%lld\n", arrays[i].job, arrays[i].offset + 1,
                arrays[i].offset + arrays[i].count, (long long)now);
    fprintf(f, "merge\t%s\t0\t0\t%lld\n", merge, (long long)now);
    if (fclose(f) != 0)
        return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int slurm_submit(const experiment *x, const slurm_submit_options *o, err_info *e)
{
    if (o->tasks > x->n_runs)
        return err_set(e, ERR_INVALID, "--tasks %d: the experiment has only %d run%s",
                       o->tasks, x->n_runs, x->n_runs == 1 ? "" : "s");
    int rc = check_sbatch_args(o->sbatch_args, o->n_sbatch_args, e);
    if (rc)
        return rc;
    char dir[SLURM_PATH_MAX];
    slurm_plan p;
    slurm_array *arrays = NULL;
    int n_arrays = 0;
    bool resubmit = false;
    /* plan first: a plan that fails (data missing, say) leaves no directory behind */
    if ((rc = resolve_dir(dir, x, o, e)) || (rc = make_plan(&p, x, o, dir, e)))
        return rc;
    if ((rc = create_dir(dir, e)) || (rc = write_dir(&p, x, &resubmit, e)))
        goto done;

    bool known = false;
    int max = max_array_size(&known);
    n_arrays = (p.tasks + max - 1) / max;
    arrays = calloc((size_t)n_arrays, sizeof *arrays);
    if (!arrays) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    fprintf(o->out, "%s %s: %d run%s in %d task%s, %d job arra%s (MaxArraySize %d%s), "
            "directory %s\n", resubmit ? "resubmitting" : "submitting", x->name, p.n_runs,
            p.n_runs == 1 ? "" : "s", p.tasks, p.tasks == 1 ? "" : "s", n_arrays,
            n_arrays == 1 ? "y" : "ys", max, known ? "" : ", Slurm's default: scontrol did not say",
            dir);
    char logs[SLURM_PATH_MAX], script[SLURM_PATH_MAX], spec[64], dep[96];
    if ((rc = pathf(logs, e, "--output=%s/logs/task-%%A_%%a.out", dir)) ||
        (rc = pathf(script, e, "%s/task.sh", dir)))
        goto done;
    for (int a = 0; a < n_arrays; a++) {
        arrays[a].offset = a * max;
        arrays[a].count = p.tasks - a * max < max ? p.tasks - a * max : max;
        char offset[16];
        snprintf(offset, sizeof offset, "%d", arrays[a].offset);
        /* %P caps the tasks at once within an array; split arrays then run one after the
         * other (afterany), so the cap holds for the whole sweep */
        if (o->max_parallel > 0)
            snprintf(spec, sizeof spec, "--array=0-%d%%%d", arrays[a].count - 1, o->max_parallel);
        else
            snprintf(spec, sizeof spec, "--array=0-%d", arrays[a].count - 1);
        const char *extra[4] = {spec, logs};
        int n_extra = 2;
        if (o->max_parallel > 0 && a > 0) {
            snprintf(dep, sizeof dep, "--dependency=afterany:%s", arrays[a - 1].job);
            extra[n_extra++] = dep;
        }
        if ((rc = sbatch(arrays[a].job, o, extra, n_extra, script, offset, e)))
            goto cancel;
    }
    /* afterany:J1:J2...: the merge runs once every task ended, whatever its exit */
    size_t need = 32;
    for (int a = 0; a < n_arrays; a++)
        need += strlen(arrays[a].job) + 1;
    char *deps = malloc(need);
    if (!deps) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto cancel;
    }
    int used = snprintf(deps, need, "--dependency=afterany");
    for (int a = 0; a < n_arrays; a++)
        used += snprintf(deps + used, need - (size_t)used, ":%s", arrays[a].job);
    char merge_logs[SLURM_PATH_MAX], merge_job[64];
    if ((rc = pathf(merge_logs, e, "--output=%s/logs/merge-%%j.out", dir)) ||
        (rc = pathf(script, e, "%s/merge.sh", dir))) {
        free(deps);
        goto cancel;
    }
    const char *extra[] = {deps, "--kill-on-invalid-dep=no", merge_logs};
    rc = sbatch(merge_job, o, extra, 3, script, NULL, e);
    free(deps);
    if (rc)
        goto cancel;
    if (!o->dry_run && (rc = save_jobs(dir, arrays, n_arrays, merge_job, e)))
        goto done;
    for (int a = 0; a < n_arrays; a++)
        fprintf(o->out, "  job array %s: tasks %d-%d\n", arrays[a].job, arrays[a].offset + 1,
                arrays[a].offset + arrays[a].count);
    fprintf(o->out, "  merge job %s: into %s/bench.db once every task ended\n", merge_job, dir);
    fprintf(o->out, "follow it with:  bench slurm status %s\n", dir);
    goto done;
cancel:
    scancel_jobs(arrays, n_arrays);
done:
    free(arrays);
    slurm_plan_release(&p);
    return rc;
}

/* ---- status --------------------------------------------------------------------------- */

/* What the jobs of D are, as squeue says: "JOB_TASK STATE REASON" lines (one per array task,
 * -r) for the jobs of jobs.tsv. *known <- false when squeue did not answer (no controller,
 * or the jobs are older than MinJobAge). */
typedef struct slurm_jobs {
    char arrays[64][64];  /* array job ids, newest submission last */
    int first[64], last[64]; /* their tasks */
    int n_arrays;
    char merge[64];       /* the last merge job, "" when none */
    char *queue;          /* squeue's output, or NULL */
} slurm_jobs;

static void load_jobs(slurm_jobs *j, const char *dir)
{
    memset(j, 0, sizeof *j);
    char path[SLURM_PATH_MAX], line[512];
    err_info ignore = {0};
    if (pathf(path, &ignore, "%s/jobs.tsv", dir))
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    /* a resubmission appends: the newest line per task range wins */
    while (fgets(line, sizeof line, f)) {
        char kind[16], job[64];
        int first = 0, last = 0;
        if (sscanf(line, "%15s %63s %d %d", kind, job, &first, &last) != 4)
            continue;
        if (strcmp(kind, "merge") == 0) {
            snprintf(j->merge, sizeof j->merge, "%s", job);
            continue;
        }
        int k = 0;
        while (k < j->n_arrays && j->first[k] != first)
            k++;
        if (k == j->n_arrays && j->n_arrays < 64)
            j->n_arrays++;
        if (k < 64) {
            snprintf(j->arrays[k], sizeof j->arrays[k], "%s", job);
            j->first[k] = first;
            j->last[k] = last;
        }
    }
    fclose(f);
    if (j->n_arrays == 0)
        return;
    size_t need = 64;
    for (int k = 0; k < j->n_arrays; k++)
        need += strlen(j->arrays[k]) + 1;
    need += strlen(j->merge) + 1;
    char *ids = malloc(need);
    j->queue = malloc(1 << 20);
    if (!ids || !j->queue) {
        free(ids);
        free(j->queue);
        j->queue = NULL;
        return;
    }
    int used = 0;
    for (int k = 0; k < j->n_arrays; k++)
        used += snprintf(ids + used, need - (size_t)used, "%s%s", k ? "," : "", j->arrays[k]);
    if (j->merge[0])
        snprintf(ids + used, need - (size_t)used, ",%s", j->merge);
    const char *argv[] = {"squeue", "-h", "-r", "-t", "all", "-j", ids, "-o", "%i %T %r", NULL};
    int status = 0;
    if (run_command(j->queue, 1 << 20, &status, argv, &ignore) || status != 0) {
        free(j->queue);
        j->queue = NULL;
    }
    free(ids);
}

/* state <- squeue's state of job id (e.g. "12_3" or "14"), "" when it does not list it. */
static void queue_state(char *state, size_t n, const slurm_jobs *j, const char *id)
{
    state[0] = '\0';
    if (!j->queue)
        return;
    size_t len = strlen(id);
    for (const char *l = j->queue; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != '\0')) {
        if (strncmp(l, id, len) == 0 && l[len] == ' ') {
            const char *s = l + len + 1;
            size_t k = strcspn(s, " \n");
            snprintf(state, n, "%.*s", (int)k, s);
            return;
        }
    }
}

/* The last attempt of task t from D/state/task-T: *attempts <- how many started, *exit <- the
 * exit status of the last one that ended (-1 if the last one has not ended). */
static void task_record(int *attempts, int *exit_status, bool *requeued, const char *dir, int t)
{
    char path[SLURM_PATH_MAX], line[512];
    err_info ignore = {0};
    *attempts = 0;
    *exit_status = -1;
    *requeued = false;
    FILE *f = pathf(path, &ignore, "%s/state/task-%d", dir, t) ? NULL : fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        int attempt, code;
        if (strncmp(line, "start ", 6) == 0) {
            (*attempts)++;
            *exit_status = -1;
            *requeued = false;
        } else if (sscanf(line, "end attempt %d exit %d", &attempt, &code) == 2) {
            *exit_status = code;
        } else if (strncmp(line, "requeued ", 9) == 0) {
            *requeued = true;
        }
    }
    fclose(f);
}

/* Count the statuses of the runs of task t in its database into counts[RUN_STATUS_COUNT + 1]
 * (the last: not in the database), and list those not COMPLETED in listing. */
static void task_runs(int counts[RUN_STATUS_COUNT + 1], const slurm_plan *p, int t,
                      char *listing, size_t listing_n)
{
    char db[SLURM_PATH_MAX];
    store *s = NULL;
    err_info ignore = {0};
    if (pathf(db, &ignore, "%s/db/task-%d.db", p->dir, t) == 0 && access(db, F_OK) == 0)
        store_open_readonly(&s, db, &ignore);
    size_t used = strlen(listing);
    for (int i = 0; i < p->n_runs; i++) {
        const slurm_plan_run *r = &p->runs[i];
        if (r->task != t)
            continue;
        int status = STORE_ABSENT;
        if (s && store_run_status(s, &status, r->key, &ignore) != 0)
            status = STORE_ABSENT;
        counts[status == STORE_ABSENT ? RUN_STATUS_COUNT : status]++;
        if (status != RUN_COMPLETED && used < listing_n)
            used += (size_t)snprintf(listing + used, listing_n - used,
                                     "  %4d  %4d  %.12s  %-11s  %s\n", t, r->index + 1, r->key,
                                     status == STORE_ABSENT ? "not started"
                                                            : run_status_name(status),
                                     r->summary);
    }
    store_close(s);
}

/* The merged database's count of planned runs COMPLETED, -1 when it does not exist. */
static int merged_completed(const slurm_plan *p)
{
    char db[SLURM_PATH_MAX];
    store *s = NULL;
    err_info ignore = {0};
    if (pathf(db, &ignore, "%s/bench.db", p->dir) || access(db, F_OK) != 0 ||
        store_open_readonly(&s, db, &ignore) != 0)
        return -1;
    int n = 0;
    for (int i = 0; i < p->n_runs; i++) {
        int status = STORE_ABSENT;
        n += store_run_status(s, &status, p->runs[i].key, &ignore) == 0 &&
             status == RUN_COMPLETED;
    }
    store_close(s);
    return n;
}

/* The Slurm id of task t ("ARRAY_INDEX"), "" when no submission covers it. */
static void task_job(char *out, size_t n, const slurm_jobs *j, int t)
{
    out[0] = '\0';
    for (int k = 0; k < j->n_arrays; k++)
        if (t >= j->first[k] && t <= j->last[k])
            snprintf(out, n, "%s_%d", j->arrays[k], t - j->first[k]);
}

int slurm_status(slurm_status_summary *sum, const char *dir, FILE *out, err_info *e)
{
    memset(sum, 0, sizeof *sum);
    char path[SLURM_PATH_MAX];
    slurm_plan p;
    int rc = pathf(path, e, "%s/plan.tsv", dir);
    if (rc == 0)
        rc = slurm_plan_load(&p, path, e);
    if (rc)
        return rc;
    slurm_jobs j;
    load_jobs(&j, p.dir);
    size_t listing_n = (size_t)p.n_runs * 160 + 1;
    char *listing = calloc(listing_n, 1);
    if (!listing) {
        free(j.queue);
        slurm_plan_release(&p);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    fprintf(out, "experiment %s: %d run%s in %d task%s, build %s, directory %s\n", p.experiment,
            p.n_runs, p.n_runs == 1 ? "" : "s", p.tasks, p.tasks == 1 ? "" : "s",
            p.describe ? p.describe : "?", p.dir);
    if (j.n_arrays == 0)
        fputs("no jobs submitted (jobs.tsv is missing)\n", out);
    else if (!j.queue)
        fputs("squeue did not answer: task states from the state files only\n", out);
    fprintf(out, "  %4s  %-14s  %-22s  %8s  %4s  %9s  %10s  %6s\n", "task", "job", "state",
            "attempts", "runs", "completed", "unfinished", "failed");
    sum->runs = p.n_runs;
    for (int t = 1; t <= p.tasks; t++) {
        int counts[RUN_STATUS_COUNT + 1] = {0};
        task_runs(counts, &p, t, listing, listing_n);
        int attempts, code;
        bool requeued;
        task_record(&attempts, &code, &requeued, p.dir, t);
        char job[96], queue[64], state[96];
        task_job(job, sizeof job, &j, t);
        queue_state(queue, sizeof queue, &j, job);
        /* Slurm's word while it holds the task; else what the task's last attempt said */
        bool held = strcmp(queue, "PENDING") == 0 || strcmp(queue, "RUNNING") == 0 ||
                    strcmp(queue, "REQUEUED") == 0 || strcmp(queue, "CONFIGURING") == 0 ||
                    strcmp(queue, "COMPLETING") == 0 || strcmp(queue, "SUSPENDED") == 0;
        if (held)
            snprintf(state, sizeof state, "%s%s", queue,
                     attempts > 0 && strcmp(queue, "PENDING") == 0 ? " (requeued)" : "");
        else if (attempts == 0)
            snprintf(state, sizeof state, "%s", queue[0] ? queue : "not started");
        else if (code < 0)
            snprintf(state, sizeof state, "%s", queue[0] ? queue : "running or killed");
        else if (code == 0)
            snprintf(state, sizeof state, "COMPLETED");
        else
            snprintf(state, sizeof state, "FAILED (exit %d)%s", code,
                     requeued ? " requeued" : "");
        if (!held && attempts > 0 && code > 0 && !requeued)
            sum->tasks_failed++;
        int planned = 0;
        for (int k = 0; k <= RUN_STATUS_COUNT; k++)
            planned += counts[k];
        int failed = counts[RUN_FAILED] + counts[RUN_DIVERGED];
        int completed = counts[RUN_COMPLETED];
        sum->completed += completed;
        sum->failed += failed;
        sum->unfinished += planned - completed - failed;
        fprintf(out, "  %4d  %-14s  %-22s  %8d  %4d  %9d  %10d  %6d\n", t, job[0] ? job : "-",
                state, attempts, planned, completed, planned - completed - failed, failed);
    }
    if (listing[0])
        fprintf(out, "runs not COMPLETED:\n  %4s  %4s  %-12s  %-11s  %s\n%s", "task", "run",
                "key", "status", "configuration", listing);
    int merged = merged_completed(&p);
    char mstate[64] = "";
    if (j.merge[0])
        queue_state(mstate, sizeof mstate, &j, j.merge);
    if (merged < 0)
        fprintf(out, "merged: not yet (%s/bench.db)", p.dir);
    else
        fprintf(out, "merged: %d of %d planned runs COMPLETED in %s/bench.db", merged, p.n_runs,
                p.dir);
    if (j.merge[0])
        fprintf(out, "; merge job %s%s%s", j.merge, mstate[0] ? " " : "", mstate);
    fputc('\n', out);
    fprintf(out, "%d of %d runs COMPLETED, %d unfinished, %d failed or diverged; %d task%s "
            "failed\n", sum->completed, sum->runs, sum->unfinished, sum->failed,
            sum->tasks_failed, sum->tasks_failed == 1 ? "" : "s");
    free(listing);
    free(j.queue);
    slurm_plan_release(&p);
    return 0;
}
