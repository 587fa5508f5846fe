/* test_util.c: src/util's fs (atomic commit, mkdir -p, folder lock), kv (the
 * key = value parser), log (the message callback), blas (which OpenBLAS
 * core a CPU should run) and mem (alignment, zeroing, the huge-page advice,
 * read back from the kernel's /proc/self/smaps), each against values written
 * out by hand. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "util/blas.h"
#include "util/fs.h"
#include "util/kv.h"
#include "util/log.h"
#include "util/mem.h"

static char tmp[256];

static int count_entries(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
}

static char *slurp(const char *path)
{
    char *text = NULL;
    rl_error err;
    return rl_kv_read_file(path, "test file", 1 << 20, &text, &err) == RL_OK ? text : NULL;
}

static void fs(void)
{
    char dir[512], path[600];
    rl_error err;
    snprintf(dir, sizeof dir, "%s/a/b/c", tmp);
    tap_ok(rl_fs_mkdirs(dir, &err) == RL_OK && rl_fs_mkdirs(dir, &err) == RL_OK && access(dir, W_OK) == 0,
           "mkdirs creates missing parents and accepts an existing folder");
    snprintf(path, sizeof path, "%s/file", dir);
    tap_ok(rl_fs_write_file(path, "one\n", 4, &err) == RL_OK && rl_fs_write_file(path, "two\n", 4, &err) == RL_OK,
           "write_file writes and replaces");
    char *text = slurp(path);
    tap_ok(text && !strcmp(text, "two\n") && count_entries(dir) == 1,
           "the file holds the new bytes and no temporary file is left (%d entries)", count_entries(dir));
    free(text);
    rl_fs_writer w;
    tap_ok(rl_fs_writer_open(&w, path, &err) == RL_OK, "a writer opens");
    fputs("three\n", w.f);
    text = slurp(path);
    tap_ok(text && !strcmp(text, "two\n"), "until the commit the old content stays");
    free(text);
    tap_ok(rl_fs_writer_commit(&w, &err) == RL_OK && (text = slurp(path)) && !strcmp(text, "three\n"),
           "the commit replaces it");
    free(text);
    rl_fs_writer_open(&w, path, &err);
    fputs("four\n", w.f);
    rl_fs_writer_abort(&w);
    tap_ok((text = slurp(path)) && !strcmp(text, "three\n") && count_entries(dir) == 1,
           "an aborted writer leaves the file and no temporary");
    free(text);
    snprintf(path, sizeof path, "%s/no/such/folder/file", tmp);
    tap_ok(rl_fs_write_file(path, "x", 1, &err) == RL_ERR_IO && strstr(err.msg, "no/such/folder/file.tmp."),
           "a write that cannot start names the temporary file (%s)", err.msg);
    char base[64];
    tap_ok(rl_fs_temp_pid("ckpt-0000000010.h5.tmp.4242", base, sizeof base) == 4242 &&
               !strcmp(base, "ckpt-0000000010.h5") && rl_fs_temp_pid("a.tmp.x", base, sizeof base) == 0 &&
               rl_fs_temp_pid("a.tmp.", base, sizeof base) == 0 && rl_fs_temp_pid("plain.h5", base, sizeof base) == 0,
           "temp_pid recognises NAME.tmp.PID and nothing else");
    snprintf(path, sizeof path, "%s/file-not-dir", tmp);
    rl_fs_write_file(path, "x", 1, &err);
    snprintf(dir, sizeof dir, "%s/file-not-dir/sub", tmp);
    tap_ok(rl_fs_mkdirs(dir, &err) == RL_ERR_IO && strstr(err.msg, "file-not-dir"),
           "mkdirs through a file fails naming it (%s)", err.msg);
}

static void lock(void)
{
    char path[600];
    rl_error err;
    snprintf(path, sizeof path, "%s/x.lock", tmp);
    rl_fs_lock lk;
    tap_ok(rl_fs_lock_take(&lk, path, "thing", &err) == RL_OK, "a free lock is taken");
    pid_t child = fork();
    if (child == 0) {
        rl_fs_lock other;
        rl_error e;
        char want[64];
        snprintf(want, sizeof want, "process %ld ", (long)getppid());
        _exit(rl_fs_lock_take(&other, path, "thing", &e) == RL_ERR_IO && strstr(e.msg, want) &&
                      strstr(e.msg, "thing is in use")
                  ? 0
                  : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process is refused, naming the holder's PID");
    rl_fs_lock_release(&lk);
    /* a holder that dies releases the lock */
    child = fork();
    if (child == 0) {
        rl_fs_lock held;
        rl_error e;
        rl_fs_lock_take(&held, path, "thing", &e);
        raise(SIGKILL);
    }
    waitpid(child, &status, 0);
    tap_ok(WIFSIGNALED(status) && rl_fs_lock_take(&lk, path, "thing", &err) == RL_OK,
           "the lock of a process killed by SIGKILL is free again");
    rl_fs_lock_release(&lk);
}

typedef struct {
    char keys[8][32], values[8][64];
    int lines[8], n;
} seen;

static rl_status collect(void *ctx, char *key, char *value, int line, rl_error *err)
{
    seen *s = ctx;
    if (!strcmp(key, "fail")) return rl_fail(err, RL_ERR_ARG, "refused '%s'", value);
    snprintf(s->keys[s->n], 32, "%s", key);
    snprintf(s->values[s->n], 64, "%s", value);
    s->lines[s->n++] = line;
    return RL_OK;
}

static void kv(void)
{
    seen s = {0};
    rl_error err;
    const char *text = "\xEF\xBB\xBF# comment\r\n\n  a_1\t=  plain value  # trailing\r\nb = \"with # hash\"\nc=\"\"\n";
    rl_status st = rl_kv_parse(text, "t.kv", collect, &s, &err);
    tap_ok(st == RL_OK && s.n == 3 && !strcmp(s.keys[0], "a_1") && !strcmp(s.values[0], "plain value") &&
               s.lines[0] == 3 && !strcmp(s.values[1], "with # hash") && s.lines[1] == 4 && !strcmp(s.values[2], "") &&
               s.lines[2] == 5,
           "BOM, CRLF, comments, trimming, quotes and line numbers");
    seen q = {0};
    st = rl_kv_parse("set.R50-v1.5+x_y = a=1; b=2\n", "t.kv", collect, &q, &err);
    tap_ok(st == RL_OK && q.n == 1 && !strcmp(q.keys[0], "set.R50-v1.5+x_y") && !strcmp(q.values[0], "a=1; b=2"),
           "a key may carry a label after a dot (grids' set.LABEL)");
    const struct {
        const char *text, *want;
    } bad[] = {
        {"a = 1\nnovalue\n", "t.kv:2: expected 'key = value'"},
        {"a = \"x\n", "t.kv:1: unbalanced quotes"},
        {"a = x\"y\n", "t.kv:1: stray quote"},
        {"Bad = 1\n", "t.kv:1: bad key 'Bad'"},
        {"set. = 1\n", "t.kv:1: bad key 'set.'"},
        {".R50 = 1\n", "t.kv:1: bad key '.R50'"},
        {"Set.R50 = 1\n", "t.kv:1: bad key 'Set.R50'"},
        {"set.R50/x = 1\n", "t.kv:1: bad key 'set.R50/x'"},
        {"= 1\n", "t.kv:1: missing key"},
        {"a = 1\x01\n", "t.kv:1: control character 0x01"},
        {"a = 1\rb = 2\n", "t.kv:1: carriage return at column 6 inside a line"},
        {"a = caf\xe9\n", "t.kv:1: byte 0xe9 at column 8 is not UTF-8"},
        {"x = 1\nfail = now\n", "t.kv:2: refused 'now'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seen t = {0};
        st = rl_kv_parse(bad[i].text, "t.kv", collect, &t, &err);
        tap_ok(st != RL_OK && !strncmp(err.msg, bad[i].want, strlen(bad[i].want)), "refused: %s", err.msg);
    }
    char line[] = "k = v # not a comment";
    char *k, *v;
    tap_ok(rl_kv_split(line, 0, &k, &v, &err) == RL_OK && !strcmp(v, "v # not a comment"),
           "without comments (--set) '#' is part of the value");
    const char *names[] = {"base_lr", "batch_size", "epochs"};
    tap_ok(rl_kv_closest("lr", names, 3) == 0 && rl_kv_closest("epoch", names, 3) == 2 &&
               rl_kv_closest("zzzzzzzz", names, 3) == -1,
           "closest: an abbreviation and a typo find their key, nonsense finds none");
    char num[40];
    rl_kv_format_double(0.1 + 0.2, num, sizeof num);
    double back = 0;
    tap_ok(!strcmp(num, "0.30000000000000004") && rl_kv_double(num, &back) && back == 0.1 + 0.2,
           "doubles are written exactly (%s)", num);
    long long ll;
    tap_ok(!rl_kv_double("1e999", &back) && !rl_kv_double("1x", &back) && !rl_kv_int64("99999999999999999999", &ll) &&
               rl_kv_int64("-12", &ll) && ll == -12,
           "overflow and trailing junk are refused");
    char path[600];
    snprintf(path, sizeof path, "%s/nul.txt", tmp);
    rl_fs_write_file(path, "a = 1\nb = 2\0\n", 13, &err);
    char *out = NULL;
    tap_ok(rl_kv_read_file(path, "recipe", 1024, &out, &err) == RL_ERR_FORMAT && strstr(err.msg, "nul.txt:2: NUL byte"),
           "a NUL byte is refused with its line (%s)", err.msg);
    tap_ok(rl_kv_read_file(path, "recipe", 8, &out, &err) == RL_ERR_FORMAT && strstr(err.msg, "larger than 8 bytes"),
           "a file over the limit is refused before parsing (%s)", err.msg);
}

typedef struct {
    int calls;
    rl_log_level level;
    char msg[128];
} log_capture;

static void capture(rl_log_level level, const char *msg, void *user)
{
    log_capture *c = user;
    c->calls++;
    c->level = level;
    snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void log_callback(void)
{
    log_capture c = {0};
    rl_log_set(capture, &c);
    rl_log(RL_LOG_WARN, "disk %d%% full", 97);
    tap_ok(c.calls == 1 && c.level == RL_LOG_WARN && !strcmp(c.msg, "disk 97% full"),
           "rl_log hands level and formatted message to the callback");
    rl_log_set(NULL, NULL);
    rl_log(RL_LOG_DEBUG, "to stderr (the default)");
    tap_ok(c.calls == 1, "rl_log_set(NULL) restores the default: the callback is no longer called");
}

/* The core relab re-execs to, by OpenBLAS's pick and the CPU's widest ISA:
 * only a core narrower than the CPU is replaced, by the widest one the CPU
 * runs; cores as wide or unknown to relab stay as OpenBLAS chose. */
static void blas_core_choice(void)
{
    static const struct {
        const char *core;
        rl_isa cpu;
        const char *want; /* NULL: keep OpenBLAS's choice */
    } cases[] = {
        {"Prescott", RL_ISA_AVX512, "SkylakeX"},  /* Xeon family 6 model 207 under 0.3.21 */
        {"Haswell", RL_ISA_AVX512, "SkylakeX"},   /* OPENBLAS_CORETYPE=Haswell left in a Zen 5's environment */
        {"zen", RL_ISA_AVX512, "SkylakeX"},       /* names compare without case */
        {"Sandybridge", RL_ISA_AVX2, "Haswell"},
        {"Nehalem", RL_ISA_AVX2, "Haswell"},
        {"Core2", RL_ISA_AVX, "Sandybridge"},
        {"Cooperlake", RL_ISA_AVX512, NULL},      /* what 0.3.21 picks on Zen 4 and Zen 5 */
        {"SkylakeX", RL_ISA_AVX512, NULL},
        {"Haswell", RL_ISA_AVX2, NULL},
        {"Zen", RL_ISA_AVX2, NULL},
        {"Prescott", RL_ISA_SSE, NULL},
        {"SkylakeX", RL_ISA_AVX2, NULL},          /* wider than the CPU: not relab's to narrow */
        {"NeoverseN1", RL_ISA_AVX512, NULL},      /* a core relab does not know */
        {NULL, RL_ISA_AVX512, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = rl_blas_better_core_for(cases[i].core, cases[i].cpu);
        tap_ok(cases[i].want ? got && !strcmp(got, cases[i].want) : got == NULL,
               "OpenBLAS core %s on an %s CPU: relab runs %s (got %s)", cases[i].core ? cases[i].core : "(none)",
               rl_isa_name(cases[i].cpu), cases[i].want ? cases[i].want : "it as chosen", got ? got : "it as chosen");
    }
}

/* Whether the kernel records MADV_HUGEPAGE ("hg" in VmFlags) for the mapping
 * holding p: 1 yes, 0 no, -1 no smaps to read. */
static int advised_huge(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int inside = 0, found = 0;
    const uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
        } else if (inside && !strncmp(line, "VmFlags:", 8)) {
            found = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(f);
    return found;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static void mem(void)
{
    const size_t small = (1 << 20) + 3, big = (8 << 20) + 3;
    unsetenv("RELAB_HUGE_PAGES"); /* a user's setting would turn the advice off */
    unsigned char *s = rl_alloc(small), *b = rl_alloc(big);
    tap_ok(s && (uintptr_t)s % 64 == 0 && all_zero(s, small), "rl_alloc of 1 MiB: 64-byte aligned and zeroed");
    tap_ok(b && (uintptr_t)b % (2 << 20) == 0 && all_zero(b, big), "rl_alloc of 8 MiB: 2 MiB aligned and zeroed");
    if (b) memset(b, 0xff, big); /* all of it is the caller's (AddressSanitizer checks) */
    /* the advice needs a kernel with transparent huge pages */
    struct stat st;
    if (stat("/sys/kernel/mm/transparent_hugepage/enabled", &st) != 0 || advised_huge(b) < 0) {
        printf("ok %d - # SKIP no transparent huge pages or no /proc/self/smaps here\n", ++tap_count);
        printf("ok %d - # SKIP no transparent huge pages or no /proc/self/smaps here\n", ++tap_count);
    } else {
        tap_ok(advised_huge(b) == 1, "the 8 MiB allocation is advised as huge pages (VmFlags hg)");
        setenv("RELAB_HUGE_PAGES", "0", 1);
        unsigned char *plain = rl_alloc(big);
        unsetenv("RELAB_HUGE_PAGES");
        tap_ok(plain && advised_huge(plain) == 0, "with RELAB_HUGE_PAGES=0 it is not");
        rl_free(plain);
    }
    rl_free(s);
    rl_free(b);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s/relab-test-util-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) tap_skip_all("cannot make a temporary folder");
    fs();
    lock();
    kv();
    log_callback();
    blas_core_choice();
    mem();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) tap_diag("could not remove %s", tmp);
    return tap_done();
}
