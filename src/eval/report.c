/* report.c: tables and JSON for eval and compare (layout in report.h). */
#include "eval/report.h"

#include <math.h>
#include <string.h>

void rl_report_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", out);
        else if (ch == '\t')
            fputs("\\t", out);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void json_num(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.17g", v);
    else
        fputs("null", out);
}

static void json_acc(FILE *out, const rl_acc *a)
{
    if (a->total == 0) {
        fprintf(out, "null");
        return;
    }
    fprintf(out, "{\"correct\": %lld, \"total\": %lld, \"acc\": ", (long long)a->correct, (long long)a->total);
    json_num(out, a->acc);
    fputs(", \"ci95\": [", out);
    json_num(out, a->lo);
    fputs(", ", out);
    json_num(out, a->hi);
    fputs("]}", out);
}

void rl_report_eval_json(FILE *out, const char *path, const rl_preds *p, const rl_eval_result *r)
{
    fputs("{\"file\": ", out);
    rl_report_json_string(out, path);
    fprintf(out, ", \"n\": %lld, \"num_classes\": %d, \"k\": %d, \"score_kind\": ", (long long)r->n, p->num_classes,
            p->k);
    rl_report_json_string(out, p->score_kind);
    fprintf(out, ", \"unlabeled\": %lld,\n \"top1\": ", (long long)r->unlabeled);
    json_acc(out, &r->top1);
    fputs(",\n \"top5\": ", out);
    json_acc(out, &r->top5);
    fprintf(out, ", \"top5_k\": %d,\n \"real\": ", r->top5_k);
    if (r->has_real) {
        fputs("{\"top1\": ", out);
        json_acc(out, &r->real1);
        fputs(", \"top5\": ", out);
        json_acc(out, &r->real5);
        fprintf(out, ", \"excluded_empty\": %lld, \"missing\": %lld}", (long long)r->real_empty,
                (long long)r->real_missing);
    } else {
        fputs("null", out);
    }
    fputs(",\n \"multilabel\": ", out);
    if (r->has_ml) {
        fputs("{\"macro\": ", out);
        json_num(out, r->ml_macro);
        fprintf(out,
                ", \"macro_rule\": \"mean over classes (by original label) of per-class accuracy; "
                "correct iff top-1 in correct+unclear; problematic skipped\", \"classes\": %d, \"micro\": ",
                r->ml_classes);
        json_acc(out, &r->ml_micro);
        fprintf(out, ", \"skipped_problematic\": %lld, \"not_annotated\": %lld}", (long long)r->ml_problematic,
                (long long)r->ml_absent);
    } else {
        fputs("null", out);
    }
    fputs(",\n \"groups\": ", out);
    if (r->ngroups) {
        fputc('{', out);
        for (int g = 0; g < r->ngroups; g++) {
            fputs(g ? ",\n  " : "\n  ", out);
            rl_report_json_string(out, r->group_names[g]);
            fputs(": {\"top1\": ", out);
            json_acc(out, &r->group_top1[g]);
            fputs(", \"real_top1\": ", out);
            json_acc(out, &r->group_real1[g]);
            fputs(", \"multilabel_micro\": ", out);
            json_acc(out, &r->group_ml[g]);
            fputc('}', out);
        }
        fputc('}', out);
    } else {
        fputs("null", out);
    }
    fputs("}\n", out);
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
    fputs("{\"a\": ", out);
    rl_report_json_string(out, a);
    fputs(", \"b\": ", out);
    rl_report_json_string(out, b);
    fputs(", \"metric\": ", out);
    rl_report_json_string(out, what);
    fprintf(out, ", \"n\": %lld, \"both\": %lld, \"a_only\": %lld, \"b_only\": %lld, \"neither\": %lld, \"p_exact\": ",
            (long long)m->n, (long long)m->both, (long long)m->a_only, (long long)m->b_only, (long long)m->neither);
    json_num(out, m->p_exact);
    fputs(", \"chi2\": ", out);
    json_num(out, m->chi2);
    fputs(", \"p_chi2\": ", out);
    json_num(out, m->p_chi2);
    fputs("}\n", out);
}
