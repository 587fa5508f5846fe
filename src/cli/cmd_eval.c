/* cmd_eval.c: `relab eval`: score a predictions file (top-1/5, ReaL,
 * multi-label, per group, 95% intervals); a table on stdout, JSON on request. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "eval/metrics.h"
#include "eval/preds.h"
#include "eval/refsets.h"
#include "eval/report.h"
#include "util/fs.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab eval PREDS.h5 [--real real.json] [--multilabel multilabel.csv] [--groups groups.tsv]\n"
                 "                  [--labels FILE [--classes classes.tsv]] [--json OUT|-]\n\n"
                 "Scores predictions (format: docs/formats.md) against the file's labels or --labels:\n"
                 "  --labels FILE    a relab list (paths matched with the prediction ids), or with --classes\n"
                 "                   a wnid-per-line file (line k = ILSVRC2012_val_{k+1:08d}.JPEG)\n"
                 "  --real FILE      ReaL top-1/top-5 (images with an empty ReaL set are left out)\n"
                 "  --multilabel F   Shankar et al. multi-label accuracy: macro (mean of per-class accuracies,\n"
                 "                   imagenet-mistakes notebook rule) and micro (over images)\n"
                 "  --groups FILE    accuracy per class group (by the label's class)\n"
                 "  --json OUT       also write the figures as JSON to OUT ('-' = stdout instead of the table)\n"
                 "Ids ILSVRC2012_val_XXXXXXXX.JPEG map to the validation index, other ids by position.\n"
                 "Intervals are 95%% Clopper-Pearson.  Exit 0 ok, 1 failure, 2 usage.\n");
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"real", required_argument, NULL, 'r'},    {"multilabel", required_argument, NULL, 'm'},
        {"groups", required_argument, NULL, 'g'},  {"labels", required_argument, NULL, 'l'},
        {"classes", required_argument, NULL, 'c'}, {"json", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *real_path = NULL, *ml_path = NULL, *groups_path = NULL, *labels_path = NULL, *classes_path = NULL,
               *json_path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': real_path = optarg; break;
        case 'm': ml_path = optarg; break;
        case 'g': groups_path = optarg; break;
        case 'l': labels_path = optarg; break;
        case 'c': classes_path = optarg; break;
        case 'j': json_path = optarg; break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || (classes_path && !labels_path)) {
        fprintf(stderr, "relab eval: expected one predictions file%s\n",
                classes_path && !labels_path ? " (--classes needs --labels)" : "");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    const char *path = argv[optind];
    rl_error err = {0};
    rl_preds p;
    rl_sets real = {0};
    rl_multilabel ml = {0};
    rl_groups groups = {0};
    rl_eval_result res;
    int32_t *labels = NULL;
    int64_t *ref = NULL;
    int rc = RL_EXIT_FAIL;
    if (rl_preds_read(path, &p, &err)) goto done;
    labels = malloc((size_t)p.n * sizeof *labels);
    ref = malloc((size_t)p.n * sizeof *ref);
    if (!labels || !ref) {
        rl_fail(&err, RL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (rl_eval_ref_index(&p, ref, path, &err)) goto done;
    if (rl_eval_labels(&p, ref, labels_path, classes_path, labels, &err)) goto done;
    if (real_path && rl_real_read(real_path, p.num_classes, &real, &err)) goto done;
    if (ml_path && rl_multilabel_read(ml_path, p.num_classes, &ml, &err)) goto done;
    if (groups_path && rl_groups_read(groups_path, p.num_classes, &groups, &err)) goto done;
    if (rl_eval_run(&p, labels, ref, real_path ? &real : NULL, ml_path ? &ml : NULL, groups_path ? &groups : NULL, &res,
                    &err))
        goto done;
    if (json_path && !strcmp(json_path, "-")) {
        rl_report_eval_json(stdout, path, &p, &res);
    } else {
        rl_report_eval_table(stdout, path, &p, &res);
        if (json_path) {
            rl_fs_writer w;
            if (rl_fs_writer_open(&w, json_path, &err)) goto done;
            rl_report_eval_json(w.f, path, &p, &res);
            if (rl_fs_writer_commit(&w, &err)) goto done;
        }
    }
    rc = RL_EXIT_OK;
done:
    if (rc) fprintf(stderr, "relab eval: %s\n", err.msg);
    free(labels);
    free(ref);
    rl_preds_free(&p);
    rl_sets_free(&real);
    rl_multilabel_free(&ml);
    rl_groups_free(&groups);
    return rc;
}
