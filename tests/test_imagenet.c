/* test_imagenet.c: the ImageNet folder source on the Fashion-MNIST JPEG
 * fixture: class order and labels of the tree, flat (val) and list layouts
 * against the fixture's hand-known layout, multi-hot labels, the file-list
 * cache (hit, and rescan when a folder changes), eval samples against
 * torchvision, deterministic train samples, and the errors that must come
 * before training (missing folder, empty class, labels count mismatch,
 * unknown WNID) or per sample (truncated, PNG). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/imagenet.h"
#include "data/loader.h"
#include "data/pack.h"
#include "util/h5.h"
#include "jpeg_fixture.h"
#include "tap.h"

static char P[8][1400];
static const char *fp(int k, const char *rel)
{
    return fx_path(P[k], sizeof P[k], rel);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f)) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
}

static int64_t find_id(const rl_source *s, const char *id)
{
    for (int64_t i = 0; i < s->count; i++)
        if (!strcmp(s->ids[i], id)) return i;
    return -1;
}

/* Every sample of x and y is bitwise equal in train (two epochs) and eval mode. */
static int same_samples(rl_source *x, rl_source *y, float *a, float *b)
{
    const size_t N = (size_t)x->height * x->width * 3;
    rl_error e1, e2;
    if (x->count != y->count || x->num_classes != y->num_classes) return 0;
    for (int64_t i = 0; i < x->count; i++) {
        if (x->labels[i] != y->labels[i] || strcmp(x->ids[i], y->ids[i])) return 0;
        for (int mode = 0; mode < 3; mode++) {
            rl_status s1 = rl_source_get(x, i, 11, mode, mode != 2, a, &e1);
            rl_status s2 = rl_source_get(y, i, 11, mode, mode != 2, b, &e2);
            if (s1 != s2 || (!s1 && memcmp(a, b, N * sizeof(float)))) return 0;
        }
    }
    return 1;
}

/* get() from two threads at once, in reverse order, equals serial get(). */
static int parallel_equals_serial(rl_source *x)
{
    const size_t N = (size_t)x->height * x->width * 3;
    float *ser = malloc(N * (size_t)x->count * sizeof(float)), *par = malloc(N * (size_t)x->count * sizeof(float));
    int ok = ser && par;
    for (int64_t i = 0; ok && i < x->count; i++) {
        rl_error e;
        ok &= rl_source_get(x, i, 21, 3, 1, ser + N * i, &e) == RL_OK;
    }
    int bad = 0;
#pragma omp parallel for num_threads(2) schedule(dynamic, 1) reduction(+ : bad)
    for (int64_t i = x->count - 1; i >= 0; i--) {
        rl_error e;
        bad += rl_source_get(x, i, 21, 3, 1, par + N * i, &e) != RL_OK;
    }
    ok = ok && !bad && !memcmp(ser, par, N * (size_t)x->count * sizeof(float));
    free(ser);
    free(par);
    return ok;
}

/* Packed shards: same samples as the folder, bytes checked by h5py, CLI, errors. */
static void test_pack(float *a, float *b)
{
    rl_error err;
    rl_imagenet_config cfg;
    rl_imagenet_config_default(&cfg);
    cfg.root = fp(0, "train");
    rl_source *dir = NULL, *pk = NULL;
    if (rl_imagenet_open(&dir, &cfg, &err)) {
        tap_ok(0, "open train: %s", err.msg);
        return;
    }
    int ns = 0;
    mkdir(fp(1, "packed"), 0755);
    /* ~100 kB per shard: the 15 fixture files (15-90 kB each) make several shards. */
    rl_status st = rl_pack_write(dir, fp(1, "packed/train"), 100000, &ns, NULL, NULL, &err);
    tap_ok(st == RL_OK && ns >= 3, "pack 15 images into %d shards of <= 100 kB (%s)", ns, st ? err.msg : "ok");
    st = rl_pack_open(&pk, fp(1, "packed/train"), &cfg.aug, &err);
    tap_ok(st == RL_OK && pk->count == dir->count, "open packed: %s", st ? err.msg : "ok");
    if (!st) {
        tap_ok(same_samples(dir, pk, a, b), "packed == folder: labels, ids, train (2 epochs) and eval samples bitwise");
        tap_ok(parallel_equals_serial(dir), "folder source: 2 threads == serial, bitwise");
        tap_ok(parallel_equals_serial(pk), "packed source: 2 threads == serial, bitwise");
        tap_ok(rl_pack_class_name(pk, 2) && !strcmp(rl_pack_class_name(pk, 2), "n01484850"), "class names stored");
    }
    rl_source_destroy(pk);
    pk = NULL;
    /* Independent reader: h5py, every sample's bytes against the file on disk. */
    char cmd[20000];
    snprintf(cmd, sizeof cmd,
             "%s -c \"import h5py,glob,sys\nok=0\nfor p in sorted(glob.glob('%s-*.h5')):\n"
             " f=h5py.File(p,'r'); by=f['bytes'][()]; names=f['names'][()].decode().split('\\n')\n"
             " for k,n in enumerate(names):\n"
             "  o,l=f['offsets'][k],f['lengths'][k]\n"
             "  ok+=bytes(by[o:o+l])==open('%s/'+n,'rb').read()\n"
             "sys.exit(0 if ok==15 else 1)\"",
             getenv("REF_PYTHON") ? getenv("REF_PYTHON") : "/usr/bin/python3", fp(1, "packed/train"), fp(2, "train"));
    tap_ok(system(cmd) == 0, "h5py: every packed sample's bytes equal its file");

    /* Multi-hot list, packed. */
    rl_source *ls = NULL;
    rl_imagenet_config lc;
    rl_imagenet_config_default(&lc);
    lc.list = fp(0, "my.list");
    if (!rl_imagenet_open(&ls, &lc, &err) && !rl_pack_write(ls, fp(1, "packed/list"), 1, &ns, NULL, NULL, &err) &&
        !rl_pack_open(&pk, fp(1, "packed/list"), &lc.aug, &err)) {
        int ok = ns == 3 && same_samples(ls, pk, a, b) && pk->multi_offsets && pk->multi_classes;
        for (int i = 0; ok && i <= 3; i++)
            ok &= pk->multi_offsets[i] == ls->multi_offsets[i];
        for (int i = 0; ok && i < 6; i++)
            ok &= pk->multi_classes[i] == ls->multi_classes[i];
        tap_ok(ok, "multi-hot list packed one file per shard (%d shards): same samples and multi-hot labels", ns);
    } else {
        tap_ok(0, "pack list: %s", err.msg);
    }
    rl_source_destroy(ls);
    rl_source_destroy(pk);
    pk = NULL;

    /* The CLI. */
    const char *relab = getenv("RELAB");
    if (relab && access(relab, X_OK) == 0) {
        snprintf(cmd, sizeof cmd, "'%s' pack '%s' -o '%s' --shard-size 0.0001 > /dev/null", relab, fp(0, "train"),
                 fp(1, "packed/cli"));
        int rc = system(cmd);
        st = rl_pack_open(&pk, fp(1, "packed/cli"), &cfg.aug, &err);
        tap_ok(rc == 0 && st == RL_OK && same_samples(dir, pk, a, b), "relab pack --shard-size 0.0001: same samples");
        rl_source_destroy(pk);
        pk = NULL;
        snprintf(cmd, sizeof cmd, "'%s' pack '%s' -o '%s' 2>/dev/null", relab, fp(0, "no-such"), fp(1, "x"));
        rc = system(cmd);
        tap_ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "relab pack on a missing folder exits 1");
        snprintf(cmd, sizeof cmd, "'%s' pack '%s' --shard-size -3 -o x 2>/dev/null", relab, fp(0, "train"));
        rc = system(cmd);
        tap_ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "relab pack --shard-size -3 exits 2 (usage)");
    } else {
        for (int k = 0; k < 3; k++)
            tap_ok(1, "# SKIP relab binary not built");
    }

    /* Damaged shards: errors naming them, no crash. */
    char p1[4200], p2[4200];
    rl_pack_shard_path(fp(1, "packed/train"), 1, p1, sizeof p1);
    snprintf(cmd, sizeof cmd, "head -c 3000 '%s' > '%s.cut' && mv '%s.cut' '%s'", p1, p1, p1, p1);
    if (system(cmd)) printf("Bail out! %s\n", cmd);
    st = rl_pack_open(&pk, fp(1, "packed/train"), &cfg.aug, &err);
    tap_ok(st != RL_OK && strstr(err.msg, "train-00001.h5") && !pk, "truncated shard 1: %s", err.msg);
    rl_pack_shard_path(fp(1, "packed/train"), 2, p2, sizeof p2);
    unlink(p2);
    st = rl_pack_open(&pk, fp(1, "packed/nothing"), &cfg.aug, &err);
    tap_ok(st == RL_ERR_IO && strstr(err.msg, "nothing-00000.h5"), "missing shards: %s", err.msg);
    rl_source_destroy(dir);
}

/* All batches of one epoch of src through a loader with `threads` threads,
 * concatenated: x, then labels and indices. */
typedef struct {
    float *x;
    int64_t *idx;
    int32_t *lab;
    int64_t n, failures;
} epoch_dump;

static rl_status run_epoch(rl_source *src, int threads, epoch_dump *d, rl_error *err)
{
    rl_loader_config lc = {.batch_size = 4, .threads = threads, .seed = 99, .train = 1, .shuffle = 1};
    rl_loader *l;
    rl_status st = rl_loader_create(src, &lc, &l, err);
    if (st) return st;
    const size_t N = (size_t)src->height * src->width * 3;
    memset(d, 0, sizeof *d);
    d->x = malloc(N * (size_t)src->count * sizeof(float));
    d->idx = malloc((size_t)src->count * sizeof(int64_t));
    d->lab = malloc((size_t)src->count * sizeof(int32_t));
    st = rl_loader_start_epoch(l, 1, 0, err);
    const rl_batch *b;
    while (!st && !(st = rl_loader_next(l, &b, err)) && b) {
        memcpy(d->x + N * d->n, b->x, N * (size_t)b->n * sizeof(float));
        memcpy(d->idx + d->n, b->indices, (size_t)b->n * sizeof(int64_t));
        memcpy(d->lab + d->n, b->labels, (size_t)b->n * sizeof(int32_t));
        d->n += b->n;
    }
    d->failures = rl_loader_failures(l);
    rl_loader_destroy(l);
    return st;
}

static int same_epoch(const epoch_dump *a, const epoch_dump *b, size_t N)
{
    return a->n == b->n && !memcmp(a->x, b->x, N * (size_t)a->n * sizeof(float)) &&
           !memcmp(a->idx, b->idx, (size_t)a->n * sizeof(int64_t)) &&
           !memcmp(a->lab, b->lab, (size_t)a->n * sizeof(int32_t));
}

static void free_epoch(epoch_dump *d)
{
    free(d->x);
    free(d->idx);
    free(d->lab);
}

/* The loader on a tree with corrupt files in its classes: 0 and 2 threads,
 * folder and packed, give the same batches; bad files are replaced. */
static void test_loader(void)
{
    char cmd[20000];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && cp -r '%s'/n01440764 '%s'/n01443537 '%s' && cp '%s' '%s' && cp '%s' '%s'",
             fp(0, "mixed"), fp(1, "train"), fp(2, "train"), fp(3, "mixed"), fp(4, "bad/truncated.JPEG"),
             fp(5, "mixed/n01440764/zz_truncated.JPEG"), fp(6, "bad/corrupt.JPEG"),
             fp(7, "mixed/n01443537/zz_corrupt.JPEG"));
    if (system(cmd)) printf("Bail out! %s\n", cmd);
    rl_error err;
    rl_imagenet_config cfg;
    rl_imagenet_config_default(&cfg);
    cfg.aug.size = 64; /* small samples keep the test fast */
    cfg.root = fp(0, "mixed");
    rl_source *dir = NULL, *pk = NULL;
    int ns;
    rl_status st = rl_imagenet_open(&dir, &cfg, &err);
    if (!st) st = rl_pack_write(dir, fp(1, "packed/mixed"), 150000, &ns, NULL, NULL, &err);
    if (!st) st = rl_pack_open(&pk, fp(1, "packed/mixed"), &cfg.aug, &err);
    epoch_dump a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    if (!st) st = run_epoch(dir, 0, &a, &err);
    if (!st) st = run_epoch(dir, 2, &b, &err);
    if (!st) st = run_epoch(pk, 2, &c, &err);
    const size_t N = 64 * 64 * 3;
    tap_ok(!st && a.n == dir->count && a.failures == 2,
           "loader epoch over %lld samples with 2 bad files: %lld "
           "replaced (%s)",
           dir ? (long long)dir->count : -1LL, (long long)a.failures, st ? err.msg : "ok");
    tap_ok(!st && same_epoch(&a, &b, N), "loader, folder: 0 threads == 2 threads (pixels, labels, indices)");
    tap_ok(!st && same_epoch(&a, &c, N), "loader: packed with 2 threads == folder with 0 threads");
    int labels_ok = !st;
    for (int64_t i = 0; labels_ok && i < a.n; i++)
        labels_ok &= dir->labels[a.idx[i]] == a.lab[i];
    tap_ok(labels_ok, "batch labels are the labels of the (replacement) samples");
    free_epoch(&a);
    free_epoch(&b);
    free_epoch(&c);
    rl_source_destroy(dir);
    rl_source_destroy(pk);
}

int main(void)
{
    fx_make("imagenet", 1);
    rl_error err;
    rl_imagenet_config cfg;
    rl_source *s = NULL;
    const size_t N = 224 * 224 * 3;
    float *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));

    /* (a) tree, with cache. */
    rl_imagenet_config_default(&cfg);
    cfg.root = fp(0, "train");
    cfg.cache = fp(1, "train.cache");
    rl_status st = rl_imagenet_open(&s, &cfg, &err);
    if (!tap_ok(st == RL_OK, "open tree: %s", st ? err.msg : "ok")) return tap_done();
    /* The fixture: 3 class folders with 4 images each, plus a gray one in the
     * 2nd and a CMYK one in the 3rd; sorted folder order gives the class. */
    tap_ok(s->count == 14 && s->num_classes == 3, "tree: %lld samples, %d classes (want 14, 3)", (long long)s->count,
           s->num_classes);
    tap_ok(s->height == 224 && s->width == 224 && s->channels == 3, "sample shape 224x224x3");
    const char *want_ids[] = {
        "n01440764/n01440764_0.JPEG", "n01440764/n01440764_1.jpg",    "n01440764/n01440764_2.jpeg",
        "n01440764/n01440764_3.JPEG", "n01443537/n01443537_0.JPEG",   "n01443537/n01443537_1.jpg",
        "n01443537/n01443537_2.jpeg", "n01443537/n01443537_3.JPEG",   "n01443537/n01443537_gray.JPEG",
        "n01484850/n01484850_0.JPEG", "n01484850/n01484850_1.jpg",    "n01484850/n01484850_2.jpeg",
        "n01484850/n01484850_3.JPEG", "n01484850/n01484850_cmyk.JPEG"};
    const int want_lab[] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2};
    int ok = 1;
    for (int i = 0; i < 14 && i < s->count; i++)
        ok &= !strcmp(s->ids[i], want_ids[i]) && s->labels[i] == want_lab[i];
    tap_ok(ok, "tree: ids in sorted order, labels = folder rank");
    tap_ok(!strcmp(rl_imagenet_class_name(s, 1), "n01443537"), "class 1 is n01443537");
    struct stat sb;
    char path[8192];
    stat(rl_imagenet_path(s, 5, path, sizeof path), &sb);
    tap_ok(rl_imagenet_file_size(s, 5) == (int64_t)sb.st_size, "file size recorded (%lld)", (long long)sb.st_size);

    /* Eval samples vs torchvision (de-normalised; tolerance as test_augment). */
    const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    double worst = 0;
    int compared = 0;
    for (int k = 0; k < fx_count; k++) {
        if (strcmp(fx_man[k].kind, "eval") || strncmp(fx_man[k].rel, "train/", 6)) continue;
        int64_t i = find_id(s, fx_man[k].rel + 6);
        size_t rs;
        float *ref = fx_load(fx_man[k].ref, &rs);
        if (i < 0 || rl_source_get(s, i, 1, 0, 0, a, &err)) {
            tap_ok(0, "get %s: %s", fx_man[k].rel, err.msg);
            continue;
        }
        for (size_t e = 0; e < N; e++) {
            double d = fabs(a[e] * sd[e % 3] + mean[e % 3] - ref[e]);
            if (d > worst) worst = d;
        }
        compared++;
        free(ref);
    }
    tap_ok(compared == 14 && worst <= 1.5 / 255, "eval get() of %d images vs torchvision: max |d| %.3f/255", compared,
           worst * 255);
    /* Train samples: deterministic in (seed, epoch, index). */
    rl_source_get(s, 3, 77, 2, 1, a, &err);
    rl_source_get(s, 3, 77, 2, 1, b, &err);
    tap_ok(!memcmp(a, b, N * sizeof(float)), "train get() repeats bitwise for the same (seed, epoch, index)");
    rl_source_get(s, 3, 78, 2, 1, b, &err);
    tap_ok(memcmp(a, b, N * sizeof(float)) != 0, "another seed gives another augmentation");
    rl_source_destroy(s);

    /* Cache hit: tamper with one cached label (stamp unchanged); the next open must show it. */
    FILE *f = fopen(cfg.cache, "r");
    char text[1 << 16];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    tap_ok(n > 0 && !strncmp(text, "# relab-filecache 1\n", 20), "cache written (%zu bytes)", n);
    char *line = strstr(text, "\t0\tn01440764/n01440764_2.jpeg");
    if (line) line[1] = '2';
    write_text(cfg.cache, text);
    st = rl_imagenet_open(&s, &cfg, &err);
    tap_ok(st == RL_OK && s->count == 14 && s->labels[2] == 2, "second open reads the cache (tampered label %d)",
           st ? -1 : s->labels[2]);
    rl_source_destroy(s);
    /* A new file changes its folder's mtime: rescan, the tampering is gone. */
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", fp(2, "train/n01440764/n01440764_0.JPEG"),
             fp(3, "train/n01440764/n01440764_9.JPEG"));
    if (system(cmd)) printf("Bail out! %s\n", cmd);
    st = rl_imagenet_open(&s, &cfg, &err);
    tap_ok(st == RL_OK && s->count == 15 && s->labels[2] == 0, "after adding a file: rescan (%lld samples, label %d)",
           st ? -1LL : (long long)s->count, st ? -1 : s->labels[2]);
    rl_source_destroy(s);

    /* (b) flat val folder: labels WNIDS[(2i) % 3] -> 0,2,1,0,2,1, three ways to order classes. */
    const int want_val[] = {0, 2, 1, 0, 2, 1};
    for (int way = 0; way < 3; way++) {
        rl_imagenet_config_default(&cfg);
        cfg.root = fp(0, "val");
        cfg.labels_file = fp(1, "val_labels.txt");
        if (way == 0) cfg.classes_file = fp(2, "classes.tsv");
        if (way == 1) cfg.class_root = fp(2, "train");
        cfg.cache = way == 2 ? fp(3, "val.cache") : NULL;
        st = rl_imagenet_open(&s, &cfg, &err);
        ok = st == RL_OK && s->count == 6 && s->num_classes == 3;
        for (int i = 0; ok && i < 6; i++)
            ok &= s->labels[i] == want_val[i];
        ok = ok && !strcmp(s->ids[0], "ILSVRC2012_val_00000001.JPEG");
        tap_ok(ok, "flat val folder, classes from %s: 6 samples, labels 0,2,1,0,2,1 (%s)",
               way == 0   ? "classes.tsv"
               : way == 1 ? "train folders"
                          : "labels file",
               st ? err.msg : "ok");
        if (!st && way == 0) {
            /* Sample 5 is val_00000006 (500x375): eval vs torchvision. */
            int k = 0;
            while (k < fx_count &&
                   (strcmp(fx_man[k].kind, "eval") || strcmp(fx_man[k].rel, "val/ILSVRC2012_val_00000006.JPEG")))
                k++;
            size_t rs;
            float *ref = fx_load(fx_man[k].ref, &rs);
            rl_source_get(s, 5, 0, 0, 0, a, &err);
            double m = 0;
            for (size_t e = 0; e < N; e++)
                m = fmax(m, fabs(a[e] * sd[e % 3] + mean[e % 3] - ref[e]));
            tap_ok(m <= 1.5 / 255, "val sample 6 vs torchvision: max |d| %.3f/255", m * 255);
            free(ref);
        }
        rl_source_destroy(s);
        s = NULL;
    }

    /* The real ImageNet classes.tsv (docs/method.md, in the folder $RELAB_SHARED names,
     * default ../shared/imagenet beside the source tree): 1000 classes, the
     * fixture's WNIDs are its first three. */
    char real[4200];
    const char *shared = getenv("RELAB_SHARED"), *top = getenv("top_srcdir");
    if (shared)
        snprintf(real, sizeof real, "%s/classes.tsv", shared);
    else
        snprintf(real, sizeof real, "%s/../shared/imagenet/classes.tsv", top ? top : ".");
    if (access(real, R_OK) == 0) {
        rl_imagenet_config_default(&cfg);
        cfg.root = fp(0, "val");
        cfg.labels_file = fp(1, "val_labels.txt");
        cfg.classes_file = real;
        st = rl_imagenet_open(&s, &cfg, &err);
        ok = st == RL_OK && s->num_classes == 1000 && !strcmp(rl_imagenet_class_name(s, 999), "n15075141");
        for (int i = 0; ok && i < 6; i++)
            ok &= s->labels[i] == want_val[i];
        tap_ok(ok, "val with ImageNet's classes.tsv: 1000 classes, class 999 n15075141, labels 0,2,1,0,2,1 (%s)",
               st ? err.msg : "ok");
        rl_source_destroy(s);
        s = NULL;
    } else {
        tap_ok(1, "# SKIP %s not present", real);
    }

    /* (c) list with multi-hot labels, paths relative to the list's folder. */
    write_text(fp(0, "my.list"), "# relab-list 1\n# classes 5\n"
                                 "train/n01440764/n01440764_1.jpg\t4,1\n"
                                 "val/ILSVRC2012_val_00000002.JPEG\t3\n"
                                 "train/n01484850/n01484850_cmyk.JPEG\t2,0,3\n");
    rl_imagenet_config_default(&cfg);
    cfg.list = fp(0, "my.list");
    st = rl_imagenet_open(&s, &cfg, &err);
    ok = st == RL_OK && s->count == 3 && s->num_classes == 5 && s->labels[0] == 4 && s->labels[1] == 3 &&
         s->labels[2] == 2 && s->multi_offsets;
    if (ok) {
        const int64_t wo[] = {0, 2, 3, 6};
        const int32_t wc[] = {4, 1, 3, 2, 0, 3};
        for (int i = 0; i < 4; i++)
            ok &= s->multi_offsets[i] == wo[i];
        for (int i = 0; i < 6; i++)
            ok &= s->multi_classes[i] == wc[i];
    }
    tap_ok(ok, "list: 3 samples, 5 classes, primary labels 4,3,2, multi-hot CSR {4,1},{3},{2,0,3} (%s)",
           st ? err.msg : "ok");
    if (!st) {
        rl_source *t = NULL;
        rl_imagenet_config tc;
        rl_imagenet_config_default(&tc);
        tc.root = fp(1, "train");
        if (!rl_imagenet_open(&t, &tc, &err)) {
            int64_t j = find_id(t, "n01484850/n01484850_cmyk.JPEG");
            rl_source_get(s, 2, 5, 0, 0, a, &err);
            rl_source_get(t, j, 5, 0, 0, b, &err);
            tap_ok(!memcmp(a, b, N * sizeof(float)), "the same file through a list and a tree: same eval sample");
            rl_source_destroy(t);
        }
    }
    rl_source_destroy(s);
    s = NULL;

    /* Errors before training. */
    rl_imagenet_config_default(&cfg);
    cfg.root = fp(0, "no-such-folder");
    st = rl_imagenet_open(&s, &cfg, &err);
    tap_ok(st == RL_ERR_IO && strstr(err.msg, "no-such-folder") && !s, "missing root: %s", err.msg);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s' && cp '%s' '%s'", fp(0, "t2/n1"), fp(1, "t2/n2"),
             fp(2, "train/n01440764/n01440764_0.JPEG"), fp(3, "t2/n1/a.JPEG"));
    if (system(cmd)) printf("Bail out! %s\n", cmd);
    cfg.root = fp(0, "t2");
    st = rl_imagenet_open(&s, &cfg, &err);
    tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, "t2/n2") && strstr(err.msg, "empty class folder"),
           "empty class folder: %s", err.msg);
    write_text(fp(0, "short_labels.txt"), "n01440764\nn01443537\nn01484850\nn01440764\nn01443537\n");
    rl_imagenet_config_default(&cfg);
    cfg.root = fp(0, "val");
    cfg.labels_file = fp(1, "short_labels.txt");
    st = rl_imagenet_open(&s, &cfg, &err);
    tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, "5 labels for 6 images"), "labels count mismatch: %s", err.msg);
    write_text(fp(4, "odd_labels.txt"), "n01440764\nn01443537\nn01484850\nn09999999\nn01443537\nn01443537\n");
    cfg.labels_file = fp(1, "odd_labels.txt");
    cfg.classes_file = fp(2, "classes.tsv");
    st = rl_imagenet_open(&s, &cfg, &err);
    tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, "odd_labels.txt:4") && strstr(err.msg, "n09999999"),
           "unknown WNID: %s", err.msg);

    /* Per-sample errors: a class folder with the bad files. */
    rl_imagenet_config_default(&cfg);
    cfg.root = fp(0, ".");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/*.JPEG '%s'", fp(0, "badtree/x"), fp(1, "bad"),
             fp(2, "badtree/x"));
    if (system(cmd)) printf("Bail out! %s\n", cmd);
    cfg.root = fp(0, "badtree");
    st = rl_imagenet_open(&s, &cfg, &err);
    tap_ok(st == RL_OK && s->count == 3, "bad-file tree opens (3 files)");
    for (int64_t i = 0; !st && i < s->count; i++) {
        rl_status g = rl_source_get(s, i, 0, 0, 1, a, &err);
        if (strstr(s->ids[i], "png")) /* a PNG named .JPEG: decoded by the PNG fallback */
            tap_ok(g == RL_OK, "get %s -> decoded by the PNG fallback", s->ids[i]);
        else
            tap_ok(g == RL_ERR_FORMAT && strstr(err.msg, s->ids[i]), "get %s -> format error: %.160s", s->ids[i],
                   err.msg);
    }
    rl_source_destroy(s);
    test_pack(a, b);
    test_loader();
    free(a);
    free(b);
    return tap_done();
}
