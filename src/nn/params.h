/* params.h: the table of a network's named tensors.
 *
 * Every learnable parameter, every BN buffer and every BN counter of a network
 * is an entry named exactly like the key of torchvision's state_dict
 * (`layer1.0.bn1.running_mean`).  Parameters live in one flat arena and their
 * gradients in a second arena of the same layout, so zeroing gradients, the
 * SGD update and an all-reduce are each one pass over one array; buffers live
 * in a third arena.  The table only points into arenas that the network owns.
 */
#ifndef RL_PARAMS_H
#define RL_PARAMS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    RL_PARAM_WEIGHT, /* learnable, has a gradient */
    RL_PARAM_BUFFER, /* float state saved with the model (BN running stats) */
    RL_PARAM_COUNTER /* int64 scalar state (BN num_batches_tracked) */
} rl_param_kind;

typedef enum {
    RL_DECAY_WEIGHT, /* conv and fc kernels */
    RL_DECAY_BN,     /* batch-norm gamma and beta */
    RL_DECAY_BIAS    /* fc bias */
} rl_decay_class;

typedef struct {
    char name[64];
    rl_param_kind kind;
    rl_decay_class decay;
    int rank;         /* rank of the PyTorch shape (0 for a counter) */
    int dims[4];      /* PyTorch shape */
    int conv_layout;  /* 1: stored (OC, KH, KW, C), PyTorch's is (OC, C, KH, KW) */
    size_t count;     /* elements */
    float *data;      /* weights or buffers (NULL for counters) */
    float *grad;      /* weights only */
    int64_t *counter; /* counters only */
} rl_param;

typedef struct {
    rl_param *entries;
    int count, capacity;
    float *weights;                          /* arena of all RL_PARAM_WEIGHT data, owned */
    float *grads;                            /* same layout, owned */
    float *buffers;                          /* arena of RL_PARAM_BUFFER data, owned */
    int64_t *counters;                       /* owned */
    size_t n_weights, n_buffers, n_counters; /* floats / int64s in each arena */
} rl_param_table;

/* Looks up an entry by name; NULL if absent. */
rl_param *rl_params_find(rl_param_table *t, const char *name);
/* Number of learnable scalars (what torchvision's parameter count reports). */
size_t rl_params_learnable(const rl_param_table *t);

#endif
