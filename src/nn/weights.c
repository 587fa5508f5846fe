/* weights.c: strict torchvision-compatible HDF5 weight files (see weights.h). */
#include "nn/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/h5.h"
#include "util/h5image.h"
#include "util/mem.h"

/* (OC, KH, KW, C) <-> (OC, C, KH, KW) */
static void ohwi_to_oihw(const float *src, float *dst, const int *d)
{
    int OC = d[0], C = d[1], KH = d[2], KW = d[3];
    for (int o = 0; o < OC; o++)
        for (int h = 0; h < KH; h++)
            for (int w = 0; w < KW; w++)
                for (int c = 0; c < C; c++)
                    dst[(((size_t)o * C + c) * KH + h) * KW + w] = src[(((size_t)o * KH + h) * KW + w) * C + c];
}

static void oihw_to_ohwi(const float *src, float *dst, const int *d)
{
    int OC = d[0], C = d[1], KH = d[2], KW = d[3];
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < KH; h++)
                for (int w = 0; w < KW; w++)
                    dst[(((size_t)o * KH + h) * KW + w) * C + c] = src[(((size_t)o * C + c) * KH + h) * KW + w];
}

rl_status rl_weights_write(hid_t file, const char *prefix, const rl_param_table *t, const char *path, rl_error *err)
{
    size_t max = 0;
    for (int i = 0; i < t->count; i++)
        if (t->entries[i].conv_layout && t->entries[i].count > max) max = t->entries[i].count;
    float *tmp = max ? rl_alloc_checked(sizeof(float) * max, "weight conversion", err) : NULL;
    if (max && !tmp) return RL_ERR_NOMEM;
    rl_status st = RL_OK;
    for (int i = 0; i < t->count && !st; i++) {
        const rl_param *p = &t->entries[i];
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        int64_t dims[4];
        for (int k = 0; k < p->rank; k++)
            dims[k] = p->dims[k];
        if (p->kind == RL_PARAM_COUNTER) {
            st = rl_h5_write_i64(file, name, 0, NULL, p->counter, path, err);
        } else if (p->conv_layout) {
            ohwi_to_oihw(p->data, tmp, p->dims);
            st = rl_h5_write_f32(file, name, p->rank, dims, tmp, path, err);
        } else {
            st = rl_h5_write_f32(file, name, p->rank, dims, p->data, path, err);
        }
    }
    rl_free(tmp);
    return st;
}

typedef struct {
    rl_param_table *t;
    const char *prefix;
    char extra[256];
} extra_scan;

static int find_extra(const char *name, void *ctx)
{
    extra_scan *s = ctx;
    size_t k = strlen(s->prefix);
    if (strncmp(name, s->prefix, k)) return 0;
    if (!rl_params_find(s->t, name + k)) {
        snprintf(s->extra, sizeof s->extra, "%s", name);
        return 1;
    }
    return 0;
}

static void shape_text(char *buf, size_t n, int rank, const int64_t *d)
{
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %lld" : "%lld", (long long)d[i]);
    if (used < n) snprintf(buf + used, n - used, ")");
}

rl_status rl_weights_read(hid_t file, const char *prefix, rl_param_table *t, const char *path, rl_error *err)
{
    size_t max = 0;
    for (int i = 0; i < t->count; i++)
        if (t->entries[i].conv_layout && t->entries[i].count > max) max = t->entries[i].count;
    float *tmp = max ? rl_alloc_checked(sizeof(float) * max, "weight conversion", err) : NULL;
    if (max && !tmp) return RL_ERR_NOMEM;
    rl_status st = RL_OK;
    for (int i = 0; i < t->count && !st; i++) {
        rl_param *p = &t->entries[i];
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        if (!rl_h5_exists(file, name)) {
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: tensor '%s' is missing (the model expects shape %s); "
                         "was the file written for another architecture?",
                         path, name, p->rank ? "as in torchvision" : "()");
            break;
        }
        int rank;
        int64_t dims[8];
        st = rl_h5_shape(file, name, &rank, dims, path, err);
        if (st) break;
        int64_t want[4];
        for (int k = 0; k < p->rank; k++)
            want[k] = p->dims[k];
        int same = rank == p->rank;
        for (int k = 0; same && k < rank; k++)
            same = dims[k] == want[k];
        if (!same) {
            char got[96], exp[96];
            shape_text(got, sizeof got, rank, dims);
            shape_text(exp, sizeof exp, p->rank, want);
            st =
                rl_fail(err, RL_ERR_FORMAT, "%s: tensor '%s' has shape %s, the model expects %s", path, name, got, exp);
            break;
        }
        if (p->kind == RL_PARAM_COUNTER) {
            st = rl_h5_read_i64(file, name, p->counter, 1, path, err);
            if (!st && *p->counter < 0)
                st = rl_fail(err, RL_ERR_FORMAT, "%s: counter '%s' is %lld, must be >= 0", path, name,
                             (long long)*p->counter);
        } else {
            float *dst = p->conv_layout ? tmp : p->data;
            st = rl_h5_read_f32(file, name, dst, (int64_t)p->count, path, err);
            /* a NaN or Inf (or a float64 beyond float's range, read as Inf) would
             * silently poison every prediction made with these weights */
            for (size_t k = 0; !st && k < p->count; k++)
                if (!isfinite(dst[k]))
                    st = rl_fail(err, RL_ERR_FORMAT, "%s: tensor '%s' holds a non-finite value (%g) at element %zu",
                                 path, name, (double)dst[k], k);
            if (!st && p->conv_layout) oihw_to_ohwi(tmp, p->data, p->dims);
        }
    }
    rl_free(tmp);
    if (st) return st;
    extra_scan scan = {t, prefix, ""};
    st = rl_h5_list_datasets(file, find_extra, &scan, path, err);
    if (st == RL_OK && scan.extra[0])
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: unexpected tensor '%s' that the model does not have; "
                       "was the file written for another architecture?",
                       path, scan.extra);
    if (st && scan.extra[0])
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: unexpected tensor '%s' that the model does not have; "
                       "was the file written for another architecture?",
                       path, scan.extra);
    return st;
}

rl_status rl_weights_save(const char *path, const rl_param_table *t, rl_error *err)
{
    /* Built in memory, then committed atomically (util/h5image.h): a full
     * disk leaves the old file and no HDF5 file open. */
    hid_t file = rl_h5image_create(path, err);
    if (file < 0) return RL_ERR_NOMEM;
    rl_status st = rl_weights_write(file, "", t, path, err);
    if (st) {
        rl_h5image_discard(file);
        return st;
    }
    return rl_h5image_commit(file, path, err);
}

rl_status rl_weights_load(const char *path, rl_param_table *t, rl_error *err)
{
    hid_t file = rl_h5_open_read(path, err);
    if (file < 0) return err ? err->code : RL_ERR_IO;
    rl_status st = rl_weights_read(file, "", t, path, err);
    H5Fclose(file);
    return st;
}
