/* scores.c: DIR/results.json of `relab ablate` (layout in ablate/scores.h),
 * written and read with Jansson. */
#include "ablate/scores.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ablate/runs.h"
#include "ablate/table.h"
#include "eval/report.h"
#include "util/kv.h"

#define RESULTS_FORMAT "relab-ablate-results 1"
#define RESULTS_MAX_TOTAL ((json_int_t)1 << 40) /* images scored: far above any test set */
#define RESULTS_MAX_BYTES ((size_t)64 << 20)    /* 16^4 runs of a few hundred bytes each fit */

void rl_ablate_score_acc(const rl_ablate_grid *g, const rl_ablate_run_score *s, int k, double *out)
{
    for (int r = 0; r < rl_ablate_num_runs(g); r++)
        out[r] = s[r].acc[k].total > 0 ? s[r].acc[k].acc : NAN;
}

rl_ablate_cell rl_ablate_cell_of(const rl_ablate_grid *g, const rl_ablate_run_score *s, int k, int m, int v, int e)
{
    rl_ablate_cell c = {NAN, NAN, NAN, NAN, NAN, 0, 0};
    double acc[RL_ABLATE_MAX];
    const int base = ((m * g->nvariants + v) * g->nepochs + e) * g->nseeds;
    for (int q = 0; q < g->nseeds; q++) {
        const rl_acc *a = &s[base + q].acc[k];
        acc[q] = a->total > 0 ? a->acc : NAN;
        if (a->total <= 0) continue;
        c.min = c.finished ? fmin(c.min, a->acc) : a->acc;
        c.max = c.finished ? fmax(c.max, a->acc) : a->acc;
        c.n = c.finished && c.n < a->total ? c.n : a->total;
        c.finished++;
    }
    c.median = rl_ablate_median(acc, g->nseeds);
    if (c.finished) rl_clopper_pearson(llround(c.median * (double)c.n), c.n, 0.95, &c.lo, &c.hi);
    return c;
}

static json_t *acc_json(const rl_acc *a)
{
    if (a->total <= 0) return json_null();
    return json_pack("{sI sI so s[oo]}", "correct", (json_int_t)a->correct, "total", (json_int_t)a->total, "acc",
                     rl_json_num(a->acc), "ci95", rl_json_num(a->lo), rl_json_num(a->hi));
}

static json_t *labels_json(const rl_ablate_value *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i].label));
    return a;
}

void rl_ablate_scores_json(FILE *f, const rl_ablate_grid *g, const rl_ablate_run_score *s, const int64_t *steps)
{
    json_t *epochs = json_array(), *seeds = json_array(), *runs = json_array();
    for (int e = 0; e < g->nepochs; e++)
        json_array_append_new(epochs, json_integer(g->epochs[e]));
    for (int q = 0; q < g->nseeds; q++)
        json_array_append_new(seeds, json_integer((json_int_t)g->seeds[q]));
    const char *second = rl_ablate_second_metric(g);
    for (int r = 0; r < rl_ablate_num_runs(g); r++) {
        int m, v, e, q;
        char name[3 * RL_ABLATE_LABEL + 64];
        rl_ablate_run_index(g, r, &m, &v, &e, &q);
        rl_ablate_run_name(g, r, name, sizeof name);
        json_array_append_new(
            runs, json_pack("{ss ss ss si sI so s[oo]}", "name", name, "model", g->models[m].label, "variant",
                            g->variants[v].label, "epochs", g->epochs[e], "seed", (json_int_t)g->seeds[q], "steps",
                            steps && steps[r] >= 0 ? json_integer((json_int_t)steps[r]) : json_null(), "scores",
                            acc_json(&s[r].acc[0]), second ? acc_json(&s[r].acc[1]) : json_null()));
    }
    /* Optional strings go in as objects: this Jansson (2.14) crashes on "s?" with NULL. */
    rl_json_write(f,
                  json_pack("{ss ss so so ss so so ss so so so}", "format", RESULTS_FORMAT, "grid", g->path, "models",
                            labels_json(g->models, g->nmodels), "variants", labels_json(g->variants, g->nvariants),
                            "baseline", g->variants[g->baseline].label, "epochs", epochs, "seeds", seeds, "metric",
                            g->metric, "second_metric", second ? json_string(second) : json_null(), "second_kind",
                            !second ? json_null() : json_string(g->real[0] ? "real" : "labels"), "runs", runs));
}

/* ---- reading ---- */

static int label_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < RL_ABLATE_LABEL &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+") == n;
}

/* top[key] when it is a list of 1 to RL_ABLATE_MAX entries, else NULL with err set. */
static json_t *axis(const char *path, json_t *top, const char *key, const char *what, rl_error *err)
{
    json_t *a = json_object_get(top, key);
    if (json_is_array(a) && json_array_size(a) >= 1 && json_array_size(a) <= RL_ABLATE_MAX) return a;
    rl_fail(err, RL_ERR_FORMAT, "%s: \"%s\" must be a list of 1 to %d %s", path, key, RL_ABLATE_MAX, what);
    return NULL;
}

static rl_status read_labels(const char *path, json_t *top, const char *key, rl_ablate_value *out, int *n,
                             rl_error *err)
{
    json_t *a = axis(path, top, key, "labels", err), *x;
    size_t i;
    if (!a) return RL_ERR_FORMAT;
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x) || !label_ok(json_string_value(x)))
            return rl_fail(err, RL_ERR_FORMAT, "%s: \"%s\"[%zu] is not a label (letters, digits, -_.+)", path, key, i);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(out[j].label, json_string_value(x)))
                return rl_fail(err, RL_ERR_FORMAT, "%s: \"%s\" holds '%s' twice", path, key, out[j].label);
        snprintf(out[i].label, sizeof out[i].label, "%s", json_string_value(x));
    }
    *n = (int)json_array_size(a);
    return RL_OK;
}

static rl_status read_ints(const char *path, json_t *top, const char *key, int64_t lo, int64_t hi, int64_t *out, int *n,
                           rl_error *err)
{
    json_t *a = axis(path, top, key, "integers", err), *x;
    size_t i;
    if (!a) return RL_ERR_FORMAT;
    json_array_foreach(a, i, x)
    {
        if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi)
            return rl_fail(err, RL_ERR_FORMAT, "%s: \"%s\"[%zu] is not an integer in %lld..%lld", path, key, i,
                           (long long)lo, (long long)hi);
        out[i] = json_integer_value(x);
    }
    *n = (int)json_array_size(a);
    return RL_OK;
}

static rl_status read_name(const char *path, json_t *top, const char *key, int required, char *out, size_t n,
                           rl_error *err)
{
    json_t *x = json_object_get(top, key);
    if (!required && json_is_null(x)) return RL_OK;
    if (!json_is_string(x) || !json_string_length(x) || json_string_length(x) >= n ||
        strchr(json_string_value(x), '\n'))
        return rl_fail(err, RL_ERR_FORMAT, "%s: \"%s\" must be a one-line name of 1 to %zu bytes", path, key, n - 1);
    snprintf(out, n, "%s", json_string_value(x));
    return RL_OK;
}

static rl_status read_acc(const char *path, int r, const char *what, json_t *x, rl_acc *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    out->acc = out->lo = out->hi = NAN;
    if (json_is_null(x)) return RL_OK;
    json_t *k = json_object_get(x, "correct"), *n = json_object_get(x, "total");
    if (!json_is_integer(k) || !json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(k) < 0 ||
        json_integer_value(k) > json_integer_value(n) || json_integer_value(n) > RESULTS_MAX_TOTAL)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: runs[%d] %s: needs integers 0 <= \"correct\" <= \"total\", 1 <= total <= 2^40", path, r,
                       what);
    /* acc and ci95 are derived: recomputed rather than trusted. */
    *out = rl_acc_make(json_integer_value(k), json_integer_value(n));
    return RL_OK;
}

static rl_status read_runs(const char *path, json_t *top, const rl_ablate_grid *g, rl_ablate_run_score *s,
                           rl_error *err)
{
    json_t *runs = json_object_get(top, "runs"), *x;
    const int n = rl_ablate_num_runs(g);
    if (!json_is_array(runs) || json_array_size(runs) != (size_t)n)
        return rl_fail(err, RL_ERR_FORMAT, "%s: \"runs\" must list the %d runs of the grid", path, n);
    size_t r;
    json_array_foreach(runs, r, x)
    {
        char name[256];
        rl_ablate_run_name(g, (int)r, name, sizeof name);
        json_t *nm = json_object_get(x, "name"), *sc = json_object_get(x, "scores");
        if (!json_is_string(nm) || strcmp(json_string_value(nm), name))
            return rl_fail(err, RL_ERR_FORMAT, "%s: runs[%zu] must be named '%s' (runs in the grid's order)", path, r,
                           name);
        if (!json_is_array(sc) || json_array_size(sc) != 2)
            return rl_fail(err, RL_ERR_FORMAT, "%s: runs[%zu] (%s): \"scores\" must be a list of 2", path, r, name);
        rl_status st = read_acc(path, (int)r, g->metric, json_array_get(sc, 0), &s[r].acc[0], err);
        if (!st) st = read_acc(path, (int)r, "the second metric", json_array_get(sc, 1), &s[r].acc[1], err);
        if (st) return st;
        if (!rl_ablate_second_metric(g) && s[r].acc[1].total)
            return rl_fail(err, RL_ERR_FORMAT, "%s: runs[%zu] has a second score but there is no \"second_metric\"",
                           path, r);
    }
    return RL_OK;
}

static rl_status results_from_json(const char *path, json_t *top, rl_ablate_grid *g, rl_ablate_run_score **out,
                                   rl_error *err)
{
    json_t *fmt = json_object_get(top, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), RESULTS_FORMAT))
        return rl_fail(err, RL_ERR_FORMAT, "%s: \"format\" is not \"%s\"; hint: results.json of relab ablate", path,
                       RESULTS_FORMAT);
    int64_t ep[RL_ABLATE_MAX];
    char base[RL_ABLATE_LABEL], kind[16] = "";
    rl_status st = read_labels(path, top, "models", g->models, &g->nmodels, err);
    if (!st) st = read_labels(path, top, "variants", g->variants, &g->nvariants, err);
    if (!st) st = read_ints(path, top, "epochs", 1, 100000, ep, &g->nepochs, err);
    if (!st) st = read_ints(path, top, "seeds", 0, INT64_MAX, g->seeds, &g->nseeds, err);
    if (!st) st = read_name(path, top, "baseline", 1, base, sizeof base, err);
    if (!st) st = read_name(path, top, "metric", 1, g->metric, sizeof g->metric, err);
    if (!st) st = read_name(path, top, "second_metric", 0, g->alt_metric, sizeof g->alt_metric, err);
    if (!st) st = read_name(path, top, "second_kind", 0, kind, sizeof kind, err);
    if (st) return st;
    for (int e = 0; e < g->nepochs; e++)
        g->epochs[e] = (int)ep[e];
    g->baseline = -1;
    for (int v = 0; v < g->nvariants; v++)
        if (!strcmp(g->variants[v].label, base)) g->baseline = v;
    if (g->baseline < 0)
        return rl_fail(err, RL_ERR_FORMAT, "%s: \"baseline\" '%s' is not one of the variants", path, base);
    if (!!g->alt_metric[0] != !!kind[0] || (kind[0] && strcmp(kind, "real") && strcmp(kind, "labels")))
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: \"second_kind\" must be \"real\" or \"labels\" with a second metric, "
                       "null without",
                       path);
    /* The second metric is known by its kind: rl_ablate_second_metric looks at these paths. */
    if (!strcmp(kind, "real")) snprintf(g->real, sizeof g->real, "%s", path);
    if (!strcmp(kind, "labels")) snprintf(g->alt_labels, sizeof g->alt_labels, "%s", path);
    rl_ablate_run_score *s = calloc((size_t)rl_ablate_num_runs(g), sizeof *s);
    if (!s) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    if ((st = read_runs(path, top, g, s, err))) {
        free(s);
        return st;
    }
    *out = s;
    return RL_OK;
}

rl_status rl_ablate_scores_read(const char *path, rl_ablate_grid *g, rl_ablate_run_score **s, rl_error *err)
{
    memset(g, 0, sizeof *g);
    *s = NULL;
    snprintf(g->path, sizeof g->path, "%s", path);
    char *text;
    rl_status st = rl_kv_read_file(path, "relab ablate results", RESULTS_MAX_BYTES, &text, err);
    if (st) return st;
    json_error_t je;
    json_t *top = json_loads(text, 0, &je);
    free(text);
    if (!top) return rl_fail(err, RL_ERR_FORMAT, "%s:%d:%d: not valid JSON: %s", path, je.line, je.column, je.text);
    if (!json_is_object(top))
        st = rl_fail(err, RL_ERR_FORMAT, "%s: expected a JSON object; hint: results.json of relab ablate", path);
    else
        st = results_from_json(path, top, g, s, err);
    json_decref(top);
    return st;
}
