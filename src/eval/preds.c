/* preds.c: reading and writing predictions files (format in preds.h and
 * docs/formats.md).  Reading trusts nothing: every dataset's presence, type
 * class, shape and values are checked before anything is used, so eval and
 * clean can index with the contents without further checks. */
#include "eval/preds.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/list.h"
#include "eval/idmap.h"
#include "util/h5.h"
#include "util/h5image.h"
#include "util/mem.h"
#include "util/text.h"

void rl_preds_free(rl_preds *p)
{
    if (!p) return;
    if (p->ids)
        for (int64_t i = 0; i < p->n; i++)
            free(p->ids[i]);
    free(p->ids);
    rl_free(p->labels);
    rl_free(p->topk_classes);
    rl_free(p->topk_scores);
    rl_free(p->logits);
    free(p->meta);
    memset(p, 0, sizeof *p);
}

rl_status rl_preds_alloc(rl_preds *p, int64_t n, int k, int num_classes, int with_logits, rl_error *err)
{
    memset(p, 0, sizeof *p);
    if (n < 1 || num_classes < 1 || k < 1 || k > num_classes)
        return rl_fail(err, RL_ERR_ARG, "predictions: need n >= 1 and 1 <= k <= num_classes, got n=%lld k=%d C=%d",
                       (long long)n, k, num_classes);
    p->n = n;
    p->k = k;
    p->num_classes = num_classes;
    strcpy(p->score_kind, "softmax");
    p->ids = calloc((size_t)n, sizeof *p->ids);
    p->labels = rl_alloc((size_t)n * sizeof *p->labels);
    p->topk_classes = rl_alloc((size_t)n * (size_t)k * sizeof *p->topk_classes);
    p->topk_scores = rl_alloc((size_t)n * (size_t)k * sizeof *p->topk_scores);
    if (with_logits) p->logits = rl_alloc((size_t)n * (size_t)num_classes * sizeof *p->logits);
    if (!p->ids || !p->labels || !p->topk_classes || !p->topk_scores || (with_logits && !p->logits)) {
        rl_preds_free(p);
        return rl_fail(err, RL_ERR_NOMEM, "predictions: out of memory for %lld rows of %d classes", (long long)n,
                       num_classes);
    }
    for (int64_t i = 0; i < n; i++)
        p->labels[i] = -1;
    return RL_OK;
}

rl_status rl_preds_select(const rl_preds *p, const uint8_t *keep, rl_preds *out, rl_error *err)
{
    int64_t n = 0;
    for (int64_t i = 0; i < p->n; i++)
        n += keep[i] != 0;
    rl_status st = rl_preds_alloc(out, n, p->k, p->num_classes, p->logits != NULL, err);
    if (st) return st;
    memcpy(out->score_kind, p->score_kind, sizeof out->score_kind);
    if (p->meta && !(out->meta = strdup(p->meta))) st = rl_fail(err, RL_ERR_NOMEM, "predictions: out of memory");
    const size_t k = (size_t)p->k, C = (size_t)p->num_classes;
    for (int64_t i = 0, o = 0; !st && i < p->n; i++) {
        if (!keep[i]) continue;
        if (!(out->ids[o] = strdup(p->ids[i]))) st = rl_fail(err, RL_ERR_NOMEM, "predictions: out of memory");
        out->labels[o] = p->labels[i];
        memcpy(out->topk_classes + o * k, p->topk_classes + i * k, k * sizeof *out->topk_classes);
        memcpy(out->topk_scores + o * k, p->topk_scores + i * k, k * sizeof *out->topk_scores);
        if (p->logits) memcpy(out->logits + o * C, p->logits + i * C, C * sizeof *out->logits);
        o++;
    }
    if (st) rl_preds_free(out);
    return st;
}

rl_status rl_preds_set_row(rl_preds *p, int64_t i, const char *id, int32_t label, const float *probs,
                           const float *logits, rl_error *err)
{
    RL_CHECK(i >= 0 && i < p->n && id && probs);
    if (label < -1 || label >= p->num_classes)
        return rl_fail(err, RL_ERR_ARG, "predictions: label %d of '%s' outside [-1, %d)", label, id, p->num_classes);
    char *copy = strdup(id);
    if (!copy) return rl_fail(err, RL_ERR_NOMEM, "predictions: out of memory for id '%s'", id);
    free(p->ids[i]);
    p->ids[i] = copy;
    p->labels[i] = label;
    /* Insertion into a sorted top-k: k is small and C at most a few thousand.
     * Strict '>' keeps the lower class first among equal scores. */
    int32_t *cls = p->topk_classes + i * p->k;
    float *sc = p->topk_scores + i * p->k;
    int have = 0;
    for (int c = 0; c < p->num_classes; c++) {
        float s = probs[c];
        if (have == p->k && !(s > sc[have - 1])) continue;
        int j = have < p->k ? have++ : have - 1;
        while (j > 0 && s > sc[j - 1]) {
            sc[j] = sc[j - 1];
            cls[j] = cls[j - 1];
            j--;
        }
        sc[j] = s;
        cls[j] = c;
    }
    if (p->logits && logits) memcpy(p->logits + i * p->num_classes, logits, (size_t)p->num_classes * sizeof *logits);
    return RL_OK;
}

/* ---- reading ---- */

/* Shape and type class of dataset name; a missing dataset names the file. */
static rl_status ds_info(hid_t file, const char *name, const char *path, int *rank, int64_t *dims, H5T_class_t *cls,
                         rl_error *err)
{
    if (!rl_h5_exists(file, name))
        return rl_fail(err, RL_ERR_FORMAT, "%s: no dataset '%s' (see docs/formats.md, predictions files)", path, name);
    rl_status st = rl_h5_shape(file, name, rank, dims, path, err);
    if (st) return st;
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t type = dset >= 0 ? H5Dget_type(dset) : -1;
    *cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (type >= 0) H5Tclose(type);
    if (dset >= 0) H5Dclose(dset);
    if (*cls == H5T_NO_CLASS) return rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' has an unreadable type", path, name);
    return RL_OK;
}

/* Requires dataset name to have the given type class and shape (rank 0 = scalar). */
static rl_status ds_expect(hid_t file, const char *name, const char *path, H5T_class_t want, int rank_want,
                           const int64_t *dims_want, rl_error *err)
{
    int rank;
    int64_t dims[8];
    H5T_class_t cls;
    rl_status st = ds_info(file, name, path, &rank, dims, &cls, err);
    if (st) return st;
    if (cls != want)
        return rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' must hold %s", path, name,
                       want == H5T_INTEGER ? "integers"
                       : want == H5T_FLOAT ? "floats"
                                           : "strings");
    int ok = rank == rank_want;
    for (int i = 0; ok && i < rank; i++)
        ok = dims[i] == dims_want[i];
    if (!ok) {
        char got[128] = "", exp[128] = "";
        for (int i = 0; i < rank; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "", (long long)dims[i]);
        for (int i = 0; i < rank_want; i++)
            snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%s%lld", i ? "," : "", (long long)dims_want[i]);
        return rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' has shape [%s], expected [%s]", path, name, got, exp);
    }
    return RL_OK;
}

/* Ids are UTF-8, hold no tab or newline, and appear once (checked with a hash
 * map: linear in n). */
static rl_status check_ids(char *const *ids, int64_t n, const char *path, rl_error *err)
{
    for (int64_t i = 0; i < n; i++) {
        size_t len = strlen(ids[i]), bad = rl_utf8_check(ids[i], len);
        if (!len || strpbrk(ids[i], "\t\n\r"))
            return rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'ids' row %lld is empty or holds a tab or newline", path,
                           (long long)i);
        if (bad)
            return rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'ids' row %lld is not UTF-8 (byte %zu)", path, (long long)i,
                           bad);
        if (len > RL_LIST_PATH_MAX)
            return rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'ids' row %lld has %zu bytes, more than %d", path,
                           (long long)i, len, RL_LIST_PATH_MAX);
    }
    rl_idmap map;
    rl_status st = rl_idmap_init(&map, n, err);
    for (int64_t i = 0; i < n && !st; i++) {
        int64_t prev = rl_idmap_put(&map, ids[i], i);
        if (prev >= 0)
            st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'ids' has '%.200s' twice (rows %lld and %lld)", path, ids[i],
                         (long long)prev, (long long)i);
    }
    rl_idmap_free(&map);
    return st;
}

/* Reads a string dataset of n elements, variable- or fixed-length, into ids. */
static rl_status read_ids(hid_t file, const char *path, int64_t n, char **ids, rl_error *err)
{
    rl_status st = RL_OK;
    hid_t dset = H5Dopen2(file, "ids", H5P_DEFAULT);
    hid_t ftype = dset >= 0 ? H5Dget_type(dset) : -1;
    hid_t mtype = H5Tcopy(H5T_C_S1);
    char **raw = NULL;
    char *buf = NULL;
    if (ftype < 0) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: cannot open dataset 'ids'", path);
        goto done;
    }
    H5Tset_cset(mtype, H5Tget_cset(ftype));
    if (H5Tis_variable_str(ftype) > 0) {
        if ((st = rl_h5_check_vlen(file, dset, "ids", path, err))) goto done;
        H5Tset_size(mtype, H5T_VARIABLE);
        raw = calloc((size_t)n, sizeof *raw);
        if (!raw) {
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for %lld ids", path, (long long)n);
            goto done;
        }
        if (H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: cannot read dataset 'ids' (corrupt?)", path);
            goto done;
        }
        for (int64_t i = 0; i < n && !st; i++)
            if (!(ids[i] = strdup(raw[i] ? raw[i] : "")))
                st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for ids", path);
        hid_t space = H5Dget_space(dset);
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, raw);
        H5Sclose(space);
    } else {
        size_t sz = H5Tget_size(ftype) + 1;
        H5Tset_size(mtype, sz);
        H5Tset_strpad(mtype, H5T_STR_NULLTERM);
        buf = calloc((size_t)n, sz);
        if (!buf) {
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for %lld ids", path, (long long)n);
            goto done;
        }
        if (H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: cannot read dataset 'ids' (corrupt?)", path);
            goto done;
        }
        for (int64_t i = 0; i < n && !st; i++)
            if (!(ids[i] = strdup(buf + (size_t)i * sz)))
                st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for ids", path);
    }
    if (!st) st = check_ids(ids, n, path, err);
done:
    free(raw);
    free(buf);
    H5Tclose(mtype);
    if (ftype >= 0) H5Tclose(ftype);
    if (dset >= 0) H5Dclose(dset);
    return st;
}

/* A scalar string dataset (variable- or fixed-length) into a malloc'ed copy. */
static rl_status read_text(hid_t file, const char *name, const char *path, char **out, rl_error *err)
{
    int64_t none[1] = {0};
    rl_status st = ds_expect(file, name, path, H5T_STRING, 0, none, err);
    return st ? st : rl_h5_read_string(file, name, out, path, err);
}

static rl_status validate(const rl_preds *p, const char *path, rl_error *err)
{
    const int k = p->k, C = p->num_classes;
    int64_t *seen = malloc((size_t)C * sizeof *seen);
    if (!seen) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    for (int c = 0; c < C; c++)
        seen[c] = -1;
    rl_status st = RL_OK;
    for (int64_t i = 0; i < p->n && !st; i++) {
        if (p->labels[i] < -1 || p->labels[i] >= C)
            st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'labels' row %lld is %d, outside [-1, %d) (num_classes %d)",
                         path, (long long)i, p->labels[i], C, C);
        for (int j = 0; j < k && !st; j++) {
            int32_t c = p->topk_classes[i * k + j];
            float s = p->topk_scores[i * k + j];
            if (c < 0 || c >= C)
                st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'topk_classes' [%lld,%d] is %d, outside [0, %d)", path,
                             (long long)i, j, c, C);
            else if (seen[c] == i)
                st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'topk_classes' row %lld lists class %d twice", path,
                             (long long)i, c);
            else if (!isfinite(s) || s < 0.0f || s > 1.0f + 1e-5f)
                st = rl_fail(err, RL_ERR_FORMAT,
                             "%s: dataset 'topk_scores' [%lld,%d] is %g, not a probability in [0, 1]", path,
                             (long long)i, j, (double)s);
            else if (j > 0 && s > p->topk_scores[i * k + j - 1])
                st = rl_fail(err, RL_ERR_FORMAT,
                             "%s: dataset 'topk_scores' row %lld is not sorted best first (column %d > column %d)",
                             path, (long long)i, j, j - 1);
            if (!st) seen[c] = i;
        }
    }
    if (!st && p->logits)
        for (int64_t i = 0; i < p->n * C && !st; i++)
            if (!isfinite(p->logits[i]))
                st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'logits' row %lld holds a non-finite value", path,
                             (long long)(i / C));
    free(seen);
    return st;
}

rl_status rl_preds_read(const char *path, rl_preds *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    hid_t file = rl_h5_open_read(path, err);
    if (file < 0) return err ? err->code : RL_ERR_IO;
    rl_preds p;
    memset(&p, 0, sizeof p);
    rl_status st;
    int rank;
    int64_t dims[8];
    H5T_class_t cls;
    int64_t C = 0;
    char *kind = NULL;
    int64_t none[1] = {0};

    if ((st = ds_expect(file, "num_classes", path, H5T_INTEGER, 0, none, err))) goto fail;
    if ((st = rl_h5_read_i64(file, "num_classes", &C, 1, path, err))) goto fail;
    if (C < 1 || C > RL_MAX_CLASSES) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'num_classes' is %lld, must be in 1..%d", path, (long long)C,
                     RL_MAX_CLASSES);
        goto fail;
    }
    if ((st = ds_info(file, "topk_classes", path, &rank, dims, &cls, err))) goto fail;
    if (rank != 2 || dims[0] < 1 || dims[1] < 1 || dims[1] > C) {
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: dataset 'topk_classes' must have shape [N, k] with N >= 1 and 1 <= k <= num_classes (%lld)",
                     path, (long long)C);
        goto fail;
    }
    int64_t n = dims[0];
    int k = (int)dims[1];
    int with_logits = rl_h5_exists(file, "logits");
    if ((st = rl_preds_alloc(&p, n, k, (int)C, with_logits, err))) goto fail;
    int64_t d1[1] = {n}, d2[2] = {n, k}, dc[2] = {n, C};
    if ((st = ds_expect(file, "ids", path, H5T_STRING, 1, d1, err))) goto fail;
    if ((st = ds_expect(file, "labels", path, H5T_INTEGER, 1, d1, err))) goto fail;
    if ((st = ds_expect(file, "topk_classes", path, H5T_INTEGER, 2, d2, err))) goto fail;
    if ((st = ds_expect(file, "topk_scores", path, H5T_FLOAT, 2, d2, err))) goto fail;
    if (with_logits && (st = ds_expect(file, "logits", path, H5T_FLOAT, 2, dc, err))) goto fail;
    if ((st = read_ids(file, path, n, p.ids, err))) goto fail;
    if ((st = rl_h5_read_i32(file, "labels", p.labels, n, path, err))) goto fail;
    if ((st = rl_h5_read_i32(file, "topk_classes", p.topk_classes, n * k, path, err))) goto fail;
    if ((st = rl_h5_read_f32(file, "topk_scores", p.topk_scores, n * k, path, err))) goto fail;
    if (with_logits && (st = rl_h5_read_f32(file, "logits", p.logits, n * C, path, err))) goto fail;
    if ((st = read_text(file, "score_kind", path, &kind, err))) goto fail;
    if (strcmp(kind, "softmax") && strcmp(kind, "sigmoid")) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset 'score_kind' is '%.40s', expected 'softmax' or 'sigmoid'", path,
                     kind);
        goto fail;
    }
    strcpy(p.score_kind, kind);
    if (rl_h5_exists(file, "meta") && (st = read_text(file, "meta", path, &p.meta, err))) goto fail;
    if ((st = validate(&p, path, err))) goto fail;
    free(kind);
    H5Fclose(file);
    *out = p;
    return RL_OK;
fail:
    free(kind);
    rl_preds_free(&p);
    H5Fclose(file);
    return st;
}

/* ---- writing ---- */

static rl_status write_ids(hid_t file, const rl_preds *p, const char *path, rl_error *err)
{
    hsize_t d = (hsize_t)p->n;
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t space = H5Screate_simple(1, &d, NULL);
    hid_t dset = H5Dcreate2(file, "ids", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = dset >= 0 ? H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->ids) : -1;
    if (dset >= 0) H5Dclose(dset);
    H5Sclose(space);
    H5Tclose(type);
    if (rc < 0) return rl_fail(err, RL_ERR_IO, "%s: cannot write dataset 'ids' (disk full?)", path);
    return RL_OK;
}

rl_status rl_preds_write(const char *path, const rl_preds *p, rl_error *err)
{
    for (int64_t i = 0; i < p->n; i++)
        if (!p->ids[i]) return rl_fail(err, RL_ERR_ARG, "%s: predictions row %lld has no id", path, (long long)i);
    /* built in memory and committed atomically (util/h5image.h): a full disk
     * leaves the old file, never half a new one */
    hid_t file = rl_h5image_create(path, err);
    if (file < 0) return err ? err->code : RL_ERR_IO;
    int64_t d1[1] = {p->n}, d2[2] = {p->n, p->k}, dc[2] = {p->n, p->num_classes};
    int32_t C = p->num_classes;
    rl_status st = write_ids(file, p, path, err);
    if (!st) st = rl_h5_write_i32(file, "labels", 1, d1, p->labels, path, err);
    if (!st) st = rl_h5_write_i32(file, "topk_classes", 2, d2, p->topk_classes, path, err);
    if (!st) st = rl_h5_write_f32(file, "topk_scores", 2, d2, p->topk_scores, path, err);
    if (!st) st = rl_h5_write_i32(file, "num_classes", 0, NULL, &C, path, err);
    if (!st) st = rl_h5_write_string(file, "score_kind", p->score_kind, path, err);
    if (!st && p->logits) st = rl_h5_write_f32(file, "logits", 2, dc, p->logits, path, err);
    if (!st && p->meta) st = rl_h5_write_string(file, "meta", p->meta, path, err);
    if (st) {
        rl_h5image_discard(file);
        return st;
    }
    return rl_h5image_commit(file, path, err);
}
