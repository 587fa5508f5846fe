/* resnet.c: building, planning, forward and backward of ResNets (resnet.h).
 *
 * Each conv is followed by a BN; a (conv, BN) pair is a `unit`.  A block's
 * last unit fuses BN, the residual add and the ReLU in one pass.  Memory per
 * unit at plan time: the conv output (kept for BN backward; the downsample
 * branch's only where recomputing it is dear, keep_down).  The BN+ReLU
 * outputs inside a block (the next conv's input and the ReLU mask) and the
 * ImageNet stem's output go to rotating scratch buffers and are recomputed
 * from the conv output in backward, bitwise as forward wrote them: one cheap
 * elementwise pass instead of keeping about a sixth of the activations.  The
 * downsample branch's BN output is only needed during the add, so it goes to a
 * scratch buffer.  Backward walks the blocks in reverse with two block-level
 * gradient buffers and two scratch buffers.  In training, BN's passes run
 * inside the convolutions' per-image loops where they can (statistics from
 * the conv's epilogue, the normalisation as the next conv's prologue, BN
 * backward's second pass as the conv backward's prologue), bitwise the
 * separate passes a profiled step runs.  The inference plan keeps no
 * conv output: eval-mode BN runs in place on it, in three rotating buffers
 * (rl_resnet_plan_inference). */
#include "nn/resnet.h"

#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/rng.h"
#include "util/timer.h"

/* Floats left free past every convolution workspace, as the net's own always had. */
#define WS_SLACK 16

typedef struct {
    rl_conv conv;
    rl_bn bn;
    char name[48];    /* "layer1.0.conv1" style prefix of the conv */
    rl_shape in, out; /* at max batch */
    float *c;         /* conv output (BN input) */
    float *save_mean, *save_invstd;
    float *ws; /* convolution workspace: the net's, or free scratch (rl_resnet_plan) */
} unit;

typedef struct {
    unit u[3];
    int nunits;
    int has_down;
    int keep_down; /* training keeps the downsample conv output (see OUT_DROP_CONV) */
    unit down;
    float *mid[2];          /* BN+ReLU outputs of units 0 and 1 (all but the last) */
    float *out;             /* block output */
    float *down_out;        /* BN output of the downsample branch (the shortcut) */
    rl_shape in, out_shape; /* at max batch */
    int fold; /* inference plan: the last unit adds onto the shortcut in place, its BN folded (fold_pays) */
} block;

struct rl_resnet {
    rl_resnet_config cfg;
    rl_param_table params;
    unit stem;
    rl_maxpool pool;
    float *stem_out, *pool_out;
    block *blocks;
    int nblocks;
    rl_fc fc;
    int feat; /* channels into the fc layer */
    float *pooled, *logits, *dpooled;
    /* plan */
    int max_batch, h, w, n;
    float *act_arena, *scratch_arena, *ws;
    size_t act_floats, scratch_floats, ws_floats;
    float *g[2], *dmid;
    double *bn_scratch;
    double *bn_moments; /* training: per-image BN moments (rl_bn_image_moments) of one unit */
    float *stats_arena;
    const float *x;
    rl_grad_ready_fn grad_ready;
    void *grad_ready_ctx;
    int inference_only; /* planned by rl_resnet_plan_inference: no activations kept */
    float *fold_w;      /* inference: a folding unit's scaled weights, BN shift and scale (fold_pays) */
    void *grads_block;  /* calloc'd block holding the gradient arena (params.grads is aligned inside it) */
    rl_profile *prof;   /* NULL: no clock is read */
};

/* ---- configuration ---- */

rl_status rl_resnet_config_for(const char *name, rl_resnet_config *cfg, rl_error *err)
{
    static const struct {
        const char *name;
        int bottleneck, nstages, b[4];
    } known[] = {
        {"resnet18", 0, 4, {2, 2, 2, 2}},   {"resnet34", 0, 4, {3, 4, 6, 3}},   {"resnet50", 1, 4, {3, 4, 6, 3}},
        {"resnet101", 1, 4, {3, 4, 23, 3}}, {"resnet152", 1, 4, {3, 8, 36, 3}}, {"resnet8", 0, 3, {1, 1, 1, 0}},
        {"resnet20", 0, 3, {3, 3, 3, 0}},
    };
    memset(cfg, 0, sizeof *cfg);
    char base[32];
    snprintf(base, sizeof base, "%s", name);
    int small = 0;
    char *dash = strstr(base, "-small");
    if (dash && !dash[6]) {
        *dash = '\0';
        small = 1;
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(base, known[i].name)) continue;
        snprintf(cfg->arch, sizeof cfg->arch, "%s", name);
        cfg->bottleneck = known[i].bottleneck;
        cfg->nstages = known[i].nstages;
        memcpy(cfg->blocks, known[i].b, sizeof cfg->blocks);
        cfg->width = cfg->nstages == 3 ? 16 : 64;
        cfg->small_stem = small || cfg->nstages == 3;
        cfg->in_channels = 3;
        cfg->num_classes = 1000;
        cfg->bn_momentum = 0.1f;
        cfg->bn_eps = 1e-5f;
        return RL_OK;
    }
    return rl_fail(err, RL_ERR_ARG,
                   "unknown model '%s'; choose resnet18, resnet34, resnet50, resnet101, resnet152, "
                   "resnet8 or resnet20 (add -small to a torchvision name for a 3x3 stem without max pool)",
                   name);
}

/* ---- parameter table ---- */

static rl_param *add_entry(rl_param_table *t, const char *name, rl_param_kind kind, rl_decay_class decay, int rank,
                           const int *dims, int conv_layout)
{
    if (t->count == t->capacity) {
        int cap = t->capacity ? 2 * t->capacity : 256;
        rl_param *e = realloc(t->entries, sizeof *e * cap);
        RL_CHECK(e);
        t->entries = e;
        t->capacity = cap;
    }
    rl_param *p = &t->entries[t->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%.63s", name);
    p->kind = kind;
    p->decay = decay;
    p->rank = rank;
    p->count = 1;
    for (int i = 0; i < rank; i++) {
        p->dims[i] = dims[i];
        p->count *= (size_t)dims[i];
    }
    p->conv_layout = conv_layout;
    /* Offsets are kept in the pointers' place until the arenas exist. */
    if (kind == RL_PARAM_WEIGHT) {
        p->data = (float *)(uintptr_t)t->n_weights;
        t->n_weights += rl_round_floats(p->count);
    } else if (kind == RL_PARAM_BUFFER) {
        p->data = (float *)(uintptr_t)t->n_buffers;
        t->n_buffers += p->count;
    } else {
        p->counter = (int64_t *)(uintptr_t)t->n_counters;
        t->n_counters += 1;
    }
    return p;
}

static void declare_unit(rl_param_table *t, const char *conv_name, const char *bn_name, int in_c, int out_c, int k)
{
    char name[96];
    int wd[4] = {out_c, in_c, k, k}, cd[1] = {out_c};
    snprintf(name, sizeof name, "%s.weight", conv_name);
    add_entry(t, name, RL_PARAM_WEIGHT, RL_DECAY_WEIGHT, 4, wd, 1);
    snprintf(name, sizeof name, "%s.weight", bn_name);
    add_entry(t, name, RL_PARAM_WEIGHT, RL_DECAY_BN, 1, cd, 0);
    snprintf(name, sizeof name, "%s.bias", bn_name);
    add_entry(t, name, RL_PARAM_WEIGHT, RL_DECAY_BN, 1, cd, 0);
    snprintf(name, sizeof name, "%s.running_mean", bn_name);
    add_entry(t, name, RL_PARAM_BUFFER, RL_DECAY_BN, 1, cd, 0);
    snprintf(name, sizeof name, "%s.running_var", bn_name);
    add_entry(t, name, RL_PARAM_BUFFER, RL_DECAY_BN, 1, cd, 0);
    snprintf(name, sizeof name, "%s.num_batches_tracked", bn_name);
    add_entry(t, name, RL_PARAM_COUNTER, RL_DECAY_BN, 0, NULL, 0);
}

static rl_param *lookup(rl_param_table *t, const char *prefix, const char *suffix)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    rl_param *p = rl_params_find(t, name);
    RL_CHECK_MSG(p, name);
    return p;
}

static void bind_unit(rl_resnet *net, unit *u, const char *conv_name, const char *bn_name, int in_c, int out_c, int k,
                      int stride)
{
    rl_param_table *t = &net->params;
    snprintf(u->name, sizeof u->name, "%s", conv_name);
    u->conv.in_c = in_c;
    u->conv.out_c = out_c;
    u->conv.k = k;
    u->conv.stride = stride;
    u->conv.pad = k / 2;
    rl_param *w = lookup(t, conv_name, "weight");
    u->conv.w = w->data;
    u->conv.dw = w->grad;
    u->bn.c = out_c;
    u->bn.eps = net->cfg.bn_eps;
    u->bn.momentum = net->cfg.bn_momentum;
    rl_param *g = lookup(t, bn_name, "weight"), *b = lookup(t, bn_name, "bias");
    u->bn.gamma = g->data;
    u->bn.dgamma = g->grad;
    u->bn.beta = b->data;
    u->bn.dbeta = b->grad;
    u->bn.running_mean = lookup(t, bn_name, "running_mean")->data;
    u->bn.running_var = lookup(t, bn_name, "running_var")->data;
    u->bn.num_batches_tracked = lookup(t, bn_name, "num_batches_tracked")->counter;
}

/* Walks the topology once; declare != 0 adds table entries, else binds units. */
static void walk(rl_resnet *net, int declare)
{
    const rl_resnet_config *c = &net->cfg;
    rl_param_table *t = &net->params;
    int stem_k = c->small_stem ? 3 : 7, stem_s = c->small_stem ? 1 : 2;
    if (declare)
        declare_unit(t, "conv1", "bn1", c->in_channels, c->width, stem_k);
    else
        bind_unit(net, &net->stem, "conv1", "bn1", c->in_channels, c->width, stem_k, stem_s);
    int in_c = c->width, bi = 0;
    const int expansion = c->bottleneck ? 4 : 1;
    for (int s = 0; s < c->nstages; s++) {
        int planes = c->width << s;
        for (int j = 0; j < c->blocks[s]; j++) {
            int stride = (s > 0 && j == 0) ? 2 : 1;
            int out_c = planes * expansion;
            char p[48], cn[64], bn[64];
            snprintf(p, sizeof p, "layer%d.%d", s + 1, j);
            int nunits = c->bottleneck ? 3 : 2;
            /* (in, out, k, stride) of each unit */
            int spec[3][4];
            if (c->bottleneck) {
                int s1 = c->stride_on_1x1 ? stride : 1, s3 = c->stride_on_1x1 ? 1 : stride;
                int a[3][4] = {{in_c, planes, 1, s1}, {planes, planes, 3, s3}, {planes, out_c, 1, 1}};
                memcpy(spec, a, sizeof a);
            } else {
                int a[3][4] = {{in_c, planes, 3, stride}, {planes, out_c, 3, 1}, {0, 0, 0, 0}};
                memcpy(spec, a, sizeof a);
            }
            block *b = declare ? NULL : &net->blocks[bi];
            for (int u = 0; u < nunits; u++) {
                snprintf(cn, sizeof cn, "%s.conv%d", p, u + 1);
                snprintf(bn, sizeof bn, "%s.bn%d", p, u + 1);
                if (declare)
                    declare_unit(t, cn, bn, spec[u][0], spec[u][1], spec[u][2]);
                else
                    bind_unit(net, &b->u[u], cn, bn, spec[u][0], spec[u][1], spec[u][2], spec[u][3]);
            }
            int has_down = stride != 1 || in_c != out_c;
            if (has_down) {
                snprintf(cn, sizeof cn, "%s.downsample.0", p);
                snprintf(bn, sizeof bn, "%s.downsample.1", p);
                if (declare)
                    declare_unit(t, cn, bn, in_c, out_c, 1);
                else {
                    bind_unit(net, &b->down, cn, bn, in_c, out_c, 1, stride);
                    b->down.conv.pad = 0;
                }
            }
            if (!declare) {
                b->nunits = nunits;
                b->has_down = has_down;
            }
            in_c = out_c;
            bi++;
        }
    }
    net->feat = in_c;
    if (declare) {
        int wd[2] = {c->num_classes, in_c}, bd[1] = {c->num_classes};
        add_entry(t, "fc.weight", RL_PARAM_WEIGHT, RL_DECAY_WEIGHT, 2, wd, 0);
        add_entry(t, "fc.bias", RL_PARAM_WEIGHT, RL_DECAY_BIAS, 1, bd, 0);
        net->nblocks = bi;
    } else {
        rl_param *w = rl_params_find(t, "fc.weight"), *b = rl_params_find(t, "fc.bias");
        net->fc = (rl_fc){in_c, c->num_classes, w->data, b->data, w->grad, b->grad};
    }
}

rl_status rl_resnet_create(const rl_resnet_config *cfg, rl_resnet **out, rl_error *err)
{
    *out = NULL;
    if (cfg->num_classes < 1 || cfg->in_channels < 1 || cfg->width < 1 || cfg->nstages < 1 || cfg->nstages > 4)
        return rl_fail(err, RL_ERR_ARG, "model '%s': bad configuration (classes %d, channels %d, width %d)", cfg->arch,
                       cfg->num_classes, cfg->in_channels, cfg->width);
    rl_resnet *net = calloc(1, sizeof *net);
    if (!net) return rl_fail(err, RL_ERR_NOMEM, "out of memory creating model '%s'", cfg->arch);
    net->cfg = *cfg;
    net->pool = (rl_maxpool){3, 2, 1};
    rl_param_table *t = &net->params;
    walk(net, 1);
    t->weights = rl_alloc_checked(sizeof(float) * (t->n_weights + 1), "model weights", err);
    /* calloc, not rl_alloc: a large calloc maps fresh zero pages without
     * touching them, so a network that only infers (predict, teachers) never
     * makes its gradients resident (ResNet-152: 230 MB). */
    net->grads_block = calloc(t->n_weights + 1 + RL_ALIGN / sizeof(float), sizeof(float));
    if (net->grads_block)
        t->grads = (float *)(((uintptr_t)net->grads_block + RL_ALIGN - 1) & ~(uintptr_t)(RL_ALIGN - 1));
    t->buffers = rl_alloc_checked(sizeof(float) * (t->n_buffers + 1), "BN statistics", err);
    t->counters = rl_alloc_checked(sizeof(int64_t) * (t->n_counters + 1), "BN counters", err);
    net->blocks = calloc((size_t)net->nblocks, sizeof(block));
    if (!t->weights || !t->grads || !t->buffers || !t->counters || !net->blocks) {
        rl_resnet_destroy(net);
        return rl_fail(err, RL_ERR_NOMEM, "out of memory creating model '%s'", cfg->arch);
    }
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind == RL_PARAM_WEIGHT) {
            size_t off = (size_t)(uintptr_t)p->data;
            p->data = t->weights + off;
            p->grad = t->grads + off;
        } else if (p->kind == RL_PARAM_BUFFER) {
            p->data = t->buffers + (size_t)(uintptr_t)p->data;
        } else {
            p->counter = t->counters + (size_t)(uintptr_t)p->counter;
        }
    }
    walk(net, 0);
    *out = net;
    return RL_OK;
}

static void free_plan(rl_resnet *net)
{
    rl_free(net->act_arena);
    rl_free(net->scratch_arena);
    rl_free(net->ws);
    rl_free(net->bn_scratch);
    rl_free(net->bn_moments);
    rl_free(net->stats_arena);
    rl_free(net->fold_w);
    net->act_arena = net->scratch_arena = net->ws = net->stats_arena = net->fold_w = NULL;
    for (int b = 0; b < net->nblocks; b++)
        net->blocks[b].fold = 0;
    net->bn_scratch = net->bn_moments = NULL;
    net->max_batch = 0;
}

void rl_resnet_destroy(rl_resnet *net)
{
    if (!net) return;
    free_plan(net);
    free(net->blocks);
    free(net->params.entries);
    rl_free(net->params.weights);
    free(net->grads_block);
    rl_free(net->params.buffers);
    rl_free(net->params.counters);
    free(net);
}

rl_param_table *rl_resnet_params(rl_resnet *net)
{
    return &net->params;
}
const rl_resnet_config *rl_resnet_get_config(const rl_resnet *net)
{
    return &net->cfg;
}

/* ---- initialisation ---- */

void rl_resnet_init(rl_resnet *net, uint64_t seed, float head_bias)
{
    rl_param_table *t = &net->params;
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        rl_rng rng = rl_rng_make(seed, 0x1417, (uint64_t)i);
        const char *leaf = strrchr(p->name, '.') + 1;
        if (p->kind == RL_PARAM_COUNTER) {
            *p->counter = 0;
        } else if (!strcmp(leaf, "running_mean")) {
            for (size_t k = 0; k < p->count; k++)
                p->data[k] = 0;
        } else if (!strcmp(leaf, "running_var")) {
            for (size_t k = 0; k < p->count; k++)
                p->data[k] = 1;
        } else if (p->decay == RL_DECAY_BN) {
            float v = !strcmp(leaf, "bias") ? 0.0f : 1.0f;
            for (size_t k = 0; k < p->count; k++)
                p->data[k] = v;
        } else if (p->rank == 4) {
            /* Kaiming normal, fan_out mode: std = sqrt(2 / (OC * K * K)). */
            double std = sqrt(2.0 / ((double)p->dims[0] * p->dims[2] * p->dims[3]));
            for (size_t k = 0; k < p->count; k++)
                p->data[k] = (float)(std * rl_rng_normal(&rng));
        } else if (!strcmp(p->name, "fc.weight")) {
            double bound = 1.0 / sqrt((double)p->dims[1]);
            for (size_t k = 0; k < p->count; k++)
                p->data[k] = (float)(bound * (2.0 * rl_rng_uniform_double(&rng) - 1.0));
        } else if (!strcmp(p->name, "fc.bias")) {
            for (size_t k = 0; k < p->count; k++)
                p->data[k] = head_bias;
        }
    }
    if (net->cfg.zero_init_residual)
        for (int b = 0; b < net->nblocks; b++) {
            unit *last = &net->blocks[b].u[net->blocks[b].nunits - 1];
            for (int c = 0; c < last->bn.c; c++)
                last->bn.gamma[c] = 0;
        }
}

/* ---- planning ---- */

typedef struct {
    size_t act, max_act, ws, stats, max_c;
    size_t max_mid; /* largest BN+ReLU output inside a block (recomputed in backward) */
} sizes;

/* What the training plan keeps of a unit's BN(+ReLU) output besides its conv
 * output: nothing (written to a block output or a scratch buffer), a buffer
 * of its own (the small stem's output, block 0's input), or a rotating
 * buffer that backward refills (rl_bn_recompute) from the conv output.
 * OUT_DROP_CONV (the downsample branch) keeps not even the conv output:
 * backward runs that 1x1 convolution again (about 2% more FLOPs for 190 MB
 * less memory in ResNet-50 at batch 32). */
enum { OUT_NONE, OUT_KEEP, OUT_MID, OUT_DROP_CONV };

/* A downsample conv output is recomputed only where that is cheap for the
 * memory it saves: its 1x1 convolution costs 2 * in_c FLOPs per output
 * value.  From 512 input channels (ResNet-50/152's last two stages, 37 MiB
 * at batch 32) the output is kept: those two recomputes were 1.8% of a
 * ResNet-50 training step for a fifth of the 184 MiB the four save.  So is
 * a narrow one, of at most KEEP_DOWN_MAX_OUT_C output channels (the small
 * networks'): its GEMMs run at 12-17% of the FMA peak, and recomputing the
 * two of resnet8 28x28x1 cost 1.9% of its step to save 5 MiB at batch 128. */
#define KEEP_DOWN_MIN_IN_C 512
#define KEEP_DOWN_MAX_OUT_C 64

static int keep_down(const block *bl)
{
    return bl->has_down && (bl->down.conv.in_c >= KEEP_DOWN_MIN_IN_C || bl->down.conv.out_c <= KEEP_DOWN_MAX_OUT_C);
}

static void need_unit(rl_resnet *net, unit *u, rl_shape in, sizes *sz, int out_role)
{
    (void)net;
    u->in = in;
    u->out = rl_conv_out_shape(&u->conv, in);
    rl_conv_choose(&u->conv, in, omp_get_max_threads());
    size_t n = rl_round_floats(rl_shape_count(u->out));
    sz->act += n * (out_role == OUT_KEEP ? 2 : out_role == OUT_DROP_CONV ? 0 : 1);
    if (out_role == OUT_MID && n > sz->max_mid) sz->max_mid = n;
    if (n > sz->max_act) sz->max_act = n;
    size_t w = rl_conv_workspace_floats(&u->conv, in);
    if (w > sz->ws) sz->ws = w;
    sz->stats += 2 * rl_round_floats((size_t)u->conv.out_c);
    if ((size_t)u->conv.out_c > sz->max_c) sz->max_c = (size_t)u->conv.out_c;
}

/* Assigns arena pointers in the same order need_unit counted them. */
static float *place_unit(unit *u, float *act, float **stats, float **kept)
{
    u->c = act;
    act += rl_round_floats(rl_shape_count(u->out));
    if (kept) {
        *kept = act;
        act += rl_round_floats(rl_shape_count(u->out));
    }
    u->save_mean = *stats;
    *stats += rl_round_floats((size_t)u->conv.out_c);
    u->save_invstd = *stats;
    *stats += rl_round_floats((size_t)u->conv.out_c);
    return act;
}

/* Sets every unit's shapes for the batch and counts what the arenas need. */
static rl_status size_pass(rl_resnet *net, int max_batch, int h, int w, sizes *out, rl_error *err)
{
    /* Shapes are ints and every GEMM takes its row count (N*H*W of a tensor)
     * as an int: refuse what would overflow them, before any arithmetic. */
    if (max_batch < 1 || h < 1 || w < 1 || h > RL_RESNET_MAX_SIDE || w > RL_RESNET_MAX_SIDE)
        return rl_fail(err, RL_ERR_ARG,
                       "model '%s': input %dx%d with batch %d is out of range (sides 1..%d, batch >= 1)", net->cfg.arch,
                       h, w, max_batch, RL_RESNET_MAX_SIDE);
    if ((size_t)max_batch * (size_t)h * (size_t)w > (size_t)INT_MAX)
        return rl_fail(err, RL_ERR_ARG,
                       "model '%s': batch %d of %dx%d images has %zu pixels, more than the %d one pass can index; "
                       "hint: use a smaller batch",
                       net->cfg.arch, max_batch, h, w, (size_t)max_batch * h * w, INT_MAX);
    sizes sz = {0};
    rl_shape s = {max_batch, net->cfg.in_channels, h, w};
    need_unit(net, &net->stem, s, &sz, net->cfg.small_stem ? OUT_KEEP : OUT_NONE);
    s = net->stem.out;
    if (!net->cfg.small_stem) {
        s = rl_maxpool_out_shape(&net->pool, s);
        sz.act += rl_round_floats(rl_shape_count(s));
    }
    for (int b = 0; b < net->nblocks; b++) {
        block *bl = &net->blocks[b];
        bl->in = s;
        rl_shape t = s;
        for (int u = 0; u < bl->nunits; u++) {
            need_unit(net, &bl->u[u], t, &sz, u < bl->nunits - 1 ? OUT_MID : OUT_NONE);
            t = bl->u[u].out;
        }
        sz.act += rl_round_floats(rl_shape_count(t)); /* block output */
        bl->keep_down = keep_down(bl);
        if (bl->has_down) need_unit(net, &bl->down, s, &sz, bl->keep_down ? OUT_NONE : OUT_DROP_CONV);
        bl->out_shape = t;
        s = t;
    }
    if (s.h < 1 || s.w < 1)
        return rl_fail(err, RL_ERR_ARG, "model '%s': input %dx%d is too small (feature map vanishes)", net->cfg.arch, h,
                       w);
    size_t head =
        rl_round_floats((size_t)max_batch * net->feat) * 2 + rl_round_floats((size_t)max_batch * net->cfg.num_classes);
    sz.act += head;
    *out = sz;
    return RL_OK;
}

static rl_status alloc_common(rl_resnet *net, const sizes *sz, size_t ws, rl_error *err)
{
    net->ws_floats = ws;
    net->ws = rl_alloc_checked(sizeof(float) * (ws + WS_SLACK), "convolution workspace", err);
    net->bn_scratch = rl_alloc_checked(sizeof(double) * rl_bn_scratch_doubles((int)sz->max_c), "BN scratch", err);
    net->stats_arena = rl_alloc_checked(sizeof(float) * (sz->stats + 16), "BN batch statistics", err);
    return net->ws && net->bn_scratch && net->stats_arena ? RL_OK : RL_ERR_NOMEM;
}

static float *place_head(rl_resnet *net, float *act, int max_batch)
{
    net->pooled = act;
    act += rl_round_floats((size_t)max_batch * net->feat);
    net->dpooled = act;
    act += rl_round_floats((size_t)max_batch * net->feat);
    net->logits = act;
    return act + rl_round_floats((size_t)max_batch * net->cfg.num_classes);
}

/* ---- convolution workspace in the training plan ----
 *
 * The rotating buffer R holds a block's inner BN+ReLU outputs, one after the
 * other, and nothing else while the block runs forward or backward; its tail
 * then is free for the block's convolution workspace.  (It also holds the
 * ImageNet stem's output, which is dead while the stem's convolution runs:
 * forward writes it after, backward reads it in the max pool's backward,
 * before.)  R is sized for the largest block's outputs or the stem's, so
 * the late blocks, whose maps are small but whose Winograd workspaces are the
 * largest (54 MiB in ResNet-152's layer4 at batch 32), run in its tail, and
 * the net's own workspace serves only the units that do not fit. */

static size_t unit_ws(const unit *u)
{
    return rl_conv_workspace_floats(&u->conv, u->in) + WS_SLACK;
}

static size_t block_mids(const block *bl)
{
    size_t n = 0;
    for (int u = 0; u < bl->nunits - 1; u++)
        n += rl_round_floats(rl_shape_count(bl->u[u].out));
    return n;
}

/* Calls fn on every unit with the floats of R in use during its calls. */
static void each_unit(rl_resnet *net, void (*fn)(unit *u, size_t used, void *ctx), void *ctx)
{
    fn(&net->stem, 0, ctx);
    for (int b = 0; b < net->nblocks; b++) {
        block *bl = &net->blocks[b];
        size_t used = block_mids(bl);
        for (int u = 0; u < bl->nunits; u++)
            fn(&bl->u[u], used, ctx);
        if (bl->has_down) fn(&bl->down, used, ctx);
    }
}

typedef struct {
    size_t rot, ws; /* in: R; out: the net workspace the units left over need */
} ws_fit;

static void fit_unit(unit *u, size_t used, void *ctx)
{
    ws_fit *f = ctx;
    size_t need = unit_ws(u);
    if (used + need > f->rot && need > f->ws) f->ws = need;
}

typedef struct {
    rl_resnet *net;
    size_t min_rot;
    ws_fit best;
} ws_search;

/* Tries R = the floats this unit needs beside its block's inner outputs. */
static void try_rot(unit *u, size_t used, void *ctx)
{
    ws_search *s = ctx;
    ws_fit f = {used + unit_ws(u), 0};
    if (f.rot < s->min_rot) f.rot = s->min_rot;
    each_unit(s->net, fit_unit, &f);
    if (f.rot + f.ws < s->best.rot + s->best.ws) s->best = f;
}

/* The R (at least min_rot) that makes R + the net's workspace smallest. */
static ws_fit choose_rot(rl_resnet *net, size_t min_rot)
{
    ws_search s = {net, min_rot, {min_rot, 0}};
    each_unit(net, fit_unit, &s.best);
    each_unit(net, try_rot, &s);
    return s.best;
}

typedef struct {
    float *rot, *ws;
    size_t rot_floats;
} ws_place;

static void place_ws(unit *u, size_t used, void *ctx)
{
    ws_place *p = ctx;
    u->ws = p->rot && used + unit_ws(u) <= p->rot_floats ? p->rot + used : p->ws;
}

rl_status rl_resnet_plan(rl_resnet *net, int max_batch, int h, int w, rl_error *err)
{
    free_plan(net);
    sizes sz;
    rl_status st = size_pass(net, max_batch, h, w, &sz, err);
    if (st) return st;
    /* Scratch: g[0], g[1] (block-level gradients) of the largest activation;
     * dmid (gradient of a BN+ReLU output inside a block) and the rotating
     * buffer R, which holds a block's such outputs one after the other (they
     * are written by forward and recomputed by backward) and, past them,
     * convolution workspace (choose_rot); with the ImageNet stem R also holds
     * the stem's output (the max pool's input), recomputed the same way.  A
     * unit's conv output gradient needs no buffer of its own: backward
     * computes it in place of its BN output's gradient or, in a block's last
     * unit, of the block output, which backward no longer needs by then. */
    size_t min_rot = net->cfg.small_stem ? 0 : rl_round_floats(rl_shape_count(net->stem.out));
    for (int b = 0; b < net->nblocks; b++)
        if (block_mids(&net->blocks[b]) > min_rot) min_rot = block_mids(&net->blocks[b]);
    const ws_fit fit = choose_rot(net, min_rot);
    const size_t rot = fit.rot, ws = fit.ws;
    net->act_arena = rl_alloc_checked(sizeof(float) * sz.act, "activations", err);
    net->scratch_floats = 2 * sz.max_act + sz.max_mid + rot;
    net->scratch_arena = rl_alloc_checked(sizeof(float) * net->scratch_floats, "gradient scratch", err);
    net->bn_moments =
        rl_alloc_checked(sizeof(double) * rl_bn_moments_doubles((int)sz.max_c, max_batch), "BN image moments", err);
    if (alloc_common(net, &sz, ws, err) || !net->act_arena || !net->scratch_arena || !net->bn_moments) {
        free_plan(net);
        return err ? err->code : RL_ERR_NOMEM;
    }
    net->act_floats = sz.act;
    net->g[0] = net->scratch_arena;
    net->g[1] = net->g[0] + sz.max_act;
    net->dmid = net->g[1] + sz.max_act;
    float *rotating = net->dmid + sz.max_mid;
    /* The downsample branch's conv output, unless kept (keep_down), borrows
     * the block output, which forward writes only after that conv output's
     * BN has consumed it, and backward recomputes it there after the block's
     * units are done with it; forward never touches the backward scratch, so
     * its BN output goes to g[0] (down_out). */

    float *act = net->act_arena, *stats = net->stats_arena;
    act = place_unit(&net->stem, act, &stats, net->cfg.small_stem ? &net->stem_out : NULL);
    if (!net->cfg.small_stem) {
        net->stem_out = rotating;
        net->pool_out = act;
        act += rl_round_floats(rl_shape_count(rl_maxpool_out_shape(&net->pool, net->stem.out)));
    }
    for (int b = 0; b < net->nblocks; b++) {
        block *bl = &net->blocks[b];
        for (int u = 0; u < bl->nunits; u++) {
            act = place_unit(&bl->u[u], act, &stats, NULL);
            if (u < bl->nunits - 1)
                bl->mid[u] = u ? bl->mid[u - 1] + rl_round_floats(rl_shape_count(bl->u[u - 1].out)) : rotating;
        }
        bl->out = act;
        act += rl_round_floats(rl_shape_count(bl->out_shape));
        if (bl->keep_down)
            act = place_unit(&bl->down, act, &stats, NULL);
        else if (bl->has_down)
            place_unit(&bl->down, bl->out, &stats, NULL);
        bl->down_out = net->g[0];
        /* backward's unit gradients alternate between dmid and the block
         * output: the gradient of the first BN+ReLU output must fit there */
        for (int u = 0; u < bl->nunits - 2; u++)
            RL_CHECK(rl_shape_count(bl->u[u].out) <= rl_shape_count(bl->out_shape));
    }
    act = place_head(net, act, max_batch);
    RL_CHECK((size_t)(act - net->act_arena) == sz.act);
    ws_place wp = {rotating, net->ws, rot};
    each_unit(net, place_ws, &wp);
    net->max_batch = max_batch;
    net->h = h;
    net->w = w;
    net->inference_only = 0;
    return RL_OK;
}

rl_status rl_resnet_check_input(rl_resnet *net, int max_batch, int h, int w, rl_error *err)
{
    sizes sz;
    rl_status st = size_pass(net, max_batch, h, w, &sz, err);
    /* size_pass set the units' shapes: put back those of the current plan */
    if (net->max_batch) RL_CHECK(size_pass(net, net->max_batch, net->h, net->w, &sz, NULL) == RL_OK);
    return st;
}

/* Whether the inference plan folds a block's last unit: its eval BN goes
 * into the 1x1 convolution's weights (scaled per output channel) and a
 * shift, and the convolution adds onto the shortcut in place with OpenBLAS's
 * beta = 1, so the epilogue is shift + ReLU on data the GEMM just wrote.
 * That saves OpenBLAS's zeroing pass over the output and the epilogue's
 * read of the shortcut, a pass over the output each, for a pass over the
 * weights per forward: worth it where the output (at the planned batch) has
 * at least FOLD_MIN_RATIO times as many values as the weights (ResNet-50
 * folds its first two stages at batch 1, all but the last at 32).  Measured at
 * batch 32 on `SkylakeX`, two nets planned with and without folding in one
 * process, forwards alternated: ResNet-50 0.94 of the time by the best of
 * 30, 0.96 by the median; ResNet-152 0.95 and 0.96 of 12; per layer
 * (ResNet-152, profiled) 1x1 64->256 @56x56 0.78, 128->512 @28x28 0.87,
 * 256->1024 @14x14 0.88, and in a prototype 512->2048 @7x7 (3.2 values per
 * weight at batch 32, so not folded there) 0.94. */
#define FOLD_MIN_RATIO 4

static int fold_pays(const unit *u)
{
    const rl_conv *cv = &u->conv;
    return cv->k == 1 && cv->stride == 1 && cv->pad == 0 &&
           rl_shape_count(u->out) >= (size_t)FOLD_MIN_RATIO * cv->out_c * cv->in_c;
}

/* Floats of the buffer a folding unit needs: scaled weights, shift, scale. */
static size_t fold_floats(const unit *u)
{
    return rl_round_floats((size_t)u->conv.out_c * u->conv.in_c) + 2 * rl_round_floats((size_t)u->conv.out_c);
}

rl_status rl_resnet_plan_inference(rl_resnet *net, int max_batch, int h, int w, rl_error *err)
{
    free_plan(net);
    sizes sz;
    rl_status st = size_pass(net, max_batch, h, w, &sz, err);
    if (st) return st;
    /* Three buffers of the largest activation and the head.  Eval-mode BN is
     * a per-channel affine, so every conv writes straight into its unit's
     * output buffer and BN(+add)+ReLU runs there in place.  A block reads its
     * input X and writes its inner units' outputs into the other two, P and
     * Q, in turn; forward runs the downsample branch after them, into
     * whichever of P and Q the last unit does not read, and the last unit
     * then overwrites X, which nothing needs any more.  Without a downsample
     * branch X is the shortcut and the output takes that free buffer.  A
     * folding last unit (fold_pays) instead adds onto its shortcut in place:
     * the output is the downsample branch's buffer, or X. */
    const size_t m = sz.max_act, head = rl_round_floats((size_t)max_batch * net->feat) * 2 +
                                        rl_round_floats((size_t)max_batch * net->cfg.num_classes);
    net->act_floats = 3 * m + head;
    net->act_arena = rl_alloc_checked(sizeof(float) * net->act_floats, "activations", err);
    if (alloc_common(net, &sz, sz.ws, err) || !net->act_arena) {
        free_plan(net);
        return err ? err->code : RL_ERR_NOMEM;
    }
    float *buf[3] = {net->act_arena, net->act_arena + m, net->act_arena + 2 * m};
    float *stats = net->stats_arena;
    size_t fold = 0;                              /* floats of the folded weights' buffer */
    place_unit(&net->stem, buf[0], &stats, NULL); /* conv output = BN output */
    net->stem_out = buf[0];
    float *cur = buf[0];
    if (!net->cfg.small_stem) {
        net->pool_out = buf[1];
        cur = buf[1];
    }
    for (int b = 0; b < net->nblocks; b++) {
        block *bl = &net->blocks[b];
        float *other[2];
        for (int i = 0, k = 0; i < 3; i++)
            if (buf[i] != cur) other[k++] = buf[i];
        const int last = bl->nunits - 1;
        for (int u = 0; u < last; u++) {
            bl->mid[u] = other[u % 2];
            place_unit(&bl->u[u], bl->mid[u], &stats, NULL);
        }
        float *free_buf = other[last % 2];
        bl->fold = fold_pays(&bl->u[last]);
        if (bl->fold && fold_floats(&bl->u[last]) > fold) fold = fold_floats(&bl->u[last]);
        /* a folding last unit writes over its shortcut: the downsample
         * branch's output, or else X */
        if (bl->has_down) {
            bl->down_out = free_buf;
            place_unit(&bl->down, free_buf, &stats, NULL);
            bl->out = bl->fold ? free_buf : cur;
        } else {
            bl->out = bl->fold ? cur : free_buf;
        }
        place_unit(&bl->u[last], bl->out, &stats, NULL);
        cur = bl->out;
    }
    if (fold) {
        net->fold_w = rl_alloc_checked(sizeof(float) * fold, "folded weights", err);
        if (!net->fold_w) {
            free_plan(net);
            return err ? err->code : RL_ERR_NOMEM;
        }
    }
    place_head(net, net->act_arena + 3 * m, max_batch);
    ws_place wp = {NULL, net->ws, 0};
    each_unit(net, place_ws, &wp);
    net->scratch_floats = 0;
    net->max_batch = max_batch;
    net->h = h;
    net->w = w;
    net->inference_only = 1;
    return RL_OK;
}

size_t rl_resnet_activation_bytes(const rl_resnet *net)
{
    return sizeof(float) * (net->act_floats + net->scratch_floats + net->ws_floats);
}

/* ---- forward ---- */

static rl_shape at_batch(rl_shape s, int n)
{
    s.n = n;
    return s;
}

/* ---- profiling (only when a profile is attached) ---- */

typedef struct {
    double wall, cpu;
} stamp;

static stamp tic(const rl_resnet *net)
{
    stamp t = {0, 0};
    if (net->prof) {
        t.wall = rl_now();
        t.cpu = rl_cpu_now();
    }
    return t;
}

/* Adds the time since t0 to the row (kind, shape of u); u may be NULL. */
static void toc(rl_resnet *net, stamp t0, const char *kind, const unit *u, int conv_shape, double flops)
{
    if (!net->prof) return;
    char shape[48] = "";
    if (u && conv_shape)
        snprintf(shape, sizeof shape, "%dx%d/%d %d->%d @%dx%d", u->conv.k, u->conv.k, u->conv.stride, u->conv.in_c,
                 u->conv.out_c, u->in.h, u->in.w);
    else if (u)
        snprintf(shape, sizeof shape, "%d @%dx%d", u->out.c, u->out.h, u->out.w);
    rl_profile_add(net->prof, kind, shape, rl_now() - t0.wall, rl_cpu_now() - t0.cpu, flops);
}

/* Floating-point operations of one of the unit's three convolution GEMMs. */
static double conv_flops(const unit *u, int n)
{
    return 2.0 * n * u->out.h * u->out.w * u->conv.out_c * u->conv.k * u->conv.k * u->conv.in_c;
}

void rl_resnet_set_profile(rl_resnet *net, rl_profile *prof)
{
    net->prof = prof;
}

/* Eval-mode BN(+add)(+ReLU) of one image, as the conv's epilogue. */
typedef struct {
    const rl_bn *bn;
    size_t rows; /* per image */
    const float *residual;
    int relu;
    float *y;
} eval_bn;

static void eval_bn_image(void *ctx, int n, float *c_n)
{
    const eval_bn *e = ctx;
    const size_t at = (size_t)n * e->rows * e->bn->c;
    rl_bn_eval_rows(e->bn, e->rows, c_n, e->residual ? e->residual + at : NULL, e->relu, e->y + at);
}

/* Training BN's moments of one image (rl_bn_image_moments), as the conv's
 * epilogue: the image's output is read while it is in cache, instead of in a
 * pass over the batch's. */
typedef struct {
    int c;
    size_t rows; /* per image */
    double *moments;
} bn_moments;

static void bn_moments_image(void *ctx, int n, float *c_n)
{
    const bn_moments *e = ctx;
    rl_bn_image_moments(e->c, e->rows, c_n, e->moments + (size_t)n * rl_bn_moments_doubles(e->c, 1));
}

static int overlap(const float *a, size_t na, const float *b, size_t nb)
{
    uintptr_t a0 = (uintptr_t)a, a1 = (uintptr_t)(a + na), b0 = (uintptr_t)b, b1 = (uintptr_t)(b + nb);
    return na && nb && a0 < b1 && b0 < a1;
}

/* Whether BN may run on each image as soon as its conv output is there
 * (rl_conv_forward_then) with the result a separate pass would give: while
 * the conv still runs on other images, writing image n's y must not touch
 * their input, conv output or workspace, nor the residual the others read.
 * y is either the conv output itself (in place, the inference plan) or
 * apart from everything the conv uses. */
static int can_fuse(const unit *u, int n, const float *x, const float *residual, const float *y)
{
    const size_t nx = rl_shape_count(at_batch(u->in, n)), ny = rl_shape_count(at_batch(u->out, n));
    const size_t nws = rl_conv_workspace_floats(&u->conv, at_batch(u->in, n));
    if (overlap(y, ny, x, nx) || overlap(y, ny, u->ws, nws)) return 0;
    if (y != u->c && overlap(y, ny, u->c, ny)) return 0;
    return !residual || (!overlap(residual, ny, u->c, ny) && !overlap(residual, ny, u->ws, nws) &&
                         (residual == y || !overlap(residual, ny, y, ny)));
}

/* A training unit's batch norm whose statistics are taken but whose output
 * y is not written yet: the next convolution writes it image by image as its
 * prologue (bn_apply_images), right before it reads the image, so y comes to
 * it from cache instead of from memory.  u == NULL: nothing pending. */
typedef struct {
    const unit *u;
    const float *residual;
    int relu;
    float *y;
    size_t rows; /* per image */
} bn_pending;

static void bn_apply_images(void *ctx, int n0, int n1)
{
    const bn_pending *p = ctx;
    rl_bn_apply_rows(&p->u->bn, (size_t)n0 * p->rows, (size_t)n1 * p->rows, p->u->c, p->residual, p->relu,
                     p->u->save_mean, p->u->save_invstd, p->y);
}

/* Writes a pending BN output for the whole batch now. */
static void bn_flush(bn_pending *p, int n)
{
    if (!p->u) return;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        bn_apply_images(p, i, i + 1);
    p->u = NULL;
}

/* Whether writing nb floats at buf leaves a pending BN's input, residual
 * and output alone (nothing pending: trivially). */
static int apart_from(const bn_pending *p, int n, const float *buf, size_t nb)
{
    if (!p->u) return 1;
    const size_t ny = rl_shape_count(at_batch(p->u->out, n));
    return !overlap(buf, nb, p->u->c, ny) && !overlap(buf, nb, p->y, ny) &&
           !(p->residual && overlap(buf, nb, p->residual, ny));
}

/* One unit's conv and BN(+add)(+ReLU).  pending (training only; NULL: none
 * either way): on entry, the BN whose output is x, if not written yet; on
 * return, this unit's BN, whose output y the next convolution writes. */
static void unit_forward(rl_resnet *net, unit *u, int n, const float *x, const float *residual, int relu, int train,
                         float *y, bn_pending *pending)
{
    rl_shape in = at_batch(u->in, n);
    const char *bn_kind = residual ? "bn+add+relu fwd" : relu ? "bn+relu fwd" : "bn fwd";
    stamp t0 = tic(net);
    if (!train && can_fuse(u, n, x, residual, y)) {
        /* eval BN needs no batch statistics: each image's conv output is
         * normalised right after it is computed, while it is in cache */
        eval_bn e = {&u->bn, (size_t)u->out.h * u->out.w, residual, relu, y};
        rl_conv_epilogue then = {eval_bn_image, &e};
        rl_conv_forward_then(&u->conv, in, x, u->c, u->ws, &then);
        const char *kind = residual ? "conv+bn+add+relu fwd" : relu ? "conv+bn+relu fwd" : "conv+bn fwd";
        toc(net, t0, kind, u, 1, conv_flops(u, n));
        return;
    }
    const size_t rows = rl_shape_rows(at_batch(u->out, n));
    if (train && net->bn_moments) {
        /* x's batch norm as this conv's prologue, if its output and
         * workspace leave that BN's data alone */
        bn_pending before = {NULL, NULL, 0, NULL, 0};
        if (pending && pending->u) {
            RL_CHECK(pending->y == x);
            if (apart_from(pending, n, u->c, rl_shape_count(at_batch(u->out, n))) &&
                apart_from(pending, n, u->ws, rl_conv_workspace_floats(&u->conv, in)))
                before = *pending;
            else
                bn_flush(pending, n);
            pending->u = NULL;
        }
        bn_moments e = {u->bn.c, (size_t)u->out.h * u->out.w, net->bn_moments};
        rl_conv_epilogue then = {bn_moments_image, &e};
        rl_conv_prologue apply = {bn_apply_images, &before};
        rl_conv_forward_between(&u->conv, in, x, u->c, u->ws, before.u ? &apply : NULL, &then);
        toc(net, t0, "conv fwd", u, 1, conv_flops(u, n));
        t0 = tic(net);
        if (pending) {
            rl_bn_stats_moments(&u->bn, n, rows, net->bn_moments, u->c, u->save_mean, u->save_invstd, net->bn_scratch);
            *pending = (bn_pending){u, residual, relu, y, (size_t)u->out.h * u->out.w};
        } else {
            rl_bn_forward_moments(&u->bn, n, rows, net->bn_moments, u->c, residual, relu, y, u->save_mean,
                                  u->save_invstd, net->bn_scratch);
        }
        toc(net, t0, bn_kind, u, 0, 0);
        return;
    }
    rl_conv_forward(&u->conv, in, x, u->c, u->ws);
    toc(net, t0, "conv fwd", u, 1, conv_flops(u, n));
    t0 = tic(net);
    rl_bn_forward(&u->bn, rows, u->c, residual, relu, train, y, u->save_mean, u->save_invstd, net->bn_scratch);
    toc(net, t0, bn_kind, u, 0, 0);
}

/* ReLU(y + shift) of one image, in place: a folded unit's epilogue. */
typedef struct {
    const float *shift;
    int c;
    size_t rows; /* per image */
} shift_relu;

static void shift_relu_image(void *ctx, int n, float *y_n)
{
    const shift_relu *e = ctx;
    (void)n;
    for (size_t r = 0; r < e->rows; r++) {
        float *yr = y_n + r * e->c;
        for (int c = 0; c < e->c; c++) {
            float v = yr[c] + e->shift[c];
            yr[c] = v < 0 ? 0 : v; /* NaN passes, as in BN's ReLU */
        }
    }
}

/* A folding block's last unit (fold_pays), eval mode: y holds the shortcut
 * and becomes ReLU(shortcut + conv(x) with the BN folded in). */
static void unit_forward_folded(rl_resnet *net, unit *u, int n, const float *x, float *y)
{
    stamp t0 = tic(net);
    const int OC = u->conv.out_c, C = u->conv.in_c;
    float *w = net->fold_w, *shift = w + rl_round_floats((size_t)OC * C), *scale = shift + rl_round_floats(OC);
    rl_bn_eval_affine(&u->bn, scale, shift);
#pragma omp parallel for schedule(static)
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++)
            w[(size_t)o * C + c] = u->conv.w[(size_t)o * C + c] * scale[o];
    rl_conv folded = u->conv;
    folded.w = w;
    shift_relu e = {shift, OC, (size_t)u->out.h * u->out.w};
    rl_conv_epilogue then = {shift_relu_image, &e};
    rl_conv_forward_add(&folded, at_batch(u->in, n), x, y, u->ws, &then);
    toc(net, t0, "conv+bn+add+relu fwd", u, 1, conv_flops(u, n));
}

const float *rl_resnet_forward(rl_resnet *net, const float *x, int n, int train)
{
    RL_CHECK_MSG(n >= 1 && n <= net->max_batch, "batch larger than planned");
    RL_CHECK_MSG(!train || !net->inference_only, "training forward on a network planned for inference");
    net->x = x;
    net->n = n;
    /* The profile times each BN pass apart (and is the bitwise reference of
     * the deferred normalisation in tests/test_nn.c). */
    bn_pending pend = {NULL, NULL, 0, NULL, 0};
    bn_pending *pending = train && net->bn_moments && !net->prof && !net->inference_only ? &pend : NULL;
    unit_forward(net, &net->stem, n, x, NULL, 1, train, net->stem_out, pending);
    const float *cur = net->stem_out;
    if (!net->cfg.small_stem) {
        bn_flush(&pend, n);
        stamp t0 = tic(net);
        rl_maxpool_forward(&net->pool, at_batch(net->stem.out, n), net->stem_out, net->pool_out);
        toc(net, t0, "maxpool fwd", NULL, 0, 0);
        cur = net->pool_out;
    }
    for (int b = 0; b < net->nblocks; b++) {
        block *bl = &net->blocks[b];
        const float *in = cur, *shortcut = cur;
        for (int u = 0; u < bl->nunits - 1; u++) {
            unit_forward(net, &bl->u[u], n, in, NULL, 1, train, bl->mid[u], pending);
            in = bl->mid[u];
        }
        /* after the inner units: the inference plan gives the branch a buffer
         * that is free only from here on */
        if (bl->has_down) {
            /* the inner units' last BN, still pending, must survive this
             * branch's buffers (and cur be written already) */
            unit *d = &bl->down;
            rl_shape din = at_batch(d->in, n);
            if (pend.y == cur || !apart_from(&pend, n, d->c, rl_shape_count(at_batch(d->out, n))) ||
                !apart_from(&pend, n, d->ws, rl_conv_workspace_floats(&d->conv, din)) ||
                !apart_from(&pend, n, bl->down_out, rl_shape_count(at_batch(d->out, n))))
                bn_flush(&pend, n);
            unit_forward(net, d, n, cur, NULL, 0, train, bl->down_out, NULL);
            shortcut = bl->down_out;
        }
        if (bl->fold) {
            RL_CHECK(shortcut == bl->out);
            unit_forward_folded(net, &bl->u[bl->nunits - 1], n, in, bl->out);
        } else {
            unit_forward(net, &bl->u[bl->nunits - 1], n, in, shortcut, 1, train, bl->out, pending);
        }
        cur = bl->out;
    }
    bn_flush(&pend, n);
    rl_shape last = net->nblocks ? net->blocks[net->nblocks - 1].out_shape : net->stem.out;
    stamp t0 = tic(net);
    rl_avgpool_forward(at_batch(last, n), cur, net->pooled);
    rl_fc_forward(&net->fc, n, net->pooled, net->logits);
    toc(net, t0, "avgpool+fc fwd", NULL, 0, 2.0 * n * net->feat * net->cfg.num_classes);
    return net->logits;
}

/* ---- backward ---- */

/* dy: gradient w.r.t. the unit's BN(+ReLU) output y; relu: an RL_BN_* mode
 * (RL_BN_RELU_Y masks dy in place); dx: gradient w.r.t. the conv input,
 * overwritten or accumulated. */
/* BN backward's second pass (rl_bn_backward_rows) on images [n0, n1), as
 * the conv backward's prologue: each image's conv output gradient is written
 * right before the conv's GEMMs read it, while it is in cache. */
typedef struct {
    const unit *u;
    size_t rows; /* per image */
    const float *y, *coef;
    float *dy, *dconv;
    int relu;
} bn_dx;

static void bn_dx_images(void *ctx, int n0, int n1)
{
    const bn_dx *e = ctx;
    rl_bn_backward_rows(&e->u->bn, (size_t)n0 * e->rows, (size_t)n1 * e->rows, e->u->c, e->y, e->dy, e->relu,
                        e->u->save_mean, e->coef, e->dconv);
}

static void unit_backward(rl_resnet *net, unit *u, int n, const float *x, const float *y, float *dy, int relu,
                          float *dconv, float *dx, int accumulate)
{
    rl_shape in = at_batch(u->in, n);
    const size_t rows = rl_shape_rows(at_batch(u->out, n)), ny = rows * (size_t)u->bn.c;
    const size_t nx = rl_shape_count(in);
    stamp t0 = tic(net);
    /* the profile times BN and the two conv gradients apart; the prologue
     * needs the conv's dx apart from everything BN reads for other images */
    const int dx_apart =
        !dx || (!overlap(dx, nx, u->c, ny) && !overlap(dx, nx, dy, ny) && !(y && overlap(dx, nx, y, ny)));
    if (!net->prof && dx_apart) {
        float coef[rl_bn_coef_floats(u->bn.c) + 1];
        rl_bn_backward_sums(&u->bn, rows, u->c, y, dy, relu, u->save_mean, u->save_invstd, net->bn_scratch, coef);
        bn_dx e = {u, (size_t)u->out.h * u->out.w, y, coef, dy, dconv, relu};
        rl_conv_prologue before = {bn_dx_images, &e};
        rl_conv_backward_after(&u->conv, in, x, dconv, dx, accumulate, u->ws, &before);
        return;
    }
    rl_bn_backward(&u->bn, rows, u->c, y, dy, relu, u->save_mean, u->save_invstd, dconv, net->bn_scratch);
    toc(net, t0, relu ? "bn+relu bwd" : "bn bwd", u, 0, 0);
    t0 = tic(net);
    if (!net->prof) {
        rl_conv_backward(&u->conv, in, x, dconv, dx, accumulate, u->ws);
        return;
    }
    rl_conv_backward_weights(&u->conv, in, x, dconv, u->ws);
    toc(net, t0, "conv wgrad", u, 1, conv_flops(u, n));
    if (dx) {
        t0 = tic(net);
        rl_conv_backward_data(&u->conv, in, dconv, dx, accumulate, u->ws);
        toc(net, t0, "conv dgrad", u, 1, conv_flops(u, n));
    }
}

/* Rebuilds the BN+ReLU output y of a unit that forward wrote to a rotating
 * buffer, bitwise as forward computed it (gamma and beta are unchanged until
 * the optimiser steps after backward). */
static void recompute_output(rl_resnet *net, unit *u, int n, float *y)
{
    stamp t0 = tic(net);
    rl_bn_recompute(&u->bn, rl_shape_rows(at_batch(u->out, n)), u->c, 1, u->save_mean, u->save_invstd, y);
    toc(net, t0, "bn+relu recompute", u, 0, 0);
}

void rl_resnet_backward(rl_resnet *net, const float *dlogits)
{
    RL_CHECK_MSG(!net->inference_only, "backward on a network planned for inference");
    const int n = net->n;
    stamp t0 = tic(net);
    memset(net->dpooled, 0, sizeof(float) * (size_t)n * net->feat);
    rl_fc_backward(&net->fc, n, net->pooled, dlogits, net->dpooled);
    rl_shape last = net->nblocks ? net->blocks[net->nblocks - 1].out_shape : net->stem.out;
    float *g = net->g[0], *gnext = net->g[1];
    memset(g, 0, sizeof(float) * rl_shape_count(at_batch(last, n)));
    rl_avgpool_backward(at_batch(last, n), net->dpooled, g);
    toc(net, t0, "fc+avgpool bwd", NULL, 0, 4.0 * n * net->feat * net->cfg.num_classes);
    for (int b = net->nblocks - 1; b >= 0; b--) {
        block *bl = &net->blocks[b];
        const float *in = b > 0 ? net->blocks[b - 1].out : (net->cfg.small_stem ? net->stem_out : net->pool_out);
        int L = bl->nunits - 1;
        /* Last unit: the ReLU after the add masks g in place; g is then the
         * gradient of the sum, shared by the branch and the shortcut. */
        /* The block output is not needed once its mask is read: the last
         * unit's conv output gradient overwrites it, and then it holds the
         * gradients of the unit outputs before. */
        float *dmid = net->dmid, *dnext = bl->out;
        recompute_output(net, &bl->u[L - 1], n, bl->mid[L - 1]);
        unit_backward(net, &bl->u[L], n, bl->mid[L - 1], bl->out, g, RL_BN_RELU_Y, bl->out, dmid, 0);
        for (int u = L - 1; u >= 0; u--) {
            if (u > 0) recompute_output(net, &bl->u[u - 1], n, bl->mid[u - 1]);
            const float *x = u > 0 ? bl->mid[u - 1] : in;
            /* The first unit's input gradient: with an identity shortcut it
             * is added to g, the shortcut's gradient, which then is the
             * block input's (no pass of its own for the add). */
            float *dx = u > 0 ? dnext : bl->has_down ? gnext : g;
            /* BN backward turns dmid into the conv's output gradient in place
             * (the mask comes from the conv output, RL_BN_RELU_X, so the
             * recomputed BN+ReLU output is only read as the next conv's
             * input); the conv's input gradient goes to the other buffer,
             * which is the next unit's dmid. */
            unit_backward(net, &bl->u[u], n, x, NULL, dmid, RL_BN_RELU_X, dmid, dx, u == 0 && !bl->has_down);
            float *t = dmid;
            dmid = dnext;
            dnext = t;
        }
        if (bl->has_down) {
            /* Unless kept, the conv output again (bitwise: the same call on
             * the same input), into the block output's buffer, free again;
             * BN backward then turns g into the conv's output gradient in
             * place: g is not needed after it. */
            if (!bl->keep_down) {
                t0 = tic(net);
                rl_conv_forward(&bl->down.conv, at_batch(bl->down.in, n), in, bl->down.c, bl->down.ws);
                toc(net, t0, "conv recompute", &bl->down, 1, conv_flops(&bl->down, n));
            }
            unit_backward(net, &bl->down, n, in, NULL, g, RL_BN_NO_RELU, g, gnext, 1);
            float *t = g;
            g = gnext;
            gnext = t;
        }
        if (net->grad_ready) net->grad_ready(net->grad_ready_ctx, (size_t)(bl->u[0].conv.dw - net->params.grads));
    }
    /* Stem: through the max pool into d(stem_out), then BN+ReLU and conv weights. */
    float *dstem = g;
    if (!net->cfg.small_stem) {
        recompute_output(net, &net->stem, n, net->stem_out);
        dstem = gnext;
        t0 = tic(net);
        rl_maxpool_backward_to(&net->pool, at_batch(net->stem.out, n), net->stem_out, g, dstem);
        toc(net, t0, "maxpool bwd", NULL, 0, 0);
    }
    unit_backward(net, &net->stem, n, net->x, NULL, dstem, RL_BN_RELU_X, dstem, NULL, 0);
    if (net->grad_ready) net->grad_ready(net->grad_ready_ctx, 0);
}

void rl_resnet_on_grad_ready(rl_resnet *net, rl_grad_ready_fn fn, void *ctx)
{
    net->grad_ready = fn;
    net->grad_ready_ctx = ctx;
}

static void set_sync(unit *u, rl_bn_sync_fn fn, void *ctx)
{
    u->bn.sync = fn;
    u->bn.sync_ctx = ctx;
}

void rl_resnet_set_bn_sync(rl_resnet *net, rl_bn_sync_fn fn, void *ctx)
{
    set_sync(&net->stem, fn, ctx);
    for (int b = 0; b < net->nblocks; b++) {
        block *bl = &net->blocks[b];
        for (int u = 0; u < bl->nunits; u++)
            set_sync(&bl->u[u], fn, ctx);
        if (bl->has_down) set_sync(&bl->down, fn, ctx);
    }
}

void rl_resnet_zero_grad(rl_resnet *net)
{
    /* in pieces over the threads: one memset of ResNet-50's 100 MB left the
     * other core idle (1.34 cores, 10 ms a step) */
    const size_t n = net->params.n_weights, piece = (size_t)1 << 16, pieces = (n + piece - 1) / piece;
    float *g = net->params.grads;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < pieces; i++)
        memset(g + i * piece, 0, sizeof(float) * (n - i * piece < piece ? n - i * piece : piece));
}

static const char *algo_name(const rl_conv *cv)
{
    switch (cv->algo) {
    case RL_CONV_PER_IMAGE: return "per image";
    case RL_CONV_ROWS: return "per image, a GEMM per kernel row";
    case RL_CONV_WINOGRAD: return cv->tile == 4 ? "Winograd F(4x4,3x3)" : "Winograd F(2x2,3x3)";
    case RL_CONV_WINOGRAD_BLOCKS:
        return cv->tile == 4 ? "Winograd F(4x4,3x3), tiles in blocks per thread"
                             : "Winograd F(2x2,3x3), tiles in blocks per thread";
    default:
        return cv->k == 1 && cv->stride == 1 && cv->pad == 0 ? "one GEMM over the batch"
                                                             : "im2col + GEMM over the batch";
    }
}

/* One distinct (shape, algorithm) of the conv table; counts its layers. */
typedef struct {
    const unit *u;
    int layers;
} conv_row;

static void count_conv(conv_row *rows, int *n, const unit *u)
{
    for (int i = 0; i < *n; i++) {
        const unit *v = rows[i].u;
        if (v->conv.k == u->conv.k && v->conv.stride == u->conv.stride && v->conv.in_c == u->conv.in_c &&
            v->conv.out_c == u->conv.out_c && v->in.h == u->in.h && v->in.w == u->in.w &&
            v->conv.algo == u->conv.algo && v->conv.tile == u->conv.tile) {
            rows[i].layers++;
            return;
        }
    }
    rows[(*n)++] = (conv_row){u, 1};
}

rl_status rl_resnet_print_conv_plan(rl_resnet *net, int batch, int h, int w, FILE *out, rl_error *err)
{
    sizes sz;
    rl_status st = size_pass(net, batch, h, w, &sz, err);
    if (st) {
        if (net->max_batch) RL_CHECK(size_pass(net, net->max_batch, net->h, net->w, &sz, NULL) == RL_OK);
        return st;
    }
    conv_row *rows = calloc((size_t)4 * net->nblocks + 1, sizeof *rows);
    if (!rows) return rl_fail(err, RL_ERR_NOMEM, "out of memory listing convolutions");
    int n = 0;
    count_conv(rows, &n, &net->stem);
    for (int b = 0; b < net->nblocks; b++) {
        for (int u = 0; u < net->blocks[b].nunits; u++)
            count_conv(rows, &n, &net->blocks[b].u[u]);
        if (net->blocks[b].has_down) count_conv(rows, &n, &net->blocks[b].down);
    }
    const char *force = getenv("RELAB_CONV");
    fprintf(out, "convolutions at batch %d, %dx%d, %d threads%s%s:\n", batch, h, w, omp_get_max_threads(),
            force ? ", RELAB_CONV=" : "", force ? force : "");
    for (int i = 0; i < n; i++) {
        const unit *u = rows[i].u;
        char shape[48];
        snprintf(shape, sizeof shape, "%dx%d/%d %d->%d @%dx%d", u->conv.k, u->conv.k, u->conv.stride, u->conv.in_c,
                 u->conv.out_c, u->in.h, u->in.w);
        fprintf(out, "  %-26s x%-3d %s\n", shape, rows[i].layers, algo_name(&u->conv));
    }
    free(rows);
    /* size_pass set the units' shapes: put back those of the current plan */
    if (net->max_batch) RL_CHECK(size_pass(net, net->max_batch, net->h, net->w, &sz, NULL) == RL_OK);
    return RL_OK;
}

void rl_resnet_print_summary(const rl_resnet *net, int h, int w, FILE *out)
{
    const rl_resnet_config *c = &net->cfg;
    fprintf(out, "%s: %s blocks %d", c->arch, c->bottleneck ? "bottleneck" : "basic", c->blocks[0]);
    for (int s = 1; s < c->nstages; s++)
        fprintf(out, "/%d", c->blocks[s]);
    fprintf(out, ", width %d, %s stem, input %dx%dx%d, %d classes, %zu parameters\n", c->width,
            c->small_stem ? "3x3" : "7x7+maxpool", h, w, c->in_channels, c->num_classes,
            rl_params_learnable(&net->params));
    if (out == stderr) return; /* the trainer's start-up line; `relab info` prints the table */
    /* per stage: output shape and parameters, from the table's names */
    const rl_param_table *t = &net->params;
    long oh = c->small_stem ? h : (h + 1L) / 2, ow = c->small_stem ? w : (w + 1L) / 2;
    if (!c->small_stem) {
        oh = (oh + 1) / 2;
        ow = (ow + 1) / 2;
    }
    fprintf(out, "  %-10s %-16s %12s\n", "layer", "output (HxWxC)", "parameters");
    size_t stem = 0;
    for (int i = 0; i < t->count; i++)
        if (t->entries[i].kind == RL_PARAM_WEIGHT && !strncmp(t->entries[i].name, "conv1.", 6))
            stem += t->entries[i].count;
        else if (t->entries[i].kind == RL_PARAM_WEIGHT && !strncmp(t->entries[i].name, "bn1.", 4))
            stem += t->entries[i].count;
    fprintf(out, "  %-10s %4ldx%-4ldx%-6d %12zu\n", "stem", oh, ow, c->width, stem);
    int ch = c->width;
    for (int s = 0; s < c->nstages; s++) {
        char prefix[24];
        snprintf(prefix, sizeof prefix, "layer%d.", s + 1);
        size_t n = 0;
        for (int i = 0; i < t->count; i++)
            if (t->entries[i].kind == RL_PARAM_WEIGHT && !strncmp(t->entries[i].name, prefix, strlen(prefix)))
                n += t->entries[i].count;
        if (s > 0) {
            oh = (oh + 1) / 2;
            ow = (ow + 1) / 2;
        }
        ch = (c->width << s) * (c->bottleneck ? 4 : 1);
        prefix[strlen(prefix) - 1] = '\0';
        fprintf(out, "  %-10s %4ldx%-4ldx%-6d %12zu\n", prefix, oh, ow, ch, n);
    }
    fprintf(out, "  %-10s %4dx%-4dx%-6d %12zu\n", "fc", 1, 1, c->num_classes, (size_t)(ch + 1) * c->num_classes);
}
