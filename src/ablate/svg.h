/* svg.h: the plots `relab ablate` writes, as hand-written SVG (no plotting
 * library): curves.svg and imagenet_vs_real.svg (docs/ablate.md shows both).
 *
 *   rl_ablate_svg_curves   two panels, validation top-1 and top-1 on the
 *                          training labels against epoch; one line per run
 *                          with a curve, coloured by variant, dashed by model
 *   rl_ablate_svg_scatter  primary vs second metric per finished run (marker
 *                          by model, colour by variant, size by schedule) with
 *                          the y = x diagonal
 *
 * Accuracies are in [0, 1] (NaN = missing, left out).  Both functions only
 * print to their stream (the caller checks and commits it) and are
 * re-entrant.
 */
#ifndef RL_ABLATE_SVG_H
#define RL_ABLATE_SVG_H

#include <stdio.h>

#include "ablate/curve.h"
#include "ablate/grid.h"

/* curves[r] is run r's curve where have[r] is non-zero (n = rl_ablate_num_runs). */
void rl_ablate_svg_curves(FILE *f, const rl_ablate_grid *g, const rl_ablate_curve *curves, const int *have);
/* primary[r], second[r]: run r's two metrics. */
void rl_ablate_svg_scatter(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second);

#endif
