/* loss.c: softmax and sigmoid cross-entropy with their logit gradients, and
 * top-k counting.  Equations and layout: see loss.h.
 *
 * Numerics: softmax subtracts the row maximum before exp and accumulates the
 * partition sum in double; sigmoid uses
 *     y softplus(-z) + (1 - y) softplus(z),  softplus(x) = max(x, 0) + log1p(exp(-|x|)),
 * which equals -[y log s(z) + (1-y) log s(-z)] without ever forming log(0).
 */
#include "train/loss.h"

#include <math.h>
#include <stddef.h>

/* The batch is cut into at most this many chunks of consecutive rows; chunk
 * sums are added in chunk order, so the loss does not depend on threads. */
#define LOSS_CHUNKS 64
/* Below this many logits a parallel region costs more than it saves. */
#define LOSS_PARALLEL_MIN (1 << 15)

static double softplus(double x)
{
    return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}

static double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* The row maximum *max and sum_j exp(z_j - max), in double: the softmax
 * partition function without overflow. */
static double exp_sum(const float *z, int c, float *max)
{
    float m = z[0];
    for (int j = 1; j < c; j++)
        if (z[j] > m) m = z[j];
    double s = 0;
    for (int j = 0; j < c; j++)
        s += exp((double)z[j] - m);
    *max = m;
    return s;
}

/* One softmax row: returns the row loss, writes the row gradient (scaled by
 * inv_n) when drow is not NULL. */
static double softmax_row(const float *z, int c, int label, const float *trow, double eps, double inv_n, float *drow)
{
    float m;
    double s = exp_sum(z, c, &m);
    double lse = m + log(s);
    double tsum = 1;
    if (trow) {
        tsum = 0;
        for (int j = 0; j < c; j++)
            tsum += trow[j];
    }
    double loss = 0, uniform = eps / c;
    for (int j = 0; j < c; j++) {
        double p = trow ? trow[j] / tsum : (j == label ? 1.0 : 0.0);
        double t = (1 - eps) * p + uniform;
        loss += t * (lse - z[j]);
        if (drow) drow[j] = (float)((exp((double)z[j] - lse) - t) * inv_n);
    }
    return loss;
}

static double sigmoid_row(const float *z, int c, int label, const float *trow, double inv_n, float *drow)
{
    double loss = 0;
    for (int j = 0; j < c; j++) {
        double y = trow ? trow[j] : (j == label ? 1.0 : 0.0);
        double x = z[j];
        loss += y * softplus(-x) + (1 - y) * softplus(x);
        if (drow) drow[j] = (float)((sigmoid(x) - y) * inv_n);
    }
    return loss;
}

static rl_status check_inputs(const rl_loss_config *cfg, const float *logits, int n, int c, const int32_t *labels,
                              const float *targets, rl_error *err)
{
    if (!cfg || !logits || n < 1 || c < 1)
        return rl_fail(err, RL_ERR_ARG, "loss: need a config, logits and n, c >= 1 (got n=%d, c=%d)", n, c);
    if (cfg->kind != RL_LOSS_SOFTMAX && cfg->kind != RL_LOSS_SIGMOID)
        return rl_fail(err, RL_ERR_ARG, "loss: unknown loss kind %d", (int)cfg->kind);
    if (!(cfg->label_smoothing >= 0 && cfg->label_smoothing < 1))
        return rl_fail(err, RL_ERR_ARG, "loss: label_smoothing must be in [0, 1), got %g", cfg->label_smoothing);
    if (cfg->kind == RL_LOSS_SIGMOID && cfg->label_smoothing != 0)
        return rl_fail(err, RL_ERR_ARG,
                       "loss: label_smoothing %g given with the sigmoid loss; hint: smoothing is defined for "
                       "loss = softmax only (big_vision's sigmoid_xent has none)",
                       cfg->label_smoothing);
    if (!labels && !targets) return rl_fail(err, RL_ERR_ARG, "loss: neither labels nor dense targets given");
    if (targets) {
        for (int i = 0; i < n; i++) {
            const float *t = targets + (size_t)i * c;
            double sum = 0;
            for (int j = 0; j < c; j++) {
                if (!(t[j] >= 0 && t[j] <= 1))
                    return rl_fail(err, RL_ERR_ARG,
                                   "loss: target[%d][%d] = %g is outside [0, 1]; hint: targets are "
                                   "(multi-)hot label weights",
                                   i, j, (double)t[j]);
                sum += t[j];
            }
            if (cfg->kind == RL_LOSS_SOFTMAX && !(sum > 0))
                return rl_fail(err, RL_ERR_ARG,
                               "loss: target row %d is all zero; hint: the softmax loss needs at least one "
                               "positive class per sample",
                               i);
        }
    } else {
        for (int i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] >= c)
                return rl_fail(err, RL_ERR_ARG, "loss: label[%d] = %d is outside [0, %d)", i, (int)labels[i], c);
    }
    return RL_OK;
}

rl_status rl_loss_forward_backward(const rl_loss_config *cfg, const float *logits, int n, int c, const int32_t *labels,
                                   const float *targets, float *dlogits, double *loss, rl_error *err)
{
    RL_CHECK(loss != NULL);
    *loss = NAN;
    rl_status st = check_inputs(cfg, logits, n, c, labels, targets, err);
    if (st != RL_OK) return st;

    int chunks = n < LOSS_CHUNKS ? n : LOSS_CHUNKS;
    double part[LOSS_CHUNKS];
    double inv_n = 1.0 / n, eps = cfg->label_smoothing;
    int parallel = (long long)n * c >= LOSS_PARALLEL_MIN;
    rl_loss_kind kind = cfg->kind;

#pragma omp parallel for schedule(static) if (parallel)
    for (int k = 0; k < chunks; k++) {
        int lo = (int)((long long)n * k / chunks), hi = (int)((long long)n * (k + 1) / chunks);
        double acc = 0;
        for (int i = lo; i < hi; i++) {
            const float *z = logits + (size_t)i * c;
            const float *trow = targets ? targets + (size_t)i * c : NULL;
            float *drow = dlogits ? dlogits + (size_t)i * c : NULL;
            int label = trow ? -1 : labels[i];
            acc += kind == RL_LOSS_SOFTMAX ? softmax_row(z, c, label, trow, eps, inv_n, drow)
                                           : sigmoid_row(z, c, label, trow, inv_n, drow);
        }
        part[k] = acc;
    }
    double total = 0;
    for (int k = 0; k < chunks; k++)
        total += part[k];
    *loss = total * inv_n;

    if (!isfinite(*loss)) {
        for (size_t i = 0; i < (size_t)n * c; i++)
            if (!isfinite(logits[i]))
                return rl_fail(err, RL_ERR_NUMERIC,
                               "%s loss is %g: logit[%zu][%zu] = %g; hint: the model diverged, lower base_lr "
                               "or check the input data",
                               rl_loss_kind_name(kind), *loss, i / c, i % c, (double)logits[i]);
        return rl_fail(err, RL_ERR_NUMERIC, "%s loss is %g although every logit is finite (this is a bug)",
                       rl_loss_kind_name(kind), *loss);
    }
    return RL_OK;
}

int rl_loss_argmax(const float *row, int c)
{
    int best = 0;
    for (int j = 1; j < c; j++)
        if (row[j] > row[best] || (isnan(row[best]) && !isnan(row[j]))) best = j;
    return best;
}

int rl_loss_correct_top1(const float *logits, int n, int c, const int32_t *labels)
{
    int correct = 0;
    for (int i = 0; i < n; i++)
        correct += rl_loss_argmax(logits + (size_t)i * c, c) == labels[i];
    return correct;
}

int rl_loss_correct_topk(const float *logits, int n, int c, const int32_t *labels, int k)
{
    int correct = 0;
    for (int i = 0; i < n; i++) {
        int y = labels[i];
        if (y < 0 || y >= c) continue;
        const float *z = logits + (size_t)i * c;
        if (isnan(z[y])) continue;
        /* The label's rank: classes ahead of it in the (logit desc, index asc) order. */
        int ahead = 0;
        for (int j = 0; j < c && ahead < k; j++)
            if (z[j] > z[y] || (z[j] == z[y] && j < y)) ahead++;
        correct += ahead < k;
    }
    return correct;
}

float rl_loss_default_head_bias(rl_loss_kind kind, int num_classes)
{
    if (kind == RL_LOSS_SIGMOID && num_classes > 0) return (float)-log((double)num_classes);
    return 0.0f;
}

void rl_loss_probabilities(rl_loss_kind kind, const float *z, int c, float *p)
{
    if (kind == RL_LOSS_SIGMOID) {
        for (int j = 0; j < c; j++)
            p[j] = (float)sigmoid(z[j]);
        return;
    }
    float m;
    double s = exp_sum(z, c, &m);
    for (int j = 0; j < c; j++)
        p[j] = (float)(exp((double)z[j] - m) / s);
}

const char *const rl_loss_kind_names[] = {"softmax", "sigmoid", NULL};

const char *rl_loss_kind_name(rl_loss_kind kind)
{
    return kind == RL_LOSS_SOFTMAX || kind == RL_LOSS_SIGMOID ? rl_loss_kind_names[kind] : "unknown";
}
