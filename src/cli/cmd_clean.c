/* cmd_clean.c: `relab clean`: filter, relabel or extend training labels with a
 * teacher's predictions (one file, or k out-of-fold files merged by id). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clean/clean.h"
#include "cli/commands.h"
#include "data/list.h"
#include "eval/preds.h"
#include "util/fs.h"

#define MAX_TEACHERS 64

static void usage(FILE *out)
{
    fprintf(out, "usage: relab clean --teacher PREDS.h5 [--teacher MORE.h5 ...] --train LIST -o CLEANED.list\n"
                 "                   [--rule top1|topk:K|prob:THRESH] [--mode drop|relabel|multihot]\n"
                 "                   [--multihot-thresh P] [--report FILE(.json)] [--noise-record FILE]\n"
                 "                   [--per-image FILE.tsv]\n"
                 "       relab clean --keep-list NAMES|--drop-list NAMES --train LIST -o CLEANED.list [--report ...]\n"
                 "                   [--noise-record FILE] [--per-image FILE.tsv]\n\n"
                 "A sample agrees with the teacher when (rule) its label is the teacher's top-1 (default,\n"
                 "Beyer et al. 2020), is in the teacher's top K, or has teacher probability >= THRESH.\n"
                 "Disagreeing samples are removed (drop, default) or get the teacher's top-1 (relabel);\n"
                 "multihot keeps every label and adds the teacher's classes scoring >= P (default 0.5) as\n"
                 "extra positives.  Several --teacher files (k-fold, out-of-fold) are merged by id; an id\n"
                 "predicted twice, or a training sample with no prediction, is an error.  Prediction ids must\n"
                 "equal the list's paths.  --noise-record (from relab noise --record) adds the precision and\n"
                 "recall of the flagged set.  --per-image writes one line per training sample: id, label,\n"
                 "teacher top-1 and its probability, the label's probability, agrees, kept/dropped/relabeled,\n"
                 "the new label and the true label from --noise-record (docs/formats.md).\n"
                 "--keep-list keeps the samples a file names (one per line: a list id, or a file name such as\n"
                 "Beyer et al.'s fnames_clean.txt), --drop-list drops them; names are matched exactly and the\n"
                 "report counts those that match no sample.\n"
                 "Exit 0 ok, 1 failure, 2 usage.\n");
}

int cmd_clean(int argc, char **argv)
{
    static const struct option opts[] = {{"teacher", required_argument, NULL, 't'},
                                         {"train", required_argument, NULL, 'T'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"rule", required_argument, NULL, 'r'},
                                         {"mode", required_argument, NULL, 'm'},
                                         {"multihot-thresh", required_argument, NULL, 'p'},
                                         {"report", required_argument, NULL, 'R'},
                                         {"noise-record", required_argument, NULL, 'n'},
                                         {"per-image", required_argument, NULL, 'P'},
                                         {"keep-list", required_argument, NULL, 'K'},
                                         {"drop-list", required_argument, NULL, 'D'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *teachers[MAX_TEACHERS];
    int nteachers = 0;
    const char *train_path = NULL, *out_path = NULL, *report_path = NULL, *record_path = NULL, *rows_path = NULL;
    rl_clean_opts o = {RL_CLEAN_TOP1, 1, 0.0, RL_CLEAN_DROP, 0.5, NULL};
    int rule_set = 0, mode_set = 0, nlists = 0;
    rl_error err = {0};
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (nteachers == MAX_TEACHERS) {
                fprintf(stderr, "relab clean: at most %d --teacher files\n", MAX_TEACHERS);
                return RL_EXIT_USAGE;
            }
            teachers[nteachers++] = optarg;
            break;
        case 'T': train_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'R': report_path = optarg; break;
        case 'n': record_path = optarg; break;
        case 'P': rows_path = optarg; break;
        case 'K':
        case 'D':
            o.rule = c == 'K' ? RL_CLEAN_KEEP_LIST : RL_CLEAN_DROP_LIST;
            o.names = optarg;
            nlists++;
            break;
        case 'r':
            rule_set = 1;
            if (rl_clean_rule_parse(optarg, &o, &err)) {
                fprintf(stderr, "relab clean: %s\n", err.msg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'm':
            mode_set = 1;
            if (!strcmp(optarg, "drop"))
                o.mode = RL_CLEAN_DROP;
            else if (!strcmp(optarg, "relabel"))
                o.mode = RL_CLEAN_RELABEL;
            else if (!strcmp(optarg, "multihot"))
                o.mode = RL_CLEAN_MULTIHOT;
            else {
                fprintf(stderr, "relab clean: --mode '%s': expected drop, relabel or multihot\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'p':
            o.multihot_thresh = strtod(optarg, &end);
            if (end == optarg || *end || !(o.multihot_thresh >= 0.0 && o.multihot_thresh <= 1.0)) {
                fprintf(stderr, "relab clean: --multihot-thresh '%s' must be in [0, 1]\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    const char *why = NULL;
    if (optind != argc || !train_path || !out_path || (!nteachers && !nlists))
        why = "--teacher (or --keep-list/--drop-list), --train and -o are required";
    else if (nlists > 1 || (nlists && (nteachers || rule_set || mode_set)))
        why = "one --keep-list or --drop-list, without --teacher, --rule or --mode";
    if (why) {
        fprintf(stderr, "relab clean: %s\n", why);
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    rl_preds files[MAX_TEACHERS];
    memset(files, 0, sizeof files);
    rl_teacher t = {0};
    rl_list train = {0}, out = {0};
    rl_clean_stats s = {0};
    rl_clean_pr pr;
    int32_t *truth = NULL;
    int rc = RL_EXIT_FAIL;
    for (int f = 0; f < nteachers; f++)
        if (rl_preds_read(teachers[f], &files[f], &err)) goto done;
    if (nteachers && rl_teacher_init(&t, files, nteachers, teachers, &err)) goto done;
    if (rl_list_read(train_path, &train, &err)) goto done;
    if (train.count == 0) {
        rl_fail(&err, RL_ERR_FORMAT, "%s: the label list has no samples; nothing to clean", train_path);
        goto done;
    }
    if (nlists ? rl_clean_by_names(&train, &o, &out, &s, &err) : rl_clean_run(&train, &t, &o, &out, &s, &err)) {
        if (!strstr(err.msg, train_path)) rl_error_prefix(&err, "%s", train_path);
        goto done;
    }
    if (record_path) {
        if (!(truth = malloc((size_t)train.count * sizeof *truth))) {
            rl_fail(&err, RL_ERR_NOMEM, "out of memory for %lld true labels", (long long)train.count);
            goto done;
        }
        if (rl_clean_against_record(&train, &out, &o, &s, record_path, &pr, truth, &err)) goto done;
    }
    if (rl_list_write(out_path, &out, &err)) goto done;
    if (rows_path && rl_clean_rows_write(rows_path, &train, &s, truth, &err)) goto done;
    rl_clean_report(stdout, &s, record_path ? &pr : NULL, &o, RL_CLEAN_REPORT_SHORT);
    if (report_path) {
        size_t n = strlen(report_path);
        int json = n >= 5 && !strcmp(report_path + n - 5, ".json");
        rl_fs_writer w;
        if (rl_fs_writer_open(&w, report_path, &err)) goto done;
        rl_clean_report(w.f, &s, record_path ? &pr : NULL, &o, json ? RL_CLEAN_REPORT_JSON : RL_CLEAN_REPORT_TEXT);
        if (rl_fs_writer_commit(&w, &err)) goto done;
    }
    rc = RL_EXIT_OK;
done:
    if (rc) fprintf(stderr, "relab clean: %s\n", err.msg);
    for (int f = 0; f < nteachers; f++)
        rl_preds_free(&files[f]);
    rl_teacher_free(&t);
    rl_list_free(&train);
    rl_list_free(&out);
    rl_clean_stats_free(&s);
    free(truth);
    return rc;
}
