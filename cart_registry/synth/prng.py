"""A small counter-based random generator whose output is the same on every machine.

Numpy's streams may change between releases and Python's ``random`` is not specified across
versions, so the synthetic registry draws from its own generator: the SplitMix64 finaliser of
(key, counter), where the key is a SHA-256 of the seed and a stream name. A stream per patient
makes a patient's data independent of how many patients come before it, which is what lets
the scale preset stream in chunks and still equal a one-shot run.

Only integer arithmetic and exactly rounded float operations (+, -, *, /, sqrt, ldexp) are used
to turn bits into numbers; ``log``/``exp`` are computed here by series so that a libm that
rounds its last bit differently cannot change a date.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_LN2 = 0.6931471805599453


def mix64(z: int) -> int:
    """SplitMix64 output function (a bijection on 64-bit integers)."""
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & _MASK
    return z ^ (z >> 31)


def stream_key(seed: int, *names: object) -> int:
    """64-bit key of a named stream; names are joined with a separator no name contains."""
    text = "\x1f".join([str(seed), *(str(n) for n in names)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def det_log(x: float) -> float:
    """Natural log by range reduction (frexp is exact) and the atanh series."""
    if x <= 0.0:
        raise ValueError("det_log of a non-positive number")
    m, e = math.frexp(x)  # x = m * 2**e, 0.5 <= m < 1
    m *= 2.0
    e -= 1
    if m > 1.4142135623730951:
        m /= 2.0
        e += 1
    y = (m - 1.0) / (m + 1.0)
    y2 = y * y
    term = y
    total = 0.0
    for k in range(1, 40, 2):
        total += term / k
        term *= y2
    return 2.0 * total + e * _LN2


def det_exp(x: float) -> float:
    """exp by reduction to |r| <= ln2/2 and a Taylor series; exact scaling by ldexp."""
    n = int(round(x / _LN2))
    r = x - n * _LN2
    total = 1.0
    term = 1.0
    for k in range(1, 25):
        term *= r / k
        total += term
    return math.ldexp(total, n)


class Stream:
    """Draws of one named stream: ``u64(i)`` is a pure function of (key, i)."""

    __slots__ = ("key", "counter")

    def __init__(self, seed: int, *names: object) -> None:
        self.key = stream_key(seed, *names)
        self.counter = 0

    def child(self, *names: object) -> Stream:
        return Stream(self.key, *names)

    def u64(self) -> int:
        self.counter += 1
        return mix64((self.key + self.counter * _GOLDEN) & _MASK)

    def uniform(self, lo: float = 0.0, hi: float = 1.0) -> float:
        """Uniform on [lo, hi): 53 random bits scaled exactly."""
        return lo + (hi - lo) * math.ldexp(self.u64() >> 11, -53)

    def randint(self, lo: int, hi: int) -> int:
        """Integer uniform on [lo, hi] (both included); modulo bias is below 2**-40 here."""
        if hi < lo:
            raise ValueError(f"empty range [{lo}, {hi}]")
        return lo + self.u64() % (hi - lo + 1)

    def chance(self, p: float) -> bool:
        return self.uniform() < p

    def normal(self, mean: float = 0.0, sd: float = 1.0) -> float:
        # Irwin-Hall: sum of 12 uniforms minus 6; only additions, so bit-exact everywhere.
        return mean + sd * (sum(self.uniform() for _ in range(12)) - 6.0)

    def exponential(self, mean: float) -> float:
        return -mean * det_log(1.0 - self.uniform())

    def weibull(self, scale: float, shape: float) -> float:
        e = -det_log(1.0 - self.uniform())
        return scale * det_exp(det_log(e) / shape) if e > 0 else 0.0

    def log_uniform(self, lo: float, hi: float) -> float:
        return det_exp(self.uniform(det_log(lo), det_log(hi)))

    def choice(self, items: Sequence[T]) -> T:
        return items[self.randint(0, len(items) - 1)]

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T:
        total = sum(weights)
        x = self.uniform(0.0, total)
        acc = 0.0
        for item, w in zip(items, weights, strict=True):
            acc += w
            if x < acc:
                return item
        return items[-1]

    def shuffle(self, items: list[T]) -> list[T]:
        """Fisher-Yates in place; returns the list for chaining."""
        for i in range(len(items) - 1, 0, -1):
            j = self.randint(0, i)
            items[i], items[j] = items[j], items[i]
        return items

    def sample(self, items: Sequence[T], k: int) -> list[T]:
        return self.shuffle(list(items))[:k]

    def uuid(self) -> str:
        """A random (version 4 layout) UUID string."""
        hi, lo = self.u64(), self.u64()
        hi = (hi & ~(0xF << 12)) | (0x4 << 12)
        lo = (lo & ~(0x3 << 62)) | (0x2 << 62)
        h = f"{hi:016x}{lo:016x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
