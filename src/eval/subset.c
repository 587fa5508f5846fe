/* subset.c: marking the prediction rows a subset file names (see subset.h). */
#include "eval/subset.h"

#include <stdlib.h>
#include <string.h>

#include "eval/idmap.h"
#include "eval/refsets.h"
#include "data/list.h"
#include "util/text.h"

/* The key an id is matched by: its validation image for ImageNet ids, else the id. */
static const char *key_of(const char *id, char *buf, size_t n)
{
    int64_t v = rl_imagenet_val_index(id);
    if (v < 0) return id;
    snprintf(buf, n, "ILSVRC2012_val_%08lld.JPEG", (long long)v + 1);
    return buf;
}

rl_status rl_subset_mark(const rl_preds *p, const char *path, uint8_t *keep, int64_t *count, rl_error *err)
{
    memset(keep, 0, (size_t)p->n);
    *count = 0;
    rl_idmap map;
    char **keys = calloc((size_t)p->n, sizeof *keys); /* owned copies of the normalised ImageNet ids */
    rl_status st = keys ? rl_idmap_init(&map, p->n, err) : rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    if (st) {
        free(keys);
        return st;
    }
    char buf[64];
    for (int64_t i = 0; !st && i < p->n; i++) {
        const char *k = key_of(p->ids[i], buf, sizeof buf);
        if (k == buf && !(keys[i] = strdup(buf))) st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        if (!st) rl_idmap_put(&map, keys[i] ? keys[i] : p->ids[i], i); /* ids are unique in a predictions file */
    }
    rl_lines r;
    if (!st)
        st = rl_lines_open(&r, path, "subset", RL_LIST_PATH_MAX, err);
    else
        memset(&r, 0, sizeof r);
    int64_t missing = 0;
    long first_line = 0;
    char first[128] = "";
    char *line;
    int got = 0;
    while (!st && (got = rl_lines_next_id(&r, &line, err)) > 0) {
        (*count)++;
        int64_t i = rl_idmap_get(&map, key_of(line, buf, sizeof buf));
        if (i < 0) {
            if (!missing++) {
                first_line = r.lineno;
                snprintf(first, sizeof first, "%s", line);
            }
        } else if (keep[i]) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: '%.200s' is listed twice", path, r.lineno, line);
        } else {
            keep[i] = 1;
        }
    }
    if (!st && got < 0) st = err ? err->code : RL_ERR_FORMAT;
    if (!st && missing)
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s:%ld: %lld of its %lld ids have no prediction, the first '%.100s'; hint: predict the subset's "
                     "images (ids are matched exactly, ImageNet validation ids by image number)",
                     path, first_line, (long long)missing, (long long)*count, first);
    if (!st && !*count) st = rl_fail(err, RL_ERR_FORMAT, "%s: no ids in the subset file", path);
    rl_lines_close(&r);
    rl_idmap_free(&map);
    for (int64_t i = 0; i < p->n; i++)
        free(keys[i]);
    free(keys);
    return st;
}
