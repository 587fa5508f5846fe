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

/* The command line, parsed. */
typedef struct {
    const char *teachers[MAX_TEACHERS];
    int nteachers, nlists, rule_set, mode_set;
    const char *train_path, *out_path, *report_path, *record_path, *rows_path;
    rl_clean_opts o;
} clean_args;

/* Parses --mode's value into o; 0 on success. */
static int parse_mode(const char *text, rl_clean_opts *o)
{
    if (!strcmp(text, "drop"))
        o->mode = RL_CLEAN_DROP;
    else if (!strcmp(text, "relabel"))
        o->mode = RL_CLEAN_RELABEL;
    else if (!strcmp(text, "multihot"))
        o->mode = RL_CLEAN_MULTIHOT;
    else
        return -1;
    return 0;
}

/* Parses argv into a; returns -1 to go on, else the exit code (help, usage). */
static int parse_args(int argc, char **argv, clean_args *a)
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
    rl_error err = {0};
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (a->nteachers == MAX_TEACHERS) {
                fprintf(stderr, "relab clean: at most %d --teacher files\n", MAX_TEACHERS);
                return RL_EXIT_USAGE;
            }
            a->teachers[a->nteachers++] = optarg;
            break;
        case 'T': a->train_path = optarg; break;
        case 'o': a->out_path = optarg; break;
        case 'R': a->report_path = optarg; break;
        case 'n': a->record_path = optarg; break;
        case 'P': a->rows_path = optarg; break;
        case 'K':
        case 'D':
            a->o.rule = c == 'K' ? RL_CLEAN_KEEP_LIST : RL_CLEAN_DROP_LIST;
            a->o.names = optarg;
            a->nlists++;
            break;
        case 'r':
            a->rule_set = 1;
            if (rl_clean_rule_parse(optarg, &a->o, &err)) {
                fprintf(stderr, "relab clean: %s\n", err.msg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'm':
            a->mode_set = 1;
            if (parse_mode(optarg, &a->o)) {
                fprintf(stderr, "relab clean: --mode '%s': expected drop, relabel or multihot\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'p':
            a->o.multihot_thresh = strtod(optarg, &end);
            if (end == optarg || *end || !(a->o.multihot_thresh >= 0.0 && a->o.multihot_thresh <= 1.0)) {
                fprintf(stderr, "relab clean: --multihot-thresh '%s' must be in [0, 1]\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    const char *why = NULL;
    if (optind != argc || !a->train_path || !a->out_path || (!a->nteachers && !a->nlists))
        why = "--teacher (or --keep-list/--drop-list), --train and -o are required";
    else if (a->nlists > 1 || (a->nlists && (a->nteachers || a->rule_set || a->mode_set)))
        why = "one --keep-list or --drop-list, without --teacher, --rule or --mode";
    if (why) {
        fprintf(stderr, "relab clean: %s\n", why);
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    return -1;
}

/* Writes the report file, JSON when its name ends in .json, else text. */
static rl_status write_report(const char *path, const rl_clean_stats *s, const rl_clean_pr *pr, const rl_clean_opts *o,
                              rl_error *err)
{
    size_t n = strlen(path);
    int json = n >= 5 && !strcmp(path + n - 5, ".json");
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, path, err);
    if (st) return st;
    rl_clean_report(w.f, s, pr, o, json ? RL_CLEAN_REPORT_JSON : RL_CLEAN_REPORT_TEXT);
    return rl_fs_writer_commit(&w, err);
}

int cmd_clean(int argc, char **argv)
{
    clean_args a = {.o = {RL_CLEAN_TOP1, 1, 0.0, RL_CLEAN_DROP, 0.5, NULL}};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    const rl_clean_opts *o = &a.o;
    rl_error err = {0};
    rl_preds files[MAX_TEACHERS];
    memset(files, 0, sizeof files);
    rl_teacher t = {0};
    rl_list train = {0}, out = {0};
    rl_clean_stats s = {0};
    rl_clean_pr pr;
    int32_t *truth = NULL;
    rc = RL_EXIT_FAIL;
    for (int f = 0; f < a.nteachers; f++)
        if (rl_preds_read(a.teachers[f], &files[f], &err)) goto done;
    if (a.nteachers && rl_teacher_init(&t, files, a.nteachers, a.teachers, &err)) goto done;
    if (rl_list_read(a.train_path, &train, &err)) goto done;
    if (train.count == 0) {
        rl_fail(&err, RL_ERR_FORMAT, "%s: the label list has no samples; nothing to clean", a.train_path);
        goto done;
    }
    if (a.nlists ? rl_clean_by_names(&train, o, &out, &s, &err) : rl_clean_run(&train, &t, o, &out, &s, &err)) {
        if (!strstr(err.msg, a.train_path)) rl_error_prefix(&err, "%s", a.train_path);
        goto done;
    }
    if (a.record_path) {
        if (!(truth = malloc((size_t)train.count * sizeof *truth))) {
            rl_fail(&err, RL_ERR_NOMEM, "out of memory for %lld true labels", (long long)train.count);
            goto done;
        }
        if (rl_clean_against_record(&train, &out, o, &s, a.record_path, &pr, truth, &err)) goto done;
    }
    if (rl_list_write(a.out_path, &out, &err)) goto done;
    if (a.rows_path && rl_clean_rows_write(a.rows_path, &train, &s, truth, &err)) goto done;
    rl_clean_report(stdout, &s, a.record_path ? &pr : NULL, o, RL_CLEAN_REPORT_SHORT);
    if (a.report_path && write_report(a.report_path, &s, a.record_path ? &pr : NULL, o, &err)) goto done;
    rc = RL_EXIT_OK;
done:
    if (rc) fprintf(stderr, "relab clean: %s\n", err.msg);
    for (int f = 0; f < a.nteachers; f++)
        rl_preds_free(&files[f]);
    rl_teacher_free(&t);
    rl_list_free(&train);
    rl_list_free(&out);
    rl_clean_stats_free(&s);
    free(truth);
    return rc;
}
