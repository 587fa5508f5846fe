/* curve.c: reading a run's metrics.csv (see curve.h). */
#include "ablate/curve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

enum { COL_EPOCH, COL_STEP, COL_VAL, COL_TRAIN, NCOLS };
static const char *const col_names[NCOLS] = {"epoch", "step", "val_top1", "train_top1"};

/* Finds the wanted columns' positions (-1 when absent) in the header line. */
static void read_header(char *line, int *pos)
{
    for (int k = 0; k < NCOLS; k++)
        pos[k] = -1;
    int col = 0;
    for (char *save = NULL, *tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save), col++)
        for (int k = 0; k < NCOLS; k++)
            if (!strcmp(tok, col_names[k])) pos[k] = col;
}

/* The wanted fields of one row (NaN where empty or not a number). */
static void read_row(char *line, const int *pos, double *val)
{
    for (int k = 0; k < NCOLS; k++)
        val[k] = NAN;
    /* strtok_r would merge empty fields; walk the commas by hand. */
    char *p = line;
    for (int col = 0; p; col++) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        char *end;
        double x = strtod(p, &end);
        for (int k = 0; k < NCOLS; k++)
            if (col == pos[k]) val[k] = end != p ? x : NAN;
        p = comma ? comma + 1 : NULL;
    }
}

rl_status rl_ablate_curve_read(const char *path, rl_ablate_curve *c, rl_error *err)
{
    c->n = 0;
    rl_lines f;
    rl_status st = rl_lines_open(&f, path, "metrics file", 4096, err);
    if (st) return st;
    int pos[NCOLS] = {-1, -1, -1, -1}, got;
    char *line;
    size_t len;
    while (!st && (got = rl_lines_next(&f, &line, &len, err)) > 0) {
        if (f.lineno == 1) {
            read_header(line, pos);
            if (pos[COL_EPOCH] < 0 || pos[COL_VAL] < 0)
                st = rl_fail(err, RL_ERR_FORMAT, "%s:1: header lacks 'epoch' or 'val_top1'; hint: a relab metrics.csv",
                             path);
            continue;
        }
        if (c->n == RL_ABLATE_CURVE_MAX) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: more than %d epochs (the most a curve holds)", path, f.lineno,
                         RL_ABLATE_CURVE_MAX);
            break;
        }
        double val[NCOLS];
        read_row(line, pos, val);
        if (!(val[COL_EPOCH] >= 0 && val[COL_EPOCH] <= 1e9)) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: no epoch number", path, f.lineno);
            break;
        }
        c->epoch[c->n] = (int)val[COL_EPOCH];
        c->step[c->n] = val[COL_STEP] >= 0 && val[COL_STEP] < 9e18 ? (int64_t)val[COL_STEP] : -1;
        c->val_top1[c->n] = val[COL_VAL];
        c->train_top1[c->n] = val[COL_TRAIN];
        c->n++;
    }
    if (!st && got < 0) st = err ? err->code : RL_ERR_FORMAT;
    rl_lines_close(&f);
    return st;
}
