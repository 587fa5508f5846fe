/* cmd_list.c: relab list: writes the label list (docs/lists.md) of a data set.
 *
 * IDX (Fashion-MNIST): sample k gets id "<images-basename>#k" and the label
 * byte k of the labels file.  Image folders (the layouts of data/imagenet.h):
 * ids are the image paths relative to the folder, which the list names in its
 * "# root" header (as an absolute path), so the list works from anywhere. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "data/idx.h"
#include "data/imagenet.h"
#include "data/list.h"
#include "data/split.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: relab list --fashion-mnist DIR [--test] -o OUT.list\n"
            "       relab list --idx-images IMAGES --idx-labels LABELS [--classes N] -o OUT.list\n"
            "       relab list --images DIR [--classes classes.tsv] -o OUT.list                (class folders)\n"
            "       relab list --images DIR --numbered [--classes N] -o OUT.list              (ImageNetV2)\n"
            "       relab list --images DIR --labels WNIDS [--classes classes.tsv|--class-root TRAIN] -o OUT.list\n"
            "                                                                    (flat folder: ImageNet val)\n\n"
            "Writes a label list (docs/lists.md), one '<id><TAB><label>' line per sample:\n"
            "  --fashion-mnist DIR   DIR/train-{images-idx3,labels-idx1}-ubyte.gz (60,000 samples),\n"
            "                        or with --test DIR/t10k-*-ubyte.gz (10,000); ids '<images-file>#<k>'\n"
            "  --idx-images, --idx-labels   any IDX3 images / IDX1 labels pair\n"
            "  --images DIR          an image folder; ids are paths relative to DIR, written as the list's\n"
            "                        '# root' header.  Layouts:\n"
            "                          DIR/CLASS/*.JPEG: class = the folder's place among the sorted folder\n"
            "                          names (ImageNet train: the standard index), or its index in --classes\n"
            "                          --numbered: folders 0, 1, 2, ...; class = the folder number (ImageNetV2)\n"
            "                          --labels WNIDS: a flat folder whose images, in sorted file-name order,\n"
            "                          have the WNIDs of the file's lines (ImageNet val and\n"
            "                          imagenet_2012_validation_synset_labels.txt); WNID -> class by --classes,\n"
            "                          else the sorted folders of --class-root, else the sorted distinct WNIDs\n"
            "  --classes N|FILE      the number of classes (default 1 + the largest label), or a classes.tsv\n"
            "                        ('index<TAB>wnid[<TAB>name]') giving the class order\n"
            "  --root-as TEXT        write TEXT as the '# root' header instead of DIR's absolute path (e.g.\n"
            "                        the folder's path on the cluster that will read the list)\n"
            "  --first N             keep only the first N samples (e.g. a small training set)\n"
            "Exit 0 ok, 1 failure, 2 usage.\n");
}

/* The list of an IDX images/labels pair. */
static rl_status list_idx(const char *images, const char *labels, int classes, rl_list *list, rl_error *err)
{
    rl_idx img = {0}, lab = {0};
    /* The images file is read only to check that it exists and matches the
     * labels in count: a list naming images that are not there would fail
     * much later, inside training. */
    rl_status st = rl_idx_read(images, 3, &img, err);
    if (!st) st = rl_idx_read(labels, 1, &lab, err);
    if (!st && img.dims[0] != lab.dims[0])
        st = rl_fail(err, RL_ERR_FORMAT, "%s has %lld images but %s has %lld labels; hint: pair the files of one split",
                     images, (long long)img.dims[0], labels, (long long)lab.dims[0]);
    const char *slash = strrchr(images, '/'), *base = slash ? slash + 1 : images;
    int maxlab = 0;
    for (int64_t k = 0; !st && k < lab.dims[0]; k++)
        maxlab = lab.data[k] > maxlab ? lab.data[k] : maxlab;
    if (!st && classes && maxlab >= classes)
        st = rl_fail(err, RL_ERR_FORMAT, "%s: label %d is not below --classes %d", labels, maxlab, classes);
    for (int64_t k = 0; !st && k < lab.dims[0]; k++) {
        char id[4200];
        int32_t l = lab.data[k];
        snprintf(id, sizeof id, "%s#%lld", base, (long long)k);
        st = rl_list_append(list, id, &l, 1, err);
    }
    list->num_classes = classes ? classes : maxlab + 1;
    rl_idx_free(&img);
    rl_idx_free(&lab);
    return st;
}

/* The list of an image folder, through the same scan training uses. */
static rl_status list_images(const rl_imagenet_config *c, int classes, const char *root_as, rl_list *list,
                             rl_error *err)
{
    rl_source *src = NULL;
    rl_status st = rl_imagenet_open(&src, c, err);
    if (st) return st;
    char root[PATH_MAX];
    if (!root_as && !realpath(c->root, root))
        st = rl_fail(err, RL_ERR_IO, "%s: cannot resolve the folder's absolute path", c->root);
    if (!st) st = rl_list_set_root(list, root_as ? root_as : root, err);
    if (!st && classes && src->num_classes > classes)
        st = rl_fail(err, RL_ERR_FORMAT, "%s: has %d classes, more than --classes %d", c->root, src->num_classes,
                     classes);
    for (int64_t i = 0; !st && i < src->count; i++)
        st = rl_list_append(list, src->ids[i], &src->labels[i], 1, err);
    if (!st) list->num_classes = classes ? classes : src->num_classes;
    rl_source_destroy(src);
    return st;
}

/* A positive class count, or 0 when text is not one (then it names a file). */
static int class_count(const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);
    return end != text && !*end && v >= 1 && v <= RL_MAX_CLASSES ? (int)v : 0;
}

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {{"fashion-mnist", required_argument, NULL, 'f'},
                                         {"test", no_argument, NULL, 't'},
                                         {"idx-images", required_argument, NULL, 'i'},
                                         {"idx-labels", required_argument, NULL, 'l'},
                                         {"images", required_argument, NULL, 'I'},
                                         {"numbered", no_argument, NULL, 'N'},
                                         {"labels", required_argument, NULL, 'L'},
                                         {"class-root", required_argument, NULL, 'C'},
                                         {"root-as", required_argument, NULL, 'r'},
                                         {"classes", required_argument, NULL, 'c'},
                                         {"first", required_argument, NULL, 'n'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *fm = NULL, *images = NULL, *labels = NULL, *out = NULL, *classes_arg = NULL, *root_as = NULL;
    rl_imagenet_config ic;
    rl_imagenet_config_default(&ic);
    int test = 0, c;
    long long first = 0;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fm = optarg; break;
        case 't': test = 1; break;
        case 'i': images = optarg; break;
        case 'l': labels = optarg; break;
        case 'I': ic.root = optarg; break;
        case 'N': ic.numbered = 1; break;
        case 'L': ic.labels_file = optarg; break;
        case 'C': ic.class_root = optarg; break;
        case 'r': root_as = optarg; break;
        case 'o': out = optarg; break;
        case 'c': classes_arg = optarg; break;
        case 'n':
            first = strtoll(optarg, &end, 10);
            if (end == optarg || *end || first < 1) {
                fprintf(stderr, "relab list: --first '%s' must be a positive integer\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    int sources = !!fm + !!(images || labels) + !!ic.root;
    int classes = classes_arg ? class_count(classes_arg) : 0;
    const char *why = NULL;
    if (optind != argc || !out || sources != 1)
        why = "give one of --fashion-mnist DIR, --idx-images with --idx-labels, or --images DIR; and -o";
    else if (!ic.root && (images || labels) && !(images && labels))
        why = "--idx-images and --idx-labels go together";
    else if (test && !fm)
        why = "--test goes with --fashion-mnist";
    else if (!ic.root && (ic.numbered || ic.labels_file || ic.class_root || root_as))
        why = "--numbered, --labels, --class-root and --root-as go with --images";
    else if (classes_arg && !classes && (!ic.root || ic.numbered))
        why = "--classes takes a class count here (a classes.tsv orders class folders or WNIDs of --images)";
    else if (ic.numbered && ic.labels_file)
        why = "--numbered (class folders) and --labels (a flat folder) are different layouts";
    else if (ic.class_root && !ic.labels_file)
        why = "--class-root goes with --labels (it maps the WNIDs of a flat folder)";
    if (why) {
        fprintf(stderr, "relab list: %s\n", why);
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    if (ic.root && classes_arg && !classes) ic.classes_file = classes_arg;
    char ibuf[4096], lbuf[4096];
    if (fm) {
        snprintf(ibuf, sizeof ibuf, "%s/%s-images-idx3-ubyte.gz", fm, test ? "t10k" : "train");
        snprintf(lbuf, sizeof lbuf, "%s/%s-labels-idx1-ubyte.gz", fm, test ? "t10k" : "train");
        images = ibuf;
        labels = lbuf;
    }
    rl_error err = {0};
    rl_list list = {0};
    rl_status st =
        ic.root ? list_images(&ic, classes, root_as, &list, &err) : list_idx(images, labels, classes, &list, &err);
    if (!st && first && first < list.count) {
        rl_list all = list;
        uint8_t *keep = calloc((size_t)all.count, 1);
        if (keep) memset(keep, 1, (size_t)first);
        st = keep ? rl_list_subset(&all, keep, &list, &err) : rl_fail(&err, RL_ERR_NOMEM, "out of memory");
        if (st) memset(&list, 0, sizeof list);
        free(keep);
        rl_list_free(&all);
    }
    if (!st) st = rl_list_write(out, &list, &err);
    if (!st)
        fprintf(stderr, "relab list: %lld samples, %d classes -> %s\n", (long long)list.count, list.num_classes, out);
    else
        fprintf(stderr, "relab list: %s\n", err.msg);
    rl_list_free(&list);
    return st ? RL_EXIT_FAIL : RL_EXIT_OK;
}
