/* cleaning.c: reading a cleaning's JSON report and per-image table, and
 * choosing the gallery (cleaning.h). */
#include "report/cleaning.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "data/list.h"
#include "util/kv.h"
#include "util/text.h"

#define JSON_MAX_BYTES ((size_t)256 << 20) /* two numbers per class for 2^20 classes fit */

void rl_cleaning_free(rl_cleaning *c)
{
    if (!c) return;
    for (int64_t i = 0; i < c->nimages; i++)
        free(c->images[i].id);
    free(c->images);
    free(c->per_class_total);
    free(c->per_class_flagged);
    free(c->per_class_flagged_noisy);
    memset(c, 0, sizeof *c);
}

/* ---- the per-image table ---- */

enum { COL_ID, COL_LABEL, COL_TEACHER, COL_PROB, COL_AGREES, COL_TRUTH, NCOLS };
static const char *const col_names[NCOLS] = {"id", "label", "teacher", "teacher_prob", "agrees", "truth"};

int rl_cleaning_is_table(const char *path)
{
    rl_lines r;
    char *line;
    size_t len;
    if (rl_lines_open(&r, path, "per-image table", 4096, NULL)) return 0;
    int ok = rl_lines_next(&r, &line, &len, NULL) == 1 && !strncmp(line, "id\tlabel\tteacher\t", 17);
    rl_lines_close(&r);
    return ok;
}

/* A class index in 0..RL_MAX_CLASSES-1; -1 for bad text. */
static int32_t parse_class(const char *s)
{
    long long v;
    return rl_kv_int64(s, &v) && v >= 0 && v < RL_MAX_CLASSES ? (int32_t)v : -1;
}

typedef struct {
    int col[NCOLS]; /* field index of each column, -1 when absent */
    int nfields;
} header;

static rl_status read_header(rl_lines *r, header *h, rl_error *err)
{
    char *line;
    size_t len;
    int got = rl_lines_next(r, &line, &len, err);
    if (got < 0) return err ? err->code : RL_ERR_FORMAT;
    if (got == 0)
        return rl_fail(err, RL_ERR_FORMAT, "%s: empty; expected a header line 'id<TAB>label<TAB>...'", r->path);
    for (int k = 0; k < NCOLS; k++)
        h->col[k] = -1;
    h->nfields = 0;
    for (char *f = line; f; h->nfields++) { /* fields as the rows split them: empty ones count */
        char *tab = strchr(f, '\t');
        if (tab) *tab = '\0';
        for (int k = 0; k < NCOLS; k++)
            if (!strcmp(f, col_names[k])) h->col[k] = h->nfields;
        f = tab ? tab + 1 : NULL;
    }
    for (int k = 0; k < COL_TRUTH; k++)
        if (h->col[k] < 0)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s:1: the header lacks the column '%s'; hint: write the table with relab clean --per-image",
                           r->path, col_names[k]);
    return RL_OK;
}

/* Splits line at tabs into exactly n fields; 0 when the count differs. */
static int split_tabs(char *line, char **f, int n)
{
    int k = 0;
    for (char *p = line;; p++) {
        if (k == n) return 0;
        f[k++] = p;
        p = strchr(p, '\t');
        if (!p) return k == n;
        *p = '\0';
    }
}

/* Grows the per-class arrays to hold class c. */
static rl_status need_class(rl_cleaning *c, int32_t cls, rl_error *err)
{
    if (cls < c->num_classes) return RL_OK;
    int n = cls + 1;
    int64_t *a = realloc(c->per_class_total, (size_t)n * sizeof *a), *b;
    if (a) c->per_class_total = a;
    b = a ? realloc(c->per_class_flagged, (size_t)n * sizeof *b) : NULL;
    if (b) c->per_class_flagged = b;
    int64_t *d = b ? realloc(c->per_class_flagged_noisy, (size_t)n * sizeof *d) : NULL;
    if (d) c->per_class_flagged_noisy = d;
    if (!d) return rl_fail(err, RL_ERR_NOMEM, "out of memory for %d classes", n);
    for (int k = c->num_classes; k < n; k++)
        a[k] = b[k] = d[k] = 0;
    c->num_classes = n;
    return RL_OK;
}

static rl_status table_row(rl_cleaning *c, const header *h, char **f, const char *where, size_t *cap, rl_error *err)
{
    rl_cleaning_image im = {0};
    double p;
    long long agrees;
    im.label = parse_class(f[h->col[COL_LABEL]]);
    im.teacher = parse_class(f[h->col[COL_TEACHER]]);
    if (im.label < 0 || im.teacher < 0)
        return rl_fail(err, RL_ERR_FORMAT, "%s: label '%s' or teacher '%s' is not a class index 0..%d", where,
                       f[h->col[COL_LABEL]], f[h->col[COL_TEACHER]], RL_MAX_CLASSES - 1);
    if (!rl_kv_double(f[h->col[COL_PROB]], &p) || !(p >= 0.0 && p <= 1.0))
        return rl_fail(err, RL_ERR_FORMAT, "%s: teacher_prob '%s' is not a probability", where, f[h->col[COL_PROB]]);
    if (!rl_kv_int64(f[h->col[COL_AGREES]], &agrees) || (agrees != 0 && agrees != 1))
        return rl_fail(err, RL_ERR_FORMAT, "%s: agrees '%s' is not 0 or 1", where, f[h->col[COL_AGREES]]);
    size_t idlen = strlen(f[h->col[COL_ID]]);
    if (!idlen || idlen >= RL_LIST_PATH_MAX)
        return rl_fail(err, RL_ERR_FORMAT, "%s: the id must be 1 to %d bytes (a label list's path), found %zu", where,
                       RL_LIST_PATH_MAX - 1, idlen);
    const char *truth = h->col[COL_TRUTH] >= 0 ? f[h->col[COL_TRUTH]] : "";
    int has_truth = truth[0] != '\0';
    if (c->total == 0) c->has_truth = has_truth;
    if (has_truth != c->has_truth)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: the truth column is %s here but %s on the first row; hint: a noise "
                       "record gives every row its truth",
                       where, has_truth ? "set" : "empty", has_truth ? "empty" : "set");
    im.truth = has_truth ? parse_class(truth) : -1;
    if (has_truth && im.truth < 0)
        return rl_fail(err, RL_ERR_FORMAT, "%s: truth '%s' is not a class index", where, truth);
    im.prob = (float)p;
    im.flagged = agrees == 0;
    im.row = c->total;
    int32_t top = im.label > im.teacher ? im.label : im.teacher;
    rl_status st = need_class(c, top > im.truth ? top : im.truth, err);
    if (st) return st;
    c->total++;
    c->per_class_total[im.label]++;
    c->per_class_flagged[im.label] += im.flagged;
    c->flagged += im.flagged;
    int noisy = has_truth && im.truth != im.label;
    c->noisy += noisy;
    c->flagged_noisy += noisy && im.flagged;
    c->per_class_flagged_noisy[im.label] += noisy && im.flagged;
    if (!im.flagged && !noisy) return RL_OK;
    if (rl_grow(&c->images, cap, (size_t)c->nimages + 1, sizeof *c->images) || !(im.id = strdup(f[h->col[COL_ID]])))
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", where);
    c->images[c->nimages++] = im;
    return RL_OK;
}

static rl_status read_table(const char *path, rl_cleaning *c, rl_error *err)
{
    rl_lines r;
    rl_status st = rl_lines_open(&r, path, "per-image table", 0, err);
    if (st) return st;
    header h = {{0}, 0};
    char **f = NULL, *line, where[4200];
    size_t len, cap = 0;
    int got = 0;
    if (!(st = read_header(&r, &h, err)) && !(f = malloc((size_t)h.nfields * sizeof *f)))
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    while (!st && (got = rl_lines_next(&r, &line, &len, err)) > 0) {
        snprintf(where, sizeof where, "%s:%ld", path, r.lineno);
        if (!split_tabs(line, f, h.nfields))
            st = rl_fail(err, RL_ERR_FORMAT, "%s: expected %d tab-separated fields like the header", where, h.nfields);
        else
            st = table_row(c, &h, f, where, &cap, err);
    }
    if (!st && got < 0) st = err ? err->code : RL_ERR_FORMAT;
    if (!st && c->total == 0) st = rl_fail(err, RL_ERR_FORMAT, "%s: no rows after the header", path);
    if (!st && !c->has_truth) {
        free(c->per_class_flagged_noisy);
        c->per_class_flagged_noisy = NULL;
    }
    free(f);
    rl_lines_close(&r);
    c->has_images = !st;
    return st;
}

/* ---- pairs ---- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The most frequent (label, teacher) among the flagged images, by count
 * (descending) then key (ascending): the order of relab clean's report. */
static rl_status table_pairs(rl_cleaning *c, rl_error *err)
{
    int64_t *keys = malloc((size_t)(c->nimages ? c->nimages : 1) * sizeof *keys), n = 0;
    if (!keys) return rl_fail(err, RL_ERR_NOMEM, "out of memory for the label pairs");
    for (int64_t i = 0; i < c->nimages; i++)
        if (c->images[i].flagged) keys[n++] = (int64_t)c->images[i].label * c->num_classes + c->images[i].teacher;
    qsort(keys, (size_t)n, sizeof *keys, cmp_i64);
    c->npairs = 0;
    for (int64_t a = 0, b; a < n; a = b) {
        for (b = a; b < n && keys[b] == keys[a];)
            b++;
        int pos = c->npairs;
        while (pos > 0 && c->pair_count[pos - 1] < b - a)
            pos--;
        if (pos == RL_CLEANING_PAIRS) continue;
        int last = c->npairs < RL_CLEANING_PAIRS ? c->npairs++ : RL_CLEANING_PAIRS - 1;
        for (int q = last; q > pos; q--) {
            c->pair_count[q] = c->pair_count[q - 1];
            c->pair_label[q] = c->pair_label[q - 1];
            c->pair_teacher[q] = c->pair_teacher[q - 1];
        }
        c->pair_count[pos] = b - a;
        c->pair_label[pos] = (int32_t)(keys[a] / c->num_classes);
        c->pair_teacher[pos] = (int32_t)(keys[a] % c->num_classes);
    }
    free(keys);
    return RL_OK;
}

/* ---- the JSON report ---- */

static int json_count(json_t *o, const char *key, int64_t *out)
{
    json_t *x = json_object_get(o, key);
    if (!json_is_integer(x) || json_integer_value(x) < 0) return 0;
    *out = json_integer_value(x);
    return 1;
}

static rl_status json_classes(const char *path, json_t *top, const char *key, int64_t **out, int *n, rl_error *err)
{
    json_t *a = json_object_get(top, key), *x;
    if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > RL_MAX_CLASSES ||
        (*n && json_array_size(a) != (size_t)*n))
        return rl_fail(err, RL_ERR_FORMAT, "%s: \"%s\" must be a list of one count per class%s", path, key,
                       *n ? " (as long as the other)" : "");
    *n = (int)json_array_size(a);
    if (!(*out = calloc((size_t)*n, sizeof **out))) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    size_t i;
    json_array_foreach(a, i, x)
    {
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return rl_fail(err, RL_ERR_FORMAT, "%s: \"%s\"[%zu] is not a count", path, key, i);
        (*out)[i] = json_integer_value(x);
    }
    return RL_OK;
}

static rl_status json_pairs(const char *path, json_t *top, rl_cleaning *c, rl_error *err)
{
    json_t *a = json_object_get(top, "top_pairs"), *x;
    if (!json_is_array(a) || json_array_size(a) > RL_CLEANING_PAIRS)
        return rl_fail(err, RL_ERR_FORMAT, "%s: \"top_pairs\" must be a list of at most %d pairs", path,
                       RL_CLEANING_PAIRS);
    size_t i;
    json_array_foreach(a, i, x)
    {
        int64_t l, t, k;
        if (!json_count(x, "label", &l) || !json_count(x, "teacher", &t) || !json_count(x, "count", &k) ||
            l >= c->num_classes || t >= c->num_classes)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s: \"top_pairs\"[%zu] needs \"label\" and \"teacher\" below %d and a "
                           "\"count\"",
                           path, i, c->num_classes);
        c->pair_label[i] = (int32_t)l;
        c->pair_teacher[i] = (int32_t)t;
        c->pair_count[i] = k;
    }
    c->npairs = (int)json_array_size(a);
    return RL_OK;
}

typedef struct {
    char rule[32], mode[16];
    int64_t total, flagged, changed, hit;
    int has_noise;
} json_facts;

/* Reads the facts; with fill, also the per-class counts and pairs into c. */
static rl_status read_json(const char *path, rl_cleaning *c, int fill, json_facts *j, rl_error *err)
{
    char *text;
    rl_status st = rl_kv_read_file(path, "clean report", JSON_MAX_BYTES, &text, err);
    if (st) return st;
    json_error_t je;
    json_t *top = json_loads(text, 0, &je), *noise;
    free(text);
    if (!top) return rl_fail(err, RL_ERR_FORMAT, "%s:%d:%d: not valid JSON: %s", path, je.line, je.column, je.text);
    const char *rule = json_string_value(json_object_get(top, "rule"));
    const char *mode = json_string_value(json_object_get(top, "mode"));
    noise = json_object_get(top, "noise");
    if (!json_is_object(top) || !rule || !mode || strlen(rule) >= sizeof j->rule || strlen(mode) >= sizeof j->mode ||
        !json_count(top, "total", &j->total) || !json_count(top, "flagged", &j->flagged) || j->flagged > j->total)
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: expected relab clean's JSON report (\"rule\", \"mode\", \"total\", "
                     "\"flagged\" <= total, ...)",
                     path);
    else if (!json_is_null(noise) &&
             (!json_count(noise, "changed", &j->changed) || !json_count(noise, "hit", &j->hit) || j->hit > j->changed))
        st = rl_fail(err, RL_ERR_FORMAT, "%s: \"noise\" must be null or hold counts \"changed\" >= \"hit\"", path);
    if (!st) {
        snprintf(j->rule, sizeof j->rule, "%s", rule);
        snprintf(j->mode, sizeof j->mode, "%s", mode);
        j->has_noise = !json_is_null(noise);
    }
    if (!st && fill) {
        int n = 0;
        st = json_classes(path, top, "total_per_class", &c->per_class_total, &n, err);
        if (!st) st = json_classes(path, top, "flagged_per_class", &c->per_class_flagged, &n, err);
        c->num_classes = n;
        if (!st) st = json_pairs(path, top, c, err);
    }
    json_decref(top);
    return st;
}

rl_status rl_cleaning_read(const char *json_path, const char *tsv_path, rl_cleaning *c, rl_error *err)
{
    memset(c, 0, sizeof *c);
    json_facts j = {0};
    rl_status st = RL_OK;
    if (tsv_path && !(st = read_table(tsv_path, c, err))) st = table_pairs(c, err);
    if (!st && json_path) st = read_json(json_path, c, !tsv_path, &j, err);
    if (!st && json_path) {
        snprintf(c->rule, sizeof c->rule, "%s", j.rule);
        snprintf(c->mode, sizeof c->mode, "%s", j.mode);
        if (!tsv_path) {
            c->total = j.total;
            c->flagged = j.flagged;
            c->has_truth = j.has_noise;
            c->noisy = j.changed;
            c->flagged_noisy = j.hit;
        } else if (j.total != c->total || j.flagged != c->flagged ||
                   (j.has_noise && c->has_truth && (j.changed != c->noisy || j.hit != c->flagged_noisy)))
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s and %s describe different cleanings (%lld samples, %lld flagged against %lld, %lld); "
                         "hint: give the report and table of the same relab clean",
                         json_path, tsv_path, (long long)j.total, (long long)j.flagged, (long long)c->total,
                         (long long)c->flagged);
    }
    if (!st && !json_path && !tsv_path) st = rl_fail(err, RL_ERR_ARG, "no cleaning report or per-image table given");
    if (st) rl_cleaning_free(c);
    return st;
}

/* ---- the gallery ---- */

static int in_section(const rl_cleaning *c, const rl_cleaning_image *im, rl_gallery_section s)
{
    int wrong = im->truth >= 0 && im->truth != im->label;
    switch (s) {
    case RL_GALLERY_FLAGGED_WRONG: return im->flagged && (!c->has_truth || wrong);
    case RL_GALLERY_FLAGGED_RIGHT: return im->flagged && c->has_truth && !wrong;
    case RL_GALLERY_MISSED: return !im->flagged && wrong;
    default: return 0;
    }
}

typedef struct {
    int64_t i; /* index into c->images */
    float prob;
    int64_t row;
    int64_t rank;        /* position among the candidates of its class */
    int64_t class_first; /* position of its class's most confident candidate */
} cand;

static int by_confidence(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->prob != y->prob) return x->prob > y->prob ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int by_round(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return (x->class_first > y->class_first) - (x->class_first < y->class_first);
}

int64_t rl_cleaning_gallery(const rl_cleaning *c, rl_gallery_section s, int64_t cap, int64_t *pick, int64_t *available)
{
    int64_t n = 0;
    for (int64_t i = 0; i < c->nimages; i++)
        n += in_section(c, &c->images[i], s);
    *available = n;
    cand *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    int64_t *seen = calloc((size_t)(c->num_classes ? c->num_classes : 1), sizeof *seen);
    int64_t *first = malloc((size_t)(c->num_classes ? c->num_classes : 1) * sizeof *first);
    if (!v || !seen || !first) {
        free(v);
        free(seen);
        free(first);
        return -1;
    }
    n = 0;
    for (int64_t i = 0; i < c->nimages; i++)
        if (in_section(c, &c->images[i], s)) v[n++] = (cand){i, c->images[i].prob, c->images[i].row, 0, 0};
    qsort(v, (size_t)n, sizeof *v, by_confidence);
    for (int64_t q = 0; q < n; q++) {
        int32_t l = c->images[v[q].i].label;
        if (!seen[l]) first[l] = q;
        v[q].rank = seen[l]++;
        v[q].class_first = first[l];
    }
    qsort(v, (size_t)n, sizeof *v, by_round);
    int64_t k = n < cap ? n : cap;
    for (int64_t q = 0; q < k; q++)
        pick[q] = v[q].i;
    free(v);
    free(seen);
    free(first);
    return k;
}
