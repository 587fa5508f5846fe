/* grid.c: reading an ablation grid file (see grid.h); the line syntax is
 * util/kv.h's, shared with recipes. */
#include "ablate/grid.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/kv.h"

#define GRID_MAX_BYTES (1u << 20)

int rl_ablate_grid_expand(const rl_ablate_grid *g, const char *in, const rl_ablate_var *vars, int nvars, char *out,
                          size_t n)
{
    size_t o = 0;
    while (*in) {
        const char *rep = NULL;
        size_t skip = 1;
        for (int i = -2; *in == '{' && !rep && i < nvars; i++) {
            const char *name = i == -2 ? "dir" : i == -1 ? "out" : vars[i].name;
            size_t len = strlen(name);
            if (!strncmp(in + 1, name, len) && in[1 + len] == '}')
                rep = i == -2 ? g->dir : i == -1 ? g->out : vars[i].value, skip = len + 2;
        }
        size_t len = rep ? strlen(rep) : 1;
        if (o + len >= n) {
            out[o] = '\0';
            return -1;
        }
        memcpy(out + o, rep ? rep : in, len);
        o += len;
        in += skip;
    }
    out[o] = '\0';
    return 0;
}

const char *rl_ablate_second_metric(const rl_ablate_grid *g)
{
    if (g->real[0]) return "ReaL";
    if (g->alt_labels[0]) return g->alt_metric;
    return NULL;
}

/* A string value into a field of n bytes: refused, not cut, when too long. */
static rl_status copy_value(char *dst, size_t n, const char *key, const char *value, rl_error *err)
{
    if (strlen(value) >= n) return rl_fail(err, RL_ERR_FORMAT, "'%s' is longer than %zu characters", key, n - 1);
    memcpy(dst, value, strlen(value) + 1);
    return RL_OK;
}

/* A path from the grid: placeholders, then relative to the grid's folder
 * ("val" and "train" name the recipe's own sets). */
static rl_status grid_path(const rl_ablate_grid *g, const char *key, const char *in, char *out, rl_error *err)
{
    char tmp[RL_ABLATE_PATH];
    int cut = rl_ablate_grid_expand(g, in, NULL, 0, tmp, sizeof tmp) != 0;
    if (!cut && (tmp[0] == '/' || !strcmp(tmp, "val") || !strcmp(tmp, "train")))
        memcpy(out, tmp, strlen(tmp) + 1);
    else if (!cut)
        cut = snprintf(out, RL_ABLATE_PATH, "%s/%s", g->dir, tmp) >= RL_ABLATE_PATH;
    if (cut) return rl_fail(err, RL_ERR_FORMAT, "'%s': the path is longer than %d characters", key, RL_ABLATE_PATH - 1);
    return RL_OK;
}

static int valid_label(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.+", *s)) return 0;
    return 1;
}

/* Splits a comma list of labels into vals. */
static rl_status parse_labels(char *value, rl_ablate_value *vals, int *count, rl_error *err)
{
    *count = 0;
    for (char *save = NULL, *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = rl_kv_trim(tok);
        if (*count == RL_ABLATE_MAX)
            return rl_fail(err, RL_ERR_FORMAT, "more than %d values; hint: split the grid", RL_ABLATE_MAX);
        if (!valid_label(tok) || strlen(tok) >= RL_ABLATE_LABEL)
            return rl_fail(err, RL_ERR_FORMAT, "label '%s' must be 1..%d letters, digits or -_.+", tok,
                           RL_ABLATE_LABEL - 1);
        for (int i = 0; i < *count; i++)
            if (!strcmp(vals[i].label, tok)) return rl_fail(err, RL_ERR_FORMAT, "label '%s' given twice", tok);
        snprintf(vals[*count].label, RL_ABLATE_LABEL, "%s", tok);
        vals[*count].sets[0] = '\0';
        (*count)++;
    }
    if (!*count) return rl_fail(err, RL_ERR_FORMAT, "empty list");
    return RL_OK;
}

/* Splits a comma list of distinct integers in [lo, hi] into vals. */
static rl_status parse_ints(char *value, int64_t *vals, int *count, int64_t lo, int64_t hi, rl_error *err)
{
    *count = 0;
    for (char *save = NULL, *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = rl_kv_trim(tok);
        long long v;
        if (!rl_kv_int64(tok, &v) || v < lo || v > hi)
            return rl_fail(err, RL_ERR_FORMAT, "'%s' is not an integer in %lld..%lld", tok, (long long)lo,
                           (long long)hi);
        if (*count == RL_ABLATE_MAX)
            return rl_fail(err, RL_ERR_FORMAT, "more than %d values; hint: split the grid", RL_ABLATE_MAX);
        for (int i = 0; i < *count; i++)
            if (vals[i] == v) return rl_fail(err, RL_ERR_FORMAT, "%lld given twice (runs are named by it)", v);
        vals[(*count)++] = v;
    }
    if (!*count) return rl_fail(err, RL_ERR_FORMAT, "empty list");
    return RL_OK;
}

enum {
    K_RECIPE,
    K_MODELS,
    K_VARIANTS,
    K_EPOCHS,
    K_SEEDS,
    K_BASELINE,
    K_SET,
    K_EVAL_DATA,
    K_LABELS,
    K_METRIC,
    K_REAL,
    K_ALT_LABELS,
    K_ALT_METRIC,
    NKEYS
};
static const char *const key_names[NKEYS] = {"recipe",   "models",     "variants",  "epochs", "seeds",
                                             "baseline", "set",        "eval_data", "labels", "metric",
                                             "real",     "alt_labels", "alt_metric"};

typedef struct {
    rl_ablate_grid *g;
    int line_of[NKEYS]; /* where each key was given, 0 = not yet */
    struct {
        char label[RL_ABLATE_LABEL];
        char sets[RL_ABLATE_SETS];
        int line;
    } pend[2 * RL_ABLATE_MAX]; /* set.LABEL lines, matched to labels at the end */
    int npend;
    char baseline[RL_ABLATE_LABEL];
} parse_ctx;

static rl_status set_label_line(parse_ctx *c, const char *label, const char *value, int line, rl_error *err)
{
    for (int i = 0; i < c->npend; i++)
        if (!strcmp(c->pend[i].label, label)) return rl_fail(err, RL_ERR_FORMAT, "'set.%s' given twice", label);
    if (c->npend == 2 * RL_ABLATE_MAX)
        return rl_fail(err, RL_ERR_FORMAT, "more than %d set.LABEL lines", 2 * RL_ABLATE_MAX);
    if (strlen(label) >= RL_ABLATE_LABEL)
        return rl_fail(err, RL_ERR_FORMAT, "label '%s' is longer than %d characters", label, RL_ABLATE_LABEL - 1);
    rl_status st = copy_value(c->pend[c->npend].sets, RL_ABLATE_SETS, "set.LABEL", value, err);
    if (st) return st;
    snprintf(c->pend[c->npend].label, RL_ABLATE_LABEL, "%s", label);
    c->pend[c->npend++].line = line;
    return RL_OK;
}

static rl_status apply_key(parse_ctx *c, int k, char *value, rl_error *err)
{
    rl_ablate_grid *g = c->g;
    int64_t tmp[RL_ABLATE_MAX];
    rl_status st;
    switch (k) {
    case K_RECIPE: return copy_value(g->recipe, sizeof g->recipe, "recipe", value, err);
    case K_MODELS: return parse_labels(value, g->models, &g->nmodels, err);
    case K_VARIANTS: return parse_labels(value, g->variants, &g->nvariants, err);
    case K_EPOCHS:
        st = parse_ints(value, tmp, &g->nepochs, 1, 100000, err);
        for (int i = 0; i < g->nepochs; i++)
            g->epochs[i] = (int)tmp[i];
        return st;
    case K_SEEDS: return parse_ints(value, g->seeds, &g->nseeds, 0, INT64_MAX, err);
    case K_BASELINE: return copy_value(c->baseline, sizeof c->baseline, "baseline", value, err);
    case K_SET: return copy_value(g->sets, sizeof g->sets, "set", value, err);
    case K_EVAL_DATA: return grid_path(g, "eval_data", value, g->eval_data, err);
    case K_LABELS: return grid_path(g, "labels", value, g->labels, err);
    case K_REAL: return grid_path(g, "real", value, g->real, err);
    case K_ALT_LABELS: return grid_path(g, "alt_labels", value, g->alt_labels, err);
    case K_METRIC: return copy_value(g->metric, sizeof g->metric, "metric", value, err);
    case K_ALT_METRIC: return copy_value(g->alt_metric, sizeof g->alt_metric, "alt_metric", value, err);
    }
    return RL_OK;
}

static rl_status grid_line(void *ctx, char *key, char *value, int line, rl_error *err)
{
    parse_ctx *c = ctx;
    if (!*value) return rl_fail(err, RL_ERR_FORMAT, "'%s' has no value", key);
    if (!strncmp(key, "set.", 4)) return set_label_line(c, key + 4, value, line, err);
    int k = 0;
    while (k < NKEYS && strcmp(key, key_names[k]))
        k++;
    if (k == NKEYS)
        return rl_fail(err, RL_ERR_FORMAT,
                       "unknown key '%s'; hint: grid keys are recipe, models, variants, epochs, seeds, baseline, "
                       "set, set.LABEL, eval_data, labels, metric, real, alt_labels, alt_metric",
                       key);
    if (c->line_of[k]) return rl_fail(err, RL_ERR_FORMAT, "'%s' given twice (first on line %d)", key, c->line_of[k]);
    c->line_of[k] = line;
    return apply_key(c, k, value, err);
}

/* Checks after the last line: required keys, the baseline, set.LABEL targets. */
static rl_status finish(parse_ctx *c, rl_error *err)
{
    rl_ablate_grid *g = c->g;
    const char *path = g->path;
    if (!g->recipe[0]) return rl_fail(err, RL_ERR_FORMAT, "%s: 'recipe' is required", path);
    if (!g->nmodels)
        return rl_fail(err, RL_ERR_FORMAT, "%s: 'models' is required (row groups, e.g. models = r50)", path);
    if (!g->nvariants)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: 'variants' is required (e.g. variants = baseline, sigmoid, clean, both)", path);
    if (!g->nepochs) return rl_fail(err, RL_ERR_FORMAT, "%s: 'epochs' is required (e.g. epochs = 90, 270, 900)", path);
    if (!g->nseeds) g->nseeds = 1; /* seed 0 */
    if (g->real[0] && g->alt_labels[0])
        return rl_fail(err, RL_ERR_FORMAT, "%s: give 'real' or 'alt_labels', not both (one second metric)", path);
    if (c->baseline[0]) {
        g->baseline = -1;
        for (int i = 0; i < g->nvariants; i++)
            if (!strcmp(g->variants[i].label, c->baseline)) g->baseline = i;
        if (g->baseline < 0)
            return rl_fail(err, RL_ERR_FORMAT, "%s:%d: baseline '%s' is not one of the variants", path,
                           c->line_of[K_BASELINE], c->baseline);
    }
    for (int i = 0; i < c->npend; i++) {
        int found = 0;
        for (int m = 0; m < g->nmodels; m++)
            if (!strcmp(g->models[m].label, c->pend[i].label))
                memcpy(g->models[m].sets, c->pend[i].sets, RL_ABLATE_SETS), found = 1;
        for (int v = 0; v < g->nvariants; v++)
            if (!strcmp(g->variants[v].label, c->pend[i].label))
                memcpy(g->variants[v].sets, c->pend[i].sets, RL_ABLATE_SETS), found = 1;
        if (!found)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s:%d: set.%s names no model or variant; hint: labels are case-sensitive", path,
                           c->pend[i].line, c->pend[i].label);
    }
    return RL_OK;
}

/* The grid's folder and the absolute output folder. */
static rl_status set_folders(rl_ablate_grid *g, const char *path, const char *out_dir, rl_error *err)
{
    int cut = snprintf(g->path, sizeof g->path, "%s", path) >= (int)sizeof g->path;
    rl_fs_dirname(path, g->dir, sizeof g->dir);
    /* {out} must mean the same folder to the children, whatever their cwd
     * and whatever folder a grid path is resolved against. */
    char cwd[RL_ABLATE_PATH];
    if (!out_dir) out_dir = ".";
    if (out_dir[0] != '/' && getcwd(cwd, sizeof cwd))
        cut |= snprintf(g->out, sizeof g->out, "%s/%s", cwd, out_dir) >= (int)sizeof g->out;
    else
        cut |= snprintf(g->out, sizeof g->out, "%s", out_dir) >= (int)sizeof g->out;
    if (cut)
        return rl_fail(err, RL_ERR_ARG, "%s: the grid or output path is longer than %d characters", path,
                       RL_ABLATE_PATH - 1);
    return RL_OK;
}

rl_status rl_ablate_grid_read(const char *path, const char *out_dir, rl_ablate_grid *g, rl_error *err)
{
    memset(g, 0, sizeof *g);
    snprintf(g->eval_data, sizeof g->eval_data, "val");
    snprintf(g->metric, sizeof g->metric, "top-1");
    snprintf(g->alt_metric, sizeof g->alt_metric, "alt top-1");
    rl_status st = set_folders(g, path, out_dir, err);
    if (st) return st;
    char *text = NULL;
    parse_ctx *c = calloc(1, sizeof *c);
    if (!c) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory reading the grid", path);
    c->g = g;
    st = rl_kv_read_file(path, "grid", GRID_MAX_BYTES, &text, err);
    if (!st) st = rl_kv_parse(text, path, grid_line, c, err);
    if (!st) st = finish(c, err);
    free(text);
    free(c);
    return st;
}
