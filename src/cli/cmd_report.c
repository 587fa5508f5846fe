/* cmd_report.c: `relab report DIR`: one self-contained HTML page about a
 * run, an ablation or the demo (report/page.h; docs/report.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "report/page.h"

#define MAX_IMAGE_ROOTS 16

static void usage(FILE *out)
{
    fprintf(out,
            "usage: relab report DIR [-o FILE.html] [--images DIR ...] [--classes classes.tsv]\n"
            "                    [--clean-report FILE.json] [--per-image FILE.tsv] [--gallery N] [--thumb PX]\n\n"
            "Writes one self-contained HTML page (inline CSS and SVG, images as data: URIs; no network)\n"
            "about DIR: a run folder (relab train), an ablation folder (relab ablate) or the demo's folder\n"
            "(scripts/demo.sh).  It shows what DIR holds: the Table 2 layout with 95%% intervals and the\n"
            "spread over seeds (results.json), the two-label-set scatter, training curves (metrics.csv),\n"
            "and with a cleaning (clean-report.json and the --per-image table of relab clean, in DIR or\n"
            "DIR/data) the removals per class, the most frequent (given label -> teacher) pairs and a\n"
            "gallery of the removed images, including those the teacher removed wrongly.\n"
            "  -o, --out FILE        the page (default DIR/report.html)\n"
            "      --images DIR      where gallery images are (repeatable; searched first): IDX files,\n"
            "                        image folders, or a pack prefix; then each recipe.txt's data_dir\n"
            "                        and train_list folder are searched\n"
            "      --classes FILE    class names from classes.tsv (default: a recipe's classes, or\n"
            "                        Fashion-MNIST's names for its data)\n"
            "      --clean-report F  the JSON report of relab clean (default DIR[/data]/clean-report.json)\n"
            "      --per-image F     the per-image table of relab clean (default: the *.tsv in DIR[/data]\n"
            "                        with its header)\n"
            "      --gallery N       images per gallery group, most confident first, classes in turn\n"
            "                        (default %d; 0 = no gallery)\n"
            "      --thumb PX        side of photo thumbnails, 16..512 (default %d)\n"
            "Exit 0 ok, 1 failure, 2 usage.\n",
            RL_PAGE_GALLERY_DEFAULT, RL_PAGE_THUMB_DEFAULT);
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"images", required_argument, NULL, 'i'},
                                         {"classes", required_argument, NULL, 'c'},
                                         {"clean-report", required_argument, NULL, 'j'},
                                         {"per-image", required_argument, NULL, 't'},
                                         {"gallery", required_argument, NULL, 'g'},
                                         {"thumb", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    rl_page_options o;
    rl_page_options_default(&o);
    const char *roots[MAX_IMAGE_ROOTS];
    int v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case 'i':
            if (o.nroots == MAX_IMAGE_ROOTS) {
                fprintf(stderr, "relab report: at most %d --images folders\n", MAX_IMAGE_ROOTS);
                return RL_EXIT_USAGE;
            }
            roots[o.nroots++] = optarg;
            break;
        case 'c': o.classes = optarg; break;
        case 'j': o.clean_json = optarg; break;
        case 't': o.per_image = optarg; break;
        case 'g':
            if (!cli_int_option("report", "--gallery", optarg, 0, 100000, &v)) return RL_EXIT_USAGE;
            o.gallery = v;
            break;
        case 's':
            if (!cli_int_option("report", "--thumb", optarg, 16, 512, &v)) return RL_EXIT_USAGE;
            o.thumb = v;
            break;
        case 'h': usage(stdout); return RL_EXIT_OK;
        default: usage(stderr); return RL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "relab report: expected one folder\n");
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    o.dir = argv[optind];
    o.image_roots = roots;
    rl_page_summary sum;
    rl_error err = {0};
    if (rl_page_write(&o, &sum, &err)) {
        fprintf(stderr, "relab report: %s\n", err.msg);
        return RL_EXIT_FAIL;
    }
    printf("%s\n", sum.out);
    fprintf(stderr, "relab report: wrote %s (%.1f MB)", sum.out, (double)sum.bytes / 1e6);
    if (sum.runs) fprintf(stderr, "; %d of %d runs scored, %d with curves", sum.runs_scored, sum.runs, sum.curves);
    if (sum.cleaning)
        fprintf(stderr, "; cleaning with %lld thumbnails (of %lld images in the gallery groups)", (long long)sum.shown,
                (long long)sum.available);
    if (sum.missing) fprintf(stderr, "; %lld images not found (listed on the page)", (long long)sum.missing);
    fprintf(stderr, "\n");
    return RL_EXIT_OK;
}
