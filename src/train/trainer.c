/* trainer.c: the training loop (see trainer.h). */
#include "train/trainer.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/loader.h"
#include "nn/resnet.h"
#include "nn/weights.h"
#include "train/checkpoint.h"
#include "train/datasets.h"
#include "train/dist.h"
#include "train/loss.h"
#include "train/schedule.h"
#include "train/sgd.h"
#include "util/blas.h"
#include "util/mem.h"
#include "util/timer.h"

void openblas_set_num_threads(int);

static rl_status make_dir(const char *dir, rl_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return rl_fail(err, RL_ERR_IO, "%s: cannot create the output folder (%s)", dir, strerror(errno));
    return RL_OK;
}

static rl_status build_model(const rl_recipe *r, int classes, int channels, rl_resnet **net, rl_error *err)
{
    rl_resnet_config cfg;
    rl_status st = rl_resnet_config_for(rl_model_name(r->model), &cfg, err);
    if (st) return st;
    cfg.width = r->width;
    cfg.small_stem = r->stem == RL_STEM_SMALL;
    cfg.in_channels = channels;
    cfg.num_classes = classes;
    cfg.zero_init_residual = r->zero_init_residual;
    cfg.stride_on_1x1 = r->resnet_version == RL_RESNET_V1;
    return rl_resnet_create(&cfg, net, err);
}

/* counts = {top-1 hits, top-5 hits, images} over shard rank of world of src. */
static rl_status count_correct(rl_resnet *net, rl_source *src, int batch_size, int threads, int rank, int world,
                               double counts[3], rl_error *err)
{
    rl_loader_config lc = {.batch_size = batch_size * world, .threads = threads, .shard_rank = rank,
                           .shard_count = world};
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

rl_status rl_train_evaluate(rl_resnet *net, rl_source *src, int batch_size, int threads, double *top1, double *top5,
                            rl_error *err)
{
    double c[3] = {0, 0, 0};
    rl_status st = count_correct(net, src, batch_size, threads, 0, 1, c, err);
    *top1 = c[2] > 0 ? c[0] / c[2] : 0;
    *top5 = c[2] > 0 ? c[1] / c[2] : 0;
    return st;
}

/* Validation split over the ranks, with rank 0's BN running statistics (the
 * ones it saves) and the counts summed, so every rank reports the same. */
static rl_status evaluate_dist(rl_resnet *net, rl_source *src, int batch_size, int threads, rl_dist *dist,
                               double *top1, double *top5, rl_error *err)
{
    double c[3] = {0, 0, 0};
    rl_status st = rl_dist_broadcast_buffers(dist, rl_resnet_params(net), err);
    if (!st) st = count_correct(net, src, batch_size, threads, rl_dist_rank(dist), rl_dist_world(dist), c, err);
    if (!st) st = rl_dist_sum(dist, c, 3, err);
    *top1 = c[2] > 0 ? c[0] / c[2] : 0;
    *top5 = c[2] > 0 ? c[1] / c[2] : 0;
    return st;
}

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

typedef struct {
    double loss_sum;
    int64_t correct, seen;
    double t_start, images;
} epoch_stats;

rl_status rl_train_run(const rl_recipe *r, const rl_train_options *opt, rl_train_result *res, rl_error *err)
{
    FILE *log = opt->log ? opt->log : stderr;
    const int is_tty = isatty(fileno(log));
    const int rank0 = opt->rank == 0;
    memset(res, 0, sizeof *res);
    if (r->threads > 0) {
        omp_set_num_threads(r->threads);
        openblas_set_num_threads(r->threads);
    }
    rl_status st = make_dir(opt->out_dir, err);
    if (st) return st;

    rl_source *train = NULL, *val = NULL;
    rl_resnet *net = NULL;
    rl_loader *loader = NULL;
    rl_sgd sgd = {0};
    float *dlogits = NULL;
    FILE *metrics = NULL;
    char *recipe_text = rl_recipe_to_text(r);
    st = rl_datasets_open(r, opt->out_dir, &train, &val, err);
    if (st) goto done;
    int classes = r->num_classes > 0 ? r->num_classes : train->num_classes;
    if ((st = build_model(r, classes, train->channels, &net, err))) goto done;
    rl_resnet_init(net, (uint64_t)r->seed, rl_recipe_head_bias(r, classes));
    int world = opt->world > 0 ? opt->world : 1;
    if (r->batch_size % world) {
        st = rl_fail(err, RL_ERR_ARG, "batch_size %d is not divisible by the %d ranks; hint: --set batch_size=%d",
                     r->batch_size, world, (r->batch_size / world + 1) * world);
        goto done;
    }
    int local_batch = r->batch_size / world;
    if ((st = rl_resnet_plan(net, local_batch, train->height, train->width, err))) goto done;
    rl_param_table *t = rl_resnet_params(net);
    rl_sgd_config sc = {.momentum = (float)r->momentum, .weight_decay = (float)r->weight_decay, .nesterov = r->nesterov,
                         .wd_on_bn = r->wd_on_bn, .wd_on_bias = r->wd_on_bias};
    if ((st = rl_sgd_init(&sgd, &sc, t, err))) goto done;
    rl_loader_config lc = {.batch_size = r->batch_size, .threads = r->loader_threads, .seed = (uint64_t)r->seed,
                           .train = r->augment, .shuffle = 1, .drop_last = 1, .shard_rank = opt->rank,
                           .shard_count = world, .targets = r->loss == RL_LOSS_SIGMOID};
    if ((st = rl_loader_create(train, &lc, &loader, err))) goto done;
    int64_t steps_per_epoch = rl_loader_num_batches(loader);
    if (steps_per_epoch < 1) {
        st = rl_fail(err, RL_ERR_ARG, "training set of %lld images is smaller than one batch of %d",
                     (long long)train->count, r->batch_size);
        goto done;
    }
    rl_schedule sched;
    rl_recipe_schedule(r, steps_per_epoch, &sched);
    if ((st = rl_schedule_check(&sched, err))) goto done;
    rl_loss_config loss_cfg;
    rl_recipe_loss_config(r, &loss_cfg);

    rl_train_position pos = {0, 0, 0, r->seed};
    if (opt->resume) {
        char path[4096];
        if ((st = rl_checkpoint_latest(opt->out_dir, path, sizeof path, err))) goto done;
        if ((st = rl_checkpoint_load(path, t, &sgd, &pos, NULL, err))) goto done;
        if (rank0) fprintf(log, "relab: resuming from %s (epoch %lld, batch %lld, step %lld)\n", path,
                           (long long)pos.epoch + 1, (long long)pos.batch, (long long)pos.step);
    }
    /* Every rank starts from rank 0's state, however it was initialised or loaded. */
    rl_dist *dist = opt->dist;
    if ((st = rl_dist_broadcast_model(dist, t, err)) ||
        (st = rl_dist_broadcast(dist, sgd.velocity, sizeof(float) * sgd.n, err)) ||
        (st = rl_dist_broadcast(dist, &pos, sizeof pos, err)) || (st = rl_dist_attach(dist, net, err)))
        goto done;
    if (rank0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/recipe.txt", opt->out_dir);
        FILE *rf = fopen(path, "w");
        if (rf) {
            fputs(recipe_text, rf);
            fclose(rf);
        }
        snprintf(path, sizeof path, "%s/metrics.csv", opt->out_dir);
        int fresh = !opt->resume || access(path, F_OK) != 0;
        metrics = fopen(path, fresh ? "w" : "a");
        if (!metrics) {
            st = rl_fail(err, RL_ERR_IO, "%s: cannot write metrics", path);
            goto done;
        }
        if (fresh)
            fprintf(metrics, "epoch,step,lr,train_loss,train_top1,val_top1,val_top5,images_per_s,seconds,wait_fraction\n");
        fflush(metrics);
        rl_resnet_print_summary(net, train->height, train->width, log);
        fprintf(log, "relab: %s train %lld images, val %lld; %lld steps/epoch x %d epochs, batch %d, peak lr %.4g; "
                     "BLAS %s x%d (%s), %d OpenMP threads; activations %.0f MiB\n",
                rl_data_name(r->data), (long long)train->count, (long long)val->count, (long long)steps_per_epoch,
                r->epochs, r->batch_size, rl_schedule_peak_lr(&sched), rl_blas_core(), rl_blas_threads(),
                rl_blas_threading(), omp_get_max_threads(), rl_resnet_activation_bytes(net) / 1048576.0);
    }
    dlogits = rl_alloc_checked(sizeof(float) * (size_t)local_batch * classes, "logit gradients", err);
    if (!dlogits) {
        st = RL_ERR_NOMEM;
        goto done;
    }
    const double run_start = rl_now();
    const int64_t total_steps = steps_per_epoch * r->epochs;
    const int64_t first_step = pos.step;
    for (int epoch = (int)pos.epoch; epoch < r->epochs; epoch++) {
        epoch_stats es = {0, 0, 0, rl_now(), 0};
        if ((st = rl_loader_start_epoch(loader, epoch, pos.batch, err))) goto done;
        const rl_batch *b;
        double lr = 0;
        for (int64_t bi = pos.batch; bi < steps_per_epoch; bi++) {
            if ((st = rl_loader_next(loader, &b, err))) goto done;
            RL_CHECK(b != NULL);
            lr = rl_schedule_lr(&sched, pos.step);
            if (opt->poison_at_step > 0 && pos.step + 1 == opt->poison_at_step) t->weights[0] = NAN;
            rl_resnet_zero_grad(net);
            const float *logits = rl_resnet_forward(net, b->x, b->n, 1);
            double loss;
            st = rl_loss_forward_backward(&loss_cfg, logits, b->n, classes, b->labels, b->targets, dlogits, &loss, err);
            if (st) {
                rl_error_prefix(err, "training stopped at epoch %d, step %lld (lr %.6g); the last checkpoint in %s is intact",
                                epoch + 1, (long long)pos.step, lr, opt->out_dir);
                goto done;
            }
            rl_resnet_backward(net, dlogits);
            if ((st = rl_dist_grads_wait(dist, err))) goto done;
            rl_sgd_step(&sgd, t, (float)lr);
            pos.step++;
            es.loss_sum += loss * b->n;
            es.correct += rl_loss_correct_top1(logits, b->n, classes, b->labels);
            es.seen += b->n;
            es.images += (double)b->n * world;
            if (opt->kill_after_step > 0 && pos.step == opt->kill_after_step) raise(SIGKILL);
            int stopping = opt->stop && *opt->stop;
            if ((st = rl_dist_any(dist, &stopping, err))) goto done;
            if (r->checkpoint_every > 0 && pos.step % r->checkpoint_every == 0 && bi + 1 < steps_per_epoch) {
                rl_train_position cp = {epoch, bi + 1, pos.step, r->seed};
                if (rank0 && (st = rl_checkpoint_save(opt->out_dir, t, &sgd, &cp, recipe_text, r->keep_checkpoints,
                                                      NULL, 0, err)))
                    goto done;
            }
            if (stopping) {
                rl_train_position cp = {epoch, bi + 1, pos.step, r->seed};
                if (bi + 1 == steps_per_epoch) cp = (rl_train_position){epoch + 1, 0, pos.step, r->seed};
                char written[4096] = "";
                /* a stop whose checkpoint failed is a failure, not a resumable stop */
                if (rank0 && (st = rl_checkpoint_save(opt->out_dir, t, &sgd, &cp, recipe_text, r->keep_checkpoints,
                                                      written, sizeof written, err)))
                    goto done;
                if (rank0)
                    fprintf(log, "\nrelab: stopped; checkpoint %s written; continue with --resume %s\n", written,
                            opt->out_dir);
                st = rl_fail(err, RL_ERR_STOPPED, "stopped by signal at step %lld", (long long)pos.step);
                goto done;
            }
            if (rank0 && ((is_tty) || (r->log_every > 0 && pos.step % r->log_every == 0))) {
                double now = rl_now(), el = now - es.t_start, wait_frac;
                double ips = el > 0 ? es.images / el : 0;
                rl_loader_wait_stats(loader, NULL, &wait_frac);
                double done_frac = (double)(pos.step - first_step) / (double)(total_steps - first_step);
                char eta[32];
                format_eta(done_frac > 0 ? (now - run_start) * (1 - done_frac) / done_frac : -1, eta, sizeof eta);
                fprintf(log, "%sepoch %d/%d  step %lld/%lld  loss %.4f  top1 %.2f%%  lr %.4g  %.1f img/s  wait %.0f%%  ETA %s%s",
                        is_tty ? "\r" : "", epoch + 1, r->epochs, (long long)(bi + 1), (long long)steps_per_epoch,
                        es.loss_sum / es.seen, 100.0 * es.correct / es.seen, lr, ips, 100 * wait_frac, eta,
                        is_tty ? "\033[K" : "\n");
                fflush(log);
            }
        }
        pos.batch = 0;
        pos.epoch = epoch + 1;
        double secs = rl_now() - es.t_start;
        double sums[3] = {es.loss_sum, (double)es.correct, (double)es.seen};
        if ((st = rl_dist_sum(dist, sums, 3, err))) goto done;
        es.loss_sum = sums[0];
        es.correct = (int64_t)sums[1];
        es.seen = (int64_t)sums[2];
        double top1 = NAN, top5 = NAN;
        int last = epoch + 1 == r->epochs;
        if ((r->eval_every > 0 && (epoch + 1) % r->eval_every == 0) || last) {
            if ((st = evaluate_dist(net, val, local_batch, r->loader_threads, dist, &top1, &top5, err))) goto done;
        }
        double wait_frac;
        rl_loader_wait_stats(loader, NULL, &wait_frac);
        res->val_top1 = top1;
        res->val_top5 = top5;
        res->train_loss = es.seen ? es.loss_sum / es.seen : 0;
        res->epochs_done = epoch + 1;
        res->images_per_second = secs > 0 ? es.images / secs : 0;
        if (rank0) {
            fprintf(log, "%sepoch %d/%d done: train loss %.4f top1 %.2f%%, val top1 %.2f%% top5 %.2f%%, %.1f img/s, %.1f s\n",
                    is_tty ? "\r\033[K" : "", epoch + 1, r->epochs, res->train_loss,
                    es.seen ? 100.0 * es.correct / es.seen : 0, 100 * top1, 100 * top5, res->images_per_second, secs);
            fprintf(metrics, "%d,%lld,%.8g,%.6f,%.6f,%.6f,%.6f,%.2f,%.2f,%.4f\n", epoch + 1, (long long)pos.step, lr,
                    res->train_loss, es.seen ? (double)es.correct / es.seen : 0, top1, top5, res->images_per_second,
                    secs, wait_frac);
            fflush(metrics);
            if ((st = rl_checkpoint_save(opt->out_dir, t, &sgd, &pos, recipe_text, r->keep_checkpoints, NULL, 0, err)))
                goto done;
        }
    }
    res->steps = pos.step;
    res->seconds = rl_now() - run_start;
    if (rank0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/final.h5", opt->out_dir);
        if ((st = rl_weights_save(path, t, err))) goto done;
        fprintf(log, "relab: done in %.1f s; weights in %s\n", res->seconds, path);
    }
done:
    if (metrics) fclose(metrics);
    rl_free(dlogits);
    rl_loader_destroy(loader);
    rl_sgd_free(&sgd);
    rl_resnet_destroy(net);
    rl_source_destroy(train);
    rl_source_destroy(val);
    free(recipe_text);
    return st;
}
