/* cmd_list.c: relab list: writes the label list (docs/lists.md) of an IDX data
 * set, e.g. the clean Fashion-MNIST training list that `relab noise` and
 * `relab clean` start from.  Sample k gets id "<images-basename>#k" and the
 * label byte k of the labels file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "data/idx.h"
#include "data/list.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab list --fashion-mnist DIR [--test] -o OUT.list\n"
                 "       relab list --idx-images IMAGES --idx-labels LABELS -o OUT.list\n\n"
                 "Writes a label list with one line '<images-basename>#<k><TAB><label>' per sample:\n"
                 "  --fashion-mnist DIR   DIR/train-{images-idx3,labels-idx1}-ubyte.gz (60,000 samples),\n"
                 "                        or with --test DIR/t10k-*-ubyte.gz (10,000)\n"
                 "  --idx-images, --idx-labels   any IDX3 images / IDX1 labels pair\n"
                 "  --classes N           number of classes (default 1 + the largest label)\n"
                 "Exit 0 ok, 1 failure, 2 usage.\n");
}

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {{"fashion-mnist", required_argument, NULL, 'f'},
                                         {"test", no_argument, NULL, 't'},
                                         {"idx-images", required_argument, NULL, 'i'},
                                         {"idx-labels", required_argument, NULL, 'l'},
                                         {"classes", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *fm = NULL, *images = NULL, *labels = NULL, *out = NULL;
    int test = 0, classes = 0, c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fm = optarg; break;
        case 't': test = 1; break;
        case 'i': images = optarg; break;
        case 'l': labels = optarg; break;
        case 'o': out = optarg; break;
        case 'c': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 256) {
                fprintf(stderr, "relab list: --classes '%s' must be an integer in 1..256\n", optarg);
                return RL_EXIT_USAGE;
            }
            classes = (int)v;
            break;
        }
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    if (optind != argc || !out || (!fm == !(images || labels)) || (!fm && !(images && labels)) || (test && !fm)) {
        fprintf(stderr, "relab list: give --fashion-mnist DIR, or --idx-images and --idx-labels; and -o\n");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    char ibuf[4096], lbuf[4096];
    if (fm) {
        snprintf(ibuf, sizeof ibuf, "%s/%s-images-idx3-ubyte.gz", fm, test ? "t10k" : "train");
        snprintf(lbuf, sizeof lbuf, "%s/%s-labels-idx1-ubyte.gz", fm, test ? "t10k" : "train");
        images = ibuf;
        labels = lbuf;
    }
    rl_error err = {0};
    rl_idx img = {0}, lab = {0};
    rl_list list = {0};
    int rc = RL_EXIT_FAIL;
    /* The images file is read only to check that it exists and matches the
     * labels in count: a list naming images that are not there would fail
     * much later, inside training. */
    if (rl_idx_read(images, 3, &img, &err) || rl_idx_read(labels, 1, &lab, &err)) goto done;
    if (img.dims[0] != lab.dims[0]) {
        rl_fail(&err, RL_ERR_FORMAT, "%s has %lld images but %s has %lld labels; hint: pair the files of one split",
                images, (long long)img.dims[0], labels, (long long)lab.dims[0]);
        goto done;
    }
    const char *slash = strrchr(images, '/'), *base = slash ? slash + 1 : images;
    int maxlab = 0;
    for (int64_t k = 0; k < lab.dims[0]; k++)
        maxlab = lab.data[k] > maxlab ? lab.data[k] : maxlab;
    if (classes && maxlab >= classes) {
        rl_fail(&err, RL_ERR_FORMAT, "%s: label %d is not below --classes %d", labels, maxlab, classes);
        goto done;
    }
    for (int64_t k = 0; k < lab.dims[0]; k++) {
        char id[4200];
        int32_t l = lab.data[k];
        snprintf(id, sizeof id, "%s#%lld", base, (long long)k);
        if (rl_list_append(&list, id, &l, 1, &err)) goto done;
    }
    list.num_classes = classes ? classes : maxlab + 1;
    if (rl_list_write(out, &list, &err)) goto done;
    fprintf(stderr, "relab list: %lld samples, %d classes -> %s\n", (long long)list.count, list.num_classes, out);
    rc = RL_EXIT_OK;
done:
    if (rc) fprintf(stderr, "relab list: %s\n", err.msg);
    rl_idx_free(&img);
    rl_idx_free(&lab);
    rl_list_free(&list);
    return rc;
}
