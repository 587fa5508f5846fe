/* dist.h: data-parallel training over Open MPI (synchronous SGD).
 *
 * Every rank holds a full replica of the network and trains on its shard of
 * each global batch (the loader shards; see data/loader.h).  After backward
 * the gradients are averaged over the ranks, so every replica takes the same
 * SGD step (Goyal et al. 2017, "Accurate, Large Minibatch SGD", section 3):
 *   g = (1/world) * sum_r g_r,   g_r = gradient of rank r's mean loss.
 * The average is an in-place MPI_SUM all-reduce over the flat gradient arena
 * (nn/params.h) followed by a scale by 1/world.  It runs in buckets: the
 * network's grad-ready hook (rl_resnet_on_grad_ready) reports, during
 * backward, each suffix of the arena whose gradients are final, and a bucket
 * of at least bucket_bytes is started there with MPI_Iallreduce, so the
 * transfer overlaps the rest of backward; rl_dist_grads_wait completes them
 * before the SGD step.  A blocking fallback (one MPI_Allreduce after
 * backward) is kept for measuring and for MPI builds without progress.
 *
 * Synchronised BN (optional): the per-channel double sums of every BN layer
 * (sum x and sum (x - m)^2 in forward, sum dy and sum dy (x - m) in backward)
 * are all-reduced together with the row count, so batch statistics are those
 * of the global batch and N ranks compute what 1 rank computes on the whole
 * batch, up to the order of floating-point summation.
 *
 * Environment (read by rl_dist_init, so `mpirun -x` passes them to every
 * rank): RELAB_ALLREDUCE=blocking turns the overlap off (one MPI_Allreduce
 * after backward; faster when ranks share the cores that would also have to
 * move the bytes, as on one node, see docs/cluster.md); RELAB_BUCKET_MB sets
 * the bucket size.
 *
 * Launch detection: MPI is initialised only when the process was started by
 * a launcher (OMPI_COMM_WORLD_SIZE from mpirun, PMIX_RANK from srun --mpi=pmix,
 * PMI_RANK/PMI_SIZE from Hydra or srun --mpi=pmi2).  Started by hand, relab
 * never touches MPI and runs as a world of 1 with exactly the results of a
 * build without MPI.  With world == 1 every call below is a no-op returning
 * RL_OK, and a NULL rl_dist * means world 1 too.
 *
 * Failures: the communicator is a duplicate of MPI_COMM_WORLD with
 * MPI_ERRORS_RETURN, so a failed collective becomes RL_ERR_MPI with MPI's
 * own error string and a hint.  A rank that dies is noticed first by mpirun,
 * which prints which rank died and kills the survivors (Open MPI's default);
 * a rank that fails without dying must call rl_dist_abort so that the others,
 * waiting in a collective, do not hang.  See docs/cluster.md.
 *
 * Threading: MPI is initialised with MPI_THREAD_FUNNELED; every function here
 * and both hooks must be called from the thread that called rl_dist_init
 * (the network calls its hooks outside OpenMP regions).
 */
#ifndef RL_DIST_H
#define RL_DIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/params.h"
#include "util/status.h"

struct rl_resnet;
typedef struct rl_dist rl_dist;

typedef struct {
    int64_t steps;          /* gradient averages completed */
    double bytes_per_step;  /* bytes all-reduced per step (gradients + BN sums), per rank */
    double exposed_seconds; /* time the caller was blocked in all-reduce calls (hook + wait) */
    double bn_seconds;      /* part of it spent in synchronised-BN reductions */
    int buckets_per_step;   /* gradient buckets started in the last step */
} rl_dist_stats;

/* Initialises MPI when launched by mpirun/srun (see above), or a world of 1.
 * A launcher that started several processes which do not form one MPI world
 * (a build without MPI, or srun without --mpi=pmix) is refused with
 * RL_ERR_ARG: each process would train its own copy into the same folder.
 * *out is owned by the caller, released by rl_dist_finalize or rl_dist_abort;
 * the trainer borrows it. */
rl_status rl_dist_init(rl_dist **out, rl_error *err);

/* Finalises MPI (collective: every rank must call it) and frees d; NULL is fine. */
void rl_dist_finalize(rl_dist *d);

/* Ends the whole job from one rank after a failure the others may not share
 * (MPI_Abort); returns only when world == 1 (d is then freed). */
void rl_dist_abort(rl_dist *d, int exit_code);

int rl_dist_rank(const rl_dist *d);
int rl_dist_world(const rl_dist *d);

/* Options: synchronised BN (default off; set before rl_dist_attach); overlap
 * (default on: buckets from the grad-ready hook; off: one blocking all-reduce
 * in rl_dist_grads_wait; may change between steps); bucket size in bytes
 * (default 4 MiB; between steps). */
void rl_dist_set_sync_bn(rl_dist *d, int on);
void rl_dist_set_overlap(rl_dist *d, int on);
void rl_dist_set_bucket_bytes(rl_dist *d, size_t bytes);

/* Makes every rank's weights, BN buffers and counters equal to rank 0's. */
rl_status rl_dist_broadcast_model(rl_dist *d, rl_param_table *t, rl_error *err);
/* Only the BN buffers and counters (running statistics differ per rank
 * without synchronised BN; rank 0's are what it saves). */
rl_status rl_dist_broadcast_buffers(rl_dist *d, rl_param_table *t, rl_error *err);
/* Broadcasts bytes from rank 0 (e.g. SGD velocity after a resume). */
rl_status rl_dist_broadcast(rl_dist *d, void *buf, size_t bytes, rl_error *err);

/* Registers the grad-ready hook (and the BN hook when synchronised BN is on)
 * on net; net must outlive the use of d with it.  Call once after planning. */
rl_status rl_dist_attach(rl_dist *d, struct rl_resnet *net, rl_error *err);

/* The synchronised-BN reduction (an rl_bn_sync_fn, ctx = d) that
 * rl_dist_attach installs; for BN layers outside an rl_resnet.  Errors are
 * kept and reported by the next rl_dist_grads_wait. */
void rl_dist_bn_sync(void *ctx, double *sums, size_t n, size_t *rows);

/* After rl_resnet_backward: completes the gradient all-reduces (starting any
 * part the hook did not report) and scales by 1/world, so every rank holds
 * the average gradient.  Also reports an error a hook ran into. */
rl_status rl_dist_grads_wait(rl_dist *d, rl_error *err);

/* In place, v[i] = sum over ranks of v[i] (loss sums, correct counts). */
rl_status rl_dist_sum(rl_dist *d, double *v, int n, rl_error *err);

/* *flag = 1 on every rank if it is non-zero on any rank (a stop request seen
 * by one rank stops all of them at the same step). */
rl_status rl_dist_any(rl_dist *d, int *flag, rl_error *err);

/* Waits until every rank got here (benchmarks separate load imbalance from
 * transfer time with it). */
rl_status rl_dist_barrier(rl_dist *d, rl_error *err);

void rl_dist_get_stats(const rl_dist *d, rl_dist_stats *s);
/* Logs one line of the statistics above (util/log.h; rank 0 only, silent for world 1). */
void rl_dist_report(const rl_dist *d);

#endif
