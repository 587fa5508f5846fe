/* refsets.c: readers for ImageNet validation reference labels (see refsets.h).
 *
 * real.json is parsed by Jansson (any valid JSON text: whitespace, line ends
 * and number spelling are free) and then checked for the one shape it may
 * have: a list of at most 50,000 lists of distinct class indices.  The text
 * files go through util/text.h's bounded line reader. */
#include "eval/refsets.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/idmap.h"
#include "util/text.h"

int64_t rl_imagenet_val_index(const char *id)
{
    const char *base = strrchr(id, '/');
    base = base ? base + 1 : id;
    static const char prefix[] = "ILSVRC2012_val_";
    size_t np = sizeof prefix - 1;
    if (strncmp(base, prefix, np) || strlen(base) != np + 8 + 5 || strcmp(base + np + 8, ".JPEG")) return -1;
    int64_t v = 0;
    for (size_t i = np; i < np + 8; i++) {
        if (!isdigit((unsigned char)base[i])) return -1;
        v = v * 10 + (base[i] - '0');
    }
    return v >= 1 && v <= RL_IMAGENET_VAL_COUNT ? v - 1 : -1;
}

void rl_sets_free(rl_sets *s)
{
    if (!s) return;
    free(s->offsets);
    free(s->classes);
    memset(s, 0, sizeof *s);
}

/* ---- real.json ---- */

/* Line and column of entry j of image i, for messages.  The text is already
 * known to be a list of lists of numbers, so counting brackets and commas is
 * enough to find it. */
static void locate(const char *t, size_t i, size_t j, long *line, long *col)
{
    long ln = 1, cl = 1;
    size_t img = 0, ent = 0;
    int depth = 0, in_token = 0;
    for (; *t; t++) {
        char ch = *t;
        if (ch == '[' && ++depth == 2) ent = 0;
        if (ch == ']' && depth-- == 2) img++;
        if (ch == ',' && depth == 2) ent++;
        int token = !strchr("[], \t\r\n", ch);
        if (token && !in_token && depth == 2 && img == i && ent == j) break;
        in_token = token;
        if (ch == '\n')
            ln++, cl = 1;
        else
            cl++;
    }
    *line = ln;
    *col = cl;
}

/* Checks the parsed document's shape and copies it into out (CSR).  Classes
 * of one image must be distinct: seen[c] holds the last image that had c. */
static rl_status real_from_json(const json_t *top, const char *text, const char *path, int num_classes, rl_sets *out,
                                rl_error *err)
{
    static const char shape[] = "real.json must be a list of lists of class indices";
    if (!json_is_array(top)) return rl_fail(err, RL_ERR_FORMAT, "%s: the top level is not a list; %s", path, shape);
    size_t n = json_array_size(top), total = 0;
    if (n == 0 || n > RL_IMAGENET_VAL_COUNT)
        return rl_fail(err, RL_ERR_FORMAT, "%s: %zu images, expected 1..%d (one list per validation image)", path, n,
                       RL_IMAGENET_VAL_COUNT);
    for (size_t i = 0; i < n; i++) {
        const json_t *set = json_array_get(top, i);
        if (!json_is_array(set))
            return rl_fail(err, RL_ERR_FORMAT, "%s: image %zu: not a list of class indices; %s", path, i + 1, shape);
        total += json_array_size(set);
    }
    out->n = (int64_t)n;
    out->offsets = calloc(n + 1, sizeof *out->offsets);
    out->classes = malloc((total ? total : 1) * sizeof *out->classes);
    int64_t *seen = malloc((size_t)num_classes * sizeof *seen);
    if (!out->offsets || !out->classes || !seen) {
        free(seen);
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for %zu labels", path, total);
    }
    for (int c = 0; c < num_classes; c++)
        seen[c] = -1;
    rl_status st = RL_OK;
    size_t k = 0;
    for (size_t i = 0; i < n && !st; i++) {
        const json_t *set = json_array_get(top, i);
        for (size_t j = 0; j < json_array_size(set) && !st; j++) {
            const json_t *v = json_array_get(set, j);
            json_int_t c = json_is_integer(v) ? json_integer_value(v) : -1;
            int bad = c < 0 || c >= num_classes, twice = !bad && seen[c] == (int64_t)i;
            if (bad || twice) {
                long line, col;
                char found[32] = "a non-integer";
                if (json_is_integer(v)) snprintf(found, sizeof found, "%lld", (long long)c);
                locate(text, i, j, &line, &col);
                st = twice ? rl_fail(err, RL_ERR_FORMAT, "%s:%ld:%ld: image %zu lists class %lld twice", path, line,
                                     col, i + 1, (long long)c)
                           : rl_fail(err, RL_ERR_FORMAT, "%s:%ld:%ld: image %zu: class index %s outside [0, %d); %s",
                                     path, line, col, i + 1, found, num_classes, shape);
            } else {
                seen[c] = (int64_t)i;
                out->classes[k++] = (int32_t)c;
            }
        }
        out->offsets[i + 1] = (int64_t)k;
    }
    free(seen);
    return st;
}

/* Reads at most limit bytes of path into a NUL-terminated buffer; a longer
 * file (or /dev/zero) is refused rather than read without end. */
static rl_status slurp(const char *path, size_t limit, char **out, size_t *len, rl_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rl_fail(err, RL_ERR_IO, "%s: cannot open (%s); pass the ReaL labels file real.json", path,
                       strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    rl_status st = RL_OK;
    for (;;) {
        if (rl_grow(&buf, &cap, n + 65536 + 1, 1)) {
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        size_t got = fread(buf + n, 1, 65536, f);
        if (memchr(buf + n, '\0', got)) { /* stop at once on /dev/zero or a binary file */
            st = rl_fail(err, RL_ERR_FORMAT, "%s: NUL byte at offset %zu; not a JSON text file", path,
                         n + (size_t)((char *)memchr(buf + n, '\0', got) - (buf + n)));
            break;
        }
        n += got;
        if (n > limit) {
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: larger than %zu MiB; real.json has about 1 MiB (is this the right "
                         "file?)",
                         path, limit >> 20);
            break;
        }
        if (got < 65536) {
            if (ferror(f)) st = rl_fail(err, RL_ERR_IO, "%s: read error (%s)", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return RL_OK;
}

rl_status rl_real_read(const char *path, int num_classes, rl_sets *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    rl_status st = slurp(path, RL_REAL_JSON_MAX, &text, &len, err);
    if (st) return st;
    json_error_t je;
    json_t *top = json_loadb(text, len, 0, &je);
    if (!top)
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s:%d:%d: not valid JSON: %s (real.json must be a list of lists of class indices)", path, je.line,
                     je.column, je.text);
    else
        st = real_from_json(top, text, path, num_classes, out, err);
    json_decref(top);
    free(text);
    if (st) rl_sets_free(out);
    return st;
}

/* ---- text lines ---- */

/* Splits a CSV line in place into at most max fields ("" quoting, RFC 4180
 * without embedded newlines).  Returns the field count or -1 on a bad quote. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *r = line;
    for (;;) {
        if (n == max) return -1;
        char *w = r;
        fields[n++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (!*r) return -1;
                if (*r == '"') {
                    if (r[1] == '"') {
                        *w++ = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                *w++ = *r++;
            }
            if (*r && *r != ',') return -1;
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        int more = *r == ',';
        *w = '\0';
        if (!more) return n;
        r++;
    }
}

/* Parses "3, 17, 5" (or "") into classes; returns count or -1 on bad text. */
static int parse_class_list(const char *s, int num_classes, int32_t *out, int max)
{
    int n = 0;
    while (*s == ' ')
        s++;
    while (*s) {
        if (!isdigit((unsigned char)*s) || n == max) return -1;
        long v = 0;
        while (isdigit((unsigned char)*s)) {
            if (v < 100000000) v = v * 10 + (*s - '0');
            s++;
        }
        if (v >= num_classes) return -1;
        out[n++] = (int32_t)v;
        while (*s == ' ')
            s++;
        if (*s == ',') {
            s++;
            while (*s == ' ')
                s++;
            if (!*s) return -1;
        } else if (*s) {
            return -1;
        }
    }
    return n;
}

const char *rl_ml_rule_name(rl_ml_rule r)
{
    return r == RL_ML_CORRECT_ONLY ? "correct" : "correct+unclear";
}

static int set_has(const rl_sets *s, int64_t v, int32_t c)
{
    for (int64_t q = s->offsets[v]; q < s->offsets[v + 1]; q++)
        if (s->classes[q] == c) return 1;
    return 0;
}

int rl_multilabel_hit(const rl_multilabel *m, int64_t v, int32_t c)
{
    return set_has(&m->correct, v, c) || (m->rule == RL_ML_CORRECT_UNCLEAR && set_has(&m->unclear, v, c));
}

void rl_multilabel_free(rl_multilabel *m)
{
    if (!m) return;
    rl_sets_free(&m->correct);
    rl_sets_free(&m->unclear);
    free(m->original);
    free(m->state);
    memset(m, 0, sizeof *m);
}

typedef struct {
    int64_t val;
    int32_t original;
    uint8_t problematic;
    int ncorrect, nunclear;
    int32_t labels[64]; /* the correct labels, then the unclear ones */
} ml_row;

static int col_of(char **names, int n, const char *want)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], want)) return i;
    return -1;
}

/* Column positions of the multi-label CSV, found by name in its header. */
typedef struct {
    int ncols, id, original, correct, unclear, problematic;
} ml_columns;

/* Reads the header line; the TFDS export names its columns, their order is free. */
static rl_status ml_read_header(rl_lines *f, const char *path, ml_columns *col, rl_error *err)
{
    char *line = NULL, *fields[16];
    size_t len;
    int nf, got = rl_lines_next(f, &line, &len, err);
    if (got < 0) return err ? err->code : RL_ERR_FORMAT;
    if (got == 0 || (nf = csv_split(line, fields, 16)) < 0 || (col->id = col_of(fields, nf, "id")) < 0 ||
        (col->original = col_of(fields, nf, "original_label")) < 0 ||
        (col->correct = col_of(fields, nf, "proposed_labels")) < 0 ||
        (col->unclear = col_of(fields, nf, "unclear_multi_labels")) < 0 ||
        (col->problematic = col_of(fields, nf, "is_problematic")) < 0)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s:1: header must name the columns id, original_label, proposed_labels, "
                       "unclear_multi_labels, is_problematic (the TFDS imagenet2012_multilabel CSV export)",
                       path);
    col->ncols = nf;
    return RL_OK;
}

/* Parses one data line (split in place) into r. */
static rl_status ml_parse_row(char *line, const ml_columns *col, int num_classes, const char *path, long lineno,
                              ml_row *r, rl_error *err)
{
    char *fields[16];
    int nf = csv_split(line, fields, 16);
    if (nf < 0)
        return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: unbalanced quotes or too many fields (truncated file?)", path,
                       lineno);
    if (nf != col->ncols)
        return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: expected %d CSV fields as in the header, found %d", path, lineno,
                       col->ncols, nf);
    r->val = rl_imagenet_val_index(fields[col->id]);
    int32_t orig[1];
    int n1 = parse_class_list(fields[col->original], num_classes, orig, 1);
    int nc = parse_class_list(fields[col->correct], num_classes, r->labels, 64);
    int nu = nc >= 0 ? parse_class_list(fields[col->unclear], num_classes, r->labels + nc, 64 - nc) : -1;
    const char *pr = fields[col->problematic];
    if (r->val < 0)
        return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: id '%.60s' is not ILSVRC2012_val_XXXXXXXX.JPEG", path, lineno,
                       fields[col->id]);
    if (n1 != 1 || nc < 0 || nu < 0)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s:%ld: label fields must be class indices in [0, %d) separated by \", \" (one original label)",
                       path, lineno, num_classes);
    if (strcmp(pr, "True") && strcmp(pr, "False"))
        return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: is_problematic is '%.20s', expected True or False", path, lineno,
                       pr);
    r->original = orig[0];
    r->ncorrect = nc;
    r->nunclear = nu;
    r->problematic = pr[0] == 'T';
    return RL_OK;
}

/* Scatters the rows (in file order) into out's per-image arrays indexed by
 * validation index 0..maxval; an image listed twice is refused. */
static rl_status ml_scatter(const ml_row *rows, int64_t nrows, int64_t maxval, const char *path, rl_multilabel *out,
                            rl_error *err)
{
    int64_t n = maxval + 1;
    out->n = n;
    out->original = malloc((size_t)n * sizeof *out->original);
    out->state = calloc((size_t)n, 1);
    out->correct.n = out->unclear.n = n;
    out->correct.offsets = calloc((size_t)n + 1, sizeof *out->correct.offsets);
    out->unclear.offsets = calloc((size_t)n + 1, sizeof *out->unclear.offsets);
    int64_t nc_total = 0, nu_total = 0;
    for (int64_t i = 0; i < nrows; i++) {
        nc_total += rows[i].ncorrect;
        nu_total += rows[i].nunclear;
    }
    out->correct.classes = malloc((size_t)(nc_total ? nc_total : 1) * sizeof *out->correct.classes);
    out->unclear.classes = malloc((size_t)(nu_total ? nu_total : 1) * sizeof *out->unclear.classes);
    int64_t *where = malloc((size_t)n * sizeof *where);
    rl_status st = RL_OK;
    if (!out->original || !out->state || !out->correct.offsets || !out->unclear.offsets || !out->correct.classes ||
        !out->unclear.classes || !where) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int64_t v = 0; v < n; v++) {
        out->original[v] = -1;
        where[v] = -1;
    }
    for (int64_t i = 0; i < nrows; i++) {
        if (where[rows[i].val] >= 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: image ILSVRC2012_val_%08lld.JPEG appears twice", path,
                         (long long)rows[i].val + 1);
            goto done;
        }
        where[rows[i].val] = i;
    }
    for (int64_t v = 0; v < n; v++) {
        int64_t *cof = out->correct.offsets, *uof = out->unclear.offsets;
        cof[v + 1] = cof[v];
        uof[v + 1] = uof[v];
        if (where[v] < 0) continue;
        const ml_row *r = &rows[where[v]];
        out->original[v] = r->original;
        out->state[v] = r->problematic ? RL_ML_PROBLEMATIC : RL_ML_OK;
        out->annotated++;
        out->problematic += r->problematic;
        memcpy(out->correct.classes + cof[v], r->labels, (size_t)r->ncorrect * sizeof *r->labels);
        memcpy(out->unclear.classes + uof[v], r->labels + r->ncorrect, (size_t)r->nunclear * sizeof *r->labels);
        cof[v + 1] += r->ncorrect;
        uof[v + 1] += r->nunclear;
    }
done:
    free(where);
    return st;
}

rl_status rl_multilabel_read(const char *path, int num_classes, rl_multilabel *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    rl_lines f;
    rl_status st = rl_lines_open(&f, path, "multi-label CSV", 0, err);
    if (st) return st;
    char *line = NULL;
    size_t len, caprows = 0;
    ml_row *rows = NULL;
    int64_t nrows = 0, maxval = -1;
    ml_columns col = {0};
    int got = 0;
    if ((st = ml_read_header(&f, path, &col, err))) goto done;
    while (!st && (got = rl_lines_next(&f, &line, &len, err)) > 0) {
        if (!line[0]) continue;
        if (rl_grow(&rows, &caprows, (size_t)nrows + 1, sizeof *rows))
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        else if (!(st = ml_parse_row(line, &col, num_classes, path, f.lineno, &rows[nrows], err))) {
            if (rows[nrows].val > maxval) maxval = rows[nrows].val;
            nrows++;
        }
    }
    if (st) goto done;
    if (got < 0)
        st = err ? err->code : RL_ERR_FORMAT;
    else if (!nrows)
        st = rl_fail(err, RL_ERR_FORMAT, "%s: no data rows", path);
    else
        st = ml_scatter(rows, nrows, maxval, path, out, err);
done:
    free(rows);
    rl_lines_close(&f);
    if (st) rl_multilabel_free(out);
    return st;
}

/* ---- groups.tsv, classes.tsv, wnid labels ---- */

void rl_groups_free(rl_groups *g)
{
    if (!g) return;
    free(g->member);
    memset(g, 0, sizeof *g);
}

/* The index of group name, created when new; -1 when there is no room. */
static int group_index(rl_groups *g, const char *name, size_t len)
{
    for (int k = 0; k < g->ngroups; k++)
        if (strlen(g->names[k]) == len && !strncmp(g->names[k], name, len)) return k;
    if (g->ngroups == RL_MAX_GROUPS) return -1;
    snprintf(g->names[g->ngroups], sizeof g->names[0], "%.*s", (int)len, name);
    return g->ngroups++;
}

/* Parses one "index<TAB>wnid<TAB>group" line into out. */
static rl_status groups_line(rl_groups *out, char *line, const char *path, long lineno, rl_error *err)
{
    char *t1 = strchr(line, '\t');
    char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    char *end;
    errno = 0;
    long idx = strtol(line, &end, 10);
    if (!t2 || end != t1 || end == line || errno || idx < 0 || idx >= out->num_classes || !t2[1] ||
        strchr(t2 + 1, '\t') || strlen(t2 + 1) >= sizeof out->names[0])
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s:%ld: expected 'index<TAB>wnid<TAB>group' with index in [0, %d) and a group name of at most "
                       "%zu bytes",
                       path, lineno, out->num_classes, sizeof out->names[0] - 1);
    const char *name = t2 + 1;
    int g = group_index(out, name, strlen(name));
    if (g < 0) return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: more than %d groups", path, lineno, RL_MAX_GROUPS);
    if (out->member[idx] >> g & 1u)
        return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: class %ld is listed in group '%s' twice", path, lineno, idx, name);
    out->member[idx] |= 1u << g;
    return RL_OK;
}

rl_status rl_groups_read(const char *path, int num_classes, rl_groups *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    rl_lines f;
    rl_status st = rl_lines_open(&f, path, "groups", 0, err);
    if (st) return st;
    out->num_classes = num_classes;
    out->member = calloc((size_t)num_classes, sizeof *out->member);
    if (!out->member) {
        rl_lines_close(&f);
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    }
    char *line;
    size_t len;
    int got;
    while ((got = rl_lines_next(&f, &line, &len, err)) > 0) {
        if (!len || line[0] == '#') continue;
        if (f.lineno == 1 && !isdigit((unsigned char)line[0])) continue; /* header, as in classes.tsv */
        if ((st = groups_line(out, line, path, f.lineno, err))) break;
    }
    if (!st && got < 0) st = err ? err->code : RL_ERR_FORMAT;
    if (!st && !out->ngroups) st = rl_fail(err, RL_ERR_FORMAT, "%s: no groups found", path);
    rl_lines_close(&f);
    if (st) rl_groups_free(out);
    return st;
}

rl_status rl_groups_add_union(rl_groups *g, const char *spec, rl_error *err)
{
    const char *eq = strchr(spec, '=');
    size_t nlen = eq ? (size_t)(eq - spec) : 0;
    if (!eq || !nlen || nlen >= sizeof g->names[0] || !eq[1] || memchr(spec, '+', nlen))
        return rl_fail(err, RL_ERR_ARG, "--group '%.100s': expected NAME=GROUP+GROUP... (e.g. organism=dog+animal)",
                       spec);
    uint32_t from = 0;
    for (const char *p = eq + 1; *p;) {
        size_t len = strcspn(p, "+");
        int k = 0;
        while (k < g->ngroups && !(strlen(g->names[k]) == len && !strncmp(g->names[k], p, len)))
            k++;
        if (!len || k == g->ngroups)
            return rl_fail(err, RL_ERR_ARG, "--group '%.100s': '%.*s' is not a group of the groups file", spec,
                           (int)len, p);
        from |= 1u << k;
        p += len + (p[len] == '+');
    }
    for (int k = 0; k < g->ngroups; k++)
        if (strlen(g->names[k]) == nlen && !strncmp(g->names[k], spec, nlen))
            return rl_fail(err, RL_ERR_ARG, "--group '%.100s': a group '%.*s' exists already", spec, (int)nlen, spec);
    int u = group_index(g, spec, nlen);
    if (u < 0) return rl_fail(err, RL_ERR_ARG, "--group '%.100s': more than %d groups", spec, RL_MAX_GROUPS);
    for (int c = 0; c < g->num_classes; c++)
        if (g->member[c] & from) g->member[c] |= 1u << u;
    return RL_OK;
}

rl_status rl_wnid_labels_read(const char *labels_path, const char *classes_path, int32_t **labels, int64_t *n,
                              rl_error *err)
{
    *labels = NULL;
    *n = 0;
    rl_classes cls;
    rl_status st = rl_classes_read(classes_path, &cls, err);
    if (st) return st;
    rl_idmap map;
    rl_lines f;
    memset(&f, 0, sizeof f);
    int32_t *lab = NULL;
    size_t capl = 0, len;
    int64_t nl = 0;
    if ((st = rl_idmap_init(&map, cls.n, err))) goto done;
    for (int i = 0; i < cls.n; i++)
        rl_idmap_put(&map, cls.wnid[i], i); /* distinct: rl_classes_read checked */
    if ((st = rl_lines_open(&f, labels_path, "wnid labels", 0, err))) goto done;
    char *line;
    int got;
    while ((got = rl_lines_next(&f, &line, &len, err)) > 0) {
        int64_t c = rl_idmap_get(&map, line);
        if (c < 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: '%.40s' is not a wnid listed in %s", labels_path, f.lineno, line,
                         classes_path);
            goto done;
        }
        if (rl_grow(&lab, &capl, (size_t)nl + 1, sizeof *lab)) {
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", labels_path);
            goto done;
        }
        lab[nl++] = (int32_t)c;
    }
    if (got < 0) st = err ? err->code : RL_ERR_FORMAT;
    if (!st && !nl) st = rl_fail(err, RL_ERR_FORMAT, "%s: no labels", labels_path);
done:
    rl_lines_close(&f);
    rl_idmap_free(&map);
    rl_classes_free(&cls);
    if (st) {
        free(lab);
        return st;
    }
    *labels = lab;
    *n = nl;
    return RL_OK;
}
