/* status.h: how relab reports failure.
 *
 * Anything that comes from outside the program (files, recipes, JPEGs, HDF5,
 * MPI, memory) can fail; such functions return an rl_status and fill an
 * rl_error that the caller owns, with a message naming what failed, where
 * (file, line, tensor), what was expected and found, and a hint.  Library code
 * never exits; only the CLI turns an error into an exit code.
 *
 * A broken internal invariant (a bug, not bad input) is RL_CHECK: always on,
 * prints file:line and aborts.
 */
#ifndef RL_STATUS_H
#define RL_STATUS_H

#include <stddef.h>

typedef enum {
    RL_OK = 0,
    RL_ERR_IO,      /* a file could not be opened, read or written */
    RL_ERR_FORMAT,  /* a file was read but its content is wrong */
    RL_ERR_ARG,     /* a caller or user passed a bad value */
    RL_ERR_NOMEM,   /* an allocation failed */
    RL_ERR_NUMERIC, /* NaN or Inf where a finite number is needed */
    RL_ERR_MPI,     /* a collective failed or a peer was lost */
    RL_ERR_STOPPED  /* stopped on request (signal) */
} rl_status;

typedef struct {
    rl_status code;
    char msg[2048];
} rl_error;

/* Sets err (if not NULL) to code and a printf-style message; returns code, so
 * a failing path reads `return rl_fail(err, RL_ERR_IO, "...", ...);`. */
rl_status rl_fail(rl_error *err, rl_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to an error already set, so callers add where. */
rl_status rl_error_prefix(rl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *rl_status_name(rl_status code);

void rl_check_failed(const char *file, int line, const char *expr, const char *msg) __attribute__((noreturn));

#define RL_CHECK(cond)                                                                                                 \
    do {                                                                                                               \
        if (!(cond)) rl_check_failed(__FILE__, __LINE__, #cond, NULL);                                                 \
    } while (0)
#define RL_CHECK_MSG(cond, msg)                                                                                        \
    do {                                                                                                               \
        if (!(cond)) rl_check_failed(__FILE__, __LINE__, #cond, (msg));                                                \
    } while (0)

#endif
