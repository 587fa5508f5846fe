/* rng.c: the one non-inline draw (Box-Muller needs libm). */
#include "util/rng.h"

#include <math.h>

double rl_rng_normal(rl_rng *r)
{
    double u1 = rl_rng_uniform_double(r), u2 = rl_rng_uniform_double(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
