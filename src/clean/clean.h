/* clean.h: cleaning training labels with a teacher's predictions (Beyer et al.
 * 2020, section 6: keep an image iff the teacher's top-1 equals its label).
 *
 * Teacher: one or more predictions files (eval/preds.h) merged by sample id,
 * e.g. the out-of-fold predictions of k teachers each trained on the other
 * folds; an id predicted twice (in one file or across files) is an error.
 * Training sample ids (list paths) must equal prediction ids exactly.
 *
 * Rules: a sample AGREES with the teacher when
 *   top1       teacher top-1 == label (the paper's rule);
 *   topk:K     label is among the teacher's top K (K <= the file's k);
 *   prob:T     teacher probability of the label >= T (from topk_scores, or
 *              logits through softmax/sigmoid when the label is outside the
 *              stored top-k; if neither decides, an error asks for logits).
 * Modes, applied to the samples that DISAGREE ("flagged"):
 *   drop       remove them (the paper);
 *   relabel    replace the primary label with the teacher's top-1;
 *   multihot   keep every sample and its labels, and add as extra positives
 *              the teacher's top-k classes scoring >= multihot_thresh that
 *              the sample does not have yet (for the sigmoid loss).  With the
 *              default 0.5 and softmax scores that is "teacher top-1 if it
 *              differs and is confident".  Applies to every sample.
 * Thread safety: functions touch only their arguments.
 */
#ifndef RL_CLEAN_H
#define RL_CLEAN_H

#include <stdint.h>
#include <stdio.h>
#include "data/list.h"
#include "eval/idmap.h"
#include "eval/preds.h"
#include "util/status.h"

typedef enum { RL_CLEAN_TOP1, RL_CLEAN_TOPK, RL_CLEAN_PROB, RL_CLEAN_KEEP_LIST, RL_CLEAN_DROP_LIST } rl_clean_rule;
typedef enum { RL_CLEAN_DROP, RL_CLEAN_RELABEL, RL_CLEAN_MULTIHOT } rl_clean_mode;

typedef struct {
    rl_clean_rule rule;
    int k;         /* TOPK */
    double thresh; /* PROB */
    rl_clean_mode mode;
    double multihot_thresh; /* MULTIHOT, default 0.5 */
    const char *names;      /* KEEP_LIST / DROP_LIST: the file of names (borrowed) */
} rl_clean_opts;

/* Parses "top1", "topk:5" or "prob:0.3" into o->rule/k/thresh. */
rl_status rl_clean_rule_parse(const char *text, rl_clean_opts *o, rl_error *err);

typedef struct {
    int nfiles;
    const rl_preds *files;    /* [nfiles] borrowed, must outlive the teacher */
    const char *const *paths; /* [nfiles] their file names, borrowed likewise */
    rl_idmap map;             /* id -> file * 2^40 + row */
} rl_teacher;

/* Indexes files by id; paths name the files in messages.  Files must agree
 * on num_classes. */
rl_status rl_teacher_init(rl_teacher *t, const rl_preds *files, int nfiles, const char *const *paths, rl_error *err);
void rl_teacher_free(rl_teacher *t);

#define RL_CLEAN_TOP_PAIRS 20
/* What happened to a training sample (the per-image table's `action`). */
typedef enum { RL_CLEAN_KEPT = 0, RL_CLEAN_DROPPED = 1, RL_CLEAN_RELABELED = 2 } rl_clean_action;

typedef struct {
    int64_t total, kept, flagged, relabeled, extra_added;
    int num_classes;
    int64_t *per_class_total;   /* [C] samples by original label */
    int64_t *per_class_flagged; /* [C] flagged by original label */
    uint8_t *flagged_rows;      /* [total] 1 = disagreed with the teacher */
    /* Per training sample, in list order (the per-image table): */
    int32_t *teacher_top1; /* [total] the teacher's top-1 class */
    float *teacher_prob;   /* [total] its score (probability) */
    float *label_prob;     /* [total] the teacher's probability of the given label; NaN when the
                            * file cannot tell (label outside the stored top-k and no logits) */
    uint8_t *action;       /* [total] rl_clean_action */
    int32_t *new_label;    /* [total] primary label in the cleaned list, -1 when dropped */
    int npairs;            /* most frequent (label, teacher top-1) among flagged */
    int32_t pair_label[RL_CLEAN_TOP_PAIRS], pair_teacher[RL_CLEAN_TOP_PAIRS];
    int64_t pair_count[RL_CLEAN_TOP_PAIRS];
    /* KEEP_LIST / DROP_LIST: names read, names that matched a sample, names
     * that matched none (the first few kept for the report), names repeated */
    int64_t names, names_matched, names_unmatched, names_repeated;
    char unmatched_first[3][128];
} rl_clean_stats;

/* Cleans train into *out (zeroed first; free with rl_list_free) and fills
 * *stats (free with rl_clean_stats_free).  A training sample without a teacher
 * prediction is an error listing the first few missing ids. */
rl_status rl_clean_run(const rl_list *train, const rl_teacher *t, const rl_clean_opts *o, rl_list *out,
                       rl_clean_stats *stats, rl_error *err);
void rl_clean_stats_free(rl_clean_stats *s);

/* Zeroes *s and allocates its per-class ([C], zeroed) and per-sample
 * ([total]; flagged_rows zeroed) arrays, for cleaners of a list. */
rl_status rl_clean_stats_alloc(rl_clean_stats *s, int64_t total, int num_classes, rl_error *err);

/* Cleans train by a file of names (o->rule KEEP_LIST: keep the samples it
 * names; DROP_LIST: drop them), e.g. Beyer et al.'s released list of the
 * clean ImageNet training files.  The file holds one name per line (blank
 * lines and '#' comments skipped; in a line with a tab, the part before it,
 * so a relab list also works).  A name matches the sample whose id equals it
 * or, for a name without '/', whose id's file name (the part after the last
 * '/') equals it; a file name shared by two samples is an error naming the
 * line.  Names that match no sample are counted (stats->names_unmatched); a
 * file of which no name matches is an error.  Teacher fields of the stats
 * are -1/NaN and flagged_rows marks the dropped samples. */
rl_status rl_clean_by_names(const rl_list *train, const rl_clean_opts *o, rl_list *out, rl_clean_stats *stats,
                            rl_error *err);

/* The flagged set against a noise record (clean/noise.h): precision = truly
 * changed among flagged, recall = flagged among truly changed (record entries
 * whose id is in train).  restored = relabeled samples whose new label is the
 * record's original.  truth (may be NULL) receives [train->count] true labels:
 * the record's original for a changed sample, the list's label otherwise. */
typedef struct {
    int64_t changed, flagged, hit, restored;
    double precision, recall; /* NaN when the denominator is 0 */
} rl_clean_pr;

rl_status rl_clean_against_record(const rl_list *train, const rl_list *out, const rl_clean_opts *o,
                                  const rl_clean_stats *s, const char *record_path, rl_clean_pr *pr, int32_t *truth,
                                  rl_error *err);

/* The per-image table (docs/formats.md, "Per-image cleaning table"): a header
 * line, then one tab-separated line per training sample in list order:
 *   id  label  teacher  teacher_prob  label_prob  agrees  action  new_label  truth
 * Unknown fields are empty (label_prob outside the top-k without logits;
 * truth without a noise record).  Written atomically (util/fs.h). */
rl_status rl_clean_rows_write(const char *path, const rl_list *train, const rl_clean_stats *s, const int32_t *truth,
                              rl_error *err);

/* The report (pr may be NULL): SHORT is the text for a terminal (per-class
 * lines only for the 10 classes with the most flagged samples when there are
 * more than 20 classes), TEXT lists every class, JSON is for programs. */
typedef enum { RL_CLEAN_REPORT_SHORT, RL_CLEAN_REPORT_TEXT, RL_CLEAN_REPORT_JSON } rl_clean_report_kind;
void rl_clean_report(FILE *f, const rl_clean_stats *s, const rl_clean_pr *pr, const rl_clean_opts *o,
                     rl_clean_report_kind kind);

#endif
