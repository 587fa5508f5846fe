/* thumbs.c: finding training images by id and encoding thumbnails (thumbs.h). */
#include "report/thumbs.h"

#include <ctype.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/augment.h"
#include "data/idx.h"
#include "data/jpeg.h"
#include "data/pack.h"
#include "eval/idmap.h"
#include "util/text.h"

#define MAX_IDX 8 /* distinct IDX files kept open (Fashion-MNIST has two image files) */

typedef struct {
    char *root;
    int pack_tried;    /* 1 once ROOT-00000.h5 was looked for */
    rl_source *pack;   /* the shards, or NULL */
    rl_idmap pack_ids; /* pack sample name -> index (keys borrowed from pack->ids) */
} root_t;

struct rl_thumbs {
    int nroots, size;
    root_t *roots;
    rl_augment_config aug; /* eval view, no margin, values in [0, 1] */
    int nidx;
    char *idx_path[MAX_IDX];
    rl_idx idx[MAX_IDX];
};

rl_status rl_thumbs_open(const char *const *roots, int nroots, int size, rl_thumbs **out, rl_error *err)
{
    *out = NULL;
    if (size < 16 || size > 512) return rl_fail(err, RL_ERR_ARG, "thumbnail size %d is not in 16..512", size);
    rl_thumbs *t = calloc(1, sizeof *t);
    if (!t || !(t->roots = calloc((size_t)(nroots ? nroots : 1), sizeof *t->roots))) {
        free(t);
        return rl_fail(err, RL_ERR_NOMEM, "out of memory for thumbnails");
    }
    t->size = size;
    rl_augment_config_default(&t->aug, size);
    t->aug.eval_resize_ratio = 1.0;
    t->aug.dct_scale_eval = 1; /* a thumbnail does not need torchvision's exact pixels */
    for (int c = 0; c < 3; c++)
        t->aug.mean[c] = 0.0f, t->aug.std[c] = 1.0f;
    for (int i = 0; i < nroots; i++) {
        if (!(t->roots[i].root = strdup(roots[i]))) {
            rl_thumbs_close(t);
            return rl_fail(err, RL_ERR_NOMEM, "out of memory for thumbnails");
        }
        t->nroots++;
    }
    *out = t;
    return RL_OK;
}

void rl_thumbs_close(rl_thumbs *t)
{
    if (!t) return;
    for (int i = 0; i < t->nroots; i++) {
        free(t->roots[i].root);
        rl_idmap_free(&t->roots[i].pack_ids);
        rl_source_destroy(t->roots[i].pack);
    }
    for (int i = 0; i < t->nidx; i++) {
        free(t->idx_path[i]);
        rl_idx_free(&t->idx[i]);
    }
    free(t->roots);
    free(t);
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* ---- PNG encoding ---- */

typedef struct {
    uint8_t *data;
    size_t n, cap;
    int nomem;
} sink;

static void sink_write(png_structp png, png_bytep data, png_size_t n)
{
    sink *s = png_get_io_ptr(png);
    if (rl_grow(&s->data, &s->cap, s->n + n, 1)) {
        s->nomem = 1;
        png_error(png, "out of memory");
    }
    memcpy(s->data + s->n, data, n);
    s->n += n;
}

static void sink_flush(png_structp png)
{
    (void)png;
}

static void encode_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

rl_status rl_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **png, size_t *n,
                        rl_error *err)
{
    *png = NULL;
    *n = 0;
    sink s = {0};
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, encode_error, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!info) {
        png_destroy_write_struct(&p, NULL);
        return rl_fail(err, RL_ERR_NOMEM, "out of memory encoding a thumbnail");
    }
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        free(s.data);
        return rl_fail(err, RL_ERR_NOMEM, "out of memory encoding a %dx%d thumbnail", width, height);
    }
    png_set_write_fn(p, &s, sink_write, sink_flush);
    png_set_IHDR(p, info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (int y = 0; y < height; y++)
        png_write_row(p, pixels + (size_t)y * (size_t)width * (size_t)channels);
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    *png = s.data;
    *n = s.n;
    return RL_OK;
}

/* ---- the three kinds of source ---- */

/* "NAME#K" with NAME free of '/' and K decimal: an IDX sample. */
static int idx_id(const char *id, char *name, size_t n, int64_t *k)
{
    const char *hash = strrchr(id, '#');
    if (!hash || hash == id || !hash[1] || (size_t)(hash - id) >= n || memchr(id, '/', (size_t)(hash - id))) return 0;
    for (const char *d = hash + 1; *d; d++)
        if (!isdigit((unsigned char)*d) || d - hash > 12) return 0;
    snprintf(name, n, "%.*s", (int)(hash - id), id);
    *k = strtoll(hash + 1, NULL, 10);
    return 1;
}

static rl_status idx_thumb(rl_thumbs *t, const char *path, int64_t k, uint8_t **png, size_t *n, int *w, int *h,
                           rl_error *err)
{
    int i = 0;
    while (i < t->nidx && strcmp(t->idx_path[i], path))
        i++;
    if (i == t->nidx) {
        if (t->nidx == MAX_IDX) { /* drop the oldest: reports touch one or two files */
            free(t->idx_path[0]);
            rl_idx_free(&t->idx[0]);
            memmove(t->idx_path, t->idx_path + 1, (MAX_IDX - 1) * sizeof *t->idx_path);
            memmove(t->idx, t->idx + 1, (MAX_IDX - 1) * sizeof *t->idx);
            i = --t->nidx;
        }
        rl_status st = rl_idx_read(path, 3, &t->idx[i], err);
        if (st) return st;
        if (!(t->idx_path[i] = strdup(path))) {
            rl_idx_free(&t->idx[i]);
            return rl_fail(err, RL_ERR_NOMEM, "out of memory");
        }
        t->nidx++;
    }
    const rl_idx *x = &t->idx[i];
    if (k >= x->dims[0])
        return rl_fail(err, RL_ERR_FORMAT, "%s holds %lld images, so image %lld does not exist", path,
                       (long long)x->dims[0], (long long)k);
    *w = (int)x->dims[2];
    *h = (int)x->dims[1];
    return rl_png_encode(x->data + k * x->dims[1] * x->dims[2], *w, *h, 1, png, n, err);
}

/* size x size floats in [0, 1] (HWC RGB) to a PNG. */
static rl_status float_thumb(const rl_thumbs *t, const float *px, uint8_t **png, size_t *n, int *w, int *h,
                             rl_error *err)
{
    const size_t count = (size_t)t->size * (size_t)t->size * 3;
    uint8_t *b = malloc(count);
    if (!b) return rl_fail(err, RL_ERR_NOMEM, "out of memory for a thumbnail");
    for (size_t i = 0; i < count; i++) {
        float v = px[i] * 255.0f + 0.5f;
        b[i] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
    }
    *w = *h = t->size;
    rl_status st = rl_png_encode(b, t->size, t->size, 3, png, n, err);
    free(b);
    return st;
}

static rl_status file_thumb(rl_thumbs *t, const char *path, float *px, uint8_t **png, size_t *n, int *w, int *h,
                            rl_error *err)
{
    uint8_t *data;
    size_t size;
    rl_status st = rl_read_file(path, &data, &size, err);
    if (st) return st;
    st = rl_augment_jpeg(data, size, path, &t->aug, 0, 0, 0, 0, px, err);
    free(data);
    return st ? st : float_thumb(t, px, png, n, w, h, err);
}

/* Opens ROOT-00000.h5 ... once; 0 when root has no shards. */
static rl_status pack_of(rl_thumbs *t, root_t *r, rl_error *err)
{
    if (r->pack_tried) return RL_OK;
    r->pack_tried = 1;
    char first[RL_LIST_PATH_MAX + 16];
    if (!is_file(rl_pack_shard_path(r->root, 0, first, sizeof first))) return RL_OK;
    rl_status st = rl_pack_open(&r->pack, r->root, &t->aug, err);
    if (!st) st = rl_idmap_init(&r->pack_ids, r->pack->count, err);
    for (int64_t i = 0; !st && i < r->pack->count; i++)
        rl_idmap_put(&r->pack_ids, r->pack->ids[i], i);
    return st;
}

static int64_t pack_find(const root_t *r, const char *id)
{
    for (const char *s = id; s; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL) {
        int64_t i = rl_idmap_get(&r->pack_ids, s);
        if (i >= 0) return i;
    }
    return -1;
}

rl_status rl_thumbs_png(rl_thumbs *t, const char *id, uint8_t **png, size_t *n, int *width, int *height, rl_error *err)
{
    char path[RL_LIST_PATH_MAX * 2 + 2], name[RL_LIST_PATH_MAX];
    int64_t k;
    *png = NULL;
    if (idx_id(id, name, sizeof name, &k))
        for (int i = 0; i < t->nroots; i++) {
            snprintf(path, sizeof path, "%s/%s", t->roots[i].root, name);
            if (is_file(path)) return idx_thumb(t, path, k, png, n, width, height, err);
        }
    float *px = malloc((size_t)t->size * (size_t)t->size * 3 * sizeof *px);
    if (!px) return rl_fail(err, RL_ERR_NOMEM, "out of memory for a thumbnail");
    rl_status st = RL_OK;
    int found = 0;
    if (id[0] == '/') {
        if ((found = is_file(id))) st = file_thumb(t, id, px, png, n, width, height, err);
    } else {
        for (int i = 0; !found && i < t->nroots; i++) {
            snprintf(path, sizeof path, "%s/%s", t->roots[i].root, id);
            if ((found = is_file(path))) st = file_thumb(t, path, px, png, n, width, height, err);
        }
    }
    for (int i = 0; !found && !st && i < t->nroots; i++) {
        root_t *r = &t->roots[i];
        int64_t at;
        if ((st = pack_of(t, r, err)) || !r->pack || (at = pack_find(r, id)) < 0) continue;
        found = 1;
        st = rl_source_get(r->pack, at, 0, 0, 0, px, err);
        if (!st) st = float_thumb(t, px, png, n, width, height, err);
    }
    free(px);
    if (found || st) return st;
    char tried[1024] = "";
    for (int i = 0; i < t->nroots && strlen(tried) < sizeof tried - 64; i++)
        snprintf(tried + strlen(tried), sizeof tried - strlen(tried), "%s%s", i ? ", " : "", t->roots[i].root);
    return rl_fail(err, RL_ERR_IO, "image '%s' not found in %s", id, t->nroots ? tried : "(no folder to search)");
}
