/* perclass.c: per-class accuracy against the unbiased oracle, co-occurring
 * ReaL classes, and their TSV and SVG outputs (definitions in perclass.h).
 *
 * Co-occurrence counts ordered pairs (c, d) as keys c * C + d collected from
 * every image's set (at most |R|^2 per image), sorted and counted: memory is
 * proportional to the pairs present, not to C^2. */
#include "eval/perclass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

void rl_perclass_free(rl_perclass *pc)
{
    if (!pc) return;
    free(pc->images);
    free(pc->model);
    free(pc->real);
    free(pc->oracle);
    free(pc->multi_images);
    free(pc->multi_model);
    free(pc->multi_oracle);
    memset(pc, 0, sizeof *pc);
}

static int in_set(const rl_sets *s, int64_t v, int32_t c)
{
    for (int64_t q = s->offsets[v]; q < s->offsets[v + 1]; q++)
        if (s->classes[q] == c) return 1;
    return 0;
}

rl_status rl_perclass_run(const rl_preds *p, const int32_t *labels, const int64_t *ref, const rl_sets *real,
                          rl_perclass *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    const size_t C = (size_t)p->num_classes;
    out->num_classes = p->num_classes;
    out->images = calloc(C, sizeof *out->images);
    out->model = calloc(C, sizeof *out->model);
    out->real = calloc(C, sizeof *out->real);
    out->oracle = calloc(C, sizeof *out->oracle);
    out->multi_images = calloc(C, sizeof *out->multi_images);
    out->multi_model = calloc(C, sizeof *out->multi_model);
    out->multi_oracle = calloc(C, sizeof *out->multi_oracle);
    if (!out->images || !out->model || !out->real || !out->oracle || !out->multi_images || !out->multi_model ||
        !out->multi_oracle) {
        rl_perclass_free(out);
        return rl_fail(err, RL_ERR_NOMEM, "eval: out of memory for %zu classes", C);
    }
    for (int64_t i = 0; i < p->n; i++) {
        int64_t v = ref[i];
        int32_t y = labels[i], top = p->topk_classes[i * p->k];
        if (y < 0 || v < 0 || v >= real->n) continue;
        int64_t nr = real->offsets[v + 1] - real->offsets[v];
        if (!nr) continue;
        double o = in_set(real, v, y) / (double)nr;
        out->images[y]++;
        out->model[y] += top == y;
        out->real[y] += in_set(real, v, top);
        out->oracle[y] += o;
        out->total_images++;
        out->total_model += top == y;
        out->total_oracle += o;
        if (nr >= 2) {
            out->multi_images[y]++;
            out->multi_model[y] += top == y;
            out->multi_oracle[y] += o;
        }
    }
    return RL_OK;
}

void rl_cooccur_free(rl_cooccur *co)
{
    if (!co) return;
    free(co->with);
    free(co->other);
    free(co->count);
    memset(co, 0, sizeof *co);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Inserts (a, b, n) into a list of at most max entries ordered by n
 * descending; entries arrive in ascending (a, b) order, so a tie goes after
 * the entries already there.  b may be NULL (then a alone is stored); len
 * NULL means the list's end is its first a < 0. */
static void top_insert(int32_t *as, int32_t *bs, int64_t *ns, int max, int *len, int32_t a, int32_t b, int64_t n)
{
    int used = 0;
    if (len)
        used = *len;
    else
        while (used < max && as[used] >= 0)
            used++;
    int pos = used;
    while (pos > 0 && ns[pos - 1] < n)
        pos--;
    if (pos >= max) return;
    for (int q = used < max ? used : max - 1; q > pos; q--) {
        as[q] = as[q - 1];
        ns[q] = ns[q - 1];
        if (bs) bs[q] = bs[q - 1];
    }
    as[pos] = a;
    ns[pos] = n;
    if (bs) bs[pos] = b;
    if (len && used < max) (*len)++;
}

rl_status rl_cooccur_run(const rl_preds *p, const int64_t *ref, const rl_sets *real, rl_cooccur *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    const int64_t C = p->num_classes;
    out->num_classes = p->num_classes;
    out->with = calloc((size_t)C, sizeof *out->with);
    out->other = malloc((size_t)C * RL_COOCCUR_TOP * sizeof *out->other);
    out->count = calloc((size_t)C * RL_COOCCUR_TOP, sizeof *out->count);
    int64_t *keys = NULL;
    size_t nkeys = 0, cap = 0;
    rl_status st = out->with && out->other && out->count ? RL_OK : rl_fail(err, RL_ERR_NOMEM, "eval: out of memory");
    for (int64_t i = 0; !st && i < p->n; i++) {
        int64_t v = ref[i];
        if (v < 0 || v >= real->n) continue;
        const int32_t *s = real->classes + real->offsets[v];
        int64_t nr = real->offsets[v + 1] - real->offsets[v];
        out->multi += nr >= 2;
        for (int64_t a = 0; a < nr; a++) {
            out->with[s[a]]++;
            for (int64_t b = 0; b < nr; b++) {
                if (a == b) continue;
                if (rl_grow(&keys, &cap, nkeys + 1, sizeof *keys)) {
                    st = rl_fail(err, RL_ERR_NOMEM, "eval: out of memory counting co-occurring classes");
                    break;
                }
                keys[nkeys++] = s[a] * C + s[b];
            }
        }
    }
    for (int64_t q = 0; !st && q < C * RL_COOCCUR_TOP; q++)
        out->other[q] = -1;
    if (!st && nkeys) qsort(keys, nkeys, sizeof *keys, cmp_i64);
    /* keys of one class c are contiguous and ascending in d: keep the top counts, lower d first on ties */
    for (size_t a = 0; !st && a < nkeys;) {
        size_t b = a;
        while (b < nkeys && keys[b] == keys[a])
            b++;
        int64_t c = keys[a] / C, d = keys[a] % C, n = (int64_t)(b - a);
        top_insert(out->other + c * RL_COOCCUR_TOP, NULL, out->count + c * RL_COOCCUR_TOP, RL_COOCCUR_TOP, NULL,
                   (int32_t)d, 0, n);
        if (c < d)
            top_insert(out->pair_a, out->pair_b, out->pair_n, RL_COOCCUR_PAIRS, &out->npairs, (int32_t)c, (int32_t)d,
                       n);
        a = b;
    }
    free(keys);
    if (st) rl_cooccur_free(out);
    return st;
}

static const char *name_of(const rl_classes *names, int c)
{
    return names && c < names->n && names->name[c] ? names->name[c] : "";
}

/* A ratio, or nothing when the denominator is 0. */
static void put_ratio(FILE *f, double a, int64_t b)
{
    if (b > 0) fprintf(f, "%.9g", a / (double)b);
}

rl_status rl_perclass_write_tsv(const char *path, const rl_perclass *pc, const rl_classes *names, rl_error *err)
{
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, path, err);
    if (st) return st;
    FILE *f = w.f;
    fputs("class\tname\timages\tmodel_acc\toracle_acc\tmodel_minus_oracle\treal_acc\tmulti_images\tmulti_model_acc\t"
          "multi_oracle_acc\n",
          f);
    for (int c = 0; c < pc->num_classes; c++) {
        if (!pc->images[c]) continue;
        double n = (double)pc->images[c];
        fprintf(f, "%d\t%s\t%lld\t%.9g\t%.9g\t%.9g\t%.9g\t%lld\t", c, name_of(names, c), (long long)pc->images[c],
                pc->model[c] / n, pc->oracle[c] / n, (pc->model[c] - pc->oracle[c]) / n, pc->real[c] / n,
                (long long)pc->multi_images[c]);
        put_ratio(f, (double)pc->multi_model[c], pc->multi_images[c]);
        fputc('\t', f);
        put_ratio(f, pc->multi_oracle[c], pc->multi_images[c]);
        fputc('\n', f);
    }
    return rl_fs_writer_commit(&w, err);
}

rl_status rl_cooccur_write_tsv(const char *path, const rl_cooccur *co, const rl_classes *names, rl_error *err)
{
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, path, err);
    if (st) return st;
    FILE *f = w.f;
    fputs("class\tname\timages\trank\tother\tother_name\tcount\tshare\n", f);
    for (int c = 0; c < co->num_classes; c++)
        for (int r = 0; r < RL_COOCCUR_TOP; r++) {
            int32_t d = co->other[c * RL_COOCCUR_TOP + r];
            if (d < 0) break;
            int64_t n = co->count[c * RL_COOCCUR_TOP + r];
            fprintf(f, "%d\t%s\t%lld\t%d\t%d\t%s\t%lld\t%.9g\n", c, name_of(names, c), (long long)co->with[c], r + 1,
                    (int)d, name_of(names, d), (long long)n, (double)n / (double)co->with[c]);
        }
    return rl_fs_writer_commit(&w, err);
}

/* Text for SVG: the XML special characters escaped. */
static void svg_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* The plot: per-class model accuracy (y) against the oracle's (x), both on
 * the original labels, 0-100 %, the diagonal dashed, the classes farthest
 * above it named. */
rl_status rl_perclass_write_svg(const char *path, const rl_perclass *pc, const rl_classes *names, const char *title,
                                rl_error *err)
{
    enum { W = 640, H = 600, X0 = 70, Y0 = 50, S = 480, NAMED = 8 };
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, path, err);
    if (st) return st;
    FILE *f = w.f;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"sans-serif\">\n<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
            W, H, W, H, W, H);
    fprintf(f, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">", X0 + S / 2);
    svg_escaped(f, title);
    fputs("</text>\n", f);
    for (int k = 0; k <= 10; k++) { /* grid and tick labels every 10 % */
        double at = S * k / 10.0;
        fprintf(f, "<path d=\"M%.1f %d V%d M%d %.1f H%d\" stroke=\"#e4e4e4\"/>\n", X0 + at, Y0, Y0 + S, X0, Y0 + S - at,
                X0 + S);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%d</text>\n", X0 + at,
                Y0 + S + 16, 10 * k);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%d</text>\n", X0 - 6,
                Y0 + S - at + 4, 10 * k);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#000\"/>\n", X0, Y0, S, S);
    fprintf(f, "<path d=\"M%d %d L%d %d\" stroke=\"#888\" stroke-dasharray=\"5,4\"/>\n", X0, Y0 + S, X0 + S, Y0);
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">unbiased oracle: accuracy on the "
            "original labels (%%)</text>\n",
            X0 + S / 2, Y0 + S + 36);
    fprintf(f,
            "<text transform=\"translate(%d %d) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">model: "
            "accuracy on the original labels (%%)</text>\n",
            X0 - 42, Y0 + S / 2);
    int named[NAMED], nn = 0; /* the classes farthest above the diagonal */
    for (int c = 0; c < pc->num_classes; c++) {
        if (!pc->images[c]) continue;
        double n = (double)pc->images[c], gap = (pc->model[c] - pc->oracle[c]) / n;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#1f77b4\" fill-opacity=\"0.6\"/>\n",
                X0 + S * pc->oracle[c] / n, Y0 + S - S * pc->model[c] / n);
        int pos = nn;
        while (pos > 0) {
            int q = named[pos - 1];
            if ((pc->model[q] - pc->oracle[q]) / (double)pc->images[q] >= gap) break;
            pos--;
        }
        if (pos >= NAMED || gap <= 0) continue;
        for (int q = nn < NAMED ? nn : NAMED - 1; q > pos; q--)
            named[q] = named[q - 1];
        named[pos] = c;
        nn += nn < NAMED;
    }
    for (int q = 0; q < nn; q++) {
        int c = named[q];
        double n = (double)pc->images[c];
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#444\">", X0 + S * pc->oracle[c] / n + 5,
                Y0 + S - S * pc->model[c] / n + 3);
        char label[64]; /* the class's first name ("tench" of "tench, Tinca tinca"), or its index */
        const char *nm = name_of(names, c);
        if (*nm)
            snprintf(label, sizeof label, "%.*s", (int)strcspn(nm, ","), nm);
        else
            snprintf(label, sizeof label, "%d", c);
        svg_escaped(f, label);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
    return rl_fs_writer_commit(&w, err);
}
