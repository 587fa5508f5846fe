/* cmd_info.c: relab info [--model NAME [--size S] [--batch B] [--classes N]]
 * What relab runs on (BLAS kernels and threads, OpenMP, huge pages, MPI, HDF5,
 * JPEG), and optionally a model's layer table, parameter count and the
 * algorithm each convolution runs with. */
#include <getopt.h>
#include <hdf5.h>
#include <jpeglib.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "config.h"
#include "nn/resnet.h"
#include "util/blas.h"
#include "util/mem.h"
#include "util/text.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: relab info [--model NAME] [--size S] [--batch B] [--classes N] [--in-channels C]\n\n"
                 "Prints the BLAS kernels and threads relab runs on and the build options;\n"
                 "with --model, the layer table and parameter count of a ResNet\n"
                 "(resnet18/34/50/101/152, resnet8/20, or NAME-small) and the algorithm\n"
                 "each convolution runs with at that batch (default 32) and size.\n");
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},       {"size", 1, 0, 's'}, {"batch", 1, 0, 'b'}, {"classes", 1, 0, 'c'},
        {"in-channels", 1, 0, 'i'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *model = NULL;
    int size = 224, batch = 32, classes = 1000, channels = 3, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:s:b:c:i:h", opts, NULL)) != -1) {
        int ok = 1;
        switch (c) {
        case 'm': model = optarg; break;
        case 's': ok = cli_int_option("info", "--size", optarg, 8, 65536, &size); break;
        case 'b': ok = cli_int_option("info", "--batch", optarg, 1, 1 << 20, &batch); break;
        case 'c': ok = cli_int_option("info", "--classes", optarg, 1, RL_MAX_CLASSES, &classes); break;
        case 'i': ok = cli_int_option("info", "--in-channels", optarg, 1, 4096, &channels); break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
        if (!ok) return RL_EXIT_USAGE;
    }
    if (optind < argc) {
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    const char *better = rl_blas_better_core();
    printf("relab %s\n", PACKAGE_VERSION);
    char narrow[160] = "";
    if (better)
        snprintf(narrow, sizeof narrow, " (%s kernels on an %s CPU: OPENBLAS_CORETYPE=%s runs wider ones)",
                 rl_isa_name(rl_blas_core_isa(rl_blas_core())), rl_isa_name(rl_blas_cpu_isa()), better);
    printf("BLAS:    OpenBLAS, core %s%s, %d threads (%s)\n", rl_blas_core(), narrow, rl_blas_threads(),
           rl_blas_threading());
    printf("OpenMP:  %d threads, wait policy %s, spin count %s\n", omp_get_max_threads(),
           getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "default",
           getenv("GOMP_SPINCOUNT") ? getenv("GOMP_SPINCOUNT") : "default");
    char thp[32];
    const char *setting = rl_mem_thp_setting(thp, sizeof thp);
    printf("Memory:  transparent huge pages %s; %s\n", setting,
           !rl_mem_advises_huge_pages() ? "relab's advice withheld (RELAB_HUGE_PAGES=0)"
           : !strcmp(setting, "never") || !strcmp(setting, "unknown")
               ? "relab's allocations stay on 4 KiB pages"
               : "relab advises them for its allocations of 8 MiB and more");
#ifdef RL_HAVE_MPI
    printf("MPI:     built with Open MPI (mpirun -np N relab train ...)\n");
#else
    printf("MPI:     not built in (single process)\n");
#endif
    printf("HDF5:    %d.%d.%d\n", H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
#ifdef LIBJPEG_TURBO_VERSION
    printf("JPEG:    libjpeg-turbo (API %d)\n", JPEG_LIB_VERSION);
#else
    printf("JPEG:    libjpeg API %d\n", JPEG_LIB_VERSION);
#endif
    if (!model) return RL_EXIT_OK;
    rl_error err;
    rl_resnet_config cfg;
    rl_resnet *net;
    if (rl_resnet_config_for(model, &cfg, &err)) {
        fprintf(stderr, "relab info: %s\n", err.msg);
        return RL_EXIT_USAGE;
    }
    cfg.num_classes = classes;
    cfg.in_channels = channels;
    if (rl_resnet_create(&cfg, &net, &err)) {
        fprintf(stderr, "relab info: %s\n", err.msg);
        return RL_EXIT_FAIL;
    }
    if (rl_resnet_check_input(net, batch, size, size, &err)) {
        fprintf(stderr, "relab info: %s\n", err.msg);
        rl_resnet_destroy(net);
        return RL_EXIT_USAGE;
    }
    rl_resnet_print_summary(net, size, size, stdout);
    rl_resnet_print_conv_plan(net, batch, size, size, stdout, &err);
    rl_resnet_destroy(net);
    return RL_EXIT_OK;
}
