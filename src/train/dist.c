/* dist.c: data-parallel gradient averaging over Open MPI (see dist.h).
 *
 * Bucket state during one backward pass: grads[sent_end .. n) have been
 * handed to MPI_Iallreduce (requests req[0 .. nreq)); the hook moves sent_end
 * down when at least bucket_floats more are final.  rl_dist_grads_wait sends
 * [0, sent_end), waits for everything and scales.  Without RL_HAVE_MPI the
 * same API is a world of 1. */
#include "config.h"
#include "train/dist.h"

#include <stdlib.h>
#include <string.h>

#include "nn/resnet.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timer.h"

#ifdef RL_HAVE_MPI
#include <limits.h>
#include <mpi.h>
#endif

#define MAX_REQUESTS 256
#define DEFAULT_BUCKET_BYTES ((size_t)4 << 20)

struct rl_dist {
    int rank, world;
    int sync_bn, overlap;
    size_t bucket_floats;
    rl_param_table *t;
    rl_dist_stats stats;
    double step_bytes; /* bytes of the step in progress */
    int step_buckets;
#ifdef RL_HAVE_MPI
    int we_initialised;
    MPI_Comm comm;
    size_t sent_end;
    MPI_Request req[MAX_REQUESTS];
    int nreq;
    double *bn_buf; /* BN sums + row count, sized for the widest layer */
    size_t bn_cap;
    rl_status hook_status; /* first failure inside a hook, reported by grads_wait */
    rl_error hook_err;
#endif
};

int rl_dist_rank(const rl_dist *d)
{
    return d ? d->rank : 0;
}
int rl_dist_world(const rl_dist *d)
{
    return d ? d->world : 1;
}

void rl_dist_set_sync_bn(rl_dist *d, int on)
{
    if (d) d->sync_bn = on;
}

void rl_dist_set_overlap(rl_dist *d, int on)
{
    if (d) d->overlap = on;
}

void rl_dist_set_bucket_bytes(rl_dist *d, size_t bytes)
{
    if (d) d->bucket_floats = bytes / sizeof(float) > 0 ? bytes / sizeof(float) : 1;
}

void rl_dist_get_stats(const rl_dist *d, rl_dist_stats *s)
{
    if (d)
        *s = d->stats;
    else
        memset(s, 0, sizeof *s);
}

void rl_dist_report(const rl_dist *d)
{
    if (!d || d->world < 2 || d->rank != 0 || d->stats.steps == 0) return;
    const rl_dist_stats *s = &d->stats;
    rl_log(RL_LOG_INFO,
           "relab: %d ranks; all-reduced %.2f MB/step in %d buckets%s%s; blocked in MPI %.1f ms/step "
           "(BN sync %.1f ms)",
           d->world, s->bytes_per_step / 1e6, s->buckets_per_step, d->overlap ? " (overlapped with backward)" : "",
           d->sync_bn ? ", synchronised BN" : "", 1e3 * s->exposed_seconds / (double)s->steps,
           1e3 * s->bn_seconds / (double)s->steps);
}

/* ---- launchers ---- */

/* The number of processes the launcher's environment says were started
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE, MPI_LOCALNRANKS, SLURM_STEP_NUM_TASKS, or
 * a rank variable above 0); 1 when none.  var (size n, may be 0) receives
 * the deciding "NAME=value". */
static long launch_size(char *var, size_t n)
{
    /* Sizes a launcher announces, and ranks above 0 (which imply at least one more process). */
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS",
                                        "SLURM_STEP_NUM_TASKS"};
    static const char *const ranks[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};
    long best = 1;
    if (n) var[0] = '\0';
    for (int k = 0; k < 2; k++) {
        const char *const *names = k ? ranks : sizes;
        int count = k ? (int)(sizeof ranks / sizeof *ranks) : (int)(sizeof sizes / sizeof *sizes);
        for (int i = 0; i < count; i++) {
            const char *v = getenv(names[i]);
            char *end;
            long x = v ? strtol(v, &end, 10) : 0;
            if (!v || end == v || x < 0) continue;
            if (k) x += 1; /* rank r: r + 1 processes at least */
            if (x > best) {
                best = x;
                if (n) snprintf(var, n, "%s=%s", names[i], v);
            }
        }
    }
    return best;
}

/* A world of 1 where the launcher started several processes would train a
 * copy per process into one folder. */
static rl_status check_launch(int world, rl_error *err)
{
    char var[128];
    long launched = launch_size(var, sizeof var);
    if (launched <= world) return RL_OK;
    return rl_fail(err, RL_ERR_ARG,
                   "started as one of %ld processes (%s) but %s; each would train its own copy into the same "
                   "folder; hint: %s, or start a single process",
                   launched, var,
#ifdef RL_HAVE_MPI
                   "MPI did not join them into one run (world of 1)",
                   "launch with mpirun or srun --mpi=pmix so that MPI connects the processes"
#else
                   "this relab was built without MPI",
                   "rebuild with Open MPI (apt-get install libopenmpi-dev, then ./configure) for data-parallel runs"
#endif
    );
}

#ifndef RL_HAVE_MPI

/* ---- a build without MPI: a world of 1 ---- */

rl_status rl_dist_init(rl_dist **out, rl_error *err)
{
    rl_dist *d = calloc(1, sizeof *d);
    if (!d) return rl_fail(err, RL_ERR_NOMEM, "dist: out of memory");
    d->world = 1;
    d->overlap = 1;
    rl_status st = check_launch(1, err);
    if (st) {
        free(d);
        return st;
    }
    *out = d;
    return RL_OK;
}

void rl_dist_finalize(rl_dist *d)
{
    free(d);
}

void rl_dist_abort(rl_dist *d, int exit_code)
{
    (void)exit_code;
    rl_dist_finalize(d);
}

rl_status rl_dist_broadcast_model(rl_dist *d, rl_param_table *t, rl_error *err)
{
    return RL_OK;
}
rl_status rl_dist_broadcast_buffers(rl_dist *d, rl_param_table *t, rl_error *err)
{
    return RL_OK;
}
rl_status rl_dist_broadcast(rl_dist *d, void *buf, size_t bytes, rl_error *err)
{
    return RL_OK;
}
rl_status rl_dist_attach(rl_dist *d, struct rl_resnet *net, rl_error *err)
{
    return RL_OK;
}
rl_status rl_dist_grads_wait(rl_dist *d, rl_error *err)
{
    return RL_OK;
}
rl_status rl_dist_sum(rl_dist *d, double *v, int n, rl_error *err)
{
    return RL_OK;
}
rl_status rl_dist_barrier(rl_dist *d, rl_error *err)
{
    return RL_OK;
}
void rl_dist_bn_sync(void *ctx, double *sums, size_t n, size_t *rows) {}
rl_status rl_dist_any(rl_dist *d, int *flag, rl_error *err)
{
    *flag = *flag != 0;
    return RL_OK;
}

#else

/* ---- Open MPI ---- */

/* Turns an MPI return code into an rl_status naming the call. */
static rl_status mpi_fail(rl_error *err, int rc, const char *call)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", rc);
    return rl_fail(err, RL_ERR_MPI,
                   "%s failed: %s; hint: another rank probably died or lost its connection (see mpirun's message "
                   "above); restart with `relab train --resume DIR` to continue from the last checkpoint",
                   call, text);
}

static int launched_by_mpi(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") || getenv("PMI_SIZE");
}

rl_status rl_dist_init(rl_dist **out, rl_error *err)
{
    *out = NULL;
    rl_dist *d = calloc(1, sizeof *d);
    if (!d) return rl_fail(err, RL_ERR_NOMEM, "dist: out of memory");
    d->world = 1;
    d->overlap = 1;
    d->bucket_floats = DEFAULT_BUCKET_BYTES / sizeof(float);
    d->comm = MPI_COMM_NULL;
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised && launched_by_mpi()) {
        int provided = 0;
        /* FUNNELED: only the main thread calls MPI; OpenMP threads compute. */
        int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) {
            free(d);
            return rl_fail(err, RL_ERR_MPI,
                           "MPI_Init_thread failed (code %d); hint: is this relab built against the "
                           "Open MPI that mpirun belongs to?",
                           rc);
        }
        d->we_initialised = 1;
        initialised = 1;
        if (provided < MPI_THREAD_FUNNELED) {
            MPI_Finalize();
            free(d);
            return rl_fail(err, RL_ERR_MPI, "MPI provides thread level %d, relab needs MPI_THREAD_FUNNELED", provided);
        }
    }
    if (initialised) {
        int rc = MPI_Comm_dup(MPI_COMM_WORLD, &d->comm);
        if (rc == MPI_SUCCESS) rc = MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
        if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(d->comm, &d->rank);
        if (rc == MPI_SUCCESS) rc = MPI_Comm_size(d->comm, &d->world);
        if (rc != MPI_SUCCESS) {
            rl_status st = mpi_fail(err, rc, "MPI_Comm_dup/set_errhandler");
            if (d->we_initialised) MPI_Finalize();
            free(d);
            return st;
        }
    }
    rl_status launch = check_launch(d->world, err);
    if (launch) {
        if (d->comm != MPI_COMM_NULL) MPI_Comm_free(&d->comm);
        if (d->we_initialised) MPI_Finalize();
        free(d);
        return launch;
    }
    d->sent_end = 0;
    /* Tuning without a rebuild or a CLI change (mpirun -x passes them on). */
    const char *mode = getenv("RELAB_ALLREDUCE"), *mb = getenv("RELAB_BUCKET_MB");
    if (mode && !strcmp(mode, "blocking")) d->overlap = 0;
    if (mb && atof(mb) > 0) rl_dist_set_bucket_bytes(d, (size_t)(atof(mb) * 1048576.0));
    *out = d;
    return RL_OK;
}

void rl_dist_finalize(rl_dist *d)
{
    if (!d) return;
    if (d->nreq) MPI_Waitall(d->nreq, d->req, MPI_STATUSES_IGNORE);
    if (d->comm != MPI_COMM_NULL) MPI_Comm_free(&d->comm);
    if (d->we_initialised) MPI_Finalize();
    free(d->bn_buf);
    free(d);
}

void rl_dist_abort(rl_dist *d, int exit_code)
{
    if (d && d->world > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
    rl_dist_finalize(d);
}

/* MPI counts are int: split large buffers into chunks below INT_MAX. */
#define CHUNK ((size_t)1 << 30)

static rl_status bcast_typed(rl_dist *d, void *buf, size_t count, MPI_Datatype type, size_t size, rl_error *err)
{
    char *p = buf;
    for (size_t off = 0; off < count; off += CHUNK) {
        size_t n = count - off < CHUNK ? count - off : CHUNK;
        int rc = MPI_Bcast(p + off * size, (int)n, type, 0, d->comm);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Bcast");
    }
    return RL_OK;
}

rl_status rl_dist_broadcast(rl_dist *d, void *buf, size_t bytes, rl_error *err)
{
    if (!d || d->world < 2) return RL_OK;
    return bcast_typed(d, buf, bytes, MPI_BYTE, 1, err);
}

rl_status rl_dist_broadcast_buffers(rl_dist *d, rl_param_table *t, rl_error *err)
{
    if (!d || d->world < 2) return RL_OK;
    rl_status st = bcast_typed(d, t->buffers, t->n_buffers, MPI_FLOAT, sizeof(float), err);
    if (!st) st = bcast_typed(d, t->counters, t->n_counters, MPI_INT64_T, sizeof(int64_t), err);
    return st;
}

rl_status rl_dist_broadcast_model(rl_dist *d, rl_param_table *t, rl_error *err)
{
    if (!d || d->world < 2) return RL_OK;
    /* A replica built from a different recipe would deadlock or corrupt the
     * all-reduce later; compare the arena sizes first. */
    long long mine[3] = {(long long)t->n_weights, (long long)t->n_buffers, (long long)t->n_counters}, lo[3], hi[3];
    int rc = MPI_Allreduce(mine, lo, 3, MPI_LONG_LONG, MPI_MIN, d->comm);
    if (rc == MPI_SUCCESS) rc = MPI_Allreduce(mine, hi, 3, MPI_LONG_LONG, MPI_MAX, d->comm);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Allreduce (model size check)");
    if (memcmp(lo, hi, sizeof lo))
        return rl_fail(err, RL_ERR_ARG,
                       "rank %d: the ranks built different models (%lld..%lld weights); hint: every rank must "
                       "read the same recipe and --set options",
                       d->rank, lo[0], hi[0]);
    rl_status st = bcast_typed(d, t->weights, t->n_weights, MPI_FLOAT, sizeof(float), err);
    if (!st) st = rl_dist_broadcast_buffers(d, t, err);
    return st;
}

static void hook_failed(rl_dist *d, int rc, const char *call)
{
    if (d->hook_status) return;
    d->hook_status = mpi_fail(&d->hook_err, rc, call);
}

/* Starts the all-reduce of grads[lo, hi) (in chunks below INT_MAX). */
static void start_bucket(rl_dist *d, size_t lo, size_t hi)
{
    float *g = d->t->grads;
    for (size_t a = lo; a < hi; a += CHUNK) {
        size_t n = hi - a < CHUNK ? hi - a : CHUNK;
        if (d->nreq == MAX_REQUESTS) {
            int rc = MPI_Waitall(d->nreq, d->req, MPI_STATUSES_IGNORE);
            if (rc != MPI_SUCCESS) hook_failed(d, rc, "MPI_Waitall (gradients)");
            d->nreq = 0;
        }
        int rc = MPI_Iallreduce(MPI_IN_PLACE, g + a, (int)n, MPI_FLOAT, MPI_SUM, d->comm, &d->req[d->nreq]);
        if (rc != MPI_SUCCESS) {
            hook_failed(d, rc, "MPI_Iallreduce (gradients)");
            return;
        }
        d->nreq++;
        d->step_bytes += (double)n * sizeof(float);
        d->step_buckets++;
    }
}

static void grad_ready(void *ctx, size_t first)
{
    rl_dist *d = ctx;
    if (d->hook_status || !d->overlap) return;
    double t0 = rl_now();
    if (d->sent_end - first >= d->bucket_floats || (first == 0 && d->sent_end > 0)) {
        start_bucket(d, first, d->sent_end);
        d->sent_end = first;
    }
    /* Open MPI progresses non-blocking collectives only inside MPI calls
     * (no progress thread by default), so poke it at every hook. */
    if (d->nreq) {
        int done = 0;
        int rc = MPI_Testall(d->nreq, d->req, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) hook_failed(d, rc, "MPI_Testall (gradients)");
    }
    d->stats.exposed_seconds += rl_now() - t0;
}

/* Synchronised BN: sums[0..n) and *rows become totals over the ranks; the
 * row count rides along as one more double (exact below 2^53). */
void rl_dist_bn_sync(void *ctx, double *sums, size_t n, size_t *rows)
{
    rl_dist *d = ctx;
    if (!d || d->world < 2 || d->hook_status) return;
    double t0 = rl_now();
    if (n + 1 > d->bn_cap) {
        free(d->bn_buf);
        d->bn_cap = 0;
        d->bn_buf = malloc(sizeof(double) * (n + 1));
        if (!d->bn_buf) {
            d->hook_status = rl_fail(&d->hook_err, RL_ERR_NOMEM, "synchronised BN: out of memory");
            return;
        }
        d->bn_cap = n + 1;
    }
    memcpy(d->bn_buf, sums, sizeof(double) * n);
    d->bn_buf[n] = (double)*rows;
    int rc = MPI_Allreduce(MPI_IN_PLACE, d->bn_buf, (int)(n + 1), MPI_DOUBLE, MPI_SUM, d->comm);
    if (rc != MPI_SUCCESS) {
        hook_failed(d, rc, "MPI_Allreduce (synchronised BN)");
        return;
    }
    memcpy(sums, d->bn_buf, sizeof(double) * n);
    *rows = (size_t)d->bn_buf[n];
    double dt = rl_now() - t0;
    d->stats.exposed_seconds += dt;
    d->stats.bn_seconds += dt;
    d->step_bytes += (double)(n + 1) * sizeof(double);
}

rl_status rl_dist_attach(rl_dist *d, struct rl_resnet *net, rl_error *err)
{
    if (!d || d->world < 2) return RL_OK;
    d->t = rl_resnet_params(net);
    d->sent_end = d->t->n_weights;
    d->nreq = 0;
    rl_resnet_on_grad_ready(net, grad_ready, d); /* inactive while overlap is off */
    if (d->sync_bn) rl_resnet_set_bn_sync(net, rl_dist_bn_sync, d);
    return RL_OK;
}

rl_status rl_dist_grads_wait(rl_dist *d, rl_error *err)
{
    if (!d || d->world < 2) return RL_OK;
    RL_CHECK_MSG(d->t != NULL, "rl_dist_grads_wait before rl_dist_attach");
    double t0 = rl_now();
    if (!d->hook_status && d->sent_end > 0) {
        if (d->overlap) {
            start_bucket(d, 0, d->sent_end);
        } else {
            for (size_t a = 0; a < d->sent_end && !d->hook_status; a += CHUNK) {
                size_t n = d->sent_end - a < CHUNK ? d->sent_end - a : CHUNK;
                int rc = MPI_Allreduce(MPI_IN_PLACE, d->t->grads + a, (int)n, MPI_FLOAT, MPI_SUM, d->comm);
                if (rc != MPI_SUCCESS) hook_failed(d, rc, "MPI_Allreduce (gradients)");
                d->step_bytes += (double)n * sizeof(float);
                d->step_buckets++;
            }
        }
    }
    if (!d->hook_status && d->nreq) {
        int rc = MPI_Waitall(d->nreq, d->req, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) hook_failed(d, rc, "MPI_Waitall (gradients)");
    }
    d->nreq = 0;
    d->sent_end = d->t->n_weights;
    if (d->hook_status) {
        *err = d->hook_err;
        if (err->code == RL_OK) err->code = d->hook_status;
        return d->hook_status;
    }
    /* The sum of per-rank mean gradients over world ranks; 1/world is exact
     * for powers of two, which is what makes N ranks match 1 rank bitwise
     * when the sums themselves agree. */
    const float scale = 1.0f / (float)d->world;
    float *g = d->t->grads;
    const size_t n = d->t->n_weights;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        g[i] *= scale;
    d->stats.exposed_seconds += rl_now() - t0;
    d->stats.steps++;
    d->stats.bytes_per_step = d->step_bytes;
    d->stats.buckets_per_step = d->step_buckets;
    d->step_bytes = 0;
    d->step_buckets = 0;
    return RL_OK;
}

rl_status rl_dist_sum(rl_dist *d, double *v, int n, rl_error *err)
{
    if (!d || d->world < 2 || n <= 0) return RL_OK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, d->comm);
    return rc == MPI_SUCCESS ? RL_OK : mpi_fail(err, rc, "MPI_Allreduce (metrics)");
}

rl_status rl_dist_barrier(rl_dist *d, rl_error *err)
{
    if (!d || d->world < 2) return RL_OK;
    int rc = MPI_Barrier(d->comm);
    return rc == MPI_SUCCESS ? RL_OK : mpi_fail(err, rc, "MPI_Barrier");
}

rl_status rl_dist_any(rl_dist *d, int *flag, rl_error *err)
{
    *flag = *flag != 0;
    if (!d || d->world < 2) return RL_OK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, flag, 1, MPI_INT, MPI_MAX, d->comm);
    return rc == MPI_SUCCESS ? RL_OK : mpi_fail(err, rc, "MPI_Allreduce (stop flag)");
}

#endif
