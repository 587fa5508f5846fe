/* test_schedule.c: learning-rate schedules against hand-computed values of
 * the published recipes (tensorflow/tpu ResNet-50: batch 1024, lr 0.4, 5
 * warm-up epochs, x0.1 at 30/60/80 of 90; Goyal et al. 2017: warm-up from
 * 0.1 to 3.2 at batch 8192), the cosine closed form, and 270/900 epochs. */
#include <math.h>
#include <string.h>

#include "tap.h"
#include "train/schedule.h"

/* ImageNet-1k: 1,281,167 training images; drop the last partial batch. */
#define IMAGENET_TRAIN 1281167

static rl_schedule imagenet(int epochs, int batch)
{
    rl_schedule s;
    rl_schedule_defaults(&s);
    s.batch_size = batch;
    s.epochs = epochs;
    s.steps_per_epoch = IMAGENET_TRAIN / batch;
    return s;
}

static void tpu_recipe_90(void)
{
    rl_schedule s = imagenet(90, 1024);
    rl_error err;
    tap_ok(rl_schedule_check(&s, &err) == RL_OK, "defaults + batch 1024 + 90 epochs is valid");
    tap_ok(s.steps_per_epoch == 1251, "1,281,167 / 1024 = 1251 steps per epoch");
    tap_ok(rl_schedule_total_steps(&s) == 112590, "90 epochs = 112,590 steps (tensorflow/tpu train_steps)");
    tap_close(rl_schedule_peak_lr(&s), 0.4, 1e-15, 0, "peak lr 0.1 * 1024/256");
    /* Hand values: warm-up over 5 * 1251 = 6255 steps, then 0.4, 0.04, 0.004, 0.0004. */
    struct {
        long step;
        double lr;
        const char *what;
    } v[] = {
        {0, 0.0, "step 0 (warm-up starts at 0)"},
        {1, 0.4 / 6255, "step 1 = 0.4/6255"},
        {3000, 0.4 * 3000 / 6255, "step 3000 = 0.4*3000/6255"},
        {6254, 0.4 * 6254 / 6255, "last warm-up step"},
        {6255, 0.4, "epoch 5: warm-up done"},
        {37529, 0.4, "last step of epoch 29"},
        {37530, 0.04, "epoch 30: x0.1"},
        {75059, 0.04, "last step of epoch 59"},
        {75060, 0.004, "epoch 60: x0.01"},
        {100079, 0.004, "last step of epoch 79"},
        {100080, 0.0004, "epoch 80: x0.001"},
        {112589, 0.0004, "last step"},
        {112590, 0.0004, "past the end keeps the last value"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char what[160];
        snprintf(what, sizeof what, "90 ep step schedule, %s", v[i].what);
        tap_close(rl_schedule_lr(&s, v[i].step), v[i].lr, 1e-14, 0, what);
    }
    /* An explicit list 30, 60, 80 gives the same schedule everywhere. */
    rl_schedule e = s;
    e.num_decays = 3;
    e.decay_epochs[0] = 30, e.decay_epochs[1] = 60, e.decay_epochs[2] = 80;
    int same = 1;
    for (long t = 0; t < 112600; t++)
        same &= rl_schedule_lr(&s, t) == rl_schedule_lr(&e, t);
    tap_ok(same, "decay_epochs 30,60,80 equals the default 1/3, 2/3, 8/9 at every step");
}

static void goyal_8k(void)
{
    /* Goyal et al. 2017 section 5: k = 32 workers x 256, lr from 0.1 to 3.2 over 5 epochs. */
    rl_schedule s = imagenet(90, 8192);
    s.warmup_start = 256.0 / 8192;
    tap_ok(s.steps_per_epoch == 156, "1,281,167 / 8192 = 156 steps per epoch");
    tap_close(rl_schedule_lr(&s, 0), 0.1, 1e-14, 0, "Goyal 8k: step 0 = 0.1");
    tap_close(rl_schedule_lr(&s, 390), 0.1 + 3.1 * 390 / 780, 1e-14, 0, "Goyal 8k: halfway = 1.65");
    tap_close(rl_schedule_lr(&s, 780), 3.2, 1e-14, 0, "Goyal 8k: epoch 5 = 3.2");
    tap_close(rl_schedule_lr(&s, 30 * 156), 0.32, 1e-14, 0, "Goyal 8k: epoch 30 = 0.32");
    tap_close(rl_schedule_lr(&s, 80 * 156), 0.0032, 1e-14, 0, "Goyal 8k: epoch 80 = 0.0032");
}

static void longer_runs(void)
{
    /* 270 and 900 epochs: the same recipe, one number changed. */
    int epochs[2] = {270, 900};
    long at[2][3] = {{90, 180, 240}, {300, 600, 800}};
    for (int r = 0; r < 2; r++) {
        rl_schedule s = imagenet(epochs[r], 1024);
        int good = 1;
        for (int i = 0; i < 3; i++) {
            good &= rl_schedule_decay_step(&s, i) == at[r][i] * 1251;
            double before = rl_schedule_lr(&s, at[r][i] * 1251 - 1), after = rl_schedule_lr(&s, at[r][i] * 1251);
            good &= fabs(before - 0.4 * pow(0.1, i)) < 1e-15 && fabs(after - 0.4 * pow(0.1, i + 1)) < 1e-15;
        }
        tap_ok(good, "%d epochs decays at epochs %ld/%ld/%ld exactly", epochs[r], at[r][0], at[r][1], at[r][2]);
        tap_close(rl_schedule_lr(&s, 6255), 0.4, 1e-15, 0, "warm-up is still 5 epochs");
    }
    /* 10 epochs of 430 steps: boundaries at ceil(4300/3), ceil(8600/3), ceil(34400/9). */
    rl_schedule s;
    rl_schedule_defaults(&s);
    s.epochs = 10, s.steps_per_epoch = 430, s.warmup_epochs = 1;
    tap_ok(rl_schedule_decay_step(&s, 0) == 1434 && rl_schedule_decay_step(&s, 1) == 2867 &&
               rl_schedule_decay_step(&s, 2) == 3823,
           "10 epochs x 430 steps: decays at steps 1434, 2867, 3823");
    tap_ok(rl_schedule_lr(&s, 1433) == 0.1 && fabs(rl_schedule_lr(&s, 1434) - 0.01) < 1e-16,
           "10 epochs: decay happens exactly at step 1434");
}

static void cosine(void)
{
    rl_schedule s;
    rl_schedule_defaults(&s);
    s.kind = RL_SCHEDULE_COSINE;
    s.batch_size = 512, s.epochs = 10, s.steps_per_epoch = 100, s.warmup_epochs = 1;
    /* peak 0.2; W = 100, T = 1000: lr = 0.1 (1 + cos(pi (t - 100) / 900)). */
    int good = 1;
    double worst = 0;
    for (long t = 100; t <= 1000; t++) {
        double want = 0.1 * (1 + cos(M_PI * (t - 100) / 900.0)), got = rl_schedule_lr(&s, t);
        if (fabs(got - want) > worst) worst = fabs(got - want);
    }
    good = worst < 1e-15;
    tap_ok(good, "cosine matches 0.1 (1 + cos(pi (t-100)/900)) on every step (worst %.2g)", worst);
    tap_close(rl_schedule_lr(&s, 100), 0.2, 1e-15, 0, "cosine starts at the peak after warm-up");
    tap_close(rl_schedule_lr(&s, 550), 0.1, 1e-14, 0, "cosine halfway = peak/2");
    tap_close(rl_schedule_lr(&s, 325), 0.1 * (1 + sqrt(0.5)), 1e-14, 0, "cosine quarter = peak (1 + 1/sqrt 2)/2");
    tap_close(rl_schedule_lr(&s, 50), 0.1, 1e-15, 0, "cosine warm-up halfway = peak/2");
    tap_ok(rl_schedule_lr(&s, 1000) == 0 && rl_schedule_lr(&s, 5000) == 0, "cosine ends at 0");
    /* Fractional warm-up: 0.5 epoch of 3 steps = 1.5 steps. */
    s.warmup_epochs = 0.5, s.steps_per_epoch = 3;
    tap_close(rl_schedule_lr(&s, 1), 0.2 / 1.5, 1e-15, 0, "warm-up counts steps, not whole epochs");
}

static void errors(void)
{
    rl_schedule s;
    rl_error err;
    rl_schedule_defaults(&s);
    s.epochs = 5;
    tap_ok(rl_schedule_check(&s, &err) == RL_ERR_ARG && strstr(err.msg, "warmup_epochs"),
           "warm-up as long as the run is refused (%s)", err.msg);
    rl_schedule_defaults(&s);
    s.num_decays = 2, s.decay_epochs[0] = 60, s.decay_epochs[1] = 30;
    tap_ok(rl_schedule_check(&s, &err) == RL_ERR_ARG, "decreasing decay epochs refused (%s)", err.msg);
    s.decay_epochs[0] = 3, s.decay_epochs[1] = 30;
    tap_ok(rl_schedule_check(&s, &err) == RL_ERR_ARG, "decay inside the warm-up refused (%s)", err.msg);
    rl_schedule_defaults(&s);
    s.base_lr = 0;
    tap_ok(rl_schedule_check(&s, &err) == RL_ERR_ARG, "base_lr 0 refused");
}

int main(void)
{
    tpu_recipe_90();
    goyal_8k();
    longer_runs();
    cosine();
    errors();
    return tap_done();
}
