/* names.c: cleaning by a list of names (rl_clean_by_names, clean.h): Beyer et
 * al. 2020 released the training images their teacher kept as a list of file
 * names; this applies such a list (or its complement) to a label list.
 *
 * Two hash maps borrow the sample ids: one by the whole id, one by its file
 * name (after the last '/'), with a per-sample mark for file names that two
 * samples share. */
#include "clean/clean.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

static const char *file_name(const char *id)
{
    const char *slash = strrchr(id, '/');
    return slash ? slash + 1 : id;
}

/* Marks in `named` the samples the names file names; fills the name counts. */
static rl_status match_names(const rl_list *train, const char *path, uint8_t *named, rl_clean_stats *s, rl_error *err)
{
    rl_idmap by_id = {0}, by_file = {0};
    uint8_t *shared = calloc((size_t)(train->count ? train->count : 1), 1); /* file name of 2+ samples */
    rl_lines r;
    memset(&r, 0, sizeof r);
    rl_status st = shared ? RL_OK : rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    if (!st) st = rl_idmap_init(&by_id, train->count, err);
    if (!st) st = rl_idmap_init(&by_file, train->count, err);
    for (int64_t i = 0; !st && i < train->count; i++) {
        int64_t prev = rl_idmap_put(&by_id, train->paths[i], i);
        if (prev >= 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "sample '%.200s' appears twice (samples %lld and %lld)", train->paths[i],
                         (long long)prev + 1, (long long)i + 1);
            break;
        }
        prev = rl_idmap_put(&by_file, file_name(train->paths[i]), i);
        if (prev >= 0) shared[prev] = 1;
    }
    if (!st) st = rl_lines_open(&r, path, "names", RL_LIST_PATH_MAX, err);
    char *line;
    int got = 0;
    while (!st && (got = rl_lines_next_id(&r, &line, err)) > 0) {
        s->names++;
        int64_t i = rl_idmap_get(&by_id, line);
        if (i < 0 && !strchr(line, '/')) {
            i = rl_idmap_get(&by_file, line);
            if (i >= 0 && shared[i])
                st = rl_fail(err, RL_ERR_FORMAT,
                             "%s:%ld: the file name '%.200s' belongs to several samples of the list (one is '%.200s'); "
                             "hint: write the name with its folder, as in the list's ids",
                             path, r.lineno, line, train->paths[i]);
        }
        if (st) break;
        if (i < 0) {
            if (s->names_unmatched < 3) snprintf(s->unmatched_first[s->names_unmatched], 128, "%s", line);
            s->names_unmatched++;
        } else if (named[i]) {
            s->names_repeated++;
        } else {
            named[i] = 1;
            s->names_matched++;
        }
    }
    if (!st && got < 0) st = err ? err->code : RL_ERR_FORMAT;
    if (!st && !s->names_matched)
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: none of its %lld names is a sample of the list (its ids look like '%.200s'); hint: the "
                     "names must be the list's ids or their file names",
                     path, (long long)s->names, train->count ? train->paths[0] : "");
    rl_lines_close(&r);
    rl_idmap_free(&by_id);
    rl_idmap_free(&by_file);
    free(shared);
    return st;
}

rl_status rl_clean_by_names(const rl_list *train, const rl_clean_opts *o, rl_list *out, rl_clean_stats *s,
                            rl_error *err)
{
    RL_CHECK(o->rule == RL_CLEAN_KEEP_LIST || o->rule == RL_CLEAN_DROP_LIST);
    memset(out, 0, sizeof *out);
    rl_status st = rl_clean_stats_alloc(s, train->count, train->num_classes, err);
    if (st) return st;
    uint8_t *named = calloc((size_t)(train->count ? train->count : 1), 1);
    if (!named) st = rl_fail(err, RL_ERR_NOMEM, "clean: out of memory for %lld samples", (long long)train->count);
    if (!st) st = match_names(train, o->names, named, s, err);
    out->num_classes = train->num_classes;
    if (!st) st = rl_list_set_root(out, train->root, err);
    for (int64_t i = 0; !st && i < train->count; i++) {
        int32_t y = train->labels[i];
        int keep = named[i] == (o->rule == RL_CLEAN_KEEP_LIST);
        s->teacher_top1[i] = -1;
        s->teacher_prob[i] = s->label_prob[i] = NAN;
        s->per_class_total[y]++;
        s->action[i] = keep ? RL_CLEAN_KEPT : RL_CLEAN_DROPPED;
        s->new_label[i] = keep ? y : -1;
        if (!keep) {
            s->flagged++;
            s->flagged_rows[i] = 1;
            s->per_class_flagged[y]++;
            continue;
        }
        s->kept++;
        int64_t a = train->multi_offsets ? train->multi_offsets[i] : i;
        int64_t b = train->multi_offsets ? train->multi_offsets[i + 1] : i + 1;
        st = rl_list_append(out, train->paths[i], (train->multi_offsets ? train->multi_classes : train->labels) + a,
                            (int)(b - a), err);
    }
    free(named);
    if (st) {
        rl_list_free(out);
        rl_clean_stats_free(s);
    }
    return st;
}
