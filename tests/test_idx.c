/* test_idx.c: the IDX reader and the Fashion-MNIST source (src/data/idx.h).
 *
 * - The real Debian files are compared with an independent reading in Python
 *   (tests/idx_reference.py: gzip + numpy): dims, label histogram, mean/std of
 *   the pixels (which must match the normalisation constants), and every pixel
 *   and label of a few samples.
 * - The training augmentation must equal a 2-pixel-padded crop + optional flip
 *   of the eval image, with all 25 offsets and both flips occurring.
 * - Lists, subsets, the train/val split, and malformed files (bad magic,
 *   truncated, trailing bytes, mismatched counts) with errors naming the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/idx.h"
#include "tap.h"

#define FM "/usr/share/datasets/fashion-mnist/"
#define TRAIN_IMAGES FM "train-images-idx3-ubyte.gz"
#define TRAIN_LABELS FM "train-labels-idx1-ubyte.gz"

static char dir[] = "/tmp/relab-test-idx-XXXXXX";

/* Writes bytes to dir/name, gzip-compressed when gz != 0. */
static const char *write_bytes(const char *name, const unsigned char *b, size_t n, int gz)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, b, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(b, 1, n, f);
        fclose(f);
    }
    return path;
}

static void expect_read_error(const char *name, const unsigned char *b, size_t n, int gz, int ndims, const char *want)
{
    const char *p = write_bytes(name, b, n, gz);
    rl_idx idx;
    rl_error err = {0};
    rl_status st = rl_idx_read(p, ndims, &idx, &err);
    tap_ok(st != RL_OK && strstr(err.msg, name) && strstr(err.msg, want) && idx.data == NULL,
           "%s rejected naming the file and '%s' (got: %s)", name, want, err.msg);
}

static void compare_with_python(rl_source *s)
{
    const char *py = getenv("REF_PYTHON"), *top = getenv("top_srcdir");
    if (!py || !top) {
        tap_diag("REF_PYTHON/top_srcdir not set (run through make check): skipping the Python comparison");
        return;
    }
    static const int64_t pick[] = {0, 1, 777, 31415, 59999};
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/idx_reference.py' %s %s 0 1 777 31415 59999", py, top, TRAIN_IMAGES,
             TRAIN_LABELS);
    FILE *f = popen(cmd, "r");
    if (!f) {
        tap_ok(0, "run %s", cmd);
        return;
    }
    long n, h, w;
    int ok = fscanf(f, "dims %ld %ld %ld ", &n, &h, &w) == 3;
    tap_ok(ok && n == s->count && h == 28 && w == 28 && s->height == 28 && s->width == 28 && s->channels == 1,
           "dims %ld x %ld x %ld agree with Python", n, h, w);
    long hist[10], mine[10] = {0};
    ok = fscanf(f, "labels-count %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld ", hist, hist + 1, hist + 2, hist + 3,
                hist + 4, hist + 5, hist + 6, hist + 7, hist + 8, hist + 9) == 10;
    for (int64_t i = 0; i < s->count; i++)
        if (s->labels[i] >= 0 && s->labels[i] < 10) mine[s->labels[i]]++;
    for (int c = 0; ok && c < 10; c++)
        ok = hist[c] == mine[c];
    tap_ok(ok && s->num_classes == 10, "label histogram agrees with Python (%ld per class)", hist[0]);
    double mean, sd;
    ok = fscanf(f, "mean %lf std %lf ", &mean, &sd) == 2;
    tap_ok(ok, "Python mean/std read");
    tap_close(mean, RL_FMNIST_MEAN, 0, 5e-5, "pixel mean (x/255) of the training set = normalisation mean");
    tap_close(sd, RL_FMNIST_STD, 0, 5e-5, "pixel std of the training set = normalisation std");
    float *x = malloc(28 * 28 * sizeof *x);
    for (size_t k = 0; k < sizeof pick / sizeof *pick; k++) {
        long idx, label;
        ok = fscanf(f, " sample %ld %ld", &idx, &label) == 2 && idx == pick[k];
        rl_error err = {0};
        ok = ok && rl_source_get(s, pick[k], 1, 0, 0, x, &err) == RL_OK;
        double maxdiff = 0;
        for (int j = 0; ok && j < 784; j++) {
            double v;
            ok = fscanf(f, "%lf", &v) == 1;
            double d = fabs(v - x[j]);
            if (d > maxdiff) maxdiff = d;
        }
        tap_ok(ok && label == s->labels[pick[k]] && maxdiff < 2e-6,
               "sample %lld: label %ld and all 784 normalised pixels agree with Python (max diff %.2g)",
               (long long)pick[k], label, maxdiff);
    }
    free(x);
    pclose(f);
}

/* The augmented image must be crop(pad2(img), dy, dx) possibly flipped. */
static void check_augmentation(rl_source *s)
{
    float ev[784], tr[784];
    const float bg = -RL_FMNIST_MEAN / RL_FMNIST_STD; /* a black (0) pixel */
    int seen[5][5][2] = {{{0}}}, all_match = 1, changed = 0, same_again = 1;
    rl_error err = {0};
    for (int64_t i = 0; i < 400; i++) {
        rl_source_get(s, i, 42, 3, 0, ev, &err);
        rl_source_get(s, i, 42, 3, 1, tr, &err);
        int found = 0;
        for (int dy = 0; dy < 5 && !found; dy++)
            for (int dx = 0; dx < 5 && !found; dx++)
                for (int fl = 0; fl < 2 && !found; fl++) {
                    int eq = 1;
                    for (int y = 0; y < 28 && eq; y++)
                        for (int x = 0; x < 28 && eq; x++) {
                            int sx = (fl ? 27 - x : x) + dx - 2, sy = y + dy - 2;
                            float want = (sy >= 0 && sy < 28 && sx >= 0 && sx < 28) ? ev[sy * 28 + sx] : bg;
                            eq = tr[y * 28 + x] == want;
                        }
                    if (eq) {
                        found = 1;
                        seen[dy][dx][fl]++;
                    }
                }
        all_match &= found;
        if (memcmp(ev, tr, sizeof ev)) changed++;
        float again[784];
        rl_source_get(s, i, 42, 3, 1, again, &err);
        same_again &= !memcmp(again, tr, sizeof tr);
    }
    int covered = 0;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            for (int c = 0; c < 2; c++)
                covered += seen[a][b][c] > 0;
    tap_ok(all_match, "every augmented image is a 2-pixel-padded crop (+flip) of the eval image");
    tap_ok(covered == 50, "all 25 offsets x 2 flips occur in 400 samples (%d of 50)", covered);
    tap_ok(changed > 300, "augmentation changes most images (%d of 400)", changed);
    tap_ok(same_again, "same (seed, epoch, index) gives the same augmentation");
    rl_source_get(s, 7, 42, 4, 1, ev, &err);
    int differs = 0;
    for (int e = 5; e < 12; e++) {
        rl_source_get(s, 7, 42, e, 1, tr, &err);
        differs += memcmp(ev, tr, sizeof ev) != 0;
    }
    tap_ok(differs >= 5, "other epochs draw other augmentations (%d of 7 differ)", differs);
}

int main(void)
{
    if (access(TRAIN_IMAGES, R_OK) || access(TRAIN_LABELS, R_OK))
        tap_skip_all("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    rl_error err = {0};
    rl_source *s = NULL;
    rl_idx_config cfg = {.images = TRAIN_IMAGES, .labels = TRAIN_LABELS};
    rl_status st = rl_idx_source_open(&cfg, &s, &err);
    if (!tap_ok(st == RL_OK, "open the Fashion-MNIST training set: %s", st ? err.msg : "ok")) return tap_done();
    tap_ok(s->count == 60000 && s->ids && !strcmp(s->ids[31415], "train-images-idx3-ubyte.gz#31415"),
           "60000 samples, id of 31415 is 'train-images-idx3-ubyte.gz#31415'");
    /* Known values of the published data set: the first training label is 9
     * (ankle boot), the second 0 (T-shirt/top). */
    tap_ok(s->labels[0] == 9 && s->labels[1] == 0, "labels[0..1] = 9, 0 (published)");
    compare_with_python(s);
    check_augmentation(s);

    /* pad32: eval image centred at (2,2) in a black 32x32 frame. */
    rl_source *p32 = NULL;
    rl_idx_config c32 = cfg;
    c32.pad32 = 1;
    st = rl_idx_source_open(&c32, &p32, &err);
    float a[784], b[32 * 32];
    rl_source_get(s, 123, 0, 0, 0, a, &err);
    int ok = st == RL_OK && p32->height == 32 && p32->width == 32 && rl_source_get(p32, 123, 0, 0, 0, b, &err) == 0;
    for (int y = 0; ok && y < 32; y++)
        for (int x = 0; ok && x < 32; x++) {
            int in = y >= 2 && y < 30 && x >= 2 && x < 30;
            ok = b[y * 32 + x] == (in ? a[(y - 2) * 28 + x - 2] : -RL_FMNIST_MEAN / RL_FMNIST_STD);
        }
    tap_ok(ok, "pad32 eval: 28x28 image at offset (2,2) in a black 32x32 frame");
    rl_source_destroy(p32);

    /* A list naming samples by id; labels come from the list (here deliberately
     * different from the file's) and may be multi-labels. */
    rl_list list = {0};
    int32_t l1[] = {3}, l2[] = {5, 1};
    rl_list_append(&list, "train-images-idx3-ubyte.gz#100", l1, 1, &err);
    rl_list_append(&list, "some/dir/train-images-idx3-ubyte.gz#0", l2, 2, &err);
    list.num_classes = 10;
    rl_source *ls = NULL;
    rl_idx_config lc = {.images = TRAIN_IMAGES, .list = &list};
    st = rl_idx_source_open(&lc, &ls, &err);
    ok = st == RL_OK && ls->count == 2 && ls->labels[0] == 3 && ls->labels[1] == 5 && ls->multi_offsets &&
         ls->multi_offsets[2] == 3 && ls->multi_classes[2] == 1 && ls->num_classes == 10;
    tap_ok(ok, "list source: labels and multi-labels from the list (%s)", st ? err.msg : "ok");
    rl_source_get(s, 100, 0, 0, 0, a, &err);
    float c[784];
    ok = ok && rl_source_get(ls, 0, 0, 0, 0, c, &err) == 0 && !memcmp(a, c, sizeof a) &&
         !strcmp(ls->ids[1], "train-images-idx3-ubyte.gz#0");
    tap_ok(ok, "list sample 0 is image 100 of the file; id of sample 1 is '...#0'");
    rl_source_destroy(ls);
    rl_list_append(&list, "t10k-images-idx3-ubyte.gz#5", l1, 1, &err);
    st = rl_idx_source_open(&lc, &ls, &err);
    tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, "t10k-images-idx3-ubyte.gz#5") && !ls,
           "list id of another file rejected: %s", err.msg);
    rl_list_free(&list);
    rl_list_append(&list, "train-images-idx3-ubyte.gz#60000", l1, 1, &err);
    st = rl_idx_source_open(&lc, &ls, &err);
    tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, "#60000"), "list id past the end rejected: %s", err.msg);
    rl_list_free(&list);

    /* Train/val split and a subset source. */
    int64_t *tr = NULL, *va = NULL, ntr = 0;
    st = rl_idx_split(60000, 5000, 7, &tr, &ntr, &va, &err);
    ok = st == RL_OK && ntr == 55000;
    uint8_t *mark = calloc(60000, 1);
    for (int64_t i = 0; ok && i < ntr; i++)
        ok = !mark[tr[i]]++ && (i == 0 || tr[i] > tr[i - 1]);
    for (int64_t i = 0; ok && i < 5000; i++)
        ok = !mark[va[i]]++ && (i == 0 || va[i] > va[i - 1]);
    for (int64_t i = 0; ok && i < 60000; i++)
        ok = mark[i] == 1;
    tap_ok(ok, "split 60000 -> 55000 + 5000: disjoint, sorted, union is everything");
    int64_t *tr2, *va2, ntr2, *tr3, *va3, ntr3;
    rl_idx_split(60000, 5000, 7, &tr2, &ntr2, &va2, &err);
    rl_idx_split(60000, 5000, 8, &tr3, &ntr3, &va3, &err);
    tap_ok(!memcmp(va, va2, 5000 * sizeof *va) && memcmp(va, va3, 5000 * sizeof *va),
           "same seed gives the same split, another seed another");
    long lo = 0;
    for (int64_t i = 0; i < 5000; i++)
        lo += va[i] < 30000;
    tap_ok(lo > 2300 && lo < 2700, "validation samples spread over the file (%ld of 5000 in the first half)", lo);
    rl_source *sub = NULL;
    rl_idx_config sc = cfg;
    sc.subset = va;
    sc.subset_count = 5000;
    st = rl_idx_source_open(&sc, &sub, &err);
    rl_source_get(s, va[4321], 0, 0, 0, a, &err);
    ok = st == RL_OK && sub->count == 5000 && sub->labels[4321] == s->labels[va[4321]] &&
         rl_source_get(sub, 4321, 0, 0, 0, c, &err) == 0 && !memcmp(a, c, sizeof a);
    char want_id[64];
    snprintf(want_id, sizeof want_id, "train-images-idx3-ubyte.gz#%lld", (long long)va[4321]);
    tap_ok(ok && !strcmp(sub->ids[4321], want_id), "subset sample 4321 is file sample %s", want_id);
    rl_source_destroy(sub);
    free(mark);
    free(tr);
    free(va);
    free(tr2);
    free(va2);
    free(tr3);
    free(va3);
    tap_ok(rl_idx_split(10, 11, 0, &tr, &ntr, &va, &err) == RL_ERR_ARG, "split refuses to hold out more than all");

    /* Malformed files. */
    unsigned char good[4 + 12 + 8] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2};
    for (int i = 0; i < 8; i++)
        good[16 + i] = (unsigned char)(10 * i);
    rl_idx idx;
    const char *gp = write_bytes("good.gz", good, sizeof good, 1);
    st = rl_idx_read(gp, 3, &idx, &err);
    tap_ok(st == RL_OK && idx.dims[0] == 2 && idx.dims[1] == 2 && idx.dims[2] == 2 && idx.data[7] == 70,
           "tiny gzip IDX3 read: dims 2x2x2, last byte 70");
    rl_idx_free(&idx);
    gp = write_bytes("good.raw", good, sizeof good, 0);
    st = rl_idx_read(gp, 3, &idx, &err);
    tap_ok(st == RL_OK && idx.data[5] == 50, "uncompressed IDX read too");
    rl_idx_free(&idx);
    unsigned char bad[sizeof good + 1];
    memcpy(bad, good, sizeof good);
    bad[2] = 0x0d;
    expect_read_error("float.gz", bad, sizeof good, 1, 3, "bad IDX magic");
    expect_read_error("dims.gz", good, sizeof good, 1, 1, "3 dimensions, expected 1");
    expect_read_error("short.gz", good, sizeof good - 3, 1, 3, "truncated");
    expect_read_error("header.gz", good, 10, 1, 3, "truncated IDX header");
    expect_read_error("tiny.gz", good, 2, 1, 3, "too short");
    memcpy(bad, good, sizeof good);
    bad[sizeof good] = 1;
    expect_read_error("trailing.gz", bad, sizeof bad, 1, 3, "trailing bytes");
    memcpy(bad, good, sizeof good);
    bad[4] = 0xff;
    expect_read_error("huge.gz", bad, sizeof good, 1, 3, "dimensions announce more than");
    st = rl_idx_read(FM "no-such-file.gz", 3, &idx, &err);
    tap_ok(st == RL_ERR_IO && strstr(err.msg, "no-such-file.gz"), "missing file: %s", err.msg);
    unsigned char lab3[4 + 4 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
    char lp[512];
    snprintf(lp, sizeof lp, "%s", write_bytes("lab3.gz", lab3, sizeof lab3, 1));
    char ip[512];
    snprintf(ip, sizeof ip, "%s", write_bytes("img2.gz", good, sizeof good, 1));
    rl_idx_config mc = {.images = ip, .labels = lp};
    st = rl_idx_source_open(&mc, &ls, &err);
    tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, "3 labels") && strstr(err.msg, "2 images"),
           "label/image count mismatch: %s", err.msg);
    mc.labels = ip;
    mc.images = lp;
    st = rl_idx_source_open(&mc, &ls, &err);
    tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, "pass the images file"), "swapped files: %s", err.msg);

    rl_source_destroy(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
    return tap_done();
}
