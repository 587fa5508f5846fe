/* jpeg_fixture.h: builds the ImageNet-style JPEG fixture (tests/make_jpeg_fixture.py,
 * run with $REF_PYTHON) in a fresh folder under $top_builddir/tests and reads its
 * reference manifest.  Shared by test_jpeg, test_augment and test_imagenet;
 * each test gets its own folder so they can run in parallel. */
#ifndef RL_TEST_JPEG_FIXTURE_H
#define RL_TEST_JPEG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

typedef struct {
    char rel[256], kind[32], ref[256];
    int width, height;
} fx_entry;

static char fx_dir[1024];
static fx_entry fx_man[128];
static int fx_count;

/* Creates the fixture for test `name` (with torchvision references if
 * torch != 0); skips the whole test when the reference Python is missing. */
static void fx_make(const char *name, int torch)
{
    const char *py = getenv("REF_PYTHON"), *src = getenv("top_srcdir"), *bld = getenv("top_builddir");
    if (!py || !*py) py = "/usr/bin/python3";
    if (!src) src = "..";
    if (!bld) bld = ".";
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s -c 'import PIL, numpy%s' 2>/dev/null", py, torch ? ", torchvision" : "");
    if (system(cmd) != 0) tap_skip_all("reference Python with PIL/numpy/torchvision not available");
    snprintf(fx_dir, sizeof fx_dir, "%s/tests/fixture-%s", bld, name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && %s '%s/tests/make_jpeg_fixture.py' '%s' %s", fx_dir, py, src, fx_dir,
             torch ? "--torch" : "");
    if (system(cmd) != 0) {
        printf("Bail out! fixture script failed: %s\n", cmd);
        exit(1);
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/ref/manifest.tsv", fx_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("Bail out! no %s\n", path);
        exit(1);
    }
    while (fx_count < 128 && fscanf(f, "%255s %31s %d %d %255s", fx_man[fx_count].rel, fx_man[fx_count].kind,
                                    &fx_man[fx_count].width, &fx_man[fx_count].height, fx_man[fx_count].ref) == 5)
        fx_count++;
    fclose(f);
}

/* dir/rel into buf. */
static const char *fx_path(char *buf, size_t n, const char *rel)
{
    snprintf(buf, n, "%s/%s", fx_dir, rel);
    return buf;
}

/* Reads a whole reference file (malloc'ed, caller frees); bails out if missing. */
static void *fx_load(const char *rel, size_t *size)
{
    char path[1400];
    fx_path(path, sizeof path, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("Bail out! cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(n > 0 ? (size_t)n : 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        printf("Bail out! cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *size = (size_t)n;
    return p;
}

#endif
