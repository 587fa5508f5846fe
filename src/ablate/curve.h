/* curve.h: one run's per-epoch numbers, read back from the metrics.csv the
 * trainer writes in its folder (train/observers.h: rl_metrics_header), for
 * the plots and the steps a run made.
 *
 * Columns are found by name in the header line ("epoch" and "val_top1" are
 * required; "step" and "train_top1" are read when present), so files from
 * relab versions with more columns still read.  An empty field is NaN.
 * At most RL_ABLATE_CURVE_MAX rows are kept (a longer file is refused).
 * Re-entrant; the struct is plain data.
 */
#ifndef RL_ABLATE_CURVE_H
#define RL_ABLATE_CURVE_H

#include <stdint.h>

#include "util/status.h"

#define RL_ABLATE_CURVE_MAX 4096

typedef struct {
    int n; /* rows */
    int epoch[RL_ABLATE_CURVE_MAX];
    int64_t step[RL_ABLATE_CURVE_MAX]; /* steps made by the epoch's end; -1 if absent */
    double val_top1[RL_ABLATE_CURVE_MAX], train_top1[RL_ABLATE_CURVE_MAX]; /* NaN where not measured */
} rl_ablate_curve;

/* Reads a metrics.csv.  A missing file is RL_ERR_IO; a malformed line names
 * the file and line. */
rl_status rl_ablate_curve_read(const char *path, rl_ablate_curve *c, rl_error *err);

#endif
