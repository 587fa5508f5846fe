/* cmd_eval.c: `relab eval`: score a predictions file (top-1/5, ReaL,
 * multi-label, per group, 95% intervals, ImageNetV2 gap, set-valued ReaL,
 * per-class accuracy against the unbiased oracle, co-occurring classes); a
 * table on stdout, JSON on request, per-class files on request. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "eval/metrics.h"
#include "eval/perclass.h"
#include "eval/preds.h"
#include "eval/refsets.h"
#include "eval/report.h"
#include "eval/sets.h"
#include "eval/subset.h"
#include "util/fs.h"
#include "util/text.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab eval PREDS.h5 [--labels FILE] [--classes classes.tsv] [--real real.json]\n"
                 "                  [--multilabel multilabel.csv [--ml-rule correct+unclear|correct]]\n"
                 "                  [--groups groups.tsv [--group NAME=A+B ...]] [--subset IDS]\n"
                 "                  [--imagenetv2 V2PREDS.h5] [--sets [--set-thresholds T,T,...]]\n"
                 "                  [--per-class OUT.tsv] [--per-class-svg OUT.svg] [--cooccur OUT.tsv]\n"
                 "                  [--json OUT|-]\n\n"
                 "Scores predictions (format: docs/formats.md) against the file's labels or --labels:\n"
                 "  --labels FILE    a relab list (paths matched with the prediction ids), or with --classes\n"
                 "                   a wnid-per-line file (line k = ILSVRC2012_val_{k+1:08d}.JPEG)\n"
                 "  --classes FILE   classes.tsv: maps the wnids of --labels; its names label the per-class output\n"
                 "  --real FILE      ReaL top-1/top-5 (images with an empty ReaL set are left out)\n"
                 "  --multilabel F   Shankar et al. multi-label accuracy: macro (mean of per-class accuracies,\n"
                 "                   by original label) and micro (over images); problematic images skipped\n"
                 "  --ml-rule R      which labels are right answers: correct+unclear (default; the\n"
                 "                   imagenet-mistakes notebook, TFDS) or correct (Shankar et al.'s grading)\n"
                 "  --groups FILE    accuracy per class group (by the label's class), micro and macro; a class\n"
                 "                   may be in several groups\n"
                 "  --group N=A+B    adds group N, the union of groups A and B (e.g. organism=dog+animal)\n"
                 "  --subset IDS     score only the rows whose ids the file lists (one per line; e.g. the 68\n"
                 "                   images of ImageNet-M); every listed id must have a prediction\n"
                 "  --imagenetv2 F   the same model's ImageNetV2 predictions (labels in the file, e.g. from\n"
                 "                   relab predict --data DIR --numbered): both top-1 accuracies and the gap,\n"
                 "                   with 95%% intervals (Newcombe's for the gap)\n"
                 "  --sets           set-valued evaluation against ReaL (needs --real): precision, recall and\n"
                 "                   F1 of {c : p_c > t}, swept over t = 0.05 .. 0.95 or --set-thresholds;\n"
                 "                   needs the file's logits when the stored top-k is all above t\n"
                 "  --per-class OUT  per class (needs --real): accuracy on the original labels of the model and\n"
                 "                   of the unbiased oracle (one of the image's ReaL labels, uniformly), over\n"
                 "                   the ReaL-labelled images, as TSV; --per-class-svg plots the two\n"
                 "  --cooccur OUT    per class, the classes its ReaL sets share most often, as TSV\n"
                 "  --json OUT       also write the figures as JSON to OUT ('-' = stdout instead of the table)\n"
                 "Ids ILSVRC2012_val_XXXXXXXX.JPEG map to the validation index, other ids by position.\n"
                 "Intervals are 95%% Clopper-Pearson.  Exit 0 ok, 1 failure, 2 usage.\n");
}

#define MAX_UNIONS 8

typedef struct {
    const char *real, *ml, *groups, *labels, *classes, *json, *subset, *v2;
    const char *per_class, *per_class_svg, *cooccur, *thresholds;
    const char *unions[MAX_UNIONS];
    int nunions, sets;
    rl_ml_rule ml_rule;
} eval_args;

/* Parses the options; returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, eval_args *a)
{
    static const struct option opts[] = {{"real", required_argument, NULL, 'r'},
                                         {"multilabel", required_argument, NULL, 'm'},
                                         {"groups", required_argument, NULL, 'g'},
                                         {"labels", required_argument, NULL, 'l'},
                                         {"classes", required_argument, NULL, 'c'},
                                         {"json", required_argument, NULL, 'j'},
                                         {"ml-rule", required_argument, NULL, 'R'},
                                         {"group", required_argument, NULL, 'G'},
                                         {"subset", required_argument, NULL, 's'},
                                         {"imagenetv2", required_argument, NULL, 'v'},
                                         {"sets", no_argument, NULL, 'S'},
                                         {"set-thresholds", required_argument, NULL, 'T'},
                                         {"per-class", required_argument, NULL, 'p'},
                                         {"per-class-svg", required_argument, NULL, 'P'},
                                         {"cooccur", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': a->real = optarg; break;
        case 'm': a->ml = optarg; break;
        case 'g': a->groups = optarg; break;
        case 'l': a->labels = optarg; break;
        case 'c': a->classes = optarg; break;
        case 'j': a->json = optarg; break;
        case 's': a->subset = optarg; break;
        case 'v': a->v2 = optarg; break;
        case 'S': a->sets = 1; break;
        case 'T': a->thresholds = optarg; break;
        case 'p': a->per_class = optarg; break;
        case 'P': a->per_class_svg = optarg; break;
        case 'o': a->cooccur = optarg; break;
        case 'R':
            if (!strcmp(optarg, "correct+unclear"))
                a->ml_rule = RL_ML_CORRECT_UNCLEAR;
            else if (!strcmp(optarg, "correct"))
                a->ml_rule = RL_ML_CORRECT_ONLY;
            else {
                fprintf(stderr, "relab eval: --ml-rule '%s': expected correct+unclear or correct\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'G':
            if (a->nunions == MAX_UNIONS) {
                fprintf(stderr, "relab eval: at most %d --group options\n", MAX_UNIONS);
                return RL_EXIT_USAGE;
            }
            a->unions[a->nunions++] = optarg;
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    const char *why = NULL;
    if (optind != argc - 1)
        why = "expected one predictions file";
    else if ((a->sets || a->per_class || a->per_class_svg || a->cooccur) && !a->real)
        why = "--sets, --per-class, --per-class-svg and --cooccur need --real";
    else if (a->thresholds && !a->sets)
        why = "--set-thresholds goes with --sets";
    else if (a->nunions && !a->groups)
        why = "--group needs --groups";
    if (why) {
        fprintf(stderr, "relab eval: %s\n", why);
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    return -1;
}

/* Keeps only the rows the subset file names (p is replaced). */
static rl_status apply_subset(rl_preds *p, const char *path, int64_t *count, rl_error *err)
{
    uint8_t *keep = malloc((size_t)p->n);
    if (!keep) return rl_fail(err, RL_ERR_NOMEM, "out of memory");
    rl_preds sub;
    rl_status st = rl_subset_mark(p, path, keep, count, err);
    if (!st) st = rl_preds_select(p, keep, &sub, err);
    free(keep);
    if (st) return st;
    rl_preds_free(p);
    *p = sub;
    return RL_OK;
}

/* Top-1 of the ImageNetV2 predictions against their own labels, and the gap. */
static rl_status imagenetv2(const char *path, const rl_acc *in_top1, rl_eval_extras *x, rl_error *err)
{
    rl_preds v;
    rl_status st = rl_preds_read(path, &v, err);
    if (st) return st;
    uint8_t *ok = malloc((size_t)v.n), *valid = malloc((size_t)v.n);
    if (!ok || !valid) st = rl_fail(err, RL_ERR_NOMEM, "out of memory");
    int64_t c = 0, t = 0;
    if (!st) {
        rl_rows_label(&v, v.labels, 1, ok, valid);
        for (int64_t i = 0; i < v.n; i++) {
            t += valid[i];
            c += valid[i] & ok[i];
        }
        if (!t)
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: no row has a label (all -1); hint: predict ImageNetV2 from its class folders "
                         "(relab predict --data DIR --numbered) so that the labels are stored",
                         path);
    }
    if (!st) {
        x->v2 = path;
        x->v2_top1 = rl_acc_make(c, t);
        x->gap = rl_acc_difference(in_top1, &x->v2_top1);
    }
    free(ok);
    free(valid);
    rl_preds_free(&v);
    return st;
}

/* Writes the JSON to path atomically, or to stdout for "-". */
static rl_status write_json(const char *json, const char *path, const rl_preds *p, const rl_eval_result *res,
                            const rl_eval_extras *x, rl_error *err)
{
    if (!strcmp(json, "-")) {
        rl_report_eval_json(stdout, path, p, res, x);
        return RL_OK;
    }
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, json, err);
    if (st) return st;
    rl_report_eval_json(w.f, path, p, res, x);
    return rl_fs_writer_commit(&w, err);
}

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    rc = RL_EXIT_FAIL;
    const char *path = argv[optind];
    rl_error err = {0};
    rl_preds p;
    memset(&p, 0, sizeof p);
    rl_sets real = {0};
    rl_multilabel ml = {0};
    rl_groups groups = {0};
    rl_classes names = {0};
    rl_perclass pc = {0};
    rl_cooccur co = {0};
    rl_eval_result res;
    rl_eval_extras x;
    memset(&x, 0, sizeof x);
    rl_set_point points[RL_SET_MAX_THRESHOLDS];
    double thresholds[RL_SET_MAX_THRESHOLDS];
    int nt = 0;
    int32_t *labels = NULL;
    int64_t *ref = NULL;
    if (a.thresholds ? rl_set_thresholds_parse(a.thresholds, thresholds, &nt, &err) : 0) {
        fprintf(stderr, "relab eval: %s\n", err.msg);
        return RL_EXIT_USAGE;
    }
    if (!a.thresholds) nt = rl_set_thresholds_default(thresholds);
    if (rl_preds_read(path, &p, &err)) goto done;
    if (a.subset && apply_subset(&p, a.subset, &x.subset_ids, &err)) goto done;
    x.subset = a.subset;
    labels = malloc((size_t)p.n * sizeof *labels);
    ref = malloc((size_t)p.n * sizeof *ref);
    if (!labels || !ref) {
        rl_fail(&err, RL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (rl_eval_ref_index(&p, ref, path, &err)) goto done;
    if (rl_eval_labels(&p, ref, a.labels, a.labels ? a.classes : NULL, labels, &err)) goto done;
    if (a.classes && rl_classes_read(a.classes, &names, &err)) goto done;
    x.names = a.classes ? &names : NULL;
    if (a.real && rl_real_read(a.real, p.num_classes, &real, &err)) goto done;
    if (a.ml && rl_multilabel_read(a.ml, p.num_classes, &ml, &err)) goto done;
    ml.rule = a.ml_rule;
    if (a.groups && rl_groups_read(a.groups, p.num_classes, &groups, &err)) goto done;
    for (int u = 0; u < a.nunions; u++)
        if (rl_groups_add_union(&groups, a.unions[u], &err)) {
            rl_error_prefix(&err, "%s", a.groups);
            goto done;
        }
    if (rl_eval_run(&p, labels, ref, a.real ? &real : NULL, a.ml ? &ml : NULL, a.groups ? &groups : NULL, &res, &err))
        goto done;
    if (a.v2 && imagenetv2(a.v2, &res.top1, &x, &err)) goto done;
    if (a.sets) {
        if (rl_eval_sets(&p, ref, &real, thresholds, nt, points, &err)) {
            rl_error_prefix(&err, "%s", path);
            goto done;
        }
        x.sets = points;
        x.nsets = nt;
    }
    if (a.per_class || a.per_class_svg) {
        if (rl_perclass_run(&p, labels, ref, &real, &pc, &err)) goto done;
        x.perclass = &pc;
        if (a.per_class && rl_perclass_write_tsv(a.per_class, &pc, x.names, &err)) goto done;
        if (a.per_class_svg &&
            rl_perclass_write_svg(a.per_class_svg, &pc, x.names,
                                  "per class: original-label accuracy, model vs unbiased oracle", &err))
            goto done;
    }
    if (a.cooccur) {
        if (rl_cooccur_run(&p, ref, &real, &co, &err) || rl_cooccur_write_tsv(a.cooccur, &co, x.names, &err)) goto done;
        x.cooccur = &co;
    }
    if (!a.json || strcmp(a.json, "-")) rl_report_eval_table(stdout, path, &p, &res, &x);
    if (a.json && write_json(a.json, path, &p, &res, &x, &err)) goto done;
    rc = RL_EXIT_OK;
done:
    if (rc) fprintf(stderr, "relab eval: %s\n", err.msg);
    free(labels);
    free(ref);
    rl_preds_free(&p);
    rl_sets_free(&real);
    rl_multilabel_free(&ml);
    rl_groups_free(&groups);
    rl_classes_free(&names);
    rl_perclass_free(&pc);
    rl_cooccur_free(&co);
    return rc;
}
