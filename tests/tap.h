/* tap.h: a tiny TAP producer for relab's tests (automake's tap-driver counts
 * every assertion).  Each check compares against an independent value. */
#ifndef RL_TAP_H
#define RL_TAP_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_count, tap_failed;

static inline int tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static inline int tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", cond ? "ok" : "not ok", ++tap_count);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!cond) tap_failed++;
    return cond;
}

/* |got - want| <= atol + rtol * |want| */
static inline int tap_close(double got, double want, double rtol, double atol, const char *what)
{
    int ok = fabs(got - want) <= atol + rtol * fabs(want) && !isnan(got);
    return tap_ok(ok, "%s: got %.8g, want %.8g (rtol %g, atol %g)", what, got, want, rtol, atol);
}

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static inline void tap_skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    exit(0);
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
