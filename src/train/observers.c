/* observers.c: stop, MPI agreement, validation, checkpoints, metrics.csv and
 * progress lines around the training steps (see observers.h). */
#include "train/observers.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/loader.h"
#include "nn/resnet.h"
#include "train/dist.h"
#include "util/blas.h"
#include "util/log.h"
#include "util/timer.h"

/* ---- stop ---- */

static rl_status stop_step(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)err;
    const rl_stop_observer *o = ctx;
    if (o->flag && *o->flag) rl_trainer_request_stop(t);
    return RL_OK;
}

rl_train_observer rl_stop_observer_make(rl_stop_observer *o)
{
    return (rl_train_observer){.ctx = o, .on_step = stop_step};
}

/* ---- MPI ---- */

static rl_status dist_step(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)ctx;
    int stopping = rl_trainer_stop_requested(t);
    rl_status st = rl_dist_any(rl_trainer_dist(t), &stopping, err);
    if (!st && stopping) rl_trainer_request_stop(t);
    return st;
}

static rl_status dist_epoch(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)ctx;
    rl_epoch_sums *s = &rl_trainer_state(t)->sums;
    double v[4] = {s->loss_sum, s->correct, s->seen, s->images};
    rl_status st = rl_dist_sum(rl_trainer_dist(t), v, 4, err);
    s->loss_sum = v[0], s->correct = v[1], s->seen = v[2], s->images = v[3];
    return st;
}

rl_train_observer rl_dist_observer_make(void)
{
    return (rl_train_observer){.on_step = dist_step, .on_epoch = dist_epoch};
}

/* ---- validation ---- */

static rl_status eval_epoch(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)ctx;
    const rl_recipe_plan *p = rl_trainer_plan(t);
    rl_train_state *s = rl_trainer_state(t);
    const int done = (int)s->pos.epoch, every = p->recipe.eval_every; /* epochs finished */
    if (!((every > 0 && done % every == 0) || done == p->recipe.epochs)) return RL_OK;
    return rl_train_evaluate(rl_trainer_net(t), p->val, rl_trainer_local_batch(t), p->recipe.loader_threads,
                             rl_trainer_dist(t), &s->val_top1, &s->val_top5, err);
}

rl_train_observer rl_eval_observer_make(void)
{
    return (rl_train_observer){.on_epoch = eval_epoch};
}

/* ---- checkpoints ---- */

#define MAX_LISTED 4096

/* Deletes this run's checkpoints beyond the newest keep; another run's (or an
 * unreadable file, which may be a damaged one of ours) is never touched. */
static void prune(const char *dir, const char *run_id, int keep)
{
    int64_t *steps = malloc(sizeof *steps * MAX_LISTED);
    int n = steps ? rl_checkpoint_list(dir, steps, MAX_LISTED) : -1;
    for (int i = 0, ours = 0; i < n; i++) {
        char path[4096], id[64];
        char *text = NULL;
        rl_checkpoint_path(dir, steps[i], path, sizeof path);
        rl_error e;
        int mine = rl_checkpoint_recipe(path, &text, id, &e) == RL_OK && run_id[0] && !strcmp(id, run_id);
        free(text);
        if (mine && ++ours > keep && unlink(path) == 0) rl_log(RL_LOG_DEBUG, "relab: removed old checkpoint %s", path);
    }
    free(steps);
}

static rl_status checkpoint_now(rl_checkpoint_observer *o, rl_trainer *t, rl_error *err)
{
    char path[4096];
    rl_checkpoint_path(o->dir, rl_trainer_state(t)->pos.step, path, sizeof path);
    rl_status st = rl_trainer_save(t, o->rank0 ? path : NULL, err);
    if (st == RL_ERR_NUMERIC) return st; /* the run's message names the intact checkpoint */
    if (st) {
        if (o->newest[0])
            rl_error_prefix(err, "checkpoint not written (the newest good checkpoint, %s, is intact)", o->newest);
        else
            rl_error_prefix(err, "checkpoint not written");
        return st;
    }
    if (!o->rank0) return RL_OK;
    snprintf(o->newest, sizeof o->newest, "%s", path);
    prune(o->dir, rl_trainer_run_id(t), rl_trainer_plan(t)->recipe.keep_checkpoints);
    if (rl_trainer_stop_requested(t))
        rl_log(RL_LOG_INFO, "relab: stopped; checkpoint %s written; continue with --resume %s", path, o->dir);
    return RL_OK;
}

static rl_status checkpoint_step(void *ctx, rl_trainer *t, rl_error *err)
{
    const rl_train_state *s = rl_trainer_state(t);
    const int64_t every = rl_trainer_plan(t)->recipe.checkpoint_every;
    /* The end of an epoch is the epoch observer's (after its metrics are known). */
    if (s->pos.batch == s->steps_per_epoch) return RL_OK;
    if (rl_trainer_stop_requested(t) || (every > 0 && s->pos.step % every == 0)) return checkpoint_now(ctx, t, err);
    return RL_OK;
}

static rl_status checkpoint_epoch(void *ctx, rl_trainer *t, rl_error *err)
{
    return checkpoint_now(ctx, t, err);
}

rl_train_observer rl_checkpoint_observer_make(rl_checkpoint_observer *o)
{
    return (rl_train_observer){.ctx = o, .on_step = checkpoint_step, .on_epoch = checkpoint_epoch};
}

/* ---- metrics.csv ---- */

const char rl_metrics_header[] =
    "epoch,step,lr,train_loss,train_top1,val_top1,val_top5,images_per_s,seconds,wait_fraction\n";

static rl_status metrics_epoch(void *ctx, rl_trainer *t, rl_error *err)
{
    rl_metrics_observer *o = ctx;
    if (!o->f) return RL_OK;
    const rl_train_state *s = rl_trainer_state(t);
    const rl_epoch_sums *e = &s->sums;
    double secs = rl_now() - s->epoch_start;
    fprintf(o->f, "%lld,%lld,%.8g,%.6f,%.6f,%.6f,%.6f,%.2f,%.2f,%.4f\n", (long long)s->pos.epoch,
            (long long)s->pos.step, s->lr, e->seen ? e->loss_sum / e->seen : 0, e->seen ? e->correct / e->seen : 0,
            s->val_top1, s->val_top5, secs > 0 ? e->images / secs : 0, secs, rl_trainer_wait_fraction(t));
    /* fflush sees a full disk that the buffered fprintf did not */
    if (fflush(o->f) != 0 || ferror(o->f))
        return rl_fail(err, RL_ERR_IO, "%s: cannot write the row of epoch %lld (disk full?)", o->path,
                       (long long)s->pos.epoch);
    return RL_OK;
}

rl_train_observer rl_metrics_observer_make(rl_metrics_observer *o)
{
    return (rl_train_observer){.ctx = o, .on_epoch = metrics_epoch};
}

/* ---- progress ---- */

static void format_eta(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)s;
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

static rl_status progress_start(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)err;
    const rl_progress_observer *o = ctx;
    if (!o->rank0) return RL_OK;
    const rl_recipe_plan *p = rl_trainer_plan(t);
    const rl_train_state *s = rl_trainer_state(t);
    /* nn prints its layer table to a FILE; hand it to the log line by line */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem) {
        rl_resnet_print_summary(rl_trainer_net(t), p->train->height, p->train->width, mem);
        fclose(mem);
        for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            if ((nl = strchr(line, '\n'))) *nl = '\0';
            rl_log(RL_LOG_INFO, "%s", line);
        }
        free(text);
    }
    rl_schedule sched;
    rl_recipe_plan_schedule(p, s->steps_per_epoch, &sched);
    char full[96] = "";
    if (p->full_count != p->train->count)
        snprintf(full, sizeof full, " (epoch_length = full: the steps of %lld images)", (long long)p->full_count);
    rl_log(RL_LOG_INFO,
           "relab: %s train %lld images, val %lld; %lld steps/epoch%s x %d epochs, batch %d, peak lr %.4g; BLAS %s "
           "x%d (%s), %d OpenMP threads; activations %.0f MiB",
           rl_data_name(p->recipe.data), (long long)p->train->count, (long long)p->val->count,
           (long long)s->steps_per_epoch, full, p->recipe.epochs, p->recipe.batch_size, rl_schedule_peak_lr(&sched),
           rl_blas_core(), rl_blas_threads(), rl_blas_threading(), omp_get_max_threads(),
           rl_trainer_activation_bytes(t) / 1048576.0);
    return RL_OK;
}

static rl_status progress_step(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)err;
    const rl_progress_observer *o = ctx;
    const rl_train_state *s = rl_trainer_state(t);
    int line = o->log_every > 0 && s->pos.step % o->log_every == 0;
    if (!o->rank0 || !(o->live || line)) return RL_OK;
    double now = rl_now(), elapsed = now - s->epoch_start;
    double done = (double)(s->pos.step - s->first_step) / (double)(s->total_steps - s->first_step);
    char eta[32];
    format_eta(done > 0 ? (now - s->run_start) * (1 - done) / done : -1, eta, sizeof eta);
    const rl_epoch_sums *e = &s->sums;
    rl_log(line ? RL_LOG_INFO : RL_LOG_PROGRESS,
           "epoch %lld/%d  step %lld/%lld  loss %.4f  top1 %.2f%%  lr %.4g  %.1f img/s  wait %.0f%%  ETA %s",
           (long long)s->pos.epoch + 1, rl_trainer_plan(t)->recipe.epochs, (long long)s->pos.batch,
           (long long)s->steps_per_epoch, e->loss_sum / e->seen, 100.0 * e->correct / e->seen, s->lr,
           elapsed > 0 ? e->images / elapsed : 0, 100 * rl_trainer_wait_fraction(t), eta);
    return RL_OK;
}

static rl_status progress_epoch(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)err;
    const rl_progress_observer *o = ctx;
    if (!o->rank0) return RL_OK;
    const rl_train_state *s = rl_trainer_state(t);
    const rl_epoch_sums *e = &s->sums;
    double secs = rl_now() - s->epoch_start;
    rl_log(RL_LOG_INFO,
           "epoch %lld/%d done: train loss %.4f top1 %.2f%%, val top1 %.2f%% top5 %.2f%%, %.1f img/s, %.1f s",
           (long long)s->pos.epoch, rl_trainer_plan(t)->recipe.epochs, e->seen ? e->loss_sum / e->seen : 0,
           e->seen ? 100.0 * e->correct / e->seen : 0, 100 * s->val_top1, 100 * s->val_top5,
           secs > 0 ? e->images / secs : 0, secs);
    return RL_OK;
}

rl_train_observer rl_progress_observer_make(rl_progress_observer *o)
{
    return (rl_train_observer){
        .ctx = o, .on_start = progress_start, .on_step = progress_step, .on_epoch = progress_epoch};
}
