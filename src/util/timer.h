/* timer.h: monotonic wall-clock seconds, for throughput and ETA only (never
 * for seeds), and the process's CPU seconds (all threads), for profiles. */
#ifndef RL_TIMER_H
#define RL_TIMER_H

#include <time.h>

static inline double rl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline double rl_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
