/* ablate.c: grid files, the Table 2 layout and hand-written SVG plots for
 * `relab ablate` (see ablate.h; docs/ablate.md is the user's reference). */
#include "eval/ablate.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/text.h"

/* ---- parsing ---- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* Replaces {dir} and {out} (and leaves other braces alone). */
static void expand(const rl_ablate_grid *g, const char *in, char *out, size_t n)
{
    size_t o = 0;
    while (*in && o + 1 < n) {
        const char *rep = NULL;
        size_t skip = 0;
        if (!strncmp(in, "{dir}", 5)) rep = g->dir, skip = 5;
        else if (!strncmp(in, "{out}", 5)) rep = g->out, skip = 5;
        if (rep) {
            int w = snprintf(out + o, n - o, "%s", rep);
            o += w < 0 ? 0 : (size_t)w;
            if (o >= n) o = n - 1;
            in += skip;
        } else {
            out[o++] = *in++;
        }
    }
    out[o] = '\0';
}

/* dir/name into out; an over-long result is cut (paths are checked when opened). */
static void join(char *out, size_t n, const char *dir, const char *name)
{
    if (snprintf(out, n, "%s/%s", dir, name) >= (int)n) out[n - 1] = '\0';
}

/* A path from the grid: placeholders, then relative to the grid's folder. */
static void grid_path(const rl_ablate_grid *g, const char *in, char *out, size_t n)
{
    char tmp[RL_ABLATE_PATH];
    expand(g, in, tmp, sizeof tmp);
    if (tmp[0] == '/' || !strcmp(tmp, "val") || !strcmp(tmp, "train"))
        snprintf(out, n, "%s", tmp);
    else
        join(out, n, g->dir, tmp);
}

static int valid_label(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.' && *s != '+') return 0;
    return 1;
}

/* Splits a comma list of labels into vals. */
static rl_status parse_labels(char *value, rl_ablate_value *vals, int *count, const char *where, rl_error *err)
{
    *count = 0;
    for (char *save = NULL, *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        if (*count == RL_ABLATE_MAX)
            return rl_fail(err, RL_ERR_FORMAT, "%s: more than %d values; hint: split the grid", where, RL_ABLATE_MAX);
        if (!valid_label(tok) || strlen(tok) >= RL_ABLATE_LABEL)
            return rl_fail(err, RL_ERR_FORMAT, "%s: label '%s' must be 1..%d letters, digits or -_.+", where, tok,
                           RL_ABLATE_LABEL - 1);
        for (int i = 0; i < *count; i++)
            if (!strcmp(vals[i].label, tok)) return rl_fail(err, RL_ERR_FORMAT, "%s: label '%s' given twice", where, tok);
        snprintf(vals[*count].label, RL_ABLATE_LABEL, "%s", tok);
        vals[*count].sets[0] = '\0';
        (*count)++;
    }
    if (!*count) return rl_fail(err, RL_ERR_FORMAT, "%s: empty list", where);
    return RL_OK;
}

static rl_status parse_ints(char *value, int64_t *vals, int *count, int64_t lo, int64_t hi, const char *where,
                            rl_error *err)
{
    *count = 0;
    for (char *save = NULL, *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        char *end;
        long long v = strtoll(tok, &end, 10);
        if (end == tok || *end || v < lo || v > hi)
            return rl_fail(err, RL_ERR_FORMAT, "%s: '%s' is not an integer in %lld..%lld", where, tok, (long long)lo,
                           (long long)hi);
        if (*count == RL_ABLATE_MAX)
            return rl_fail(err, RL_ERR_FORMAT, "%s: more than %d values; hint: split the grid", where, RL_ABLATE_MAX);
        vals[(*count)++] = v;
    }
    if (!*count) return rl_fail(err, RL_ERR_FORMAT, "%s: empty list", where);
    return RL_OK;
}

typedef struct {
    char label[RL_ABLATE_LABEL];
    char sets[RL_ABLATE_SETS];
    int line;
} pending_set;

rl_status rl_ablate_grid_read(const char *path, const char *out_dir, rl_ablate_grid *g, rl_error *err)
{
    memset(g, 0, sizeof *g);
    snprintf(g->path, sizeof g->path, "%s", path);
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(g->dir, sizeof g->dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else
        snprintf(g->dir, sizeof g->dir, ".");
    /* {out} must mean the same folder to the children, whatever their cwd
     * and whatever folder a grid path is resolved against. */
    char cwd[RL_ABLATE_PATH];
    if (!out_dir) out_dir = ".";
    if (out_dir[0] != '/' && getcwd(cwd, sizeof cwd))
        join(g->out, sizeof g->out, cwd, out_dir);
    else
        snprintf(g->out, sizeof g->out, "%s", out_dir);
    snprintf(g->eval_data, sizeof g->eval_data, "val");
    snprintf(g->metric, sizeof g->metric, "top-1");
    snprintf(g->alt_metric, sizeof g->alt_metric, "alt top-1");
    rl_lines f;
    rl_status st = rl_lines_open(&f, path, "grid", 8190, err);
    if (st) return st;
    pending_set *pend = calloc(2 * RL_ABLATE_MAX, sizeof *pend);
    char seen[16][24] = {{0}};
    int nseen = 0, npend = 0, lineno = 0, baseline_line = 0, got;
    char baseline[RL_ABLATE_LABEL] = "", *line, where[RL_ABLATE_PATH + 32];
    size_t len;
    if (!pend) {
        rl_lines_close(&f);
        return rl_fail(err, RL_ERR_NOMEM, "out of memory");
    }
    while (!st && (got = rl_lines_next(&f, &line, &len, err)) > 0) {
        lineno = (int)f.lineno;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: expected 'key = value', found '%s'", where, s);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (!*value) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: '%s' has no value", where, key);
            break;
        }
        if (!strncmp(key, "set.", 4)) {
            if (npend == 2 * RL_ABLATE_MAX || strlen(key + 4) >= RL_ABLATE_LABEL || strlen(value) >= RL_ABLATE_SETS) {
                st = rl_fail(err, RL_ERR_FORMAT, "%s: too many set.LABEL lines or a value too long", where);
                break;
            }
            for (int i = 0; i < npend; i++)
                if (!strcmp(pend[i].label, key + 4)) st = rl_fail(err, RL_ERR_FORMAT, "%s: '%s' given twice", where, key);
            snprintf(pend[npend].label, RL_ABLATE_LABEL, "%s", key + 4);
            snprintf(pend[npend].sets, RL_ABLATE_SETS, "%s", value);
            pend[npend++].line = lineno;
            continue;
        }
        for (int i = 0; i < nseen; i++)
            if (!strcmp(seen[i], key)) st = rl_fail(err, RL_ERR_FORMAT, "%s: '%s' given twice", where, key);
        if (st) break;
        if (nseen < 16) snprintf(seen[nseen++], sizeof seen[0], "%.23s", key);
        int64_t tmp[RL_ABLATE_MAX];
        if (!strcmp(key, "recipe")) snprintf(g->recipe, sizeof g->recipe, "%s", value);
        else if (!strcmp(key, "models")) st = parse_labels(value, g->models, &g->nmodels, where, err);
        else if (!strcmp(key, "variants")) st = parse_labels(value, g->variants, &g->nvariants, where, err);
        else if (!strcmp(key, "epochs")) {
            st = parse_ints(value, tmp, &g->nepochs, 1, 100000, where, err);
            for (int i = 0; i < g->nepochs; i++) g->epochs[i] = (int)tmp[i];
        } else if (!strcmp(key, "seeds")) st = parse_ints(value, g->seeds, &g->nseeds, 0, INT64_MAX, where, err);
        else if (!strcmp(key, "baseline")) {
            snprintf(baseline, sizeof baseline, "%s", value);
            baseline_line = lineno;
        } else if (!strcmp(key, "set")) snprintf(g->sets, sizeof g->sets, "%s", value);
        else if (!strcmp(key, "eval_data")) grid_path(g, value, g->eval_data, sizeof g->eval_data);
        else if (!strcmp(key, "labels")) grid_path(g, value, g->labels, sizeof g->labels);
        else if (!strcmp(key, "real")) grid_path(g, value, g->real, sizeof g->real);
        else if (!strcmp(key, "alt_labels")) grid_path(g, value, g->alt_labels, sizeof g->alt_labels);
        else if (!strcmp(key, "metric")) snprintf(g->metric, sizeof g->metric, "%s", value);
        else if (!strcmp(key, "alt_metric")) snprintf(g->alt_metric, sizeof g->alt_metric, "%s", value);
        else
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: unknown key '%s'; hint: grid keys are recipe, models, variants, epochs, seeds, baseline, "
                         "set, set.LABEL, eval_data, labels, metric, real, alt_labels, alt_metric",
                         where, key);
    }
    if (!st && got < 0) st = err ? err->code : RL_ERR_FORMAT;
    rl_lines_close(&f);
    if (!st && !g->recipe[0]) st = rl_fail(err, RL_ERR_FORMAT, "%s: 'recipe' is required", path);
    if (!st && !g->nmodels) st = rl_fail(err, RL_ERR_FORMAT, "%s: 'models' is required (row groups, e.g. models = r50)", path);
    if (!st && !g->nvariants)
        st = rl_fail(err, RL_ERR_FORMAT, "%s: 'variants' is required (e.g. variants = baseline, sigmoid, clean, both)", path);
    if (!st && !g->nepochs) st = rl_fail(err, RL_ERR_FORMAT, "%s: 'epochs' is required (e.g. epochs = 90, 270, 900)", path);
    if (!st && !g->nseeds) g->nseeds = 1; /* seed 0 */
    if (!st && g->real[0] && g->alt_labels[0])
        st = rl_fail(err, RL_ERR_FORMAT, "%s: give 'real' or 'alt_labels', not both (one second metric)", path);
    if (!st && baseline[0]) {
        g->baseline = -1;
        for (int i = 0; i < g->nvariants; i++)
            if (!strcmp(g->variants[i].label, baseline)) g->baseline = i;
        if (g->baseline < 0)
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%d: baseline '%s' is not one of the variants", path, baseline_line,
                         baseline);
    }
    for (int i = 0; !st && i < npend; i++) {
        int found = 0;
        for (int m = 0; m < g->nmodels; m++)
            if (!strcmp(g->models[m].label, pend[i].label)) {
                snprintf(g->models[m].sets, RL_ABLATE_SETS, "%s", pend[i].sets);
                found = 1;
            }
        for (int v = 0; v < g->nvariants; v++)
            if (!strcmp(g->variants[v].label, pend[i].label)) {
                snprintf(g->variants[v].sets, RL_ABLATE_SETS, "%s", pend[i].sets);
                found = 1;
            }
        if (!found)
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%d: set.%s names no model or variant; hint: labels are case-sensitive",
                         path, pend[i].line, pend[i].label);
    }
    free(pend);
    return st;
}

/* ---- runs ---- */

int rl_ablate_num_runs(const rl_ablate_grid *g) { return g->nmodels * g->nvariants * g->nepochs * g->nseeds; }

void rl_ablate_run_index(const rl_ablate_grid *g, int r, int *m, int *v, int *e, int *s)
{
    if (s) *s = r % g->nseeds;
    r /= g->nseeds;
    if (e) *e = r % g->nepochs;
    r /= g->nepochs;
    if (v) *v = r % g->nvariants;
    if (m) *m = r / g->nvariants;
}

void rl_ablate_run_name(const rl_ablate_grid *g, int r, char *out, size_t n)
{
    int m, v, e, s;
    rl_ablate_run_index(g, r, &m, &v, &e, &s);
    snprintf(out, n, "%s-%s-%dep-s%lld", g->models[m].label, g->variants[v].label, g->epochs[e],
             (long long)g->seeds[s]);
}

/* Fills {model} {variant} {epochs} {seed} {dir} {out}. */
static void fill(const rl_ablate_grid *g, int r, const char *in, char *out, size_t n)
{
    int m, v, e, s;
    rl_ablate_run_index(g, r, &m, &v, &e, &s);
    char num[32], tmp[RL_ABLATE_SETS + RL_ABLATE_PATH];
    size_t o = 0;
    while (*in && o + 1 < sizeof tmp) {
        const char *rep = NULL;
        size_t skip = 0;
        if (!strncmp(in, "{model}", 7)) rep = g->models[m].label, skip = 7;
        else if (!strncmp(in, "{variant}", 9)) rep = g->variants[v].label, skip = 9;
        else if (!strncmp(in, "{epochs}", 8)) snprintf(num, sizeof num, "%d", g->epochs[e]), rep = num, skip = 8;
        else if (!strncmp(in, "{seed}", 6)) snprintf(num, sizeof num, "%lld", (long long)g->seeds[s]), rep = num, skip = 6;
        if (rep) {
            int w = snprintf(tmp + o, sizeof tmp - o, "%s", rep);
            o += w < 0 ? 0 : (size_t)w;
            if (o >= sizeof tmp) o = sizeof tmp - 1;
            in += skip;
        } else {
            tmp[o++] = *in++;
        }
    }
    tmp[o] = '\0';
    expand(g, tmp, out, n);
}

void rl_ablate_run_recipe(const rl_ablate_grid *g, int r, char *out, size_t n)
{
    char tmp[RL_ABLATE_PATH];
    fill(g, r, g->recipe, tmp, sizeof tmp);
    if (tmp[0] == '/')
        snprintf(out, n, "%s", tmp);
    else
        join(out, n, g->dir, tmp);
}

static int split_sets(const rl_ablate_grid *g, int r, const char *list, char (*sets)[RL_ABLATE_SETS], int at, int max,
                      rl_error *err)
{
    char buf[RL_ABLATE_SETS];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        tok = trim(tok);
        if (!*tok) continue;
        if (at == max) {
            rl_fail(err, RL_ERR_ARG, "%s: more than %d recipe overrides for one run", g->path, max);
            return -1;
        }
        fill(g, r, tok, sets[at++], RL_ABLATE_SETS);
    }
    return at;
}

int rl_ablate_run_sets(const rl_ablate_grid *g, int r, char (*sets)[RL_ABLATE_SETS], int max, rl_error *err)
{
    int m, v, e, s;
    rl_ablate_run_index(g, r, &m, &v, &e, &s);
    if (max < 2) return rl_fail(err, RL_ERR_ARG, "no room for overrides"), -1;
    snprintf(sets[0], RL_ABLATE_SETS, "epochs=%d", g->epochs[e]);
    snprintf(sets[1], RL_ABLATE_SETS, "seed=%lld", (long long)g->seeds[s]);
    int n = 2;
    if ((n = split_sets(g, r, g->sets, sets, n, max, err)) < 0) return -1;
    if ((n = split_sets(g, r, g->models[m].sets, sets, n, max, err)) < 0) return -1;
    return split_sets(g, r, g->variants[v].sets, sets, n, max, err);
}

/* ---- the table ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double rl_ablate_median(const double *v, int n)
{
    double buf[RL_ABLATE_MAX];
    int k = 0;
    for (int i = 0; i < n && k < RL_ABLATE_MAX; i++)
        if (isfinite(v[i])) buf[k++] = v[i];
    if (!k) return NAN;
    qsort(buf, (size_t)k, sizeof *buf, cmp_double);
    return k % 2 ? buf[k / 2] : 0.5 * (buf[k / 2 - 1] + buf[k / 2]);
}

const char *rl_ablate_second_metric(const rl_ablate_grid *g)
{
    if (g->real[0]) return "ReaL";
    if (g->alt_labels[0]) return g->alt_metric;
    return NULL;
}

static double cell(const rl_ablate_grid *g, const double *acc, int m, int v, int e, int *nfinished)
{
    int base = ((m * g->nvariants + v) * g->nepochs + e) * g->nseeds, k = 0;
    for (int s = 0; s < g->nseeds; s++) k += isfinite(acc[base + s]) != 0;
    if (nfinished) *nfinished = k;
    return rl_ablate_median(acc + base, g->nseeds);
}

/* "76.6 (+0.6)" with the delta rounded from the unrounded medians. */
static void format_cell(const rl_ablate_grid *g, const double *acc, int m, int v, int e, char *out, size_t n)
{
    double x = cell(g, acc, m, v, e, NULL);
    if (!isfinite(x)) {
        snprintf(out, n, "-");
        return;
    }
    double b = cell(g, acc, m, g->baseline, e, NULL);
    if (v == g->baseline || !isfinite(b))
        snprintf(out, n, "%.1f", 100 * x);
    else {
        double d = 100 * (x - b);
        if (fabs(d) < 0.05) d = 0; /* no "-0.0" */
        snprintf(out, n, "%.1f (%+.1f)", 100 * x, d);
    }
}

void rl_ablate_table_md(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second)
{
    const char *name2 = second ? rl_ablate_second_metric(g) : NULL;
    fprintf(f, "| model | variant |");
    for (int e = 0; e < g->nepochs; e++) fprintf(f, " %s %d ep |", g->metric, g->epochs[e]);
    if (name2)
        for (int e = 0; e < g->nepochs; e++) fprintf(f, " %s %d ep |", name2, g->epochs[e]);
    fprintf(f, "\n|---|---|");
    for (int e = 0; e < g->nepochs * (name2 ? 2 : 1); e++) fprintf(f, "---|");
    fprintf(f, "\n");
    for (int m = 0; m < g->nmodels; m++)
        for (int v = 0; v < g->nvariants; v++) {
            fprintf(f, "| %s | %s |", g->models[m].label, g->variants[v].label);
            char c[64];
            for (int e = 0; e < g->nepochs; e++) {
                format_cell(g, primary, m, v, e, c, sizeof c);
                fprintf(f, " %s |", c);
            }
            if (name2)
                for (int e = 0; e < g->nepochs; e++) {
                    format_cell(g, second, m, v, e, c, sizeof c);
                    fprintf(f, " %s |", c);
                }
            fprintf(f, "\n");
        }
    fprintf(f, "\n%s top-1 in %%, median of %d seed%s; (+x) = difference to %s of the same model and schedule.\n",
            g->metric, g->nseeds, g->nseeds > 1 ? "s" : "", g->variants[g->baseline].label);
}

static void csv_metric(FILE *f, const rl_ablate_grid *g, const double *acc, const char *name)
{
    for (int m = 0; m < g->nmodels; m++)
        for (int v = 0; v < g->nvariants; v++)
            for (int e = 0; e < g->nepochs; e++) {
                int k;
                double x = cell(g, acc, m, v, e, &k), b = cell(g, acc, m, g->baseline, e, NULL);
                fprintf(f, "%s,%s,%s,%d,", g->models[m].label, g->variants[v].label, name, g->epochs[e]);
                if (isfinite(x)) fprintf(f, "%.4f", 100 * x);
                fprintf(f, ",");
                if (isfinite(x) && isfinite(b)) fprintf(f, "%.4f", 100 * (x - b));
                fprintf(f, ",%d,", k);
                int base = ((m * g->nvariants + v) * g->nepochs + e) * g->nseeds;
                for (int s = 0; s < g->nseeds; s++) {
                    if (s) fprintf(f, ";");
                    if (isfinite(acc[base + s])) fprintf(f, "%.4f", 100 * acc[base + s]);
                }
                fprintf(f, "\n");
            }
}

void rl_ablate_table_csv(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second)
{
    fprintf(f, "model,variant,metric,epochs,median,delta,seeds_done,values\n");
    csv_metric(f, g, primary, g->metric);
    if (second && rl_ablate_second_metric(g)) csv_metric(f, g, second, rl_ablate_second_metric(g));
}

/* ---- metrics.csv ---- */

rl_status rl_ablate_curve_read(const char *path, rl_ablate_curve *c, rl_error *err)
{
    c->n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return rl_fail(err, RL_ERR_IO, "%s: cannot open (run not started?)", path);
    char line[4096];
    int col_epoch = -1, col_val = -1, col_train = -1, lineno = 0;
    rl_status st = RL_OK;
    while (!st && fgets(line, sizeof line, f)) {
        lineno++;
        char *save = NULL;
        int col = 0;
        if (lineno == 1) {
            for (char *tok = strtok_r(line, ",\r\n", &save); tok; tok = strtok_r(NULL, ",\r\n", &save), col++) {
                if (!strcmp(tok, "epoch")) col_epoch = col;
                else if (!strcmp(tok, "val_top1")) col_val = col;
                else if (!strcmp(tok, "train_top1")) col_train = col;
            }
            if (col_epoch < 0 || col_val < 0)
                st = rl_fail(err, RL_ERR_FORMAT, "%s:1: header lacks 'epoch' or 'val_top1'; hint: a relab metrics.csv",
                             path);
            continue;
        }
        if (c->n == (int)(sizeof c->epoch / sizeof c->epoch[0])) break;
        double ep = NAN, val = NAN, tr = NAN;
        /* strtok_r would merge empty fields; walk the commas by hand. */
        char *p = line;
        for (col = 0; p; col++) {
            char *comma = strchr(p, ',');
            if (comma) *comma = '\0';
            char *end;
            double x = strtod(p, &end);
            int ok = end != p;
            if (col == col_epoch) ep = ok ? x : NAN;
            if (col == col_val) val = ok ? x : NAN;
            if (col == col_train) tr = ok ? x : NAN;
            p = comma ? comma + 1 : NULL;
        }
        if (!(ep >= 0)) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%d: no epoch number", path, lineno);
            break;
        }
        c->epoch[c->n] = (int)ep;
        c->val_top1[c->n] = val;
        c->train_top1[c->n] = tr;
        c->n++;
    }
    fclose(f);
    return st;
}
