/* log.h: where the library's messages go.
 *
 * Library code never prints: it calls rl_log, which hands (level, message) to
 * the callback a program installed with rl_log_set (as ggml_log_set does), or
 * writes "message\n" to stderr when none is installed.  The message carries
 * no trailing newline.  RL_LOG_PROGRESS marks a transient status line (the
 * per-step training progress): a terminal front end may overwrite it in
 * place, a log file keeps each one.
 *
 * Thread safety: the callback is process-wide state.  Set it once at start,
 * before any other relab call and before threads exist; rl_log itself may be
 * called from any thread, and the callback must then be thread safe.
 */
#ifndef RL_LOG_H
#define RL_LOG_H

typedef enum {
    RL_LOG_DEBUG = 0,
    RL_LOG_PROGRESS, /* transient status line, superseded by the next one */
    RL_LOG_INFO,     /* what a run did: resumed from, wrote, finished */
    RL_LOG_WARN,     /* something the user should fix, the work goes on */
    RL_LOG_ERROR
} rl_log_level;

typedef void (*rl_log_fn)(rl_log_level level, const char *msg, void *user);

/* Installs fn (NULL restores the stderr default); user is passed back. */
void rl_log_set(rl_log_fn fn, void *user);

/* Formats a message (cut at 4 KB) and hands it to the callback. */
void rl_log(rl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
