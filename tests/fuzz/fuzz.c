/* fuzz.c: libFuzzer harnesses for relab's readers of outside files.
 *
 * tests/hostile/ checks a thousand hand-made bad files; these harnesses let
 * libFuzzer make millions more, guided by which branches of relab's parsers
 * they reach.  One binary per reader: FUZZ_TARGET (a -D define, see
 * tests/fuzz/run.sh) picks it.  Readers that take a path get the input
 * written to a file of their own in /dev/shm first (the name carries the
 * process id, so parallel fuzzers do not share one).  HDF5 files are left to
 * tests/hostile/: libFuzzer's byte flips rarely get past HDF5's own checks
 * to relab's, and HDF5's parser is not relab's to mend.
 *
 * A harness passes whatever the reader returns; what counts as a finding is
 * a sanitizer report, a crash, a hang (-timeout) or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean/clean.h"
#include "clean/noise.h"
#include "data/idx.h"
#include "data/jpeg.h"
#include "data/list.h"
#include "data/png.h"
#include "eval/refsets.h"
#include "eval/sets.h"
#include "train/recipe.h"
#include "util/kv.h"
#include "util/status.h"
#include "util/text.h"

#ifndef FUZZ_TARGET
#error "compile with -DFUZZ_TARGET=<reader> (tests/fuzz/run.sh)"
#endif

#define T_list 1
#define T_classes 2
#define T_real 3
#define T_multilabel 4
#define T_groups 5
#define T_idx 6
#define T_jpeg 7
#define T_png 8
#define T_recipe 9
#define T_strings 10
#define T_matrix 11
#define T_record 12
#define T_wnid 13
#define CAT(a, b) a##b
#define TARGET_OF(name) CAT(T_, name)
#define TARGET TARGET_OF(FUZZ_TARGET)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes size bytes of data to path; the reader under test opens it. */
static void put_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f)) abort();
}

/* The input as a NUL-terminated string (the string parsers' contract). */
static char *as_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

static rl_status ignore_pair(void *ctx, char *key, char *value, int line, rl_error *err)
{
    (void)ctx, (void)key, (void)value, (void)line, (void)err;
    return RL_OK;
}

static void file_path(char *out, size_t n, const char *stem)
{
    snprintf(out, n, "/dev/shm/relab-fuzz-%s-%ld", stem, (long)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    rl_error err;
    memset(&err, 0, sizeof err);
    file_path(path, sizeof path, "a");
#if TARGET == T_list
    put_file(path, data, size);
    rl_list list;
    if (rl_list_read(path, &list, &err) == RL_OK) rl_list_free(&list);
#elif TARGET == T_classes
    put_file(path, data, size);
    rl_classes classes;
    if (rl_classes_read(path, &classes, &err) == RL_OK) rl_classes_free(&classes);
#elif TARGET == T_real
    put_file(path, data, size);
    rl_sets sets;
    if (rl_real_read(path, 1000, &sets, &err) == RL_OK) rl_sets_free(&sets);
#elif TARGET == T_multilabel
    put_file(path, data, size);
    rl_multilabel ml;
    if (rl_multilabel_read(path, 1000, &ml, &err) == RL_OK) rl_multilabel_free(&ml);
#elif TARGET == T_groups
    put_file(path, data, size);
    rl_groups groups;
    if (rl_groups_read(path, 1000, &groups, &err) == RL_OK) rl_groups_free(&groups);
#elif TARGET == T_idx
    /* the first byte's low bit picks which kind of IDX file is expected */
    put_file(path, data, size);
    rl_idx idx;
    if (rl_idx_read(path, size && (data[0] & 1) ? 3 : 1, &idx, &err) == RL_OK) rl_idx_free(&idx);
#elif TARGET == T_jpeg
    rl_image image;
    if (rl_jpeg_decode_mem(data, size, 1, 1, "fuzz.jpg", &image, &err) == RL_OK) rl_image_free(&image);
#elif TARGET == T_png
    rl_image image;
    if (rl_png_decode(data, size, "fuzz.png", &image, &err) == RL_OK) rl_image_free(&image);
#elif TARGET == T_recipe
    char *text = as_string(data, size);
    rl_recipe recipe;
    rl_recipe_init(&recipe);
    (void)rl_recipe_load_text(text, "fuzz.recipe", &recipe, &err);
    free(text);
#elif TARGET == T_strings
    /* the command-line values parsed beyond plain numbers, all on one input */
    char *text = as_string(data, size);
    double thresholds[64];
    int count = 0;
    (void)rl_set_thresholds_parse(text, thresholds, &count, &err);
    rl_clean_opts opts;
    memset(&opts, 0, sizeof opts);
    (void)rl_clean_rule_parse(text, &opts, &err);
    int32_t pair_of[1000];
    (void)rl_noise_pairs_parse(text, 1000, pair_of, &err);
    (void)rl_kv_parse(text, "fuzz", ignore_pair, NULL, &err);
    free(text);
#elif TARGET == T_matrix
    put_file(path, data, size);
    static double matrix[10 * 10];
    (void)rl_noise_matrix_read(path, 10, matrix, &err);
#elif TARGET == T_record
    put_file(path, data, size);
    rl_noise_record record;
    if (rl_noise_record_read(path, &record, &err) == RL_OK) rl_noise_record_free(&record);
#elif TARGET == T_wnid
    /* two files: the labels before the first 0xff byte, classes.tsv after it */
    char classes_path[128];
    file_path(classes_path, sizeof classes_path, "b");
    const uint8_t *cut = memchr(data, 0xff, size);
    const size_t head = cut ? (size_t)(cut - data) : size;
    put_file(path, data, head);
    put_file(classes_path, cut ? cut + 1 : data, cut ? size - head - 1 : 0);
    int32_t *labels = NULL;
    int64_t n = 0;
    if (rl_wnid_labels_read(path, classes_path, &labels, &n, &err) == RL_OK) free(labels);
#else
#error "unknown FUZZ_TARGET"
#endif
    return 0;
}
