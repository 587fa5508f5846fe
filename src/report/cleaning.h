/* cleaning.h: what the report shows of a `relab clean`: counts per class, the
 * most frequent (given label -> teacher) pairs, and the images for the gallery.
 *
 * Two inputs, either or both (docs/formats.md describes them):
 *   - the JSON report (--report FILE.json): the rule, the mode, per-class
 *     counts, the top pairs and the precision and recall against a noise
 *     record;
 *   - the per-image table (--per-image FILE.tsv): one row per training
 *     sample (id, label, teacher, teacher_prob, ..., agrees, action, truth),
 *     columns found by name in its header line.
 * With the table, every count is recomputed from it (so the gallery and the
 * counts agree by construction) and, when both are given, checked against
 * the JSON: a mismatch means two different cleanings and is an error.
 *
 * "Flagged" = disagreed with the teacher (agrees = 0): removed in mode drop,
 * relabelled in mode relabel.  With a truth column (a noise record), flagged
 * samples split into "label was wrong" (truth != label: the teacher was
 * right) and "label was right" (the teacher removed a good label), and kept
 * samples with truth != label are the noise the teacher missed.
 *
 * Memory: only flagged and missed rows are kept (ImageNet's 1.28M rows are
 * read as a stream).  Functions touch only their arguments.
 */
#ifndef RL_REPORT_CLEANING_H
#define RL_REPORT_CLEANING_H

#include <stdint.h>
#include "util/status.h"

#define RL_CLEANING_PAIRS 20

typedef struct {
    char *id;        /* owned */
    int32_t label;   /* given label */
    int32_t teacher; /* teacher top-1 */
    float prob;      /* teacher's probability of its top-1 */
    int32_t truth;   /* -1 when unknown */
    int flagged;     /* 1 = disagreed with the teacher */
    int64_t row;     /* 0-based row in the table (file order) */
} rl_cleaning_image;

typedef struct {
    char rule[32], mode[16]; /* "" when unknown (no JSON report) */
    int num_classes;
    int64_t total, flagged;
    int64_t *per_class_total;   /* [num_classes] by given label, owned */
    int64_t *per_class_flagged; /* [num_classes] */
    /* With truth (has_truth): */
    int has_truth;
    int64_t noisy;                    /* samples whose label != truth */
    int64_t flagged_noisy;            /* flagged with label != truth: right removals */
    int64_t *per_class_flagged_noisy; /* [num_classes], or NULL without truth */
    /* The most frequent (label, teacher top-1) pairs among the flagged, by count then label. */
    int npairs;
    int32_t pair_label[RL_CLEANING_PAIRS], pair_teacher[RL_CLEANING_PAIRS];
    int64_t pair_count[RL_CLEANING_PAIRS];
    /* From the per-image table (0 images without it). */
    int has_images;
    int64_t nimages;
    rl_cleaning_image *images; /* flagged rows and (with truth) kept rows whose label != truth, in file order */
} rl_cleaning;

/* Reads the JSON report (json_path, may be NULL) and the per-image table
 * (tsv_path, may be NULL; at least one given) into *c (zeroed first).
 * Errors name the file and line (table) or key (JSON). */
rl_status rl_cleaning_read(const char *json_path, const char *tsv_path, rl_cleaning *c, rl_error *err);
void rl_cleaning_free(rl_cleaning *c);

/* 1 if the first line of path is the per-image table's header (starts
 * "id<TAB>label<TAB>teacher<TAB>"): how the report finds the table in a folder. */
int rl_cleaning_is_table(const char *path);

/* The gallery sections. */
typedef enum {
    RL_GALLERY_FLAGGED_WRONG, /* flagged, label != truth (or every flagged image without truth) */
    RL_GALLERY_FLAGGED_RIGHT, /* flagged, label == truth: the teacher was wrong */
    RL_GALLERY_MISSED,        /* kept, label != truth */
    RL_GALLERY_SECTIONS
} rl_gallery_section;

/* Chooses at most cap images of a section: by the teacher's probability,
 * most confident first (ties in file order), taking the given-label classes
 * in turn (each round one image per class, classes ordered by their most
 * confident image), so one class cannot fill the section.  Writes indices
 * into c->images to pick (room for cap) and returns how many, and in
 * *available how many images the section holds.  -1 when out of memory. */
int64_t rl_cleaning_gallery(const rl_cleaning *c, rl_gallery_section s, int64_t cap, int64_t *pick, int64_t *available);

#endif
