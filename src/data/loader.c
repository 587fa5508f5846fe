/* loader.c: the prefetching batch loader (contract and memory in loader.h).
 *
 * A ring of nslots = depth + 1 preallocated batches.  Global batch b of the
 * epoch always goes to slot b % nslots; workers claim batches in order, so
 * the slot of batch b is free exactly when the consumer has released batch
 * b - nslots.  Each batch is built by one worker from (seed, epoch, b) alone,
 * so which worker builds it, and when, cannot change its content.
 *
 * Slot states: FREE -> FILLING (a worker owns it) -> READY -> HELD (returned
 * to the consumer) -> FREE at the consumer's next call.  A generation counter
 * invalidates batches being built when an epoch is restarted or the loader is
 * destroyed; workers check it between samples and drop stale work.
 */
#include "data/loader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/timer.h"

#define MAX_REPLACE_TRIES 8

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_HELD };

typedef struct {
    rl_batch b;
    int state;
    int64_t batch_no;
    rl_status status; /* of building this batch */
    rl_error err;
} slot;

typedef struct {
    rl_loader *l;
    int id;
} worker_arg;

struct rl_loader {
    rl_source *src;
    rl_loader_config cfg;
    int shards, local_max;
    size_t sample_floats;
    int64_t nbatches;
    int64_t *perm;          /* (count) epoch order */
    int64_t *class_offsets; /* (num_classes + 1) CSR of the samples of each primary class */
    int64_t *class_members; /* (count) */
    uint8_t *reported;      /* (count) 1 once a failed sample was named in the log */
    int nslots;
    slot *slots;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu, report_mu;
    pthread_cond_t work_cv, ready_cv, idle_cv;
    atomic_int gen;
    int quit, started, epoch, held, in_flight;
    int64_t next_claim, next_consume, end;
    atomic_llong failures;
    double wait_s, epoch_t0;
};

static const char *sample_name(const rl_source *s, int64_t i, char *buf, size_t n)
{
    if (s->ids && s->ids[i]) return s->ids[i];
    snprintf(buf, n, "#%lld", (long long)i);
    return buf;
}

/* Counts a failed sample and names it (util/log.h) the first time. */
static void report_failure(rl_loader *l, int64_t i, const rl_error *e)
{
    atomic_fetch_add(&l->failures, 1);
    pthread_mutex_lock(&l->report_mu);
    if (!l->reported[i]) {
        l->reported[i] = 1;
        char buf[32];
        rl_log(RL_LOG_WARN,
               "relab: warning: %s: sample %s could not be read (%s); replacing it by a sample of class %d",
               l->src->name, sample_name(l->src, i, buf, sizeof buf), e->msg, (int)l->src->labels[i]);
    }
    pthread_mutex_unlock(&l->report_mu);
}

/* Writes sample i (or its deterministic replacement) to out; *used = the sample read. */
static rl_status get_sample(rl_loader *l, int64_t i, int epoch, float *out, int64_t *used, rl_error *err)
{
    rl_source *s = l->src;
    rl_error e;
    e.code = RL_OK; /* a source that fails without a message still gets named */
    e.msg[0] = '\0';
    if (rl_source_get(s, i, l->cfg.seed, epoch, l->cfg.train, out, &e) == RL_OK) {
        *used = i;
        return RL_OK;
    }
    report_failure(l, i, &e);
    int c = s->labels[i];
    int64_t a = l->class_offsets[c], n = l->class_offsets[c + 1] - a;
    rl_rng r = rl_rng_make(l->cfg.seed ^ RL_LOADER_REPLACE_KEY, (uint64_t)epoch, (uint64_t)i);
    for (int t = 0; t < MAX_REPLACE_TRIES && n > 1; t++) {
        int64_t cand = l->class_members[a + (int64_t)rl_rng_below(&r, (uint32_t)n)];
        if (cand == i) continue;
        rl_error e2;
        e2.code = RL_OK;
        e2.msg[0] = '\0';
        if (rl_source_get(s, cand, l->cfg.seed, epoch, l->cfg.train, out, &e2) == RL_OK) {
            *used = cand;
            return RL_OK;
        }
        report_failure(l, cand, &e2);
    }
    char buf[32];
    return rl_fail(err, e.code ? e.code : RL_ERR_FORMAT,
                   "%s: sample %s failed (%s) and no replacement of class %d could be read; hint: check the data "
                   "set's files",
                   s->name, sample_name(s, i, buf, sizeof buf), e.msg, c);
}

/* Builds this shard's part of global batch b.  Returns early (RL_ERR_STOPPED)
 * when the generation changes, since the result would be discarded. */
static rl_status fill(rl_loader *l, slot *sl, int64_t b, int epoch, int gen, rl_error *err)
{
    const rl_source *s = l->src;
    const int64_t B = l->cfg.batch_size, start = b * B;
    const int64_t g = s->count - start < B ? s->count - start : B;
    const int64_t lo = g * l->cfg.shard_rank / l->shards, hi = g * (l->cfg.shard_rank + 1) / l->shards;
    rl_batch *bt = &sl->b;
    bt->n = (int)(hi - lo);
    bt->epoch = epoch;
    bt->batch = b;
    for (int j = 0; j < bt->n; j++) {
        if (atomic_load(&l->gen) != gen) return RL_ERR_STOPPED;
        int64_t used;
        rl_status st = get_sample(l, l->perm[start + lo + j], epoch, bt->x + (size_t)j * l->sample_floats, &used, err);
        if (st) return st;
        bt->indices[j] = used;
        bt->labels[j] = s->labels[used];
        if (bt->targets) {
            float *row = bt->targets + (size_t)j * (size_t)s->num_classes;
            memset(row, 0, (size_t)s->num_classes * sizeof *row);
            if (s->multi_offsets)
                for (int64_t k = s->multi_offsets[used]; k < s->multi_offsets[used + 1]; k++)
                    row[s->multi_classes[k]] = 1.0f;
            row[s->labels[used]] = 1.0f;
        }
    }
    return RL_OK;
}

static void *worker_main(void *p)
{
    rl_loader *l = p;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->quit && !(l->next_claim < l->end && l->slots[l->next_claim % l->nslots].state == SLOT_FREE))
            pthread_cond_wait(&l->work_cv, &l->mu);
        if (l->quit) break;
        int64_t b = l->next_claim++;
        slot *sl = &l->slots[b % l->nslots];
        sl->state = SLOT_FILLING;
        sl->batch_no = b;
        int gen = atomic_load(&l->gen), epoch = l->epoch;
        l->in_flight++;
        pthread_mutex_unlock(&l->mu);

        rl_status st = fill(l, sl, b, epoch, gen, &sl->err);

        pthread_mutex_lock(&l->mu);
        l->in_flight--;
        if (gen == atomic_load(&l->gen)) {
            sl->status = st;
            sl->state = SLOT_READY;
            pthread_cond_broadcast(&l->ready_cv);
        } else {
            sl->state = SLOT_FREE;
        }
        if (l->in_flight == 0) pthread_cond_broadcast(&l->idle_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int64_t rl_loader_num_batches(const rl_loader *l)
{
    return l->nbatches;
}

int64_t rl_loader_failures(const rl_loader *l)
{
    return atomic_load(&l->failures);
}

void rl_loader_wait_stats(const rl_loader *l, double *wait_seconds, double *wait_fraction)
{
    double wall = rl_now() - l->epoch_t0;
    if (wait_seconds) *wait_seconds = l->wait_s;
    if (wait_fraction) *wait_fraction = l->started && wall > 0 ? (l->wait_s < wall ? l->wait_s / wall : 1.0) : 0.0;
}

/* Validates labels and builds the per-class sample lists used for replacements. */
static rl_status index_classes(rl_loader *l, rl_error *err)
{
    const rl_source *s = l->src;
    int nc = s->num_classes;
    l->class_offsets = calloc((size_t)nc + 1, sizeof *l->class_offsets);
    l->class_members = malloc((size_t)(s->count ? s->count : 1) * sizeof *l->class_members);
    if (!l->class_offsets || !l->class_members)
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for the class index", s->name);
    for (int64_t i = 0; i < s->count; i++) {
        if (s->labels[i] < 0 || s->labels[i] >= nc)
            return rl_fail(err, RL_ERR_FORMAT, "%s: sample %lld has label %d outside 0..%d", s->name, (long long)i,
                           (int)s->labels[i], nc - 1);
        l->class_offsets[s->labels[i] + 1]++;
    }
    if (s->multi_offsets)
        for (int64_t k = 0; k < s->multi_offsets[s->count]; k++)
            if (s->multi_classes[k] < 0 || s->multi_classes[k] >= nc)
                return rl_fail(err, RL_ERR_FORMAT, "%s: a multi-label %d is outside 0..%d", s->name,
                               (int)s->multi_classes[k], nc - 1);
    for (int c = 0; c < nc; c++)
        l->class_offsets[c + 1] += l->class_offsets[c];
    int64_t *fillp = malloc((size_t)nc * sizeof *fillp);
    if (!fillp) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for the class index", s->name);
    memcpy(fillp, l->class_offsets, (size_t)nc * sizeof *fillp);
    for (int64_t i = 0; i < s->count; i++)
        l->class_members[fillp[s->labels[i]]++] = i;
    free(fillp);
    return RL_OK;
}

rl_status rl_loader_create(rl_source *src, const rl_loader_config *cfg, rl_loader **out, rl_error *err)
{
    if (!src || !cfg || !out) return rl_fail(err, RL_ERR_ARG, "rl_loader_create: NULL argument");
    *out = NULL;
    int shards = cfg->shard_count > 1 ? cfg->shard_count : 1;
    if (cfg->batch_size < 1 || cfg->threads < 0 || cfg->depth < 0 || cfg->shard_rank < 0 || cfg->shard_rank >= shards ||
        src->num_classes < 1 || src->count < 0 || src->height < 1 || src->width < 1 || src->channels < 1)
        return rl_fail(
            err, RL_ERR_ARG, "%s: bad loader settings (batch %d, threads %d, depth %d, shard %d of %d, %d classes)",
            src->name, cfg->batch_size, cfg->threads, cfg->depth, cfg->shard_rank, cfg->shard_count, src->num_classes);
    rl_loader *l = calloc(1, sizeof *l);
    if (!l) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for the loader", src->name);
    l->src = src;
    l->cfg = *cfg;
    l->shards = shards;
    l->cfg.shard_count = shards;
    l->local_max = (cfg->batch_size + shards - 1) / shards;
    l->sample_floats = (size_t)src->height * (size_t)src->width * (size_t)src->channels;
    l->nbatches = cfg->drop_last ? src->count / cfg->batch_size : (src->count + cfg->batch_size - 1) / cfg->batch_size;
    l->held = -1;
    atomic_init(&l->gen, 0);
    atomic_init(&l->failures, 0);
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->report_mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->ready_cv, NULL);
    pthread_cond_init(&l->idle_cv, NULL);
    rl_status st = index_classes(l, err);
    if (st) goto fail;
    size_t count = (size_t)(src->count ? src->count : 1);
    l->perm = malloc(count * sizeof *l->perm);
    l->reported = calloc(count, 1);
    if (l->cfg.threads > 0 && l->cfg.depth == 0) l->cfg.depth = 2 * l->cfg.threads;
    l->nslots = l->cfg.threads > 0 ? l->cfg.depth + 1 : 1;
    l->slots = calloc((size_t)l->nslots, sizeof *l->slots);
    if (!l->perm || !l->reported || !l->slots) goto nomem;
    for (int k = 0; k < l->nslots; k++) {
        rl_batch *b = &l->slots[k].b;
        b->height = src->height;
        b->width = src->width;
        b->channels = src->channels;
        b->num_classes = src->num_classes;
        b->x = rl_alloc((size_t)l->local_max * l->sample_floats * sizeof(float));
        b->labels = malloc((size_t)l->local_max * sizeof *b->labels);
        b->indices = malloc((size_t)l->local_max * sizeof *b->indices);
        if (cfg->targets) b->targets = rl_alloc((size_t)l->local_max * (size_t)src->num_classes * sizeof(float));
        if (!b->x || !b->labels || !b->indices || (cfg->targets && !b->targets)) goto nomem;
    }
    if (l->cfg.threads > 0) {
        l->threads = calloc((size_t)l->cfg.threads, sizeof *l->threads);
        if (!l->threads) goto nomem;
        for (int t = 0; t < l->cfg.threads; t++) {
            if (pthread_create(&l->threads[t], NULL, worker_main, l) != 0) {
                st = rl_fail(err, RL_ERR_NOMEM, "%s: cannot start loader thread %d of %d; hint: use fewer threads",
                             src->name, t + 1, l->cfg.threads);
                goto fail;
            }
            l->nthreads++;
        }
    }
    *out = l;
    return RL_OK;
nomem:
    st = rl_fail(err, RL_ERR_NOMEM,
                 "%s: out of memory for the loader ring (%d batches of %d samples x %zu floats); "
                 "hint: lower depth or batch size",
                 src->name, l->nslots, l->local_max, l->sample_floats);
fail:
    rl_loader_destroy(l);
    return st;
}

rl_status rl_loader_start_epoch(rl_loader *l, int epoch, int64_t first_batch, rl_error *err)
{
    if (epoch < 0 || first_batch < 0 || first_batch > l->nbatches)
        return rl_fail(err, RL_ERR_ARG, "%s: cannot start epoch %d at batch %lld (an epoch has %lld batches)",
                       l->src->name, epoch, (long long)first_batch, (long long)l->nbatches);
    pthread_mutex_lock(&l->mu);
    atomic_fetch_add(&l->gen, 1);
    while (l->in_flight > 0)
        pthread_cond_wait(&l->idle_cv, &l->mu);
    for (int k = 0; k < l->nslots; k++)
        l->slots[k].state = SLOT_FREE;
    l->held = -1;
    const int64_t n = l->src->count;
    for (int64_t i = 0; i < n; i++)
        l->perm[i] = i;
    if (l->cfg.shuffle) {
        rl_rng r = rl_rng_make(l->cfg.seed, (uint64_t)epoch, RL_LOADER_PERM_STREAM);
        for (int64_t i = n - 1; i > 0; i--) {
            /* Lemire's bound needs n < 2^32; beyond that use 53-bit doubles. */
            int64_t j = i + 1 < ((int64_t)1 << 32) ? (int64_t)rl_rng_below(&r, (uint32_t)(i + 1))
                                                   : (int64_t)(rl_rng_uniform_double(&r) * (double)(i + 1));
            int64_t t = l->perm[i];
            l->perm[i] = l->perm[j];
            l->perm[j] = t;
        }
    }
    l->epoch = epoch;
    l->next_claim = l->next_consume = first_batch;
    l->end = l->nbatches;
    l->started = 1;
    l->wait_s = 0;
    l->epoch_t0 = rl_now();
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    return RL_OK;
}

rl_status rl_loader_next(rl_loader *l, const rl_batch **batch, rl_error *err)
{
    *batch = NULL;
    if (!l->started) return rl_fail(err, RL_ERR_ARG, "rl_loader_next: call rl_loader_start_epoch first");
    if (l->nthreads == 0) {
        if (l->next_consume >= l->end) return RL_OK;
        double t0 = rl_now();
        slot *sl = &l->slots[0];
        rl_status st = fill(l, sl, l->next_consume, l->epoch, atomic_load(&l->gen), err);
        l->wait_s += rl_now() - t0;
        l->next_consume++;
        if (st) return st;
        *batch = &sl->b;
        return RL_OK;
    }
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) {
        l->slots[l->held].state = SLOT_FREE;
        l->held = -1;
        pthread_cond_broadcast(&l->work_cv);
    }
    if (l->next_consume >= l->end) {
        pthread_mutex_unlock(&l->mu);
        return RL_OK;
    }
    int s = (int)(l->next_consume % l->nslots);
    slot *sl = &l->slots[s];
    double t0 = rl_now();
    while (!(sl->state == SLOT_READY && sl->batch_no == l->next_consume))
        pthread_cond_wait(&l->ready_cv, &l->mu);
    l->wait_s += rl_now() - t0;
    sl->state = SLOT_HELD;
    l->held = s;
    l->next_consume++;
    pthread_mutex_unlock(&l->mu);
    if (sl->status) {
        if (err) *err = sl->err;
        return sl->status;
    }
    *batch = &sl->b;
    return RL_OK;
}

void rl_loader_destroy(rl_loader *l)
{
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->quit = 1;
    atomic_fetch_add(&l->gen, 1);
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    for (int t = 0; t < l->nthreads; t++)
        pthread_join(l->threads[t], NULL);
    free(l->threads);
    if (l->slots)
        for (int k = 0; k < l->nslots; k++) {
            rl_free(l->slots[k].b.x);
            rl_free(l->slots[k].b.targets);
            free(l->slots[k].b.labels);
            free(l->slots[k].b.indices);
        }
    free(l->slots);
    free(l->perm);
    free(l->reported);
    free(l->class_offsets);
    free(l->class_members);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->report_mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->ready_cv);
    pthread_cond_destroy(&l->idle_cv);
    free(l);
}
