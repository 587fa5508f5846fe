/* checkpoint.c: checked, exact-resume training checkpoints (see checkpoint.h). */
#include "train/checkpoint.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nn/weights.h"
#include "util/h5.h"
#include "util/h5image.h"

#define FORMAT_TAG "relab-checkpoint 2"
#define FORMAT_TAG_1 "relab-checkpoint 1"
#define NUM_SUMS 5

void rl_checkpoint_path(const char *dir, int64_t step, char *out, size_t n)
{
    snprintf(out, n, "%s/ckpt-%010lld.h5", dir, (long long)step);
}

int rl_checkpoint_name_step(const char *name, int64_t *step)
{
    if (strncmp(name, "ckpt-", 5)) return 0;
    const char *p = name + 5;
    int64_t v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
        v = v * 10 + (*p - '0');
    if (!digits || strcmp(p, ".h5")) return 0;
    *step = v;
    return 1;
}

static int newer_first(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

int rl_checkpoint_list(const char *dir, int64_t *steps, int max)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max)
        if (rl_checkpoint_name_step(e->d_name, &steps[n])) n++;
    closedir(d);
    qsort(steps, (size_t)n, sizeof *steps, newer_first);
    return n;
}

/* A table whose entries are the learnable parameters with data pointing at
 * their momentum buffers, so the weight-file code writes and reads them. */
static rl_status velocity_table(const rl_param_table *t, rl_sgd *sgd, rl_param_table *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    out->entries = calloc((size_t)t->count + 1, sizeof(rl_param));
    if (!out->entries) return rl_fail(err, RL_ERR_NOMEM, "out of memory for the checkpoint table");
    for (int i = 0; i < t->count; i++) {
        const rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_WEIGHT) continue;
        rl_param *q = &out->entries[out->count++];
        *q = *p;
        q->data = rl_sgd_velocity(sgd, t, p);
        q->grad = NULL;
    }
    out->capacity = out->count;
    return RL_OK;
}

/* ---- the checksummed items, in their fixed order ---- */

typedef struct {
    const rl_param_table *t, *vt;
    const rl_checkpoint_state *s;
    const char *recipe;
} items;

static int num_items(const items *it)
{
    return it->t->count + it->vt->count + 4;
}

/* Item i: its name (in buf) and bytes. */
static void item_at(const items *it, int i, char *buf, size_t n, const void **data, size_t *bytes)
{
    const rl_param_table *tables[2] = {it->t, it->vt};
    const char *prefixes[2] = {"model/", "optim/momentum/"};
    for (int k = 0; k < 2; k++) {
        if (i < tables[k]->count) {
            const rl_param *p = &tables[k]->entries[i];
            snprintf(buf, n, "%s%s", prefixes[k], p->name);
            *data = p->kind == RL_PARAM_COUNTER ? (const void *)p->counter : (const void *)p->data;
            *bytes = p->kind == RL_PARAM_COUNTER ? sizeof(int64_t) : sizeof(float) * p->count;
            return;
        }
        i -= tables[k]->count;
    }
    static const char *const names[] = {"state/epoch..seed", "state/epoch_sums", "recipe", "state/run_id"};
    snprintf(buf, n, "%s", names[i]);
    if (i == 0) *data = &it->s->pos, *bytes = sizeof it->s->pos;
    if (i == 1) *data = &it->s->sums, *bytes = sizeof it->s->sums;
    if (i == 2) *data = it->recipe, *bytes = strlen(it->recipe);
    if (i == 3) *data = it->s->run_id, *bytes = strlen(it->s->run_id);
}

static int64_t item_crc(const items *it, int i, char *name, size_t n)
{
    const void *data = NULL;
    size_t bytes = 0;
    item_at(it, i, name, n, &data, &bytes);
    uLong c = crc32(0L, Z_NULL, 0);
    const unsigned char *p = data;
    /* zlib takes uInt lengths: feed large tensors in 1 GiB pieces. */
    for (size_t done = 0; done < bytes;) {
        size_t k = bytes - done > (1u << 30) ? (1u << 30) : bytes - done;
        c = crc32(c, p + done, (uInt)k);
        done += k;
    }
    return (int64_t)c;
}

/* ---- float64 datasets (the sums), which util/h5 does not cover ---- */

static rl_status write_f64(hid_t f, const char *name, const double *v, int n, const char *path, rl_error *err)
{
    hsize_t d = (hsize_t)n;
    hid_t space = H5Screate_simple(1, &d, NULL), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = H5Dcreate2(f, name, H5T_IEEE_F64LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(lcpl);
    H5Sclose(space);
    return rc < 0 ? rl_fail(err, RL_ERR_IO, "%s: cannot write '%s'", path, name) : RL_OK;
}

static rl_status read_f64(hid_t f, const char *name, double *v, int n, const char *path, rl_error *err)
{
    int rank = 0;
    int64_t dims[8];
    rl_status st = rl_h5_shape(f, name, &rank, dims, path, err);
    if (st) return st;
    if (rank != 1 || dims[0] != n) return rl_fail(err, RL_ERR_FORMAT, "%s: '%s' is not %d numbers", path, name, n);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (ds >= 0) H5Dclose(ds);
    return rc < 0 ? rl_fail(err, RL_ERR_FORMAT, "%s: cannot read '%s'", path, name) : RL_OK;
}

/* A string dataset that must be one scalar string. */
static rl_status read_string(hid_t f, const char *name, char **out, const char *path, rl_error *err)
{
    int rank = 0;
    int64_t dims[8];
    *out = NULL;
    rl_status st = rl_h5_shape(f, name, &rank, dims, path, err);
    if (!st && rank != 0) st = rl_fail(err, RL_ERR_FORMAT, "%s: '%s' is not a single string", path, name);
    if (!st) st = rl_h5_read_string(f, name, out, path, err);
    return st;
}

/* ---- saving ---- */

/* RL_ERR_NUMERIC naming the first tensor with a NaN or Inf. */
static rl_status check_finite(const rl_param_table *t, const char *what, const char *path, rl_error *err)
{
    for (int i = 0; i < t->count; i++) {
        const rl_param *p = &t->entries[i];
        if (p->kind == RL_PARAM_COUNTER) continue;
        for (size_t j = 0; j < p->count; j++)
            if (!isfinite(p->data[j]))
                return rl_fail(err, RL_ERR_NUMERIC, "%s: %s %s[%zu] = %g; the model diverged, so it is not saved", path,
                               what, p->name, j, (double)p->data[j]);
    }
    return RL_OK;
}

static rl_status write_all(hid_t f, const items *it, const char *path, rl_error *err)
{
    const rl_checkpoint_state *s = it->s;
    const double sums[NUM_SUMS] = {s->sums.loss_sum, s->sums.correct, s->sums.seen, s->sums.images, s->sums.seconds};
    rl_status st = rl_h5_write_string(f, "format", FORMAT_TAG, path, err);
    if (!st) st = rl_weights_write(f, "model/", it->t, path, err);
    if (!st) st = rl_weights_write(f, "optim/momentum/", it->vt, path, err);
    if (!st) st = rl_h5_write_i64(f, "state/epoch", 0, NULL, &s->pos.epoch, path, err);
    if (!st) st = rl_h5_write_i64(f, "state/batch", 0, NULL, &s->pos.batch, path, err);
    if (!st) st = rl_h5_write_i64(f, "state/step", 0, NULL, &s->pos.step, path, err);
    if (!st) st = rl_h5_write_i64(f, "state/seed", 0, NULL, &s->pos.seed, path, err);
    if (!st) st = write_f64(f, "state/epoch_sums", sums, NUM_SUMS, path, err);
    if (!st) st = rl_h5_write_string(f, "state/run_id", s->run_id, path, err);
    if (!st) st = rl_h5_write_string(f, "recipe", it->recipe, path, err);
    int n = num_items(it);
    int64_t *crc = st ? NULL : malloc(sizeof *crc * (size_t)n);
    if (!st && !crc) st = rl_fail(err, RL_ERR_NOMEM, "out of memory for checksums");
    char name[128];
    for (int i = 0; !st && i < n; i++)
        crc[i] = item_crc(it, i, name, sizeof name);
    int64_t dims[1] = {n};
    if (!st) st = rl_h5_write_i64(f, "integrity/crc32", 1, dims, crc, path, err);
    free(crc);
    return st;
}

rl_status rl_checkpoint_save(const char *path, const rl_param_table *t, rl_sgd *sgd, const rl_checkpoint_state *s,
                             const char *recipe_text, rl_error *err)
{
    rl_param_table vt;
    rl_status st = velocity_table(t, sgd, &vt, err);
    if (st) return st;
    items it = {t, &vt, s, recipe_text ? recipe_text : ""};
    st = check_finite(t, "weight", path, err);
    if (!st) st = check_finite(&vt, "momentum of", path, err);
    hid_t f = st ? -1 : rl_h5image_create(path, err);
    if (!st && f < 0) st = RL_ERR_NOMEM;
    if (!st) st = write_all(f, &it, path, err);
    if (!st)
        st = rl_h5image_commit(f, path, err);
    else
        rl_h5image_discard(f);
    free(vt.entries);
    return st;
}

/* ---- loading ---- */

typedef struct {
    hid_t f;
    char bad[512];
} type_scan;

/* Every tensor under model/ and optim/ is float32, every counter and state
 * field int64: HDF5 would otherwise convert int-typed weights silently. */
static int check_type(const char *name, void *ctx)
{
    type_scan *ts = ctx;
    int tensor = !strncmp(name, "model/", 6) || !strncmp(name, "optim/", 6);
    int counter = tensor && strstr(name, "num_batches_tracked") != NULL;
    int state = !strncmp(name, "state/", 6) && strcmp(name, "state/epoch_sums") && strcmp(name, "state/run_id");
    if (!tensor && !state) return 0;
    hid_t ds = H5Dopen2(ts->f, name, H5P_DEFAULT);
    hid_t ty = ds < 0 ? -1 : H5Dget_type(ds);
    H5T_class_t cls = ty < 0 ? H5T_NO_CLASS : H5Tget_class(ty);
    size_t size = ty < 0 ? 0 : H5Tget_size(ty);
    if (ty >= 0) H5Tclose(ty);
    if (ds >= 0) H5Dclose(ds);
    int want_int = counter || state;
    if (want_int ? (cls == H5T_INTEGER && size == 8) : (cls == H5T_FLOAT && size == 4)) return 0;
    snprintf(ts->bad, sizeof ts->bad, "'%.300s' is %s of %zu bytes, expected %s", name,
             cls == H5T_INTEGER ? "an integer"
             : cls == H5T_FLOAT ? "a float"
                                : "not a number",
             size, want_int ? "int64" : "float32");
    return 1;
}

static rl_status check_types(hid_t f, const char *path, rl_error *err)
{
    type_scan ts = {f, ""};
    rl_status st = rl_h5_list_datasets(f, check_type, &ts, path, err);
    if (ts.bad[0]) return rl_fail(err, RL_ERR_FORMAT, "%s: %s", path, ts.bad);
    return st;
}

static rl_status check_position(const rl_train_position *p, const char *path, rl_error *err)
{
    /* Wide bounds: the trainer checks them against the recipe; these keep
     * arithmetic on them exact and allocation-free. */
    const int64_t big = (int64_t)1 << 40;
    if (p->epoch < 0 || p->epoch > 100000 || p->batch < 0 || p->batch >= big || p->step < 0 || p->step >= big ||
        p->seed < 0 || p->batch > p->step)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: impossible training position (epoch %lld, batch %lld, step %lld, seed %lld); hint: "
                       "the file was changed or damaged; resume from an older checkpoint",
                       path, (long long)p->epoch, (long long)p->batch, (long long)p->step, (long long)p->seed);
    return RL_OK;
}

static rl_status check_sums(const rl_epoch_sums *s, const char *path, rl_error *err)
{
    const double v[NUM_SUMS] = {s->loss_sum, s->correct, s->seen, s->images, s->seconds};
    for (int i = 0; i < NUM_SUMS; i++)
        if (!(isfinite(v[i]) && v[i] >= 0 && v[i] < 1e18))
            return rl_fail(err, RL_ERR_FORMAT, "%s: state/epoch_sums[%d] = %g is not a count", path, i, v[i]);
    if (s->correct > s->seen) return rl_fail(err, RL_ERR_FORMAT, "%s: more correct than seen images", path);
    return RL_OK;
}

static rl_status read_state(hid_t f, const char *path, int v2, rl_checkpoint_state *s, rl_error *err)
{
    memset(s, 0, sizeof *s);
    rl_status st = rl_h5_read_i64(f, "state/epoch", &s->pos.epoch, 1, path, err);
    if (!st) st = rl_h5_read_i64(f, "state/batch", &s->pos.batch, 1, path, err);
    if (!st) st = rl_h5_read_i64(f, "state/step", &s->pos.step, 1, path, err);
    if (!st) st = rl_h5_read_i64(f, "state/seed", &s->pos.seed, 1, path, err);
    if (!st) st = check_position(&s->pos, path, err);
    if (st || !v2) return st;
    double sums[NUM_SUMS];
    char *id = NULL;
    st = read_f64(f, "state/epoch_sums", sums, NUM_SUMS, path, err);
    if (!st) s->sums = (rl_epoch_sums){sums[0], sums[1], sums[2], sums[3], sums[4]};
    if (!st) st = check_sums(&s->sums, path, err);
    if (!st) st = read_string(f, "state/run_id", &id, path, err);
    if (!st && strlen(id) >= sizeof s->run_id) st = rl_fail(err, RL_ERR_FORMAT, "%s: state/run_id too long", path);
    if (!st) snprintf(s->run_id, sizeof s->run_id, "%s", id);
    free(id);
    return st;
}

static rl_status verify(hid_t f, const items *it, const char *path, rl_error *err)
{
    int n = num_items(it), rank = 0;
    int64_t dims[8];
    rl_status st = rl_h5_shape(f, "integrity/crc32", &rank, dims, path, err);
    if (!st && (rank != 1 || dims[0] != n))
        st = rl_fail(err, RL_ERR_FORMAT, "%s: integrity/crc32 has the wrong length for this model", path);
    int64_t *crc = st ? NULL : malloc(sizeof *crc * (size_t)n);
    if (!st && !crc) st = rl_fail(err, RL_ERR_NOMEM, "out of memory for checksums");
    if (!st) st = rl_h5_read_i64(f, "integrity/crc32", crc, n, path, err);
    char name[128];
    for (int i = 0; !st && i < n; i++)
        if (item_crc(it, i, name, sizeof name) != crc[i])
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: checksum mismatch in %s: the file was changed or damaged after it was written", path,
                         name);
    free(crc);
    return st;
}

/* *v2 = 1 for format 2, 0 for format 1; any other tag is an error. */
static rl_status check_format(hid_t f, const char *path, int *v2, rl_error *err)
{
    char *tag = NULL;
    rl_status st = rl_h5_exists(f, "format") ? read_string(f, "format", &tag, path, NULL) : RL_ERR_FORMAT;
    *v2 = !st && !strcmp(tag, FORMAT_TAG);
    int ok = !st && (*v2 || !strcmp(tag, FORMAT_TAG_1));
    free(tag);
    if (!ok)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: not a relab checkpoint (no '%s' tag); for plain weights use a weights file", path,
                       FORMAT_TAG);
    return RL_OK;
}

rl_status rl_checkpoint_load(const char *path, rl_param_table *t, rl_sgd *sgd, rl_checkpoint_state *s,
                             char **recipe_text, rl_error *err)
{
    if (recipe_text) *recipe_text = NULL;
    hid_t f = rl_h5_open_read(path, err);
    if (f < 0) return err ? err->code : RL_ERR_IO;
    rl_param_table vt = {0};
    rl_checkpoint_state state;
    char *recipe = NULL;
    int v2 = 0;
    rl_status st = check_format(f, path, &v2, err);
    if (!st) st = check_types(f, path, err);
    if (!st) st = rl_weights_read(f, "model/", t, path, err);
    if (!st && sgd) st = velocity_table(t, sgd, &vt, err);
    if (!st && sgd) st = rl_weights_read(f, "optim/momentum/", &vt, path, err);
    if (!st) st = read_state(f, path, v2, &state, err);
    if (!st) st = read_string(f, "recipe", &recipe, path, err);
    if (!st && v2 && sgd) {
        items it = {t, &vt, &state, recipe};
        st = verify(f, &it, path, err);
    }
    if (!st) st = check_finite(t, "weight", path, err);
    if (!st && sgd) st = check_finite(&vt, "momentum of", path, err);
    H5Fclose(f);
    free(vt.entries);
    if (!st && s) *s = state;
    if (!st && recipe_text)
        *recipe_text = recipe;
    else
        free(recipe);
    return st;
}

rl_status rl_checkpoint_verify_model(const char *path, const rl_param_table *t, rl_error *err)
{
    hid_t f = rl_h5_open_read(path, err);
    if (f < 0) return err ? err->code : RL_ERR_IO;
    int v2 = 0, rank = 0, learnable = 0;
    for (int i = 0; i < t->count; i++)
        learnable += t->entries[i].kind == RL_PARAM_WEIGHT;
    /* Every item but the momentum tensors, which a reader of the weights does
     * not load: a table with their count and no entries skips them. */
    const rl_param_table momentum = {.count = learnable};
    const int n = t->count + learnable + 4;
    int64_t dims[8], *crc = NULL;
    rl_checkpoint_state state;
    char *recipe = NULL;
    rl_status st = check_format(f, path, &v2, err);
    if (!st) st = check_types(f, path, err);
    /* a format 1 file made by hand for its weights may lack the state */
    if (!st && (v2 || rl_h5_exists(f, "state"))) st = read_state(f, path, v2, &state, err);
    if (!st) st = read_string(f, "recipe", &recipe, path, err);
    if (!st && v2) st = rl_h5_shape(f, "integrity/crc32", &rank, dims, path, err);
    if (!st && v2 && (rank != 1 || dims[0] != n))
        st = rl_fail(err, RL_ERR_FORMAT, "%s: integrity/crc32 does not fit this model", path);
    if (!st && v2 && !(crc = malloc(sizeof *crc * (size_t)n)))
        st = rl_fail(err, RL_ERR_NOMEM, "out of memory for checksums");
    if (!st && v2) st = rl_h5_read_i64(f, "integrity/crc32", crc, n, path, err);
    H5Fclose(f);
    const items it = {t, &momentum, &state, recipe};
    char name[128];
    for (int i = 0; !st && v2 && i < n; i++)
        if ((i < t->count || i >= t->count + learnable) && item_crc(&it, i, name, sizeof name) != crc[i])
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: checksum mismatch in %s: the file was changed or damaged after it was written", path,
                         name);
    free(crc);
    free(recipe);
    return st;
}

/* The recipe and run id are the last two checksummed items: their checksums
 * can be checked without the model. */
static rl_status verify_tail(hid_t f, const char *recipe, const char *run_id, const char *path, rl_error *err)
{
    int rank = 0;
    int64_t dims[8], crc[2];
    rl_status st = rl_h5_shape(f, "integrity/crc32", &rank, dims, path, err);
    if (!st && (rank != 1 || dims[0] < 6 || dims[0] > 1000000))
        st = rl_fail(err, RL_ERR_FORMAT, "%s: integrity/crc32 is not a checksum list", path);
    int64_t *all = st ? NULL : malloc(sizeof *all * (size_t)dims[0]);
    if (!st && !all) st = rl_fail(err, RL_ERR_NOMEM, "out of memory for checksums");
    if (!st) st = rl_h5_read_i64(f, "integrity/crc32", all, dims[0], path, err);
    if (!st) crc[0] = all[dims[0] - 2], crc[1] = all[dims[0] - 1];
    free(all);
    const char *names[2] = {"recipe", "state/run_id"}, *text[2] = {recipe, run_id};
    for (int i = 0; !st && i < 2; i++)
        if ((int64_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)text[i], (uInt)strlen(text[i])) != crc[i])
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: checksum mismatch in %s: the file was changed or damaged after it was written", path,
                         names[i]);
    return st;
}

rl_status rl_checkpoint_recipe(const char *path, char **recipe_text, char *run_id, rl_error *err)
{
    *recipe_text = NULL;
    hid_t f = rl_h5_open_read(path, err);
    if (f < 0) return err ? err->code : RL_ERR_IO;
    int v2 = 0;
    char *recipe = NULL, *id = NULL;
    rl_status st = check_format(f, path, &v2, err);
    if (!st) st = read_string(f, "recipe", &recipe, path, err);
    if (!st && v2) st = read_string(f, "state/run_id", &id, path, err);
    if (!st && v2) st = verify_tail(f, recipe, id, path, err);
    if (!st && run_id) snprintf(run_id, 64, "%s", v2 ? id : "");
    H5Fclose(f);
    free(id);
    if (st)
        free(recipe);
    else
        *recipe_text = recipe;
    return st;
}
