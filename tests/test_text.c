/* test_text.c: util/text.h, the line reader, UTF-8 check, rl_grow and
 * classes.tsv; and the list reader's limits that rest on them.  Expected
 * values are written out by hand from the file contents. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/list.h"
#include "tap.h"
#include "util/text.h"

static char dir[256];

static const char *put(const char *name, const char *data, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
    return path;
}

/* Reads every line of path joined by '|'; returns the reader's result (0 or -1). */
static int read_all(const char *path, size_t max, char *out, size_t n, rl_error *err)
{
    rl_lines r;
    if (rl_lines_open(&r, path, "test", max, err)) return -1;
    char *line;
    size_t len;
    int got;
    out[0] = '\0';
    while ((got = rl_lines_next(&r, &line, &len, err)) > 0)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? "|" : "", line);
    rl_lines_close(&r);
    return got;
}

static void line_reader(void)
{
    rl_error err = {0};
    char got[256];
    const char *p = put("crlf.txt", "a\r\nbb\r\n\r\nc", 10);
    tap_ok(read_all(p, 0, got, sizeof got, &err) == 0 && !strcmp(got, "a|bb||c"),
           "CRLF, an empty line and no final newline read as 'a|bb||c' (got '%s')", got);
    p = put("bom.txt", "\xef\xbb\xbfx\ny\n", 7);
    tap_ok(read_all(p, 0, got, sizeof got, &err) == 0 && !strcmp(got, "x|y"), "a UTF-8 BOM is skipped");
    p = put("nul.txt", "ok\nab\0c\n", 8);
    tap_ok(read_all(p, 0, got, sizeof got, &err) < 0 && strstr(err.msg, ":2: NUL byte at column 3"),
           "a NUL byte: file:2, column 3 (%s)", err.msg);
    p = put("cr.txt", "a\rb\n", 4);
    tap_ok(read_all(p, 0, got, sizeof got, &err) < 0 && strstr(err.msg, ":1: carriage return at column 2"),
           "a lone CR is refused (%s)", err.msg);
    p = put("utf8.txt", "caf\xc3\xa9\nx\xff\n", 9);
    tap_ok(read_all(p, 0, got, sizeof got, &err) < 0 && strstr(err.msg, ":2: byte 0xff at column 2 is not UTF-8"),
           "non-UTF-8 on line 2 (%s)", err.msg);
    p = put("long.txt", "12345\n123456\n", 13);
    tap_ok(read_all(p, 5, got, sizeof got, &err) < 0 && strstr(err.msg, ":2: line longer than 5 bytes"),
           "a 6-byte line over a limit of 5 (%s)", err.msg);
    p = put("long2.txt", "12345\r\n", 7);
    tap_ok(read_all(p, 5, got, sizeof got, &err) == 0 && !strcmp(got, "12345"), "the CR of CRLF does not count");
    tap_ok(read_all(dir, 0, got, sizeof got, &err) < 0 && strstr(err.msg, "is a folder"), "a folder is refused (%s)",
           err.msg);
    tap_ok(read_all("/dev/zero", 0, got, sizeof got, &err) < 0 && strstr(err.msg, "NUL byte"),
           "/dev/zero ends at its first NUL (%s)", err.msg);
    /* a line longer than the 64 kB read buffer */
    size_t n = 200000;
    char *big = malloc(n + 1);
    memset(big, 'q', n);
    big[n] = '\n';
    p = put("big.txt", big, n + 1);
    rl_lines r;
    char *line;
    size_t len = 0;
    int ok = !rl_lines_open(&r, p, "test", 0, &err) && rl_lines_next(&r, &line, &len, &err) == 1 && len == n &&
             line[0] == 'q' && line[n - 1] == 'q' && rl_lines_next(&r, &line, &len, &err) == 0;
    rl_lines_close(&r);
    tap_ok(ok, "a 200000-byte line across read buffers");
    free(big);
}

static void utf8_and_grow(void)
{
    tap_ok(rl_utf8_check("\xe2\x82\xac", 3) == 0, "U+20AC (3 bytes) is UTF-8");
    tap_ok(rl_utf8_check("a\xc0\xaf", 3) == 2, "an overlong '/' fails at column 2");
    tap_ok(rl_utf8_check("\xed\xa0\x80", 3) == 1, "a UTF-16 surrogate is not UTF-8");
    tap_ok(rl_utf8_check("\xf4\x90\x80\x80", 4) == 1, "past U+10FFFF is not UTF-8");
    tap_ok(rl_utf8_check("ab\xe2\x82", 4) == 3, "a cut sequence fails where it starts");
    int *v = NULL;
    size_t cap = 0;
    int ok = 1;
    for (int i = 0; i < 100000 && ok; i++) {
        ok = rl_grow(&v, &cap, (size_t)i + 1, sizeof *v) == 0 && cap >= (size_t)i + 1;
        if (ok) v[i] = i;
    }
    tap_ok(ok && v[99999] == 99999, "rl_grow: 100000 appends");
    tap_ok(rl_grow(&v, &cap, SIZE_MAX / 2, sizeof *v) == -1 && v[5] == 5,
           "rl_grow: an overflowing size fails, data kept");
    free(v);
}

static void classes(void)
{
    rl_error err = {0};
    rl_classes c;
    const char *p = put("c.tsv", "index\twnid\tname\n0\tn01\ttench\n1\tn02\n", 34);
    tap_ok(!rl_classes_read(p, &c, &err) && c.n == 2 && !strcmp(c.wnid[1], "n02") && !strcmp(c.name[0], "tench") &&
               !strcmp(c.name[1], ""),
           "classes.tsv: header, 2 classes, names");
    rl_classes_free(&c);
    p = put("c2.tsv", "0\tn01\n1\tn01\n", 12);
    tap_ok(rl_classes_read(p, &c, &err) && strstr(err.msg, "'n01' names two classes"), "a duplicate wnid (%s)",
           err.msg);
    p = put("c3.tsv", "0\tn01\n2\tn02\n", 12);
    tap_ok(rl_classes_read(p, &c, &err) && strstr(err.msg, ":2: expected '1<TAB>wnid"), "indices in order (%s)",
           err.msg);
}

static void list_limits(void)
{
    rl_error err = {0};
    rl_list l;
    const char *p = put("big.list", "a\t2147483647\n", 13);
    tap_ok(rl_list_read(p, &l, &err) == RL_ERR_FORMAT && strstr(err.msg, ":1:") && l.count == 0,
           "label 2147483647 refused, not overflowed (%s)", err.msg);
    p = put("cls.list", "# classes 2000000000\na\t1\n", 25);
    tap_ok(rl_list_read(p, &l, &err) == RL_ERR_FORMAT && strstr(err.msg, ":1: bad class count"),
           "'# classes 2000000000' refused (%s)", err.msg);
    /* 300000 distinct labels on one line, then the same line with one repeat:
     * the sort-based check takes well under a second either way */
    size_t cap = 8 << 20, n = 0;
    char *buf = malloc(cap);
    n += (size_t)snprintf(buf, cap, "s\t");
    for (int i = 0; i < 300000; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%d", i ? "," : "", i);
    n += (size_t)snprintf(buf + n, cap - n, "\n");
    p = put("many.list", buf, n);
    tap_ok(!rl_list_read(p, &l, &err) && l.count == 1 && l.multi_offsets[1] == 300000 && l.num_classes == 300000,
           "one line of 300000 labels");
    rl_list_free(&l);
    n -= 1;
    n += (size_t)snprintf(buf + n, cap - n, ",77\n");
    p = put("dup.list", buf, n);
    tap_ok(rl_list_read(p, &l, &err) == RL_ERR_FORMAT && strstr(err.msg, "lists label 77 twice"),
           "the same line with 77 twice (%s)", err.msg);
    free(buf);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/relab-test-text-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    line_reader();
    utf8_and_grow();
    classes();
    list_limits();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
    return tap_done();
}
