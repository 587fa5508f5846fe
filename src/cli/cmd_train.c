/* cmd_train.c: relab train RECIPE --out DIR [--set key=value ...] | --resume DIR */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "train/dist.h"
#include "train/recipe.h"
#include "train/run.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab train RECIPE --out DIR [--set key=value ...]\n"
                 "       relab train --resume DIR [--set key=value ...]\n\n"
                 "Trains the model a recipe describes (docs/recipes.md lists every key).\n"
                 "DIR (created with its parents if missing; refused if it holds another run)\n"
                 "receives recipe.txt, metrics.csv, checkpoints ckpt-*.h5 and final.h5; one\n"
                 "relab at a time may use it (DIR/relab.lock).\n"
                 "Ctrl-C, SIGTERM or SIGUSR1 writes a checkpoint at the end of the current step\n"
                 "and stops; --resume continues exactly.\n\n"
                 "  -o, --out DIR       output folder of a new run\n"
                 "  -s, --set KEY=VAL   override a recipe key (repeatable)\n"
                 "  -r, --resume DIR    continue the run in DIR from its newest good checkpoint\n"
                 "      --sync-bn       under mpirun: BN statistics over the global batch; the same\n"
                 "                      as --set sync_bn=true, kept in the run's recipe; docs/cluster.md\n"
                 "  -h, --help          this help\n\n"
                 "Exit status: 0 finished, 1 failed, 2 usage error, 75 stopped by a signal with\n"
                 "a checkpoint written (resumable: run relab train --resume DIR).\n");
}

/* Reads the arguments; returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, const char **recipe, const char **out, const char **resume,
                      const char **sets, int *nsets)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},    {"set", required_argument, 0, 's'},
                                         {"resume", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'},
                                         {"sync-bn", no_argument, 0, 'B'},      {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': *out = optarg; break;
        case 's': sets[(*nsets)++] = optarg; break;
        case 'r': *resume = optarg; break;
        case 'B': sets[(*nsets)++] = "sync_bn=true"; break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    *recipe = optind < argc ? argv[optind] : NULL;
    if ((*resume && (*recipe || *out)) || (!*resume && (!*recipe || !*out)) || optind + 1 < argc) {
        fprintf(stderr, "relab train: give RECIPE and --out DIR, or --resume DIR alone\n");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    return -1;
}

int cmd_train(int argc, char **argv)
{
    const char *recipe_path = NULL, *out = NULL, *resume = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0;
    if (!sets) return RL_EXIT_FAIL;
    int rc = parse_args(argc, argv, &recipe_path, &out, &resume, sets, &nsets);
    rl_error err = {0};
    rl_recipe recipe;
    rl_status st = RL_OK;
    if (rc < 0 && resume) st = rl_train_resume_recipe(resume, sets, nsets, &recipe, &err);
    if (rc < 0 && !resume) st = rl_recipe_load_with(recipe_path, sets, nsets, &recipe, &err);
    free(sets);
    if (rc >= 0) return rc;
    if (st) {
        fprintf(stderr, "relab train: %s\n", err.msg);
        return st == RL_ERR_ARG ? RL_EXIT_USAGE : RL_EXIT_FAIL;
    }
    rl_dist *dist; /* under mpirun: this process's rank; else a world of 1 */
    if ((st = rl_dist_init(&dist, &err))) {
        fprintf(stderr, "relab train: %s\n", err.msg);
        return st == RL_ERR_ARG ? RL_EXIT_USAGE : RL_EXIT_FAIL;
    }
    rl_dist_set_sync_bn(dist, recipe.sync_bn);
    const int rank = rl_dist_rank(dist), world = rl_dist_world(dist);
    rl_train_options opt = {.out_dir = resume ? resume : out,
                            .resume = resume != NULL,
                            .stop = cli_stop_on_signals(),
                            .live_progress = isatty(STDERR_FILENO)};
    rl_train_result res;
    st = rl_train_run(&recipe, &opt, dist, &res, &err);
    if (st) {
        if (world > 1)
            fprintf(stderr, "relab train (rank %d of %d): %s\n", rank, world, err.msg);
        else
            fprintf(stderr, "relab train: %s\n", err.msg);
        /* A failure on one rank leaves the others blocked in a collective:
         * end the whole job (a stop request is agreed on by every rank). */
        if (st != RL_ERR_STOPPED) {
            rl_dist_abort(dist, RL_EXIT_FAIL);
            return st == RL_ERR_ARG ? RL_EXIT_USAGE : RL_EXIT_FAIL;
        }
        rl_dist_finalize(dist);
        return RL_EXIT_STOPPED;
    }
    rl_dist_report(dist);
    rl_dist_finalize(dist);
    if (rank != 0) return RL_EXIT_OK;
    printf("final: epochs %d, steps %lld, val top-1 %.2f%%, top-5 %.2f%%, %.1f s\n", res.epochs_done,
           (long long)res.steps, 100 * res.val_top1, 100 * res.val_top5, res.seconds);
    return RL_EXIT_OK;
}
