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

/* ---- SVG ---- */

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char *const dashes[] = {"", "6,3", "2,2", "8,3,2,3"};

static void svg_text(FILE *f, double x, double y, const char *anchor, int size, const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" font-family=\"sans-serif\">", x, y,
            anchor, size);
    for (const char *s = text; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '>') fputs("&gt;", f);
        else fputc(*s, f);
    }
    fputs("</text>\n", f);
}

typedef struct {
    double x0, y0, w, h;        /* panel box in pixels */
    double xmin, xmax, ymin, ymax;
} panel;

static double px(const panel *p, double x) { return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double py(const panel *p, double y) { return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h; }

/* A "nice" tick step of about n ticks across span. */
static double tick_step(double span, int n)
{
    double raw = span / n, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static void svg_axes(FILE *f, const panel *p, const char *xlabel, const char *ylabel, const char *title)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#000\"/>\n", p->x0,
            p->y0, p->w, p->h);
    char buf[64];
    double sx = tick_step(p->xmax - p->xmin, 6), sy = tick_step(p->ymax - p->ymin, 6);
    for (double x = ceil(p->xmin / sx) * sx; x <= p->xmax + 1e-9; x += sx) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", px(p, x), p->y0, px(p, x),
                p->y0 + p->h);
        snprintf(buf, sizeof buf, "%g", x);
        svg_text(f, px(p, x), p->y0 + p->h + 14, "middle", 11, buf);
    }
    for (double y = ceil(p->ymin / sy) * sy; y <= p->ymax + 1e-9; y += sy) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", p->x0, py(p, y),
                p->x0 + p->w, py(p, y));
        snprintf(buf, sizeof buf, "%g", y);
        svg_text(f, p->x0 - 4, py(p, y) + 4, "end", 11, buf);
    }
    svg_text(f, p->x0 + p->w / 2, p->y0 + p->h + 32, "middle", 12, xlabel);
    fprintf(f, "<g transform=\"translate(%.1f,%.1f) rotate(-90)\">", p->x0 - 40, p->y0 + p->h / 2);
    svg_text(f, 0, 0, "middle", 12, ylabel);
    fputs("</g>\n", f);
    svg_text(f, p->x0 + p->w / 2, p->y0 - 8, "middle", 13, title);
}

static void legend(FILE *f, const rl_ablate_grid *g, double x, double y)
{
    for (int v = 0; v < g->nvariants; v++) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", x,
                y + 16 * v, x + 20, y + 16 * v, colours[v % 10]);
        svg_text(f, x + 26, y + 16 * v + 4, "start", 11, g->variants[v].label);
    }
    for (int m = 0; g->nmodels > 1 && m < g->nmodels; m++) {
        double yy = y + 16 * (g->nvariants + m);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" stroke-dasharray=\"%s\"/>\n", x,
                yy, x + 20, yy, dashes[m % 4]);
        svg_text(f, x + 26, yy + 4, "start", 11, g->models[m].label);
    }
}

static void range_pad(double *lo, double *hi)
{
    if (!(*lo <= *hi)) *lo = 0, *hi = 100;
    double pad = (*hi - *lo) * 0.05 + 0.5;
    *lo = floor(*lo - pad);
    *hi = ceil(*hi + pad);
    if (*lo < 0) *lo = 0;
    if (*hi > 100) *hi = 100;
    if (*hi <= *lo) *hi = *lo + 1;
}

void rl_ablate_svg_curves(FILE *f, const rl_ablate_grid *g, const rl_ablate_curve *curves, const int *have)
{
    const int W = 980, H = 420;
    int maxep = 1;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    const int n = rl_ablate_num_runs(g);
    for (int r = 0; r < n; r++) {
        if (!have[r]) continue;
        for (int i = 0; i < curves[r].n; i++) {
            maxep = curves[r].epoch[i] > maxep ? curves[r].epoch[i] : maxep;
            const double y[2] = {100 * curves[r].val_top1[i], 100 * curves[r].train_top1[i]};
            for (int k = 0; k < 2; k++)
                if (isfinite(y[k])) lo[k] = fmin(lo[k], y[k]), hi[k] = fmax(hi[k], y[k]);
        }
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    const char *titles[2] = {"validation top-1 (recipe's val set)", "top-1 on the training labels (as trained)"};
    for (int k = 0; k < 2; k++) {
        range_pad(&lo[k], &hi[k]);
        panel p = {70 + k * 400, 40, 330, 320, 0, maxep, lo[k], hi[k]};
        svg_axes(f, &p, "epoch", "top-1 (%)", titles[k]);
        for (int r = 0; r < n; r++) {
            if (!have[r]) continue;
            int m, v;
            rl_ablate_run_index(g, r, &m, &v, NULL, NULL);
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"%s\" points=\"",
                    colours[v % 10], dashes[m % 4]);
            for (int i = 0; i < curves[r].n; i++) {
                double y = 100 * (k ? curves[r].train_top1[i] : curves[r].val_top1[i]);
                if (isfinite(y)) fprintf(f, "%.1f,%.1f ", px(&p, curves[r].epoch[i]), py(&p, y));
            }
            fprintf(f, "\"/>\n");
            for (int i = 0; i < curves[r].n; i++) {
                double y = 100 * (k ? curves[r].train_top1[i] : curves[r].val_top1[i]);
                if (isfinite(y))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>\n", px(&p, curves[r].epoch[i]),
                            py(&p, y), colours[v % 10]);
            }
        }
    }
    legend(f, g, 880, 60);
    fprintf(f, "</svg>\n");
}

void rl_ablate_svg_scatter(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second)
{
    const int W = 620, H = 480, n = rl_ablate_num_runs(g);
    double lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < n; r++)
        if (isfinite(primary[r]) && isfinite(second[r]))
            lo = fmin(lo, 100 * fmin(primary[r], second[r])), hi = fmax(hi, 100 * fmax(primary[r], second[r]));
    range_pad(&lo, &hi);
    panel p = {70, 40, 400, 380, lo, hi, lo, hi};
    char xl[96], yl[96];
    snprintf(xl, sizeof xl, "%s (%%)", g->metric);
    snprintf(yl, sizeof yl, "%s (%%)", rl_ablate_second_metric(g) ? rl_ablate_second_metric(g) : "second metric");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    svg_axes(f, &p, xl, yl, "one point per run; the diagonal is y = x");
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"4,3\"/>\n",
            px(&p, lo), py(&p, lo), px(&p, hi), py(&p, hi));
    for (int r = 0; r < n; r++) {
        if (!(isfinite(primary[r]) && isfinite(second[r]))) continue;
        int m, v, e;
        rl_ablate_run_index(g, r, &m, &v, &e, NULL);
        double x = px(&p, 100 * primary[r]), y = py(&p, 100 * second[r]);
        /* models by marker: circle, square, triangle, ...; the schedule's index as size */
        double rad = 3 + 1.5 * e;
        if (m % 3 == 0)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" fill-opacity=\"0.8\"/>\n", x, y, rad,
                    colours[v % 10]);
        else if (m % 3 == 1)
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.8\"/>\n",
                    x - rad, y - rad, 2 * rad, 2 * rad, colours[v % 10]);
        else
            fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\" fill-opacity=\"0.8\"/>\n", x,
                    y - rad, x - rad, y + rad, x + rad, y + rad, colours[v % 10]);
    }
    legend(f, g, 490, 60);
    fprintf(f, "</svg>\n");
}
