/* cmd_predict.c: relab predict MODEL [--data val|train|LIST|DIR] [-o preds.h5] [--topk K]
 * [--logits] [--batch N] [--arch NAME]: a model's predictions file (docs/formats.md). */
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
    fprintf(out,
            "usage: relab predict RUN_DIR|CHECKPOINT.h5|WEIGHTS.h5 [--data val|train|LIST|DIR] [-o PREDS.h5]\n"
            "                     [--topk K] [--logits] [--batch N] [--threads T]\n"
            "                     [--classes classes.tsv] [--numbered] [--labels WNIDS] [--root DIR]\n"
            "       relab predict WEIGHTS.h5 --arch NAME [--image-size S] [--loss softmax|sigmoid] --data LIST|DIR\n"
            "                     [...]\n\n"
            "Rebuilds the model from its recipe (RUN_DIR/recipe.txt + final.h5, the recipe inside a\n"
            "checkpoint, or recipe.txt beside the weights) and writes its eval-mode predictions: ids,\n"
            "labels, top-K classes and their softmax or sigmoid probabilities (by the recipe's loss).\n"
            "  --arch NAME    no recipe: run a bare weights file (e.g. torchvision's, docs/weights.md) as\n"
            "                 NAME (resnet18|34|50|101|152, resnet8|20)\n"
            "  --loss L       with --arch: the scores are softmax (default) or sigmoid probabilities\n"
            "  --image-size S with --arch: the input side (default 224; resize to S/0.875, centre crop)\n"
            "  --data val     the recipe's validation set (default)\n"
            "  --data train   the recipe's training set, without augmentation\n"
            "  --data LIST    the samples of a label list (e.g. a held-out fold; for fashion-mnist a\n"
            "                 list of t10k-images-idx3-ubyte.gz#k ids predicts the test images)\n"
            "  --data DIR     an image folder: class folders (class = sorted name, or its index in\n"
            "                 --classes), --numbered folders 0..999 (ImageNetV2: class = the number), or a\n"
            "                 flat folder with --labels WNIDS (ImageNet val); ids are the relative paths\n"
            "  --classes F    classes.tsv giving the class order of DIR's folders or WNIDs\n"
            "  --root DIR     the folder a LIST's relative paths are in (overrides its '# root')\n"
            "  -o FILE        output (default preds.h5)\n"
            "  --topk K       classes kept per sample (default 5)\n"
            "  --logits       also store every raw logit (needed by eval --sets at low thresholds)\n"
            "  --batch N      batch size (default: up to 64, as many as fit in 1 GiB of activations;\n"
            "                 32 for ResNet-50 at 224 px)\n"
            "  --threads T    loader threads (default: the recipe's loader_threads)\n"
            "Exit 0 ok, 1 failure, 2 usage.\n");
}

int cmd_predict(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"topk", required_argument, NULL, 'k'},
                                         {"logits", no_argument, NULL, 'l'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"arch", required_argument, NULL, 'a'},
                                         {"image-size", required_argument, NULL, 's'},
                                         {"classes", required_argument, NULL, 'c'},
                                         {"numbered", no_argument, NULL, 'N'},
                                         {"labels", required_argument, NULL, 'L'},
                                         {"root", required_argument, NULL, 'r'},
                                         {"loss", required_argument, NULL, 'S'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    rl_predict_options o = {.data = "val", .topk = 5, .threads = -1};
    const char *out_path = "preds.h5";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o.data = optarg; break;
        case 'o': out_path = optarg; break;
        case 'l': o.with_logits = 1; break;
        case 'a': o.arch = optarg; break;
        case 'S': o.loss = optarg; break;
        case 'c': o.classes = optarg; break;
        case 'N': o.numbered = 1; break;
        case 'L': o.labels = optarg; break;
        case 'r': o.root = optarg; break;
        case 's':
            if (!cli_int_option("predict", "--image-size", optarg, 8, 4096, &o.image_size)) return RL_EXIT_USAGE;
            break;
        case 'k':
            if (!cli_int_option("predict", "--topk", optarg, 1, 100000, &o.topk)) return RL_EXIT_USAGE;
            break;
        case 'b':
            if (!cli_int_option("predict", "--batch", optarg, 1, 65536, &o.batch_size)) return RL_EXIT_USAGE;
            break;
        case 't':
            if (!cli_int_option("predict", "--threads", optarg, 0, 256, &o.threads)) return RL_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    const char *why = NULL;
    if (optind != argc - 1)
        why = "expected one model (a run folder, a checkpoint or a weights file)";
    else if ((o.image_size || o.loss) && !o.arch)
        why = "--image-size and --loss go with --arch (a recipe fixes them)";
    else if ((o.numbered || o.labels) && (!strcmp(o.data, "val") || !strcmp(o.data, "train")))
        why = "--numbered and --labels describe a folder given with --data DIR";
    else if (o.numbered && (o.labels || o.classes))
        why = "--numbered folders are classes by number: no --labels or --classes";
    if (why) {
        fprintf(stderr, "relab predict: %s\n", why);
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
