/* sgd.c: momentum SGD over the flat parameter arena (see sgd.h). */
#include "train/sgd.h"

#include "util/mem.h"

rl_status rl_sgd_init(rl_sgd *s, const rl_sgd_config *cfg, const rl_param_table *t, rl_error *err)
{
    s->cfg = *cfg;
    s->n = t->n_weights;
    s->velocity = rl_alloc_checked(sizeof(float) * (s->n + 1), "momentum buffers", err);
    return s->velocity ? RL_OK : RL_ERR_NOMEM;
}

void rl_sgd_free(rl_sgd *s)
{
    rl_free(s->velocity);
    s->velocity = NULL;
}

float *rl_sgd_velocity(rl_sgd *s, const rl_param_table *t, const rl_param *e)
{
    return s->velocity + (e->data - t->weights);
}

void rl_sgd_step(rl_sgd *s, rl_param_table *t, float lr)
{
    const float m = s->cfg.momentum;
    for (int i = 0; i < t->count; i++) {
        rl_param *e = &t->entries[i];
        if (e->kind != RL_PARAM_WEIGHT) continue;
        int decays = e->decay == RL_DECAY_WEIGHT || (e->decay == RL_DECAY_BN && s->cfg.wd_on_bn) ||
                     (e->decay == RL_DECAY_BIAS && s->cfg.wd_on_bias);
        const float wd = decays ? s->cfg.weight_decay : 0.0f;
        float *w = e->data, *g = e->grad, *v = rl_sgd_velocity(s, t, e);
        const size_t n = e->count;
        const int nesterov = s->cfg.nesterov;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t k = 0; k < n; k++) {
            float gk = g[k] + wd * w[k];
            float vk = m * v[k] + gk;
            v[k] = vk;
            w[k] -= lr * (nesterov ? gk + m * vk : vk);
        }
    }
}
