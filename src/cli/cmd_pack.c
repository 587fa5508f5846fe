/* cmd_pack.c: `relab pack`: an image folder or list into HDF5 shards of the
 * original encoded bytes (format in data/pack.h and docs/data.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "data/imagenet.h"
#include "data/pack.h"
#include "util/timer.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab pack SRC_DIR_OR_LIST -o OUT_PREFIX [--shard-size GB] [--labels FILE]\n"
                 "                  [--classes classes.tsv] [--class-root TRAIN_DIR] [--cache FILE]\n\n"
                 "Writes OUT_PREFIX-00000.h5, OUT_PREFIX-00001.h5, ...: the images' original bytes (not\n"
                 "re-encoded) with their labels and names, at most --shard-size GB (default 4) of image\n"
                 "data per shard.  SRC is a class-folder tree (root/WNID/*.JPEG), a flat folder with\n"
                 "--labels (one WNID per line, sorted file-name order), or a label list file.  Training\n"
                 "from the shards gives the same samples as from the folder.  Exit 0 ok, 1 failure, 2 usage.\n");
}

static void progress(int64_t done, int64_t total, void *ctx)
{
    double *last = ctx, now = rl_now();
    if (done == total || now - *last > 2.0) {
        fprintf(stderr, "relab pack: %lld / %lld images\n", (long long)done, (long long)total);
        *last = now;
    }
}

int cmd_pack(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"shard-size", required_argument, NULL, 's'},
                                         {"labels", required_argument, NULL, 'l'},
                                         {"classes", required_argument, NULL, 'c'},
                                         {"class-root", required_argument, NULL, 'r'},
                                         {"cache", required_argument, NULL, 'C'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    rl_imagenet_config cfg;
    rl_imagenet_config_default(&cfg);
    const char *prefix = NULL;
    double gb = 4.0;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': prefix = optarg; break;
        case 'l': cfg.labels_file = optarg; break;
        case 'c': cfg.classes_file = optarg; break;
        case 'r': cfg.class_root = optarg; break;
        case 'C': cfg.cache = optarg; break;
        case 's':
            gb = strtod(optarg, &end);
            if (end == optarg || *end || !(gb > 0 && gb < 1e6)) {
                fprintf(stderr, "relab pack: --shard-size '%s' must be a positive number of GB\n", optarg);
                return RL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !prefix) {
        fprintf(stderr, "relab pack: need one SRC and -o OUT_PREFIX\n");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    const char *src_path = argv[optind];
    struct stat sb;
    if (stat(src_path, &sb) != 0) {
        fprintf(stderr, "relab pack: %s: no such folder or list file\n", src_path);
        return RL_EXIT_FAIL;
    }
    if (S_ISDIR(sb.st_mode))
        cfg.root = src_path;
    else
        cfg.list = src_path;
    rl_error err;
    rl_source *src;
    if (rl_imagenet_open(&src, &cfg, &err)) {
        fprintf(stderr, "relab pack: %s\n", err.msg);
        return RL_EXIT_FAIL;
    }
    double t0 = rl_now(), last = t0;
    int nshards;
    rl_status st = rl_pack_write(src, prefix, (int64_t)(gb * 1073741824.0), &nshards, progress, &last, &err);
    if (st) {
        fprintf(stderr, "relab pack: %s\n", err.msg);
        rl_source_destroy(src);
        return RL_EXIT_FAIL;
    }
    char first[4200], final[4200];
    rl_pack_shard_path(prefix, 0, first, sizeof first);
    rl_pack_shard_path(prefix, nshards - 1, final, sizeof final);
    if (nshards == 1)
        printf("packed %lld images of %d classes into %s in %.1f s\n", (long long)src->count, src->num_classes, first,
               rl_now() - t0);
    else
        printf("packed %lld images of %d classes into %d shards %s .. %s in %.1f s\n", (long long)src->count,
               src->num_classes, nshards, first, final, rl_now() - t0);
    rl_source_destroy(src);
    return RL_EXIT_OK;
}
