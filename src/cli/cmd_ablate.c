/* cmd_ablate.c: relab ablate GRID [--out DIR] [--dry-run] [--jobs N]: trains
 * every run of a grid (src/ablate: grid.h, sched.h), predicts and scores each
 * finished run (results.h) and writes the table and plots (outputs.h). */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ablate/facts.h"
#include "ablate/grid.h"
#include "ablate/outputs.h"
#include "ablate/results.h"
#include "ablate/runs.h"
#include "ablate/sched.h"
#include "ablate/table.h"
#include "cli/commands.h"
#include "util/timer.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab ablate GRID [--out DIR] [--dry-run] [--jobs N]\n\n"
                 "Runs every combination of a grid file (docs/ablate.md) as `relab train` into\n"
                 "DIR/runs/<model>-<variant>-<epochs>ep-s<seed>/ (log in train.log there): finished runs\n"
                 "(final.h5) are skipped, interrupted ones (checkpoints) resumed.  Each finished run is\n"
                 "predicted (preds.h5) and scored; DIR gets table.md and table.csv (Beyer et al. 2020\n"
                 "Table 2 layout: median over seeds, difference to the baseline in brackets; table.md\n"
                 "also lists the steps each run made), runs.csv (one row per run), curves.svg and, with\n"
                 "a second metric (ReaL or alt_labels), imagenet_vs_real.svg.  The table is printed at\n"
                 "the end.  Ctrl-C (or SIGTERM, SIGUSR1) stops every run at a checkpoint; the same command\n"
                 "resumes them.\n"
                 "  -o, --out DIR   output folder (default: ablate-<grid name>)\n"
                 "  -n, --dry-run   list the runs, their state and commands (stdout) and the steps each\n"
                 "                  will make, from its recipe's plan (stderr); train nothing\n"
                 "  -j, --jobs N    runs trained at once (default 1; each uses the recipe's threads)\n"
                 "Exit 0 ok, 1 a run or a step failed (the others still ran) or a stop, 2 usage.\n");
}

/* One line per run with what its recipe's plan says, on stderr (stdout
 * holds the listing scripts read). */
static void dry_run_steps(const rl_ablate_grid *g)
{
    fprintf(stderr, "relab ablate: steps per run, from each run's recipe as relab train plans it:\n");
    fprintf(stderr, "  %-40s %-10s %-8s %9s %6s  %s\n", "run", "network", "loss", "images", "batch",
            "epochs x steps = steps");
    for (int r = 0; r < rl_ablate_num_runs(g); r++) {
        char name[256], dir[4096];
        rl_ablate_facts f;
        rl_error err;
        rl_ablate_run_name(g, r, name, sizeof name);
        /* a started run's folder holds its image listing cache; a new run has none */
        int started = !rl_ablate_run_dir(g, r, dir, sizeof dir, &err) && access(dir, F_OK) == 0;
        if (rl_ablate_run_facts(g, r, dir, started ? dir : NULL, &f, &err)) {
            fprintf(stderr, "  %-40s cannot plan: %s\n", name, err.msg);
            continue;
        }
        fprintf(stderr, "  %-40s %-10s %-8s %9lld %6d  %d x %lld = %lld\n", name, f.arch, f.loss,
                (long long)f.train_images, f.batch_size, f.epochs, (long long)f.steps_per_epoch, (long long)f.steps);
    }
}

/* --dry-run: name, state and command of every run. */
static int dry_run(const rl_ablate_grid *g)
{
    rl_ablate_command *cmd = malloc(sizeof *cmd);
    if (!cmd) return RL_EXIT_FAIL;
    int rc = RL_EXIT_OK;
    for (int r = 0; r < rl_ablate_num_runs(g) && rc == RL_EXIT_OK; r++) {
        char name[256], dir[4096];
        rl_error err;
        rl_ablate_run_name(g, r, name, sizeof name);
        if (rl_ablate_run_dir(g, r, dir, sizeof dir, &err)) {
            fprintf(stderr, "relab ablate: %s\n", err.msg);
            rc = RL_EXIT_FAIL;
            break;
        }
        rl_ablate_state st = rl_ablate_state_of(dir);
        printf("%-40s %s", name, rl_ablate_state_name(st));
        if (st != RL_ABLATE_DONE) {
            if (rl_ablate_train_command(g, r, "relab", dir, st, cmd, &err)) {
                fprintf(stderr, "relab ablate: %s\n", err.msg);
                rc = RL_EXIT_FAIL;
                break;
            }
            printf("%*s", st == RL_ABLATE_NEW ? 3 : 0, "");
            for (int i = 0; cmd->argv[i]; i++)
                printf(" %s", cmd->argv[i]);
        }
        printf("\n");
    }
    free(cmd);
    fflush(stdout);
    if (rc == RL_EXIT_OK) dry_run_steps(g);
    return rc;
}

/* Trains, scores and writes the outputs. */
static int run_grid(const rl_ablate_grid *g, int jobs)
{
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        fprintf(stderr, "relab ablate: cannot find the relab binary (/proc/self/exe)\n");
        return RL_EXIT_FAIL;
    }
    self[sl] = '\0';
    const int n = rl_ablate_num_runs(g);
    int *failed = calloc((size_t)n, sizeof *failed), already_done = 0, rc = RL_EXIT_OK;
    rl_ablate_results res = {0};
    rl_error err;
    if (!failed || rl_ablate_results_alloc(&res, g, &err)) {
        fprintf(stderr, "relab ablate: out of memory\n");
        free(failed);
        return RL_EXIT_FAIL;
    }
    fprintf(stderr, "relab ablate: %s: %d runs (%d models x %d variants x %d schedules x %d seeds) in %s\n", g->path, n,
            g->nmodels, g->nvariants, g->nepochs, g->nseeds, g->out);
    const double start = rl_now();
    const rl_ablate_train_options opts = {.relab = self, .jobs = jobs, .stop = cli_stop_on_signals()};
    rl_status st = rl_ablate_train(g, &opts, failed, &already_done, &err);
    if (st) {
        fprintf(stderr, "relab ablate: %s\n", err.msg);
        rc = RL_EXIT_FAIL;
        goto done;
    }
    fprintf(stderr, "relab ablate: training done in %.0f s (%d runs were already finished)\n", rl_now() - start,
            already_done);
    if (rl_ablate_score(g, &res, &err)) rc = RL_EXIT_FAIL;
    if (rl_ablate_write_outputs(g, &res, &err)) {
        fprintf(stderr, "relab ablate: %s\n", err.msg);
        rc = RL_EXIT_FAIL;
        goto done;
    }
    if (!rl_ablate_second_metric(g))
        fprintf(stderr, "relab ablate: no second metric (real or alt_labels), so no imagenet_vs_real.svg\n");
    rl_ablate_table_md(stdout, g, res.primary, rl_ablate_second_metric(g) ? res.second : NULL);
    rl_ablate_steps_md(stdout, g, res.steps);
    fprintf(stderr, "relab ablate: wrote %s/table.md, table.csv, runs.csv, curves.svg%s in %.0f s\n", g->out,
            rl_ablate_second_metric(g) ? ", imagenet_vs_real.svg" : "", rl_now() - start);
done:
    for (int r = 0; r < n; r++)
        if (failed[r]) rc = RL_EXIT_FAIL;
    rl_ablate_results_free(&res);
    free(failed);
    return rc;
}

int cmd_ablate(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"jobs", required_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
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
    int rc = RL_EXIT_USAGE;
    if (rl_ablate_grid_read(grid_path, out, g, &err))
        fprintf(stderr, "relab ablate: %s\n", err.msg);
    else
        rc = dry ? dry_run(g) : run_grid(g, jobs);
    free(g);
    return rc;
}
