/* status.c: error messages and the always-on invariant check. */
#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rl_status rl_fail(rl_error *err, rl_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

rl_status rl_error_prefix(rl_error *err, const char *fmt, ...)
{
    if (!err) return RL_OK;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t k = strlen(prefix);
    if (k > sizeof err->msg - 3) k = sizeof err->msg - 3;
    memcpy(err->msg, prefix, k);
    memcpy(err->msg + k, ": ", 2);
    size_t room = sizeof err->msg - k - 3, n = strlen(old);
    if (n > room) n = room;
    memcpy(err->msg + k + 2, old, n);
    err->msg[k + 2 + n] = '\0';
    return err->code;
}

const char *rl_status_name(rl_status code)
{
    switch (code) {
    case RL_OK: return "ok";
    case RL_ERR_IO: return "I/O error";
    case RL_ERR_FORMAT: return "format error";
    case RL_ERR_ARG: return "bad argument";
    case RL_ERR_NOMEM: return "out of memory";
    case RL_ERR_NUMERIC: return "numerical error";
    case RL_ERR_MPI: return "MPI error";
    case RL_ERR_STOPPED: return "stopped";
    }
    return "unknown error";
}

void rl_check_failed(const char *file, int line, const char *expr, const char *msg)
{
    fprintf(stderr,
            "relab: internal error at %s:%d: check '%s' failed%s%s\n"
            "This is a bug in relab; please report it with the command that triggered it.\n",
            file, line, expr, msg ? ": " : "", msg ? msg : "");
    abort();
}
