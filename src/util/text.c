/* text.c: bounded line reader, growable arrays, classes.tsv (see text.h).
 *
 * The reader fills a 64 kB buffer with fread and cuts lines with memchr, so a
 * file is read in large blocks whatever its line lengths; each line is copied
 * once into the line buffer, which grows up to the limit and no further.
 */
#include "util/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RL_LINES_CHUNK 65536

int rl_grow(void *data, size_t *cap, size_t need, size_t elem)
{
    void **p = data;
    if (need <= *cap) return 0;
    size_t ncap = *cap + *cap / 2 + 16;
    if (ncap < need) ncap = need;
    if (elem && ncap > SIZE_MAX / elem) return -1;
    void *q = realloc(*p, ncap * elem);
    if (!q) return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

size_t rl_utf8_check(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned min;
        if (c >= 0xc2 && c <= 0xdf)
            k = 1, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, min = 0x10000;
        else
            return i + 1;
        if (n - i <= k) return i + 1;
        unsigned v = c & (0x3f >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((u[i + j] & 0xc0) != 0x80) return i + 1;
            v = (v << 6) | (u[i + j] & 0x3f);
        }
        /* overlong forms, UTF-16 surrogates and code points past U+10FFFF */
        if (v < min || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) return i + 1;
        i += k + 1;
    }
    return 0;
}

rl_status rl_lines_open(rl_lines *r, const char *path, const char *what, size_t max, rl_error *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->max = max ? max : RL_LINE_MAX;
    r->f = fopen(path, "rb");
    if (!r->f) return rl_fail(err, RL_ERR_IO, "%s: cannot open the %s (%s)", path, what, strerror(errno));
    struct stat sb;
    if (fstat(fileno(r->f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rl_lines_close(r);
        return rl_fail(err, RL_ERR_IO, "%s: is a folder, not a %s file; hint: give the file's path", path, what);
    }
    r->buf = malloc(RL_LINES_CHUNK);
    r->cap = 256;
    r->line = malloc(r->cap);
    if (!r->buf || !r->line) {
        rl_lines_close(r);
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    }
    return RL_OK;
}

int rl_lines_next_id(rl_lines *r, char **id, rl_error *err)
{
    size_t len;
    int got;
    while ((got = rl_lines_next(r, id, &len, err)) > 0) {
        (*id)[strcspn(*id, "\t")] = '\0';
        if ((*id)[0] && (*id)[0] != '#') break;
    }
    return got;
}

void rl_lines_close(rl_lines *r)
{
    if (r->f) fclose(r->f);
    free(r->buf);
    free(r->line);
    r->f = NULL;
    r->buf = NULL;
    r->line = NULL;
}

/* Appends b[0..n) to the line, refusing to pass the limit. */
static int append(rl_lines *r, size_t *len, const unsigned char *b, size_t n, rl_error *err)
{
    const unsigned char *nul = memchr(b, '\0', n);
    if (nul) { /* checked here, not per line, so /dev/zero stops at its first byte */
        rl_fail(err, RL_ERR_FORMAT, "%s:%ld: NUL byte at column %zu; hint: is this a text file?", r->path, r->lineno,
                *len + (size_t)(nul - b) + 1);
        return -1;
    }
    if (*len + n > r->max + 1) { /* +1: the '\r' of a CRLF may still follow */
        rl_fail(err, RL_ERR_FORMAT,
                "%s:%ld: line longer than %zu bytes (relab's limit for a text line); hint: is this the right file?",
                r->path, r->lineno, r->max);
        return -1;
    }
    if (rl_grow(&r->line, &r->cap, *len + n + 1, 1)) {
        rl_fail(err, RL_ERR_NOMEM, "%s:%ld: out of memory for a line of %zu bytes", r->path, r->lineno, *len + n);
        return -1;
    }
    memcpy(r->line + *len, b, n);
    *len += n;
    return 0;
}

/* Checks a complete line (line end removed). */
static int check_line(rl_lines *r, size_t len, rl_error *err)
{
    const char *cr = memchr(r->line, '\r', len);
    if (cr) {
        rl_fail(err, RL_ERR_FORMAT,
                "%s:%ld: carriage return at column %zu inside a line; hint: lines end in LF or CRLF (old Mac "
                "files end in CR alone: convert them)",
                r->path, r->lineno, (size_t)(cr - r->line) + 1);
        return -1;
    }
    if (len > r->max) {
        rl_fail(err, RL_ERR_FORMAT, "%s:%ld: line longer than %zu bytes (relab's limit for a text line)", r->path,
                r->lineno, r->max);
        return -1;
    }
    size_t bad = rl_utf8_check(r->line, len);
    if (bad) {
        rl_fail(err, RL_ERR_FORMAT, "%s:%ld: byte 0x%02x at column %zu is not UTF-8; hint: save the file as UTF-8",
                r->path, r->lineno, (unsigned char)r->line[bad - 1], bad);
        return -1;
    }
    return 0;
}

int rl_lines_next(rl_lines *r, char **line, size_t *len, rl_error *err)
{
    size_t n = 0;
    int any = 0;
    r->lineno++;
    for (;;) {
        if (r->pos == r->len) {
            if (r->eof) break;
            r->len = fread(r->buf, 1, RL_LINES_CHUNK, r->f);
            r->pos = 0;
            if (r->len < RL_LINES_CHUNK) {
                if (ferror(r->f)) {
                    rl_fail(err, RL_ERR_IO, "%s: read error at line %ld (%s)", r->path, r->lineno, strerror(errno));
                    return -1;
                }
                r->eof = 1;
            }
            if (r->lineno == 1 && n == 0 && r->len >= 3 && !memcmp(r->buf, "\xef\xbb\xbf", 3)) r->pos = 3;
            if (r->pos == r->len) continue;
        }
        any = 1;
        const unsigned char *start = r->buf + r->pos;
        const unsigned char *nl = memchr(start, '\n', r->len - r->pos);
        size_t k = nl ? (size_t)(nl - start) : r->len - r->pos;
        if (append(r, &n, start, k, err)) return -1;
        r->pos += k + (nl != NULL);
        if (nl) break;
    }
    if (!any) {
        r->lineno--;
        return 0;
    }
    if (n > 0 && r->line[n - 1] == '\r') n--;
    r->line[n] = '\0';
    if (check_line(r, n, err)) return -1;
    *line = r->line;
    *len = n;
    return 1;
}

/* ---- classes.tsv ---- */

void rl_classes_free(rl_classes *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        free(c->wnid[i]);
        free(c->name[i]);
    }
    free(c->wnid);
    free(c->name);
    memset(c, 0, sizeof *c);
}

static int cmp_by_wnid(const void *a, const void *b, void *ctx)
{
    char *const *w = ctx;
    return strcmp(w[*(const int *)a], w[*(const int *)b]);
}

/* 0, or the index of a wnid that appears twice (found by sorting: O(n log n)). */
static int find_duplicate(const rl_classes *c, int *dup)
{
    int *order = malloc((size_t)c->n * sizeof *order);
    if (!order) return -1;
    for (int i = 0; i < c->n; i++)
        order[i] = i;
    qsort_r(order, (size_t)c->n, sizeof *order, cmp_by_wnid, c->wnid);
    *dup = -1;
    for (int i = 1; i < c->n && *dup < 0; i++)
        if (!strcmp(c->wnid[order[i]], c->wnid[order[i - 1]])) *dup = order[i] > order[i - 1] ? order[i] : order[i - 1];
    free(order);
    return 0;
}

/* Parses one "index<TAB>wnid[<TAB>name]" line into class c->n. */
static rl_status classes_line(rl_classes *c, size_t cap[2], char *s, const char *path, long lineno, rl_error *err)
{
    char *tab = strchr(s, '\t'), *end;
    errno = 0;
    long idx = strtol(s, &end, 10);
    if (!tab || end != tab || end == s || errno || idx != c->n)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s:%ld: expected '%d<TAB>wnid[<TAB>name]' (indices 0, 1, 2, ... in order), "
                       "found '%.80s'",
                       path, lineno, c->n, s);
    char *w = tab + 1, *t2 = strchr(w, '\t');
    if (t2) *t2 = '\0';
    if (!*w || strchr(w, ' '))
        return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: class %d has an empty wnid or one with a space ('%.80s')", path,
                       lineno, c->n, w);
    if (c->n == RL_MAX_CLASSES)
        return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: more than %d classes (relab's limit)", path, lineno,
                       RL_MAX_CLASSES);
    if (rl_grow(&c->wnid, &cap[0], (size_t)c->n + 1, sizeof *c->wnid) ||
        rl_grow(&c->name, &cap[1], (size_t)c->n + 1, sizeof *c->name))
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    c->wnid[c->n] = strdup(w);
    c->name[c->n] = strdup(t2 ? t2 + 1 : "");
    c->n++; /* counted even when a strdup failed, so free releases the other */
    if (!c->wnid[c->n - 1] || !c->name[c->n - 1]) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    return RL_OK;
}

rl_status rl_classes_read(const char *path, rl_classes *out, rl_error *err)
{
    memset(out, 0, sizeof *out);
    rl_lines r;
    rl_status st = rl_lines_open(&r, path, "classes", 0, err);
    if (st) return st;
    size_t cap[2] = {0, 0}, len;
    char *s;
    int got;
    while ((got = rl_lines_next(&r, &s, &len, err)) > 0) {
        if (!len || s[0] == '#') continue;
        if (out->n == 0 && r.lineno == 1 && (s[0] < '0' || s[0] > '9')) continue; /* header */
        if ((st = classes_line(out, cap, s, path, r.lineno, err))) break;
    }
    if (got < 0) st = err ? err->code : RL_ERR_FORMAT;
    rl_lines_close(&r);
    int dup = -1;
    if (!st && out->n == 0)
        st = rl_fail(err, RL_ERR_FORMAT, "%s: no classes; expected lines 'index<TAB>wnid[<TAB>name]'", path);
    if (!st && find_duplicate(out, &dup)) st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    if (!st && dup >= 0)
        st = rl_fail(err, RL_ERR_FORMAT, "%s: wnid '%.80s' names two classes (the second is class %d)", path,
                     out->wnid[dup], dup);
    if (st) rl_classes_free(out);
    return st;
}
