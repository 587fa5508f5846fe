/* table.h: Beyer et al. 2020 ("Are we done with ImageNet?") Table 2 from
 * the per-run accuracies of a grid (ablate/grid.h): rows model x variant,
 * columns one per schedule for each metric.
 *
 * Cell (m, v, e) = median over seeds of finished runs (NaN runs are left
 * out; the mean of the two middle values for an even count), printed as
 * 100 x accuracy with one decimal; for non-baseline rows the difference to
 * the baseline's median of the same model and schedule follows in brackets,
 * "76.6 (+0.6)".  An empty cell is "-".
 *
 * Accuracies are in [0, 1], indexed by run (ablate/runs.h), NaN = missing;
 * second may be NULL (no second metric).  The writers only print to their
 * stream (the caller checks and commits it) and are re-entrant.
 */
#ifndef RL_ABLATE_TABLE_H
#define RL_ABLATE_TABLE_H

#include <stdint.h>
#include <stdio.h>

#include "ablate/grid.h"

/* Median of the finite values among v[0..n) (NaN if none; the mean of the
 * two middle values for an even count): a cell of the table. */
double rl_ablate_median(const double *v, int n);

/* Markdown for people: the table, then a line saying what the numbers are. */
void rl_ablate_table_md(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second);

/* CSV for programs: one row per model, variant, metric, schedule: median,
 * delta to the baseline, finished seeds, the values ("a;b;c", empty = missing). */
void rl_ablate_table_csv(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second);

/* The steps each run made (steps[r], -1 = unknown) as a Markdown list, one
 * line per model and variant: "- r50 clean: 90 ep 450360, 270 ep 1351080"
 * (a range "a-b" when seeds differ). */
void rl_ablate_steps_md(FILE *f, const rl_ablate_grid *g, const int64_t *steps);

#endif
