/* cmd_noise.c: `relab noise`: a noisy copy of a label list (symmetric,
 * pair-flip or matrix noise, seeded per sample) and the record of changes. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clean/noise.h"
#include "cli/commands.h"
#include "data/list.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab noise --in LIST -o NOISY.list --kind symmetric|pairflip|matrix [--rate R]\n"
                 "                   [--pairs \"0:6,2:4,5:7\" | --matrix FILE] --seed S [--record changes.tsv]\n\n"
                 "Changes each sample's primary label with probability R, drawing from (seed, sample index)\n"
                 "only, so the result does not depend on order:\n"
                 "  symmetric  a uniformly random other class\n"
                 "  pairflip   the paired confusable class (pairs both ways); default for 10 classes is\n"
                 "             Fashion-MNIST: T-shirt 0<->6 shirt, pullover 2<->4 coat, sandal 5<->7 sneaker\n"
                 "  matrix     C x C weights, one row per line: with --rate, flip to j != i in proportion to\n"
                 "             row i; without --rate, row i (normalised) is the transition distribution\n"
                 "--record writes 'id<TAB>original<TAB>noisy' for every changed sample (for relab clean\n"
                 "--noise-record).  Exit 0 ok, 1 failure, 2 usage.\n");
}

typedef struct {
    const char *in_path, *out_path, *kind, *pairs, *matrix_path, *record;
    rl_noise_opts o;
} options;

/* Fills *a from the command line; RL_EXIT_OK to go on, or the exit code
 * (with *done set) for --help and usage errors. */
static int parse_options(int argc, char **argv, options *a, int *done)
{
    static const struct option opts[] = {
        {"in", required_argument, NULL, 'i'},    {"output", required_argument, NULL, 'o'},
        {"kind", required_argument, NULL, 'k'},  {"rate", required_argument, NULL, 'r'},
        {"pairs", required_argument, NULL, 'p'}, {"matrix", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, 's'},  {"record", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    *a = (options){.o.rate = -1.0};
    *done = 1;
    int have_rate = 0, have_seed = 0, c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': a->in_path = optarg; break;
        case 'o': a->out_path = optarg; break;
        case 'k': a->kind = optarg; break;
        case 'p': a->pairs = optarg; break;
        case 'm': a->matrix_path = optarg; break;
        case 'R': a->record = optarg; break;
        case 'r':
            a->o.rate = strtod(optarg, &end);
            if (end == optarg || *end || !(a->o.rate >= 0.0 && a->o.rate <= 1.0)) {
                fprintf(stderr, "relab noise: --rate '%s' must be a number in [0, 1]\n", optarg);
                return RL_EXIT_USAGE;
            }
            have_rate = 1;
            break;
        case 's':
            a->o.seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "relab noise: --seed '%s' must be a non-negative integer\n", optarg);
                return RL_EXIT_USAGE;
            }
            have_seed = 1;
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    const char *why = NULL;
    if (optind != argc)
        why = "unexpected positional argument";
    else if (!a->in_path || !a->out_path || !a->kind)
        why = "--in, -o and --kind are required";
    else if (!have_seed)
        why = "--seed is required (noise must be reproducible)";
    else if (!strcmp(a->kind, "symmetric"))
        a->o.kind = RL_NOISE_SYMMETRIC;
    else if (!strcmp(a->kind, "pairflip"))
        a->o.kind = RL_NOISE_PAIRFLIP;
    else if (!strcmp(a->kind, "matrix"))
        a->o.kind = RL_NOISE_MATRIX;
    else
        why = "--kind must be symmetric, pairflip or matrix";
    if (!why && a->o.kind != RL_NOISE_MATRIX && !have_rate) why = "--rate is required for this kind";
    if (!why && a->pairs && a->o.kind != RL_NOISE_PAIRFLIP) why = "--pairs goes with --kind pairflip";
    if (!why && (a->o.kind == RL_NOISE_MATRIX) != (a->matrix_path != NULL))
        why = "--matrix FILE goes with --kind matrix";
    if (why) {
        fprintf(stderr, "relab noise: %s\n", why);
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    *done = 0;
    return RL_EXIT_OK;
}

int cmd_noise(int argc, char **argv)
{
    options a;
    int done;
    int rc = parse_options(argc, argv, &a, &done);
    if (done) return rc;
    const char *in_path = a.in_path, *out_path = a.out_path, *kind = a.kind, *pairs = a.pairs,
               *matrix_path = a.matrix_path, *record = a.record;
    rl_noise_opts o = a.o;
    const double rate = o.rate;
    const uint64_t seed = o.seed;
    rl_error err = {0};
    rl_list in = {0}, out = {0};
    int32_t *pair_of = NULL;
    double *matrix = NULL;
    rc = RL_EXIT_FAIL;
    if (rl_list_read(in_path, &in, &err)) goto done;
    if (in.count == 0) {
        rl_fail(&err, RL_ERR_FORMAT, "%s: the label list has no samples; nothing to add noise to", in_path);
        goto done;
    }
    int C = in.num_classes;
    if (o.kind == RL_NOISE_PAIRFLIP) {
        pair_of = malloc((size_t)C * sizeof *pair_of);
        if (!pair_of) {
            rl_fail(&err, RL_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (pairs) {
            if (rl_noise_pairs_parse(pairs, C, pair_of, &err)) goto done;
        } else if (C == 10) {
            rl_noise_fashion_pairs(pair_of);
        } else {
            rl_fail(&err, RL_ERR_ARG, "%s has %d classes; the default pairs are Fashion-MNIST's (10): pass --pairs",
                    in_path, C);
            goto done;
        }
        o.pair_of = pair_of;
    }
    if (o.kind == RL_NOISE_MATRIX) {
        /* C x C numbers take at least 2 bytes each ("0 "): before allocating a large matrix,
         * check that the file can hold it. */
        struct stat sb;
        double need = 2.0 * C * (double)C - 1;
        if (C > RL_NOISE_MATRIX_MAX || (C > 1024 && (stat(matrix_path, &sb) != 0 || (double)sb.st_size < need))) {
            rl_fail(&err, RL_ERR_FORMAT,
                    "%s: cannot hold the %d x %d matrix that the %d classes of %s need (--kind "
                    "matrix takes at most %d classes)",
                    matrix_path, C, C, C, in_path, RL_NOISE_MATRIX_MAX);
            goto done;
        }
        matrix = malloc((size_t)C * (size_t)C * sizeof *matrix);
        if (!matrix) {
            rl_fail(&err, RL_ERR_NOMEM, "out of memory for a %d x %d matrix", C, C);
            goto done;
        }
        if (rl_noise_matrix_read(matrix_path, C, matrix, &err)) goto done;
        o.matrix = matrix;
    }
    if (rl_noise_apply(&in, &o, &out, NULL, &err)) goto done;
    if (rl_list_set_root(&out, in.root, &err) || rl_list_write(out_path, &out, &err)) goto done;
    int64_t changed = 0;
    for (int64_t i = 0; i < in.count; i++)
        changed += in.labels[i] != out.labels[i];
    if (record) {
        char about[512];
        snprintf(about, sizeof about, "kind %s rate %g seed %" PRIu64 " in %s", kind, rate, seed, in_path);
        if (rl_noise_record_write(record, &in, &out, about, &err)) goto done;
    }
    printf("%s: changed %lld of %lld labels (%.2f%%), %s noise, seed %" PRIu64 "\n", out_path, (long long)changed,
           (long long)in.count, in.count ? 100.0 * (double)changed / (double)in.count : 0.0, kind, seed);
    rc = RL_EXIT_OK;
done:
    if (rc) fprintf(stderr, "relab noise: %s\n", err.msg);
    rl_list_free(&in);
    rl_list_free(&out);
    free(pair_of);
    free(matrix);
    return rc;
}
