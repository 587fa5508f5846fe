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
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>

#include "cli/commands.h"
#include "data/idx.h"

#define MAX_CLASSES 1000

static const char *const fashion_names[] = {"tshirt", "trouser", "pullover", "dress", "coat",
                                            "sandal", "shirt",   "sneaker",  "bag",   "ankle_boot"};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: relab export-images --images IDX.gz --labels IDX.gz -o DIR [--layout train|val]\n"
            "                           [--classes NAME,NAME,...] [--limit N] [--quality Q]\n\n"
            "Writes IDX images (e.g. Fashion-MNIST) as RGB JPEG files in an ImageNet-style folder:\n"
            "  train: DIR/cKK_NAME/cKK_NAME_<index>.JPEG   (sorted folder names = class order)\n"
            "  val:   DIR/val_<index>.JPEG + DIR/labels.txt (class folder name per line, file order)\n"
            "<index> is the 8-digit sample index in the IDX file.  --classes names the classes\n"
            "(default: the 10 Fashion-MNIST names), --limit exports only the first N samples,\n"
            "--quality sets the JPEG quality (1..100, default 95).\n"
            "Exit 0 ok, 1 failure, 2 usage.\n");
}

/* libjpeg reports errors through a callback that must not return; jump back. */
typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void on_jpeg_error(j_common_ptr c)
{
    jpeg_err *e = (jpeg_err *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jump, 1);
}

/* Encodes one grey h x w image as an RGB JPEG at path. */
static int write_jpeg(const char *path, const uint8_t *grey, int h, int w, int quality, uint8_t *rgb)
{
    for (int k = 0; k < h * w; k++) rgb[3 * k] = rgb[3 * k + 1] = rgb[3 * k + 2] = grey[k];
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "relab export-images: %s: cannot create: %s\n", path, strerror(errno));
        return -1;
    }
    struct jpeg_compress_struct c;
    jpeg_err e;
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = on_jpeg_error;
    if (setjmp(e.jump)) {
        fprintf(stderr, "relab export-images: %s: JPEG encoding failed: %s\n", path, e.msg);
        jpeg_destroy_compress(&c);
        fclose(f);
        return -1;
    }
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    /* No chroma subsampling: for grey content it costs nothing and keeps
     * small images exact in colour. */
    for (int k = 0; k < c.num_components; k++) c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = rgb + (size_t)c.next_scanline * (size_t)w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(stderr, "relab export-images: %s: write failed: %s; hint: is the disk full?\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
        fprintf(stderr, "relab export-images: %s exists and is not a folder\n", path);
        return -1;
    }
    fprintf(stderr, "relab export-images: cannot create folder %s: %s\n", path, strerror(errno));
    return -1;
}

/* mkdir -p: creates the missing parents of path too. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        fprintf(stderr, "relab export-images: folder name too long: %s\n", path);
        return -1;
    }
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "relab export-images: cannot create folder %s: %s\n", buf, strerror(errno));
                return -1;
            }
            *p = '/';
        }
    return make_dir(buf);
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

int cmd_export_images(int argc, char **argv)
{
    static const struct option opts[] = {{"images", required_argument, NULL, 'i'}, {"labels", required_argument, NULL, 'l'},
                                         {"output", required_argument, NULL, 'o'}, {"layout", required_argument, NULL, 'y'},
                                         {"classes", required_argument, NULL, 'c'}, {"limit", required_argument, NULL, 'n'},
                                         {"quality", required_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *images = NULL, *labels = NULL, *outdir = NULL, *layout = "train";
    char *classes_arg = NULL;
    long long limit = -1;
    int quality = 95, c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': images = optarg; break;
        case 'l': labels = optarg; break;
        case 'o': outdir = optarg; break;
        case 'y': layout = optarg; break;
        case 'c': classes_arg = optarg; break;
        case 'n':
            errno = 0;
            limit = strtoll(optarg, &end, 10);
            if (errno || *end || limit < 0) {
                fprintf(stderr, "relab export-images: --limit needs a count >= 0, got '%s'\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'q':
            quality = (int)strtol(optarg, &end, 10);
            if (*end || quality < 1 || quality > 100) {
                fprintf(stderr, "relab export-images: --quality needs 1..100, got '%s'\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    int val = !strcmp(layout, "val");
    if (optind != argc || !images || !labels || !outdir || (!val && strcmp(layout, "train"))) {
        fprintf(stderr, "relab export-images: %s\n",
                optind != argc                ? "unexpected argument"
                : !images || !labels || !outdir ? "--images, --labels and -o are required"
                                                : "--layout must be train or val");
        usage(stderr);
        return RL_EXIT_USAGE;
    }

    char *names[MAX_CLASSES];
    int nnames = 10;
    for (int k = 0; k < 10; k++) names[k] = (char *)fashion_names[k];
    if (classes_arg) {
        nnames = split_names(classes_arg, names, MAX_CLASSES);
        if (nnames < 1) {
            fprintf(stderr, "relab export-images: --classes needs 1..%d comma-separated names without '/', "
                            "spaces or empty entries\n", MAX_CLASSES);
            return RL_EXIT_USAGE;
        }
    }

    rl_idx img, lab;
    rl_error err = {0};
    if (rl_idx_read(images, 3, &img, &err)) {
        fprintf(stderr, "relab export-images: %s\n", err.msg);
        return RL_EXIT_FAIL;
    }
    if (rl_idx_read(labels, 1, &lab, &err)) {
        fprintf(stderr, "relab export-images: %s\n", err.msg);
        rl_idx_free(&img);
        return RL_EXIT_FAIL;
    }
    int rc = RL_EXIT_FAIL;
    char **folders = NULL;
    uint8_t *rgb = NULL;
    FILE *lf = NULL;
    char *path = NULL;
    const int64_t n_all = img.dims[0], h = img.dims[1], w = img.dims[2];
    if (lab.dims[0] != n_all) {
        fprintf(stderr, "relab export-images: %s holds %lld labels but %s holds %lld images\n", labels,
                (long long)lab.dims[0], images, (long long)n_all);
        goto done;
    }
    int64_t n = limit >= 0 && limit < n_all ? limit : n_all;
    for (int64_t i = 0; i < n_all; i++)
        if (lab.data[i] >= nnames) {
            fprintf(stderr, "relab export-images: %s: sample %lld has label %d but only %d class names were given; "
                            "hint: pass one name per class with --classes\n",
                    labels, (long long)i, lab.data[i], nnames);
            rc = RL_EXIT_USAGE;
            goto done;
        }
    /* Zero-padding wide enough for every class index keeps sorted order = class order. */
    int digits = 2;
    for (int m = nnames - 1; m >= 100; m /= 10) digits++;
    folders = calloc((size_t)nnames, sizeof *folders);
    /* outdir + two folder names (at most 500 bytes each, checked below) + file suffix */
    size_t plen = strlen(outdir) + 1100;
    path = malloc(plen);
    rgb = malloc((size_t)(h * w * 3));
    if (!folders || !path || !rgb) {
        fprintf(stderr, "relab export-images: out of memory\n");
        goto done;
    }
    for (int k = 0; k < nnames; k++) {
        size_t len = strlen(names[k]) + 16;
        folders[k] = malloc(len);
        if (!folders[k]) goto done;
        snprintf(folders[k], len, "c%0*d_%s", digits, k, names[k]);
        if (strlen(folders[k]) > 500) {
            fprintf(stderr, "relab export-images: class name '%s' is too long\n", names[k]);
            rc = RL_EXIT_USAGE;
            goto done;
        }
    }
    if (make_dirs(outdir)) goto done;
    if (val) {
        snprintf(path, plen, "%s/labels.txt", outdir);
        lf = fopen(path, "w");
        if (!lf) {
            fprintf(stderr, "relab export-images: %s: cannot create: %s\n", path, strerror(errno));
            goto done;
        }
    } else {
        for (int k = 0; k < nnames; k++) {
            snprintf(path, plen, "%s/%s", outdir, folders[k]);
            if (make_dir(path)) goto done;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        const char *cls = folders[lab.data[i]];
        if (val)
            snprintf(path, plen, "%s/val_%08lld.JPEG", outdir, (long long)i);
        else
            snprintf(path, plen, "%s/%s/%s_%08lld.JPEG", outdir, cls, cls, (long long)i);
        if (write_jpeg(path, img.data + i * h * w, (int)h, (int)w, quality, rgb)) goto done;
        if (lf && fprintf(lf, "%s\n", cls) < 0) break;
    }
    if (lf) {
        int bad = ferror(lf);
        bad |= fclose(lf) != 0;
        lf = NULL;
        if (bad) {
            fprintf(stderr, "relab export-images: %s/labels.txt: write failed; hint: is the disk full?\n", outdir);
            goto done;
        }
    }
    printf("wrote %lld %s images (%lldx%lld RGB JPEG, quality %d) to %s\n", (long long)n, val ? "val" : "train",
           (long long)h, (long long)w, quality, outdir);
    rc = RL_EXIT_OK;
done:
    if (lf) fclose(lf);
    if (folders)
        for (int k = 0; k < nnames; k++) free(folders[k]);
    free(folders);
    free(path);
    free(rgb);
    rl_idx_free(&img);
    rl_idx_free(&lab);
    return rc;
}
