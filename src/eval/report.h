/* report.h: eval and compare results as a table for people and as JSON for
 * programs.  JSON numbers are printed with 17 significant digits so that a
 * reader recovers the exact doubles; an absent figure is null.  JSON is
 * written with Jansson.
 *
 * JSON layout of an eval (accuracy objects are
 * {"correct": k, "total": n, "acc": k/n, "ci95": [lo, hi]}; docs/formats.md
 * describes every key):
 *   {"file", "n", "num_classes", "k", "score_kind", "unlabeled",
 *    "subset": {"file", "ids"} | null,
 *    "top1", "top5", "top5_k",
 *    "real": {"top1", "top5", "excluded_empty", "missing"} | null,
 *    "multilabel": {"rule", "macro", "macro_rule", "classes", "micro",
 *                   "skipped_problematic", "not_annotated"} | null,
 *    "groups": {"<name>": {"classes", "top1", "top1_macro", "real_top1", "real_top1_macro",
 *                          "multilabel_micro", "multilabel_macro"}} | null,
 *    "imagenetv2": {"file", "top1", "gap": {"diff", "ci95"}} | null,
 *    "sets": [{"threshold", "images", "mean_size", "empty", "precision", "recall",
 *              "f1", "example_f1", "exact"}] | null,
 *    "per_class": {"images", "model_acc", "oracle_acc", "classes_above_oracle"} | null}
 * Writers only print; they do not close the stream.  Not thread safe on one
 * stream. */
#ifndef RL_REPORT_H
#define RL_REPORT_H

#include <jansson.h>
#include <stdio.h>
#include "eval/metrics.h"
#include "eval/perclass.h"
#include "eval/preds.h"
#include "eval/sets.h"
#include "util/text.h"

/* What an eval reports besides rl_eval_result; every member may be 0/NULL. */
typedef struct {
    const char *subset; /* the subset file, and how many ids it named */
    int64_t subset_ids;
    const char *v2; /* ImageNetV2 predictions of the same model: its top-1 and the gap */
    rl_acc v2_top1;
    rl_acc_diff gap;          /* top-1 (ImageNet) - top-1 (ImageNetV2) */
    const rl_set_point *sets; /* [nsets] set-valued evaluation against ReaL */
    int nsets;
    const rl_perclass *perclass; /* per-class accuracy against the unbiased oracle */
    const rl_cooccur *cooccur;   /* co-occurring ReaL classes */
    const rl_classes *names;     /* class names for the table */
} rl_eval_extras;

void rl_report_eval_table(FILE *out, const char *path, const rl_preds *p, const rl_eval_result *r,
                          const rl_eval_extras *x);
void rl_report_eval_json(FILE *out, const char *path, const rl_preds *p, const rl_eval_result *r,
                         const rl_eval_extras *x);

/* what names the correctness compared ("top1" or "real_top1"). */
void rl_report_compare_table(FILE *out, const char *a, const char *b, const char *what, const rl_mcnemar *m);
void rl_report_compare_json(FILE *out, const char *a, const char *b, const char *what, const rl_mcnemar *m);

/* JSON helpers shared by relab's writers (Jansson): a number, null when not
 * finite; and writing obj (whose reference is taken, NULL allowed) with 17
 * significant digits and a final newline.  Returns 0, or -1 when obj is NULL
 * or the write failed. */
json_t *rl_json_num(double v);
int rl_json_write(FILE *out, json_t *obj);

#endif
