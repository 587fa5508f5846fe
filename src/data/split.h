/* split.h: class-stratified folds of a label list, for out-of-fold teachers
 * (Beyer et al. 2020 clean ImageNet's training set with 10 teachers, each
 * judging the images it was not trained on).
 *
 * The draw, fixed so that other tools can reproduce it: samples are grouped
 * by primary label; the samples of class c, in list order, are shuffled by
 * Fisher-Yates (for j = m-1 down to 1: swap positions j and
 * rl_rng_below(j+1)) with the generator rl_rng_make(seed, RL_SPLIT_STREAM, c);
 * the j-th sample of the shuffled class then goes to fold (start + j) mod K,
 * where start is the number of samples of the classes before c.  So every
 * class is spread over the folds as evenly as possible (counts differ by at
 * most one), the folds' sizes differ by at most one, and the folds depend
 * only on (list, K, seed).
 *
 * Functions touch only their arguments (thread safe).
 */
#ifndef RL_SPLIT_H
#define RL_SPLIT_H

#include <stdint.h>
#include "data/list.h"
#include "util/status.h"

#define RL_SPLIT_STREAM 0x73706c6974ULL /* "split" */
#define RL_SPLIT_MAX_FOLDS 1000

/* fold[i] (caller-allocated, list->count entries) receives sample i's fold in
 * 0..k-1.  2 <= k <= min(list->count, RL_SPLIT_MAX_FOLDS). */
rl_status rl_list_folds(const rl_list *list, int k, uint64_t seed, int32_t *fold, rl_error *err);

/* *out (zeroed first) receives the samples i with keep[i] != 0, in order,
 * with their labels, the class count and the root. */
rl_status rl_list_subset(const rl_list *list, const uint8_t *keep, rl_list *out, rl_error *err);

#endif
