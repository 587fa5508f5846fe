/* datasets.c: from recipe keys to data sources (see datasets.h). */
#include "train/datasets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/idx.h"
#include "data/imagenet.h"
#include "data/list.h"
#include "data/pack.h"

#include <unistd.h>

static rl_status open_fashion_mnist(const rl_recipe *r, rl_source **train, rl_source **val, rl_error *err)
{
    char images[2048], labels[2048], test_images[2048], test_labels[2048];
    snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", r->data_dir);
    snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte.gz", r->data_dir);
    snprintf(test_images, sizeof test_images, "%s/t10k-images-idx3-ubyte.gz", r->data_dir);
    snprintf(test_labels, sizeof test_labels, "%s/t10k-labels-idx1-ubyte.gz", r->data_dir);
    rl_list list;
    memset(&list, 0, sizeof list);
    int have_list = r->train_list[0] != '\0';
    rl_status st = RL_OK;
    if (have_list && (st = rl_list_read(r->train_list, &list, err))) return st;
    int64_t count = 60000;
    if (have_list) count = list.count;
    int64_t *train_idx = NULL, *val_idx = NULL, train_count = count;
    if (r->val_split > 0) {
        if (r->val_split >= count) {
            st = rl_fail(err, RL_ERR_ARG, "val_split = %lld but the training set has only %lld images",
                         (long long)r->val_split, (long long)count);
            goto done;
        }
        st = rl_idx_split(count, r->val_split, (uint64_t)r->seed, &train_idx, &train_count, &val_idx, err);
        if (st) goto done;
    }
    if (r->train_subset > 0 && r->train_subset < train_count) {
        /* a seeded subset of what is left for training */
        int64_t *keep = NULL, *drop = NULL, kept = 0;
        st = rl_idx_split(train_count, train_count - r->train_subset, (uint64_t)r->seed + 1, &keep, &kept, &drop, err);
        if (st) goto done;
        for (int64_t i = 0; i < kept; i++)
            keep[i] = train_idx ? train_idx[keep[i]] : keep[i];
        free(train_idx);
        free(drop);
        train_idx = keep;
        train_count = kept;
    }
    rl_idx_config tc = {.images = images,
                        .labels = have_list ? NULL : labels,
                        .list = have_list ? &list : NULL,
                        .subset = train_idx,
                        .subset_count = train_idx ? train_count : 0};
    if ((st = rl_idx_source_open(&tc, train, err))) {
        if (have_list) rl_error_prefix(err, "%s", r->train_list); /* the list names the samples */
        goto done;
    }
    if (r->val_split > 0) {
        rl_idx_config vc = {.images = images,
                            .labels = have_list ? NULL : labels,
                            .list = have_list ? &list : NULL,
                            .subset = val_idx,
                            .subset_count = r->val_split};
        st = rl_idx_source_open(&vc, val, err);
        if (st && have_list) rl_error_prefix(err, "%s", r->train_list);
    } else {
        rl_idx_config vc = {.images = test_images, .labels = test_labels};
        st = rl_idx_source_open(&vc, val, err);
    }
    if (st) {
        rl_source_destroy(*train);
        *train = NULL;
    }
done:
    free(train_idx);
    free(val_idx);
    rl_list_free(&list);
    return st;
}

/* A folder R that `relab pack R -o R` packed has shards R-00000.h5 ... beside
 * it; when they exist they are read instead of the folder's small files (the
 * samples, indices and so the augmentations are the same). */
static rl_status open_images(rl_source **out, const rl_imagenet_config *c, rl_error *err)
{
    if (c->root && !c->list) {
        char first[2100];
        snprintf(first, sizeof first, "%s-00000.h5", c->root);
        if (access(first, R_OK) == 0) return rl_pack_open(out, c->root, &c->aug, err);
    }
    return rl_imagenet_open(out, c, err);
}

static rl_status open_folders(const rl_recipe *r, const char *cache_dir, rl_source **train, rl_source **val,
                              rl_error *err)
{
    char train_root[2048], val_root[2048], cache[2048];
    int imagenet = r->data == RL_DATA_IMAGENET;
    snprintf(train_root, sizeof train_root, imagenet ? "%s/train" : "%s", r->data_dir);
    rl_imagenet_config tc;
    rl_imagenet_config_default(&tc);
    rl_augment_config_default(&tc.aug, r->image_size);
    tc.aug.eval_resize_ratio = r->eval_resize_ratio;
    tc.classes_file = r->classes[0] ? r->classes : NULL;
    if (r->train_list[0]) {
        tc.list = r->train_list;
        tc.list_root = r->list_root[0] ? r->list_root : NULL;
    } else
        tc.root = train_root;
    if (cache_dir) {
        snprintf(cache, sizeof cache, "%s/train-files.cache", cache_dir);
        tc.cache = cache;
    }
    rl_status st = open_images(train, &tc, err);
    if (st) return st;
    rl_imagenet_config vc;
    rl_imagenet_config_default(&vc);
    vc.aug = tc.aug;
    vc.classes_file = tc.classes_file;
    if (r->val_dir[0])
        snprintf(val_root, sizeof val_root, "%s", r->val_dir);
    else
        snprintf(val_root, sizeof val_root, "%s/val", r->data_dir);
    vc.root = val_root;
    if (r->val_labels[0]) {
        vc.labels_file = r->val_labels;
        vc.class_root = tc.classes_file ? NULL : train_root;
    }
    if (cache_dir) {
        snprintf(cache, sizeof cache, "%s/val-files.cache", cache_dir);
        vc.cache = cache;
    }
    st = open_images(val, &vc, err);
    if (st) {
        rl_source_destroy(*train);
        *train = NULL;
    }
    return st;
}

rl_status rl_datasets_open(const rl_recipe *r, const char *cache_dir, rl_source **train, rl_source **val, rl_error *err)
{
    *train = *val = NULL;
    switch (r->data) {
    case RL_DATA_FASHION_MNIST: return open_fashion_mnist(r, train, val, err);
    case RL_DATA_IMAGENET:
    case RL_DATA_FOLDER: return open_folders(r, cache_dir, train, val, err);
    default: return rl_fail(err, RL_ERR_ARG, "recipe has no data source (set data = fashion-mnist|imagenet|folder)");
    }
}
