/* test_metrics.c: the statistics of src/eval against closed forms derived by
 * hand, and the predictions writer/reader round trip.
 *   I_x(1,1) = x;  I_x(a,1) = x^a;  I_x(1,b) = 1 - (1-x)^b
 *   Clopper-Pearson, k = 0: [0, 1 - (a/2)^(1/n)];  k = n: [(a/2)^(1/n), 1]
 *   k = 1, n = 2: lower solves 1-(1-p)^2 = a/2, upper solves p^2 = 1 - a/2
 *   McNemar b = 5, c = 1: p = 2 (1 + 6) / 64 = 7/32, chi2 = (4-1)^2/6 = 1.5 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/idmap.h"
#include "eval/metrics.h"
#include "eval/preds.h"
#include "eval/refsets.h"
#include "tap.h"

int main(void)
{
    double x = 0.3;
    tap_close(rl_beta_inc(1, 1, x), x, 1e-14, 0, "I_0.3(1,1) = 0.3");
    tap_close(rl_beta_inc(4, 1, x), pow(x, 4), 1e-13, 0, "I_0.3(4,1) = 0.3^4");
    tap_close(rl_beta_inc(1, 7, x), 1 - pow(1 - x, 7), 1e-13, 0, "I_0.3(1,7) = 1 - 0.7^7");
    tap_close(rl_beta_inc(2.5, 2.5, 0.5), 0.5, 1e-14, 0, "I_0.5(a,a) = 1/2 by symmetry");
    tap_close(rl_beta_inc_inv(3, 1, 0.125), 0.5, 1e-13, 0, "inverse: I_x(3,1) = 1/8 at x = 1/2");

    double lo, hi;
    rl_clopper_pearson(0, 20, 0.95, &lo, &hi);
    tap_ok(lo == 0.0, "CP k=0: lower bound 0");
    tap_close(hi, 1 - pow(0.025, 1.0 / 20), 1e-13, 0, "CP k=0, n=20: upper = 1 - 0.025^(1/20)");
    rl_clopper_pearson(20, 20, 0.95, &lo, &hi);
    tap_close(lo, pow(0.025, 1.0 / 20), 1e-13, 0, "CP k=n=20: lower = 0.025^(1/20)");
    tap_ok(hi == 1.0, "CP k=n: upper bound 1");
    rl_clopper_pearson(1, 2, 0.95, &lo, &hi);
    tap_close(lo, 1 - sqrt(1 - 0.025), 1e-13, 0, "CP k=1, n=2: lower = 1 - sqrt(0.975)");
    tap_close(hi, sqrt(0.975), 1e-13, 0, "CP k=1, n=2: upper = sqrt(0.975)");

    rl_mcnemar m = rl_mcnemar_test(10, 5, 1, 3);
    tap_close(m.p_exact, 7.0 / 32.0, 1e-14, 0, "McNemar exact p for 5 vs 1 = 7/32");
    tap_close(m.chi2, 1.5, 1e-15, 0, "McNemar chi2 (|5-1|-1)^2/6 = 1.5");
    tap_close(m.p_chi2, erfc(sqrt(0.75)), 1e-14, 0, "McNemar chi2 p = erfc(sqrt(chi2/2))");
    m = rl_mcnemar_test(4, 3, 3, 0);
    /* The correction never overshoots: |b-c|-1 is clamped at 0 (statsmodels would give 1/6). */
    tap_ok(m.p_exact == 1.0 && m.chi2 == 0.0 && m.p_chi2 == 1.0, "McNemar 3 vs 3: p = 1, chi2 = 0");
    m = rl_mcnemar_test(4, 0, 0, 2);
    tap_ok(m.p_exact == 1.0 && m.p_chi2 == 1.0 && m.n == 6, "McNemar without discordant pairs: p = 1");

    tap_ok(rl_imagenet_val_index("ILSVRC2012_val_00000001.JPEG") == 0, "val id 1 -> index 0");
    tap_ok(rl_imagenet_val_index("val/n01440764/ILSVRC2012_val_00050000.JPEG") == 49999, "val id in a folder -> 49999");
    tap_ok(rl_imagenet_val_index("ILSVRC2012_val_00000000.JPEG") == -1, "val id 0 is not an image");
    tap_ok(rl_imagenet_val_index("ILSVRC2012_val_00050001.JPEG") == -1, "val id 50001 is not an image");
    tap_ok(rl_imagenet_val_index("ILSVRC2012_val_0000001.JPEG") == -1, "7 digits refused");
    tap_ok(rl_imagenet_val_index("ILSVRC2012_val_00000001.jpeg") == -1, "lower-case extension refused");

    rl_idmap map;
    rl_error err = {0};
    const char *keys[] = {"a", "b", "a#1", "a"};
    tap_ok(rl_idmap_init(&map, 4, &err) == RL_OK, "idmap init");
    int64_t prev[4];
    for (int i = 0; i < 4; i++)
        prev[i] = rl_idmap_put(&map, keys[i], i);
    tap_ok(prev[0] == -1 && prev[2] == -1 && prev[3] == 0 && rl_idmap_get(&map, "a#1") == 2 &&
               rl_idmap_get(&map, "c") == -1,
           "idmap: duplicate put returns the first value, lookups find keys");
    rl_idmap_free(&map);

    /* Writer/reader round trip; top-k from full scores, ties to the lower class. */
    rl_preds p, q;
    float probs[2][5] = {{0.1f, 0.4f, 0.1f, 0.4f, 0.0f}, {0.05f, 0.05f, 0.6f, 0.2f, 0.1f}};
    float logits[5] = {1, 2, 3, 4, 5};
    tap_ok(rl_preds_alloc(&p, 2, 3, 5, 1, &err) == RL_OK, "preds alloc");
    rl_preds_set_row(&p, 0, "img-a", 3, probs[0], logits, &err);
    rl_preds_set_row(&p, 1, "img-b", -1, probs[1], logits, &err);
    tap_ok(p.topk_classes[0] == 1 && p.topk_classes[1] == 3 && p.topk_classes[2] == 0 && p.topk_classes[3] == 2 &&
               p.topk_classes[4] == 3 && p.topk_classes[5] == 4,
           "set_row: top-3 of (0.1,0.4,0.1,0.4,0) is 1,3,0 and of row 2 is 2,3,4");
    p.meta = strdup("round trip");
    const char *path = "test_metrics_preds.h5";
    tap_ok(rl_preds_write(path, &p, &err) == RL_OK, "preds write: %s", err.msg);
    tap_ok(rl_preds_read(path, &q, &err) == RL_OK, "preds read back: %s", err.msg);
    tap_ok(q.n == 2 && q.k == 3 && q.num_classes == 5 && !strcmp(q.ids[1], "img-b") && q.labels[0] == 3 &&
               q.labels[1] == -1 && !memcmp(q.topk_classes, p.topk_classes, 6 * sizeof(int32_t)) &&
               !memcmp(q.topk_scores, p.topk_scores, 6 * sizeof(float)) && q.logits && q.logits[9] == 5.0f &&
               !strcmp(q.score_kind, "softmax") && q.meta && !strcmp(q.meta, "round trip"),
           "round trip keeps ids, labels, top-k, logits, score_kind and meta");
    rl_preds_free(&q);
    rl_preds_free(&p);
    remove(path);
    tap_ok(rl_preds_read("no-such-file.h5", &q, &err) != RL_OK && strstr(err.msg, "no-such-file.h5"),
           "a missing file is an error naming it");
    return tap_done();
}
