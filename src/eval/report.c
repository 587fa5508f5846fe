/* report.c: tables and JSON for eval and compare (layout in report.h). */
#include "eval/report.h"

#include <math.h>
#include <string.h>

/* JSON goes through Jansson: one object built, then dumped with 17 significant
 * digits (JSON_REAL_PRECISION), so doubles round-trip; NaN becomes null. */

json_t *rl_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int rl_json_write(FILE *out, json_t *obj)
{
    int rc = obj ? json_dumpf(obj, out, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) : -1;
    if (rc == 0) fputc('\n', out);
    json_decref(obj);
    return rc;
}

static json_t *json_acc(const rl_acc *a)
{
    if (a->total == 0) return json_null();
    return json_pack("{sI sI so s[oo]}", "correct", (json_int_t)a->correct, "total", (json_int_t)a->total, "acc",
                     rl_json_num(a->acc), "ci95", rl_json_num(a->lo), rl_json_num(a->hi));
}

void rl_report_eval_json(FILE *out, const char *path, const rl_preds *p, const rl_eval_result *r)
{
    json_t *o = json_pack("{so sI si si ss sI so so si}", "file", json_string_nocheck(path), "n", (json_int_t)r->n,
                          "num_classes", p->num_classes, "k", p->k, "score_kind", p->score_kind, "unlabeled",
                          (json_int_t)r->unlabeled, "top1", json_acc(&r->top1), "top5", json_acc(&r->top5), "top5_k",
                          r->top5_k);
    json_object_set_new(o, "real",
                        r->has_real ? json_pack("{so so sI sI}", "top1", json_acc(&r->real1), "top5",
                                                json_acc(&r->real5), "excluded_empty", (json_int_t)r->real_empty,
                                                "missing", (json_int_t)r->real_missing)
                                    : json_null());
    json_object_set_new(
        o, "multilabel",
        r->has_ml ? json_pack("{so ss si so sI sI}", "macro", rl_json_num(r->ml_macro), "macro_rule",
                              "mean over classes (by original label) of per-class accuracy; correct iff top-1 in "
                              "correct+unclear; problematic skipped",
                              "classes", r->ml_classes, "micro", json_acc(&r->ml_micro), "skipped_problematic",
                              (json_int_t)r->ml_problematic, "not_annotated", (json_int_t)r->ml_absent)
                  : json_null());
    json_t *groups = r->ngroups ? json_object() : json_null();
    for (int g = 0; g < r->ngroups; g++)
        json_object_set_new(groups, r->group_names[g],
                            json_pack("{so so so}", "top1", json_acc(&r->group_top1[g]), "real_top1",
                                      json_acc(&r->group_real1[g]), "multilabel_micro", json_acc(&r->group_ml[g])));
    json_object_set_new(o, "groups", groups);
    rl_json_write(out, o);
}

static void table_row(FILE *out, const char *name, const rl_acc *a)
{
    if (a->total == 0) {
        fprintf(out, "  %-22s %8s  %-19s %s\n", name, "-", "", "no rows");
        return;
    }
    fprintf(out, "  %-22s %7.2f%%  [%6.2f%%, %6.2f%%]  %lld / %lld\n", name, 100 * a->acc, 100 * a->lo, 100 * a->hi,
            (long long)a->correct, (long long)a->total);
}

void rl_report_eval_table(FILE *out, const char *path, const rl_preds *p, const rl_eval_result *r)
{
    fprintf(out, "%s: %lld predictions, %d classes, top-%d %s scores\n", path, (long long)r->n, p->num_classes, p->k,
            p->score_kind);
    if (p->meta) fprintf(out, "  meta: %s\n", p->meta);
    fprintf(out, "  %-22s %8s  %-19s %s\n", "metric", "acc", "95% CI", "correct / total");
    table_row(out, "top-1", &r->top1);
    char name[64];
    snprintf(name, sizeof name, "top-%d", r->top5_k);
    if (r->top5_k > 1) table_row(out, name, &r->top5);
    if (r->unlabeled) fprintf(out, "  (%lld rows have no label and are left out of top-k)\n", (long long)r->unlabeled);
    if (r->has_real) {
        table_row(out, "ReaL top-1", &r->real1);
        snprintf(name, sizeof name, "ReaL top-%d", r->top5_k);
        if (r->top5_k > 1) table_row(out, name, &r->real5);
        fprintf(out, "  (ReaL leaves out %lld rows with an empty set and %lld with no entry)\n",
                (long long)r->real_empty, (long long)r->real_missing);
    }
    if (r->has_ml) {
        fprintf(out, "  %-22s %7.2f%%  mean of %d per-class accuracies (imagenet-mistakes rule)\n", "multi-label macro",
                100 * r->ml_macro, r->ml_classes);
        table_row(out, "multi-label micro", &r->ml_micro);
        fprintf(out, "  (multi-label skips %lld problematic and %lld unannotated rows)\n", (long long)r->ml_problematic,
                (long long)r->ml_absent);
    }
    for (int g = 0; g < r->ngroups; g++) {
        snprintf(name, sizeof name, "%.20s top-1", r->group_names[g]);
        table_row(out, name, &r->group_top1[g]);
        if (r->has_real) {
            snprintf(name, sizeof name, "%.15s ReaL top-1", r->group_names[g]);
            table_row(out, name, &r->group_real1[g]);
        }
        if (r->has_ml) {
            snprintf(name, sizeof name, "%.15s multi-label", r->group_names[g]);
            table_row(out, name, &r->group_ml[g]);
        }
    }
}

void rl_report_compare_table(FILE *out, const char *a, const char *b, const char *what, const rl_mcnemar *m)
{
    fprintf(out, "McNemar on %s, %lld common rows\n  A = %s\n  B = %s\n", what, (long long)m->n, a, b);
    fprintf(out, "                 B correct  B wrong\n  A correct   %10lld %8lld\n  A wrong     %10lld %8lld\n",
            (long long)m->both, (long long)m->a_only, (long long)m->b_only, (long long)m->neither);
    if (m->n)
        fprintf(out, "  accuracy A %.4f%%  B %.4f%%\n", 100.0 * (double)(m->both + m->a_only) / (double)m->n,
                100.0 * (double)(m->both + m->b_only) / (double)m->n);
    fprintf(out, "  exact binomial p = %.6g   chi2 (continuity-corrected) = %.6g, p = %.6g\n", m->p_exact, m->chi2,
            m->p_chi2);
}

void rl_report_compare_json(FILE *out, const char *a, const char *b, const char *what, const rl_mcnemar *m)
{
    rl_json_write(out, json_pack("{so so ss sI sI sI sI sI so so so}", "a", json_string_nocheck(a), "b",
                                 json_string_nocheck(b), "metric", what, "n", (json_int_t)m->n, "both",
                                 (json_int_t)m->both, "a_only", (json_int_t)m->a_only, "b_only", (json_int_t)m->b_only,
                                 "neither", (json_int_t)m->neither, "p_exact", rl_json_num(m->p_exact), "chi2",
                                 rl_json_num(m->chi2), "p_chi2", rl_json_num(m->p_chi2)));
}
