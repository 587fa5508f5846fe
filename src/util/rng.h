/* rng.h: counter-based random numbers.
 *
 * Every random draw in relab is a pure function of (seed, stream, counter):
 * a sample's augmentation comes from (seed, epoch, index), never from a clock
 * or from which thread got there first, so results do not depend on thread
 * count or timing.  The generator is SplitMix64 applied to a hashed key
 * (Steele, Lea, Flood 2014); its whole state is one 64-bit word, which is what
 * a checkpoint stores. */
#ifndef RL_RNG_H
#define RL_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
} rl_rng;

/* Mixes a 64-bit value (SplitMix64 finaliser). */
static inline uint64_t rl_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A generator for the key (seed, a, b): e.g. (seed, epoch, sample index). */
static inline rl_rng rl_rng_make(uint64_t seed, uint64_t a, uint64_t b)
{
    rl_rng r;
    r.state = rl_mix64(seed ^ rl_mix64(a + 0x9e3779b97f4a7c15ULL) ^ rl_mix64(rl_mix64(b) + 0x632be59bd9b4e019ULL));
    return r;
}

static inline uint64_t rl_rng_next(rl_rng *r)
{
    r->state += 0x9e3779b97f4a7c15ULL;
    return rl_mix64(r->state);
}

/* Uniform in [0, 1) with 24 bits (exact in float). */
static inline float rl_rng_uniform(rl_rng *r)
{
    return (float)(rl_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double rl_rng_uniform_double(rl_rng *r)
{
    return (double)(rl_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, bias < 2^-32 for n < 2^32). */
static inline uint32_t rl_rng_below(rl_rng *r, uint32_t n)
{
    return (uint32_t)(((rl_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Standard normal (Box-Muller). */
double rl_rng_normal(rl_rng *r);

#endif
