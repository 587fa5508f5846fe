/* predict.c: rebuild a trained model from its recipe and weights and write its
 * predictions on a data set (see predict.h).
 *
 * Probabilities: softmax p_c = exp(z_c - max z) / sum_j exp(z_j - max z);
 * sigmoid p_c = 1 / (1 + exp(-z_c)), computed in double then stored as float.
 * Memory: one batch of logits from the network (owned by it) and one row of
 * probabilities; the predictions themselves are n * k (+ n * C with logits). */
#include "train/predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/idx.h"
#include "data/imagenet.h"
#include "data/list.h"
#include "data/loader.h"
#include "nn/resnet.h"
#include "nn/weights.h"
#include "train/checkpoint.h"
#include "train/datasets.h"
#include "util/h5.h"

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The folder part of path ("." when it has none). */
static void dir_of(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, n, ".");
    else if (slash == path)
        snprintf(out, n, "/");
    else
        snprintf(out, n, "%.*s", (int)(slash - path), path);
}

rl_status rl_predict_locate(const char *model, rl_recipe *r, char *weights, size_t weights_size, const char **prefix,
                            rl_error *err)
{
    char recipe_path[4096];
    rl_status st;
    if (is_dir(model)) {
        snprintf(weights, weights_size, "%s/final.h5", model);
        snprintf(recipe_path, sizeof recipe_path, "%s/recipe.txt", model);
        if (!is_file(weights))
            return rl_fail(err, RL_ERR_IO,
                           "%s: no final.h5 in the run folder (training not finished?); hint: give one of its "
                           "ckpt-*.h5 checkpoints instead, or finish the run with relab train --resume %s",
                           model, model);
        *prefix = "";
        return rl_recipe_load(recipe_path, r, err);
    }
    rl_h5_quiet();
    hid_t f = rl_h5_open_read(model, err);
    if (f < 0) return err ? err->code : RL_ERR_IO;
    int ckpt = rl_h5_exists(f, "recipe") && rl_h5_exists(f, "model");
    H5Fclose(f);
    snprintf(weights, weights_size, "%s", model);
    if (ckpt) {
        char *text = NULL;
        if ((st = rl_checkpoint_recipe(model, &text, err))) return st;
        char origin[4200];
        snprintf(origin, sizeof origin, "%s:/recipe", model);
        st = rl_recipe_load_text(text, origin, r, err);
        free(text);
        *prefix = "model/";
        return st;
    }
    char dir[2048];
    dir_of(model, dir, sizeof dir);
    snprintf(recipe_path, sizeof recipe_path, "%s/recipe.txt", dir);
    if (!is_file(recipe_path))
        return rl_fail(err, RL_ERR_ARG,
                       "%s: a weights file without a recipe, and %s does not exist; hint: give the run folder or "
                       "a checkpoint (they carry the recipe), or put the run's recipe.txt beside the weights",
                       model, recipe_path);
    *prefix = "";
    return rl_recipe_load(recipe_path, r, err);
}

/* A list's source: for fashion-mnist the IDX file named by the first id, for
 * image folders the list read relative to its own folder. */
static rl_status open_list_source(const rl_recipe *r, const char *path, rl_source **out, rl_error *err)
{
    if (r->data == RL_DATA_FASHION_MNIST) {
        rl_list list;
        rl_status st = rl_list_read(path, &list, err);
        if (st) return st;
        if (list.count == 0) {
            rl_list_free(&list);
            return rl_fail(err, RL_ERR_FORMAT, "%s: the list has no samples; hint: nothing to predict", path);
        }
        const char *id = list.paths[0], *hash = strrchr(id, '#'), *slash = strrchr(id, '/');
        const char *base = slash && (!hash || slash < hash) ? slash + 1 : id;
        char images[4096];
        if (!hash) {
            rl_list_free(&list);
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s:3: id '%s' is not '<idx-images-file>#<index>'; hint: fashion-mnist lists name IDX "
                           "samples, e.g. t10k-images-idx3-ubyte.gz#0",
                           path, id);
        }
        snprintf(images, sizeof images, "%s/%.*s", r->data_dir, (int)(hash - base), base);
        rl_idx_config c = {.images = images, .list = &list};
        st = rl_idx_source_open(&c, out, err);
        rl_list_free(&list);
        if (st) rl_error_prefix(err, "%s", path);
        return st;
    }
    rl_imagenet_config c;
    rl_imagenet_config_default(&c);
    rl_augment_config_default(&c.aug, r->image_size);
    c.aug.eval_resize_ratio = r->eval_resize_ratio;
    c.classes_file = r->classes[0] ? r->classes : NULL;
    c.list = path;
    rl_status st = rl_imagenet_open(out, &c, err);
    if (st) rl_error_prefix(err, "%s", path);
    return st;
}

static void probabilities(const float *z, int c, int sigmoid, float *p)
{
    if (sigmoid) {
        for (int j = 0; j < c; j++) p[j] = (float)(1.0 / (1.0 + exp(-(double)z[j])));
        return;
    }
    double m = z[0], s = 0;
    for (int j = 1; j < c; j++) m = z[j] > m ? z[j] : m;
    for (int j = 0; j < c; j++) s += exp((double)z[j] - m);
    for (int j = 0; j < c; j++) p[j] = (float)(exp((double)z[j] - m) / s);
}

rl_status rl_predict_run(const char *model, const rl_predict_options *o, rl_preds *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    rl_recipe r;
    char weights[4096], cache[4096];
    const char *prefix = "";
    rl_status st = rl_predict_locate(model, &r, weights, sizeof weights, &prefix, err);
    if (st) return st;
    const char *data = o->data ? o->data : "val";

    rl_source *train = NULL, *val = NULL, *src = NULL;
    rl_resnet *net = NULL;
    rl_loader *loader = NULL;
    float *probs = NULL;
    hid_t f = -1;
    if (is_dir(model))
        snprintf(cache, sizeof cache, "%s", model);
    else
        dir_of(model, cache, sizeof cache);
    if (!strcmp(data, "val") || !strcmp(data, "train")) {
        if ((st = rl_datasets_open(&r, cache, &train, &val, err))) goto done;
        src = !strcmp(data, "val") ? val : train;
    } else {
        if ((st = open_list_source(&r, data, &train, err))) goto done;
        src = train;
    }

    /* The head's width comes from the weights: the model may have been trained
     * with num_classes larger than this data set's labels. */
    char name[256];
    int rank = 0;
    int64_t dims[8] = {0};
    if ((f = rl_h5_open_read(weights, err)) < 0) {
        st = err ? err->code : RL_ERR_IO;
        goto done;
    }
    snprintf(name, sizeof name, "%sfc.weight", prefix);
    if ((st = rl_h5_shape(f, name, &rank, dims, weights, err))) goto done;
    H5Fclose(f);
    f = -1;
    if (rank != 2 || dims[0] < 1 || dims[0] > 1000000) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: %s has rank %d (first dim %lld), expected (classes, features)", weights,
                     name, rank, (long long)dims[0]);
        goto done;
    }
    const int classes = (int)dims[0];
    if (src->num_classes > classes) {
        st = rl_fail(err, RL_ERR_ARG, "%s: data '%s' has %d classes but the model predicts %d; hint: predict on data "
                     "labelled with the classes the model was trained on", model, data, src->num_classes, classes);
        goto done;
    }

    rl_resnet_config cfg;
    if ((st = rl_resnet_config_for(rl_model_name(r.model), &cfg, err))) goto done;
    cfg.width = r.width;
    cfg.small_stem = r.stem == RL_STEM_SMALL;
    cfg.in_channels = src->channels;
    cfg.num_classes = classes;
    cfg.zero_init_residual = r.zero_init_residual;
    cfg.stride_on_1x1 = r.resnet_version == RL_RESNET_V1;
    if ((st = rl_resnet_create(&cfg, &net, err))) goto done;
    if ((f = rl_h5_open_read(weights, err)) < 0) {
        st = err ? err->code : RL_ERR_IO;
        goto done;
    }
    if ((st = rl_weights_read(f, prefix, rl_resnet_params(net), weights, err))) goto done;
    H5Fclose(f);
    f = -1;

    const int batch = o->batch_size > 0 ? o->batch_size : r.batch_size;
    if ((st = rl_resnet_plan_inference(net, batch, src->height, src->width, err))) goto done;
    const int k = o->topk < 1 ? 1 : o->topk > classes ? classes : o->topk;
    const int sigmoid = r.loss == RL_LOSS_SIGMOID;
    if ((st = rl_preds_alloc(out, src->count, k, classes, o->with_logits, err))) goto done;
    snprintf(out->score_kind, sizeof out->score_kind, "%s", sigmoid ? "sigmoid" : "softmax");
    size_t ml = strlen(model) + strlen(data) + strlen(rl_model_name(r.model)) + 64;
    if ((out->meta = malloc(ml)))
        snprintf(out->meta, ml, "model %s (%s), data %s", model, rl_model_name(r.model), data);
    probs = malloc(sizeof(float) * (size_t)classes);
    if (!probs) {
        st = rl_fail(err, RL_ERR_NOMEM, "out of memory for %d class probabilities", classes);
        goto done;
    }
    rl_loader_config lc = {.batch_size = batch, .threads = o->threads >= 0 ? o->threads : r.loader_threads,
                           .seed = (uint64_t)r.seed, .shard_count = 1};
    if ((st = rl_loader_create(src, &lc, &loader, err))) goto done;
    if ((st = rl_loader_start_epoch(loader, 0, 0, err))) goto done;
    const rl_batch *b;
    int64_t row = 0;
    while (!(st = rl_loader_next(loader, &b, err)) && b) {
        const float *logits = b->n ? rl_resnet_forward(net, b->x, b->n, 0) : NULL;
        for (int j = 0; j < b->n; j++, row++) {
            /* Rows follow the data set's order; a sample that failed to decode
             * was replaced by the loader, and its row then holds the
             * replacement's prediction (the loader named it on stderr). */
            char idbuf[32];
            const char *id = src->ids ? src->ids[row] : (snprintf(idbuf, sizeof idbuf, "#%lld", (long long)row), idbuf);
            const float *z = logits + (size_t)j * classes;
            probabilities(z, classes, sigmoid, probs);
            if ((st = rl_preds_set_row(out, row, id, src->labels[row], probs, z, err))) goto done;
        }
    }
    if (!st && row != src->count)
        st = rl_fail(err, RL_ERR_IO, "%s: predicted %lld of %lld samples", src->name, (long long)row,
                     (long long)src->count);
done:
    if (f >= 0) H5Fclose(f);
    rl_loader_destroy(loader);
    rl_resnet_destroy(net);
    rl_source_destroy(train);
    rl_source_destroy(val);
    free(probs);
    if (st) rl_preds_free(out);
    return st;
}
