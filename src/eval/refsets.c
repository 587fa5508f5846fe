/* refsets.c: readers for ImageNet validation reference labels (see refsets.h).
 *
 * real.json is parsed by a small recursive-descent reader that accepts only
 * the grammar   top := '[' [ set (',' set)* ] ']' ;  set := '[' [ int (',' int)* ] ']'
 * with JSON whitespace between tokens, and reports line:column on anything
 * else.  A general JSON library would accept more than the data can mean. */
#include "eval/refsets.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/idmap.h"

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

/* Growable CSR builder. */
typedef struct {
    rl_sets s;
    int64_t cap_sets, cap_classes;
} sets_builder;

static int sb_push_class(sets_builder *b, int32_t c)
{
    /* The open set is entry n; its end is offsets[n+1]. */
    int64_t used = b->s.offsets[b->s.n + 1];
    if (used == b->cap_classes) {
        int64_t cap = b->cap_classes ? 2 * b->cap_classes : 1024;
        int32_t *p = realloc(b->s.classes, (size_t)cap * sizeof *p);
        if (!p) return -1;
        b->s.classes = p;
        b->cap_classes = cap;
    }
    b->s.classes[used] = c;
    b->s.offsets[b->s.n + 1]++;
    return 0;
}

/* Closes the open set and opens the next (offsets keeps room for n+2). */
static int sb_next_set(sets_builder *b)
{
    if (b->s.n + 3 > b->cap_sets) {
        int64_t cap = 2 * b->cap_sets;
        int64_t *p = realloc(b->s.offsets, (size_t)cap * sizeof *p);
        if (!p) return -1;
        b->s.offsets = p;
        b->cap_sets = cap;
    }
    b->s.n++;
    b->s.offsets[b->s.n + 1] = b->s.offsets[b->s.n];
    return 0;
}

/* ---- real.json ---- */

typedef struct {
    const char *path;
    const char *p;
    long line, col;
} json_cursor;

static void js_skip(json_cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r') {
        if (*c->p == '\n') {
            c->line++;
            c->col = 1;
        } else {
            c->col++;
        }
        c->p++;
    }
}

static rl_status js_error(json_cursor *c, const char *expected, rl_error *err)
{
    char found[16];
    if (!*c->p)
        snprintf(found, sizeof found, "end of file");
    else
        snprintf(found, sizeof found, "'%c'", isprint((unsigned char)*c->p) ? *c->p : '?');
    return rl_fail(err, RL_ERR_FORMAT,
                   "%s:%ld:%ld: expected %s, found %s (real.json must be a list of lists of class indices)", c->path,
                   c->line, c->col, expected, found);
}

static int js_eat(json_cursor *c, char ch)
{
    js_skip(c);
    if (*c->p != ch) return 0;
    c->p++;
    c->col++;
    return 1;
}

rl_status rl_real_read(const char *path, int num_classes, rl_sets *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return rl_fail(err, RL_ERR_IO, "%s: cannot open (%s); pass the ReaL labels file real.json", path,
                       strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? 2 * cap : 1 << 20;
            char *t = realloc(text, cap + 1);
            if (!t) {
                free(text);
                fclose(f);
                return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
            }
            text = t;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        return rl_fail(err, RL_ERR_IO, "%s: read error", path);
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        return rl_fail(err, RL_ERR_FORMAT, "%s: holds a NUL byte; not a JSON text file", path);
    }

    sets_builder b;
    memset(&b, 0, sizeof b);
    json_cursor c = {path, text, 1, 1};
    rl_status st = RL_OK;
    b.s.offsets = calloc(1024, sizeof *b.s.offsets);
    b.cap_sets = 1024;
    if (!b.s.offsets) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (!js_eat(&c, '[')) {
        st = js_error(&c, "'[' opening the list of images", err);
        goto done;
    }
    if (!js_eat(&c, ']')) {
        for (;;) {
            if (!js_eat(&c, '[')) {
                st = js_error(&c, "'[' opening an image's label list", err);
                goto done;
            }
            if (!js_eat(&c, ']')) {
                for (;;) {
                    js_skip(&c);
                    if (!isdigit((unsigned char)*c.p)) {
                        st = js_error(&c, "a class index (non-negative integer)", err);
                        goto done;
                    }
                    long v = 0;
                    long col0 = c.col;
                    while (isdigit((unsigned char)*c.p)) {
                        if (v < 100000000) v = v * 10 + (*c.p - '0');
                        c.p++;
                        c.col++;
                    }
                    if (v >= num_classes) {
                        st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld:%ld: class index %ld outside [0, %d) (image %lld)",
                                     path, c.line, col0, v, num_classes, (long long)b.s.n + 1);
                        goto done;
                    }
                    if (sb_push_class(&b, (int32_t)v)) {
                        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
                        goto done;
                    }
                    if (js_eat(&c, ']')) break;
                    if (!js_eat(&c, ',')) {
                        st = js_error(&c, "',' or ']' in a label list", err);
                        goto done;
                    }
                }
            }
            if (sb_next_set(&b)) {
                st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
                goto done;
            }
            if (js_eat(&c, ']')) break;
            if (!js_eat(&c, ',')) {
                st = js_error(&c, "',' or ']' after an image's label list", err);
                goto done;
            }
        }
    }
    js_skip(&c);
    if (*c.p) st = js_error(&c, "end of file after the list", err);
done:
    free(text);
    if (st) {
        rl_sets_free(&b.s);
        return st;
    }
    *out = b.s;
    return RL_OK;
}

/* ---- text lines ---- */

/* Reads one line without its LF/CRLF; returns length or -1 at EOF. */
static long read_line(FILE *f, char **buf, size_t *cap)
{
    ssize_t n = getline(buf, cap, f);
    if (n < 0) return -1;
    while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r')) (*buf)[--n] = '\0';
    return (long)n;
}

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
            while (*r && *r != ',') *w++ = *r++;
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
    while (*s == ' ') s++;
    while (*s) {
        if (!isdigit((unsigned char)*s) || n == max) return -1;
        long v = 0;
        while (isdigit((unsigned char)*s)) {
            if (v < 100000000) v = v * 10 + (*s - '0');
            s++;
        }
        if (v >= num_classes) return -1;
        out[n++] = (int32_t)v;
        while (*s == ' ') s++;
        if (*s == ',') {
            s++;
            while (*s == ' ') s++;
            if (!*s) return -1;
        } else if (*s) {
            return -1;
        }
    }
    return n;
}

void rl_multilabel_free(rl_multilabel *m)
{
    if (!m) return;
    rl_sets_free(&m->ok);
    free(m->original);
    free(m->state);
    memset(m, 0, sizeof *m);
}

typedef struct {
    int64_t val;
    int32_t original;
    uint8_t problematic;
    int nok;
    int32_t ok[64];
} ml_row;

static int col_of(char **names, int n, const char *want)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], want)) return i;
    return -1;
}

rl_status rl_multilabel_read(const char *path, int num_classes, rl_multilabel *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f)
        return rl_fail(err, RL_ERR_IO, "%s: cannot open (%s); pass the multi-label CSV (multilabel.csv)", path,
                       strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    char *fields[16];
    ml_row *rows = NULL;
    int64_t nrows = 0, caprows = 0, maxval = -1;
    rl_status st = RL_OK;
    long lineno = 1;
    int ci, co, cc, cu, cp, nf;
    if (read_line(f, &line, &cap) < 0 || (nf = csv_split(line, fields, 16)) < 0 ||
        (ci = col_of(fields, nf, "id")) < 0 || (co = col_of(fields, nf, "original_label")) < 0 ||
        (cc = col_of(fields, nf, "proposed_labels")) < 0 || (cu = col_of(fields, nf, "unclear_multi_labels")) < 0 ||
        (cp = col_of(fields, nf, "is_problematic")) < 0) {
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s:1: header must name the columns id, original_label, proposed_labels, "
                     "unclear_multi_labels, is_problematic (the TFDS imagenet2012_multilabel CSV export)",
                     path);
        goto done;
    }
    int ncols = nf;
    while (read_line(f, &line, &cap) >= 0) {
        lineno++;
        if (!line[0]) continue;
        if ((nf = csv_split(line, fields, 16)) != ncols) {
            if (nf < 0)
                st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: unbalanced quotes or too many fields (truncated file?)", path,
                             lineno);
            else
                st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: expected %d CSV fields as in the header, found %d", path,
                             lineno, ncols, nf);
            goto done;
        }
        if (nrows == caprows) {
            caprows = caprows ? 2 * caprows : 4096;
            ml_row *r = realloc(rows, (size_t)caprows * sizeof *r);
            if (!r) {
                st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
                goto done;
            }
            rows = r;
        }
        ml_row *r = &rows[nrows];
        r->val = rl_imagenet_val_index(fields[ci]);
        int32_t orig[1];
        int n1 = parse_class_list(fields[co], num_classes, orig, 1);
        int nc = parse_class_list(fields[cc], num_classes, r->ok, 64);
        int nu = nc >= 0 ? parse_class_list(fields[cu], num_classes, r->ok + nc, 64 - nc) : -1;
        const char *pr = fields[cp];
        if (r->val < 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: id '%.60s' is not ILSVRC2012_val_XXXXXXXX.JPEG", path, lineno,
                         fields[ci]);
            goto done;
        }
        if (n1 != 1 || nc < 0 || nu < 0) {
            st = rl_fail(
                err, RL_ERR_FORMAT,
                "%s:%ld: label fields must be class indices in [0, %d) separated by \", \" (one original label)", path,
                lineno, num_classes);
            goto done;
        }
        if (strcmp(pr, "True") && strcmp(pr, "False")) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: is_problematic is '%.20s', expected True or False", path, lineno,
                         pr);
            goto done;
        }
        r->original = orig[0];
        r->nok = nc + nu;
        r->problematic = pr[0] == 'T';
        if (r->val > maxval) maxval = r->val;
        nrows++;
    }
    if (!nrows) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: no data rows", path);
        goto done;
    }
    /* Scatter rows into per-image arrays indexed by validation index. */
    int64_t n = maxval + 1;
    out->n = n;
    out->original = malloc((size_t)n * sizeof *out->original);
    out->state = calloc((size_t)n, 1);
    out->ok.n = n;
    out->ok.offsets = calloc((size_t)n + 1, sizeof *out->ok.offsets);
    int64_t total = 0;
    for (int64_t i = 0; i < nrows; i++) total += rows[i].nok;
    out->ok.classes = malloc((size_t)(total ? total : 1) * sizeof *out->ok.classes);
    int64_t *where = malloc((size_t)n * sizeof *where);
    if (!out->original || !out->state || !out->ok.offsets || !out->ok.classes || !where) {
        free(where);
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int64_t v = 0; v < n; v++) {
        out->original[v] = -1;
        where[v] = -1;
    }
    for (int64_t i = 0; i < nrows; i++) {
        if (where[rows[i].val] >= 0) {
            free(where);
            st = rl_fail(err, RL_ERR_FORMAT, "%s: image ILSVRC2012_val_%08lld.JPEG appears twice", path,
                         (long long)rows[i].val + 1);
            goto done;
        }
        where[rows[i].val] = i;
    }
    for (int64_t v = 0; v < n; v++) {
        out->ok.offsets[v + 1] = out->ok.offsets[v];
        if (where[v] < 0) continue;
        const ml_row *r = &rows[where[v]];
        out->original[v] = r->original;
        out->state[v] = r->problematic ? RL_ML_PROBLEMATIC : RL_ML_OK;
        out->annotated++;
        out->problematic += r->problematic;
        memcpy(out->ok.classes + out->ok.offsets[v], r->ok, (size_t)r->nok * sizeof *r->ok);
        out->ok.offsets[v + 1] += r->nok;
    }
    free(where);
done:
    free(rows);
    free(line);
    fclose(f);
    if (st) rl_multilabel_free(out);
    return st;
}

/* ---- groups.tsv, classes.tsv, wnid labels ---- */

void rl_groups_free(rl_groups *g)
{
    if (!g) return;
    free(g->group_of);
    memset(g, 0, sizeof *g);
}

rl_status rl_groups_read(const char *path, int num_classes, rl_groups *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f)
        return rl_fail(err, RL_ERR_IO, "%s: cannot open (%s); pass groups.tsv (index, wnid, group)", path,
                       strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    rl_status st = RL_OK;
    long lineno = 0;
    out->num_classes = num_classes;
    out->group_of = malloc((size_t)num_classes);
    if (!out->group_of) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    memset(out->group_of, -1, (size_t)num_classes);
    while (read_line(f, &line, &cap) >= 0) {
        lineno++;
        if (lineno == 1 && !strncmp(line, "index\t", 6)) continue;
        if (!line[0]) continue;
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        char *end;
        long idx = strtol(line, &end, 10);
        if (!t2 || end != t1 || end == line || idx < 0 || idx >= num_classes || !t2[1] || strchr(t2 + 1, '\t') ||
            strlen(t2 + 1) >= sizeof out->names[0]) {
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s:%ld: expected 'index<TAB>wnid<TAB>group' with index in [0, %d) and a short group name",
                         path, lineno, num_classes);
            goto done;
        }
        if (out->group_of[idx] >= 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: class %ld listed twice", path, lineno, idx);
            goto done;
        }
        const char *name = t2 + 1;
        int g = 0;
        while (g < out->ngroups && strcmp(out->names[g], name)) g++;
        if (g == out->ngroups) {
            if (g == RL_MAX_GROUPS) {
                st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: more than %d groups", path, lineno, RL_MAX_GROUPS);
                goto done;
            }
            strcpy(out->names[g], name);
            out->ngroups++;
        }
        out->group_of[idx] = (int8_t)g;
    }
    if (!out->ngroups) st = rl_fail(err, RL_ERR_FORMAT, "%s: no groups found", path);
done:
    free(line);
    fclose(f);
    if (st) rl_groups_free(out);
    return st;
}

rl_status rl_wnid_labels_read(const char *labels_path, const char *classes_path, int32_t **labels, int64_t *n,
                              rl_error *err)
{
    *labels = NULL;
    *n = 0;
    FILE *f = fopen(classes_path, "r");
    if (!f)
        return rl_fail(err, RL_ERR_IO, "%s: cannot open (%s); pass classes.tsv (index, wnid, name)", classes_path,
                       strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    char **wnids = NULL;
    int32_t *lab = NULL;
    int64_t nw = 0, capw = 0, nl = 0, capl = 0;
    rl_status st = RL_OK;
    long lineno = 0;
    rl_idmap map;
    memset(&map, 0, sizeof map);
    while (read_line(f, &line, &cap) >= 0) {
        lineno++;
        if (lineno == 1 && !strncmp(line, "index\t", 6)) continue;
        if (!line[0]) continue;
        char *t1 = strchr(line, '\t');
        char *end;
        long idx = strtol(line, &end, 10);
        if (!t1 || end != t1 || idx != nw) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: expected 'index<TAB>wnid<TAB>name' with index %lld (in order)",
                         classes_path, lineno, (long long)nw);
            goto done;
        }
        char *t2 = strchr(t1 + 1, '\t');
        if (t2) *t2 = '\0';
        if (nw == capw) {
            capw = capw ? 2 * capw : 1024;
            char **w = realloc(wnids, (size_t)capw * sizeof *w);
            if (!w) {
                st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", classes_path);
                goto done;
            }
            wnids = w;
        }
        if (!(wnids[nw] = strdup(t1 + 1))) {
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", classes_path);
            goto done;
        }
        nw++;
    }
    fclose(f);
    f = NULL;
    if (!nw) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: no classes", classes_path);
        goto done;
    }
    if ((st = rl_idmap_init(&map, nw, err))) goto done;
    for (int64_t i = 0; i < nw; i++)
        if (rl_idmap_put(&map, wnids[i], i) >= 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: wnid '%s' appears twice", classes_path, wnids[i]);
            goto done;
        }
    if (!(f = fopen(labels_path, "r"))) {
        st = rl_fail(err, RL_ERR_IO, "%s: cannot open (%s); pass a label file with one wnid per line", labels_path,
                     strerror(errno));
        goto done;
    }
    lineno = 0;
    while (read_line(f, &line, &cap) >= 0) {
        lineno++;
        int64_t c = rl_idmap_get(&map, line);
        if (c < 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: '%.40s' is not a wnid listed in %s", labels_path, lineno, line,
                         classes_path);
            goto done;
        }
        if (nl == capl) {
            capl = capl ? 2 * capl : 65536;
            int32_t *l = realloc(lab, (size_t)capl * sizeof *l);
            if (!l) {
                st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", labels_path);
                goto done;
            }
            lab = l;
        }
        lab[nl++] = (int32_t)c;
    }
    if (!nl) st = rl_fail(err, RL_ERR_FORMAT, "%s: no labels", labels_path);
done:
    if (f) fclose(f);
    free(line);
    rl_idmap_free(&map);
    for (int64_t i = 0; i < nw; i++) free(wnids[i]);
    free(wnids);
    if (st) {
        free(lab);
        return st;
    }
    *labels = lab;
    *n = nl;
    return RL_OK;
}
