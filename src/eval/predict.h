/* predict.h: a trained model's predictions on a data set (`relab predict`).
 *
 * A model is named by a run folder (DIR/recipe.txt + DIR/final.h5, what
 * `relab train` leaves), a checkpoint (DIR/ckpt-*.h5: the recipe text is
 * inside, weights under model/), or a bare weights file whose folder holds
 * recipe.txt.  The network is rebuilt from the recipe (model, width, stem,
 * version) through its plan (train/plan.h); the class count is read from the
 * weights (fc.weight rows), so a list naming fewer classes still gets the
 * trained head.  With `arch` no recipe is needed: a bare weights file (e.g. a
 * torchvision model converted to HDF5, docs/weights.md) is run as that
 * architecture with the default settings of a recipe naming only it, and
 * `image_size`.
 *
 * Data: "val" = the recipe's validation set, "train" = its training set with
 * the eval transform (no augmentation), a folder (data/imagenet.h layouts:
 * class folders ordered by `classes` or by name, `numbered` folders as in
 * ImageNetV2, or a flat folder with a `labels` file of WNIDs), or a label
 * list file (data/list.h; relative paths under `root` when given), e.g. a
 * held-out fold.  For fashion-mnist a list may name the test images
 * ("t10k-images-idx3-ubyte.gz#k"): the images file is chosen by the basename
 * of the list's first id.
 *
 * Batch: batch_size, else the largest power of two up to 64 whose planned
 * activations fit in RL_PREDICT_MEMORY bytes (at most a quarter of the
 * machine's memory): ResNet-50 at 224 px gets 32.
 *
 * Scores: softmax probabilities for a softmax recipe, per-class sigmoid
 * probabilities for a sigmoid recipe (eval/preds.h score_kind).  Row order is
 * the data set's order.  Evaluation is deterministic (BN running statistics,
 * no augmentation), so results depend only on weights and thread count.
 *
 * Thread safety: one call at a time per process (the network uses OpenMP and
 * BLAS threads; HDF5 is not re-entrant).
 */
#ifndef RL_PREDICT_H
#define RL_PREDICT_H

#include "eval/preds.h"
#include "train/recipe.h"
#include "util/status.h"

#define RL_PREDICT_MEMORY ((size_t)1 << 30) /* activation budget of the default batch */

typedef struct {
    const char *data;    /* "val" (NULL = val), "train", a folder, or a list file path */
    int topk;            /* top-k width stored, >= 1 (clipped to the class count) */
    int with_logits;     /* 1: also store the raw logits */
    int batch_size;      /* 0 = sized for memory (see above) */
    int threads;         /* loader threads; < 0 = the recipe's loader_threads */
    const char *arch;    /* a model name (resnet50, ...): no recipe; NULL = find the recipe */
    int image_size;      /* with arch: the network's input side; 0 = 224 */
    const char *loss;    /* with arch: "softmax" (NULL) or "sigmoid": which probabilities the scores are */
    const char *classes; /* classes.tsv ordering the class folders or mapping the WNIDs of data; NULL = the recipe's */
    int numbered;        /* data is a folder of numbered class folders (ImageNetV2) */
    const char *labels;  /* data is a flat folder with these WNIDs, one per image in sorted order */
    const char *root;    /* data is a list whose relative paths are under root (overrides "# root") */
} rl_predict_options;

/* Finds the recipe and the weights of a model (see above).  *r is finished;
 * weights receives the weights file path and *prefix the HDF5 group holding
 * them ("" or "model/"). */
rl_status rl_predict_locate(const char *model, rl_recipe *r, char *weights, size_t weights_size, const char **prefix,
                            rl_error *err);

/* Runs the model over the data and fills *out (zeroed first; rl_preds_free).
 * meta records the model path and data choice. */
rl_status rl_predict_run(const char *model, const rl_predict_options *o, rl_preds *out, rl_error *err);

#endif
