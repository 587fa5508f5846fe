/* profile.h: where a network's step spends its time, per kind of operation
 * and per convolution shape.
 *
 * A profile is a fixed table of rows keyed by (kind, shape): "conv fwd" /
 * "3x3/1 64->64 @56x56", "bn+relu fwd" / "", ...  The network adds the wall
 * time of each operation, the process's CPU time over it and its
 * floating-point work (2 per multiply-add) when a profile is attached
 * (rl_resnet_set_profile); with none attached it reads no clock.  CPU time
 * over wall time is how many cores an operation kept busy: below the thread
 * count it shows serial parts and threads waiting for each other (a busy
 * machine's stolen time shows there too).  Linux brings the other threads'
 * CPU time up to date only at scheduler ticks, so for operations of a few
 * milliseconds the figure is rough (it can pass the thread count).  Timing
 * each operation on its own is what makes the table useful and also what
 * makes a profiled step slightly slower than a plain one.
 *
 * Ownership: the caller owns the struct (plain value, no allocation).
 * Not thread-safe: one network adds to it from its calling thread.
 */
#ifndef RL_PROFILE_H
#define RL_PROFILE_H

#include <stdio.h>

#define RL_PROFILE_ROWS 256

typedef struct {
    char kind[24];  /* "conv fwd", "conv wgrad", "conv dgrad", "bn+relu fwd", ... */
    char shape[48]; /* convolutions: "KxK/S IN->OUT @HxW"; other kinds: "" */
    double seconds, cpu_seconds, flops;
    long calls;
} rl_profile_row;

typedef struct {
    rl_profile_row rows[RL_PROFILE_ROWS];
    int count;
    int dropped; /* additions that found the table full */
} rl_profile;

/* Adds one timed call (wall and process CPU seconds) to the row (kind,
 * shape), creating it if needed. */
void rl_profile_add(rl_profile *p, const char *kind, const char *shape, double seconds, double cpu_seconds,
                    double flops);

/* Zeroes every row. */
void rl_profile_reset(rl_profile *p);

/* Prints two tables, per kind and per (kind, shape), each with the time per
 * step, the share of step_seconds, the cores kept busy and, for rows with
 * FLOPs, GFLOP/s and (when peak_gflops > 0) the fraction of that peak; times
 * are divided by steps. */
void rl_profile_print(const rl_profile *p, int steps, double step_seconds, double peak_gflops, FILE *out);

#endif
