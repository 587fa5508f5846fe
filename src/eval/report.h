/* report.h: eval and compare results as a table for people and as JSON for
 * programs.  JSON numbers are printed with 17 significant digits so that a
 * reader recovers the exact doubles; an absent figure is null.  JSON is
 * written with Jansson.
 *
 * JSON layout of an eval (accuracy objects are
 * {"correct": k, "total": n, "acc": k/n, "ci95": [lo, hi]}):
 *   {"file", "n", "num_classes", "k", "score_kind", "unlabeled",
 *    "top1", "top5", "top5_k",
 *    "real": {"top1", "top5", "excluded_empty", "missing"} | null,
 *    "multilabel": {"macro", "macro_rule", "classes", "micro",
 *                   "skipped_problematic", "not_annotated"} | null,
 *    "groups": {"<name>": {"top1", "real_top1", "multilabel_micro"}} | null}
 * Writers only print; they do not close the stream.  Not thread safe on one
 * stream. */
#ifndef RL_REPORT_H
#define RL_REPORT_H

#include <jansson.h>
#include <stdio.h>
#include "eval/metrics.h"
#include "eval/preds.h"

void rl_report_eval_table(FILE *out, const char *path, const rl_preds *p, const rl_eval_result *r);
void rl_report_eval_json(FILE *out, const char *path, const rl_preds *p, const rl_eval_result *r);

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
