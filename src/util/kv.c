/* kv.c: the `key = value` line parser (see kv.h). */
#include "util/kv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/text.h"

char *rl_kv_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Removes surrounding quotes in place; refuses stray quotes. */
static rl_status unquote(char **value, rl_error *err)
{
    char *v = *value;
    size_t n = strlen(v);
    if (n && v[0] == '"') {
        if (n < 2 || v[n - 1] != '"' || memchr(v + 1, '"', n - 2))
            return rl_fail(err, RL_ERR_ARG,
                           "unbalanced quotes in value %s; hint: quote the whole value, with no quote inside", v);
        v[n - 1] = '\0';
        *value = v + 1;
    } else if (strchr(v, '"')) {
        return rl_fail(err, RL_ERR_ARG, "stray quote in value '%s'; hint: quotes may only wrap the whole value", v);
    }
    return RL_OK;
}

/* word[.LABEL]: the word lower-case, digits and '_'; the label letters, digits and -_.+ */
static int valid_key(const char *k)
{
    const char *p = k;
    for (; *p && *p != '.'; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')) return 0;
    if (p == k) return 0;
    if (!*p) return 1;
    if (!*++p) return 0;
    for (; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("-_.+", *p))) return 0;
    return 1;
}

rl_status rl_kv_split(char *line, int comments, char **key, char **value, rl_error *err)
{
    *key = *value = NULL;
    int quoted = 0;
    for (char *p = line; *p; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n')
            return rl_fail(err, RL_ERR_FORMAT, "control character 0x%02x; hint: is this a text file?",
                           (unsigned)(unsigned char)*p);
        if (*p == '"') quoted = !quoted;
        if (comments && *p == '#' && !quoted) {
            *p = '\0';
            break;
        }
    }
    char *s = rl_kv_trim(line);
    if (!*s) return RL_OK;
    char *eq = strchr(s, '=');
    if (!eq)
        return rl_fail(err, RL_ERR_ARG, "expected 'key = value', found '%.200s'; hint: comments start with '#'", s);
    *eq = '\0';
    char *k = rl_kv_trim(s), *v = rl_kv_trim(eq + 1);
    if (!*k) return rl_fail(err, RL_ERR_ARG, "missing key before '='");
    if (!valid_key(k))
        return rl_fail(err, RL_ERR_ARG,
                       "bad key '%.200s'; hint: keys are lower-case words joined by '_', optionally followed by "
                       "'.LABEL'",
                       k);
    rl_status st = unquote(&v, err);
    if (st) return st;
    *key = k;
    *value = v;
    return RL_OK;
}

/* The rules of util/text.h's line reader: UTF-8, CR only as part of CRLF. */
static rl_status check_text(const char *line, size_t len, rl_error *err)
{
    const char *cr = memchr(line, '\r', len);
    if (cr && (size_t)(cr - line) + 1 != len)
        return rl_fail(err, RL_ERR_FORMAT,
                       "carriage return at column %zu inside a line; hint: lines end in LF or CRLF (old Mac files end "
                       "in CR alone: convert them)",
                       (size_t)(cr - line) + 1);
    size_t bad = rl_utf8_check(line, len);
    if (bad)
        return rl_fail(err, RL_ERR_FORMAT, "byte 0x%02x at column %zu is not UTF-8; hint: save the file as UTF-8",
                       (unsigned char)line[bad - 1], bad);
    return RL_OK;
}

rl_status rl_kv_parse(const char *text, const char *origin, rl_kv_fn fn, void *ctx, rl_error *err)
{
    char line[RL_KV_LINE_MAX + 2];
    int lineno = 0;
    const char *p = text;
    if (strncmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* a UTF-8 byte-order mark from some editors */
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len > RL_KV_LINE_MAX)
            return rl_fail(err, RL_ERR_FORMAT, "%s:%d: line longer than %d characters", origin, lineno, RL_KV_LINE_MAX);
        memcpy(line, p, len);
        line[len] = '\0';
        char *key, *value;
        rl_status st = check_text(line, len, err);
        if (!st) st = rl_kv_split(line, 1, &key, &value, err);
        if (!st && key) st = fn(ctx, key, value, lineno, err);
        if (st) return rl_error_prefix(err, "%s:%d", origin, lineno), st;
        if (!nl) break;
        p = nl + 1;
    }
    return RL_OK;
}

rl_status rl_kv_read_file(const char *path, const char *what, size_t max_bytes, char **text, rl_error *err)
{
    *text = NULL;
    FILE *f = fopen(path, "rbe");
    if (!f) return rl_fail(err, RL_ERR_IO, "%s: cannot open %s: %s", path, what, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) sb.st_mode = 0, sb.st_size = -1;
    if (S_ISDIR(sb.st_mode)) {
        fclose(f);
        return rl_fail(err, RL_ERR_IO, "%s: is a folder, not a %s file", path, what);
    }
    /* A regular file needs its size (+1 to see it grow); a pipe or /proc file
     * may need up to the limit (+1 to see it is over). */
    size_t want = max_bytes;
    if (S_ISREG(sb.st_mode) && sb.st_size >= 0 && (uint64_t)sb.st_size < max_bytes) want = (size_t)sb.st_size;
    char *buf = malloc(want + 2);
    if (!buf) {
        fclose(f);
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory reading the %s", path, what);
    }
    size_t n = fread(buf, 1, want + 1, f);
    rl_status st = RL_OK;
    if (ferror(f))
        st = rl_fail(err, RL_ERR_IO, "%s: read error: %s", path, strerror(errno));
    else if (n > want && want < max_bytes)
        st = rl_fail(err, RL_ERR_IO, "%s: the file grew while it was read", path);
    else if (n > max_bytes)
        st = rl_fail(err, RL_ERR_FORMAT, "%s: larger than %zu bytes; hint: is this a %s?", path, max_bytes, what);
    fclose(f);
    if (!st) {
        buf[n] = '\0';
        size_t at = strlen(buf);
        if (at != n) {
            int lineno = 1;
            for (size_t i = 0; i < at; i++)
                lineno += buf[i] == '\n';
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%d: NUL byte; hint: is this a text file?", path, lineno);
        }
    }
    if (st) {
        free(buf);
        return st;
    }
    *text = buf;
    return RL_OK;
}

int rl_kv_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

int rl_kv_int64(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) return 0;
    *out = v;
    return 1;
}

void rl_kv_format_double(double v, char *buf, size_t n)
{
    if (!buf || n == 0) return;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (tolower((unsigned char)a[i - 1]) != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int rl_kv_closest(const char *name, const char *const *known, int n)
{
    int best = -1, best_d = 99;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(name, known[i]);
        /* A key the user abbreviated ("lr" for base_lr) counts as the closest. */
        if (strlen(name) >= 2 && strstr(known[i], name)) d = d < 1 ? d : 1;
        if (d < best_d) best_d = d, best = i;
    }
    size_t len = strlen(name);
    int limit = len > 9 ? (int)len / 3 : 3;
    return best >= 0 && best_d <= limit ? best : -1;
}
