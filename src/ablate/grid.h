/* grid.h: an ablation grid file, the input of `relab ablate` (docs/ablate.md
 * is the user's reference).  A grid lays out the runs of Beyer et al. 2020
 * ("Are we done with ImageNet?"), Table 2: rows model x variant, columns
 * one per schedule, each cell the median over seeds.
 *
 * Syntax: util/kv.h's `key = value` lines ('#' comments, optional quotes);
 * a key given twice is an error.
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
 * Labels are 1..47 letters, digits or -_.+, distinct within their list;
 * epochs and seeds are distinct integers (runs are named by them).  Values
 * may use {dir} (the grid file's folder) and {out} (the output folder, made
 * absolute); relative LIST / real paths are taken from the grid's folder.
 * A value too long for its field is an error, never cut.
 *
 * The struct is plain data (fixed arrays): copy it by assignment.  Functions
 * are re-entrant.
 */
#ifndef RL_ABLATE_GRID_H
#define RL_ABLATE_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

#define RL_ABLATE_MAX 16 /* values per axis */
#define RL_ABLATE_LABEL 48
#define RL_ABLATE_SETS 2048
#define RL_ABLATE_PATH 1024

typedef struct {
    char label[RL_ABLATE_LABEL];
    char sets[RL_ABLATE_SETS]; /* "k=v; k=v" from set.LABEL, or "" */
} rl_ablate_value;

typedef struct {
    char path[RL_ABLATE_PATH];   /* the grid file */
    char dir[RL_ABLATE_PATH];    /* its folder */
    char out[RL_ABLATE_PATH];    /* output folder ({out}), absolute */
    char recipe[RL_ABLATE_PATH]; /* pattern, as written */
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

/* Reads a grid file; out_dir (NULL: ".") fills {out}.  Errors name the file
 * and line. */
rl_status rl_ablate_grid_read(const char *path, const char *out_dir, rl_ablate_grid *g, rl_error *err);

/* A placeholder and its value: {"model", "r50"} replaces "{model}". */
typedef struct {
    const char *name, *value;
} rl_ablate_var;

/* Replaces {dir}, {out} and each of vars[0..nvars) (may be NULL) in `in`;
 * other braces are left alone.  Returns 0, or -1 when the result did not fit
 * in n bytes (then it is cut). */
int rl_ablate_grid_expand(const rl_ablate_grid *g, const char *in, const rl_ablate_var *vars, int nvars, char *out,
                          size_t n);

/* The second metric's name ("ReaL" or alt_metric), or NULL when the grid has none. */
const char *rl_ablate_second_metric(const rl_ablate_grid *g);

#endif
