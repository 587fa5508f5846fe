/* cmd_compare.c: `relab compare`: McNemar's paired test between two
 * predictions files on the images they share (matched by id). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "eval/idmap.h"
#include "eval/metrics.h"
#include "eval/preds.h"
#include "eval/refsets.h"
#include "eval/report.h"
#include "util/fs.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: relab compare A.h5 B.h5 [--labels FILE [--classes classes.tsv]] [--real real.json] [--json OUT|-]\n\n"
        "McNemar's test between two models on the rows both files hold (matched by id):\n"
        "exact two-sided binomial p and the continuity-corrected chi-square.  Correct means\n"
        "top-1 == label (the files' labels, or --labels as in 'relab eval'), or with --real\n"
        "top-1 in the ReaL set (rows with an empty set left out).  Exit 0 ok, 1 failure, 2 usage.\n");
}

typedef struct {
    rl_preds p;
    int32_t *labels;
    int64_t *ref;
    uint8_t *ok, *valid;
} side;

static void side_free(side *s)
{
    rl_preds_free(&s->p);
    free(s->labels);
    free(s->ref);
    free(s->ok);
    free(s->valid);
}

static rl_status side_load(side *s, const char *path, const char *labels_path, const char *classes_path, rl_error *err)
{
    rl_status st = rl_preds_read(path, &s->p, err);
    if (st) return st;
    size_t n = (size_t)s->p.n;
    s->labels = malloc(n * sizeof *s->labels);
    s->ref = malloc(n * sizeof *s->ref);
    s->ok = malloc(n);
    s->valid = malloc(n);
    if (!s->labels || !s->ref || !s->ok || !s->valid) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    if ((st = rl_eval_ref_index(&s->p, s->ref, path, err))) return st;
    return rl_eval_labels(&s->p, s->ref, labels_path, classes_path, s->labels, err);
}

int cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"labels", required_argument, NULL, 'l'}, {"classes", required_argument, NULL, 'c'},
        {"real", required_argument, NULL, 'r'},   {"json", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *labels_path = NULL, *classes_path = NULL, *real_path = NULL, *json_path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': labels_path = optarg; break;
        case 'c': classes_path = optarg; break;
        case 'r': real_path = optarg; break;
        case 'j': json_path = optarg; break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    if (optind != argc - 2 || (classes_path && !labels_path)) {
        fprintf(stderr, "relab compare: expected two predictions files%s\n",
                classes_path && !labels_path ? " (--classes needs --labels)" : "");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    const char *pa = argv[optind], *pb = argv[optind + 1];
    rl_error err = {0};
    side a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    rl_sets real = {0};
    rl_idmap map = {0};
    int rc = RL_EXIT_FAIL;
    if (side_load(&a, pa, labels_path, classes_path, &err)) goto done;
    if (side_load(&b, pb, labels_path, classes_path, &err)) goto done;
    if (a.p.num_classes != b.p.num_classes) {
        rl_fail(&err, RL_ERR_FORMAT, "%s has %d classes but %s has %d; compare models of one task", pa, a.p.num_classes,
                pb, b.p.num_classes);
        goto done;
    }
    if (real_path) {
        if (rl_real_read(real_path, a.p.num_classes, &real, &err)) goto done;
        rl_rows_sets(&a.p, a.ref, &real, 1, a.ok, a.valid);
        rl_rows_sets(&b.p, b.ref, &real, 1, b.ok, b.valid);
    } else {
        rl_rows_label(&a.p, a.labels, 1, a.ok, a.valid);
        rl_rows_label(&b.p, b.labels, 1, b.ok, b.valid);
    }
    if (rl_idmap_init(&map, b.p.n, &err)) goto done;
    for (int64_t j = 0; j < b.p.n; j++)
        if (rl_idmap_put(&map, b.p.ids[j], j) >= 0) {
            rl_fail(&err, RL_ERR_FORMAT, "%s: dataset 'ids' has '%s' twice", pb, b.p.ids[j]);
            goto done;
        }
    int64_t n11 = 0, n10 = 0, n01 = 0, n00 = 0, common = 0;
    for (int64_t i = 0; i < a.p.n; i++) {
        int64_t j = rl_idmap_get(&map, a.p.ids[i]);
        if (j < 0) continue;
        common++;
        if (!real_path && a.labels[i] != b.labels[j]) {
            rl_fail(&err, RL_ERR_FORMAT, "'%s' has label %d in %s but %d in %s; pass --labels to score both alike",
                    a.p.ids[i], a.labels[i], pa, b.labels[j], pb);
            goto done;
        }
        if (!a.valid[i] || !b.valid[j]) continue;
        if (a.ok[i] && b.ok[j])
            n11++;
        else if (a.ok[i])
            n10++;
        else if (b.ok[j])
            n01++;
        else
            n00++;
    }
    if (!common) {
        rl_fail(&err, RL_ERR_FORMAT, "%s and %s share no ids; compare predictions on the same images", pa, pb);
        goto done;
    }
    rl_mcnemar m = rl_mcnemar_test(n11, n10, n01, n00);
    const char *what = real_path ? "real_top1" : "top1";
    if (json_path && !strcmp(json_path, "-")) {
        rl_report_compare_json(stdout, pa, pb, what, &m);
    } else {
        rl_report_compare_table(stdout, pa, pb, what, &m);
        if (json_path) {
            rl_fs_writer w;
            if (rl_fs_writer_open(&w, json_path, &err)) goto done;
            rl_report_compare_json(w.f, pa, pb, what, &m);
            if (rl_fs_writer_commit(&w, &err)) goto done;
        }
    }
    rc = RL_EXIT_OK;
done:
    if (rc) fprintf(stderr, "relab compare: %s\n", err.msg);
    side_free(&a);
    side_free(&b);
    rl_sets_free(&real);
    rl_idmap_free(&map);
    return rc;
}
