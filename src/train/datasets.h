/* datasets.h: the training and validation sources a recipe describes.
 *
 * fashion-mnist: data_dir holds Debian's IDX files; train_list (if set)
 * replaces the training labels (noisy or cleaned lists); val_split > 0 holds
 * out that many training images for validation, otherwise the 10,000 test
 * images are the validation set; train_subset > 0 keeps a seeded subset.
 * imagenet: data_dir/train/WNID/ (JPEG files) and val_dir (default data_dir/val) with
 * val_labels; folder: data_dir is a class-folder tree, val_dir another one.
 * A folder F packed by `relab pack F -o F` (shards F-00000.h5 ... beside it)
 * is read from its shards.
 * Both sources are owned by the caller (rl_source_destroy). */
#ifndef RL_DATASETS_H
#define RL_DATASETS_H

#include "data/source.h"
#include "train/recipe.h"

/* cache_dir (may be NULL) is where the scanned file lists of image folders are cached. */
rl_status rl_datasets_open(const rl_recipe *r, const char *cache_dir, rl_source **train, rl_source **val,
                           rl_error *err);

#endif
