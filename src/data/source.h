/* source.h: the data-source interface the trainer, predictor and cleaner read.
 *
 * A source is a fixed, ordered list of samples.  Sample i has an id (a file
 * name, or "<idx-file>#<n>" for IDX samples), a primary class label, optionally extra positive classes
 * (multi-hot targets, from cleaning or relabelling), and pixels produced on
 * demand by get():
 *   - out is H*W*C floats, HWC order (channels last, the layout relab's nn uses),
 *     normalised ((x/255 - mean) / std);
 *   - train != 0 applies the training augmentation drawn from
 *     rl_rng_make(seed, epoch, i) only, so the result does not depend on which
 *     thread calls or when;  train == 0 applies the deterministic eval transform.
 * get() must be safe to call from several threads at once for different i.
 * A source owns its memory; rl_source_destroy releases it.
 */
#ifndef RL_SOURCE_H
#define RL_SOURCE_H

#include <stdint.h>
#include "util/status.h"

typedef struct rl_source rl_source;

typedef struct {
    /* Fills out (height*width*channels floats, HWC).  A sample that cannot be
     * decoded returns an error naming it; the loader counts and replaces it. */
    rl_status (*get)(rl_source *s, int64_t index, uint64_t seed, int epoch, int train, float *out, rl_error *err);
    void (*destroy)(rl_source *s);
} rl_source_ops;

struct rl_source {
    const rl_source_ops *ops;
    void *impl;     /* owned by the source */
    char name[256]; /* for messages: the path it came from */
    int64_t count;  /* number of samples */
    int num_classes;
    int height, width, channels; /* shape of one sample as get() writes it */
    int32_t *labels;             /* [count] primary label, owned */
    /* Optional multi-hot extra positives in CSR form (NULL when single-label):
     * classes of sample i are multi_classes[multi_offsets[i] .. multi_offsets[i+1]),
     * and include labels[i]. */
    int64_t *multi_offsets; /* [count+1], owned, or NULL */
    int32_t *multi_classes; /* owned, or NULL */
    char **ids;             /* [count] sample ids, owned, or NULL (then "#<i>") */
};

static inline rl_status rl_source_get(rl_source *s, int64_t i, uint64_t seed, int epoch, int train, float *out,
                                      rl_error *err)
{
    return s->ops->get(s, i, seed, epoch, train, out, err);
}

/* Releases everything the source owns, including s itself.  NULL is a no-op. */
void rl_source_destroy(rl_source *s);

/* Frees the common fields (labels, multi-hot, ids); for use by a source's destroy. */
void rl_source_free_common(rl_source *s);

#endif
