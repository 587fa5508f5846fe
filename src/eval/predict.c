/* predict.c: rebuild a trained model from its recipe and weights and write its
 * predictions on a data set (see predict.h).
 *
 * The recipe is read through its plan (train/plan.h), so the network and
 * the loss kind (softmax or sigmoid probabilities, train/loss.h) are what
 * training used.  Memory: one batch of logits from the network (owned by it) and one row of
 * probabilities; the predictions themselves are n * k (+ n * C with logits). */
#include "eval/predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/idx.h"
#include "data/imagenet.h"
#include "data/list.h"
#include "data/loader.h"
#include "nn/resnet.h"
#include "nn/weights.h"
#include "train/checkpoint.h"
#include "train/loss.h"
#include "train/plan.h"
#include "util/fs.h"
#include "util/h5.h"
#include "util/log.h"

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

/* The recipe stored in checkpoint model, as "model:/recipe". */
static rl_status checkpoint_recipe(const char *model, rl_recipe *r, rl_error *err)
{
    char *text = NULL;
    rl_status st = rl_checkpoint_recipe(model, &text, NULL, err);
    if (st) return st;
    char origin[4200];
    snprintf(origin, sizeof origin, "%s:/recipe", model);
    st = rl_recipe_load_text(text, origin, r, err);
    free(text);
    return st;
}

rl_status rl_predict_locate(const char *model, rl_recipe *r, char *weights, size_t weights_size, const char **prefix,
                            rl_error *err)
{
    char recipe_path[4096];
    *prefix = "";
    if (is_dir(model)) { /* a run folder: its final weights and recipe.txt */
        snprintf(weights, weights_size, "%s/final.h5", model);
        snprintf(recipe_path, sizeof recipe_path, "%s/recipe.txt", model);
        if (!is_file(weights))
            return rl_fail(err, RL_ERR_IO,
                           "%s: no final.h5 in the run folder (training not finished?); hint: give one of its "
                           "ckpt-*.h5 checkpoints instead, or finish the run with relab train --resume %s",
                           model, model);
    } else {
        rl_h5_quiet();
        hid_t f = rl_h5_open_read(model, err);
        if (f < 0) return err ? err->code : RL_ERR_IO;
        int ckpt = rl_h5_exists(f, "recipe") && rl_h5_exists(f, "model");
        H5Fclose(f);
        snprintf(weights, weights_size, "%s", model);
        if (ckpt) {
            *prefix = "model/";
            return checkpoint_recipe(model, r, err);
        }
        char dir[2048]; /* a weights file: the run's recipe.txt beside it */
        rl_fs_dirname(model, dir, sizeof dir);
        snprintf(recipe_path, sizeof recipe_path, "%s/recipe.txt", dir);
        if (!is_file(recipe_path))
            return rl_fail(err, RL_ERR_ARG,
                           "%s: a weights file without a recipe, and %s does not exist; hint: give the run folder "
                           "or a checkpoint (they carry the recipe), or put the run's recipe.txt beside the weights",
                           model, recipe_path);
    }
    return rl_recipe_load(recipe_path, r, err);
}

/* The source of a data option that is not "val" or "train": a folder in one
 * of the layouts of data/imagenet.h, or a list (for fashion-mnist: the IDX
 * file named by the first id). */
static rl_status open_data_source(const rl_recipe *r, const rl_predict_options *o, const char *path, rl_source **out,
                                  rl_error *err)
{
    if (r->data == RL_DATA_FASHION_MNIST && !is_dir(path)) {
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
            /* the message is made while id (inside list) is still alive */
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s:3: id '%.200s' is not '<idx-images-file>#<index>'; hint: fashion-mnist lists name IDX "
                         "samples, e.g. t10k-images-idx3-ubyte.gz#0",
                         path, id);
            rl_list_free(&list);
            return st;
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
    c.classes_file = o->classes ? o->classes : r->classes[0] && !o->numbered ? r->classes : NULL;
    if (is_dir(path)) {
        c.root = path;
        c.numbered = o->numbered;
        c.labels_file = o->labels;
    } else {
        c.list = path;
        c.list_root = o->root;
    }
    rl_status st = rl_imagenet_open(out, &c, err);
    if (st) rl_error_prefix(err, "%s", path);
    return st;
}

/* The head's width, from the weights: the model may have been trained with
 * num_classes larger than a data set's labels. */
static rl_status weights_classes(const char *weights, const char *prefix, int *classes, rl_error *err)
{
    char name[256];
    int rank = 0;
    int64_t dims[8] = {0};
    hid_t f = rl_h5_open_read(weights, err);
    if (f < 0) return err ? err->code : RL_ERR_IO;
    snprintf(name, sizeof name, "%sfc.weight", prefix);
    rl_status st = rl_h5_shape(f, name, &rank, dims, weights, err);
    H5Fclose(f);
    if (!st && (rank != 2 || dims[0] < 1 || dims[0] > 1000000))
        st = rl_fail(err, RL_ERR_FORMAT, "%s: %s has rank %d (first dim %lld), expected (classes, features)", weights,
                     name, rank, (long long)dims[0]);
    if (!st) *classes = (int)dims[0];
    return st;
}

/* The planned network with the weights loaded, ready for batches of `batch`. */
static rl_status load_net(rl_recipe_plan *plan, const rl_source *src, const char *weights, const char *prefix,
                          int batch, rl_resnet **net, rl_error *err)
{
    plan->model.in_channels = src->channels;
    rl_status st = rl_resnet_create(&plan->model, net, err);
    hid_t f = st ? -1 : rl_h5_open_read(weights, err);
    if (!st && f < 0) st = err ? err->code : RL_ERR_IO;
    if (!st) st = rl_weights_read(f, prefix, rl_resnet_params(*net), weights, err);
    if (f >= 0) H5Fclose(f);
    if (!st && *prefix) st = rl_checkpoint_verify_model(weights, rl_resnet_params(*net), err);
    if (!st) st = rl_resnet_plan_inference(*net, batch, src->height, src->width, err);
    return st;
}

/* Fills out's rows from the network's predictions over src. */
static rl_status predict_rows(rl_resnet *net, rl_source *src, const rl_recipe_plan *plan, const rl_loader_config *lc,
                              rl_preds *out, rl_error *err)
{
    const int classes = plan->model.num_classes;
    float *probs = malloc(sizeof(float) * (size_t)classes);
    rl_loader *loader = NULL;
    rl_status st = probs ? RL_OK : rl_fail(err, RL_ERR_NOMEM, "out of memory for %d class probabilities", classes);
    if (!st) st = rl_loader_create(src, lc, &loader, err);
    if (!st) st = rl_loader_start_epoch(loader, 0, 0, err);
    const rl_batch *b;
    int64_t row = 0;
    while (!st && !(st = rl_loader_next(loader, &b, err)) && b) {
        const float *logits = b->n ? rl_resnet_forward(net, b->x, b->n, 0) : NULL;
        for (int j = 0; !st && j < b->n; j++, row++) {
            /* Rows follow the data set's order; a sample that failed to decode
             * was replaced by the loader, and its row then holds the
             * replacement's prediction (the loader named it). */
            char idbuf[32];
            const char *id = src->ids ? src->ids[row] : (snprintf(idbuf, sizeof idbuf, "#%lld", (long long)row), idbuf);
            const float *z = logits + (size_t)j * classes;
            rl_loss_probabilities(plan->loss.kind, z, classes, probs);
            st = rl_preds_set_row(out, row, id, src->labels[row], probs, z, err);
        }
    }
    if (!st && row != src->count)
        st = rl_fail(err, RL_ERR_IO, "%s: predicted %lld of %lld samples", src->name, (long long)row,
                     (long long)src->count);
    rl_loader_destroy(loader);
    free(probs);
    return st;
}

/* The recipe of a bare weights file run as architecture o->arch: a recipe
 * naming only the model, folder data and the image size (the keys a recipe
 * requires get values prediction never uses). */
static rl_status arch_recipe(const char *model, const rl_predict_options *o, rl_recipe *r, char *weights, size_t n,
                             const char **prefix, rl_error *err)
{
    char set[96];
    rl_recipe_init(r);
    snprintf(set, sizeof set, "model=%s", o->arch);
    rl_status st = rl_recipe_set(r, set, "--arch", err);
    if (!st) st = rl_recipe_set(r, "data=folder", "--arch", err);
    if (!st) st = rl_recipe_set(r, "data_dir=.", "--arch", err);
    if (!st) st = rl_recipe_set(r, "epochs=1", "--arch", err);
    if (!st) st = rl_recipe_set(r, "warmup_epochs=0", "--arch", err);
    snprintf(set, sizeof set, "image_size=%d", o->image_size > 0 ? o->image_size : 224);
    if (!st) st = rl_recipe_set(r, set, "--image-size", err);
    snprintf(set, sizeof set, "loss=%.40s", o->loss ? o->loss : "softmax");
    if (!st) st = rl_recipe_set(r, set, "--loss", err);
    if (!st) st = rl_recipe_finish(r, "--arch", err);
    if (st) return st;
    /* a checkpoint's weights are under model/; a weights file's at the top */
    rl_h5_quiet();
    hid_t f = rl_h5_open_read(model, err);
    if (f < 0) return err ? err->code : RL_ERR_IO;
    *prefix = rl_h5_exists(f, "recipe") && rl_h5_exists(f, "model") ? "model/" : "";
    H5Fclose(f);
    snprintf(weights, n, "%s", model);
    return RL_OK;
}

/* Plans the network for the largest power-of-two batch up to 64 (and the
 * data's size) whose activations fit in RL_PREDICT_MEMORY bytes and a
 * quarter of the machine's memory. */
static rl_status plan_default_batch(rl_resnet *net, const rl_source *src, int *batch, rl_error *err)
{
    size_t budget = RL_PREDICT_MEMORY;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && (size_t)pages / 4 * (size_t)page < budget) budget = (size_t)pages / 4 * (size_t)page;
    int b = 64;
    while (b > 1 && b / 2 >= src->count)
        b /= 2;
    for (;; b /= 2) {
        rl_status st = rl_resnet_plan_inference(net, b, src->height, src->width, err);
        if (st || b == 1 || rl_resnet_activation_bytes(net) <= budget) {
            *batch = b;
            return st;
        }
    }
}

rl_status rl_predict_run(const char *model, const rl_predict_options *o, rl_preds *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    rl_recipe r;
    rl_recipe_plan plan;
    memset(&plan, 0, sizeof plan);
    char weights[4096], cache[4096];
    const char *prefix = "", *data = o->data ? o->data : "val";
    rl_source *list_src = NULL, *src = NULL;
    rl_resnet *net = NULL;
    int classes = 0;
    rl_status st = o->arch ? arch_recipe(model, o, &r, weights, sizeof weights, &prefix, err)
                           : rl_predict_locate(model, &r, weights, sizeof weights, &prefix, err);
    if (!st) st = rl_recipe_plan_init(&plan, &r, err);
    if (is_dir(model))
        snprintf(cache, sizeof cache, "%s", model);
    else
        rl_fs_dirname(model, cache, sizeof cache);
    int named_set = !strcmp(data, "val") || !strcmp(data, "train");
    if (!st && named_set && o->arch)
        st = rl_fail(err, RL_ERR_ARG,
                     "--data %s names a recipe's data set, and --arch runs %s without a recipe; hint: give --data "
                     "an image folder or a label list",
                     data, model);
    if (!st && named_set && !(st = rl_recipe_plan_open_data(&plan, cache, err)))
        src = !strcmp(data, "val") ? plan.val : plan.train;
    if (!st && !named_set && !(st = open_data_source(&r, o, data, &list_src, err))) src = list_src;
    if (!st) st = weights_classes(weights, prefix, &classes, err);
    if (!st && src->num_classes > classes)
        st = rl_fail(err, RL_ERR_ARG,
                     "%s: data '%s' has %d classes but the model predicts %d; hint: predict on data "
                     "labelled with the classes the model was trained on",
                     model, data, src->num_classes, classes);
    plan.model.num_classes = classes;
    int batch = o->batch_size;
    if (!st) st = load_net(&plan, src, weights, prefix, batch > 0 ? batch : 1, &net, err);
    if (!st && batch <= 0) st = plan_default_batch(net, src, &batch, err);
    const int k = o->topk < 1 ? 1 : o->topk > classes ? classes : o->topk;
    if (!st) st = rl_preds_alloc(out, src->count, k, classes, o->with_logits, err);
    if (!st) {
        snprintf(out->score_kind, sizeof out->score_kind, "%s", rl_loss_kind_name(plan.loss.kind));
        size_t ml = strlen(model) + strlen(data) + strlen(r.model) + 64;
        if ((out->meta = malloc(ml))) snprintf(out->meta, ml, "model %s (%s), data %s", model, r.model, data);
        rl_log(RL_LOG_INFO, "predict: %s at batch %d, %dx%d px, %lld samples", r.model, batch, src->height, src->width,
               (long long)src->count);
        rl_loader_config lc = plan.eval_loader;
        lc.batch_size = batch;
        lc.threads = o->threads >= 0 ? o->threads : r.loader_threads;
        st = predict_rows(net, src, &plan, &lc, out, err);
    }
    rl_resnet_destroy(net);
    rl_source_destroy(list_src);
    rl_recipe_plan_close(&plan);
    if (st) rl_preds_free(out);
    return st;
}
