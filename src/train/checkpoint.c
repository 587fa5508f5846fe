/* checkpoint.c: atomic, exact-resume training checkpoints (see checkpoint.h). */
#include "train/checkpoint.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/weights.h"
#include "util/h5.h"

#define FORMAT_TAG "relab-checkpoint 1"

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

static int is_checkpoint_name(const char *name, long long *step)
{
    int len = 0;
    if (sscanf(name, "ckpt-%lld.h5%n", step, &len) != 1) return 0;
    return name[len] == '\0';
}

#define MAX_CHECKPOINTS 4096

/* Steps of the checkpoints in dir (at most MAX_CHECKPOINTS); -1 if dir cannot be read. */
static int list_checkpoints(const char *dir, long long *steps)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_CHECKPOINTS) {
        long long s;
        if (is_checkpoint_name(e->d_name, &s)) steps[n++] = s;
    }
    closedir(d);
    return n;
}

/* Deletes all but the newest keep checkpoints in dir. */
static void prune(const char *dir, int keep)
{
    long long steps[MAX_CHECKPOINTS];
    int n = list_checkpoints(dir, steps);
    if (n < 0) return;
    for (int i = 0; i < n; i++) {
        int newer = 0;
        for (int j = 0; j < n; j++) newer += steps[j] > steps[i];
        if (newer >= keep) {
            char path[4096];
            snprintf(path, sizeof path, "%s/ckpt-%010lld.h5", dir, steps[i]);
            unlink(path);
        }
    }
}

rl_status rl_checkpoint_save(const char *dir, const rl_param_table *t, rl_sgd *sgd, const rl_train_position *pos,
                             const char *recipe_text, int keep_last, char *written, size_t written_size,
                             rl_error *err)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/ckpt-%010lld.h5", dir, (long long)pos->step);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    hid_t f = rl_h5_create(tmp, err);
    if (f < 0) return RL_ERR_IO;
    rl_param_table vt;
    rl_status st = velocity_table(t, sgd, &vt, err);
    if (!st) st = rl_h5_write_string(f, "format", FORMAT_TAG, tmp, err);
    if (!st) st = rl_weights_write(f, "model/", t, tmp, err);
    if (!st) st = rl_weights_write(f, "optim/momentum/", &vt, tmp, err);
    if (!st) st = rl_h5_write_i64(f, "state/epoch", 0, NULL, &pos->epoch, tmp, err);
    if (!st) st = rl_h5_write_i64(f, "state/batch", 0, NULL, &pos->batch, tmp, err);
    if (!st) st = rl_h5_write_i64(f, "state/step", 0, NULL, &pos->step, tmp, err);
    if (!st) st = rl_h5_write_i64(f, "state/seed", 0, NULL, &pos->seed, tmp, err);
    if (!st) st = rl_h5_write_string(f, "recipe", recipe_text ? recipe_text : "", tmp, err);
    free(vt.entries);
    if (H5Fclose(f) < 0 && !st) st = rl_fail(err, RL_ERR_IO, "%s: cannot close (disk full?)", tmp);
    if (!st) st = rl_commit_file(tmp, path, err);
    if (st) {
        unlink(tmp);
        return rl_error_prefix(err, "checkpoint not written (the previous checkpoints are intact)");
    }
    if (written) snprintf(written, written_size, "%s", path);
    prune(dir, keep_last > 0 ? keep_last : 1);
    return RL_OK;
}

static rl_status check_format(hid_t f, const char *path, rl_error *err)
{
    char *tag = NULL;
    if (!rl_h5_exists(f, "format") || rl_h5_read_string(f, "format", &tag, path, NULL) || strcmp(tag, FORMAT_TAG)) {
        free(tag);
        return rl_fail(err, RL_ERR_FORMAT, "%s: not a relab checkpoint (no '%s' tag); for plain weights use a "
                       "weights file", path, FORMAT_TAG);
    }
    free(tag);
    return RL_OK;
}

rl_status rl_checkpoint_load(const char *path, rl_param_table *t, rl_sgd *sgd, rl_train_position *pos,
                             char **recipe_text, rl_error *err)
{
    hid_t f = rl_h5_open_read(path, err);
    if (f < 0) return err ? err->code : RL_ERR_IO;
    rl_status st = check_format(f, path, err);
    if (!st) st = rl_weights_read(f, "model/", t, path, err);
    if (!st && sgd) {
        rl_param_table vt;
        st = velocity_table(t, sgd, &vt, err);
        if (!st) st = rl_weights_read(f, "optim/momentum/", &vt, path, err);
        free(vt.entries);
    }
    if (!st && pos) {
        st = rl_h5_read_i64(f, "state/epoch", &pos->epoch, 1, path, err);
        if (!st) st = rl_h5_read_i64(f, "state/batch", &pos->batch, 1, path, err);
        if (!st) st = rl_h5_read_i64(f, "state/step", &pos->step, 1, path, err);
        if (!st) st = rl_h5_read_i64(f, "state/seed", &pos->seed, 1, path, err);
    }
    if (!st && recipe_text) st = rl_h5_read_string(f, "recipe", recipe_text, path, err);
    H5Fclose(f);
    return st;
}

rl_status rl_checkpoint_recipe(const char *path, char **recipe_text, rl_error *err)
{
    hid_t f = rl_h5_open_read(path, err);
    if (f < 0) return err ? err->code : RL_ERR_IO;
    rl_status st = check_format(f, path, err);
    if (!st) st = rl_h5_read_string(f, "recipe", recipe_text, path, err);
    H5Fclose(f);
    return st;
}

rl_status rl_checkpoint_latest(const char *dir, char *out, size_t out_size, rl_error *err)
{
    long long steps[MAX_CHECKPOINTS];
    int n = list_checkpoints(dir, steps);
    if (n < 0) return rl_fail(err, RL_ERR_IO, "%s: cannot open the run folder", dir);
    /* newest first; a damaged file is reported and skipped */
    for (;;) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (steps[i] >= 0 && (best < 0 || steps[i] > steps[best])) best = i;
        if (best < 0) break;
        char path[4096];
        snprintf(path, sizeof path, "%s/ckpt-%010lld.h5", dir, steps[best]);
        rl_error e2;
        hid_t f = rl_h5_open_read(path, &e2);
        rl_status st = f < 0 ? e2.code : check_format(f, path, &e2);
        if (f >= 0) H5Fclose(f);
        if (st == RL_OK) {
            snprintf(out, out_size, "%s", path);
            return RL_OK;
        }
        fprintf(stderr, "relab: skipping damaged checkpoint: %s\n", e2.msg);
        steps[best] = -1;
    }
    return rl_fail(err, RL_ERR_IO, "%s: no usable checkpoint (ckpt-*.h5) to resume from", dir);
}
