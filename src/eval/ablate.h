/* ablate.h: the ablation grid behind `relab ablate` and the paper's Table 2
 * layout (Beyer et al. 2020, "Are we done with ImageNet?", Table 2: rows
 * model x variant, columns ImageNet and ReaL top-1 per schedule, each cell the
 * median of 3 runs).
 *
 * Grid file (docs/ablate.md): `key = value` lines, '#' comments, like recipes:
 *   recipe    = PATTERN        base recipe, relative to the grid's folder;
 *                              {model} {variant} {epochs} {seed} are replaced
 *   models    = a, b           row groups (labels)                  [required]
 *   variants  = baseline, ...  rows within a model (labels)         [required]
 *   epochs    = 90, 270, 900   columns (schedules; set as epochs=E) [required]
 *   seeds     = 0, 1, 2        repeats, median over them (default 0)
 *   baseline  = LABEL          the variant deltas refer to (default: first)
 *   set       = k=v; k=v       recipe overrides for every run
 *   set.LABEL = k=v; k=v       overrides for one model or variant label
 *   eval_data = val | LIST     what finished runs predict on (default val)
 *   labels    = LIST           score the primary metric against these labels
 *   metric    = NAME           the primary metric's name (default "top-1")
 *   real      = real.json      second metric: ReaL top-1 (ImageNet)
 *   alt_labels = LIST          or: second metric against another label list
 *   alt_metric = NAME          its name (default "alt top-1")
 * Values may use {dir} (the grid file's folder) and {out} (the output folder);
 * relative LIST / real paths are taken from the grid's folder.
 *
 * Runs are numbered r = ((m * V + v) * E + e) * S + s and named
 * "<model>-<variant>-<epochs>ep-s<seed>".
 *
 * Table: cell (m, v, e) = median over seeds of finished runs (NaN runs are
 * left out; the mean of the two middle values for an even count), printed as
 * 100 x accuracy with one decimal; for non-baseline rows the difference to
 * the baseline's median of the same model and schedule follows in brackets,
 * "76.6 (+0.6)".  An empty cell is "-".
 *
 * The struct is plain data (fixed arrays): copy it by assignment.  Functions
 * are re-entrant; the table writers only print to their stream.  The plots
 * are in ablate/svg.h.
 */
#ifndef RL_ABLATE_H
#define RL_ABLATE_H

#include <stdint.h>
#include <stdio.h>
#include "util/status.h"

#define RL_ABLATE_MAX 16        /* values per axis */
#define RL_ABLATE_LABEL 48
#define RL_ABLATE_SETS 2048
#define RL_ABLATE_PATH 1024

typedef struct {
    char label[RL_ABLATE_LABEL];
    char sets[RL_ABLATE_SETS];  /* "k=v; k=v" from set.LABEL, or "" */
} rl_ablate_value;

typedef struct {
    char path[RL_ABLATE_PATH];       /* the grid file */
    char dir[RL_ABLATE_PATH];        /* its folder */
    char out[RL_ABLATE_PATH];        /* output folder ({out}) */
    char recipe[RL_ABLATE_PATH];     /* pattern, as written */
    int nmodels, nvariants, nepochs, nseeds;
    rl_ablate_value models[RL_ABLATE_MAX], variants[RL_ABLATE_MAX];
    int epochs[RL_ABLATE_MAX];
    int64_t seeds[RL_ABLATE_MAX];
    int baseline;                    /* index into variants */
    char sets[RL_ABLATE_SETS];       /* common overrides */
    char eval_data[RL_ABLATE_PATH];  /* "val", "train" or a resolved list path */
    char labels[RL_ABLATE_PATH];     /* "" = the predictions' own labels */
    char real[RL_ABLATE_PATH];       /* "" = none */
    char alt_labels[RL_ABLATE_PATH]; /* "" = none */
    char metric[RL_ABLATE_LABEL], alt_metric[RL_ABLATE_LABEL];
} rl_ablate_grid;

/* Reads a grid file; out_dir fills {out}.  Errors name the file and line. */
rl_status rl_ablate_grid_read(const char *path, const char *out_dir, rl_ablate_grid *g, rl_error *err);

int rl_ablate_num_runs(const rl_ablate_grid *g);
/* Decomposes run r into its axis indices (any pointer may be NULL). */
void rl_ablate_run_index(const rl_ablate_grid *g, int r, int *m, int *v, int *e, int *s);
/* "<model>-<variant>-<epochs>ep-s<seed>" */
void rl_ablate_run_name(const rl_ablate_grid *g, int r, char *out, size_t n);
/* The recipe path of run r (pattern filled, relative paths from the grid's folder). */
void rl_ablate_run_recipe(const rl_ablate_grid *g, int r, char *out, size_t n);
/* The --set assignments of run r, in order: epochs, seed, common, model's,
 * variant's; placeholders filled.  Returns the count (<= max), each written to
 * sets[i] (size RL_ABLATE_SETS); -1 with a message if there are more than max. */
int rl_ablate_run_sets(const rl_ablate_grid *g, int r, char (*sets)[RL_ABLATE_SETS], int max, rl_error *err);

/* Median of the finite values among v[0..n) (NaN if none). */
double rl_ablate_median(const double *v, int n);

/* The second metric's name, or NULL when the grid has none. */
const char *rl_ablate_second_metric(const rl_ablate_grid *g);

/* Table 2 from per-run accuracies in [0, 1] (NaN = missing); second may be
 * NULL.  Markdown for people, CSV (one row per model, variant, metric, epochs:
 * median, delta, finished seeds, the values) for programs. */
void rl_ablate_table_md(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second);
void rl_ablate_table_csv(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second);

/* One run's per-epoch curve, from its metrics.csv. */
typedef struct {
    int n;
    int epoch[4096];
    double val_top1[4096], train_top1[4096];  /* NaN where not measured */
} rl_ablate_curve;

/* Reads DIR/metrics.csv (the trainer's columns, found by name in the header).
 * A missing file is RL_ERR_IO; a malformed line names file and line. */
rl_status rl_ablate_curve_read(const char *path, rl_ablate_curve *c, rl_error *err);

#endif
