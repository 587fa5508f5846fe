/* schedule.h: the learning rate at a global step.
 *
 *   peak = base_lr * batch_size / reference_batch         (linear scaling,
 *          Goyal et al. 2017; tensorflow/tpu resnet: 0.1 * 1024/256 = 0.4)
 *   W    = warmup_epochs * steps_per_epoch                (a real number of steps)
 *   step t < W:   lr = peak * (warmup_start + (1 - warmup_start) * t / W)
 *                 linear per step, as the tensorflow/tpu Keras ResNet-50
 *                 (warmup_start = 0) and Goyal et al. (warmup_start = 256/B)
 *   then either
 *   step:    lr = peak * decay_factor^k, k = number of decay boundaries <= t;
 *            boundary b (in epochs) is at step ceil(b * steps_per_epoch);
 *            the default boundaries are 1/3, 2/3 and 8/9 of the epochs
 *            (30/60/80 of 90, 90/180/240 of 270, 300/600/800 of 900),
 *            computed in integers so 90 epochs gives exactly 30/60/80.
 *   cosine:  lr = peak * (1 + cos(pi * (t - W) / (T - W))) / 2,
 *            T = epochs * steps_per_epoch; reaches 0 at t = T.
 * Steps past T keep the last value (step) or 0 (cosine).
 *
 * The schedule is defined by epochs and steps_per_epoch only, so 90, 270 and
 * 900 epochs are the same recipe with one number changed.
 *
 * The struct is plain data; functions are pure and thread-safe.
 */
#ifndef RL_SCHEDULE_H
#define RL_SCHEDULE_H

#include <stdint.h>
#include "util/status.h"

#define RL_SCHEDULE_MAX_DECAYS 16

typedef enum {
    RL_SCHEDULE_STEP = 0,  /* piecewise constant, x decay_factor at each boundary */
    RL_SCHEDULE_COSINE = 1 /* half cosine from peak to 0 after the warm-up */
} rl_schedule_kind;

typedef struct {
    rl_schedule_kind kind;
    double base_lr;          /* > 0 */
    int batch_size;          /* global batch, >= 1 */
    int reference_batch;     /* >= 1; 256 in the Goyal / TPU recipes */
    double warmup_epochs;    /* >= 0, < epochs; 0 = no warm-up */
    double warmup_start;     /* in [0, 1]: lr at step 0 as a fraction of peak */
    int epochs;              /* >= 1 */
    int64_t steps_per_epoch; /* >= 1 */
    /* Step decay boundaries in epochs, strictly increasing, each in
     * [warmup_epochs, epochs).  num_decays = 0 means the default fractions
     * 1/3, 2/3, 8/9 of epochs.  Unused for cosine. */
    int num_decays;
    double decay_epochs[RL_SCHEDULE_MAX_DECAYS];
    double decay_factor; /* in (0, 1] */
} rl_schedule;

/* Fills the defaults of the Google/Goyal ImageNet recipe: step, base_lr 0.1,
 * batch 256, reference 256, 5 warm-up epochs from 0, default boundaries,
 * factor 0.1.  epochs and steps_per_epoch are set to 90 and 1 (set them). */
void rl_schedule_defaults(rl_schedule *s);

/* Checks every field; RL_ERR_ARG with what is wrong and a hint. */
rl_status rl_schedule_check(const rl_schedule *s, rl_error *err);

/* base_lr * batch_size / reference_batch. */
double rl_schedule_peak_lr(const rl_schedule *s);

/* epochs * steps_per_epoch. */
int64_t rl_schedule_total_steps(const rl_schedule *s);

/* The step at which decay boundary i (0 <= i < rl_schedule_num_decays) starts. */
int rl_schedule_num_decays(const rl_schedule *s);
int64_t rl_schedule_decay_step(const rl_schedule *s, int i);

/* The learning rate for global step t >= 0 (0-based: the first update is t = 0).
 * s must pass rl_schedule_check (RL_CHECK otherwise). */
double rl_schedule_lr(const rl_schedule *s, int64_t step);

#endif
