/* plan.c: from a recipe to the parts' settings (see plan.h). */
#include "train/plan.h"

#include <string.h>

#include "train/datasets.h"

rl_status rl_recipe_plan_init(rl_recipe_plan *p, const rl_recipe *r, rl_error *err)
{
    memset(p, 0, sizeof *p);
    p->recipe = *r;
    rl_status st = rl_resnet_config_for(r->model, &p->model, err);
    if (st) return st;
    p->model.width = r->width;
    p->model.small_stem = r->stem == RL_STEM_SMALL;
    p->model.zero_init_residual = r->zero_init_residual;
    p->model.stride_on_1x1 = r->resnet_version == RL_RESNET_V1;
    p->model.num_classes = r->num_classes;
    p->model.in_channels = 0;
    rl_recipe_loss_config(r, &p->loss);
    p->sgd = (rl_sgd_config){.momentum = (float)r->momentum,
                             .weight_decay = (float)r->weight_decay,
                             .nesterov = r->nesterov,
                             .wd_on_bn = r->wd_on_bn,
                             .wd_on_bias = r->wd_on_bias};
    p->train_loader = (rl_loader_config){.batch_size = r->batch_size,
                                         .threads = r->loader_threads,
                                         .seed = (uint64_t)r->seed,
                                         .train = r->augment,
                                         .shuffle = 1,
                                         .drop_last = 1,
                                         .targets = p->loss.kind == RL_LOSS_SIGMOID};
    p->eval_loader = (rl_loader_config){
        .batch_size = r->batch_size, .threads = r->loader_threads, .seed = (uint64_t)r->seed, .shard_count = 1};
    return RL_OK;
}

rl_status rl_recipe_plan_open_data(rl_recipe_plan *p, const char *cache_dir, rl_error *err)
{
    rl_status st = rl_datasets_open(&p->recipe, cache_dir, &p->train, &p->val, err);
    if (st) return st;
    /* image folders are cropped to image_size; IDX images come as they are */
    const int size = p->recipe.image_size;
    const rl_source *bad = p->train->height != size || p->train->width != size ? p->train
                           : p->val->height != size || p->val->width != size   ? p->val
                                                                               : NULL;
    if (bad)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: images are %dx%d but the recipe's image_size is %d; hint: set image_size to the data's "
                       "size, or check that these are the right files",
                       bad->name, bad->height, bad->width, size);
    if (p->model.num_classes <= 0) p->model.num_classes = p->train->num_classes;
    p->model.in_channels = p->train->channels;
    p->full_count = p->train->count;
    if (p->recipe.epoch_length == RL_EPOCH_FULL && p->recipe.train_list[0]) {
        /* the data set the list was drawn from: the same recipe without it */
        rl_recipe full = p->recipe;
        memset(full.train_list, 0, sizeof full.train_list);
        rl_source *ft = NULL, *fv = NULL;
        st = rl_datasets_open(&full, cache_dir, &ft, &fv, err);
        if (st) {
            rl_error_prefix(err, "epoch_length = full counts the training set without train_list");
            return st;
        }
        p->full_count = ft->count;
        rl_source_destroy(ft);
        rl_source_destroy(fv);
    }
    p->steps_per_epoch = p->full_count / p->recipe.batch_size;
    return RL_OK;
}

int64_t rl_recipe_plan_total_steps(const rl_recipe_plan *p)
{
    return p->steps_per_epoch * p->recipe.epochs;
}

float rl_recipe_plan_head_bias(const rl_recipe_plan *p)
{
    return rl_recipe_head_bias(&p->recipe, p->model.num_classes);
}

void rl_recipe_plan_schedule(const rl_recipe_plan *p, int64_t steps_per_epoch, rl_schedule *out)
{
    rl_recipe_schedule(&p->recipe, steps_per_epoch, out);
}

void rl_recipe_plan_close(rl_recipe_plan *p)
{
    rl_source_destroy(p->train);
    rl_source_destroy(p->val);
    p->train = p->val = NULL;
}
