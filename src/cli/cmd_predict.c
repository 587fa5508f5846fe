/* cmd_predict.c: relab predict RUN_DIR|CHECKPOINT.h5 [--data val|train|LIST] [-o preds.h5]
 * [--topk K] [--logits] [--batch N]: a model's predictions file (docs/formats.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "eval/preds.h"
#include "eval/predict.h"
#include "util/timer.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab predict RUN_DIR|CHECKPOINT.h5|WEIGHTS.h5 [--data val|train|LIST] [-o PREDS.h5]\n"
                 "                     [--topk K] [--logits] [--batch N] [--threads T]\n\n"
                 "Rebuilds the model from its recipe (RUN_DIR/recipe.txt + final.h5, or the recipe inside a\n"
                 "checkpoint) and writes its eval-mode predictions: ids, labels, top-K classes and their\n"
                 "softmax or sigmoid probabilities (by the recipe's loss).\n"
                 "  --data val     the recipe's validation set (default)\n"
                 "  --data train   the recipe's training set, without augmentation\n"
                 "  --data LIST    the samples of a label list (e.g. a held-out fold; for fashion-mnist a\n"
                 "                 list of t10k-images-idx3-ubyte.gz#k ids predicts the test images)\n"
                 "  -o FILE        output (default preds.h5)\n"
                 "  --topk K       classes kept per sample (default 5)\n"
                 "  --logits       also store every raw logit\n"
                 "  --batch N      batch size (default: the recipe's)\n"
                 "  --threads T    loader threads (default: the recipe's loader_threads)\n"
                 "Exit 0 ok, 1 failure, 2 usage.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return 0;
    *out = (int)v;
    return 1;
}

int cmd_predict(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},  {"output", required_argument, NULL, 'o'},
        {"topk", required_argument, NULL, 'k'},  {"logits", no_argument, NULL, 'l'},
        {"batch", required_argument, NULL, 'b'}, {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    rl_predict_options o = {.data = "val", .topk = 5, .threads = -1};
    const char *out_path = "preds.h5";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o.data = optarg; break;
        case 'o': out_path = optarg; break;
        case 'l': o.with_logits = 1; break;
        case 'k':
            if (!parse_int(optarg, 1, 100000, &o.topk)) {
                fprintf(stderr, "relab predict: --topk '%s' must be an integer in 1..100000\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'b':
            if (!parse_int(optarg, 1, 65536, &o.batch_size)) {
                fprintf(stderr, "relab predict: --batch '%s' must be an integer in 1..65536\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 't':
            if (!parse_int(optarg, 0, 256, &o.threads)) {
                fprintf(stderr, "relab predict: --threads '%s' must be an integer in 0..256\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "relab predict: expected one model (a run folder or a checkpoint)\n");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    rl_error err = {0};
    rl_preds p;
    double t0 = rl_now();
    if (rl_predict_run(argv[optind], &o, &p, &err) || rl_preds_write(out_path, &p, &err)) {
        fprintf(stderr, "relab predict: %s\n", err.msg);
        rl_preds_free(&p);
        return RL_EXIT_FAIL;
    }
    int64_t c1 = 0, labelled = 0;
    for (int64_t i = 0; i < p.n; i++)
        if (p.labels[i] >= 0) {
            labelled++;
            c1 += p.topk_classes[(size_t)i * p.k] == p.labels[i];
        }
    fprintf(stderr, "relab predict: %lld samples (%s) -> %s, top-1 %.2f%% against their labels, %.1f s\n",
            (long long)p.n, o.data, out_path, labelled ? 100.0 * c1 / labelled : 0.0, rl_now() - t0);
    rl_preds_free(&p);
    return RL_EXIT_OK;
}
