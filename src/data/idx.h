/* idx.h: IDX files (LeCun's MNIST format, also Fashion-MNIST, Xiao et al. 2017)
 * and an rl_source over them.
 *
 * IDX layout (big-endian): bytes 0,1 = 0; byte 2 = element type (0x08 =
 * unsigned byte, the only type used by (Fashion-)MNIST); byte 3 = number of
 * dimensions D; then D uint32 sizes; then the elements in row-major order.
 * Files may be gzip-compressed (read through zlib, which also reads plain files).
 *
 * The source: sample i is the 28x28 grey image map[i] of the images file.
 * get() writes H*W*1 floats (HWC), normalised as (x/255 - 0.2860) / 0.3530
 * (Fashion-MNIST training-set mean and std).  Training augmentation: the image
 * is zero-padded by 2 pixels (0 = black, the background) to 32x32, a random
 * 28x28 window is cut (offsets uniform in 0..4) and flipped left-right with
 * probability 1/2, all drawn from rl_rng_make(seed, epoch, i) only.  Eval: none.
 * With pad32 the output is 32x32: the image sits at offset (2,2) for eval, at
 * the random offset for training (the same translation, without the crop).
 *
 * Sample ids are "<images-file-basename>#<index in the file>", the form label
 * lists use (docs/lists.md).
 */
#ifndef RL_DATA_IDX_H
#define RL_DATA_IDX_H

#include <stdint.h>
#include "data/list.h"
#include "data/source.h"
#include "util/status.h"

#define RL_FMNIST_MEAN 0.2860f
#define RL_FMNIST_STD 0.3530f

/* One IDX file of unsigned bytes. */
typedef struct {
    int ndims;
    int64_t dims[4];
    int64_t size;  /* product of dims */
    uint8_t *data; /* [size] row-major, owned */
} rl_idx;

/* Reads an unsigned-byte IDX file with exactly `ndims` dimensions (1..4) into
 * *out (zeroed first, left empty on error).  Checks the magic number, the
 * dimensions and that the data length is exactly the product of the dims. */
rl_status rl_idx_read(const char *path, int ndims, rl_idx *out, rl_error *err);
void rl_idx_free(rl_idx *idx);

typedef struct {
    const char *images;    /* IDX3 image file (N x H x W bytes); required */
    const char *labels;    /* IDX1 label file (N bytes); NULL when `list` gives labels */
    const rl_list *list;   /* or NULL: samples "<images-basename>#<k>" with their labels
                              (multi-labels kept); the caller keeps ownership */
    const int64_t *subset; /* or NULL: keep only these samples (indices into the list
                              rows, or into the file when there is no list), in this order */
    int64_t subset_count;
    int pad32; /* 1: 32x32 output (see above) */
} rl_idx_config;

/* Opens the source; *out is owned by the caller (rl_source_destroy).  get() is
 * safe to call from any number of threads at once. */
rl_status rl_idx_source_open(const rl_idx_config *cfg, rl_source **out, rl_error *err);

/* Splits {0..count-1} into a held-out validation set of `val_count` samples
 * chosen by a Fisher-Yates shuffle from rl_rng_make(seed, 0x5e1ec7, 0) and the
 * training rest; both come back sorted ascending and owned by the caller (free()).
 * The same (count, val_count, seed) always gives the same split. */
rl_status rl_idx_split(int64_t count, int64_t val_count, uint64_t seed, int64_t **train, int64_t *train_count,
                       int64_t **val, rl_error *err);

#endif
