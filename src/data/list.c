/* list.c: reading and writing relab's label list files (format in list.h and
 * docs/lists.md).
 *
 * Memory: paths[i] are separate heap strings; labels, multi_offsets and
 * multi_classes are flat malloc'ed arrays grown by rl_grow (util/text.h) with
 * their capacities in the list.  The CSR multi-hot arrays exist only when at
 * least one sample has more than one label, so the common single-label case
 * costs nothing extra.
 */
#include "data/list.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"

void rl_list_free(rl_list *list)
{
    if (!list) return;
    if (list->paths)
        for (int64_t i = 0; i < list->count; i++)
            free(list->paths[i]);
    free(list->paths);
    free(list->labels);
    free(list->multi_offsets);
    free(list->multi_classes);
    free(list->root);
    memset(list, 0, sizeof *list);
}

rl_status rl_list_set_root(rl_list *list, const char *root, rl_error *err)
{
    char *copy = root ? strdup(root) : NULL;
    if (root && !copy) return rl_fail(err, RL_ERR_NOMEM, "out of memory copying the list root '%.200s'", root);
    free(list->root);
    list->root = copy;
    return RL_OK;
}

/* Turns an all-single-label list into CSR form (one class per sample so far). */
static int make_multi(rl_list *list)
{
    size_t n = (size_t)list->count, cap = list->cap;
    int64_t *off = malloc((cap + 1) * sizeof *off);
    int32_t *cls = malloc((cap ? cap : 1) * sizeof *cls);
    if (!off || !cls) {
        free(off);
        free(cls);
        return -1;
    }
    for (size_t i = 0; i <= n; i++)
        off[i] = (int64_t)i;
    if (n) memcpy(cls, list->labels, n * sizeof *cls);
    list->multi_offsets = off;
    list->multi_classes = cls;
    list->multi_cap = cap ? cap : 1;
    return 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* A label that appears twice in v[0..n), or -1.  Sorting a copy keeps a line
 * of millions of labels at O(n log n); short lines compare pairwise. */
static int64_t repeated_label(const int32_t *v, int n)
{
    if (n <= 16) {
        for (int k = 1; k < n; k++)
            for (int j = 0; j < k; j++)
                if (v[j] == v[k]) return v[k];
        return -1;
    }
    int32_t *s = malloc((size_t)n * sizeof *s);
    if (!s) return -2;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_i32);
    int64_t dup = -1;
    for (int k = 1; k < n && dup < 0; k++)
        if (s[k] == s[k - 1]) dup = s[k];
    free(s);
    return dup;
}

rl_status rl_list_append(rl_list *list, const char *path, const int32_t *labels, int nlabels, rl_error *err)
{
    if (!list || !path || !labels || nlabels < 1)
        return rl_fail(err, RL_ERR_ARG, "rl_list_append: need a list, a path and at least one label");
    size_t plen = strlen(path);
    if (!plen || strpbrk(path, "\t\n\r"))
        return rl_fail(err, RL_ERR_ARG,
                       "rl_list_append: sample path '%.200s' is empty or contains a tab or newline; "
                       "hint: list paths cannot hold those characters",
                       path);
    if (plen > RL_LIST_PATH_MAX)
        return rl_fail(err, RL_ERR_ARG, "rl_list_append: sample path '%.60s...' has %zu bytes, more than %d", path,
                       plen, RL_LIST_PATH_MAX);
    for (int k = 0; k < nlabels; k++)
        if (labels[k] < 0 || labels[k] >= RL_MAX_CLASSES)
            return rl_fail(err, RL_ERR_ARG, "rl_list_append: sample '%.200s' has label %d outside 0..%d", path,
                           (int)labels[k], RL_MAX_CLASSES - 1);
    int64_t dup = repeated_label(labels, nlabels);
    if (dup == -2) return rl_fail(err, RL_ERR_NOMEM, "rl_list_append: out of memory checking %d labels", nlabels);
    if (dup >= 0)
        return rl_fail(err, RL_ERR_ARG, "rl_list_append: sample '%.200s' lists label %d twice", path, (int)dup);
    size_t n = (size_t)list->count;
    char *copy = strdup(path);
    if (!copy) return rl_fail(err, RL_ERR_NOMEM, "rl_list_append: out of memory copying path '%.200s'", path);
    /* paths and labels share the capacity list->cap; multi_offsets has list->cap + 1 */
    size_t old = list->cap, pcap = old, lcap = old;
    int bad =
        rl_grow(&list->paths, &pcap, n + 1, sizeof(char *)) || rl_grow(&list->labels, &lcap, n + 1, sizeof(int32_t));
    if (!bad) list->cap = pcap;
    if (!bad && list->multi_offsets && list->cap != old) {
        int64_t *off = realloc(list->multi_offsets, (list->cap + 1) * sizeof *off);
        if (off) list->multi_offsets = off;
        bad = !off;
    }
    if (!bad && nlabels > 1 && !list->multi_offsets) bad = make_multi(list);
    if (!bad && list->multi_offsets)
        bad = rl_grow(&list->multi_classes, &list->multi_cap, (size_t)list->multi_offsets[n] + (size_t)nlabels,
                      sizeof(int32_t));
    if (bad) {
        free(copy);
        return rl_fail(err, RL_ERR_NOMEM, "rl_list_append: out of memory growing the list to %zu samples", n + 1);
    }
    if (list->multi_offsets) {
        int64_t base = list->multi_offsets[n];
        memcpy(list->multi_classes + base, labels, (size_t)nlabels * sizeof(int32_t));
        list->multi_offsets[n + 1] = base + nlabels;
    }
    list->paths[n] = copy;
    list->labels[n] = labels[0];
    list->count = (int64_t)n + 1;
    for (int k = 0; k < nlabels; k++)
        if (labels[k] >= list->num_classes) list->num_classes = labels[k] + 1;
    return RL_OK;
}

/* Parses a non-negative decimal int at *s, skipping blanks around it.  Returns
 * -1 when there is no number or it is not below RL_MAX_CLASSES. */
static long parse_label(const char **s)
{
    const char *p = *s;
    while (*p == ' ')
        p++;
    if (*p < '0' || *p > '9') return -1;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v >= RL_MAX_CLASSES) return -1;
        p++;
    }
    while (*p == ' ')
        p++;
    *s = p;
    return v;
}

/* The "# root DIR" header made usable from any folder: DIR as it is when
 * absolute, else joined to the list file's folder (itself made absolute). */
static rl_status set_root(const char *path, long lineno, const char *dir, rl_list *out, rl_error *err)
{
    if (!*dir || strlen(dir) > RL_LIST_PATH_MAX)
        return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: '# root' needs a folder of 1 to %d bytes", path, lineno,
                       RL_LIST_PATH_MAX);
    char full[3 * RL_LIST_PATH_MAX + 8], cwd[RL_LIST_PATH_MAX + 1] = "";
    const char *slash = strrchr(path, '/');
    int listdir = slash ? (int)(slash - path) : 0;
    if (dir[0] == '/')
        snprintf(full, sizeof full, "%s", dir);
    else if (path[0] == '/')
        snprintf(full, sizeof full, "%.*s/%s", listdir, path, dir);
    else if (!getcwd(cwd, sizeof cwd))
        return rl_fail(err, RL_ERR_IO, "%s:%ld: cannot resolve the relative root '%.200s': %s", path, lineno, dir,
                       strerror(errno));
    else if (slash)
        snprintf(full, sizeof full, "%s/%.*s/%s", cwd, listdir, path, dir);
    else
        snprintf(full, sizeof full, "%s/%s", cwd, dir);
    if (out->root && strcmp(out->root, full))
        return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: a second '# root' ('%.200s') contradicts the first", path, lineno,
                       dir);
    return rl_list_set_root(out, full, err);
}

/* Handles a "#" line: the version, class-count and root headers; other comments are ignored. */
static rl_status parse_comment(const char *path, long lineno, const char *line, int *declared, rl_list *out,
                               rl_error *err)
{
    const char *p = line + 1;
    while (*p == ' ')
        p++;
    if (!strncmp(p, "relab-list", 10)) {
        char *end;
        long v = strtol(p + 10, &end, 10);
        while (*end == ' ')
            end++;
        if (v != 1 || *end)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s:%ld: unsupported list version '%.40s' (this relab reads version 1); "
                           "hint: write the list with this version of relab",
                           path, lineno, p + 10);
    } else if (!strncmp(p, "classes", 7) && (p[7] == ' ' || p[7] == '\t')) {
        char *end;
        errno = 0;
        long v = strtol(p + 8, &end, 10);
        while (*end == ' ')
            end++;
        if (errno || *end || end == p + 8 || v < 1 || v > RL_MAX_CLASSES)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s:%ld: bad class count in '%.80s'; expected '# classes N' with 1 <= N <= %d", path, lineno,
                           line, RL_MAX_CLASSES);
        if (*declared && *declared != (int)v)
            return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: '# classes %ld' contradicts an earlier '# classes %d'", path,
                           lineno, v, *declared);
        *declared = (int)v;
    } else if (!strncmp(p, "root", 4) && (p[4] == ' ' || p[4] == '\t')) {
        const char *dir = p + 5;
        while (*dir == ' ' || *dir == '\t')
            dir++;
        return set_root(path, lineno, dir, out, err);
    }
    return RL_OK;
}

/* Parses "<path>\t<label>[,<label>...]" (line already stripped of its newline). */
static rl_status parse_sample(const char *path, long lineno, char *line, rl_list *out, int32_t **labels, size_t *cap,
                              rl_error *err)
{
    char *tab = strchr(line, '\t');
    if (!tab)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s:%ld: expected '<path>\\t<label>[,<label>...]', found no tab in '%.200s'; "
                       "hint: separate the path and the labels with one tab character",
                       path, lineno, line);
    if (tab == line) return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: empty sample path before the tab", path, lineno);
    *tab = '\0';
    const char *p = tab + 1;
    size_t n = 0;
    for (;;) {
        long v = parse_label(&p);
        if (v < 0)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s:%ld: sample '%.200s': expected a non-negative integer label below %d at '%.40s'", path,
                           lineno, line, RL_MAX_CLASSES, p);
        if (n == (size_t)INT_MAX || rl_grow(labels, cap, n + 1, sizeof **labels))
            return rl_fail(err, RL_ERR_NOMEM, "%s:%ld: out of memory reading labels", path, lineno);
        (*labels)[n++] = (int32_t)v;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s:%ld: sample '%.200s': unexpected '%.40s' after the labels; "
                           "hint: labels are separated by commas, and the path holds no tab",
                           path, lineno, line, p);
        break;
    }
    rl_status st = rl_list_append(out, line, *labels, (int)n, err);
    if (st) {
        rl_error_prefix(err, "%s:%ld", path, lineno);
        if (st == RL_ERR_ARG) { /* bad content of this file, not a caller's mistake */
            st = RL_ERR_FORMAT;
            if (err) err->code = st;
        }
        return st;
    }
    return RL_OK;
}

/* The first sample with a label >= declared, for the message (sample k is not line k). */
static rl_status check_declared(const char *path, const rl_list *out, int declared, rl_error *err)
{
    for (int64_t i = 0; i < out->count; i++) {
        int64_t a = out->multi_offsets ? out->multi_offsets[i] : i;
        int64_t b = out->multi_offsets ? out->multi_offsets[i + 1] : i + 1;
        const int32_t *c = out->multi_offsets ? out->multi_classes : out->labels;
        for (int64_t k = a; k < b; k++)
            if (c[k] >= declared)
                return rl_fail(err, RL_ERR_FORMAT,
                               "%s: sample %lld '%.200s' has label %d but the header says '# classes %d'; "
                               "hint: labels run from 0 to classes-1",
                               path, (long long)i + 1, out->paths[i], (int)c[k], declared);
    }
    return RL_OK;
}

rl_status rl_list_read(const char *path, rl_list *out, rl_error *err)
{
    if (!out) return rl_fail(err, RL_ERR_ARG, "rl_list_read: no output list");
    memset(out, 0, sizeof *out);
    rl_lines r;
    rl_status st = rl_lines_open(&r, path, "label list", 0, err);
    if (st) return st;
    int declared = 0, got;
    int32_t *labels = NULL;
    size_t cap = 0, len;
    char *line;
    while ((got = rl_lines_next(&r, &line, &len, err)) > 0) {
        if (len == 0) continue; /* blank lines (e.g. a trailing one) carry nothing */
        st = line[0] == '#' ? parse_comment(path, r.lineno, line, &declared, out, err)
                            : parse_sample(path, r.lineno, line, out, &labels, &cap, err);
        if (st) break;
    }
    if (got < 0) st = err ? err->code : RL_ERR_FORMAT;
    if (!st && declared) {
        if (out->num_classes > declared) st = check_declared(path, out, declared, err);
        out->num_classes = declared;
    }
    free(labels);
    rl_lines_close(&r);
    if (st) rl_list_free(out);
    return st;
}

rl_status rl_list_write(const char *path, const rl_list *list, rl_error *err)
{
    if (!list || !path) return rl_fail(err, RL_ERR_ARG, "rl_list_write: need a path and a list");
    for (int64_t i = 0; i < list->count; i++) {
        const char *p = list->paths[i];
        if (!p || !*p || strpbrk(p, "\t\n\r"))
            return rl_fail(err, RL_ERR_ARG, "%s: sample %lld has an empty path or one with a tab or newline", path,
                           (long long)i);
    }
    /* A label outside the declared classes would make the file unreadable. */
    if (list->num_classes > 0) {
        const int32_t *c = list->multi_offsets ? list->multi_classes : list->labels;
        int64_t total = list->multi_offsets ? list->multi_offsets[list->count] : list->count;
        for (int64_t k = 0; k < total; k++)
            if (c[k] < 0 || c[k] >= list->num_classes)
                return rl_fail(err, RL_ERR_ARG, "%s: label %d is outside 0..%d (num_classes %d)", path, (int)c[k],
                               list->num_classes - 1, list->num_classes);
    }
    if (list->root && (!*list->root || strpbrk(list->root, "\n\r")))
        return rl_fail(err, RL_ERR_ARG, "%s: the list root is empty or holds a newline", path);
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, path, err);
    if (st) return st;
    FILE *f = w.f;
    fprintf(f, "# relab-list 1\n");
    if (list->num_classes > 0) fprintf(f, "# classes %d\n", list->num_classes);
    if (list->root) fprintf(f, "# root %s\n", list->root);
    for (int64_t i = 0; i < list->count && !ferror(f); i++) {
        if (list->multi_offsets) {
            fputs(list->paths[i], f);
            for (int64_t k = list->multi_offsets[i]; k < list->multi_offsets[i + 1]; k++)
                fprintf(f, "%c%d", k == list->multi_offsets[i] ? '\t' : ',', (int)list->multi_classes[k]);
            fputc('\n', f);
        } else {
            fprintf(f, "%s\t%d\n", list->paths[i], (int)list->labels[i]);
        }
    }
    st = rl_fs_writer_commit(&w, err);
    if (st) rl_error_prefix(err, "writing the label list %s", path);
    return st;
}

long rl_list_line_of(const char *path, int64_t k)
{
    rl_lines r;
    if (rl_lines_open(&r, path, "label list", 0, NULL)) return 0;
    char *line;
    size_t len;
    long found = 0;
    int64_t seen = 0;
    while (!found && rl_lines_next(&r, &line, &len, NULL) > 0)
        if (len && line[0] != '#' && seen++ == k) found = r.lineno;
    rl_lines_close(&r);
    return found;
}
