/* runs.h: the runs of a grid (ablate/grid.h): their order, names, recipes
 * and command-line overrides.
 *
 * Runs are numbered r = ((m * V + v) * E + e) * S + s for model m, variant
 * v, schedule e and seed s (V variants, E schedules, S seeds), and named
 * "<model>-<variant>-<epochs>ep-s<seed>": the name is the run's folder under
 * OUT/runs/.
 *
 * Functions are re-entrant and do no I/O.
 */
#ifndef RL_ABLATE_RUNS_H
#define RL_ABLATE_RUNS_H

#include <stddef.h>

#include "ablate/grid.h"
#include "util/status.h"

int rl_ablate_num_runs(const rl_ablate_grid *g);

/* The number of the run with these axis indices (the inverse of rl_ablate_run_index). */
int rl_ablate_run_number(const rl_ablate_grid *g, int m, int v, int e, int s);

/* Decomposes run r into its axis indices (any pointer may be NULL). */
void rl_ablate_run_index(const rl_ablate_grid *g, int r, int *m, int *v, int *e, int *s);

/* "<model>-<variant>-<epochs>ep-s<seed>" */
void rl_ablate_run_name(const rl_ablate_grid *g, int r, char *out, size_t n);

/* The recipe path of run r: the pattern with {model} {variant} {epochs}
 * {seed} {dir} {out} filled, relative paths from the grid's folder.
 * RL_ERR_ARG when it does not fit in n bytes. */
rl_status rl_ablate_run_recipe(const rl_ablate_grid *g, int r, char *out, size_t n, rl_error *err);

/* The --set assignments of run r, in order: epochs, seed, common, model's,
 * variant's; placeholders filled.  Returns the count (<= max), each written to
 * sets[i] (size RL_ABLATE_SETS); -1 with a message if there are more than max
 * or one does not fit. */
int rl_ablate_run_sets(const rl_ablate_grid *g, int r, char (*sets)[RL_ABLATE_SETS], int max, rl_error *err);

#endif
