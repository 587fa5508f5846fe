/* run.c: a training run in a folder (see run.h). */
#include "train/run.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn/weights.h"
#include "train/dist.h"
#include "train/observers.h"
#include "util/fs.h"
#include "util/kv.h"
#include "util/log.h"
#include "util/timer.h"

#define MAX_LISTED 4096

/* ---- the folder ---- */

static int exists(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* RL_ERR_ARG if dir holds a run: a checkpoint or final weights, which a new
 * run would overwrite or prune.  (recipe.txt and metrics.csv alone are what a
 * run killed before its first checkpoint leaves: nothing to resume, so a new
 * run may replace them.) */
static rl_status refuse_used(const char *dir, rl_error *err)
{
    int64_t newest;
    int n = rl_checkpoint_list(dir, &newest, 1);
    int final = exists(dir, "final.h5");
    if (n <= 0 && !final) return RL_OK;
    return rl_fail(err, RL_ERR_ARG,
                   "%s already holds a run (%s%s%s); a new run there would overwrite it; hint: continue it with "
                   "`relab train --resume %s`, or give a new folder, e.g. --out %s-2",
                   dir, n > 0 ? "checkpoints" : "", n > 0 && final ? " and " : "", final ? "final.h5" : "", dir, dir);
}

/* Removes NAME.tmp.PID files of relab's outputs, which only a process killed
 * while writing leaves (the caller holds the folder's lock). */
static void remove_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char base[256], path[4096];
        int64_t step;
        if (rl_fs_temp_pid(e->d_name, base, sizeof base) <= 0) continue;
        if (!rl_checkpoint_name_step(base, &step) && strcmp(base, "final.h5") && strcmp(base, "recipe.txt") &&
            strcmp(base, "metrics.csv"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        removed += unlink(path) == 0;
    }
    closedir(d);
    if (removed)
        rl_log(RL_LOG_INFO, "relab: removed %d unfinished temporary file%s in %s (left by a run killed while writing)",
               removed, removed > 1 ? "s" : "", dir);
}

/* Rank 0: the folder exists, is ours alone and may hold this run. */
static rl_status claim_folder(const rl_train_options *opt, rl_fs_lock *lock, rl_error *err)
{
    const char *dir = opt->out_dir;
    struct stat sb;
    if (opt->resume && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        return rl_fail(err, RL_ERR_IO, "%s: cannot open the run folder (missing, or not a folder)", dir);
    rl_status st = opt->resume ? RL_OK : rl_fs_mkdirs(dir, err);
    char path[4096], what[4200];
    snprintf(path, sizeof path, "%s/relab.lock", dir);
    snprintf(what, sizeof what, "run folder %s", dir);
    if (!st) st = rl_fs_lock_take(lock, path, what, err);
    if (!st && !opt->resume) st = refuse_used(dir, err);
    if (!st) remove_temps(dir);
    return st;
}

/* metrics.csv with the header and, on a resume, the rows of the epochs the
 * checkpoint covers (a row written after it, before a crash, goes); then
 * opened for appending. */
static rl_status open_metrics(const char *path, int resume, int64_t epochs_done, FILE **out, rl_error *err)
{
    *out = NULL;
    char *old = NULL;
    if (resume && access(path, F_OK) == 0) {
        rl_status st = rl_kv_read_file(path, "metrics file", 64u << 20, &old, err);
        if (st) return st;
    }
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, path, err);
    if (!st) {
        fputs(rl_metrics_header, w.f);
        char *line = old ? strchr(old, '\n') : NULL; /* skip the old header */
        while (line && *++line) {
            char *nl = strchr(line, '\n');
            if (atoll(line) >= 1 && atoll(line) <= epochs_done)
                fprintf(w.f, "%.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
            line = nl;
        }
        st = rl_fs_writer_commit(&w, err);
    }
    free(old);
    if (!st && !(*out = fopen(path, "ae"))) st = rl_fail(err, RL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    return st;
}

/* ---- resuming ---- */

rl_status rl_train_resume_recipe(const char *dir, const char *const *sets, int nsets, rl_recipe *r, rl_error *err)
{
    int64_t steps[MAX_LISTED];
    int n = rl_checkpoint_list(dir, steps, MAX_LISTED);
    if (n < 0) return rl_fail(err, RL_ERR_IO, "%s: cannot open the run folder (%s)", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        char path[4096], origin[4200], *text = NULL;
        rl_checkpoint_path(dir, steps[i], path, sizeof path);
        rl_error e;
        if (rl_checkpoint_recipe(path, &text, NULL, &e)) {
            rl_log(RL_LOG_WARN, "relab: skipping damaged checkpoint: %s", e.msg);
            continue;
        }
        snprintf(origin, sizeof origin, "%s:/recipe", path);
        rl_recipe_init(r);
        rl_status st = rl_recipe_parse_text(text, origin, r, &e);
        free(text);
        if (st) { /* a recipe relab wrote that does not parse: the file is damaged */
            rl_log(RL_LOG_WARN, "relab: skipping damaged checkpoint: %s", e.msg);
            continue;
        }
        for (int k = 0; !st && k < nsets; k++)
            st = rl_recipe_set(r, sets[k], "--set", err);
        if (!st) st = rl_recipe_finish(r, origin, err);
        return st;
    }
    return rl_fail(err, RL_ERR_IO, "%s: no usable checkpoint (ckpt-*.h5) to resume from", dir);
}

/* Loads the newest checkpoint that passes every check into t. */
static rl_status load_newest(rl_trainer *t, const char *dir, int rank0, char *newest, size_t n, rl_error *err)
{
    int64_t steps[MAX_LISTED];
    int count = rl_checkpoint_list(dir, steps, MAX_LISTED);
    for (int i = 0; i < count; i++) {
        char path[4096];
        rl_checkpoint_path(dir, steps[i], path, sizeof path);
        rl_error e;
        if (rl_trainer_load(t, path, &e)) {
            if (rank0) rl_log(RL_LOG_WARN, "relab: skipping damaged checkpoint: %s", e.msg);
            continue;
        }
        const rl_train_position *p = &rl_trainer_state(t)->pos;
        if (rank0)
            rl_log(RL_LOG_INFO, "relab: resuming from %s (epoch %lld, batch %lld, step %lld)", path,
                   (long long)p->epoch + 1, (long long)p->batch, (long long)p->step);
        snprintf(newest, n, "%s", path);
        return RL_OK;
    }
    return rl_fail(err, RL_ERR_IO, "%s: no usable checkpoint (ckpt-*.h5) to resume from", dir);
}

/* ---- the run ---- */

typedef struct {
    rl_train_result *res;
} result_observer;

static rl_status result_epoch(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)err;
    rl_train_result *res = ((result_observer *)ctx)->res;
    const rl_train_state *s = rl_trainer_state(t);
    double secs = rl_now() - s->epoch_start;
    res->epochs_done = (int)s->pos.epoch;
    res->val_top1 = s->val_top1;
    res->val_top5 = s->val_top5;
    res->train_loss = s->sums.seen ? s->sums.loss_sum / s->sums.seen : 0;
    res->images_per_second = secs > 0 ? s->sums.images / secs : 0;
    return RL_OK;
}

typedef struct {
    rl_stop_observer stop;
    rl_checkpoint_observer ckpt;
    rl_metrics_observer metrics;
    rl_progress_observer progress;
    result_observer result;
    char metrics_path[4096];
} observers;

static rl_status attach(rl_trainer *t, const rl_train_options *opt, observers *o, rl_error *err)
{
    rl_train_observer own[] = {rl_stop_observer_make(&o->stop),
                               rl_dist_observer_make(),
                               rl_eval_observer_make(),
                               rl_checkpoint_observer_make(&o->ckpt),
                               rl_metrics_observer_make(&o->metrics),
                               rl_progress_observer_make(&o->progress),
                               {.ctx = &o->result, .on_epoch = result_epoch}};
    rl_status st = RL_OK;
    for (int i = 0; !st && i < opt->n_before; i++)
        st = rl_trainer_observe(t, &opt->before[i], err);
    for (size_t i = 0; !st && i < sizeof own / sizeof own[0]; i++)
        st = rl_trainer_observe(t, &own[i], err);
    for (int i = 0; !st && i < opt->n_after; i++)
        st = rl_trainer_observe(t, &opt->after[i], err);
    return st;
}

/* A fresh run's identity: where and when it started (not a seed: nothing random depends on it). */
static void new_run_id(char *id, size_t n)
{
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(id, n, "%lx-%lx-%.40s", (unsigned long)time(NULL), (unsigned long)getpid(), host);
}

/* Everything between a trainer that is ready and a finished, stopped or failed run. */
static rl_status train(rl_trainer *t, const rl_train_options *opt, int rank0, observers *o, rl_error *err)
{
    const rl_recipe *r = &rl_trainer_plan(t)->recipe;
    rl_status st = RL_OK;
    if (rank0) {
        char path[4096], *text = rl_recipe_to_text(r);
        snprintf(path, sizeof path, "%s/recipe.txt", opt->out_dir);
        st = text ? rl_fs_write_file(path, text, strlen(text), err) : rl_fail(err, RL_ERR_NOMEM, "out of memory");
        free(text);
        snprintf(o->metrics_path, sizeof o->metrics_path, "%s/metrics.csv", opt->out_dir);
        if (!st) st = open_metrics(o->metrics_path, opt->resume, rl_trainer_state(t)->pos.epoch, &o->metrics.f, err);
    }
    if (!st) st = attach(t, opt, o, err);
    if (!st) st = rl_trainer_run(t, err);
    const rl_train_state *s = rl_trainer_state(t);
    if (st == RL_ERR_NUMERIC)
        rl_error_prefix(err, "training stopped at epoch %lld, step %lld (lr %.6g); %s%s%s", (long long)s->pos.epoch + 1,
                        (long long)s->pos.step, s->lr, o->ckpt.newest[0] ? "the newest checkpoint, " : "",
                        o->ckpt.newest[0] ? o->ckpt.newest : "no checkpoint was written",
                        o->ckpt.newest[0] ? ", is intact" : "");
    if (!st && rank0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/final.h5", opt->out_dir);
        st = rl_weights_save(path, rl_trainer_params(t), err);
        if (!st) rl_log(RL_LOG_INFO, "relab: done in %.1f s; weights in %s", rl_now() - s->run_start, path);
    }
    return st;
}

rl_status rl_train_run(const rl_recipe *r, const rl_train_options *opt, rl_dist *dist, rl_train_result *res,
                       rl_error *err)
{
    memset(res, 0, sizeof *res);
    const int rank0 = rl_dist_rank(dist) == 0;
    rl_fs_lock lock = {-1};
    rl_recipe_plan plan;
    memset(&plan, 0, sizeof plan);
    rl_trainer *t = NULL;
    observers o = {.stop = {opt->stop},
                   .ckpt = {.dir = opt->out_dir, .rank0 = rank0},
                   .progress = {.rank0 = rank0, .log_every = r->log_every, .live = opt->live_progress},
                   .result = {res}};
    o.metrics.path = o.metrics_path;
    rl_status st = rank0 ? claim_folder(opt, &lock, err) : rl_fs_mkdirs(opt->out_dir, err);
    /* image folder listings are cached in the run folder */
    if (!st) st = rl_recipe_plan_init(&plan, r, err);
    if (!st) st = rl_recipe_plan_open_data(&plan, opt->out_dir, err);
    if (!st) st = rl_trainer_create(&plan, dist, &t, err);
    if (!st) {
        char id[64];
        new_run_id(id, sizeof id);
        rl_trainer_set_run_id(t, id);
    }
    if (!st && opt->resume) st = load_newest(t, opt->out_dir, rank0, o.ckpt.newest, sizeof o.ckpt.newest, err);
    if (!st) st = train(t, opt, rank0, &o, err);
    if (t) {
        res->steps = rl_trainer_state(t)->pos.step;
        res->seconds = rl_now() - rl_trainer_state(t)->run_start;
    }
    if (o.metrics.f) fclose(o.metrics.f);
    rl_trainer_destroy(t);
    rl_recipe_plan_close(&plan);
    rl_fs_lock_release(&lock);
    return st;
}
