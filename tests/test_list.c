/* test_list.c: label list files (src/data/list.h) against hand-written files
 * and their hand-derived contents: parsing, multi-labels in CSR form, the exact
 * bytes written, round trips, and errors that name file and line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/list.h"
#include "tap.h"

static char dir[] = "/tmp/relab-test-list-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    return path;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Expects reading `text` to fail with a message containing `want`. */
static void expect_error(const char *name, const char *text, const char *want)
{
    rl_list l;
    rl_error err = {0};
    const char *p = write_file(name, text);
    rl_status st = rl_list_read(p, &l, &err);
    tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, want) && l.count == 0 && !l.paths, "%s rejected with '%s' (got: %s)",
           name, want, err.msg);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    rl_error err = {0};
    rl_list l;

    /* 1. Single-label file with comments, CRLF and a blank line. */
    const char *p = write_file("a.txt", "# relab-list 1\n# classes 5\n# a free comment\n"
                                        "img/a b.JPEG\t3\r\n\nimg/c.JPEG\t0\n"
                                        "train-images-idx3-ubyte.gz#12345\t4\n");
    rl_status st = rl_list_read(p, &l, &err);
    tap_ok(st == RL_OK, "read a.txt: %s", st ? err.msg : "ok");
    tap_ok(l.count == 3 && l.num_classes == 5, "3 samples, 5 classes (got %lld, %d)", (long long)l.count,
           l.num_classes);
    tap_ok(l.count == 3 && !strcmp(l.paths[0], "img/a b.JPEG") && !strcmp(l.paths[1], "img/c.JPEG") &&
               !strcmp(l.paths[2], "train-images-idx3-ubyte.gz#12345"),
           "paths kept verbatim (spaces, '#', CR stripped)");
    tap_ok(l.count == 3 && l.labels[0] == 3 && l.labels[1] == 0 && l.labels[2] == 4, "labels 3,0,4");
    tap_ok(l.multi_offsets == NULL && l.multi_classes == NULL, "single-label list has no CSR arrays");

    /* 2. Written form is exactly the canonical text. */
    const char *q = write_file("b.txt", "");
    st = rl_list_write(q, &l, &err);
    const char *txt = slurp(q);
    tap_ok(st == RL_OK && txt &&
               !strcmp(txt, "# relab-list 1\n# classes 5\nimg/a b.JPEG\t3\nimg/c.JPEG\t0\n"
                            "train-images-idx3-ubyte.gz#12345\t4\n"),
           "write gives the canonical bytes");
    rl_list_free(&l);
    tap_ok(l.count == 0 && l.paths == NULL, "free leaves an empty list");

    /* 3. Multi-label lines and no classes header: num_classes = 1 + max label. */
    p = write_file("m.txt", "x\t2\ny\t1,7, 3\nz\t0\n");
    st = rl_list_read(p, &l, &err);
    tap_ok(st == RL_OK && l.count == 3 && l.num_classes == 8, "multi read: count 3, classes 8 (%s)",
           st ? err.msg : "ok");
    int64_t want_off[] = {0, 1, 4, 5};
    int32_t want_cls[] = {2, 1, 7, 3, 0};
    int ok = st == RL_OK && l.multi_offsets && l.multi_classes;
    for (int i = 0; ok && i < 4; i++)
        ok = l.multi_offsets[i] == want_off[i];
    for (int i = 0; ok && i < 5; i++)
        ok = l.multi_classes[i] == want_cls[i];
    tap_ok(ok, "CSR offsets {0,1,4,5}, classes {2,1,7,3,0}");
    tap_ok(st == RL_OK && l.labels[0] == 2 && l.labels[1] == 1 && l.labels[2] == 0, "primary labels 2,1,0");
    st = rl_list_write(q, &l, &err);
    txt = slurp(q);
    tap_ok(st == RL_OK && txt && !strcmp(txt, "# relab-list 1\n# classes 8\nx\t2\ny\t1,7,3\nz\t0\n"),
           "multi write canonical");
    rl_list l2;
    st = rl_list_read(q, &l2, &err);
    ok = st == RL_OK && l2.count == 3 && l2.num_classes == 8 && l2.multi_offsets;
    for (int i = 0; ok && i < 5; i++)
        ok = l2.multi_classes[i] == want_cls[i];
    tap_ok(ok, "multi round trip");
    rl_list_free(&l2);
    rl_list_free(&l);

    /* 4. Append: grows a malloc-built list; a multi-label append converts to CSR. */
    memset(&l, 0, sizeof l);
    int32_t one = 1, two[2] = {4, 2};
    char name[32];
    ok = 1;
    for (int i = 0; i < 1000 && ok; i++) {
        snprintf(name, sizeof name, "s%d", i);
        int32_t lab = i % 3;
        ok = rl_list_append(&l, name, &lab, 1, &err) == RL_OK;
    }
    ok = ok && rl_list_append(&l, "multi", two, 2, &err) == RL_OK && rl_list_append(&l, "last", &one, 1, &err) == RL_OK;
    tap_ok(ok && l.count == 1002 && l.num_classes == 5, "1002 appends, classes 5 (%s)", ok ? "ok" : err.msg);
    tap_ok(ok && l.multi_offsets && l.multi_offsets[1000] == 1000 && l.multi_offsets[1001] == 1002 &&
               l.multi_offsets[1002] == 1003 && l.multi_classes[999] == 999 % 3 && l.multi_classes[1000] == 4 &&
               l.multi_classes[1001] == 2 && l.multi_classes[1002] == 1 && !strcmp(l.paths[999], "s999"),
           "CSR built for earlier single-label samples");
    tap_ok(rl_list_append(&l, "bad\tpath", &one, 1, &err) == RL_ERR_ARG, "append rejects a tab in the path");
    tap_ok(rl_list_append(&l, "dup", two + 0, 1, &err) == RL_OK && l.count == 1003, "append after rejection works");
    rl_list_free(&l);

    /* 5. Errors name file:line and leave the list empty. */
    char want[600];
    snprintf(want, sizeof want, "%s/e1.txt:3:", dir);
    expect_error("e1.txt", "# relab-list 1\na\t1\nb 2\n", want);
    snprintf(want, sizeof want, "%s/e2.txt:2:", dir);
    expect_error("e2.txt", "a\t1\nb\tx\n", want);
    expect_error("e3.txt", "# classes 3\na\t1\nb\t3\n", "has label 3 but the header says '# classes 3'");
    expect_error("e4.txt", "# relab-list 2\na\t1\n", "unsupported list version");
    expect_error("e5.txt", "a\t1,1\n", "lists label 1 twice");
    expect_error("e6.txt", "a\t-1\n", "non-negative integer label");
    expect_error("e7.txt", "a\t1\n\t2\n", "empty sample path");
    expect_error("e8.txt", "a\t1,\n", "non-negative integer label");
    expect_error("e9.txt", "a\t99999999999\n", "non-negative integer label");
    expect_error("e10.txt", "# classes 0\n", "bad class count");
    st = rl_list_read("/nonexistent/list.txt", &l, &err);
    tap_ok(st == RL_ERR_IO && strstr(err.msg, "/nonexistent/list.txt"), "missing file: %s", err.msg);

    /* 6. Write refuses labels outside num_classes; nothing is left behind. */
    memset(&l, 0, sizeof l);
    rl_list_append(&l, "a", &one, 1, &err);
    l.num_classes = 1;
    char out[512];
    snprintf(out, sizeof out, "%s/bad-out.txt", dir);
    tap_ok(rl_list_write(out, &l, &err) == RL_ERR_ARG && access(out, F_OK) != 0, "write rejects label >= classes");
    rl_list_free(&l);

    /* 7. Empty list round trip. */
    memset(&l, 0, sizeof l);
    st = rl_list_write(out, &l, &err);
    st = st ? st : rl_list_read(out, &l2, &err);
    tap_ok(st == RL_OK && l2.count == 0 && l2.num_classes == 0, "empty list round trip");
    rl_list_free(&l2);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
    return tap_done();
}
