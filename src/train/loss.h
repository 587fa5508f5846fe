/* loss.h: classification losses on a batch of logits, value and gradient in
 * one pass, plus top-1 / top-k counting.
 *
 * Logits are row-major float32 [N, C] (sample n's scores at logits[n*C ..]).
 * Two losses, both averaged over the batch (divided by N):
 *
 *   softmax:  loss_n = -sum_c t_nc log softmax(z_n)_c, with
 *             t = (1 - eps) * p + eps / C        (PyTorch's label_smoothing),
 *             p = one-hot of the label, or the dense target row normalised to
 *             sum 1 (a multi-hot row {a, b} becomes 1/2, 1/2).
 *             dz_nc = (softmax(z_n)_c - t_nc) / N.
 *
 *   sigmoid:  loss_n = -sum_c [ y_nc log s(z_nc) + (1 - y_nc) log s(-z_nc) ]
 *             SUMMED over classes (big_vision utils.sigmoid_xent, as used by
 *             Beyer et al. 2020), y = one-hot of the label or the dense
 *             multi-hot row.  Computed as softplus(z) - y z, which stays finite
 *             for any finite z.  dz_nc = (s(z_nc) - y_nc) / N.
 *             Note: timm / PyTorch reduction='mean' divide by N*C instead;
 *             this is C times larger, on purpose (docs/method.md, "The sigmoid loss").
 *
 * Sums run in double.  Rows are processed in parallel (OpenMP) when N*C is
 * large; the batch loss is summed over fixed row chunks in a fixed order, so
 * the result is bitwise identical for any thread count.
 *
 * Thread safety: the functions are re-entrant (no global state); they open
 * their own OpenMP region, so do not call them from inside one.
 */
#ifndef RL_LOSS_H
#define RL_LOSS_H

#include <stdint.h>
#include "util/status.h"

typedef enum {
    RL_LOSS_SOFTMAX = 0, /* softmax cross-entropy, optional label smoothing */
    RL_LOSS_SIGMOID = 1  /* per-class binary cross-entropy, summed over classes */
} rl_loss_kind;

typedef struct {
    rl_loss_kind kind;
    double label_smoothing; /* eps in [0, 1); softmax only (must be 0 for sigmoid) */
} rl_loss_config;

/* Computes the batch loss into *loss and, if dlogits is not NULL, its gradient
 * with respect to the logits (OVERWRITES dlogits [N, C]; the loss is already
 * divided by N, so dlogits is the gradient of the mean).
 *
 * Targets: labels [N] (int32 in [0, C)) and/or targets [N, C] (float in
 * [0, 1]); either may be NULL but not both; when both are given the dense
 * targets are used.  For softmax every dense row must have a positive sum.
 *
 * Returns RL_ERR_ARG for bad arguments (label out of range, bad target value,
 * bad config), RL_ERR_NUMERIC when the loss is NaN or Inf (the message names
 * the first row with a non-finite logit, if any); *loss is then still set
 * (NaN/Inf) and dlogits is unspecified. */
rl_status rl_loss_forward_backward(const rl_loss_config *cfg, const float *logits, int n, int c, const int32_t *labels,
                                   const float *targets, float *dlogits, double *loss, rl_error *err);

/* Index of the largest logit in one row of c values; ties go to the lowest
 * index, NaNs never win (a row of only NaNs gives 0). */
int rl_loss_argmax(const float *row, int c);

/* Number of rows whose argmax (ties -> lowest index) equals the label. */
int rl_loss_correct_top1(const float *logits, int n, int c, const int32_t *labels);

/* Number of rows whose label is among the k best classes, ranking by logit
 * and breaking ties by lower index (so k = 1 agrees with correct_top1).
 * k >= c counts every row with a valid label. */
int rl_loss_correct_topk(const float *logits, int n, int c, const int32_t *labels, int k);

/* The classifier bias a head should start from: -ln(C) for sigmoid (so the
 * initial loss is about ln C, like softmax, instead of C ln 2; big_vision
 * init_head_bias = -6.9 for 1000 classes), 0 for softmax. */
float rl_loss_default_head_bias(rl_loss_kind kind, int num_classes);

/* The model's probabilities for one row of c logits, computed in double:
 * softmax p_j = exp(z_j - max z) / sum_i exp(z_i - max z), or per-class
 * sigmoid p_j = 1 / (1 + exp(-z_j)). */
void rl_loss_probabilities(rl_loss_kind kind, const float *z, int c, float *p);

/* The loss kinds' names, indexed by rl_loss_kind and NULL-terminated: the
 * words recipes use ("softmax", "sigmoid"). */
extern const char *const rl_loss_kind_names[];

/* rl_loss_kind_names[kind], or "unknown". */
const char *rl_loss_kind_name(rl_loss_kind kind);

#endif
