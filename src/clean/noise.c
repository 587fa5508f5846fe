/* noise.c: seeded label noise and its record (definitions in noise.h). */
#include "clean/noise.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/rng.h"
#include "util/text.h"

void rl_noise_fashion_pairs(int32_t *pair_of)
{
    static const int32_t p[10] = {6, -1, 4, -1, 2, 7, 0, 5, -1, -1};
    memcpy(pair_of, p, sizeof p);
}

rl_status rl_noise_pairs_parse(const char *text, int C, int32_t *pair_of, rl_error *err)
{
    for (int c = 0; c < C; c++)
        pair_of[c] = -1;
    const char *s = text;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10);
        if (end == s || *end != ':')
            return rl_fail(err, RL_ERR_ARG, "--pairs '%s': expected A:B[,A:B...] at '%s'", text, s);
        s = end + 1;
        long b = strtol(s, &end, 10);
        if (end == s || (*end && *end != ','))
            return rl_fail(err, RL_ERR_ARG, "--pairs '%s': expected A:B[,A:B...] at '%s'", text, s);
        if (a < 0 || b < 0 || a >= C || b >= C || a == b)
            return rl_fail(err, RL_ERR_ARG, "--pairs '%s': pair %ld:%ld must be two different classes in [0, %d)", text,
                           a, b, C);
        if (pair_of[a] >= 0 || pair_of[b] >= 0)
            return rl_fail(err, RL_ERR_ARG, "--pairs '%s': class %ld is in two pairs", text, pair_of[a] >= 0 ? a : b);
        pair_of[a] = (int32_t)b;
        pair_of[b] = (int32_t)a;
        s = *end ? end + 1 : end;
    }
    return RL_OK;
}

rl_status rl_noise_matrix_read(const char *path, int C, double *matrix, rl_error *err)
{
    rl_lines r;
    rl_status st = rl_lines_open(&r, path, "noise matrix", 0, err);
    if (st) return st;
    char *line;
    size_t len;
    int row = 0, got = 0;
    while (!st && (got = rl_lines_next(&r, &line, &len, err)) > 0) {
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s || *s == '#') continue;
        if (row == C) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: more than %d rows (the list has %d classes)", path, r.lineno, C,
                         C);
            break;
        }
        double sum = 0.0;
        for (int j = 0; j < C && !st; j++) {
            char *end;
            double v = strtod(s, &end);
            if (end == s || !(v >= 0.0) || v > 1e300)
                st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: column %d: expected a non-negative number", path, r.lineno,
                             j + 1);
            matrix[(size_t)row * C + j] = v;
            sum += v;
            s = end;
        }
        while (!st && isspace((unsigned char)*s))
            s++;
        if (!st && *s) st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: more than %d numbers on the row", path, r.lineno, C);
        if (!st && !(sum > 0.0 && sum <= 1e300))
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: row %d is all zero or sums past 1e300", path, r.lineno, row);
        row++;
    }
    if (!st && got < 0) st = err ? err->code : RL_ERR_FORMAT;
    if (!st && row != C) st = rl_fail(err, RL_ERR_FORMAT, "%s: %d rows, expected %d (one per class)", path, row, C);
    rl_lines_close(&r);
    return st;
}

/* The noisy label of a sample with label y and generator r (see noise.h). */
static int32_t draw(const rl_noise_opts *o, int C, int32_t y, rl_rng *r)
{
    const double *w = o->matrix ? o->matrix + (size_t)y * C : NULL;
    if (o->kind == RL_NOISE_MATRIX && o->rate < 0) {
        double total = 0.0;
        for (int j = 0; j < C; j++)
            total += w[j];
        double x = rl_rng_uniform_double(r) * total;
        for (int j = 0; j < C; j++) {
            if (x < w[j]) return j;
            x -= w[j];
        }
        return y; /* rounding at the top end: keep */
    }
    if (!(rl_rng_uniform_double(r) < o->rate)) return y;
    switch (o->kind) {
    case RL_NOISE_SYMMETRIC: {
        if (C < 2) return y;
        int32_t j = (int32_t)rl_rng_below(r, (uint32_t)(C - 1));
        return j >= y ? j + 1 : j;
    }
    case RL_NOISE_PAIRFLIP: return o->pair_of[y] >= 0 ? o->pair_of[y] : y;
    case RL_NOISE_MATRIX: {
        double total = 0.0;
        for (int j = 0; j < C; j++)
            if (j != y) total += w[j];
        if (total <= 0.0) return y;
        double x = rl_rng_uniform_double(r) * total;
        int32_t last = y;
        for (int j = 0; j < C; j++) {
            if (j == y || w[j] <= 0.0) continue;
            last = j;
            if (x < w[j]) return j;
            x -= w[j];
        }
        return last;
    }
    }
    return y;
}

rl_status rl_noise_apply(const rl_list *in, const rl_noise_opts *o, rl_list *out, uint8_t *changed, rl_error *err)
{
    memset(out, 0, sizeof *out);
    const int C = in->num_classes;
    if (o->kind != RL_NOISE_MATRIX || o->rate >= 0)
        if (!(o->rate >= 0.0 && o->rate <= 1.0))
            return rl_fail(err, RL_ERR_ARG, "noise: rate %g is not in [0, 1]", o->rate);
    if (o->kind == RL_NOISE_PAIRFLIP && !o->pair_of) return rl_fail(err, RL_ERR_ARG, "noise: pairflip needs pairs");
    if (o->kind == RL_NOISE_MATRIX && !o->matrix) return rl_fail(err, RL_ERR_ARG, "noise: matrix kind needs a matrix");
    out->num_classes = C;
    int32_t *buf = malloc(((size_t)C + 1) * sizeof *buf);
    if (!buf) return rl_fail(err, RL_ERR_NOMEM, "noise: out of memory");
    rl_status st = RL_OK;
    for (int64_t i = 0; i < in->count && !st; i++) {
        int32_t y = in->labels[i];
        rl_rng r = rl_rng_make(o->seed, RL_NOISE_STREAM, (uint64_t)i);
        int32_t z = draw(o, C, y, &r);
        int nl = 0;
        buf[nl++] = z;
        if (in->multi_offsets)
            for (int64_t q = in->multi_offsets[i] + 1; q < in->multi_offsets[i + 1]; q++)
                if (in->multi_classes[q] != z && nl <= C) buf[nl++] = in->multi_classes[q];
        if (changed) changed[i] = z != y;
        st = rl_list_append(out, in->paths[i], buf, nl, err);
    }
    free(buf);
    if (st) rl_list_free(out);
    return st;
}

rl_status rl_noise_record_write(const char *path, const rl_list *in, const rl_list *out, const char *about,
                                rl_error *err)
{
    RL_CHECK(in->count == out->count);
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, path, err);
    if (st) return st;
    fprintf(w.f, "# relab-noise-record 1\n# %s\n", about ? about : "");
    for (int64_t i = 0; i < in->count; i++)
        if (in->labels[i] != out->labels[i]) fprintf(w.f, "%s\t%d\t%d\n", in->paths[i], in->labels[i], out->labels[i]);
    return rl_fs_writer_commit(&w, err);
}

void rl_noise_record_free(rl_noise_record *r)
{
    if (!r) return;
    for (int64_t i = 0; i < r->count; i++)
        free(r->ids[i]);
    free(r->ids);
    free(r->original);
    free(r->noisy);
    memset(r, 0, sizeof *r);
}

rl_status rl_noise_record_read(const char *path, rl_noise_record *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    rl_lines r;
    rl_status st = rl_lines_open(&r, path, "noise record", 0, err);
    if (st) return st;
    char *line;
    size_t len, cap[3] = {0, 0, 0};
    int got = 0;
    while (!st && (got = rl_lines_next(&r, &line, &len, err)) > 0) {
        if (r.lineno == 1 && strcmp(line, "# relab-noise-record 1")) {
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s:1: expected '# relab-noise-record 1' (written by relab noise --record)", path);
            break;
        }
        if (!line[0] || line[0] == '#') continue;
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        char *e1 = NULL, *e2 = NULL;
        errno = 0;
        long a = t2 ? strtol(t1 + 1, &e1, 10) : -1, b = t2 ? strtol(t2 + 1, &e2, 10) : -1;
        if (!t2 || t1 == line || errno || e1 != t2 || e1 == t1 + 1 || *e2 || e2 == t2 + 1 || a < 0 || b < 0 ||
            a >= RL_MAX_CLASSES || b >= RL_MAX_CLASSES) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: expected 'id<TAB>original<TAB>noisy' with classes in 0..%d", path,
                         r.lineno, RL_MAX_CLASSES - 1);
            break;
        }
        *t1 = '\0';
        size_t n = (size_t)out->count;
        if (rl_grow(&out->ids, &cap[0], n + 1, sizeof *out->ids) ||
            rl_grow(&out->original, &cap[1], n + 1, sizeof *out->original) ||
            rl_grow(&out->noisy, &cap[2], n + 1, sizeof *out->noisy) || !(out->ids[n] = strdup(line))) {
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        out->original[n] = (int32_t)a;
        out->noisy[n] = (int32_t)b;
        out->count++;
    }
    if (!st && got < 0) st = err ? err->code : RL_ERR_FORMAT;
    if (!st && r.lineno == 0) st = rl_fail(err, RL_ERR_FORMAT, "%s: empty; not a noise record", path);
    rl_lines_close(&r);
    if (st) rl_noise_record_free(out);
    return st;
}
