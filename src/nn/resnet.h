/* resnet.h: ResNet-18/34/50/101/152 with torchvision's exact topology, and
 * small variants for 28x28 / 32x32 images.
 *
 * He et al. 2016, "Deep Residual Learning"; the bottleneck is "v1.5" as in
 * torchvision: the stride of a downsampling block sits on the 3x3 conv
 * (stride_on_1x1 = 1 gives the original v1).  Parameter names, shapes and
 * counts equal torchvision's (ResNet-50: 25,557,032; ResNet-152: 60,192,808).
 *
 * Ownership: an rl_resnet owns its parameter table and arenas, and after
 * rl_resnet_plan also its activations, gradient scratch and workspace, all
 * sized once for the largest batch; forward and backward never allocate.
 * Activations are NHWC; the input batch is (N, H, W, in_channels) floats that
 * the caller owns and keeps unchanged from forward until backward returns.
 * Not thread-safe: one network, one caller at a time (it uses OpenMP and
 * OpenBLAS threads inside).
 */
#ifndef RL_RESNET_H
#define RL_RESNET_H

#include <stdint.h>
#include <stdio.h>

#include "nn/bn.h"
#include "nn/conv.h"
#include "nn/fc.h"
#include "nn/params.h"
#include "nn/pool.h"
#include "nn/profile.h"
#include "util/status.h"

typedef struct {
    char arch[32];   /* "resnet50", "resnet8", ... */
    int bottleneck;  /* bottleneck blocks (x4 expansion) vs basic blocks */
    int nstages;     /* 4 (ImageNet ResNets) or 3 (small CIFAR-style) */
    int blocks[4];   /* blocks per stage */
    int width;       /* channels of the stem and of the first stage */
    int small_stem;  /* 3x3 stride-1 stem conv and no max pool */
    int in_channels; /* 3 for RGB, 1 for grey */
    int num_classes;
    int zero_init_residual; /* last BN gamma of every residual branch starts at 0 */
    int stride_on_1x1;      /* ResNet v1 instead of v1.5 */
    float bn_momentum;      /* PyTorch convention, default 0.1 */
    float bn_eps;           /* default 1e-5 */
} rl_resnet_config;

/* Fills cfg for a name: resnet18/34/50/101/152 (ImageNet stem, width 64) or
 * resnet8/resnet20 (small stem, 3 stages of basic blocks, width 16), or
 * "resnet18-small" etc. (small stem on a torchvision net).  Other fields get
 * defaults (num_classes 1000, in_channels 3, zero_init_residual 0). */
rl_status rl_resnet_config_for(const char *name, rl_resnet_config *cfg, rl_error *err);

typedef struct rl_resnet rl_resnet;

/* Builds the network and its parameter arenas (weights zero until init/load). */
rl_status rl_resnet_create(const rl_resnet_config *cfg, rl_resnet **out, rl_error *err);
void rl_resnet_destroy(rl_resnet *net);

/* torchvision's initialisation: Kaiming normal (fan_out, ReLU) convs, BN
 * gamma 1 / beta 0 (gamma 0 for zero_init_residual), fc U(+-1/sqrt(in)),
 * drawn from the counter RNG with this seed.  head_bias sets every fc bias. */
void rl_resnet_init(rl_resnet *net, uint64_t seed, float head_bias);

/* Largest input side rl_resnet_plan accepts (shapes are ints; a batch's
 * pixel count N*H*W must also fit an int, the row count of a GEMM). */
#define RL_RESNET_MAX_SIDE 65536

/* Sizes activations, gradient scratch and workspace for batches of up to
 * max_batch images of h x w (may be called again to re-plan).  Refuses with
 * RL_ERR_ARG sizes out of range (see RL_RESNET_MAX_SIDE) or too small for the
 * network, without allocating. */
rl_status rl_resnet_plan(rl_resnet *net, int max_batch, int h, int w, rl_error *err);

/* Plans for eval-mode forward only: activations rotate through three buffers
 * instead of being kept for backward (ResNet-50 at batch 32: ~0.5 GB instead
 * of ~3 GB), and where it pays a bottleneck block's last BN is folded into
 * its 1x1 convolution, which adds onto the shortcut in place (the logits
 * then differ from the training plan's eval forward by float32 rounding).
 * Neither rl_resnet_backward nor a training forward may follow this plan. */
rl_status rl_resnet_plan_inference(rl_resnet *net, int max_batch, int h, int w, rl_error *err);

/* Forward pass over n <= max_batch images x (N, H, W, C).  train selects batch
 * statistics (and updates running stats) vs running statistics.  Returns the
 * logits (n x num_classes), owned by the network, valid until the next call. */
const float *rl_resnet_forward(rl_resnet *net, const float *x, int n, int train);

/* Backward pass for the last training forward: ACCUMULATES parameter
 * gradients from dlogits (n x num_classes). */
void rl_resnet_backward(rl_resnet *net, const float *dlogits);

/* Called during backward each time the gradients of a suffix of the weight
 * arena are final: fn(ctx, first) means grads[first .. n_weights) will not
 * change again in this backward pass (parameters are laid out in forward
 * order, so the suffix grows as backward walks towards the input).  Data-
 * parallel training starts non-blocking all-reduces of those buckets from
 * here, hiding communication behind the rest of backward.  fn may be NULL. */
typedef void (*rl_grad_ready_fn)(void *ctx, size_t first);
void rl_resnet_on_grad_ready(rl_resnet *net, rl_grad_ready_fn fn, void *ctx);

/* Installs fn (may be NULL) as the synchronised-BN reduction of every BN
 * layer (see rl_bn in nn/bn.h); train/dist.c uses it across MPI ranks. */
void rl_resnet_set_bn_sync(rl_resnet *net, rl_bn_sync_fn fn, void *ctx);

/* Sets every gradient to zero (one memset over the gradient arena). */
void rl_resnet_zero_grad(rl_resnet *net);

rl_param_table *rl_resnet_params(rl_resnet *net);
const rl_resnet_config *rl_resnet_get_config(const rl_resnet *net);

/* Bytes in the activation, scratch and workspace arenas after plan. */
size_t rl_resnet_activation_bytes(const rl_resnet *net);

/* Attaches a profile (may be NULL to detach): from then on forward and backward
 * add each operation's wall time and FLOPs to it (see nn/profile.h).  The
 * profile is the caller's and must outlive the attachment. */
void rl_resnet_set_profile(rl_resnet *net, rl_profile *prof);

/* Checks that batches of max_batch images of h x w can be planned (the same
 * checks as rl_resnet_plan, without allocating). */
rl_status rl_resnet_check_input(rl_resnet *net, int max_batch, int h, int w, rl_error *err);

/* Prints each distinct convolution shape with its number of layers and the
 * algorithm rl_resnet_plan chooses for it at this batch and input size (the
 * choice is a fixed rule on shapes and thread count; see conv.h). */
rl_status rl_resnet_print_conv_plan(rl_resnet *net, int batch, int h, int w, FILE *out, rl_error *err);

/* Prints a table of the layers (name, output shape, parameters). */
void rl_resnet_print_summary(const rl_resnet *net, int h, int w, FILE *out);

#endif
