/* loss_dump.c: a helper for tests/test_loss_torch.py (not a test by itself).
 *
 * Usage: loss_dump IN OUT
 * IN (little-endian, native types):
 *   int32 n, c, kind (0 softmax, 1 sigmoid), has_targets; float64 eps;
 *   float32 logits[n*c]; int32 labels[n]; float32 targets[n*c] if has_targets.
 * OUT: int32 status, float64 loss, float32 dlogits[n*c].
 * Exit 0 if OUT was written (whatever the loss status), 1 otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "train/loss.h"

static int read_all(FILE *f, void *p, size_t size, size_t count)
{
    return fread(p, size, count, f) == count;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: loss_dump IN OUT\n");
        return 1;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    int32_t hdr[4];
    double eps;
    if (!read_all(f, hdr, sizeof hdr[0], 4) || !read_all(f, &eps, sizeof eps, 1) || hdr[0] < 1 || hdr[1] < 1) {
        fprintf(stderr, "%s: bad header\n", argv[1]);
        return 1;
    }
    int n = hdr[0], c = hdr[1];
    size_t nc = (size_t)n * c;
    float *logits = malloc(nc * sizeof *logits), *targets = hdr[3] ? malloc(nc * sizeof *targets) : NULL;
    float *dlogits = malloc(nc * sizeof *dlogits);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    if (!logits || !dlogits || !labels || (hdr[3] && !targets) || !read_all(f, logits, sizeof *logits, nc) ||
        !read_all(f, labels, sizeof *labels, (size_t)n) || (targets && !read_all(f, targets, sizeof *targets, nc))) {
        fprintf(stderr, "%s: short file or out of memory\n", argv[1]);
        return 1;
    }
    fclose(f);
    rl_loss_config cfg = {.kind = hdr[2] ? RL_LOSS_SIGMOID : RL_LOSS_SOFTMAX, .label_smoothing = eps};
    rl_error err = {0};
    double loss = 0;
    int32_t st = rl_loss_forward_backward(&cfg, logits, n, c, labels, targets, dlogits, &loss, &err);
    if (st != RL_OK) fprintf(stderr, "loss_dump: %s\n", err.msg);
    FILE *o = fopen(argv[2], "wb");
    if (!o || fwrite(&st, sizeof st, 1, o) != 1 || fwrite(&loss, sizeof loss, 1, o) != 1 ||
        fwrite(dlogits, sizeof *dlogits, nc, o) != nc || fclose(o) != 0) {
        perror(argv[2]);
        return 1;
    }
    free(logits);
    free(targets);
    free(dlogits);
    free(labels);
    return 0;
}
