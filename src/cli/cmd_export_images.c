/* cmd_export_images.c: `relab export-images`: writes the images of an IDX
 * data set (e.g. Fashion-MNIST) as an ImageNet-style folder of RGB JPEG files,
 * so the JPEG pipeline can be exercised with real images.
 *
 *   train layout: DIR/<class-folder>/<class-folder>_<index %08d>.JPEG
 *   val layout:   DIR/val_<index %08d>.JPEG and DIR/labels.txt, one class
 *                 folder name per line in file-name order (as ImageNet's
 *                 validation ground truth)
 * Class folders are "c<k>_<name>" with k zero-padded, so sorted folder names
 * give class index order (the convention image-folder readers use).  <index>
 * is the sample's index in the IDX file.  Grey pixels are replicated to R=G=B
 * and encoded with libjpeg-turbo (4:4:4 sampling, quality 95 unless --quality).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "data/idx.h"
#include "data/jpeg.h"
#include "util/fs.h"

#define MAX_CLASSES 1000

static const char *const fashion_names[] = {"tshirt", "trouser", "pullover", "dress", "coat",
                                            "sandal", "shirt",   "sneaker",  "bag",   "ankle_boot"};

static void usage(FILE *out)
{
    fprintf(out, "usage: relab export-images --images IDX.gz --labels IDX.gz -o DIR [--layout train|val]\n"
                 "                           [--classes NAME,NAME,...] [--limit N] [--quality Q]\n\n"
                 "Writes IDX images (e.g. Fashion-MNIST) as RGB JPEG files in an ImageNet-style folder:\n"
                 "  train: DIR/cKK_NAME/cKK_NAME_<index>.JPEG   (sorted folder names = class order)\n"
                 "  val:   DIR/val_<index>.JPEG + DIR/labels.txt (class folder name per line, file order)\n"
                 "<index> is the 8-digit sample index in the IDX file.  --classes names the classes\n"
                 "(default: the 10 Fashion-MNIST names), --limit exports only the first N samples,\n"
                 "--quality sets the JPEG quality (1..100, default 95).\n"
                 "Exit 0 ok, 1 failure, 2 usage.\n");
}

/* Encodes one grey h x w image as an RGB JPEG and writes it to path atomically. */
static int write_jpeg(const char *path, const uint8_t *grey, int h, int w, int quality, uint8_t *rgb)
{
    for (int k = 0; k < h * w; k++)
        rgb[3 * k] = rgb[3 * k + 1] = rgb[3 * k + 2] = grey[k];
    uint8_t *jpg;
    size_t size;
    rl_error err;
    rl_status st = rl_jpeg_encode(rgb, w, h, quality, path, &jpg, &size, &err);
    if (!st) st = rl_fs_write_file(path, jpg, size, &err);
    free(jpg);
    if (st) fprintf(stderr, "relab export-images: %s\n", err.msg);
    return st ? -1 : 0;
}

/* Splits a comma-separated list of class names in place. */
static int split_names(char *s, char **names, int max)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (n == max) return -1;
        if (!*tok || strpbrk(tok, "/ \t\n")) return -1;
        names[n++] = tok;
    }
    return n;
}

typedef struct {
    const char *images, *labels, *outdir;
    int val, quality, nnames;
    long long limit;
    char *names[MAX_CLASSES];
} options;

/* Fills o from the command line; RL_EXIT_OK, or the exit code (help, usage). */
static int parse_options(int argc, char **argv, options *o, int *done)
{
    static const struct option opts[] = {{"images", required_argument, NULL, 'i'},
                                         {"labels", required_argument, NULL, 'l'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"layout", required_argument, NULL, 'y'},
                                         {"classes", required_argument, NULL, 'c'},
                                         {"limit", required_argument, NULL, 'n'},
                                         {"quality", required_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *layout = "train";
    char *classes_arg = NULL, *end;
    int c;
    *o = (options){.quality = 95, .limit = -1, .nnames = 10};
    *done = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': o->images = optarg; break;
        case 'l': o->labels = optarg; break;
        case 'o': o->outdir = optarg; break;
        case 'y': layout = optarg; break;
        case 'c': classes_arg = optarg; break;
        case 'n':
            errno = 0;
            o->limit = strtoll(optarg, &end, 10);
            if (errno || *end || o->limit < 0) {
                fprintf(stderr, "relab export-images: --limit needs a count >= 0, got '%s'\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'q':
            o->quality = (int)strtol(optarg, &end, 10);
            if (*end || o->quality < 1 || o->quality > 100) {
                fprintf(stderr, "relab export-images: --quality needs 1..100, got '%s'\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    o->val = !strcmp(layout, "val");
    if (optind != argc || !o->images || !o->labels || !o->outdir || (!o->val && strcmp(layout, "train"))) {
        fprintf(stderr, "relab export-images: %s\n",
                optind != argc                           ? "unexpected argument"
                : !o->images || !o->labels || !o->outdir ? "--images, --labels and -o are required"
                                                         : "--layout must be train or val");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    for (int k = 0; k < 10; k++)
        o->names[k] = (char *)fashion_names[k];
    if (classes_arg) {
        o->nnames = split_names(classes_arg, o->names, MAX_CLASSES);
        if (o->nnames < 1) {
            fprintf(stderr,
                    "relab export-images: --classes needs 1..%d comma-separated names without '/', "
                    "spaces or empty entries\n",
                    MAX_CLASSES);
            return RL_EXIT_USAGE;
        }
    }
    *done = 0;
    return RL_EXIT_OK;
}

/* "cKK_NAME" per class, zero-padded wide enough for every class index so that
 * sorted order = class order; NULL (message printed) when a name is too long. */
static char **class_folders(const options *o, int *rc)
{
    int digits = 2; /* at most 4: MAX_CLASSES is 1000 */
    for (int m = o->nnames - 1; m >= 100; m /= 10)
        digits++;
    char **folders = calloc((size_t)o->nnames, sizeof *folders);
    for (int k = 0; folders && k < o->nnames; k++) {
        size_t len = strlen(o->names[k]) + 16;
        if (!(folders[k] = malloc(len))) break;
        snprintf(folders[k], len, "c%0*d_%s", digits < 9 ? digits : 9, k, o->names[k]);
        if (strlen(folders[k]) <= 500) continue;
        fprintf(stderr, "relab export-images: class name '%s' is too long\n", o->names[k]);
        *rc = RL_EXIT_USAGE;
        for (int q = 0; q <= k; q++)
            free(folders[q]);
        free(folders);
        return NULL;
    }
    if (!folders || !folders[o->nnames - 1]) fprintf(stderr, "relab export-images: out of memory\n");
    return folders;
}

/* Writes the first n images and, for the val layout, labels.txt. */
static int export(const options *o, const rl_idx *img, const rl_idx *lab, int64_t n, char **folders)
{
    const int64_t h = img->dims[1], w = img->dims[2];
    /* outdir + two folder names (at most 500 bytes each, checked) + file suffix */
    size_t plen = strlen(o->outdir) + 1100;
    char *path = malloc(plen);
    uint8_t *rgb = malloc((size_t)(h * w * 3));
    rl_fs_writer lf = {.f = NULL};
    rl_error err;
    int rc = RL_EXIT_FAIL;
    if (!path || !rgb) {
        fprintf(stderr, "relab export-images: out of memory\n");
        goto done;
    }
    if (rl_fs_mkdirs(o->outdir, &err)) goto fail;
    snprintf(path, plen, "%s/labels.txt", o->outdir);
    if (o->val && rl_fs_writer_open(&lf, path, &err)) goto fail;
    for (int k = 0; !o->val && k < o->nnames; k++) {
        snprintf(path, plen, "%s/%s", o->outdir, folders[k]);
        if (rl_fs_mkdirs(path, &err)) goto fail;
    }
    for (int64_t i = 0; i < n; i++) {
        const char *cls = folders[lab->data[i]];
        if (o->val)
            snprintf(path, plen, "%s/val_%08lld.JPEG", o->outdir, (long long)i);
        else
            snprintf(path, plen, "%s/%s/%s_%08lld.JPEG", o->outdir, cls, cls, (long long)i);
        if (write_jpeg(path, img->data + i * h * w, (int)h, (int)w, o->quality, rgb)) goto done;
        if (lf.f) fprintf(lf.f, "%s\n", cls);
    }
    if (lf.f && rl_fs_writer_commit(&lf, &err)) goto fail;
    printf("wrote %lld %s images (%lldx%lld RGB JPEG, quality %d) to %s\n", (long long)n, o->val ? "val" : "train",
           (long long)h, (long long)w, o->quality, o->outdir);
    rc = RL_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "relab export-images: %s\n", err.msg);
done:
    if (lf.f) rl_fs_writer_abort(&lf);
    free(path);
    free(rgb);
    return rc;
}

int cmd_export_images(int argc, char **argv)
{
    options o;
    int done, rc = parse_options(argc, argv, &o, &done);
    if (done) return rc;
    rl_idx img, lab;
    rl_error err = {0};
    if (rl_idx_read(o.images, 3, &img, &err)) {
        fprintf(stderr, "relab export-images: %s\n", err.msg);
        return RL_EXIT_FAIL;
    }
    if (rl_idx_read(o.labels, 1, &lab, &err)) {
        fprintf(stderr, "relab export-images: %s\n", err.msg);
        rl_idx_free(&img);
        return RL_EXIT_FAIL;
    }
    char **folders = NULL;
    const int64_t n_all = img.dims[0];
    rc = RL_EXIT_FAIL;
    if (lab.dims[0] != n_all) {
        fprintf(stderr, "relab export-images: %s holds %lld labels but %s holds %lld images\n", o.labels,
                (long long)lab.dims[0], o.images, (long long)n_all);
        goto done;
    }
    for (int64_t i = 0; i < n_all; i++)
        if (lab.data[i] >= o.nnames) {
            fprintf(stderr,
                    "relab export-images: %s: sample %lld has label %d but only %d class names were given; "
                    "hint: pass one name per class with --classes\n",
                    o.labels, (long long)i, lab.data[i], o.nnames);
            rc = RL_EXIT_USAGE;
            goto done;
        }
    if ((folders = class_folders(&o, &rc)) && folders[o.nnames - 1])
        rc = export(&o, &img, &lab, o.limit >= 0 && o.limit < n_all ? o.limit : n_all, folders);
done:
    if (folders)
        for (int k = 0; k < o.nnames; k++)
            free(folders[k]);
    free(folders);
    rl_idx_free(&img);
    rl_idx_free(&lab);
    return rc;
}
