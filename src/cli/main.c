/* main.c: the relab command line; dispatches to one subcommand. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "util/blas.h"
#include "util/log.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a model from a recipe (resumable, checkpointed)"},
    {"predict", cmd_predict, "write a checkpoint's predictions on a data set to HDF5"},
    {"eval", cmd_eval, "score predictions: top-1/5, ReaL, multi-label, per group, intervals"},
    {"compare", cmd_compare, "McNemar's paired test between two prediction files"},
    {"clean", cmd_clean, "filter or relabel training labels with a teacher's predictions"},
    {"noise", cmd_noise, "inject reproducible label noise into a label list (teaching)"},
    {"pack", cmd_pack, "pack an image folder into HDF5 shards"},
    {"ablate", cmd_ablate, "run a grid of recipes and write the Table 2 layout"},
    {"report", cmd_report, "write one self-contained HTML page about a run, an ablation or the demo"},
    {"list", cmd_list, "write the label list of a data set: IDX files, image folders, ImageNet val/V2"},
    {"split", cmd_split, "split a label list into class-stratified folds (out-of-fold teachers)"},
    {"export-images", cmd_export_images, "write IDX images as an ImageNet-style JPEG folder"},
    {"info", cmd_info, "show the BLAS core, threads, build options and model summaries"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: relab COMMAND [OPTIONS] ...\n\n"
                 "Train ResNets on CPUs and study label noise (Beyer et al. 2020).\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'relab COMMAND --help' describes one command.\n");
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

const volatile sig_atomic_t *cli_stop_on_signals(void)
{
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    signal(SIGUSR1, on_stop_signal);
    return &stop_requested;
}

int cli_int_option(const char *cmd, const char *name, const char *arg, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "relab %s: %s '%s' must be an integer in %d..%d\n", cmd, name, arg, lo, hi);
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* The library's messages go to stderr (debug ones only with RELAB_DEBUG set);
 * on a terminal a progress line is redrawn in place until the next message. */
static void cli_log(rl_log_level level, const char *msg, void *user)
{
    int *pending = user;
    if (level == RL_LOG_DEBUG && !getenv("RELAB_DEBUG")) return;
    if (level == RL_LOG_PROGRESS && isatty(STDERR_FILENO)) {
        fprintf(stderr, "\r%s\033[K", msg);
        fflush(stderr);
        *pending = 1;
        return;
    }
    if (*pending) fputs("\r\033[K", stderr);
    *pending = 0;
    fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
    static int progress_pending;
    rl_log_set(cli_log, &progress_pending);
    rl_blas_fix_core(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return RL_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("relab %s\n", PACKAGE_VERSION);
        return RL_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "relab: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return RL_EXIT_USAGE;
}
