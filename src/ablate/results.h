/* results.h: the numbers of a grid's runs once training is over: each run's
 * curve (its metrics.csv, ablate/curve.h), the steps it made, and its two
 * metrics.
 *
 * Scoring a finished run (DIR/final.h5): its predictions on the grid's
 * eval_data are made into DIR/preds.h5 unless that file is at least as new
 * as final.h5; the primary metric is top-1 against the predictions' own
 * labels (or the grid's `labels` list), the second ReaL top-1 (`real`) or
 * top-1 against `alt_labels`.
 *
 * The struct owns its arrays (rl_ablate_results_free).  Not thread safe
 * (prediction uses OpenMP, BLAS and HDF5; see eval/predict.h).
 */
#ifndef RL_ABLATE_RESULTS_H
#define RL_ABLATE_RESULTS_H

#include <stdint.h>

#include "ablate/curve.h"
#include "ablate/grid.h"
#include "ablate/scores.h"
#include "util/status.h"

typedef struct {
    int n;                       /* runs (rl_ablate_num_runs) */
    double *primary, *second;    /* [n] accuracy in [0, 1]; NaN = not scored */
    rl_ablate_run_score *scores; /* [n] the counts behind primary and second (ablate/scores.h) */
    int64_t *steps;              /* [n] steps the run made (its metrics.csv); -1 = unknown */
    int *have_curve;             /* [n] 1: curves[r] was read */
    rl_ablate_curve *curves;     /* [n] */
} rl_ablate_results;

/* Allocates the arrays for g's runs, all missing. */
rl_status rl_ablate_results_alloc(rl_ablate_results *res, const rl_ablate_grid *g, rl_error *err);
void rl_ablate_results_free(rl_ablate_results *res);

/* Reads every run's curve, predicts and scores every finished run (see
 * above), logging progress and each run left out (util/log.h).  Returns RL_OK
 * when every run was scored, else the status of the last failure (the
 * message names the run); the other runs are scored all the same. */
rl_status rl_ablate_score(const rl_ablate_grid *g, rl_ablate_results *res, rl_error *err);

#endif
