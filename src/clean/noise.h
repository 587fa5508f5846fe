/* noise.h: reproducible label noise for teaching and for testing cleaners.
 *
 * Kinds (only a sample's primary label is changed; extra positives are kept,
 * minus any equal to the new label):
 *   symmetric  with probability rate the label becomes a uniformly random
 *              OTHER class (so the flip rate is exactly rate in expectation);
 *   pairflip   with probability rate the label moves to its paired,
 *              confusable class; classes without a partner never change.
 *              Fashion-MNIST defaults: T-shirt/top (0) <-> shirt (6),
 *              pullover (2) <-> coat (4), sandal (5) <-> sneaker (7);
 *   matrix     a C x C matrix of non-negative weights W (one row per line,
 *              whitespace-separated, '#' comments).  With a rate, the label
 *              flips with probability rate to j != i drawn proportional to
 *              W[i][j] (diagonal ignored; rows without off-diagonal weight never
 *              flip).  Without a rate (rate < 0), the new label is drawn from
 *              row i normalised, diagonal = keep: W is then a transition matrix.
 * Sample i draws only from rl_rng_make(seed, RL_NOISE_STREAM, i), so its fate
 * depends on (seed, i) and not on the order or the threads that process it.
 *
 * Record file (what changed, for `relab clean --noise-record`):
 *   # relab-noise-record 1
 *   # <free text: kind, rate, seed>
 *   <id>\t<original>\t<noisy>        one line per changed sample
 */
#ifndef RL_NOISE_H
#define RL_NOISE_H

#include <stdint.h>
#include "data/list.h"
#include "util/status.h"

#define RL_NOISE_MATRIX_MAX 16384       /* classes for MATRIX: a 16384^2 matrix of doubles is 2 GiB */
#define RL_NOISE_STREAM 0x6e6f697365ULL /* "noise": keeps these draws apart from augmentation's */

typedef enum { RL_NOISE_SYMMETRIC, RL_NOISE_PAIRFLIP, RL_NOISE_MATRIX } rl_noise_kind;

typedef struct {
    rl_noise_kind kind;
    double rate;            /* in [0, 1]; MATRIX also accepts < 0 (see above) */
    const int32_t *pair_of; /* PAIRFLIP: [C] partner or -1; borrowed */
    const double *matrix;   /* MATRIX: [C*C] row-major weights; borrowed */
    uint64_t seed;
} rl_noise_opts;

/* Fills pair_of[10] with the Fashion-MNIST pairs above. */
void rl_noise_fashion_pairs(int32_t *pair_of);
/* Parses "0:6,2:4,5:7" (each pair both ways) into pair_of[C] (-1 = none).
 * A class in two pairs, a self pair or a class outside [0, C) is refused. */
rl_status rl_noise_pairs_parse(const char *text, int C, int32_t *pair_of, rl_error *err);
/* Reads a C x C weight matrix into matrix[C*C]; errors name file and line. */
rl_status rl_noise_matrix_read(const char *path, int C, double *matrix, rl_error *err);

/* Writes the noisy copy of in to *out (zeroed first, caller frees with
 * rl_list_free) and, if changed is not NULL, changed[i] = 1 for each changed
 * sample (caller allocates in->count bytes).  out->num_classes = in's. */
rl_status rl_noise_apply(const rl_list *in, const rl_noise_opts *o, rl_list *out, uint8_t *changed, rl_error *err);

/* Writes the record of samples whose primary label differs between in and out. */
rl_status rl_noise_record_write(const char *path, const rl_list *in, const rl_list *out, const char *about,
                                rl_error *err);

typedef struct {
    int64_t count;
    char **ids;        /* [count] owned */
    int32_t *original; /* [count] */
    int32_t *noisy;    /* [count] */
} rl_noise_record;

rl_status rl_noise_record_read(const char *path, rl_noise_record *out, rl_error *err);
void rl_noise_record_free(rl_noise_record *r);

#endif
