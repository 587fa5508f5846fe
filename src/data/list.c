/* list.c: reading and writing relab's label list files (format in list.h and
 * docs/lists.md).
 *
 * Memory: paths[i] are separate heap strings; labels, multi_offsets and
 * multi_classes are flat malloc'ed arrays.  The CSR multi-hot arrays exist only
 * when at least one sample has more than one label, so the common single-label
 * case costs nothing extra.  Arrays grow geometrically; rl_list_append finds the
 * current capacity with malloc_usable_size, so a list the caller built with
 * plain malloc stays valid to append to.
 */
#include "data/list.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Makes room for `need` elements of `size` bytes in *p, growing by 1.5x so that
 * appending n samples costs O(n) copies overall. */
static int grow(void **p, size_t need, size_t size)
{
    size_t have = *p ? malloc_usable_size(*p) / size : 0;
    if (need <= have) return 0;
    size_t cap = have + have / 2 + 16;
    if (cap < need) cap = need;
    void *q = realloc(*p, cap * size);
    if (!q) return -1;
    *p = q;
    return 0;
}

void rl_list_free(rl_list *list)
{
    if (!list) return;
    if (list->paths)
        for (int64_t i = 0; i < list->count; i++) free(list->paths[i]);
    free(list->paths);
    free(list->labels);
    free(list->multi_offsets);
    free(list->multi_classes);
    memset(list, 0, sizeof *list);
}

/* Turns an all-single-label list into CSR form (one class per sample so far). */
static int make_multi(rl_list *list)
{
    size_t n = (size_t)list->count;
    int64_t *off = malloc((n + 1) * sizeof *off);
    int32_t *cls = malloc((n ? n : 1) * sizeof *cls);
    if (!off || !cls) {
        free(off);
        free(cls);
        return -1;
    }
    for (size_t i = 0; i <= n; i++) off[i] = (int64_t)i;
    if (n) memcpy(cls, list->labels, n * sizeof *cls);
    list->multi_offsets = off;
    list->multi_classes = cls;
    return 0;
}

rl_status rl_list_append(rl_list *list, const char *path, const int32_t *labels, int nlabels, rl_error *err)
{
    if (!list || !path || !labels || nlabels < 1)
        return rl_fail(err, RL_ERR_ARG, "rl_list_append: need a list, a path and at least one label");
    if (!*path || strpbrk(path, "\t\n\r"))
        return rl_fail(err, RL_ERR_ARG,
                       "rl_list_append: sample path '%s' is empty or contains a tab or newline; "
                       "hint: list paths cannot hold those characters",
                       path);
    for (int k = 0; k < nlabels; k++) {
        if (labels[k] < 0)
            return rl_fail(err, RL_ERR_ARG, "rl_list_append: sample '%s' has negative label %d", path, (int)labels[k]);
        for (int j = 0; j < k; j++)
            if (labels[j] == labels[k])
                return rl_fail(err, RL_ERR_ARG, "rl_list_append: sample '%s' repeats label %d", path, (int)labels[k]);
    }
    size_t n = (size_t)list->count;
    char *copy = strdup(path);
    if (!copy) return rl_fail(err, RL_ERR_NOMEM, "rl_list_append: out of memory copying path '%s'", path);
    if (grow((void **)&list->paths, n + 1, sizeof(char *)) || grow((void **)&list->labels, n + 1, sizeof(int32_t)) ||
        (nlabels > 1 && !list->multi_offsets && make_multi(list))) {
        free(copy);
        return rl_fail(err, RL_ERR_NOMEM, "rl_list_append: out of memory growing the list to %zu samples", n + 1);
    }
    if (list->multi_offsets) {
        int64_t base = list->multi_offsets[n];
        if (grow((void **)&list->multi_offsets, n + 2, sizeof(int64_t)) ||
            grow((void **)&list->multi_classes, (size_t)base + (size_t)nlabels, sizeof(int32_t))) {
            free(copy);
            return rl_fail(err, RL_ERR_NOMEM, "rl_list_append: out of memory growing the multi-label arrays");
        }
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
 * -1 when there is no number or it overflows. */
static long parse_label(const char **s)
{
    const char *p = *s;
    while (*p == ' ') p++;
    if (*p < '0' || *p > '9') return -1;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > INT32_MAX) return -1;
        p++;
    }
    while (*p == ' ') p++;
    *s = p;
    return v;
}

/* Handles a "#" line: the version and class-count headers; other comments are ignored. */
static rl_status parse_comment(const char *path, long lineno, const char *line, int *declared, rl_error *err)
{
    const char *p = line + 1;
    while (*p == ' ') p++;
    if (!strncmp(p, "relab-list", 10)) {
        char *end;
        long v = strtol(p + 10, &end, 10);
        if (v != 1)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s:%ld: unsupported list version '%s' (this relab reads version 1); "
                           "hint: write the list with this version of relab",
                           path, lineno, p + 10);
    } else if (!strncmp(p, "classes", 7) && (p[7] == ' ' || p[7] == '\t')) {
        char *end;
        errno = 0;
        long v = strtol(p + 8, &end, 10);
        while (*end == ' ') end++;
        if (errno || *end || v < 1 || v > INT32_MAX)
            return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: bad class count in '%s'; expected '# classes N' with N >= 1",
                           path, lineno, line);
        if (*declared && *declared != (int)v)
            return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: '# classes %ld' contradicts an earlier '# classes %d'", path,
                           lineno, v, *declared);
        *declared = (int)v;
    }
    return RL_OK;
}

/* Parses "<path>\t<label>[,<label>...]" (line already stripped of its newline). */
static rl_status parse_sample(const char *path, long lineno, char *line, rl_list *out, int32_t **labels, int *cap,
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
    int n = 0;
    for (;;) {
        long v = parse_label(&p);
        if (v < 0)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s:%ld: sample '%.200s': expected a non-negative integer label at '%.40s'", path, lineno,
                           line, p);
        if (n == *cap) {
            int ncap = 2 * *cap;
            int32_t *q = realloc(*labels, (size_t)ncap * sizeof *q);
            if (!q) return rl_fail(err, RL_ERR_NOMEM, "%s:%ld: out of memory reading labels", path, lineno);
            *labels = q;
            *cap = ncap;
        }
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
    for (int k = 1; k < n; k++)
        for (int j = 0; j < k; j++)
            if ((*labels)[j] == (*labels)[k])
                return rl_fail(err, RL_ERR_FORMAT, "%s:%ld: sample '%.200s' lists label %d twice", path, lineno, line,
                               (int)(*labels)[k]);
    rl_status st = rl_list_append(out, line, *labels, n, err);
    if (st) rl_error_prefix(err, "%s:%ld", path, lineno);
    return st;
}

rl_status rl_list_read(const char *path, rl_list *out, rl_error *err)
{
    if (!out) return rl_fail(err, RL_ERR_ARG, "rl_list_read: no output list");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) return rl_fail(err, RL_ERR_IO, "%s: cannot open label list: %s", path, strerror(errno));
    rl_status st = RL_OK;
    char *line = NULL;
    size_t linecap = 0;
    int cap = 8, declared = 0;
    int32_t *labels = malloc((size_t)cap * sizeof *labels);
    if (!labels) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    long lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if ((size_t)len != strlen(line)) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%ld: NUL byte in line; hint: is this a text list file?", path, lineno);
            goto done;
        }
        if (len == 0) continue; /* blank lines (e.g. a trailing one) carry nothing */
        st = line[0] == '#' ? parse_comment(path, lineno, line, &declared, err)
                            : parse_sample(path, lineno, line, out, &labels, &cap, err);
        if (st) goto done;
    }
    if (ferror(f)) {
        st = rl_fail(err, RL_ERR_IO, "%s: read error after line %ld", path, lineno);
        goto done;
    }
    if (declared) {
        if (out->num_classes > declared) {
            /* Find the offending line for the message: sample k is not line k,
             * so name the sample instead. */
            for (int64_t i = 0; i < out->count; i++) {
                int64_t a = out->multi_offsets ? out->multi_offsets[i] : i;
                int64_t b = out->multi_offsets ? out->multi_offsets[i + 1] : i + 1;
                const int32_t *c = out->multi_offsets ? out->multi_classes : out->labels;
                for (int64_t k = a; k < b; k++)
                    if (c[k] >= declared) {
                        st = rl_fail(err, RL_ERR_FORMAT,
                                     "%s: sample %lld '%s' has label %d but the header says '# classes %d'; "
                                     "hint: labels run from 0 to classes-1",
                                     path, (long long)i + 1, out->paths[i], (int)c[k], declared);
                        goto done;
                    }
            }
        }
        out->num_classes = declared;
    }
done:
    free(line);
    free(labels);
    fclose(f);
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
    /* Temporary file beside the target so rename() is atomic (same file system). */
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rl_status st = rl_fail(err, RL_ERR_IO, "%s: cannot create temporary file %s: %s; hint: is the folder writable?",
                               path, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        rl_status st = rl_fail(err, RL_ERR_IO, "%s: fdopen failed: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return st;
    }
    int bad = fprintf(f, "# relab-list 1\n") < 0;
    if (list->num_classes > 0) bad |= fprintf(f, "# classes %d\n", list->num_classes) < 0;
    for (int64_t i = 0; i < list->count && !bad; i++) {
        if (list->multi_offsets) {
            bad |= fputs(list->paths[i], f) < 0;
            for (int64_t k = list->multi_offsets[i]; k < list->multi_offsets[i + 1] && !bad; k++)
                bad |= fprintf(f, "%c%d", k == list->multi_offsets[i] ? '\t' : ',', (int)list->multi_classes[k]) < 0;
            bad |= fputc('\n', f) == EOF;
        } else {
            bad |= fprintf(f, "%s\t%d\n", list->paths[i], (int)list->labels[i]) < 0;
        }
    }
    int saved = errno;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    if (bad) saved = errno;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        if (!bad) saved = errno;
        unlink(tmp);
        free(tmp);
        return rl_fail(err, RL_ERR_IO, "%s: writing the label list failed: %s; hint: is the disk full or read-only?",
                       path, strerror(saved));
    }
    free(tmp);
    return RL_OK;
}
