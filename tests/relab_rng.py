"""relab_rng.py: relab's counter-based generator (src/util/rng.h) in Python,
for tests that recompute relab's seeded draws (noise, folds) independently.
SplitMix64 (Steele, Lea, Flood 2014) keyed by (seed, a, b)."""

M64 = (1 << 64) - 1


def mix(z):
    """The SplitMix64 finaliser (rl_mix64)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Rng:
    """rl_rng_make(seed, a, b) and its draws."""

    def __init__(self, seed, a, b):
        self.s = mix(seed ^ mix((a + 0x9E3779B97F4A7C15) & M64) ^ mix((mix(b) + 0x632BE59BD9B4E019) & M64))

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        return mix(self.s)

    def uniform(self):
        """rl_rng_uniform_double: 53 bits in [0, 1)."""
        return (self.next() >> 11) * (1.0 / 9007199254740992.0)

    def below(self, n):
        """rl_rng_below: Lemire's multiply-shift into [0, n)."""
        return ((self.next() >> 32) * n) >> 32
