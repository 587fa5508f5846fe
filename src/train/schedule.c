/* schedule.c: linear-scaled learning rate with linear warm-up, then step decay
 * or cosine.  Formulas: see schedule.h. */
#include "train/schedule.h"

#include <math.h>

/* The default decay boundaries as fractions of the run: 30/60/80 of 90 epochs
 * in the tensorflow/tpu Keras ResNet-50 and Goyal et al. recipes. */
static const int default_num[] = {1, 2, 8}, default_den[] = {3, 3, 9};
#define NUM_DEFAULT_DECAYS 3

void rl_schedule_defaults(rl_schedule *s)
{
    *s = (rl_schedule){0};
    s->kind = RL_SCHEDULE_STEP;
    s->base_lr = 0.1;
    s->batch_size = 256;
    s->reference_batch = 256;
    s->warmup_epochs = 5;
    s->warmup_start = 0;
    s->epochs = 90;
    s->steps_per_epoch = 1;
    s->num_decays = 0;
    s->decay_factor = 0.1;
}

double rl_schedule_peak_lr(const rl_schedule *s)
{
    return s->base_lr * s->batch_size / s->reference_batch;
}

int64_t rl_schedule_total_steps(const rl_schedule *s)
{
    return (int64_t)s->epochs * s->steps_per_epoch;
}

int rl_schedule_num_decays(const rl_schedule *s)
{
    return s->num_decays > 0 ? s->num_decays : NUM_DEFAULT_DECAYS;
}

/* Boundary i in epochs (for messages and checks). */
static double decay_epoch(const rl_schedule *s, int i)
{
    if (s->num_decays > 0) return s->decay_epochs[i];
    return (double)s->epochs * default_num[i] / default_den[i];
}

int64_t rl_schedule_decay_step(const rl_schedule *s, int i)
{
    RL_CHECK(i >= 0 && i < rl_schedule_num_decays(s));
    if (s->num_decays == 0) {
        /* ceil(T * num / den) in integers: exact for every epoch count. */
        int64_t t = rl_schedule_total_steps(s) * default_num[i];
        return (t + default_den[i] - 1) / default_den[i];
    }
    /* The small slack keeps 30.0 * spe from rounding up past an integer step. */
    return (int64_t)ceil(s->decay_epochs[i] * (double)s->steps_per_epoch - 1e-9);
}

rl_status rl_schedule_check(const rl_schedule *s, rl_error *err)
{
    if (s->kind != RL_SCHEDULE_STEP && s->kind != RL_SCHEDULE_COSINE)
        return rl_fail(err, RL_ERR_ARG, "schedule: unknown kind %d; hint: step or cosine", (int)s->kind);
    if (!(s->base_lr > 0 && isfinite(s->base_lr)))
        return rl_fail(err, RL_ERR_ARG, "schedule: base_lr must be > 0, got %g", s->base_lr);
    if (s->batch_size < 1 || s->reference_batch < 1)
        return rl_fail(err, RL_ERR_ARG, "schedule: batch_size (%d) and reference batch (%d) must be >= 1",
                       s->batch_size, s->reference_batch);
    if (s->epochs < 1 || s->steps_per_epoch < 1)
        return rl_fail(err, RL_ERR_ARG, "schedule: epochs (%d) and steps per epoch (%lld) must be >= 1", s->epochs,
                       (long long)s->steps_per_epoch);
    if (!(s->warmup_epochs >= 0 && s->warmup_epochs < s->epochs))
        return rl_fail(err, RL_ERR_ARG, "schedule: warmup_epochs %g must be in [0, epochs = %d)", s->warmup_epochs,
                       s->epochs);
    if (!(s->warmup_start >= 0 && s->warmup_start <= 1))
        return rl_fail(err, RL_ERR_ARG, "schedule: warmup_start %g must be in [0, 1]", s->warmup_start);
    if (!(s->decay_factor > 0 && s->decay_factor <= 1))
        return rl_fail(err, RL_ERR_ARG, "schedule: decay_factor %g must be in (0, 1]", s->decay_factor);
    if (s->num_decays < 0 || s->num_decays > RL_SCHEDULE_MAX_DECAYS)
        return rl_fail(err, RL_ERR_ARG, "schedule: %d decay epochs given, at most %d allowed", s->num_decays,
                       RL_SCHEDULE_MAX_DECAYS);
    if (s->kind == RL_SCHEDULE_STEP) {
        for (int i = 0; i < rl_schedule_num_decays(s); i++) {
            double e = decay_epoch(s, i);
            if (!(e >= s->warmup_epochs && e < s->epochs)) {
                if (s->num_decays == 0)
                    return rl_fail(err, RL_ERR_ARG,
                                   "schedule: the default decay at %d/%d of %d epochs (epoch %g) falls inside the "
                                   "%g-epoch warm-up; hint: lower warmup_epochs, list decay_epochs, or use the "
                                   "cosine schedule",
                                   default_num[i], default_den[i], s->epochs, e, s->warmup_epochs);
                return rl_fail(err, RL_ERR_ARG,
                               "schedule: decay epoch %g must lie in [warmup_epochs = %g, epochs = %d); hint: "
                               "decay_epochs counts epochs from the start of training",
                               e, s->warmup_epochs, s->epochs);
            }
            if (i > 0 && !(e > decay_epoch(s, i - 1)))
                return rl_fail(err, RL_ERR_ARG, "schedule: decay epochs must increase (%g after %g)", e,
                               decay_epoch(s, i - 1));
        }
    }
    return RL_OK;
}

double rl_schedule_lr(const rl_schedule *s, int64_t step)
{
    RL_CHECK(step >= 0);
    RL_CHECK(rl_schedule_check(s, NULL) == RL_OK);
    double peak = rl_schedule_peak_lr(s);
    double warm = s->warmup_epochs * (double)s->steps_per_epoch;
    if ((double)step < warm) return peak * (s->warmup_start + (1 - s->warmup_start) * (double)step / warm);
    if (s->kind == RL_SCHEDULE_COSINE) {
        double total = (double)rl_schedule_total_steps(s);
        if ((double)step >= total) return 0;
        return peak * 0.5 * (1 + cos(M_PI * ((double)step - warm) / (total - warm)));
    }
    double lr = peak;
    for (int i = 0; i < rl_schedule_num_decays(s); i++)
        if (step >= rl_schedule_decay_step(s, i)) lr *= s->decay_factor;
    return lr;
}
