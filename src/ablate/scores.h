/* scores.h: the scores of an ablation grid for programs:
 * DIR/results.json, written by `relab ablate` beside table.md and read by
 * `relab report`.
 *
 * Each run carries, per metric, the counts it was scored from (correct out of
 * total), so a reader can draw 95% Clopper-Pearson intervals (eval/metrics.h)
 * and the spread over seeds, which table.md's medians hide.  Layout
 * (docs/formats.md):
 *   {"format": "relab-ablate-results 1", "grid": PATH,
 *    "models": [LABEL...], "variants": [LABEL...], "baseline": LABEL,
 *    "epochs": [E...], "seeds": [S...],
 *    "metric": NAME, "second_metric": NAME | null, "second_kind": "real" | "labels" | null,
 *    "runs": [{"name", "model", "variant", "epochs", "seed", "steps": N | null,
 *              "scores": [ACC, ACC | null]}...]}
 * where ACC is {"correct", "total", "acc", "ci95": [lo, hi]} or null for a run
 * that was not scored; runs are in the grid's order r = ((m*V + v)*E + e)*S + s.
 *
 * Functions are re-entrant and touch only their arguments.
 */
#ifndef RL_ABLATE_SCORES_H
#define RL_ABLATE_SCORES_H

#include <stdint.h>
#include <stdio.h>
#include "ablate/grid.h"
#include "eval/metrics.h"
#include "util/status.h"

/* One run's scores: [0] the grid's metric, [1] the second metric (ReaL or
 * alt_labels).  total == 0 (acc NaN) = not scored. */
typedef struct {
    rl_acc acc[2];
} rl_ablate_run_score;

/* Per-run accuracies (NaN = not scored) of metric k, for the table and plot
 * writers of ablate.h; out has rl_ablate_num_runs(g) entries. */
void rl_ablate_score_acc(const rl_ablate_grid *g, const rl_ablate_run_score *s, int k, double *out);

/* One cell of the Table 2 layout (model m, variant v, schedule e) for metric
 * k: the median over the finished seeds (rl_ablate_median), its 95%
 * Clopper-Pearson interval [lo, hi], computed for round(median x n) correct
 * out of n, n the smallest number of images a seed was scored on (with an odd
 * number of seeds, exactly the median run's interval; it measures the test
 * set's sampling error only), and the spread over seeds [min, max].  All
 * NaN/0 when no seed finished. */
typedef struct {
    double median, lo, hi, min, max;
    int finished;
    int64_t n;
} rl_ablate_cell;

rl_ablate_cell rl_ablate_cell_of(const rl_ablate_grid *g, const rl_ablate_run_score *s, int k, int m, int v, int e);

/* Prints results.json (steps[r]: the steps run r made, -1 unknown; steps may
 * be NULL); the caller checks and commits the stream (ablate/outputs.h). */
void rl_ablate_scores_json(FILE *f, const rl_ablate_grid *g, const rl_ablate_run_score *s, const int64_t *steps);

/* Reads path into *g (labels, epochs, seeds, baseline and metric names; the
 * recipe and overrides are not stored, so g cannot start runs) and *s
 * (malloc'ed, rl_ablate_num_runs(g) entries, caller frees).  Every field is
 * checked: labels as in a grid, counts 0 <= correct <= total, one run per
 * combination in order; errors name the file and the field. */
rl_status rl_ablate_scores_read(const char *path, rl_ablate_grid *g, rl_ablate_run_score **s, rl_error *err);

#endif
