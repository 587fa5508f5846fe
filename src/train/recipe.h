/* recipe.h: a training recipe, read from a text file of `key = value` lines.
 *
 * Format (docs/recipes.md is the user's reference; keep the two in step):
 *   - one `key = value` per line; blank lines are ignored;
 *   - '#' starts a comment, on its own line or after a value;
 *   - a value may be wrapped in double quotes (needed when it contains '#' or
 *     is empty); there are no escapes, and a quote inside a value is refused;
 *   - booleans: true/false (also yes/no, on/off, 1/0); lists: comma separated.
 * The line syntax is util/kv.h's.
 * An unknown key (with the closest known key as a hint), a bad value (wrong
 * type, out of range, unknown enum word), a duplicate key, or a missing
 * required key is an error "FILE:LINE: what; hint".  A removed key
 * (`deterministic`) is an error saying why in a file, and is skipped in the
 * text stored in a checkpoint (rl_recipe_parse_text, rl_recipe_load_text), so
 * runs started by an older relab still resume.
 *
 * Life cycle:  rl_recipe_init  -> defaults; keys that depend on other keys are
 *                                 "auto" (stem, width, image_size, data_dir)
 *              rl_recipe_parse -> applies a file's lines
 *              rl_recipe_set   -> applies one `key=value` (command-line --set)
 *              rl_recipe_finish-> resolves the "auto" keys and checks required
 *                                 keys and cross-key rules
 *   rl_recipe_load / rl_recipe_load_with do all of these in order.
 * head_bias_init, decay_epochs and num_classes stay "auto"/0 after finish:
 * they depend on the data or on epochs; use the helpers at the end.
 *
 * rl_recipe_write prints every key in canonical form (a finished recipe; it is
 * what checkpoints store), and loading that text gives a struct identical
 * byte for byte (rl_recipe_init zeroes padding and unused string bytes).
 *
 * The struct is plain data with fixed-size strings: copy it by assignment,
 * nothing to free.  Functions are re-entrant.
 */
#ifndef RL_RECIPE_H
#define RL_RECIPE_H

#include <stdint.h>
#include <stdio.h>
#include "train/loss.h"
#include "train/schedule.h"
#include "util/status.h"

#define RL_RECIPE_PATH_MAX 1024

typedef enum {
    RL_STEM_AUTO = 0, /* before finish only: imagenet for resnet18..152, small for resnet8/20 */
    RL_STEM_IMAGENET, /* 7x7/2 conv + 3x3/2 max-pool */
    RL_STEM_SMALL     /* 3x3/1 conv, no pool (CIFAR / Fashion-MNIST sized inputs) */
} rl_stem_kind;

typedef enum {
    RL_RESNET_V1_5 = 0, /* stride 2 on the bottleneck's 3x3 conv (torchvision, tensorflow/tpu) */
    RL_RESNET_V1 = 1    /* stride 2 on the bottleneck's first 1x1 conv (He et al. 2016) */
} rl_resnet_version;

/* What an epoch of a run on a train_list is (Beyer et al. 2020's cleaned runs
 * drop ~10% of the images: does a "90-epoch" run then make 10% fewer steps?). */
typedef enum {
    RL_EPOCH_PASS = 0, /* one pass over the training samples (the list) */
    RL_EPOCH_FULL = 1  /* as many steps as one pass over the training set without train_list */
} rl_epoch_length;

typedef enum {
    RL_DATA_NONE = 0,      /* before a `data` line: `data` is required */
    RL_DATA_FASHION_MNIST, /* Debian dataset-fashion-mnist IDX files */
    RL_DATA_IMAGENET,      /* ILSVRC-2012 train folders + flat val folder */
    RL_DATA_FOLDER         /* class-per-subfolder images */
} rl_data_kind;

typedef struct {
    /* ---- model ---- */
    char model[32];         /* model: a name nn/resnet.h knows (resnet18|34|50|101|152, resnet8|20); default resnet50 */
    rl_stem_kind stem;      /* stem: imagenet|small; default by model (auto) */
    int width;              /* width: base channels, 1..1024; default 64, 16 for resnet8/20 (0 = auto before finish) */
    int zero_init_residual; /* zero_init_residual: bool, default true: gamma of each block's last BN starts at 0 */
    rl_resnet_version resnet_version; /* resnet_version: 1.5|1, default 1.5 */
    int num_classes;                  /* num_classes: 0..100000, default 0 = from the data */

    /* ---- data ---- */
    rl_data_kind data;                   /* data: fashion-mnist|imagenet|folder; REQUIRED */
    char data_dir[RL_RECIPE_PATH_MAX];   /* data_dir: fashion-mnist: the IDX folder (default
                                            /usr/share/datasets/fashion-mnist); imagenet: holds train/<wnid>/;
                                            folder: the class-folder tree; required unless fashion-mnist
                                            ("" = auto before finish) */
    char train_list[RL_RECIPE_PATH_MAX]; /* train_list: label list replacing the training labels/subset; "" = none */
    char list_root[RL_RECIPE_PATH_MAX];  /* list_root: folder the relative image paths of train_list are in; "" = the
                                            list's "# root" header, else the list's folder */
    char val_dir[RL_RECIPE_PATH_MAX]; /* val_dir: flat val folder (with val_labels) or class-folder tree; "" = none */
    char val_labels[RL_RECIPE_PATH_MAX]; /* val_labels: one WNID per line for val_dir's images in strcmp order; "" =
                                            none */
    char classes[RL_RECIPE_PATH_MAX]; /* classes: classes.tsv (index<TAB>wnid[<TAB>name]); "" = sorted folder names */
    int64_t val_split;        /* val_split: >= 0, training images held out for validation; 0 = use test/val set */
    int64_t train_subset;     /* train_subset: >= 0, seeded subset of the training images; 0 = all */
    int image_size;           /* image_size: 8..1024; default 224, 28 for fashion-mnist (0 = auto before finish) */
    double eval_resize_ratio; /* eval_resize_ratio: (0, 1], default 0.875: crop / resized short side at eval */
    int augment;              /* augment: bool, default true */
    int loader_threads;       /* loader_threads: 0..256, default 2 */

    /* ---- loss ---- */
    rl_loss_kind loss;      /* loss: softmax|sigmoid, default softmax */
    double label_smoothing; /* label_smoothing: [0, 1), default 0; softmax only */
    int head_bias_auto;     /* head_bias_init = auto (default): -ln(C) for sigmoid, 0 for softmax */
    double head_bias_init;  /* head_bias_init: the value when not auto (0 while auto) */

    /* ---- optimisation ---- */
    int epochs;                   /* epochs: 1..100000; REQUIRED */
    rl_epoch_length epoch_length; /* epoch_length: pass|full, default pass: an epoch is a pass over the training
                                     samples, or as many steps as a pass over the data set without train_list */
    int batch_size;               /* batch_size: global batch, 1..1048576, default 256 */
    double base_lr;               /* base_lr: > 0, default 0.1; lr = base_lr * batch_size / lr_reference_batch */
    int lr_reference_batch;       /* lr_reference_batch: >= 1, default 256 */
    double momentum;              /* momentum: [0, 1), default 0.9 */
    int nesterov;                 /* nesterov: bool, default false */
    double weight_decay;          /* weight_decay: >= 0, default 1e-4 (L2, coupled, as in tensorflow/tpu) */
    int wd_on_bn;                 /* wd_on_bn: bool, default false: no weight decay on BN gamma/beta */
    int wd_on_bias;               /* wd_on_bias: bool, default true: the fc bias gets weight decay */
    rl_schedule_kind schedule;    /* schedule: step|cosine, default step */
    double warmup_epochs;         /* warmup_epochs: [0, epochs), default 5; linear per step from warmup_start */
    double warmup_start;          /* warmup_start: [0, 1], default 0: lr at step 0 as a fraction of the peak */
    int num_decay_epochs;         /* decay_epochs = auto (0, default): at 1/3, 2/3, 8/9 of epochs */
    double decay_epochs[RL_SCHEDULE_MAX_DECAYS]; /* decay_epochs: comma list, increasing, in [warmup_epochs, epochs) */
    double decay_factor;                         /* decay_factor: (0, 1], default 0.1 */

    /* ---- run ---- */
    int64_t seed;             /* seed: >= 0, default 0 */
    int threads;              /* threads: 0..4096, default 0 = all cores */
    int64_t checkpoint_every; /* checkpoint_every: steps >= 0, default 0 = once per epoch */
    int keep_checkpoints;     /* keep_checkpoints: 1..1000, default 2 */
    int eval_every;           /* eval_every: epochs >= 0, default 1; 0 = only after the last epoch */
    int log_every;            /* log_every: steps >= 0, default 50; 0 = no per-step lines */
    int sync_bn;              /* sync_bn: bool, default false: under mpirun, BN statistics over the global batch */
} rl_recipe;

/* Every default, with the dependent keys "auto"; zeroes all bytes first. */
void rl_recipe_init(rl_recipe *r);

/* Applies the lines of the file at path on top of *r.  A key set twice in the
 * file is an error.  On error *r may hold some of the file's keys. */
rl_status rl_recipe_parse(const char *path, rl_recipe *r, rl_error *err);

/* Same for text in memory (e.g. a recipe stored in a checkpoint); origin
 * names it in messages (e.g. "run/ckpt-100.h5:/recipe"; NULL: "recipe text"). */
rl_status rl_recipe_parse_text(const char *text, const char *origin, rl_recipe *r, rl_error *err);

/* Applies one "key=value" (spaces allowed around '=', '#' comments not).
 * origin names it in messages (e.g. "--set"; NULL: "--set").  Overrides any earlier value. */
rl_status rl_recipe_set(rl_recipe *r, const char *assignment, const char *origin, rl_error *err);

/* Resolves auto keys from the others and checks required keys and cross-key
 * rules (warm-up and decay epochs inside the run, smoothing with softmax only,
 * data_dir for imagenet/folder).  origin names the recipe in messages. */
rl_status rl_recipe_finish(rl_recipe *r, const char *origin, rl_error *err);

/* init + parse + finish.  Cross-key errors cite the line of the key at fault. */
rl_status rl_recipe_load(const char *path, rl_recipe *r, rl_error *err);

/* init + parse + each of sets[0..nsets) as rl_recipe_set(origin "--set") + finish,
 * so an override of `model` still picks the right auto stem and width. */
rl_status rl_recipe_load_with(const char *path, const char *const *sets, int nsets, rl_recipe *r, rl_error *err);

/* init + parse_text + finish. */
rl_status rl_recipe_load_text(const char *text, const char *origin, rl_recipe *r, rl_error *err);

/* Writes every key, one per line, grouped and in a fixed order, in a form
 * rl_recipe_parse reads back to the same struct.  Returns RL_ERR_IO if
 * writing fails. */
rl_status rl_recipe_write(const rl_recipe *r, FILE *f, rl_error *err);

/* The canonical text in a malloc'ed string (caller frees), or NULL if out of memory. */
char *rl_recipe_to_text(const rl_recipe *r);

/* ---- helpers for the trainer ---- */

/* The loss settings of the recipe. */
void rl_recipe_loss_config(const rl_recipe *r, rl_loss_config *out);

/* The learning-rate schedule for a run with this many steps per epoch. */
void rl_recipe_schedule(const rl_recipe *r, int64_t steps_per_epoch, rl_schedule *out);

/* head_bias_init resolved for num_classes (auto -> rl_loss_default_head_bias). */
float rl_recipe_head_bias(const rl_recipe *r, int num_classes);

/* The data kind as written in recipes: "fashion-mnist", "imagenet", "folder". */
const char *rl_data_name(rl_data_kind d);

/* The known keys, in canonical order (for documentation checks and help). */
int rl_recipe_num_keys(void);
const char *rl_recipe_key_name(int i);

#endif
