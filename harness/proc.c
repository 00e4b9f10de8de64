/* proc: run a program and read its output. See proc.h. */
#define _POSIX_C_SOURCE 200809L /* fork, dprintf */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int proc_run(char *out, size_t n, int *wait_status, const char *const *argv, err_info *e)
{
    out[0] = '\0';
    int fds[2];
    if (pipe(fds) != 0)
        return err_set(e, ERR_IO, "cannot run '%s': %s", argv[0], strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return err_set(e, ERR_IO, "cannot run '%s': %s", argv[0], strerror(errno));
    }
    if (pid == 0) {
        /* child: stdin from /dev/null, stdout and stderr into the pipe */
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    /* keep the newest bytes: a program's last words say why it failed */
    size_t used = 0;
    char chunk[4096];
    ssize_t got;
    while ((got = read(fds[0], chunk, sizeof chunk)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        size_t take = (size_t)got;
        const char *from = chunk;
        if (take > n - 1) { /* the chunk alone fills the buffer */
            from += take - (n - 1);
            take = n - 1;
        }
        if (used + take > n - 1) { /* drop the oldest bytes to make room */
            size_t drop = used + take - (n - 1);
            memmove(out, out + drop, used - drop);
            used -= drop;
        }
        memcpy(out + used, from, take);
        used += take;
    }
    out[used] = '\0';
    close(fds[0]);
    while (waitpid(pid, wait_status, 0) < 0)
        if (errno != EINTR)
            return err_set(e, ERR_IO, "cannot wait for '%s': %s", argv[0], strerror(errno));
    return 0;
}

const char *proc_last_line(char *text)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    char *nl = strrchr(text, '\n');
    return nl ? nl + 1 : text;
}
