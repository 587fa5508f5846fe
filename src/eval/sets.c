/* sets.c: set-valued evaluation against ReaL (definitions in sets.h).
 *
 * Per row: the probabilities above the smallest threshold are gathered once
 * (from the top-k or the logits), sorted best first, and every threshold
 * then takes a prefix of them. */
#include "eval/sets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/loss.h"

rl_status rl_set_thresholds_parse(const char *text, double *t, int *n, rl_error *err)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0 && v < 1) || (*n && !(v > t[*n - 1])) || *n == RL_SET_MAX_THRESHOLDS)
            return rl_fail(err, RL_ERR_ARG,
                           "--set-thresholds '%.100s': expected up to %d increasing numbers in [0, 1), comma separated",
                           text, RL_SET_MAX_THRESHOLDS);
        t[(*n)++] = v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return rl_fail(err, RL_ERR_ARG, "--set-thresholds '%.100s': unexpected '%.20s'", text, end);
    }
    if (!*n) return rl_fail(err, RL_ERR_ARG, "--set-thresholds: no threshold given");
    return RL_OK;
}

int rl_set_thresholds_default(double *t)
{
    for (int i = 0; i < 19; i++)
        t[i] = 0.05 * (i + 1);
    return 19;
}

typedef struct {
    float p;
    int32_t c;
} scored;

static int by_prob_desc(const void *a, const void *b)
{
    float x = ((const scored *)a)->p, y = ((const scored *)b)->p;
    return (x < y) - (x > y);
}

static int in_real(const rl_sets *r, int64_t v, int32_t c)
{
    for (int64_t q = r->offsets[v]; q < r->offsets[v + 1]; q++)
        if (r->classes[q] == c) return 1;
    return 0;
}

rl_status rl_eval_sets(const rl_preds *p, const int64_t *ref, const rl_sets *real, const double *t, int nt,
                       rl_set_point *out, rl_error *err)
{
    RL_CHECK(nt >= 1);
    const int C = p->num_classes;
    const rl_loss_kind kind = strcmp(p->score_kind, "sigmoid") ? RL_LOSS_SOFTMAX : RL_LOSS_SIGMOID;
    double *inter = calloc((size_t)nt, sizeof *inter), *size = calloc((size_t)nt, sizeof *size);
    double *ex_f1 = calloc((size_t)nt, sizeof *ex_f1), *exact = calloc((size_t)nt, sizeof *exact);
    double *empty = calloc((size_t)nt, sizeof *empty);
    float *probs = p->logits ? malloc((size_t)C * sizeof *probs) : NULL;
    scored *above = malloc((size_t)C * sizeof *above);
    rl_status st = RL_OK;
    if (!inter || !size || !ex_f1 || !exact || !empty || (p->logits && !probs) || !above)
        st = rl_fail(err, RL_ERR_NOMEM, "eval: out of memory for set-valued evaluation");
    int64_t images = 0;
    double rsize = 0;
    for (int64_t i = 0; !st && i < p->n; i++) {
        int64_t v = ref[i];
        if (v < 0 || v >= real->n || real->offsets[v + 1] == real->offsets[v]) continue;
        /* the classes scoring above t[0], best first */
        int na = 0;
        const int32_t *tc = p->topk_classes + i * p->k;
        const float *ts = p->topk_scores + i * p->k;
        if (p->k == C || ts[p->k - 1] <= t[0]) {
            for (int j = 0; j < p->k && ts[j] > t[0]; j++)
                above[na++] = (scored){ts[j], tc[j]};
        } else if (probs) {
            rl_loss_probabilities(kind, p->logits + i * C, C, probs);
            for (int c = 0; c < C; c++)
                if (probs[c] > t[0]) above[na++] = (scored){probs[c], c};
            qsort(above, (size_t)na, sizeof *above, by_prob_desc);
        } else {
            st =
                rl_fail(err, RL_ERR_FORMAT,
                        "row %lld ('%.100s'): all %d stored scores are above the threshold %g and there are no logits, "
                        "so its predicted set is unknown; hint: relab predict --logits (or a larger --topk)",
                        (long long)i, p->ids[i], p->k, t[0]);
            break;
        }
        const int64_t nr = real->offsets[v + 1] - real->offsets[v];
        images++;
        rsize += (double)nr;
        int hits = 0, s = 0; /* |S ∩ R| and |S| of the prefix taken so far */
        for (int q = 0; q < nt; q++) {
            /* thresholds increase: the set at t[q] is the prefix of `above` scoring > t[q] */
            int end = q == 0 ? na : s;
            while (end > 0 && !(above[end - 1].p > t[q]))
                end--;
            if (q == 0) {
                for (int j = 0; j < end; j++)
                    hits += in_real(real, v, above[j].c);
            } else {
                for (int j = end; j < s; j++)
                    hits -= in_real(real, v, above[j].c);
            }
            s = end;
            inter[q] += hits;
            size[q] += s;
            ex_f1[q] += 2.0 * hits / (double)(s + nr);
            exact[q] += hits == s && hits == nr;
            empty[q] += s == 0;
        }
    }
    for (int q = 0; !st && q < nt; q++) {
        rl_set_point *o = &out[q];
        double n = (double)images;
        o->threshold = t[q];
        o->images = images;
        o->mean_size = images ? size[q] / n : NAN;
        o->empty = images ? empty[q] / n : NAN;
        o->precision = size[q] > 0 ? inter[q] / size[q] : NAN;
        o->recall = rsize > 0 ? inter[q] / rsize : NAN;
        o->f1 = o->precision + o->recall > 0 ? 2 * o->precision * o->recall / (o->precision + o->recall) : NAN;
        if (size[q] > 0 && inter[q] == 0) o->f1 = 0;
        o->example_f1 = images ? ex_f1[q] / n : NAN;
        o->exact = images ? exact[q] / n : NAN;
    }
    free(inter);
    free(size);
    free(ex_f1);
    free(exact);
    free(empty);
    free(probs);
    free(above);
    return st;
}
