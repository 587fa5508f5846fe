/* test_loader.c: the prefetching loader (src/data/loader.h) over a fake source
 * whose pixels encode (sample, epoch, augmentation draw), so every value in a
 * batch can be derived by hand:
 *   sample i, pixel k: i*16 + k (eval) plus 1e5 * draw when training, where
 *   draw = rl_rng_below(rl_rng_make(seed, epoch, i), 1000);
 *   label i % 5; sample i also has class (i+1) % 5 when i % 3 == 0;
 *   samples in the "bad" set fail.
 * Checked: identical batches for 0, 1 and 2 threads (bitwise, with failures
 * and random delays), every epoch a permutation, sharding parts whose union is
 * the unsharded batch, resume mid-epoch, multi-hot targets, deterministic
 * same-class replacement of failing samples named once on stderr, errors when
 * no replacement exists, wait statistics, and shutdown mid-epoch. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/idx.h"
#include "data/loader.h"
#include "tap.h"
#include "util/log.h"
#include "util/rng.h"

#define N 103
#define H 2
#define W 3
#define C 2
#define SF (H * W * C)

typedef struct {
    int bad[N];
    int delay_us;   /* random sleep per sample, to shuffle thread timing */
    int fail_class; /* every sample of this class fails (-1: none) */
} fake;

static rl_status fake_get(rl_source *s, int64_t i, uint64_t seed, int epoch, int train, float *out, rl_error *err)
{
    fake *f = s->impl;
    if (f->delay_us) {
        rl_rng r = rl_rng_make(12345, (uint64_t)epoch, (uint64_t)i);
        usleep((useconds_t)rl_rng_below(&r, (uint32_t)f->delay_us));
    }
    if (f->bad[i] || s->labels[i] == f->fail_class)
        return rl_fail(err, RL_ERR_FORMAT, "fake: sample %lld is corrupt", (long long)i);
    float aug = 0;
    if (train) {
        rl_rng r = rl_rng_make(seed, (uint64_t)epoch, (uint64_t)i);
        aug = 1e5f * (float)rl_rng_below(&r, 1000);
    }
    for (int k = 0; k < SF; k++)
        out[k] = (float)(i * 16 + k) + aug;
    return RL_OK;
}

static void fake_destroy(rl_source *s)
{
    free(s->impl);
}

static const rl_source_ops fake_ops = {fake_get, fake_destroy};

static rl_source *fake_open(int multi, int delay_us)
{
    rl_source *s = calloc(1, sizeof *s);
    fake *f = calloc(1, sizeof *f);
    f->delay_us = delay_us;
    f->fail_class = -1;
    s->ops = &fake_ops;
    s->impl = f;
    snprintf(s->name, sizeof s->name, "fake");
    s->count = N;
    s->num_classes = 5;
    s->height = H;
    s->width = W;
    s->channels = C;
    s->labels = malloc(N * sizeof *s->labels);
    for (int i = 0; i < N; i++)
        s->labels[i] = i % 5;
    if (multi) {
        s->multi_offsets = malloc((N + 1) * sizeof *s->multi_offsets);
        s->multi_classes = malloc(2 * N * sizeof *s->multi_classes);
        int64_t k = 0;
        for (int i = 0; i < N; i++) {
            s->multi_offsets[i] = k;
            s->multi_classes[k++] = i % 5;
            if (i % 3 == 0) s->multi_classes[k++] = (i + 1) % 5;
        }
        s->multi_offsets[N] = k;
    }
    return s;
}

/* One epoch's batches flattened: per batch n, then indices, labels, x, targets. */
typedef struct {
    int nb;
    int n[N + 1];
    int64_t batch_no[N + 1];
    int64_t idx[N * 2];
    int32_t lab[N * 2];
    float x[N * 2 * SF];
    float t[N * 2 * 5];
    int total;
    rl_status st;
    char msg[2048];
} run;

static void collect(rl_loader *l, run *r)
{
    memset(r, 0, sizeof *r);
    rl_error err = {0};
    const rl_batch *b;
    for (;;) {
        r->st = rl_loader_next(l, &b, &err);
        if (r->st) {
            snprintf(r->msg, sizeof r->msg, "%s", err.msg);
            return;
        }
        if (!b) return;
        r->n[r->nb] = b->n;
        r->batch_no[r->nb] = b->batch;
        r->nb++;
        memcpy(r->idx + r->total, b->indices, (size_t)b->n * sizeof *b->indices);
        memcpy(r->lab + r->total, b->labels, (size_t)b->n * sizeof *b->labels);
        memcpy(r->x + (size_t)r->total * SF, b->x, (size_t)b->n * SF * sizeof(float));
        if (b->targets) memcpy(r->t + (size_t)r->total * 5, b->targets, (size_t)b->n * 5 * sizeof(float));
        r->total += b->n;
    }
}

static rl_loader *make(rl_source *s, int threads, int depth, int batch, int rank, int shards, int drop, int targets)
{
    rl_loader_config c = {.batch_size = batch,
                          .threads = threads,
                          .depth = depth,
                          .seed = 99,
                          .train = 1,
                          .shuffle = 1,
                          .drop_last = drop,
                          .shard_rank = rank,
                          .shard_count = shards,
                          .targets = targets};
    rl_loader *l = NULL;
    rl_error err = {0};
    if (rl_loader_create(s, &c, &l, &err)) {
        tap_ok(0, "create loader: %s", err.msg);
        exit(tap_done());
    }
    return l;
}

static run *epoch_run(rl_source *s, int threads, int depth, int batch, int rank, int shards, int drop, int epoch,
                      int64_t first)
{
    run *r = malloc(sizeof *r);
    rl_loader *l = make(s, threads, depth, batch, rank, shards, drop, 1);
    rl_error err = {0};
    rl_loader_start_epoch(l, epoch, first, &err);
    collect(l, r);
    rl_loader_destroy(l);
    return r;
}

static int same_run(const run *a, const run *b)
{
    return a->st == b->st && a->nb == b->nb && a->total == b->total && !memcmp(a->n, b->n, sizeof a->n) &&
           !memcmp(a->idx, b->idx, (size_t)a->total * sizeof *a->idx) &&
           !memcmp(a->lab, b->lab, (size_t)a->total * sizeof *a->lab) &&
           !memcmp(a->x, b->x, (size_t)a->total * SF * sizeof(float)) &&
           !memcmp(a->t, b->t, (size_t)a->total * 5 * sizeof(float));
}

/* The expected pixels of sample i in (seed 99, epoch, train). */
static float expect_pixel(int64_t i, int epoch, int k)
{
    rl_rng r = rl_rng_make(99, (uint64_t)epoch, (uint64_t)i);
    return (float)(i * 16 + k) + 1e5f * (float)rl_rng_below(&r, 1000);
}

/* FNV-1a over a whole epoch: x, labels and indices of every batch. */
static uint64_t epoch_hash(rl_source *s, int threads, int *nbatch, int *checked)
{
    rl_loader_config c = {.batch_size = 256, .threads = threads, .seed = 5, .train = 1, .shuffle = 1};
    rl_loader *l = NULL;
    rl_error err;
    uint64_t h = 1469598103934665603ULL;
    *nbatch = 0;
    *checked = 1;
    if (rl_loader_create(s, &c, &l, &err) || rl_loader_start_epoch(l, 1, 0, &err)) return 0;
    const rl_batch *b;
    float one[28 * 28];
    while (!rl_loader_next(l, &b, &err) && b) {
        const unsigned char *parts[3] = {(const void *)b->x, (const void *)b->labels, (const void *)b->indices};
        size_t sizes[3] = {(size_t)b->n * 784 * sizeof(float), (size_t)b->n * 4, (size_t)b->n * 8};
        for (int p = 0; p < 3; p++)
            for (size_t k = 0; k < sizes[p]; k++)
                h = (h ^ parts[p][k]) * 1099511628211ULL;
        /* The last sample of every batch equals a direct get() with the same (seed, epoch). */
        int j = b->n - 1;
        rl_source_get(s, b->indices[j], 5, 1, 1, one, &err);
        *checked &= !memcmp(one, b->x + (size_t)j * 784, sizeof one) && b->labels[j] == s->labels[b->indices[j]];
        (*nbatch)++;
    }
    rl_loader_destroy(l);
    return h;
}

/* The loader over the real Fashion-MNIST test set with augmentation. */
static void real_data(void)
{
    const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    const char *lab = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    if (access(img, R_OK) || access(lab, R_OK)) {
        tap_diag("Fashion-MNIST not installed: skipping the real-data checks");
        return;
    }
    rl_idx_config c = {.images = img, .labels = lab};
    rl_source *s = NULL;
    rl_error err;
    if (!tap_ok(rl_idx_source_open(&c, &s, &err) == RL_OK, "open the Fashion-MNIST test set")) return;
    int nb0, nb2, ok0, ok2;
    uint64_t h0 = epoch_hash(s, 0, &nb0, &ok0), h2 = epoch_hash(s, 2, &nb2, &ok2);
    tap_ok(nb0 == 40 && ok0 && ok2, "Fashion-MNIST epoch: 40 batches of 256 (last 16), samples equal direct get()");
    tap_ok(h0 == h2 && h0 != 0, "augmented Fashion-MNIST epoch bitwise equal for 0 and 2 threads (%016llx)",
           (unsigned long long)h0);
    rl_source_destroy(s);
}

/* The library's warnings about bad samples, counted through the log callback
 * (called from loader threads, hence the lock). */
static pthread_mutex_t named_mu = PTHREAD_MUTEX_INITIALIZER;
static int named11;

static void count_named(rl_log_level level, const char *msg, void *user)
{
    (void)user;
    pthread_mutex_lock(&named_mu);
    if (level == RL_LOG_WARN && strstr(msg, "sample #11 could not be read") && strstr(msg, "class 1")) named11++;
    pthread_mutex_unlock(&named_mu);
}

int main(void)
{
    rl_log_set(count_named, NULL);

    rl_source *s = fake_open(1, 0);

    /* 1. Determinism across thread counts, with two bad samples and jittered timing. */
    ((fake *)s->impl)->bad[7] = 1;
    ((fake *)s->impl)->bad[50] = 1;
    ((fake *)s->impl)->delay_us = 300;
    run *r0 = epoch_run(s, 0, 0, 10, 0, 1, 0, 2, 0);
    run *r1 = epoch_run(s, 1, 1, 10, 0, 1, 0, 2, 0);
    run *r2 = epoch_run(s, 2, 3, 10, 0, 1, 0, 2, 0);
    run *r2b = epoch_run(s, 2, 1, 10, 0, 1, 0, 2, 0);
    ((fake *)s->impl)->delay_us = 0;
    tap_ok(r0->st == RL_OK && r0->nb == 11 && r0->total == N && r0->n[10] == 3,
           "threads 0: 11 batches, last holds 3, %d samples in all (%s)", r0->total, r0->msg);
    tap_ok(same_run(r0, r1), "threads 1 (depth 1) bitwise equal to threads 0");
    tap_ok(same_run(r0, r2), "threads 2 (depth 3) bitwise equal to threads 0");
    tap_ok(same_run(r0, r2b), "threads 2 (depth 1) bitwise equal to threads 0");

    /* 2. Contents: pixels, labels and targets derived from the fake's definition;
     * bad samples replaced by another sample of the same class. */
    int ok = 1, seen7 = 0, seen50 = 0, repl = 0;
    int count[N] = {0};
    for (int j = 0; j < r0->total && ok; j++) {
        int64_t i = r0->idx[j];
        count[i]++;
        seen7 |= i == 7;
        seen50 |= i == 50;
        for (int k = 0; k < SF && ok; k++)
            ok = r0->x[(size_t)j * SF + k] == expect_pixel(i, 2, k);
        ok = ok && r0->lab[j] == i % 5;
        for (int c = 0; c < 5 && ok; c++) {
            float want = (c == i % 5 || (i % 3 == 0 && c == (i + 1) % 5)) ? 1.0f : 0.0f;
            ok = r0->t[j * 5 + c] == want;
        }
    }
    tap_ok(ok, "every sample's pixels, label and multi-hot row match the hand-derived values");
    for (int i = 0; i < N; i++)
        if (count[i] == 2) repl++;
    /* Bad samples are absent; their replacements (class 2 for 7, class 0 for 50)
     * appear twice unless they collide. */
    int perm_ok = !seen7 && !seen50;
    for (int i = 0; i < N && perm_ok; i++)
        if (i != 7 && i != 50) perm_ok = count[i] >= 1;
    int dup2 = -1, dup0 = -1;
    for (int i = 0; i < N; i++)
        if (count[i] == 2) {
            if (i % 5 == 2) dup2 = i;
            if (i % 5 == 0) dup0 = i;
        }
    tap_ok(perm_ok && repl == 2 && dup2 >= 0 && dup0 >= 0,
           "bad samples 7 and 50 replaced by samples of their classes (%d and %d), all others once", dup2, dup0);

    /* 3. Epoch order: a permutation, different per epoch, identity without shuffle. */
    ((fake *)s->impl)->bad[7] = ((fake *)s->impl)->bad[50] = 0;
    run *e3 = epoch_run(s, 2, 2, 10, 0, 1, 0, 3, 0), *e4 = epoch_run(s, 2, 2, 10, 0, 1, 0, 4, 0);
    int cnt[N] = {0}, perm3 = 1, ident3 = 1;
    for (int j = 0; j < e3->total; j++)
        cnt[e3->idx[j]]++, ident3 &= e3->idx[j] == j;
    for (int i = 0; i < N; i++)
        perm3 &= cnt[i] == 1;
    tap_ok(perm3 && !ident3 && e3->total == N, "epoch 3 visits each of the %d samples once, shuffled", N);
    tap_ok(memcmp(e3->idx, e4->idx, N * sizeof *e3->idx) != 0, "epoch 4 has another order");
    {
        rl_loader_config c = {.batch_size = 8, .threads = 2, .seed = 99, .shuffle = 0};
        rl_loader *l = NULL;
        rl_error err;
        rl_loader_create(s, &c, &l, &err);
        rl_loader_start_epoch(l, 0, 0, &err);
        run *r = malloc(sizeof *r);
        collect(l, r);
        int ident = r->total == N;
        for (int j = 0; j < r->total && ident; j++)
            ident = r->idx[j] == j && r->x[(size_t)j * SF] == j * 16;
        tap_ok(ident && r->t[0] == 0, "no shuffle, eval: samples 0..%d in order, unaugmented, no targets", N - 1);
        free(r);
        rl_loader_destroy(l);
    }

    /* 4. drop_last. */
    run *dl = epoch_run(s, 1, 2, 10, 0, 1, 1, 3, 0);
    tap_ok(dl->nb == 10 && dl->total == 100 && !memcmp(dl->idx, e3->idx, 100 * sizeof *dl->idx),
           "drop_last: 10 full batches, the first 100 of the same order");

    /* 5. Sharding over 3 ranks: parts of sizes 3,3,4 (last batch 1,1,1) whose
     * concatenation in rank order is the unsharded batch. */
    run *sh[3];
    for (int rk = 0; rk < 3; rk++)
        sh[rk] = epoch_run(s, rk == 1 ? 0 : 2, 2, 10, rk, 3, 0, 3, 0);
    ok = sh[0]->nb == 11 && sh[1]->nb == 11 && sh[2]->nb == 11;
    int sizes_ok = ok && sh[0]->n[0] == 3 && sh[1]->n[0] == 3 && sh[2]->n[0] == 4 && sh[0]->n[10] == 1 &&
                   sh[1]->n[10] == 1 && sh[2]->n[10] == 1;
    int pos[3] = {0, 0, 0}, g = 0;
    for (int b = 0; b < 11 && ok; b++)
        for (int rk = 0; rk < 3 && ok; rk++)
            for (int j = 0; j < sh[rk]->n[b] && ok; j++, g++, pos[rk]++) {
                ok = sh[rk]->idx[pos[rk]] == e3->idx[g] &&
                     !memcmp(sh[rk]->x + (size_t)pos[rk] * SF, e3->x + (size_t)g * SF, SF * sizeof(float));
            }
    tap_ok(sizes_ok, "shard sizes 3,3,4 per batch and 1,1,1 for the last");
    tap_ok(ok && g == N, "shards in rank order reassemble every unsharded batch (%d samples, no overlap)", g);

    /* 6. Resume mid-epoch: starting at batch 4 gives batches 4.. of the full run;
     * restarting a loader mid-epoch discards its prefetched work. */
    run *res = epoch_run(s, 2, 2, 10, 0, 1, 0, 3, 4);
    tap_ok(res->nb == 7 && res->batch_no[0] == 4 && res->total == N - 40 &&
               !memcmp(res->idx, e3->idx + 40, (size_t)res->total * sizeof *res->idx) &&
               !memcmp(res->x, e3->x + 40 * SF, (size_t)res->total * SF * sizeof(float)),
           "start_epoch(3, 4) equals batches 4..10 of the uninterrupted epoch");
    {
        rl_loader *l = make(s, 2, 4, 10, 0, 1, 0, 1);
        rl_error err;
        const rl_batch *b;
        rl_loader_start_epoch(l, 4, 0, &err);
        rl_loader_next(l, &b, &err);
        rl_loader_next(l, &b, &err);
        rl_loader_start_epoch(l, 3, 7, &err);
        run *r = malloc(sizeof *r);
        collect(l, r);
        tap_ok(r->nb == 4 && r->batch_no[0] == 7 && !memcmp(r->idx, e3->idx + 70, 33 * sizeof *r->idx),
               "restart mid-epoch 4 into epoch 3 at batch 7 gives batches 7..10 of epoch 3");
        free(r);
        double ws = -1, wf = -1;
        rl_loader_wait_stats(l, &ws, &wf);
        tap_ok(ws >= 0 && wf >= 0 && wf <= 1, "wait stats sane: %.4f s, fraction %.3f", ws, wf);
        tap_ok(rl_loader_start_epoch(l, 0, 12, &err) == RL_ERR_ARG, "start past the end rejected: %s", err.msg);
        rl_loader_destroy(l);
    }

    /* 7. One-hot targets for a single-label source. */
    rl_source *s1 = fake_open(0, 0);
    run *oh = epoch_run(s1, 1, 1, 7, 0, 1, 0, 0, 0);
    ok = oh->total == N;
    for (int j = 0; j < oh->total && ok; j++)
        for (int c = 0; c < 5 && ok; c++)
            ok = oh->t[j * 5 + c] == (c == oh->idx[j] % 5 ? 1.0f : 0.0f);
    tap_ok(ok, "single-label source: one-hot target rows");

    /* 8. A class whose every sample fails: the batch fails with a message. */
    ((fake *)s1->impl)->fail_class = 3;
    run *fc = epoch_run(s1, 2, 2, 10, 0, 1, 0, 0, 0);
    tap_ok(fc->st == RL_ERR_FORMAT && strstr(fc->msg, "no replacement of class 3") && strstr(fc->msg, "corrupt"),
           "unreplaceable sample: error '%s'", fc->msg);
    run *fc0 = epoch_run(s1, 0, 0, 10, 0, 1, 0, 0, 0);
    tap_ok(fc0->st == RL_ERR_FORMAT && fc0->nb == fc->nb, "same failure at the same batch with threads 0 (batch %d)",
           fc0->nb);
    ((fake *)s1->impl)->fail_class = -1;

    /* 9. Wait statistics: a slow source read synchronously makes the consumer
     * wait nearly all the time; prefetching threads with a slow consumer hide it. */
    ((fake *)s1->impl)->delay_us = 2000;
    {
        rl_loader *l = make(s1, 0, 0, 8, 0, 1, 0, 0);
        rl_error err;
        const rl_batch *b;
        rl_loader_start_epoch(l, 0, 0, &err);
        for (int k = 0; k < 5; k++)
            rl_loader_next(l, &b, &err);
        double ws, wf;
        rl_loader_wait_stats(l, &ws, &wf);
        tap_ok(wf > 0.7 && ws > 0.01, "synchronous slow source: consumer waits %.3f s = %.0f%% of wall time", ws,
               100 * wf);
        rl_loader_destroy(l);
        l = make(s1, 2, 4, 4, 0, 1, 0, 0);
        rl_loader_start_epoch(l, 0, 0, &err);
        rl_loader_next(l, &b, &err);
        usleep(300000); /* let the ring fill: 4 batches x 4 samples x <2 ms, on a busy machine */
        rl_loader_wait_stats(l, &ws, NULL);
        double before = ws;
        for (int k = 0; k < 3; k++)
            rl_loader_next(l, &b, &err);
        rl_loader_wait_stats(l, &ws, &wf);
        tap_ok(ws - before < 0.02, "prefetched batches are returned without waiting (%.4f s for 3)", ws - before);
        /* 10. Shutdown mid-epoch with batches in flight (valgrind: no leak). */
        rl_loader_destroy(l);
        tap_ok(1, "destroyed mid-epoch with work in flight");
    }

    /* 11. Failures counted; each bad sample named on stderr exactly once over two epochs. */
    ((fake *)s1->impl)->delay_us = 0;
    ((fake *)s1->impl)->bad[11] = 1;
    {
        rl_loader *l = make(s1, 2, 2, 10, 0, 1, 0, 0);
        rl_error err;
        run *r = malloc(sizeof *r);
        rl_loader_start_epoch(l, 0, 0, &err);
        collect(l, r);
        rl_loader_start_epoch(l, 1, 0, &err);
        collect(l, r);
        tap_ok(rl_loader_failures(l) == 2, "2 failures counted over 2 epochs (got %lld)",
               (long long)rl_loader_failures(l));
        free(r);
        rl_loader_destroy(l);
    }
    tap_ok(named11 == 1, "sample #11 named in one warning through the log callback (%d times)", named11);

    /* An empty source: zero batches, and next() reports the end at once. */
    s1->count = 0;
    {
        rl_loader *l = make(s1, 2, 2, 10, 0, 1, 0, 1);
        rl_error err;
        const rl_batch *b = (const rl_batch *)1;
        rl_loader_start_epoch(l, 0, 0, &err);
        tap_ok(rl_loader_num_batches(l) == 0 && rl_loader_next(l, &b, &err) == RL_OK && b == NULL,
               "empty source: 0 batches, next() returns the end");
        rl_loader_destroy(l);
    }
    s1->count = N;

    real_data();

    rl_loader_config bad = {.batch_size = 0};
    rl_loader *l = NULL;
    rl_error err;
    tap_ok(rl_loader_create(s1, &bad, &l, &err) == RL_ERR_ARG && !l, "batch size 0 rejected: %s", err.msg);

    free(r0), free(r1), free(r2), free(r2b), free(e3), free(e4), free(dl), free(res), free(oh), free(fc), free(fc0);
    for (int rk = 0; rk < 3; rk++)
        free(sh[rk]);
    rl_source_destroy(s);
    rl_source_destroy(s1);
    return tap_done();
}
