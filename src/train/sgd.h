/* sgd.h: stochastic gradient descent with momentum, PyTorch's formulation.
 *
 *   g <- g + wd * w          (L2 weight decay, only on entries that decay)
 *   v <- momentum * v + g    (v starts at 0, so step 1 gives v = g as in torch)
 *   w <- w - lr * (nesterov ? g + momentum * v : v)
 *
 * TensorFlow's momentum optimizer scales v by lr inside instead; with a
 * constant lr the two are the same, and PyTorch's is what the parity tests and
 * Goyal et al. use.  Momentum buffers live in one arena with the weights'
 * layout, owned by rl_sgd. */
#ifndef RL_SGD_H
#define RL_SGD_H

#include "nn/params.h"
#include "util/status.h"

typedef struct {
    float momentum, weight_decay;
    int nesterov;
    int wd_on_bn, wd_on_bias;
} rl_sgd_config;

typedef struct {
    rl_sgd_config cfg;
    float *velocity; /* arena, same layout as the parameter table's weights, owned */
    size_t n;
} rl_sgd;

rl_status rl_sgd_init(rl_sgd *s, const rl_sgd_config *cfg, const rl_param_table *t, rl_error *err);
void rl_sgd_free(rl_sgd *s);
/* One update of every learnable entry of t with learning rate lr. */
void rl_sgd_step(rl_sgd *s, rl_param_table *t, float lr);
/* The velocity of entry e (same shape and layout as e->data). */
float *rl_sgd_velocity(rl_sgd *s, const rl_param_table *t, const rl_param *e);

#endif
