/* cmd_split.c: relab split LIST --folds K --seed S -o DIR: class-stratified
 * folds of a label list (data/split.h) for out-of-fold teachers.  Writes
 * DIR/fold-k.list (the samples held out in fold k) and DIR/train-k.list
 * (all the others), for k = 0 .. K-1, both in the list's order. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "data/list.h"
#include "data/split.h"
#include "util/fs.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab split LIST --folds K [--seed S] -o DIR\n\n"
                 "Splits a label list into K class-stratified folds for out-of-fold teachers: teacher k trains\n"
                 "on DIR/train-k.list and predicts DIR/fold-k.list, so no teacher judges an image it saw.\n"
                 "Each class is shuffled (seed S, default 0) and dealt to the folds in turn, so every fold\n"
                 "holds each class's share to within one sample and the folds' sizes differ by at most one;\n"
                 "the same list, K and S always give the same folds (the draw is in docs/lists.md).\n"
                 "The lists keep the input's classes, root and extra labels.\n"
                 "Exit 0 ok, 1 failure, 2 usage.\n");
}

/* Writes DIR/fold-k.list and DIR/train-k.list for every fold. */
static rl_status write_folds(const rl_list *in, const int32_t *fold, int k, const char *dir, rl_error *err)
{
    uint8_t *keep = malloc((size_t)in->count);
    if (!keep) return rl_fail(err, RL_ERR_NOMEM, "out of memory for %lld samples", (long long)in->count);
    rl_status st = RL_OK;
    for (int f = 0; f < k && !st; f++) {
        for (int held = 1; held >= 0 && !st; held--) {
            char path[RL_FS_PATH_MAX];
            snprintf(path, sizeof path, "%s/%s-%d.list", dir, held ? "fold" : "train", f);
            for (int64_t i = 0; i < in->count; i++)
                keep[i] = (fold[i] == f) == held;
            rl_list part;
            st = rl_list_subset(in, keep, &part, err);
            if (!st) st = rl_list_write(path, &part, err);
            if (!st && held)
                fprintf(stderr, "  fold %d: %lld samples held out -> %s\n", f, (long long)part.count, path);
            rl_list_free(&part);
        }
    }
    free(keep);
    return st;
}

int cmd_split(int argc, char **argv)
{
    static const struct option opts[] = {{"folds", required_argument, NULL, 'k'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    long k = 0;
    unsigned long long seed = 0;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            k = strtol(optarg, &end, 10);
            if (end == optarg || *end || k < 2 || k > RL_SPLIT_MAX_FOLDS) {
                fprintf(stderr, "relab split: --folds '%s' must be an integer in 2..%d\n", optarg, RL_SPLIT_MAX_FOLDS);
                return RL_EXIT_USAGE;
            }
            break;
        case 's':
            errno = 0;
            seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end || optarg[0] == '-' || errno == ERANGE) {
                fprintf(stderr, "relab split: --seed '%s' must be an integer in 0..2^64-1\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'o': dir = optarg; break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !k || !dir) {
        fprintf(stderr, "relab split: expected one LIST, --folds K and -o DIR\n");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    const char *path = argv[optind];
    rl_error err = {0};
    rl_list in = {0};
    int32_t *fold = NULL;
    rl_status st = rl_list_read(path, &in, &err);
    if (!st && in.count < k)
        st = rl_fail(&err, RL_ERR_FORMAT, "%s: %lld samples cannot make %ld folds", path, (long long)in.count, k);
    if (!st && !(fold = malloc((size_t)in.count * sizeof *fold)))
        st = rl_fail(&err, RL_ERR_NOMEM, "out of memory for %lld samples", (long long)in.count);
    if (!st) st = rl_list_folds(&in, (int)k, seed, fold, &err);
    if (!st) st = rl_fs_mkdirs(dir, &err);
    if (!st) {
        fprintf(stderr, "relab split: %s, %lld samples, %ld class-stratified folds (seed %llu)\n", path,
                (long long)in.count, k, seed);
        st = write_folds(&in, fold, (int)k, dir, &err);
    }
    if (st) fprintf(stderr, "relab split: %s\n", err.msg);
    free(fold);
    rl_list_free(&in);
    return st ? RL_EXIT_FAIL : RL_EXIT_OK;
}
