/* svg.h: the plots `relab ablate` writes, as hand-written SVG (no plotting
 * library): curves.svg and imagenet_vs_real.svg (docs/ablate.md shows both);
 * `relab report` puts the same drawings into its page.
 *
 *   rl_ablate_svg_curves   two panels against epoch: validation top-1 (the
 *                          validation set's own labels, which carry no
 *                          injected noise) and top-1 on the training labels as
 *                          trained.  One line per model, variant and schedule:
 *                          the median over seeds, with a band from the lowest
 *                          to the highest seed when there are several;
 *                          colour = variant, dash = model
 *   rl_ablate_svg_scatter  first metric (x) against the second (y): one
 *                          labelled mark per model, variant and schedule at
 *                          the median over seeds (ablate/scores.h's cells),
 *                          whiskers for the 95% intervals on both axes, a
 *                          small hollow mark per seed, and the y = x diagonal;
 *                          colour = variant, shape = model, size = schedule
 *
 * Each drawing opens with <title> and <desc> (read by screen readers and
 * shown by viewers).  Both functions only print to their stream (the caller
 * checks and commits it) and are re-entrant.
 */
#ifndef RL_ABLATE_SVG_H
#define RL_ABLATE_SVG_H

#include <stdio.h>

#include "ablate/curve.h"
#include "ablate/grid.h"
#include "ablate/scores.h"

/* curves[r] is run r's curve where have[r] is non-zero (n = rl_ablate_num_runs). */
void rl_ablate_svg_curves(FILE *f, const rl_ablate_grid *g, const rl_ablate_curve *curves, const int *have);
/* s[r]: run r's scores; a grid without a second metric draws nothing. */
void rl_ablate_svg_scatter(FILE *f, const rl_ablate_grid *g, const rl_ablate_run_score *s);

#endif
