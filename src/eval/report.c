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

static json_t *json_ci(double lo, double hi)
{
    return json_pack("[oo]", rl_json_num(lo), rl_json_num(hi));
}

static json_t *json_groups(const rl_eval_result *r)
{
    if (!r->ngroups) return json_null();
    json_t *groups = json_object();
    for (int g = 0; g < r->ngroups; g++)
        json_object_set_new(
            groups, r->group_names[g],
            json_pack("{si so so so so so so}", "classes", r->group_classes[g], "top1", json_acc(&r->group_top1[g]),
                      "top1_macro", rl_json_num(r->group_top1_macro[g]), "real_top1", json_acc(&r->group_real1[g]),
                      "real_top1_macro", rl_json_num(r->group_real1_macro[g]), "multilabel_micro",
                      json_acc(&r->group_ml[g]), "multilabel_macro", rl_json_num(r->group_ml_macro[g])));
    return groups;
}

static json_t *json_sets(const rl_eval_extras *x)
{
    if (!x->nsets) return json_null();
    json_t *a = json_array();
    for (int q = 0; q < x->nsets; q++) {
        const rl_set_point *s = &x->sets[q];
        json_array_append_new(a, json_pack("{so sI so so so so so so so}", "threshold", rl_json_num(s->threshold),
                                           "images", (json_int_t)s->images, "mean_size", rl_json_num(s->mean_size),
                                           "empty", rl_json_num(s->empty), "precision", rl_json_num(s->precision),
                                           "recall", rl_json_num(s->recall), "f1", rl_json_num(s->f1), "example_f1",
                                           rl_json_num(s->example_f1), "exact", rl_json_num(s->exact)));
    }
    return a;
}

/* Classes whose model accuracy on the original labels is above the oracle's. */
static int classes_above(const rl_perclass *pc)
{
    int n = 0;
    for (int c = 0; c < pc->num_classes; c++)
        n += pc->images[c] && pc->model[c] > pc->oracle[c];
    return n;
}

void rl_report_eval_json(FILE *out, const char *path, const rl_preds *p, const rl_eval_result *r,
                         const rl_eval_extras *x)
{
    static const rl_eval_extras none;
    if (!x) x = &none;
    json_t *o = json_pack("{so sI si si ss sI so so si}", "file", json_string_nocheck(path), "n", (json_int_t)r->n,
                          "num_classes", p->num_classes, "k", p->k, "score_kind", p->score_kind, "unlabeled",
                          (json_int_t)r->unlabeled, "top1", json_acc(&r->top1), "top5", json_acc(&r->top5), "top5_k",
                          r->top5_k);
    json_object_set_new(
        o, "subset",
        x->subset ? json_pack("{so sI}", "file", json_string_nocheck(x->subset), "ids", (json_int_t)x->subset_ids)
                  : json_null());
    json_object_set_new(o, "real",
                        r->has_real ? json_pack("{so so sI sI}", "top1", json_acc(&r->real1), "top5",
                                                json_acc(&r->real5), "excluded_empty", (json_int_t)r->real_empty,
                                                "missing", (json_int_t)r->real_missing)
                                    : json_null());
    json_object_set_new(
        o, "multilabel",
        r->has_ml ? json_pack("{ss so ss si so sI sI}", "rule", rl_ml_rule_name(r->ml_rule), "macro",
                              rl_json_num(r->ml_macro), "macro_rule",
                              r->ml_rule == RL_ML_CORRECT_ONLY
                                  ? "mean over classes (by original label) of per-class accuracy; correct iff top-1 in "
                                    "correct (Shankar et al.'s grading); problematic skipped"
                                  : "mean over classes (by original label) of per-class accuracy; correct iff top-1 in "
                                    "correct+unclear (imagenet-mistakes notebook); problematic skipped",
                              "classes", r->ml_classes, "micro", json_acc(&r->ml_micro), "skipped_problematic",
                              (json_int_t)r->ml_problematic, "not_annotated", (json_int_t)r->ml_absent)
                  : json_null());
    json_object_set_new(o, "groups", json_groups(r));
    json_object_set_new(o, "imagenetv2",
                        x->v2 ? json_pack("{so so s{so so}}", "file", json_string_nocheck(x->v2), "top1",
                                          json_acc(&x->v2_top1), "gap", "diff", rl_json_num(x->gap.diff), "ci95",
                                          json_ci(x->gap.lo, x->gap.hi))
                              : json_null());
    json_object_set_new(o, "sets", json_sets(x));
    const rl_perclass *pc = x->perclass;
    json_object_set_new(o, "per_class",
                        pc && pc->total_images
                            ? json_pack("{sI so so si}", "images", (json_int_t)pc->total_images, "model_acc",
                                        rl_json_num((double)pc->total_model / (double)pc->total_images), "oracle_acc",
                                        rl_json_num(pc->total_oracle / (double)pc->total_images),
                                        "classes_above_oracle", classes_above(pc))
                            : json_null());
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

static void macro_row(FILE *out, const char *name, double macro, int classes)
{
    if (isfinite(macro))
        fprintf(out, "  %-22s %7.2f%%  mean of the per-class accuracies (%d classes)\n", name, 100 * macro, classes);
}

static void table_groups(FILE *out, const rl_eval_result *r)
{
    char name[64];
    for (int g = 0; g < r->ngroups; g++) {
        const char *gn = r->group_names[g];
        snprintf(name, sizeof name, "%.15s top-1", gn);
        table_row(out, name, &r->group_top1[g]);
        snprintf(name, sizeof name, "%.15s top-1 macro", gn);
        macro_row(out, name, r->group_top1_macro[g], r->group_classes[g]);
        if (r->has_real) {
            snprintf(name, sizeof name, "%.15s ReaL top-1", gn);
            table_row(out, name, &r->group_real1[g]);
        }
        if (r->has_ml) {
            snprintf(name, sizeof name, "%.15s multi-label", gn);
            table_row(out, name, &r->group_ml[g]);
            snprintf(name, sizeof name, "%.12s m-l macro", gn);
            macro_row(out, name, r->group_ml_macro[g], r->group_classes[g]);
        }
    }
}

/* Shankar et al. 2020 (and Recht et al. 2019) Table 1 layout: both accuracies and the gap. */
static void table_v2(FILE *out, const rl_eval_result *r, const rl_eval_extras *x)
{
    fprintf(out, "  ImageNet vs ImageNetV2 (%s), top-1 with 95%% intervals:\n", x->v2);
    table_row(out, "ImageNet", &r->top1);
    table_row(out, "ImageNetV2", &x->v2_top1);
    if (isfinite(x->gap.diff))
        fprintf(out, "  %-22s %7.2f   [%6.2f, %6.2f]   points (Newcombe's interval)\n", "gap", 100 * x->gap.diff,
                100 * x->gap.lo, 100 * x->gap.hi);
}

static void table_sets(FILE *out, const rl_eval_extras *x)
{
    fprintf(out, "  predicted sets {c : p_c > t} against ReaL, %lld images:\n", (long long)x->sets[0].images);
    fprintf(out, "  %6s %7s %7s %10s %8s %7s %9s %7s\n", "t", "mean |S|", "empty", "precision", "recall", "F1",
            "image F1", "exact");
    for (int q = 0; q < x->nsets; q++) {
        const rl_set_point *s = &x->sets[q];
        fprintf(out, "  %6.3f %8.3f %6.2f%% %9.2f%% %7.2f%% %6.2f%% %8.2f%% %6.2f%%\n", s->threshold, s->mean_size,
                100 * s->empty, 100 * s->precision, 100 * s->recall, 100 * s->f1, 100 * s->example_f1, 100 * s->exact);
    }
}

static const char *short_name(const rl_classes *names, int c, char *buf, size_t n)
{
    const char *nm = names && c < names->n ? names->name[c] : "";
    if (*nm)
        snprintf(buf, n, "%d %.*s", c, (int)strcspn(nm, ","), nm);
    else
        snprintf(buf, n, "%d", c);
    return buf;
}

static void table_perclass(FILE *out, const rl_perclass *pc, const rl_classes *names)
{
    double n = (double)pc->total_images;
    fprintf(out,
            "  original labels on %lld ReaL-labelled images: model %.2f%%, unbiased oracle %.2f%%; %d classes where "
            "the model is above the oracle\n",
            (long long)pc->total_images, 100 * pc->total_model / n, 100 * pc->total_oracle / n, classes_above(pc));
    int top[10], nt = 0; /* the classes with the largest model - oracle */
    for (int c = 0; c < pc->num_classes; c++) {
        if (!pc->images[c]) continue;
        double gap = (pc->model[c] - pc->oracle[c]) / (double)pc->images[c];
        int pos = nt;
        while (pos > 0 && (pc->model[top[pos - 1]] - pc->oracle[top[pos - 1]]) / (double)pc->images[top[pos - 1]] < gap)
            pos--;
        if (pos >= 10) continue;
        for (int q = nt < 10 ? nt : 9; q > pos; q--)
            top[q] = top[q - 1];
        top[pos] = c;
        nt += nt < 10;
    }
    fprintf(out, "  classes where the model agrees with the original labels most above the oracle:\n");
    char buf[96];
    for (int q = 0; q < nt; q++) {
        int c = top[q];
        double m = (double)pc->images[c];
        fprintf(out, "    %-32s model %6.2f%%, oracle %6.2f%% (%lld images)\n", short_name(names, c, buf, sizeof buf),
                100 * pc->model[c] / m, 100 * pc->oracle[c] / m, (long long)pc->images[c]);
    }
}

static void table_cooccur(FILE *out, const rl_cooccur *co, const rl_classes *names)
{
    fprintf(out, "  classes that share ReaL sets most often (%lld images have two or more labels):\n",
            (long long)co->multi);
    char a[96], b[96];
    for (int q = 0; q < co->npairs && q < 10; q++)
        fprintf(out, "    %-32s + %-32s %lld images\n", short_name(names, co->pair_a[q], a, sizeof a),
                short_name(names, co->pair_b[q], b, sizeof b), (long long)co->pair_n[q]);
}

void rl_report_eval_table(FILE *out, const char *path, const rl_preds *p, const rl_eval_result *r,
                          const rl_eval_extras *x)
{
    static const rl_eval_extras none;
    if (!x) x = &none;
    fprintf(out, "%s: %lld predictions, %d classes, top-%d %s scores\n", path, (long long)r->n, p->num_classes, p->k,
            p->score_kind);
    if (p->meta) fprintf(out, "  meta: %s\n", p->meta);
    if (x->subset) fprintf(out, "  subset: the %lld ids of %s\n", (long long)x->subset_ids, x->subset);
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
        fprintf(out, "  %-22s %7.2f%%  mean of %d per-class accuracies (rule: %s)\n", "multi-label macro",
                100 * r->ml_macro, r->ml_classes, rl_ml_rule_name(r->ml_rule));
        table_row(out, "multi-label micro", &r->ml_micro);
        fprintf(out, "  (multi-label skips %lld problematic and %lld unannotated rows)\n", (long long)r->ml_problematic,
                (long long)r->ml_absent);
    }
    table_groups(out, r);
    if (x->v2) table_v2(out, r, x);
    if (x->nsets) table_sets(out, x);
    if (x->perclass && x->perclass->total_images) table_perclass(out, x->perclass, x->names);
    if (x->cooccur) table_cooccur(out, x->cooccur, x->names);
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
