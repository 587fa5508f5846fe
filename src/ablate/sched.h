/* sched.h: training a grid's runs (ablate/runs.h) as separate `relab train`
 * processes, at most `jobs` at a time.
 *
 * Each run lives in OUT/runs/NAME/ and is in one of three states:
 *   done    the folder holds final.h5: skipped;
 *   resume  it holds a checkpoint: `relab train --resume DIR` (the checkpoint
 *           carries the recipe with the run's overrides);
 *   new     otherwise: `relab train RECIPE --out DIR --set ...` (runs.h).
 * A run's output (stdout and stderr) is appended to DIR/train.log.  A run is
 * a process of its own, so a crash or an out-of-memory kill ends one run,
 * not the grid.
 *
 * Stopping: when *stop becomes non-zero (the caller's signal handler sets
 * it), no further run starts, every running run is sent SIGTERM (on Ctrl-C
 * the terminal has already sent them SIGINT), each writes a checkpoint and
 * exits, and rl_ablate_train returns RL_ERR_STOPPED once all have ended.
 * Calling it again resumes the interrupted runs.
 *
 * Progress ("[3/18] NAME: training, 2 epochs x 7 steps = 14 steps", "NAME
 * finished after 12 s") goes to util/log.h at RL_LOG_INFO; the steps come
 * from the run's plan (ablate/facts.h).  Not thread safe: it waits for any child of
 * the process, so the caller must have no other children running.
 */
#ifndef RL_ABLATE_SCHED_H
#define RL_ABLATE_SCHED_H

#include <signal.h>
#include <stddef.h>

#include "ablate/grid.h"
#include "util/status.h"

typedef enum { RL_ABLATE_NEW = 0, RL_ABLATE_RESUME, RL_ABLATE_DONE } rl_ablate_state;

/* "new", "resume", "done" */
const char *rl_ablate_state_name(rl_ablate_state s);

/* The run folder's state (see above). */
rl_ablate_state rl_ablate_state_of(const char *run_dir);

/* OUT/runs/NAME for run r; RL_ERR_ARG when it does not fit in n bytes. */
rl_status rl_ablate_run_dir(const rl_ablate_grid *g, int r, char *out, size_t n, rl_error *err);

#define RL_ABLATE_MAX_SETS 64 /* --set overrides per run */

/* A `relab train` command line; argv points into the struct (no copies needed). */
typedef struct {
    char *argv[2 * RL_ABLATE_MAX_SETS + 8]; /* NULL-terminated */
    char recipe[RL_ABLATE_PATH];
    char sets[RL_ABLATE_MAX_SETS][RL_ABLATE_SETS];
} rl_ablate_command;

/* The command that trains run r in dir from state st (not RL_ABLATE_DONE),
 * running the binary relab.  relab and dir must outlive cmd. */
rl_status rl_ablate_train_command(const rl_ablate_grid *g, int r, const char *relab, const char *dir,
                                  rl_ablate_state st, rl_ablate_command *cmd, rl_error *err);

typedef struct {
    const char *relab;                 /* the relab binary the runs execute (an absolute path) */
    int jobs;                          /* runs at once, >= 1 */
    const volatile sig_atomic_t *stop; /* non-zero: stop (see above); may be NULL */
} rl_ablate_train_options;

/* Trains every run that is not done.  failed[r] (n = rl_ablate_num_runs,
 * caller-owned) is set to 1 for a run that did not finish (it failed, could
 * not start, or was stopped) and 0 otherwise.  *already_done counts the runs
 * that were done before.  Returns RL_OK when every run ran (a failed run is
 * in failed[], not an error), RL_ERR_STOPPED on a stop, RL_ERR_IO when the
 * output folders cannot be made. */
rl_status rl_ablate_train(const rl_ablate_grid *g, const rl_ablate_train_options *o, int *failed, int *already_done,
                          rl_error *err);

#endif
