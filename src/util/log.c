/* log.c: the library's message callback (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static void to_stderr(rl_log_level level, const char *msg, void *user)
{
    (void)level;
    (void)user;
    fprintf(stderr, "%s\n", msg);
}

/* The one piece of process-wide state in the library: set once at start (log.h). */
static rl_log_fn log_fn = to_stderr;
static void *log_user;

void rl_log_set(rl_log_fn fn, void *user)
{
    log_fn = fn ? fn : to_stderr;
    log_user = fn ? user : NULL;
}

void rl_log(rl_log_level level, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fn(level, msg, log_user);
}
