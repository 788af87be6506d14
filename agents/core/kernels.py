"""What the compiled CPU kernels (numba) share: the import guard, the jit decorators and Philox4x32-10.

``philox4x32`` is ``noise.philox4x32`` on uint32 scalars, inlined into the loops that use it so that they
vectorise; ``counter_uniforms_into`` writes ``noise.counter_uniform``'s numbers for one network and step, to
the bit. If numba cannot be imported, ``AVAILABLE`` is False, the decorators return plain Python functions and
the agents use their torch operations.
"""

from __future__ import annotations

import numpy as np

from agents.core.noise import PHILOX_MULTIPLIERS, PHILOX_WEYL

try:
    import numba
except ImportError:  # pragma: no cover - numba ships with spikegym; this guards exotic platforms
    numba = None

AVAILABLE = numba is not None
prange = numba.prange if AVAILABLE else range

_M0, _M1 = np.uint64(PHILOX_MULTIPLIERS[0]), np.uint64(PHILOX_MULTIPLIERS[1])
_W0, _W1 = np.uint32(PHILOX_WEYL[0]), np.uint32(PHILOX_WEYL[1])
_LOW32, _SHIFT32, _SHIFT8 = np.uint64(0xFFFFFFFF), np.uint64(32), np.uint32(8)
_F32 = np.float32


def jit(function):
    return numba.njit(cache=True, boundscheck=False)(function) if AVAILABLE else function


def jit_parallel(function):
    """Compiled with its ``prange`` loop spread over numba's threads (``numba.set_num_threads``)."""
    return numba.njit(cache=True, boundscheck=False, parallel=True)(function) if AVAILABLE else function


def inline(function):
    """Inlined into its callers in numba's IR, so that the loops around it vectorise."""
    return numba.njit(inline="always")(function) if AVAILABLE else function


@inline
def philox4x32(c0, c1, c2, c3, k0, k1):
    """``noise.philox4x32`` (ten rounds) on uint32 words."""
    for _ in range(10):
        p0, p1 = _M0 * np.uint64(c0), _M1 * np.uint64(c2)
        c0, c1, c2, c3 = (
            np.uint32(np.uint32(p1 >> _SHIFT32) ^ c1 ^ k0),
            np.uint32(p1 & _LOW32),
            np.uint32(np.uint32(p0 >> _SHIFT32) ^ c3 ^ k1),
            np.uint32(p0 & _LOW32),
        )
        k0, k1 = np.uint32(k0 + _W0), np.uint32(k1 + _W1)  # the last bump is never used
    return c0, c1, c2, c3


@inline
def uniform24(word):
    """The top 24 bits of a Philox word times 2^-24: U(0, 1) in float32, every value exact."""
    return _F32(word >> _SHIFT8) * _F32(2.0**-24)


@inline
def counter_uniforms_into(out, key, step, stream):
    """One network's ``noise.counter_uniform(key, step, N, stream=stream)`` into ``out`` (N,) float32."""
    n = out.shape[0]
    low, high = np.uint32(step & 0xFFFFFFFF), np.uint32((step >> 32) & 0xFFFFFFFF)
    for q in range((n + 3) // 4):
        w0, w1, w2, w3 = philox4x32(np.uint32(q), low, high, np.uint32(stream), key[0], key[1])
        i = 4 * q
        out[i] = uniform24(w0)
        if i + 1 < n:
            out[i + 1] = uniform24(w1)
        if i + 2 < n:
            out[i + 2] = uniform24(w2)
        if i + 3 < n:
            out[i + 3] = uniform24(w3)
