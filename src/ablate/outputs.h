/* outputs.h: the files `relab ablate` writes into its output folder
 * (docs/ablate.md describes each):
 *   table.md              the Table 2 layout and the steps per run (table.h)
 *   table.csv             the same numbers for programs
 *   runs.csv              one row per run: run,model,variant,epochs,seed,
 *                         steps,primary,second (accuracies in %, empty when
 *                         missing)
 *   results.json          every run's counts and intervals, and the grid's
 *                         facts (scores.h): what relab report reads
 *   curves.svg            training curves (svg.h)
 *   imagenet_vs_real.svg  primary vs second metric, when there is a second
 * Each file is committed atomically (util/fs.h): a crash or a full disk
 * leaves the previous version, never half a file.  Re-entrant.
 */
#ifndef RL_ABLATE_OUTPUTS_H
#define RL_ABLATE_OUTPUTS_H

#include <stdio.h>

#include "ablate/grid.h"
#include "ablate/results.h"
#include "util/status.h"

/* Writes every file above into g->out; stops at the first that fails. */
rl_status rl_ablate_write_outputs(const rl_ablate_grid *g, const rl_ablate_results *res, rl_error *err);

#endif
