/* page.h: `relab report DIR`: one self-contained HTML page about a run
 * folder (relab train), an ablation folder (relab ablate) or the demo's
 * folder (scripts/demo.sh: an ablation plus a cleaning under data/).
 *
 * Self-contained: inline CSS, inline SVG plots, thumbnails as data: URIs, no
 * script or file from elsewhere, so the page can be mailed, archived or
 * printed.  docs/report.md lists what it shows and where each part comes from:
 *   DIR/results.json          the Table 2 layout, scatter and curves (ablation)
 *   DIR/runs/RUN/metrics.csv  the curves
 *   DIR/metrics.csv           a single run's curves
 *   clean-report.json and the per-image table (relab clean --report,
 *   --per-image) in DIR or DIR/data: the cleaning section and its gallery.
 * Images for the gallery are searched (report/thumbs.h) in the folders given,
 * then in the data_dir and train_list folder of every recipe.txt found (DIR,
 * DIR/runs/RUN, DIR/data/SUB).
 *
 * The page is written atomically (util/fs.h).  Re-entrant; library code, so
 * it only logs (util/log.h).
 */
#ifndef RL_REPORT_PAGE_H
#define RL_REPORT_PAGE_H

#include <stdint.h>
#include "util/status.h"

#define RL_PAGE_GALLERY_DEFAULT 48 /* images per gallery section */
#define RL_PAGE_THUMB_DEFAULT 96   /* photo thumbnail side, pixels */

typedef struct {
    const char *dir;                /* the folder reported on; required */
    const char *out;                /* the page; NULL = DIR/report.html */
    const char *clean_json;         /* NULL = DIR[/data]/clean-report.json when present */
    const char *per_image;          /* NULL = the first *.tsv in DIR[/data] with the table's header */
    const char *classes;            /* classes.tsv for class names; NULL = a recipe's, or Fashion-MNIST's */
    const char *const *image_roots; /* [nroots] searched first for gallery images */
    int nroots;
    int64_t gallery; /* images per gallery section; 0 = no gallery */
    int thumb;       /* photo thumbnail side in pixels (16..512) */
} rl_page_options;

/* Fills the defaults (gallery 48, thumb 96, the rest NULL/0). */
void rl_page_options_default(rl_page_options *o);

typedef struct {
    char out[4200];        /* the page written */
    int runs, runs_scored; /* ablation runs, those with scores */
    int curves;            /* runs with a metrics.csv */
    int cleaning;          /* 1 when a cleaning section was written */
    int64_t shown;         /* thumbnails embedded */
    int64_t available;     /* images the gallery sections hold */
    int64_t missing;       /* thumbnails that could not be made (listed on the page) */
    int64_t bytes;         /* size of the page */
} rl_page_summary;

/* Writes the page.  A folder with nothing to report (no results.json,
 * metrics.csv or cleaning files) is RL_ERR_ARG naming what was looked for;
 * a damaged input is an error naming the file. */
rl_status rl_page_write(const rl_page_options *o, rl_page_summary *sum, rl_error *err);

#endif
