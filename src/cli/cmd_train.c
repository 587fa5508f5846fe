/* cmd_train.c: relab train RECIPE --out DIR [--set key=value ...] | --resume DIR */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "train/checkpoint.h"
#include "train/dist.h"
#include "train/recipe.h"
#include "train/trainer.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: relab train RECIPE --out DIR [--set key=value ...]\n"
            "       relab train --resume DIR [--set key=value ...]\n\n"
            "Trains the model a recipe describes (docs/recipes.md lists every key).\n"
            "DIR receives recipe.txt, metrics.csv, checkpoints ckpt-*.h5 and final.h5.\n"
            "Ctrl-C, SIGTERM or SIGUSR1 writes a checkpoint at the end of the current step\n"
            "and stops; --resume continues exactly.\n\n"
            "  -o, --out DIR       output folder (created if missing)\n"
            "  -s, --set KEY=VAL   override a recipe key (repeatable)\n"
            "  -r, --resume DIR    continue the run in DIR from its newest good checkpoint\n"
            "      --sync-bn       under mpirun: BN statistics over the global batch; the same\n"
            "                      as --set sync_bn=true, kept in the run's recipe; docs/cluster.md\n"
            "  -h, --help          this help\n\n"
            "Exit status: 0 finished, 1 failed, 2 usage error, 75 stopped by a signal with\n"
            "a checkpoint written (resumable: run relab train --resume DIR).\n");
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"set", required_argument, 0, 's'},
                                         {"resume", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {"sync-bn", no_argument, 0, 'B'},
                                         {0, 0, 0, 0}};
    const char *out = NULL, *resume = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'r': resume = optarg; break;
        case 'B': sets[nsets++] = "sync_bn=true"; break;
        case 'h': usage(stdout); free(sets); return RL_EXIT_OK;
        default: usage(stderr); free(sets); return RL_EXIT_USAGE;
        }
    }
    const char *recipe_path = optind < argc ? argv[optind] : NULL;
    if ((resume && (recipe_path || out)) || (!resume && (!recipe_path || !out)) || optind + 1 < argc) {
        fprintf(stderr, "relab train: give RECIPE and --out DIR, or --resume DIR alone\n");
        usage(stderr);
        free(sets);
        return RL_EXIT_USAGE;
    }
    rl_error err = {0};
    rl_recipe recipe;
    rl_status st;
    if (resume) {
        char ckpt[4096], *text = NULL;
        st = rl_checkpoint_latest(resume, ckpt, sizeof ckpt, &err);
        if (!st) st = rl_checkpoint_recipe(ckpt, &text, &err);
        if (!st) {
            st = rl_recipe_load_text(text, ckpt, &recipe, &err);
            for (int i = 0; !st && i < nsets; i++) st = rl_recipe_set(&recipe, sets[i], "--set", &err);
            if (!st) st = rl_recipe_finish(&recipe, ckpt, &err);
        }
        free(text);
        out = resume;
    } else {
        st = rl_recipe_load_with(recipe_path, sets, nsets, &recipe, &err);
    }
    free(sets);
    if (st) {
        fprintf(stderr, "relab train: %s\n", err.msg);
        return st == RL_ERR_ARG ? RL_EXIT_USAGE : RL_EXIT_FAIL;
    }
    rl_dist *dist; /* under mpirun: this process's rank; else a world of 1 */
    if ((st = rl_dist_init(&dist, &err))) {
        fprintf(stderr, "relab train: %s\n", err.msg);
        return RL_EXIT_FAIL;
    }
    rl_dist_set_sync_bn(dist, recipe.sync_bn);
    const int rank = rl_dist_rank(dist), world = rl_dist_world(dist);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGUSR1, on_signal); /* what `sbatch --signal=USR1@300` sends before a time limit */
    rl_train_options opt = {.out_dir = out, .resume = resume != NULL, .stop = &stop_requested, .log = stderr,
                            .rank = rank, .world = world, .dist = dist, .kill_after_step = 0,
                            .poison_at_step = 0};
    /* for tests/test_train.sh and test_dist.sh: die by SIGKILL after a given
     * step, as a crash would (on one rank only with RELAB_TEST_KILL_RANK) */
    const char *kill_at = getenv("RELAB_TEST_KILL_AFTER_STEP"), *kill_rank = getenv("RELAB_TEST_KILL_RANK");
    if (kill_at && (!kill_rank || atoi(kill_rank) == rank)) opt.kill_after_step = atoll(kill_at);
    const char *poison = getenv("RELAB_TEST_POISON_STEP");
    if (poison) opt.poison_at_step = atoll(poison);
    rl_train_result res;
    st = rl_train_run(&recipe, &opt, &res, &err);
    if (st) {
        if (world > 1)
            fprintf(stderr, "relab train (rank %d of %d): %s\n", rank, world, err.msg);
        else
            fprintf(stderr, "relab train: %s\n", err.msg);
        /* A failure on one rank leaves the others blocked in a collective:
         * end the whole job (a stop request is agreed on by every rank). */
        if (st != RL_ERR_STOPPED) {
            rl_dist_abort(dist, RL_EXIT_FAIL);
            return RL_EXIT_FAIL;
        }
        rl_dist_finalize(dist);
        return RL_EXIT_STOPPED;
    }
    rl_dist_report(dist, stderr);
    rl_dist_finalize(dist);
    if (rank != 0) return RL_EXIT_OK;
    printf("final: epochs %d, steps %lld, val top-1 %.2f%%, top-5 %.2f%%, %.1f s\n", res.epochs_done,
           (long long)res.steps, 100 * res.val_top1, 100 * res.val_top5, res.seconds);
    return RL_EXIT_OK;
}
