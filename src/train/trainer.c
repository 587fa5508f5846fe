/* trainer.c: the training object (see trainer.h).
 *
 * A step: forward on this rank's part of the global batch, the loss and its
 * gradient, backward (the gradient all-reduce overlaps it under MPI, see
 * train/dist.h), wait for the average gradient, one SGD step.  Everything
 * else is an observer's job. */
#include "train/trainer.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader.h"
#include "nn/resnet.h"
#include "train/dist.h"
#include "train/loss.h"
#include "train/sgd.h"
#include "util/mem.h"
#include "util/timer.h"

void openblas_set_num_threads(int);

#define MAX_OBSERVERS 16

struct rl_trainer {
    const rl_recipe_plan *plan;
    rl_dist *dist;
    int world, local_batch, classes;
    rl_resnet *net;
    rl_sgd sgd;
    rl_loader *loader;
    rl_schedule sched;
    float *dlogits; /* (local_batch, classes) */
    rl_train_state st;
    int64_t pass_batches; /* batches in one pass of the loader over the training samples */
    int64_t loader_pass;  /* the pass the loader is positioned in, -1 when it must be (re)started */
    int stop, synced;
    rl_train_observer obs[MAX_OBSERVERS];
    int nobs;
    char run_id[64]; /* stored in checkpoints: pruning touches only this run's */
};

rl_status rl_trainer_create(const rl_recipe_plan *plan, rl_dist *dist, rl_trainer **out, rl_error *err)
{
    *out = NULL;
    const rl_recipe *r = &plan->recipe;
    RL_CHECK(plan->train && plan->val && plan->model.num_classes > 0);
    rl_trainer *t = calloc(1, sizeof *t);
    if (!t) return rl_fail(err, RL_ERR_NOMEM, "out of memory for the trainer");
    t->plan = plan;
    t->dist = dist;
    t->world = rl_dist_world(dist);
    t->classes = plan->model.num_classes;
    if (r->threads > 0) {
        omp_set_num_threads(r->threads);
        openblas_set_num_threads(r->threads);
    }
    rl_status st = RL_OK;
    if (r->batch_size % t->world)
        st = rl_fail(err, RL_ERR_ARG, "batch_size %d is not divisible by the %d ranks; hint: --set batch_size=%d",
                     r->batch_size, t->world, (r->batch_size / t->world + 1) * t->world);
    t->local_batch = r->batch_size / t->world;
    if (!st) st = rl_resnet_create(&plan->model, &t->net, err);
    if (!st) rl_resnet_init(t->net, (uint64_t)r->seed, rl_recipe_plan_head_bias(plan));
    if (!st) st = rl_resnet_plan(t->net, t->local_batch, plan->train->height, plan->train->width, err);
    if (!st) st = rl_sgd_init(&t->sgd, &plan->sgd, rl_resnet_params(t->net), err);
    rl_loader_config lc = plan->train_loader;
    lc.shard_rank = rl_dist_rank(dist);
    lc.shard_count = t->world;
    if (!st) st = rl_loader_create(plan->train, &lc, &t->loader, err);
    /* An epoch is plan->steps_per_epoch steps: one pass of the loader, or with
     * epoch_length = full as many steps as a pass over the full data set; the
     * steps then run through consecutive passes regardless of epochs. */
    t->pass_batches = st ? 0 : rl_loader_num_batches(t->loader);
    t->loader_pass = -1;
    int64_t spe = plan->steps_per_epoch;
    if (!st && (spe < 1 || t->pass_batches < 1))
        st = rl_fail(err, RL_ERR_ARG, "training set of %lld images is smaller than one batch of %d",
                     (long long)(spe < 1 ? plan->full_count : plan->train->count), r->batch_size);
    if (!st) {
        rl_recipe_plan_schedule(plan, spe, &t->sched);
        st = rl_schedule_check(&t->sched, err);
    }
    if (!st) {
        t->dlogits = rl_alloc_checked(sizeof(float) * (size_t)t->local_batch * t->classes, "logit gradients", err);
        if (!t->dlogits) st = RL_ERR_NOMEM;
    }
    if (st) {
        rl_trainer_destroy(t);
        return st;
    }
    t->st.pos = (rl_train_position){0, 0, 0, r->seed};
    t->st.steps_per_epoch = spe;
    t->st.total_steps = spe * r->epochs;
    t->st.val_top1 = t->st.val_top5 = NAN;
    *out = t;
    return RL_OK;
}

void rl_trainer_destroy(rl_trainer *t)
{
    if (!t) return;
    rl_free(t->dlogits);
    rl_loader_destroy(t->loader);
    rl_sgd_free(&t->sgd);
    rl_resnet_destroy(t->net);
    free(t);
}

rl_status rl_trainer_observe(rl_trainer *t, const rl_train_observer *o, rl_error *err)
{
    if (t->nobs == MAX_OBSERVERS) return rl_fail(err, RL_ERR_ARG, "more than %d training observers", MAX_OBSERVERS);
    t->obs[t->nobs++] = *o;
    return RL_OK;
}

rl_status rl_trainer_load(rl_trainer *t, const char *path, rl_error *err)
{
    const rl_recipe *r = &t->plan->recipe;
    rl_checkpoint_state cs;
    rl_status st = rl_checkpoint_load(path, rl_resnet_params(t->net), &t->sgd, &cs, NULL, err);
    if (st) return st;
    const rl_train_position *p = &cs.pos;
    const int64_t spe = t->st.steps_per_epoch;
    if (p->seed != r->seed)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: written with seed %lld, the recipe has seed %lld; hint: a run keeps "
                       "its seed, start a new run for another",
                       path, (long long)p->seed, (long long)r->seed);
    if (p->epoch > r->epochs || (p->epoch == r->epochs && p->batch > 0) || p->batch >= spe ||
        p->step != p->epoch * spe + p->batch)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: position epoch %lld, batch %lld, step %lld does not fit this run (%d epochs of %lld "
                       "steps); hint: the batch size or the data changed since it was written, or the file was "
                       "altered",
                       path, (long long)p->epoch, (long long)p->batch, (long long)p->step, r->epochs, (long long)spe);
    t->st.pos = *p;
    if (cs.run_id[0]) snprintf(t->run_id, sizeof t->run_id, "%s", cs.run_id);
    /* The saved sums are global; adding them on one rank keeps the reduction right. */
    t->st.sums = rl_dist_rank(t->dist) == 0 ? cs.sums : (rl_epoch_sums){0};
    t->loader_pass = -1;
    return RL_OK;
}

rl_status rl_trainer_save(rl_trainer *t, const char *path, rl_error *err)
{
    rl_checkpoint_state cs = {.pos = t->st.pos, .sums = t->st.sums};
    double now = rl_now();
    cs.sums.seconds = now - t->st.epoch_start;
    double v[5] = {cs.sums.loss_sum, cs.sums.correct, cs.sums.seen, cs.sums.images, 0};
    rl_status st = rl_dist_sum(t->dist, v, 4, err);
    if (st || rl_dist_rank(t->dist) != 0) return st;
    cs.sums = (rl_epoch_sums){v[0], v[1], v[2], v[3], cs.sums.seconds};
    if (t->st.pos.batch == 0) cs.sums = (rl_epoch_sums){0}; /* at an epoch boundary nothing is running */
    snprintf(cs.run_id, sizeof cs.run_id, "%s", rl_trainer_run_id(t));
    char *recipe = rl_recipe_to_text(&t->plan->recipe);
    if (!recipe) return rl_fail(err, RL_ERR_NOMEM, "out of memory for the recipe text");
    st = rl_checkpoint_save(path, rl_resnet_params(t->net), &t->sgd, &cs, recipe, err);
    free(recipe);
    return st;
}

void rl_trainer_set_run_id(rl_trainer *t, const char *id)
{
    snprintf(t->run_id, sizeof t->run_id, "%s", id);
}
const char *rl_trainer_run_id(const rl_trainer *t)
{
    return t->run_id;
}

rl_status rl_trainer_step(rl_trainer *t, rl_error *err)
{
    rl_train_state *s = &t->st;
    rl_status st;
    /* step s is batch s mod B of the loader's pass s / B (B batches per pass;
     * with epoch_length = pass a pass is an epoch) */
    const int64_t pass = s->pos.step / t->pass_batches;
    if (t->loader_pass != pass) {
        if ((st = rl_loader_start_epoch(t->loader, (int)pass, s->pos.step % t->pass_batches, err))) return st;
        t->loader_pass = pass;
    }
    const rl_batch *b;
    if ((st = rl_loader_next(t->loader, &b, err))) return st;
    RL_CHECK(b != NULL);
    s->lr = rl_schedule_lr(&t->sched, s->pos.step);
    rl_resnet_zero_grad(t->net);
    const float *logits = rl_resnet_forward(t->net, b->x, b->n, 1);
    st = rl_loss_forward_backward(&t->plan->loss, logits, b->n, t->classes, b->labels, b->targets, t->dlogits, &s->loss,
                                  err);
    if (st) return st;
    rl_resnet_backward(t->net, t->dlogits);
    if ((st = rl_dist_grads_wait(t->dist, err))) return st;
    rl_sgd_step(&t->sgd, rl_resnet_params(t->net), (float)s->lr);
    s->pos.step++;
    s->pos.batch++;
    s->sums.loss_sum += s->loss * b->n;
    s->sums.correct += rl_loss_correct_top1(logits, b->n, t->classes, b->labels);
    s->sums.seen += b->n;
    s->sums.images += (double)b->n * t->world;
    return RL_OK;
}

void rl_trainer_request_stop(rl_trainer *t)
{
    t->stop = 1;
}
int rl_trainer_stop_requested(const rl_trainer *t)
{
    return t->stop;
}

/* Every rank starts from rank 0's state, however it was initialised or loaded. */
static rl_status sync_ranks(rl_trainer *t, rl_error *err)
{
    rl_param_table *p = rl_resnet_params(t->net);
    rl_status st = rl_dist_broadcast_model(t->dist, p, err);
    if (!st) st = rl_dist_broadcast(t->dist, t->sgd.velocity, sizeof(float) * t->sgd.n, err);
    if (!st) st = rl_dist_broadcast(t->dist, &t->st.pos, sizeof t->st.pos, err);
    if (!st) st = rl_dist_attach(t->dist, t->net, err);
    return st;
}

typedef enum { EV_START, EV_STEP, EV_EPOCH } event;

static rl_status notify(rl_trainer *t, event ev, rl_error *err)
{
    rl_status st = RL_OK;
    for (int i = 0; i < t->nobs && !st; i++) {
        const rl_train_observer *o = &t->obs[i];
        rl_status (*fn)(void *, rl_trainer *, rl_error *) = ev == EV_START  ? o->on_start
                                                            : ev == EV_STEP ? o->on_step
                                                                            : o->on_epoch;
        if (fn) st = fn(o->ctx, t, err);
    }
    return st;
}

/* Observers see the next epoch's position (batch 0) with the finished epoch's sums. */
static rl_status end_epoch(rl_trainer *t, rl_error *err)
{
    rl_train_state *s = &t->st;
    s->pos.epoch++;
    s->pos.batch = 0;
    s->val_top1 = s->val_top5 = NAN;
    rl_status st = notify(t, EV_EPOCH, err);
    s->sums = (rl_epoch_sums){0};
    s->epoch_start = rl_now();
    return st;
}

rl_status rl_trainer_run(rl_trainer *t, rl_error *err)
{
    rl_train_state *s = &t->st;
    const int epochs = t->plan->recipe.epochs;
    rl_status st = RL_OK;
    if (!t->synced) {
        st = sync_ranks(t, err);
        t->synced = !st;
    }
    s->first_step = s->pos.step;
    s->run_start = rl_now();
    s->epoch_start = s->run_start - s->sums.seconds;
    if (!st) st = notify(t, EV_START, err);
    while (!st && s->pos.epoch < epochs) {
        if ((st = rl_trainer_step(t, err)) || (st = notify(t, EV_STEP, err))) break;
        /* a stop at an epoch's last step still closes the epoch (metrics row, checkpoint) */
        if (s->pos.batch == s->steps_per_epoch && (st = end_epoch(t, err))) break;
        if (t->stop && s->pos.epoch < epochs)
            st = rl_fail(err, RL_ERR_STOPPED, "stopped by signal at step %lld", (long long)s->pos.step);
    }
    for (int i = 0; i < t->nobs; i++)
        if (t->obs[i].on_end) t->obs[i].on_end(t->obs[i].ctx, t, st);
    return st;
}

rl_train_state *rl_trainer_state(rl_trainer *t)
{
    return &t->st;
}
const rl_recipe_plan *rl_trainer_plan(const rl_trainer *t)
{
    return t->plan;
}
rl_param_table *rl_trainer_params(rl_trainer *t)
{
    return rl_resnet_params(t->net);
}
rl_resnet *rl_trainer_net(rl_trainer *t)
{
    return t->net;
}
rl_dist *rl_trainer_dist(rl_trainer *t)
{
    return t->dist;
}
int rl_trainer_local_batch(const rl_trainer *t)
{
    return t->local_batch;
}

double rl_trainer_wait_fraction(const rl_trainer *t)
{
    double frac = 0;
    rl_loader_wait_stats(t->loader, NULL, &frac);
    return frac;
}

double rl_trainer_activation_bytes(const rl_trainer *t)
{
    return rl_resnet_activation_bytes(t->net);
}

/* counts = {top-1 hits, top-5 hits, images} over shard rank of world of src. */
static rl_status count_correct(rl_resnet *net, rl_source *src, int batch_size, int threads, int rank, int world,
                               double counts[3], rl_error *err)
{
    rl_loader_config lc = {
        .batch_size = batch_size * world, .threads = threads, .shard_rank = rank, .shard_count = world};
    rl_loader *loader;
    rl_status st = rl_loader_create(src, &lc, &loader, err);
    if (st) return st;
    int64_t c1 = 0, c5 = 0, seen = 0;
    const int classes = rl_resnet_get_config(net)->num_classes;
    st = rl_loader_start_epoch(loader, 0, 0, err);
    const rl_batch *b;
    while (!st && !(st = rl_loader_next(loader, &b, err)) && b) {
        if (b->n == 0) continue;
        const float *logits = rl_resnet_forward(net, b->x, b->n, 0);
        c1 += rl_loss_correct_top1(logits, b->n, classes, b->labels);
        c5 += rl_loss_correct_topk(logits, b->n, classes, b->labels, classes < 5 ? classes : 5);
        seen += b->n;
    }
    rl_loader_destroy(loader);
    counts[0] = (double)c1;
    counts[1] = (double)c5;
    counts[2] = (double)seen;
    return st;
}

rl_status rl_train_evaluate(rl_resnet *net, rl_source *src, int batch_size, int threads, rl_dist *dist, double *top1,
                            double *top5, rl_error *err)
{
    double c[3] = {0, 0, 0};
    /* rank 0's BN running statistics are the ones it saves */
    rl_status st = rl_dist_broadcast_buffers(dist, rl_resnet_params(net), err);
    if (!st) st = count_correct(net, src, batch_size, threads, rl_dist_rank(dist), rl_dist_world(dist), c, err);
    if (!st) st = rl_dist_sum(dist, c, 3, err);
    *top1 = c[2] > 0 ? c[0] / c[2] : 0;
    *top5 = c[2] > 0 ? c[1] / c[2] : 0;
    return st;
}
