/* bench/data.c: decode + train-augment throughput per core, relab vs Pillow +
 * torchvision, in the same run on the same files.
 *
 * bench/data_ref.py makes the JPEGs (500x375 by default, ~ImageNet's median size) and
 * times Pillow + RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor +
 * Normalize on one core; this program times relab's rl_augment_jpeg (file
 * read, DCT-scaled decode, crop, flip, resize, normalise) on one thread, and
 * also relab without DCT scaling and relab's eval transform, then prints the
 * ratio.  Throughput is images per CPU-second of the process (one thread),
 * so other jobs on a shared machine do not count.  Target (issue #4): relab
 * >= 2x Pillow per core.
 *
 * usage: bench/data [--dir DIR] [--n N] [--seconds S] [--size WxH]   (REF_PYTHON picks the Python)
 * --size 1000x750 shows what DCT scaling buys on larger photos.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/augment.h"
#include "data/jpeg.h"
#include "util/blas.h"
#include "util/timer.h"

#ifndef RL_SRCDIR
#define RL_SRCDIR "."
#endif

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Images per CPU-second of the relab pipeline on files (one thread): on a
 * shared machine wall time counts other jobs' time slices, CPU time is the
 * work done on one core. */
static double run(char **files, int n, const rl_augment_config *c, int train, double seconds, float *out)
{
    rl_error err;
    long done = 0;
    double t0 = rl_cpu_now();
    for (int pass = 0;; pass++) {
        for (int i = 0; i < n; i++) {
            uint8_t *data;
            size_t size;
            if (rl_read_file(files[i], &data, &size, &err) ||
                rl_augment_jpeg(data, size, files[i], c, 1, pass, i, train, out, &err)) {
                fprintf(stderr, "bench/data: %s\n", err.msg);
                exit(1);
            }
            free(data);
            done++;
        }
        if (rl_cpu_now() - t0 >= seconds) break;
    }
    return done / (rl_cpu_now() - t0);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    char dirbuf[256];
    int n = 200, W = 500, H = 375;
    double seconds = 3.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--n"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--size") && sscanf(argv[i + 1], "%dx%d", &W, &H) == 2 && W > 0 && H > 0)
            continue;
        else {
            fprintf(stderr, "usage: bench/data [--dir DIR] [--n N] [--seconds S] [--size WxH]\n");
            return 2;
        }
    }
    if (!dir) {
        snprintf(dirbuf, sizeof dirbuf, "/tmp/relab-bench-data-%dx%d", W, H);
        dir = dirbuf;
    }
    const char *py = getenv("REF_PYTHON") ? getenv("REF_PYTHON") : "/usr/bin/python3";
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s '%s/bench/data_ref.py' '%s' %d %g %d %d", py, RL_SRCDIR, dir, n, seconds, W, H);
    printf("bench/data: BLAS core %s (%s); reference: %s\n", rl_blas_core(), rl_blas_threading(), cmd);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    double pil = 0;
    char line[256];
    while (p && fgets(line, sizeof line, p))
        sscanf(line, "pil_images_per_s %lf", &pil);
    if (!p || pclose(p) != 0 || pil <= 0) {
        fprintf(stderr, "bench/data: the reference run failed (%s)\n", cmd);
        return 1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench/data: cannot open %s\n", dir);
        return 1;
    }
    char **files = calloc((size_t)n, sizeof *files);
    int k = 0;
    struct dirent *de;
    while ((de = readdir(d)) && k < n)
        if (strstr(de->d_name, ".JPEG")) {
            files[k] = malloc(strlen(dir) + strlen(de->d_name) + 2);
            sprintf(files[k++], "%s/%s", dir, de->d_name);
        }
    closedir(d);
    qsort(files, (size_t)k, sizeof *files, cmp_str);
    rl_augment_config c, full;
    rl_augment_config_default(&c, 224);
    full = c;
    full.dct_scale_train = 0;
    float *out = malloc(224 * 224 * 3 * sizeof(float));
    double train = run(files, k, &c, 1, seconds, out);
    double train_full = run(files, k, &full, 1, seconds, out);
    double eval = run(files, k, &c, 0, seconds, out);
    printf("images: %d JPEGs, %dx%d, in %s\n", k, W, H, dir);
    printf("pil+torchvision train (RandomResizedCrop+flip+ToTensor+Normalize): %8.1f images/s/core\n", pil);
    printf("relab train (DCT-scaled decode, crop, flip, resize, normalise):    %8.1f images/s/core\n", train);
    printf("relab train without DCT scaling:                                   %8.1f images/s/core\n", train_full);
    printf("relab eval (full decode, resize 256, center crop 224):             %8.1f images/s/core\n", eval);
    printf("ratio relab/pil (train): %.2fx  (target >= 2x)\n", train / pil);
    for (int i = 0; i < k; i++)
        free(files[i]);
    free(files);
    free(out);
    return 0;
}
