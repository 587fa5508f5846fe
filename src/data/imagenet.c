/* imagenet.c: ImageNet-style folders and lists as an rl_source (see imagenet.h).
 *
 * The folder layouts' file lists come from data/scan.h (scanned, or read from
 * the file-list cache); a list file from data/list.h.  This file turns either
 * into a source whose samples are decoded and augmented on demand.
 */
#include "data/imagenet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/jpeg.h"
#include "data/list.h"
#include "data/scan.h"
#include "util/fs.h"

typedef struct {
    char base[4096]; /* folder the ids are relative to */
    int64_t *sizes;  /* [count] file sizes at scan time, or NULL (lists) */
    char **classes;  /* [nclasses] WNIDs, or NULL */
    int nclasses;
    rl_augment_config aug;
} impl;

/* ---- the source ---- */

static rl_status get(rl_source *s, int64_t index, uint64_t seed, int epoch, int train, float *out, rl_error *err)
{
    impl *m = s->impl;
    RL_CHECK(index >= 0 && index < s->count);
    char path[8192];
    rl_imagenet_path(s, index, path, sizeof path);
    uint8_t *data;
    size_t size;
    rl_status st = rl_read_file(path, &data, &size, err);
    if (st) return st;
    st = rl_augment_jpeg(data, size, path, &m->aug, seed, epoch, index, train, out, err);
    free(data);
    return st;
}

static void destroy(rl_source *s)
{
    impl *m = s->impl;
    if (!m) return;
    free(m->sizes);
    for (int i = 0; i < m->nclasses; i++)
        free(m->classes[i]);
    free(m->classes);
    free(m);
    s->impl = NULL;
}

static const rl_source_ops ops = {get, destroy};

void rl_imagenet_config_default(rl_imagenet_config *c)
{
    memset(c, 0, sizeof *c);
    rl_augment_config_default(&c->aug, 224);
}

int rl_imagenet_is(const rl_source *s)
{
    return s && s->ops == &ops;
}

const char *rl_imagenet_path(const rl_source *s, int64_t i, char *buf, size_t n)
{
    RL_CHECK(rl_imagenet_is(s) && i >= 0 && i < s->count);
    const impl *m = s->impl;
    const char *id = s->ids[i];
    if (id[0] == '/' || !m->base[0])
        snprintf(buf, n, "%s", id);
    else
        snprintf(buf, n, "%s/%s", m->base, id);
    return buf;
}

int64_t rl_imagenet_file_size(const rl_source *s, int64_t i)
{
    RL_CHECK(rl_imagenet_is(s) && i >= 0 && i < s->count);
    const impl *m = s->impl;
    return m->sizes ? m->sizes[i] : -1;
}

const char *rl_imagenet_class_name(const rl_source *s, int c)
{
    RL_CHECK(rl_imagenet_is(s));
    const impl *m = s->impl;
    return c >= 0 && c < m->nclasses ? m->classes[c] : NULL;
}

/* Checks that every path of a list names a regular file (under m->base when
 * relative) and keeps the file sizes; one error for all the paths that do
 * not, naming the first, instead of one warning per image during training. */
static rl_status check_paths(const rl_source *s, impl *m, const char *list, const char *why, rl_error *err)
{
    m->sizes = malloc((size_t)s->count * sizeof *m->sizes);
    if (!m->sizes) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for %lld samples", list, (long long)s->count);
    int64_t missing = 0, first = -1;
    int first_errno = 0; /* 0: exists but is not a regular file */
    char path[2 * RL_LIST_PATH_MAX + 8];
    for (int64_t i = 0; i < s->count; i++) {
        struct stat sb;
        rl_imagenet_path(s, i, path, sizeof path);
        int found = stat(path, &sb) == 0, e = errno;
        m->sizes[i] = found && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
        if (m->sizes[i] >= 0) continue;
        if (!missing++) {
            first = i;
            first_errno = found ? 0 : e;
        }
    }
    if (!missing) return RL_OK;
    rl_imagenet_path(s, first, path, sizeof path);
    return rl_fail(err, RL_ERR_IO,
                   "%s:%ld: %lld of %lld image paths do not name a file, the first '%.300s' (looked for '%.600s': %s); "
                   "hint: relative paths are relative to %s%s; set '# root DIR' in the list to the folder that holds "
                   "the images (or list_root in a recipe, --root for relab predict)",
                   list, rl_list_line_of(list, first), (long long)missing, (long long)s->count, s->ids[first], path,
                   first_errno ? strerror(first_errno) : "not a regular file", m->base[0] ? m->base : ".", why);
}

static rl_status open_list(rl_source *s, impl *m, const char *list, const char *list_root, rl_error *err)
{
    rl_list l;
    rl_status st = rl_list_read(list, &l, err);
    if (st) return st;
    if (l.count == 0) {
        rl_list_free(&l);
        return rl_fail(err, RL_ERR_FORMAT, "%s: the list has no samples", list);
    }
    const char *why;
    if (list_root) {
        snprintf(m->base, sizeof m->base, "%s", list_root);
        why = " (the root given with the list)";
    } else if (l.root) {
        snprintf(m->base, sizeof m->base, "%s", l.root);
        why = " (the list's '# root' header)";
    } else {
        const char *slash = strrchr(list, '/');
        if (slash) snprintf(m->base, sizeof m->base, "%.*s", (int)(slash - list), list);
        if (slash == list) snprintf(m->base, sizeof m->base, "/");
        why = " (the list's folder: it has no '# root' header)";
    }
    /* Take ownership of the list's arrays. */
    s->count = l.count;
    s->num_classes = l.num_classes;
    s->ids = l.paths;
    s->labels = l.labels;
    s->multi_offsets = l.multi_offsets;
    s->multi_classes = l.multi_classes;
    free(l.root);
    return check_paths(s, m, list, why, err);
}

rl_status rl_imagenet_open(rl_source **out, const rl_imagenet_config *cfg, rl_error *err)
{
    *out = NULL;
    const rl_augment_config *a = &cfg->aug;
    if (a->size < 8 || a->size > 4096 || !(a->eval_resize_ratio > 0 && a->eval_resize_ratio <= 1) ||
        !(a->min_area > 0 && a->min_area <= a->max_area && a->max_area <= 1) ||
        !(a->min_aspect > 0 && a->min_aspect <= a->max_aspect))
        return rl_fail(err, RL_ERR_ARG,
                       "imagenet: bad transform settings (size %d, eval ratio %g, area [%g,%g], "
                       "aspect [%g,%g])",
                       a->size, a->eval_resize_ratio, a->min_area, a->max_area, a->min_aspect, a->max_aspect);
    if (!cfg->list && !cfg->root) return rl_fail(err, RL_ERR_ARG, "imagenet: give a root folder or a list file");
    if (cfg->numbered && (cfg->labels_file || cfg->classes_file))
        return rl_fail(err, RL_ERR_ARG, "imagenet: numbered class folders take no labels or classes file");
    rl_source *s = calloc(1, sizeof *s);
    impl *m = calloc(1, sizeof *m);
    if (!s || !m) {
        free(s);
        free(m);
        return rl_fail(err, RL_ERR_NOMEM, "imagenet: out of memory");
    }
    s->ops = &ops;
    s->impl = m;
    m->aug = *a;
    s->height = s->width = a->size;
    s->channels = 3;
    snprintf(s->name, sizeof s->name, "%s", cfg->list ? cfg->list : cfg->root);
    rl_status st;
    rl_scan_entries files = {0};
    rl_scan_classes cls = {0};
    if (cfg->list) {
        st = open_list(s, m, cfg->list, cfg->list_root, err);
        goto done;
    }
    snprintf(m->base, sizeof m->base, "%s", cfg->root);
    st = rl_scan_folder(cfg, &files, &cls, err);
    if (st) goto done;
    s->count = files.n;
    s->num_classes = cls.n;
    s->labels = malloc((size_t)files.n * sizeof *s->labels);
    s->ids = calloc((size_t)files.n, sizeof *s->ids);
    m->sizes = malloc((size_t)files.n * sizeof *m->sizes);
    if (!s->labels || !s->ids || !m->sizes) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for %lld samples", cfg->root, (long long)files.n);
        goto done;
    }
    for (int64_t i = 0; i < files.n; i++) {
        s->ids[i] = files.e[i].name; /* moved */
        files.e[i].name = NULL;
        s->labels[i] = files.e[i].label;
        m->sizes[i] = files.e[i].size;
    }
    m->classes = cls.wnid;
    m->nclasses = cls.n;
    cls.wnid = NULL;
    cls.n = 0;
done:
    rl_scan_entries_free(&files);
    rl_scan_classes_free(&cls);
    if (st) {
        rl_source_destroy(s);
        return st;
    }
    *out = s;
    return RL_OK;
}
