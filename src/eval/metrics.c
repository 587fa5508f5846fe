/* metrics.c: accuracies, ReaL, multi-label accuracy, Clopper-Pearson intervals
 * and McNemar's test (definitions in metrics.h).
 *
 * The incomplete beta function uses its continued fraction
 *   I_x(a,b) = x^a (1-x)^b / (a B(a,b)) * 1/(1+ d1/(1+ d2/(1+ ...)))
 *   d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)),  d_{2m} = m(b-m) x / ((a+2m-1)(a+2m))
 * evaluated with the modified Lentz method; it converges fast for
 * x < (a+1)/(a+b+2), and the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) covers the
 * rest. */
#include "eval/metrics.h"

#include "data/list.h"
#include "eval/idmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-16;
    double f = tiny, c = tiny, d = 0.0;
    for (int j = 1; j < 200000; j++) {
        double num;
        if (j == 1) {
            num = 1.0;
        } else {
            int i = j - 1; /* d_i */
            int m = i / 2;
            if (i % 2)
                num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
            else
                num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        }
        d = 1.0 + num * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + num / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double delta = c * d;
        f *= delta;
        if (fabs(delta - 1.0) < eps) break;
    }
    return f;
}

double rl_beta_inc(double a, double b, double x)
{
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    double lfront = a * log(x) + b * log1p(-x) - (lgamma(a) + lgamma(b) - lgamma(a + b));
    if (x < (a + 1.0) / (a + b + 2.0)) return exp(lfront) * beta_cf(a, b, x) / a;
    return 1.0 - exp(lfront) * beta_cf(b, a, 1.0 - x) / b;
}

double rl_beta_inc_inv(double a, double b, double p)
{
    if (p <= 0.0) return 0.0;
    if (p >= 1.0) return 1.0;
    double lo = 0.0, hi = 1.0;
    /* I_x is increasing in x; 1100 halvings reach the smallest subnormal, but
     * we stop as soon as the midpoint no longer moves. */
    for (int it = 0; it < 1100; it++) {
        double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi) break;
        if (rl_beta_inc(a, b, mid) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

void rl_clopper_pearson(int64_t k, int64_t n, double conf, double *lo, double *hi)
{
    RL_CHECK(n > 0 && k >= 0 && k <= n);
    double alpha = 1.0 - conf;
    *lo = k == 0 ? 0.0 : rl_beta_inc_inv((double)k, (double)(n - k + 1), alpha / 2);
    *hi = k == n ? 1.0 : rl_beta_inc_inv((double)(k + 1), (double)(n - k), 1.0 - alpha / 2);
}

rl_acc rl_acc_make(int64_t correct, int64_t total)
{
    rl_acc a = {correct, total, NAN, NAN, NAN};
    if (total > 0) {
        a.acc = (double)correct / (double)total;
        rl_clopper_pearson(correct, total, 0.95, &a.lo, &a.hi);
    }
    return a;
}

rl_mcnemar rl_mcnemar_test(int64_t both, int64_t a_only, int64_t b_only, int64_t neither)
{
    rl_mcnemar r = {both + a_only + b_only + neither, both, a_only, b_only, neither, 1.0, 0.0, 1.0};
    int64_t m = a_only + b_only;
    if (m == 0) return r;
    int64_t lo = a_only < b_only ? a_only : b_only;
    /* P(X <= lo) summed in log space: the terms underflow for large m. */
    double lm = lgamma((double)m + 1) - (double)m * log(2.0), sum = 0.0;
    for (int64_t i = 0; i <= lo; i++)
        sum += exp(lm - lgamma((double)i + 1) - lgamma((double)(m - i) + 1));
    r.p_exact = fmin(1.0, 2.0 * sum);
    double diff = fabs((double)(a_only - b_only)) - 1.0;
    if (diff < 0) diff = 0;
    r.chi2 = diff * diff / (double)m;
    r.p_chi2 = erfc(sqrt(r.chi2 / 2.0));
    return r;
}

void rl_wilson(int64_t k, int64_t n, double conf, double *lo, double *hi)
{
    RL_CHECK(n > 0 && k >= 0 && k <= n);
    /* z = Phi^-1(1 - (1-conf)/2) by bisection on erfc (0.95 -> 1.959963984540054) */
    double a = 0, b = 10, target = 1.0 - conf;
    for (int it = 0; it < 200; it++) {
        double m = 0.5 * (a + b);
        if (erfc(m / sqrt(2.0)) > target)
            a = m;
        else
            b = m;
    }
    double z = 0.5 * (a + b), p = (double)k / (double)n, z2 = z * z, nn = (double)n;
    double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
    double half = z / (1 + z2 / nn) * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    *lo = fmax(0.0, centre - half);
    *hi = fmin(1.0, centre + half);
}

rl_acc_diff rl_acc_difference(const rl_acc *a, const rl_acc *b)
{
    rl_acc_diff d = {NAN, NAN, NAN};
    if (a->total <= 0 || b->total <= 0) return d;
    double l1, u1, l2, u2;
    rl_wilson(a->correct, a->total, 0.95, &l1, &u1);
    rl_wilson(b->correct, b->total, 0.95, &l2, &u2);
    d.diff = a->acc - b->acc;
    d.lo = d.diff - sqrt((a->acc - l1) * (a->acc - l1) + (u2 - b->acc) * (u2 - b->acc));
    d.hi = d.diff + sqrt((u1 - a->acc) * (u1 - a->acc) + (b->acc - l2) * (b->acc - l2));
    return d;
}

rl_status rl_eval_ref_index(const rl_preds *p, int64_t *ref, const char *path, rl_error *err)
{
    int64_t named = 0, maxv = -1;
    for (int64_t i = 0; i < p->n; i++) {
        ref[i] = rl_imagenet_val_index(p->ids[i]);
        const char *base = strrchr(p->ids[i], '/');
        if (ref[i] < 0 && !strncmp(base ? base + 1 : p->ids[i], "ILSVRC2012_val_", 15))
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s: dataset 'ids' row %lld ('%.60s') looks like an ImageNet validation id but is not "
                           "ILSVRC2012_val_00000001.JPEG .. ILSVRC2012_val_00050000.JPEG",
                           path, (long long)i, p->ids[i]);
        if (ref[i] >= 0) named++;
        if (ref[i] > maxv) maxv = ref[i];
    }
    if (named == 0) {
        for (int64_t i = 0; i < p->n; i++)
            ref[i] = i;
        return RL_OK;
    }
    if (named != p->n) {
        for (int64_t i = 0; i < p->n; i++)
            if (ref[i] < 0)
                return rl_fail(
                    err, RL_ERR_FORMAT,
                    "%s: dataset 'ids' row %lld ('%.60s') is not ILSVRC2012_val_XXXXXXXX.JPEG while others are; "
                    "use one id scheme per file",
                    path, (long long)i, p->ids[i]);
    }
    int64_t *seen = malloc((size_t)(maxv + 1) * sizeof *seen);
    if (!seen) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    for (int64_t v = 0; v <= maxv; v++)
        seen[v] = -1;
    rl_status st = RL_OK;
    for (int64_t i = 0; i < p->n && !st; i++) {
        if (seen[ref[i]] >= 0)
            st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'ids' has '%s' twice (rows %lld and %lld)", path, p->ids[i],
                         (long long)seen[ref[i]], (long long)i);
        seen[ref[i]] = i;
    }
    free(seen);
    return st;
}

void rl_rows_label(const rl_preds *p, const int32_t *labels, int k, uint8_t *ok, uint8_t *valid)
{
    if (k > p->k) k = p->k;
    for (int64_t i = 0; i < p->n; i++) {
        valid[i] = labels[i] >= 0;
        ok[i] = 0;
        for (int j = 0; j < k && valid[i]; j++)
            if (p->topk_classes[i * p->k + j] == labels[i]) ok[i] = 1;
    }
}

static int in_set(const rl_sets *s, int64_t r, int32_t c)
{
    for (int64_t q = s->offsets[r]; q < s->offsets[r + 1]; q++)
        if (s->classes[q] == c) return 1;
    return 0;
}

void rl_rows_sets(const rl_preds *p, const int64_t *ref, const rl_sets *sets, int k, uint8_t *ok, uint8_t *valid)
{
    if (k > p->k) k = p->k;
    for (int64_t i = 0; i < p->n; i++) {
        int64_t r = ref[i];
        valid[i] = r >= 0 && r < sets->n && sets->offsets[r + 1] > sets->offsets[r];
        ok[i] = 0;
        for (int j = 0; j < k && valid[i] && !ok[i]; j++)
            ok[i] = (uint8_t)in_set(sets, r, p->topk_classes[i * p->k + j]);
    }
}

static void count(const uint8_t *ok, const uint8_t *valid, int64_t n, int64_t *c, int64_t *t)
{
    *c = *t = 0;
    for (int64_t i = 0; i < n; i++) {
        *t += valid[i];
        *c += valid[i] & ok[i];
    }
}

/* Accuracy over the rows whose class (labels[i] >= 0) is in group g and that
 * count (valid NULL: every labelled row): micro, and in *macro the mean of
 * the per-class accuracies of the group's classes with rows (cc, ct: [C]
 * scratch counters). */
static rl_acc group_acc(const int32_t *labels, const uint8_t *ok, const uint8_t *valid, int64_t n,
                        const rl_groups *groups, int g, int C, int64_t *cc, int64_t *ct, double *macro)
{
    memset(cc, 0, (size_t)C * sizeof *cc);
    memset(ct, 0, (size_t)C * sizeof *ct);
    int64_t c = 0, t = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t y = labels[i];
        if (y < 0 || !(groups->member[y] >> g & 1u) || (valid && !valid[i])) continue;
        t++;
        c += ok[i];
        ct[y]++;
        cc[y] += ok[i];
    }
    double sum = 0;
    int classes = 0;
    for (int k = 0; k < C; k++)
        if (ct[k]) {
            sum += (double)cc[k] / (double)ct[k];
            classes++;
        }
    *macro = classes ? sum / classes : NAN;
    return rl_acc_make(c, t);
}

/* Per-row outcomes rl_eval_run computes once and the group breakdown reuses:
 * ok/valid pairs for top-1, top-5, ReaL top-1 and the multi-label accuracy,
 * and two [C] per-class counters. */
typedef struct {
    uint8_t *ok1, *v1, *ok5, *v5, *rok, *rv, *mok, *mv;
    int64_t *cls_c, *cls_t;
} eval_rows;

static void eval_rows_free(eval_rows *r)
{
    uint8_t *bytes[] = {r->ok1, r->v1, r->ok5, r->v5, r->rok, r->rv, r->mok, r->mv};
    for (size_t i = 0; i < sizeof bytes / sizeof *bytes; i++)
        free(bytes[i]);
    free(r->cls_c);
    free(r->cls_t);
}

/* ReaL top-1 and top-5 (rok, rv keep the top-1 rows for the groups). */
static void eval_real(const rl_preds *p, const int64_t *ref, const rl_sets *real, eval_rows *r, rl_eval_result *out)
{
    int64_t c, t, n = p->n;
    out->has_real = 1;
    rl_rows_sets(p, ref, real, 5, r->ok5, r->v5);
    count(r->ok5, r->v5, n, &c, &t);
    out->real5 = rl_acc_make(c, t);
    rl_rows_sets(p, ref, real, 1, r->rok, r->rv);
    count(r->rok, r->rv, n, &c, &t);
    out->real1 = rl_acc_make(c, t);
    for (int64_t i = 0; i < n; i++) {
        if (ref[i] < 0 || ref[i] >= real->n)
            out->real_missing++;
        else if (!r->rv[i])
            out->real_empty++;
    }
}

/* Multi-label accuracy of the top-1 prediction over the annotated,
 * unproblematic images: micro, and macro over their original classes. */
static rl_status eval_multilabel(const rl_preds *p, const int64_t *ref, const rl_multilabel *ml, eval_rows *rows,
                                 rl_eval_result *out, rl_error *err)
{
    const int C = p->num_classes;
    out->has_ml = 1;
    out->ml_rule = ml->rule;
    int64_t mc = 0, mt = 0;
    for (int64_t i = 0; i < p->n; i++) {
        int64_t r = ref[i];
        if (r < 0 || r >= ml->n || ml->state[r] == RL_ML_ABSENT) {
            out->ml_absent++;
            continue;
        }
        if (ml->state[r] == RL_ML_PROBLEMATIC) {
            out->ml_problematic++;
            continue;
        }
        int32_t o = ml->original[r];
        if (o >= C)
            return rl_fail(err, RL_ERR_ARG, "eval: multi-label original class %d outside the predictions' %d classes",
                           o, C);
        int hit = rl_multilabel_hit(ml, r, p->topk_classes[i * p->k]);
        rows->mv[i] = 1;
        rows->mok[i] = (uint8_t)hit;
        rows->cls_c[o] += hit;
        rows->cls_t[o]++;
        mc += hit;
        mt++;
    }
    out->ml_micro = rl_acc_make(mc, mt);
    double sum = 0.0;
    for (int k = 0; k < C; k++)
        if (rows->cls_t[k]) {
            sum += (double)rows->cls_c[k] / (double)rows->cls_t[k];
            out->ml_classes++;
        }
    out->ml_macro = out->ml_classes ? sum / out->ml_classes : NAN;
    return RL_OK;
}

/* Top-1, ReaL top-1 and multi-label accuracy per class group. */
static rl_status eval_groups(const rl_preds *p, const int32_t *labels, const int64_t *ref, const rl_sets *real,
                             const rl_multilabel *ml, const rl_groups *groups, eval_rows *r, rl_eval_result *out,
                             rl_error *err)
{
    const int64_t n = p->n;
    const int C = p->num_classes;
    if (groups->num_classes != C)
        return rl_fail(err, RL_ERR_ARG, "eval: groups cover %d classes, predictions have %d", groups->num_classes, C);
    /* Multi-label images are grouped by their original label, as its accuracy is. */
    int32_t *ml_label = ml ? malloc((size_t)n * sizeof *ml_label) : NULL;
    if (ml && !ml_label) return rl_fail(err, RL_ERR_NOMEM, "eval: out of memory");
    for (int64_t i = 0; ml && i < n; i++)
        ml_label[i] = r->mv[i] ? ml->original[ref[i]] : -1;
    out->ngroups = groups->ngroups;
    for (int g = 0; g < groups->ngroups; g++) {
        memcpy(out->group_names[g], groups->names[g], sizeof out->group_names[g]);
        for (int k = 0; k < C; k++)
            out->group_classes[g] += groups->member[k] >> g & 1u;
        out->group_top1[g] =
            group_acc(labels, r->ok1, NULL, n, groups, g, C, r->cls_c, r->cls_t, &out->group_top1_macro[g]);
        out->group_real1[g] = rl_acc_make(0, 0);
        out->group_real1_macro[g] = out->group_ml_macro[g] = NAN;
        out->group_ml[g] = rl_acc_make(0, 0);
        if (real) /* rows with a non-empty ReaL set */
            out->group_real1[g] =
                group_acc(labels, r->rok, r->rv, n, groups, g, C, r->cls_c, r->cls_t, &out->group_real1_macro[g]);
        if (ml)
            out->group_ml[g] =
                group_acc(ml_label, r->mok, NULL, n, groups, g, C, r->cls_c, r->cls_t, &out->group_ml_macro[g]);
    }
    free(ml_label);
    return RL_OK;
}

rl_status rl_eval_run(const rl_preds *p, const int32_t *labels, const int64_t *ref, const rl_sets *real,
                      const rl_multilabel *ml, const rl_groups *groups, rl_eval_result *out, rl_error *err)
{
    RL_CHECK(ref || (!real && !ml));
    memset(out, 0, sizeof *out);
    const int64_t n = p->n;
    const int C = p->num_classes;
    eval_rows r = {malloc((size_t)n),
                   malloc((size_t)n),
                   malloc((size_t)n),
                   malloc((size_t)n),
                   malloc((size_t)n),
                   malloc((size_t)n),
                   calloc((size_t)n, 1),
                   calloc((size_t)n, 1),
                   calloc((size_t)C, sizeof(int64_t)),
                   calloc((size_t)C, sizeof(int64_t))};
    rl_status st = RL_OK;
    if (!r.ok1 || !r.v1 || !r.ok5 || !r.v5 || !r.rok || !r.rv || !r.mok || !r.mv || !r.cls_c || !r.cls_t) {
        st = rl_fail(err, RL_ERR_NOMEM, "eval: out of memory for %lld rows", (long long)n);
        goto done;
    }
    int64_t c, t;
    out->n = n;
    rl_rows_label(p, labels, 1, r.ok1, r.v1);
    count(r.ok1, r.v1, n, &c, &t);
    out->top1 = rl_acc_make(c, t);
    out->unlabeled = n - t;
    out->top5_k = p->k < 5 ? p->k : 5;
    rl_rows_label(p, labels, 5, r.ok5, r.v5);
    count(r.ok5, r.v5, n, &c, &t);
    out->top5 = rl_acc_make(c, t);
    if (real) eval_real(p, ref, real, &r, out);
    if (ml && (st = eval_multilabel(p, ref, ml, &r, out, err))) goto done;
    if (groups) st = eval_groups(p, labels, ref, real, ml, groups, &r, out, err);
done:
    eval_rows_free(&r);
    return st;
}

rl_status rl_eval_labels(const rl_preds *p, const int64_t *ref, const char *labels_path, const char *classes_path,
                         int32_t *labels, rl_error *err)
{
    if (!labels_path) {
        memcpy(labels, p->labels, (size_t)p->n * sizeof *labels);
        return RL_OK;
    }
    if (classes_path) {
        int32_t *v = NULL;
        int64_t nv = 0;
        rl_status st = rl_wnid_labels_read(labels_path, classes_path, &v, &nv, err);
        if (st) return st;
        for (int64_t i = 0; i < p->n && !st; i++) {
            if (ref[i] < 0 || ref[i] >= nv)
                st = rl_fail(err, RL_ERR_FORMAT, "%s: has %lld labels, none for prediction '%s'", labels_path,
                             (long long)nv, p->ids[i]);
            else if (v[ref[i]] >= p->num_classes)
                st = rl_fail(err, RL_ERR_FORMAT, "%s: label %d of '%s' is outside the predictions' %d classes",
                             labels_path, v[ref[i]], p->ids[i], p->num_classes);
            else
                labels[i] = v[ref[i]];
        }
        free(v);
        return st;
    }
    rl_list list;
    rl_status st = rl_list_read(labels_path, &list, err);
    if (st) return st;
    rl_idmap map;
    if ((st = rl_idmap_init(&map, list.count, err))) {
        rl_list_free(&list);
        return st;
    }
    for (int64_t j = 0; j < list.count && !st; j++)
        if (rl_idmap_put(&map, list.paths[j], j) >= 0)
            st = rl_fail(err, RL_ERR_FORMAT, "%s: sample '%s' listed twice", labels_path, list.paths[j]);
    for (int64_t i = 0; i < p->n && !st; i++) {
        int64_t j = rl_idmap_get(&map, p->ids[i]);
        if (j < 0)
            st = rl_fail(err, RL_ERR_FORMAT, "%s: no sample '%s' (prediction ids must equal the list's paths)",
                         labels_path, p->ids[i]);
        else if (list.labels[j] >= p->num_classes)
            st = rl_fail(err, RL_ERR_FORMAT, "%s: label %d of '%s' is outside the predictions' %d classes", labels_path,
                         list.labels[j], p->ids[i], p->num_classes);
        else
            labels[i] = list.labels[j];
    }
    rl_idmap_free(&map);
    rl_list_free(&list);
    return st;
}
