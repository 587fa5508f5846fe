/* sections.h: the parts of the HTML report, shared by page.c (finding the
 * inputs, the frame of the page), page_ablate.c (table, scatter, curves) and
 * page_clean.c (cleaning counts and the gallery).  Private to the library.
 *
 * Every writer only prints to p->f; numbers people read are also given in
 * data-* attributes at full precision so programs (and tests) can check them.
 */
#ifndef RL_REPORT_SECTIONS_H
#define RL_REPORT_SECTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "ablate/scores.h"
#include "ablate/curve.h"
#include "ablate/grid.h"
#include "ablate/runs.h"
#include "ablate/table.h"
#include "report/cleaning.h"
#include "report/page.h"
#include "report/thumbs.h"
#include "util/text.h"

typedef struct {
    FILE *f;
    rl_classes names; /* from classes.tsv (n = 0 when none) */
    int fmnist;       /* 1: Fashion-MNIST's class names */
} rl_page_ctx;

/* "Coat", the classes.tsv name (or wnid), or "class 7" when unknown. */
const char *rl_page_class(const rl_page_ctx *p, int c, char *buf, size_t n);

/* The Table 2 layout with intervals and seed spread, the scatter and the
 * curves of an ablation (curves[r] valid where have[r]). */
void rl_page_ablation(rl_page_ctx *p, const rl_ablate_grid *g, const rl_ablate_run_score *s,
                      const rl_ablate_curve *curves, const int *have);

/* The curves and last values of a single run's metrics.csv. */
void rl_page_run(rl_page_ctx *p, const char *model, const rl_ablate_curve *c);

/* What happened to flagged images: "removed", "relabelled" or "flagged", by the cleaning's mode. */
const char *rl_page_verb(const rl_cleaning *c);

/* Key numbers of the cleaning for the summary at the top. */
void rl_page_cleaning_summary(rl_page_ctx *p, const rl_cleaning *c);

/* Per-class counts, top pairs and (t not NULL, cap > 0) the galleries;
 * counts thumbnails into sum. */
void rl_page_cleaning(rl_page_ctx *p, const rl_cleaning *c, rl_thumbs *t, int64_t cap, rl_page_summary *sum);

#endif
