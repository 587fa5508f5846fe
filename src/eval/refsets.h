/* refsets.h: reference labels for ImageNet validation evaluation (where to get
 * each file and its format: docs/method.md, "Reference label files"):
 *   - real.json        ReaL label sets (Beyer et al. 2020): a JSON list of
 *                      (up to) 50,000 lists of distinct class indices, read
 *                      with Jansson (any JSON spelling of that shape);
 *   - multilabel.csv   Shankar et al. 2020 multi-label annotations (TFDS
 *                      imagenet2012_multilabel export): correct, unclear,
 *                      problematic per annotated image;
 *   - groups.tsv       class -> group (dog / animal / object); a class may
 *                      belong to several groups (one line per membership),
 *                      and unions of groups can be added ("organism" = dog +
 *                      animal);
 *   - classes.tsv + a wnid-per-line label file: the original labels.
 * Entry k of every per-image array is ILSVRC2012_val_{k+1:08d}.JPEG.
 * Class indices are the standard sorted-wnid indices.
 *
 * Sets are stored CSR: the classes of entry i are
 * classes[offsets[i] .. offsets[i+1]).  All structs own their arrays;
 * free with the matching _free (NULL-safe, zeroes the struct).
 * Every reader reports file:line (and column for JSON) with a hint; text
 * lines follow util/text.h's limits. */
#ifndef RL_REFSETS_H
#define RL_REFSETS_H

#include <stdint.h>
#include "util/status.h"

typedef struct {
    int64_t n;        /* entries (images) */
    int64_t *offsets; /* [n+1] */
    int32_t *classes; /* [offsets[n]] */
} rl_sets;

/* Which annotated labels count as a right answer for multi-label accuracy:
 * Shankar et al. 2020's own grading (human_accuracy.py) counts only labels
 * marked correct; the imagenet-mistakes notebook (Vasudevan et al. 2022) and
 * TFDS count correct and unclear ones (relab's default). */
typedef enum { RL_ML_CORRECT_UNCLEAR = 0, RL_ML_CORRECT_ONLY = 1 } rl_ml_rule;

typedef struct {
    int64_t n;         /* validation images covered by the index space (max id seen) */
    rl_sets correct;   /* labels marked correct, per image (empty when not annotated) */
    rl_sets unclear;   /* labels marked unclear, per image */
    int32_t *original; /* [n] original label from the file, -1 if not annotated */
    uint8_t *state;    /* [n] RL_ML_ABSENT, RL_ML_OK or RL_ML_PROBLEMATIC */
    int64_t annotated, problematic;
    rl_ml_rule rule; /* how metrics read it; RL_ML_CORRECT_UNCLEAR after reading */
} rl_multilabel;
enum { RL_ML_ABSENT = 0, RL_ML_OK = 1, RL_ML_PROBLEMATIC = 2 };

/* "correct+unclear" / "correct". */
const char *rl_ml_rule_name(rl_ml_rule r);

/* 1 when class c answers image v right under m->rule (v annotated, in range). */
int rl_multilabel_hit(const rl_multilabel *m, int64_t v, int32_t c);

#define RL_MAX_GROUPS 32
typedef struct {
    int num_classes;
    int ngroups;
    char names[RL_MAX_GROUPS][32]; /* in order of first appearance */
    uint32_t *member;              /* [num_classes] bit g set when the class is in group g */
} rl_groups;

#define RL_IMAGENET_VAL_COUNT 50000
#define RL_REAL_JSON_MAX ((size_t)64 << 20) /* bytes read of a real.json (the real one has 1 MiB) */

/* 0-based validation index of an ImageNet validation id: the basename must be
 * exactly "ILSVRC2012_val_%08d.JPEG" with a number in 1..50000; anything else
 * -1 (so no id can make a reader allocate more than the validation set). */
int64_t rl_imagenet_val_index(const char *id);

/* real.json: every class must lie in [0, num_classes). */
rl_status rl_real_read(const char *path, int num_classes, rl_sets *out, rl_error *err);
void rl_sets_free(rl_sets *s);

rl_status rl_multilabel_read(const char *path, int num_classes, rl_multilabel *out, rl_error *err);
void rl_multilabel_free(rl_multilabel *m);

rl_status rl_groups_read(const char *path, int num_classes, rl_groups *out, rl_error *err);
/* Adds the group "NAME=A+B+...": every class of the groups A, B, ... (e.g.
 * "organism=dog+animal", Shankar et al.'s 410 organism classes). */
rl_status rl_groups_add_union(rl_groups *g, const char *spec, rl_error *err);
void rl_groups_free(rl_groups *g);

/* classes.tsv gives wnid -> index; labels_path has one wnid per line.  Writes a
 * malloc'ed array of *n labels the caller frees. */
rl_status rl_wnid_labels_read(const char *labels_path, const char *classes_path, int32_t **labels, int64_t *n,
                              rl_error *err);

#endif
