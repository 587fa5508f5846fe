/* split.c: class-stratified folds and list subsets (see split.h).
 *
 * Memory: one permutation of the sample indices, grouped by class with a
 * counting sort (stable, so each class keeps list order before its shuffle),
 * and the class offsets. */
#include "data/split.h"

#include <stdlib.h>
#include <string.h>

#include "util/rng.h"

rl_status rl_list_folds(const rl_list *list, int k, uint64_t seed, int32_t *fold, rl_error *err)
{
    const int64_t n = list->count;
    if (k < 2 || k > RL_SPLIT_MAX_FOLDS || k > n)
        return rl_fail(err, RL_ERR_ARG, "%d folds of %lld samples: need 2 <= folds <= min(samples, %d)", k,
                       (long long)n, RL_SPLIT_MAX_FOLDS);
    int C = 0;
    for (int64_t i = 0; i < n; i++)
        C = list->labels[i] >= C ? list->labels[i] + 1 : C;
    int64_t *start = calloc((size_t)C + 1, sizeof *start); /* class c is order[start[c] .. start[c+1]) */
    int64_t *pos = malloc((size_t)C * sizeof *pos);
    int64_t *order = malloc((size_t)n * sizeof *order);
    if (!start || !pos || !order) {
        free(start);
        free(pos);
        free(order);
        return rl_fail(err, RL_ERR_NOMEM, "out of memory splitting %lld samples", (long long)n);
    }
    for (int64_t i = 0; i < n; i++)
        start[list->labels[i] + 1]++;
    for (int c = 0; c < C; c++)
        start[c + 1] += start[c];
    memcpy(pos, start, (size_t)C * sizeof *pos);
    for (int64_t i = 0; i < n; i++)
        order[pos[list->labels[i]]++] = i;
    for (int c = 0; c < C; c++) {
        int64_t *v = order + start[c], m = start[c + 1] - start[c];
        rl_rng r = rl_rng_make(seed, RL_SPLIT_STREAM, (uint64_t)c);
        for (int64_t j = m - 1; j > 0; j--) {
            int64_t q = (int64_t)rl_rng_below(&r, (uint32_t)(j + 1));
            int64_t t = v[j];
            v[j] = v[q];
            v[q] = t;
        }
        for (int64_t j = 0; j < m; j++)
            fold[v[j]] = (int32_t)((start[c] + j) % k);
    }
    free(start);
    free(pos);
    free(order);
    return RL_OK;
}

rl_status rl_list_subset(const rl_list *list, const uint8_t *keep, rl_list *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    rl_status st = rl_list_set_root(out, list->root, err);
    for (int64_t i = 0; !st && i < list->count; i++) {
        if (!keep[i]) continue;
        int64_t a = list->multi_offsets ? list->multi_offsets[i] : i;
        int64_t b = list->multi_offsets ? list->multi_offsets[i + 1] : i + 1;
        st = rl_list_append(out, list->paths[i], (list->multi_offsets ? list->multi_classes : list->labels) + a,
                            (int)(b - a), err);
    }
    out->num_classes = list->num_classes;
    if (st) rl_list_free(out);
    return st;
}
