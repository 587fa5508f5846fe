/* loader.h: batches from an rl_source, prepared ahead by pthreads.
 *
 * Epoch order: with shuffle, a Fisher-Yates permutation of 0..count-1 drawn
 * from rl_rng_make(seed, epoch, RL_LOADER_PERM_STREAM) only; without, 0..count-1.
 * Global batch b of the epoch is positions [b*B, min((b+1)*B, count)) of that
 * order (B = batch_size; drop_last drops a final partial batch).  With
 * shard_count = R, rank r takes the contiguous part [g*r/R, g*(r+1)/R) of each
 * global batch of size g, so the ranks' parts never overlap and their union,
 * in rank order, is the global batch.  Sample pixels come from
 * rl_source_get(src, i, seed, epoch, train, ...), so every batch is a pure
 * function of (seed, epoch, b, rank): identical for 0, 1 or more threads, and
 * rl_loader_start_epoch(l, e, b) resumes exactly where an interrupted run was.
 *
 * Failed samples: when get() fails, the failure is counted, the sample is
 * named in a warning (util/log.h) the first time, and it is replaced by a sample of the same
 * primary class chosen from rl_rng_make(seed ^ RL_LOADER_REPLACE_KEY, epoch, i);
 * the batch records the replacement's index and labels.  If 8 candidates in a
 * row fail, rl_loader_next returns the error.
 *
 * Memory: threads > 0 preallocates a ring of depth + 1 batches (depth ready
 * ahead, one held by the consumer); threads == 0 uses one batch.  Each batch
 * holds ceil(batch_size / shard_count) samples of H*W*C floats (+ num_classes
 * floats with targets), so the ring takes
 *     (depth + 1) * ceil(B / R) * (H*W*C + num_classes?) * 4 bytes
 * e.g. depth 4, B 256, 224x224x3: 5 * 256 * 150528 * 4 = 771 MB.  Nothing is
 * allocated per batch.
 *
 * Threads: the loader's own pthreads call get() concurrently (the source must
 * allow that, see source.h).  The loader object itself is used by one consumer
 * thread.  Wall time waited in rl_loader_next is measured for progress lines.
 */
#ifndef RL_DATA_LOADER_H
#define RL_DATA_LOADER_H

#include <stdint.h>
#include "data/source.h"
#include "util/status.h"

#define RL_LOADER_PERM_STREAM 0xffffffffffffffffULL
#define RL_LOADER_REPLACE_KEY 0x7265706c61636521ULL

typedef struct {
    int batch_size; /* global batch size B over all shards, >= 1 */
    int threads;    /* loader threads; 0 = build each batch in rl_loader_next (tests, debugging) */
    int depth;      /* batches prepared ahead when threads > 0; 0 means 2 * threads */
    uint64_t seed;
    int train;       /* 1: training augmentation in get() */
    int shuffle;     /* 1: a new permutation every epoch */
    int drop_last;   /* 1: drop a final partial global batch */
    int shard_rank;  /* 0 <= shard_rank < shard_count */
    int shard_count; /* 0 or 1: no sharding */
    int targets;     /* 1: fill batch->targets with multi-hot (or one-hot) rows */
} rl_loader_config;

typedef struct {
    int n; /* samples in this (shard's part of the) batch; may be 0 only when the
              last global batch has fewer samples than shards */
    int epoch;
    int64_t batch; /* global batch number within the epoch */
    int height, width, channels;
    float *x;         /* (n, H, W, C) normalised pixels */
    int32_t *labels;  /* (n) primary labels */
    int64_t *indices; /* (n) source sample indices (after any replacement) */
    float *targets;   /* (n, num_classes) 0/1 rows when config.targets, else NULL */
    int num_classes;
} rl_batch;

typedef struct rl_loader rl_loader;

/* Creates the loader and starts its threads (idle until rl_loader_start_epoch).
 * src stays owned by the caller and must outlive the loader. */
rl_status rl_loader_create(rl_source *src, const rl_loader_config *cfg, rl_loader **out, rl_error *err);

/* Starts (or restarts) epoch `epoch` at global batch `first_batch` (0 for a
 * fresh epoch; k to resume after k batches).  Any batches prepared for the
 * previous epoch are discarded; the batch last returned becomes invalid. */
rl_status rl_loader_start_epoch(rl_loader *l, int epoch, int64_t first_batch, rl_error *err);

/* Returns the next batch in *batch, or *batch = NULL at the end of the epoch.
 * The batch stays valid until the next call to rl_loader_next,
 * rl_loader_start_epoch or rl_loader_destroy; the loader owns it. */
rl_status rl_loader_next(rl_loader *l, const rl_batch **batch, rl_error *err);

/* Number of global batches per epoch (every shard gets the same number). */
int64_t rl_loader_num_batches(const rl_loader *l);

/* Samples whose get() failed and were replaced, since creation. */
int64_t rl_loader_failures(const rl_loader *l);

/* Seconds the consumer waited in rl_loader_next since the current epoch
 * started (with threads == 0: the time spent building batches), and that
 * time as a fraction of the wall time since then (0..1).  Either may be NULL. */
void rl_loader_wait_stats(const rl_loader *l, double *wait_seconds, double *wait_fraction);

/* Stops the threads (mid-epoch is fine) and frees everything.  NULL is a no-op. */
void rl_loader_destroy(rl_loader *l);

#endif
