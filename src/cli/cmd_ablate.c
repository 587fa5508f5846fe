/* cmd_ablate.c: relab ablate GRID [--out DIR] [--dry-run] [--jobs N]: trains
 * every run of a grid (eval/ablate.h) by spawning `relab train` (a crash or an
 * out-of-memory kill then stops one run, not the whole grid), skips finished
 * runs, resumes interrupted ones, predicts and scores each finished run, and
 * writes DIR/table.md, DIR/table.csv, DIR/curves.svg and, with a second
 * metric, DIR/imagenet_vs_real.svg. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "eval/ablate.h"
#include "ablate/svg.h"
#include "eval/metrics.h"
#include "eval/preds.h"
#include "eval/refsets.h"
#include "train/checkpoint.h"
#include "eval/predict.h"
#include "util/timer.h"

#define MAX_SETS 64

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: relab ablate GRID [--out DIR] [--dry-run] [--jobs N]\n\n"
            "Runs every combination of a grid file (docs/ablate.md) as `relab train` into\n"
            "DIR/runs/<model>-<variant>-<epochs>ep-s<seed>/ (log in train.log there): finished runs\n"
            "(final.h5) are skipped, interrupted ones (checkpoints) resumed.  Each finished run is\n"
            "predicted (preds.h5) and scored; DIR gets table.md and table.csv (Beyer et al. 2020\n"
            "Table 2 layout: median over seeds, difference to the baseline in brackets), curves.svg\n"
            "and, with a second metric (ReaL or alt_labels), imagenet_vs_real.svg.  The table is\n"
            "printed at the end.\n"
            "  -o, --out DIR   output folder (default: ablate-<grid name>)\n"
            "  -n, --dry-run   list the runs, their state and commands; train nothing\n"
            "  -j, --jobs N    runs trained at once (default 1; each uses the recipe's threads)\n"
            "Exit 0 ok, 1 a run or a step failed (the others still ran), 2 usage.\n");
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static int newer_or_same(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_mtime >= sb.st_mtime;
}

static int make_dir(const char *d)
{
    if (mkdir(d, 0777) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "relab ablate: %s: cannot create the folder (%s)\n", d, strerror(errno));
    return -1;
}

typedef enum { RUN_NEW, RUN_RESUME, RUN_DONE } run_state;

static run_state state_of(const char *dir)
{
    char p[4200];
    int64_t newest;
    snprintf(p, sizeof p, "%s/final.h5", dir);
    if (exists(p)) return RUN_DONE;
    return rl_checkpoint_list(dir, &newest, 1) > 0 ? RUN_RESUME : RUN_NEW;
}

/* Builds the argv of `relab train` for run r; strings point into store. */
static int train_argv(const rl_ablate_grid *g, int r, const char *self, const char *dir, run_state st,
                      char (*store)[RL_ABLATE_SETS], char **argv, rl_error *err)
{
    int a = 0;
    argv[a++] = (char *)self;
    argv[a++] = "train";
    if (st == RUN_RESUME) {
        /* The checkpoint carries the recipe with the overrides applied. */
        argv[a++] = "--resume";
        argv[a++] = (char *)dir;
    } else {
        rl_ablate_run_recipe(g, r, store[MAX_SETS], RL_ABLATE_SETS);
        argv[a++] = store[MAX_SETS];
        argv[a++] = "--out";
        argv[a++] = (char *)dir;
        int n = rl_ablate_run_sets(g, r, store, MAX_SETS, err);
        if (n < 0) return -1;
        for (int i = 0; i < n; i++) {
            argv[a++] = "--set";
            argv[a++] = store[i];
        }
    }
    argv[a] = NULL;
    return a;
}

static pid_t spawn(char **argv, const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    execv(argv[0], argv);
    fprintf(stderr, "relab ablate: cannot run %s (%s)\n", argv[0], strerror(errno));
    _exit(127);
}

/* Waits for one child run and records how it ended.  A signal (Ctrl-C also
 * reaches the children, which checkpoint and exit) interrupts wait(); keep
 * waiting so that no run is left behind.  Returns -1 when there is no child. */
static int reap(const rl_ablate_grid *g, pid_t *pids, const double *t0, int *failed, int n, int *running)
{
    int status;
    pid_t p;
    while ((p = wait(&status)) < 0 && errno == EINTR) {
    }
    if (p < 0) return -1;
    for (int q = 0; q < n; q++)
        if (pids[q] == p) {
            pids[q] = 0;
            (*running)--;
            char qn[256];
            rl_ablate_run_name(g, q, qn, sizeof qn);
            failed[q] = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            fprintf(stderr, "relab ablate: %s %s after %.0f s\n", qn,
                    !failed[q] ? "finished" : stop_requested ? "stopped (its checkpoint is kept)" : "FAILED",
                    rl_now() - t0[q]);
        }
    return 0;
}

/* Scores one predictions file: primary top-1 (against grid labels if given)
 * and the second metric (ReaL or alt labels), NaN when absent. */
static rl_status score(const rl_ablate_grid *g, const rl_sets *real, const char *path, double *acc1, double *acc2,
                       rl_error *err)
{
    rl_preds p;
    rl_status st = rl_preds_read(path, &p, err);
    if (st) return st;
    int32_t *labels = malloc(sizeof *labels * (size_t)(p.n ? p.n : 1));
    int64_t *ref = malloc(sizeof *ref * (size_t)(p.n ? p.n : 1));
    rl_eval_result res;
    if (!labels || !ref) {
        st = rl_fail(err, RL_ERR_NOMEM, "out of memory scoring %s", path);
        goto done;
    }
    if ((st = rl_eval_ref_index(&p, ref, path, err))) goto done;
    if ((st = rl_eval_labels(&p, ref, g->labels[0] ? g->labels : NULL, NULL, labels, err))) goto done;
    if ((st = rl_eval_run(&p, labels, ref, g->real[0] ? real : NULL, NULL, NULL, &res, err))) goto done;
    *acc1 = res.top1.acc;
    *acc2 = g->real[0] ? res.real1.acc : NAN;
    if (g->alt_labels[0]) {
        if ((st = rl_eval_labels(&p, ref, g->alt_labels, NULL, labels, err))) goto done;
        if ((st = rl_eval_run(&p, labels, ref, NULL, NULL, NULL, &res, err))) goto done;
        *acc2 = res.top1.acc;
    }
done:
    free(labels);
    free(ref);
    rl_preds_free(&p);
    return st;
}

static int write_file(const char *path, void (*fn)(FILE *, const void *), const void *ctx)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "relab ablate: %s: cannot write (%s)\n", tmp, strerror(errno));
        return -1;
    }
    fn(f, ctx);
    if (fclose(f) || rename(tmp, path)) {
        fprintf(stderr, "relab ablate: %s: write failed (disk full?)\n", path);
        return -1;
    }
    return 0;
}

typedef struct {
    const rl_ablate_grid *g;
    const double *a1, *a2;
    const rl_ablate_curve *curves;
    const int *have;
} outputs;

static void out_md(FILE *f, const void *c)
{
    const outputs *o = c;
    fprintf(f, "# %s\n\n", o->g->path);
    rl_ablate_table_md(f, o->g, o->a1, o->a2);
}
static void out_csv(FILE *f, const void *c)
{
    const outputs *o = c;
    rl_ablate_table_csv(f, o->g, o->a1, o->a2);
}
static void out_curves(FILE *f, const void *c)
{
    const outputs *o = c;
    rl_ablate_svg_curves(f, o->g, o->curves, o->have);
}
static void out_scatter(FILE *f, const void *c)
{
    const outputs *o = c;
    rl_ablate_svg_scatter(f, o->g, o->a1, o->a2);
}

int cmd_ablate(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'}, {"dry-run", no_argument, NULL, 'n'},
                                         {"jobs", required_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int dry = 0, jobs = 1, c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:nj:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': dry = 1; break;
        case 'j':
            jobs = (int)strtol(optarg, &end, 10);
            if (end == optarg || *end || jobs < 1 || jobs > 256) {
                fprintf(stderr, "relab ablate: --jobs '%s' must be an integer in 1..256\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "relab ablate: expected one grid file\n");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    const char *grid_path = argv[optind];
    char outbuf[2048];
    if (!out) {
        const char *base = strrchr(grid_path, '/');
        base = base ? base + 1 : grid_path;
        snprintf(outbuf, sizeof outbuf, "ablate-%.*s", (int)strcspn(base, "."), base);
        out = outbuf;
    }
    rl_error err = {0};
    rl_ablate_grid *g = malloc(sizeof *g);
    if (!g) return RL_EXIT_FAIL;
    if (rl_ablate_grid_read(grid_path, out, g, &err)) {
        fprintf(stderr, "relab ablate: %s\n", err.msg);
        free(g);
        return RL_EXIT_USAGE;
    }
    const int n = rl_ablate_num_runs(g);
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        fprintf(stderr, "relab ablate: cannot find the relab binary (/proc/self/exe)\n");
        free(g);
        return RL_EXIT_FAIL;
    }
    self[sl] = '\0';
    char runs_dir[2100];
    snprintf(runs_dir, sizeof runs_dir, "%s/runs", out);
    if (!dry && (make_dir(out) || make_dir(runs_dir))) {
        free(g);
        return RL_EXIT_FAIL;
    }
    char(*store)[RL_ABLATE_SETS] = calloc(MAX_SETS + 1, RL_ABLATE_SETS);
    char **targv = calloc(2 * MAX_SETS + 8, sizeof *targv);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    double *a1 = malloc(sizeof *a1 * (size_t)n), *a2 = malloc(sizeof *a2 * (size_t)n), *t0 = calloc((size_t)n, sizeof *t0);
    int *have = calloc((size_t)n, sizeof *have), *failed = calloc((size_t)n, sizeof *failed);
    rl_ablate_curve *curves = malloc(sizeof *curves * (size_t)n);
    rl_sets real = {0};
    int rc = RL_EXIT_OK, running = 0;
    if (!store || !targv || !pids || !a1 || !a2 || !t0 || !have || !failed || !curves) {
        fprintf(stderr, "relab ablate: out of memory\n");
        rc = RL_EXIT_FAIL;
        goto done;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    static const char *const state_name[] = {"new", "resume", "done"};
    int already_done = 0;
    fprintf(stderr, "relab ablate: %s: %d runs (%d models x %d variants x %d schedules x %d seeds) in %s\n", grid_path, n,
            g->nmodels, g->nvariants, g->nepochs, g->nseeds, out);
    const double start = rl_now();
    for (int r = 0; r < n && !stop_requested; r++) {
        char name[256], dir[2400], log[2500];
        rl_ablate_run_name(g, r, name, sizeof name);
        snprintf(dir, sizeof dir, "%s/%s", runs_dir, name);
        run_state st = state_of(dir);
        if (dry) {
            printf("%-40s %s", name, state_name[st]);
            if (st != RUN_DONE) {
                if (train_argv(g, r, "relab", dir, st, store, targv, &err) < 0) {
                    fprintf(stderr, "relab ablate: %s\n", err.msg);
                    rc = RL_EXIT_FAIL;
                    goto done;
                }
                printf("%*s", st == RUN_NEW ? 3 : 0, "");
                for (int i = 0; targv[i]; i++) printf(" %s", targv[i]);
            }
            printf("\n");
            continue;
        }
        if (st == RUN_DONE) {
            already_done++;
            continue;
        }
        while (running >= jobs && reap(g, pids, t0, failed, n, &running) == 0) {
        }
        if (stop_requested) break;
        if (make_dir(dir)) {
            failed[r] = 1;
            continue;
        }
        if (train_argv(g, r, self, dir, st, store, targv, &err) < 0) {
            fprintf(stderr, "relab ablate: %s\n", err.msg);
            failed[r] = 1;
            continue;
        }
        snprintf(log, sizeof log, "%s/train.log", dir);
        fprintf(stderr, "relab ablate: [%d/%d] %s: %s (log %s)\n", r + 1, n, name,
                st == RUN_RESUME ? "resuming" : "training", log);
        t0[r] = rl_now();
        pids[r] = spawn(targv, log);
        if (pids[r] < 0) {
            fprintf(stderr, "relab ablate: cannot start a process (%s)\n", strerror(errno));
            failed[r] = 1;
            pids[r] = 0;
            continue;
        }
        running++;
    }
    while (running > 0 && reap(g, pids, t0, failed, n, &running) == 0) {
    }
    if (dry) goto done;
    if (stop_requested) {
        fprintf(stderr, "relab ablate: stopped; run the same command again to resume\n");
        rc = RL_EXIT_FAIL;
        goto done;
    }
    fprintf(stderr, "relab ablate: training done in %.0f s (%d runs were already finished)\n", rl_now() - start, already_done);

    if (g->real[0] && rl_real_read(g->real, 1000, &real, &err)) {
        fprintf(stderr, "relab ablate: %s\n", err.msg);
        rc = RL_EXIT_FAIL;
        goto done;
    }
    for (int r = 0; r < n; r++) {
        char name[256], dir[2400], path[2500], fin[2500];
        rl_ablate_run_name(g, r, name, sizeof name);
        snprintf(dir, sizeof dir, "%s/%s", runs_dir, name);
        a1[r] = a2[r] = NAN;
        snprintf(path, sizeof path, "%s/metrics.csv", dir);
        have[r] = rl_ablate_curve_read(path, &curves[r], &err) == RL_OK;
        snprintf(fin, sizeof fin, "%s/final.h5", dir);
        snprintf(path, sizeof path, "%s/preds.h5", dir);
        if (!exists(fin)) {
            fprintf(stderr, "relab ablate: %s: not finished, left out of the table\n", name);
            rc = RL_EXIT_FAIL;
            continue;
        }
        if (!newer_or_same(path, fin)) {
            rl_predict_options po = {.data = g->eval_data, .topk = 5, .threads = -1};
            rl_preds p;
            double tp = rl_now();
            if (rl_predict_run(dir, &po, &p, &err) || rl_preds_write(path, &p, &err)) {
                fprintf(stderr, "relab ablate: %s: %s\n", name, err.msg);
                rl_preds_free(&p);
                rc = RL_EXIT_FAIL;
                continue;
            }
            rl_preds_free(&p);
            fprintf(stderr, "relab ablate: %s: predicted %s in %.0f s\n", name, g->eval_data, rl_now() - tp);
        }
        if (score(g, &real, path, &a1[r], &a2[r], &err)) {
            fprintf(stderr, "relab ablate: %s: %s\n", name, err.msg);
            rc = RL_EXIT_FAIL;
        }
    }
    outputs o = {g, a1, rl_ablate_second_metric(g) ? a2 : NULL, curves, have};
    char path[2200];
    snprintf(path, sizeof path, "%s/table.md", out);
    if (write_file(path, out_md, &o)) rc = RL_EXIT_FAIL;
    snprintf(path, sizeof path, "%s/table.csv", out);
    if (write_file(path, out_csv, &o)) rc = RL_EXIT_FAIL;
    snprintf(path, sizeof path, "%s/curves.svg", out);
    if (write_file(path, out_curves, &o)) rc = RL_EXIT_FAIL;
    if (rl_ablate_second_metric(g)) {
        snprintf(path, sizeof path, "%s/imagenet_vs_real.svg", out);
        if (write_file(path, out_scatter, &o)) rc = RL_EXIT_FAIL;
    } else {
        fprintf(stderr, "relab ablate: no second metric (real or alt_labels), so no imagenet_vs_real.svg\n");
    }
    rl_ablate_table_md(stdout, g, a1, o.a2);
    fprintf(stderr, "relab ablate: wrote %s/table.md, table.csv, curves.svg%s in %.0f s\n", out,
            rl_ablate_second_metric(g) ? ", imagenet_vs_real.svg" : "", rl_now() - start);
done:
    for (int r = 0; r < n && rc == RL_EXIT_OK; r++)
        if (failed && failed[r]) rc = RL_EXIT_FAIL;
    rl_sets_free(&real);
    free(store);
    free(targv);
    free(pids);
    free(a1);
    free(a2);
    free(t0);
    free(have);
    free(failed);
    free(curves);
    free(g);
    return rc;
}
