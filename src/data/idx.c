/* idx.c: IDX file reader (gzip via zlib) and the Fashion-MNIST rl_source.
 * Format, normalisation and augmentation are described in idx.h.
 *
 * Memory: the whole images file stays in memory as bytes (60000 x 28 x 28 =
 * 47 MB for the Fashion-MNIST training set); samples are converted to floats
 * on demand in get(), which only reads shared state, so it is thread safe.
 */
#include "data/idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/rng.h"
#include "util/text.h"

/* The largest file we accept: far above any IDX data set, small enough that a
 * corrupt header cannot make us allocate absurd amounts. */
#define IDX_MAX_BYTES ((int64_t)1 << 32)

void rl_idx_free(rl_idx *idx)
{
    if (!idx) return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

/* Reads exactly n bytes; returns the number actually read, or -1 on a zlib error. */
static int64_t read_full(gzFile f, void *buf, int64_t n)
{
    int64_t got = 0;
    while (got < n) {
        int64_t chunk = n - got > (1 << 30) ? (1 << 30) : n - got;
        int r = gzread(f, (char *)buf + got, (unsigned)chunk);
        if (r < 0) return -1;
        if (r == 0) break;
        got += r;
    }
    return got;
}

static const char *gz_message(gzFile f)
{
    int code;
    const char *m = gzerror(f, &code);
    return code == Z_ERRNO ? strerror(errno) : m;
}

rl_status rl_idx_read(const char *path, int ndims, rl_idx *out, rl_error *err)
{
    if (!out || ndims < 1 || ndims > 4) return rl_fail(err, RL_ERR_ARG, "rl_idx_read: bad arguments");
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb");
    if (!f) return rl_fail(err, RL_ERR_IO, "%s: cannot open IDX file: %s", path, strerror(errno ? errno : ENOENT));
    rl_status st = RL_OK;
    unsigned char head[4 + 4 * 4];
    int64_t got = read_full(f, head, 4);
    if (got != 4) {
        st = got < 0 ? rl_fail(err, RL_ERR_IO, "%s: read error: %s", path, gz_message(f))
                     : rl_fail(err, RL_ERR_FORMAT, "%s: file too short for an IDX header (%lld bytes)", path,
                               (long long)got);
        goto fail;
    }
    if (head[0] != 0 || head[1] != 0 || head[2] != 0x08) {
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: bad IDX magic %02x %02x %02x %02x, expected 00 00 08 %02x (unsigned bytes, %d dims); "
                     "hint: is this an IDX file such as train-images-idx3-ubyte.gz?",
                     path, head[0], head[1], head[2], head[3], ndims, ndims);
        goto fail;
    }
    if (head[3] != ndims) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: IDX file has %d dimensions, expected %d; hint: %s", path, head[3], ndims,
                     ndims == 3 ? "pass the images file (idx3), not the labels (idx1)"
                                : "pass the labels file (idx1), not the images (idx3)");
        goto fail;
    }
    got = read_full(f, head + 4, 4 * ndims);
    if (got != 4 * ndims) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: truncated IDX header (dimension sizes)", path);
        goto fail;
    }
    int64_t size = 1;
    for (int d = 0; d < ndims; d++) {
        const unsigned char *p = head + 4 + 4 * d;
        int64_t n = ((int64_t)p[0] << 24) | ((int64_t)p[1] << 16) | ((int64_t)p[2] << 8) | p[3];
        if (n <= 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: IDX dimension %d has size 0; hint: the file holds no data", path, d);
            goto fail;
        }
        if (n > IDX_MAX_BYTES / size) { /* size * n, without overflowing */
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: IDX dimensions announce more than %lld bytes (dimension %d is %lld); "
                         "hint: the header is probably corrupt",
                         path, (long long)IDX_MAX_BYTES, d, (long long)n);
            goto fail;
        }
        out->dims[d] = n;
        size *= n;
    }
    out->ndims = ndims;
    out->size = size;
    /* The buffer grows with the data actually read (by 1.5x, from 1 MiB), so a
     * header announcing 4 GB in a tiny (or gzip-bombed) file allocates only
     * what is there. */
    got = 0;
    for (size_t cap = 0; got < size;) {
        size_t want = cap ? cap + cap / 2 : (size_t)1 << 20;
        if (want > (size_t)size) want = (size_t)size;
        if (rl_grow(&out->data, &cap, want, 1)) {
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for %lld bytes of IDX data", path, (long long)size);
            goto fail;
        }
        int64_t end = (int64_t)cap < size ? (int64_t)cap : size;
        int64_t r = read_full(f, out->data + got, end - got);
        if (r < 0) {
            got = -1;
            break;
        }
        got += r;
        if (got < end) break; /* end of file */
    }
    if (got != size) {
        st = got < 0
                 ? rl_fail(err, RL_ERR_IO, "%s: read error: %s; hint: is the gzip file complete?", path, gz_message(f))
                 : rl_fail(err, RL_ERR_FORMAT,
                           "%s: IDX data truncated: the header announces %lld bytes, the file holds %lld; "
                           "hint: re-download or reinstall the file",
                           path, (long long)size, (long long)got);
        goto fail;
    }
    unsigned char extra;
    got = read_full(f, &extra, 1);
    if (got != 0) {
        st = got < 0 ? rl_fail(err, RL_ERR_IO, "%s: read error: %s", path, gz_message(f))
                     : rl_fail(err, RL_ERR_FORMAT,
                               "%s: trailing bytes after the %lld bytes of IDX data the header announces", path,
                               (long long)size);
        goto fail;
    }
    gzclose(f);
    return RL_OK;
fail:
    gzclose(f);
    rl_idx_free(out);
    return st;
}

typedef struct {
    rl_idx images;
    int64_t *map; /* [count] index in the images file of each sample */
    int in_h, in_w;
    int pad32;
} idx_impl;

static rl_status idx_get(rl_source *s, int64_t i, uint64_t seed, int epoch, int train, float *out, rl_error *err)
{
    const idx_impl *m = s->impl;
    if (i < 0 || i >= s->count)
        return rl_fail(err, RL_ERR_ARG, "%s: sample %lld out of range 0..%lld", s->name, (long long)i,
                       (long long)s->count - 1);
    const int ih = m->in_h, iw = m->in_w, oh = s->height, ow = s->width;
    const uint8_t *img = m->images.data + m->map[i] * (int64_t)ih * iw;
    /* Output pixel (y, x) reads input pixel (y + oy, x + ox) (mirrored in x
     * when flipped); outside the image it is 0 (black).  The offsets place the
     * image in the 2-pixel zero-padded frame. */
    int oy = 0, ox = 0, flip = 0;
    if (train) {
        rl_rng r = rl_rng_make(seed, (uint64_t)epoch, (uint64_t)i);
        int dy = (int)rl_rng_below(&r, 5), dx = (int)rl_rng_below(&r, 5);
        flip = (int)(rl_rng_next(&r) >> 63);
        oy = dy - 2;
        ox = dx - 2;
    }
    if (m->pad32) {
        /* Same translation, but the whole 32x32 frame is kept. */
        oy -= 2;
        ox -= 2;
    }
    const float scale = 1.0f / (255.0f * RL_FMNIST_STD), shift = -RL_FMNIST_MEAN / RL_FMNIST_STD;
    for (int y = 0; y < oh; y++) {
        int sy = y + oy;
        for (int x = 0; x < ow; x++) {
            int sx = (flip ? ow - 1 - x : x) + ox;
            int v = (sy >= 0 && sy < ih && sx >= 0 && sx < iw) ? img[sy * iw + sx] : 0;
            out[y * ow + x] = (float)v * scale + shift;
        }
    }
    return RL_OK;
}

static void idx_destroy(rl_source *s)
{
    idx_impl *m = s->impl;
    if (!m) return;
    rl_idx_free(&m->images);
    free(m->map);
    free(m);
    s->impl = NULL;
}

static const rl_source_ops idx_ops = {idx_get, idx_destroy};

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

/* Fills map/labels/multi for the samples of a list, checking their ids. */
static rl_status from_list(rl_source *s, idx_impl *m, const rl_list *list, const char *images, rl_error *err)
{
    const char *base = base_name(images);
    size_t blen = strlen(base);
    int64_t n = list->count;
    m->map = malloc((size_t)(n ? n : 1) * sizeof *m->map);
    s->labels = malloc((size_t)(n ? n : 1) * sizeof *s->labels);
    if (!m->map || !s->labels) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", images);
    for (int64_t i = 0; i < n; i++) {
        const char *p = list->paths[i], *hash = strrchr(p, '#');
        const char *pb = base_name(p);
        char *end = NULL;
        long long k = -1;
        if (hash && hash > pb && (size_t)(hash - pb) == blen && !strncmp(pb, base, blen) && hash[1]) {
            errno = 0;
            k = strtoll(hash + 1, &end, 10);
            if (errno || *end || hash[1] == '-' || hash[1] == '+') k = -1;
        }
        if (k < 0)
            return rl_fail(err, RL_ERR_FORMAT,
                           "list sample %lld: id '%s' is not '%s#<index>'; hint: an IDX list names samples of "
                           "the images file given with it",
                           (long long)i + 1, p, base);
        if (k >= m->images.dims[0])
            return rl_fail(err, RL_ERR_FORMAT, "list sample %lld: id '%s' is past the %lld images of %s",
                           (long long)i + 1, p, (long long)m->images.dims[0], images);
        m->map[i] = k;
        s->labels[i] = list->labels[i];
    }
    s->num_classes = list->num_classes;
    if (list->multi_offsets) {
        int64_t total = list->multi_offsets[n];
        s->multi_offsets = malloc((size_t)(n + 1) * sizeof *s->multi_offsets);
        s->multi_classes = malloc((size_t)(total ? total : 1) * sizeof *s->multi_classes);
        if (!s->multi_offsets || !s->multi_classes) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", images);
        memcpy(s->multi_offsets, list->multi_offsets, (size_t)(n + 1) * sizeof *s->multi_offsets);
        memcpy(s->multi_classes, list->multi_classes, (size_t)total * sizeof *s->multi_classes);
    }
    return RL_OK;
}

static rl_status from_labels(rl_source *s, idx_impl *m, const char *labels, const char *images, rl_error *err)
{
    rl_idx lab;
    rl_status st = rl_idx_read(labels, 1, &lab, err);
    if (st) return st;
    int64_t n = m->images.dims[0];
    if (lab.dims[0] != n) {
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s holds %lld labels but %s holds %lld images; hint: pair train-* with "
                     "train-* and t10k-* with t10k-*",
                     labels, (long long)lab.dims[0], images, (long long)n);
        rl_idx_free(&lab);
        return st;
    }
    m->map = malloc((size_t)n * sizeof *m->map);
    s->labels = malloc((size_t)n * sizeof *s->labels);
    if (!m->map || !s->labels) {
        rl_idx_free(&lab);
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", labels);
    }
    int maxl = 0;
    for (int64_t i = 0; i < n; i++) {
        m->map[i] = i;
        s->labels[i] = lab.data[i];
        if (lab.data[i] > maxl) maxl = lab.data[i];
    }
    s->num_classes = maxl + 1;
    rl_idx_free(&lab);
    return RL_OK;
}

/* Keeps only the samples in subset (in that order), compacting map, labels and multi-labels. */
static rl_status apply_subset(rl_source *s, idx_impl *m, const int64_t *subset, int64_t k, rl_error *err)
{
    for (int64_t j = 0; j < k; j++)
        if (subset[j] < 0 || subset[j] >= s->count)
            return rl_fail(err, RL_ERR_ARG, "%s: subset entry %lld is %lld, outside 0..%lld", s->name, (long long)j,
                           (long long)subset[j], (long long)s->count - 1);
    int64_t *map = malloc((size_t)(k ? k : 1) * sizeof *map);
    int32_t *lab = malloc((size_t)(k ? k : 1) * sizeof *lab);
    int64_t *off = NULL;
    int32_t *cls = NULL;
    if (!map || !lab) goto nomem;
    for (int64_t j = 0; j < k; j++) {
        map[j] = m->map[subset[j]];
        lab[j] = s->labels[subset[j]];
    }
    if (s->multi_offsets) {
        int64_t total = 0;
        for (int64_t j = 0; j < k; j++)
            total += s->multi_offsets[subset[j] + 1] - s->multi_offsets[subset[j]];
        off = malloc((size_t)(k + 1) * sizeof *off);
        cls = malloc((size_t)(total ? total : 1) * sizeof *cls);
        if (!off || !cls) goto nomem;
        off[0] = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t a = s->multi_offsets[subset[j]], b = s->multi_offsets[subset[j] + 1];
            memcpy(cls + off[j], s->multi_classes + a, (size_t)(b - a) * sizeof *cls);
            off[j + 1] = off[j] + (b - a);
        }
        free(s->multi_offsets);
        free(s->multi_classes);
        s->multi_offsets = off;
        s->multi_classes = cls;
    }
    free(m->map);
    free(s->labels);
    m->map = map;
    s->labels = lab;
    s->count = k;
    return RL_OK;
nomem:
    free(map);
    free(lab);
    free(off);
    free(cls);
    return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for a subset of %lld samples", s->name, (long long)k);
}

rl_status rl_idx_source_open(const rl_idx_config *cfg, rl_source **out, rl_error *err)
{
    if (!cfg || !out || !cfg->images || (!cfg->labels == !cfg->list))
        return rl_fail(err, RL_ERR_ARG, "rl_idx_source_open: need an images file and either a labels file or a list");
    *out = NULL;
    rl_source *s = calloc(1, sizeof *s);
    idx_impl *m = calloc(1, sizeof *m);
    if (!s || !m) {
        free(s);
        free(m);
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", cfg->images);
    }
    s->ops = &idx_ops;
    s->impl = m;
    snprintf(s->name, sizeof s->name, "%s", cfg->images);
    rl_status st = rl_idx_read(cfg->images, 3, &m->images, err);
    if (st) goto fail;
    m->in_h = (int)m->images.dims[1];
    m->in_w = (int)m->images.dims[2];
    m->pad32 = cfg->pad32 != 0;
    s->height = m->in_h + (m->pad32 ? 4 : 0);
    s->width = m->in_w + (m->pad32 ? 4 : 0);
    s->channels = 1;
    st = cfg->list ? from_list(s, m, cfg->list, cfg->images, err) : from_labels(s, m, cfg->labels, cfg->images, err);
    if (st) goto fail;
    /* count is set only now: until ids exist, destroy must not walk them. */
    s->count = cfg->list ? cfg->list->count : m->images.dims[0];
    if (cfg->subset) {
        st = apply_subset(s, m, cfg->subset, cfg->subset_count, err);
        if (st) goto fail;
    }
    s->ids = calloc((size_t)(s->count ? s->count : 1), sizeof *s->ids);
    if (!s->ids) goto nomem;
    const char *base = base_name(cfg->images);
    for (int64_t i = 0; i < s->count; i++) {
        size_t len = strlen(base) + 24;
        s->ids[i] = malloc(len);
        if (!s->ids[i]) goto nomem;
        snprintf(s->ids[i], len, "%s#%lld", base, (long long)m->map[i]);
    }
    *out = s;
    return RL_OK;
nomem:
    st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for sample ids", cfg->images);
fail:
    rl_source_destroy(s);
    return st;
}

rl_status rl_idx_split(int64_t count, int64_t val_count, uint64_t seed, int64_t **train, int64_t *train_count,
                       int64_t **val, rl_error *err)
{
    if (!train || !train_count || !val) return rl_fail(err, RL_ERR_ARG, "rl_idx_split: NULL output");
    *train = *val = NULL;
    *train_count = 0;
    if (count < 0 || val_count < 0 || val_count > count)
        return rl_fail(err, RL_ERR_ARG, "rl_idx_split: cannot hold out %lld of %lld samples", (long long)val_count,
                       (long long)count);
    int64_t *perm = malloc((size_t)(count ? count : 1) * sizeof *perm);
    uint8_t *is_val = calloc((size_t)(count ? count : 1), 1);
    int64_t *t = malloc((size_t)(count - val_count ? count - val_count : 1) * sizeof *t);
    int64_t *v = malloc((size_t)(val_count ? val_count : 1) * sizeof *v);
    if (!perm || !is_val || !t || !v) {
        free(perm);
        free(is_val);
        free(t);
        free(v);
        return rl_fail(err, RL_ERR_NOMEM, "rl_idx_split: out of memory for %lld samples", (long long)count);
    }
    for (int64_t i = 0; i < count; i++)
        perm[i] = i;
    /* Only the first val_count positions of the shuffle are needed. */
    rl_rng r = rl_rng_make(seed, 0x5e1ec7, 0);
    for (int64_t i = 0; i < val_count; i++) {
        int64_t j = i + (int64_t)(rl_rng_uniform_double(&r) * (double)(count - i));
        if (j >= count) j = count - 1;
        int64_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
        is_val[perm[i]] = 1;
    }
    int64_t nt = 0, nv = 0;
    for (int64_t i = 0; i < count; i++) {
        if (is_val[i])
            v[nv++] = i;
        else
            t[nt++] = i;
    }
    free(perm);
    free(is_val);
    *train = t;
    *val = v;
    *train_count = nt;
    return RL_OK;
}
