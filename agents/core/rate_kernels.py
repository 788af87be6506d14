"""Fused CPU kernel (numba) for B recurrent rate networks with Miconi's perturbations and eligibility factors.

A 1-ms step of a 200-unit rate network written as torch operations is a dozen dispatches of a few microseconds
each around 40,000 multiply-adds; ``run_block`` does K steps of B networks in one compiled call, in place on the
(zero-copy) numpy views of the agent's tensors, one network per numba thread (a network's weights stay in its
core's cache for the whole block). Per network and step, the same equations as the torch path
(``neurons.rate_step``, ``traces.running_mean``, ``noise.sparse_perturbations``):

* the perturbations ``xi`` from ``noise.counter_uniform(key, clock, N, stream)``, to the bit (Philox4x32-10,
  computed in the kernel);
* ``drive = xi + J r(t-1) + W_in u(t)`` (the sum in presynaptic order);
* ``x <- x + dt/tau (drive - x)``, the clamped units set, ``x_bar <- x + alpha (x_bar - x)``, ``r = tanh(x)``;
* when learning, the eligibility's factors of the step, ``r_j(t-1)^k`` and ``post_i(t)^k`` (``post = x - x_bar``
  for Miconi's trace, ``xi`` for node perturbation; k = 3 or 1), written for ``OuterProductAccumulator``.

``tanh`` is evaluated in float64 from ``expm1`` (a Taylor series on a sixteenth of the argument, squared back
four times) and rounded to float32: within 3e-8 of the exact value everywhere (tested), against 6e-8 for
float32 libm, and it vectorises. The float32 sums run in another order than torch's matrix product, so the two
paths agree to rounding (tested), not to the bit; a block equals its single steps to the bit (tested).
"""

from __future__ import annotations

import math

import numpy as np

from agents.core.kernels import AVAILABLE, counter_uniforms_into, prange

if AVAILABLE:
    import numba

__all__ = ["AVAILABLE", "run_block", "tanh_into"]

_F32 = np.float32
# 1 / (n + 1)! for n = 0..14: expm1(z) = z sum_n z^n / (n + 1)!, truncated past z^15 (|z| <= 1.25: below 2e-11).
_C = tuple(1.0 / math.factorial(n + 1) for n in range(15))
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13, _C14 = _C


def _compiled(parallel: bool = False):
    """numba with numpy's error model (no division checks, so the loops vectorise) and fused multiply-adds."""

    def wrap(function):
        if not AVAILABLE:
            return function
        return numba.njit(cache=True, boundscheck=False, parallel=parallel, error_model="numpy", fastmath={"contract"})(
            function
        )

    return wrap


def _inline(function):
    return numba.njit(inline="always", error_model="numpy", fastmath={"contract"})(function) if AVAILABLE else function


@_inline
def _tanh(x):
    """tanh(x) for float32 x: ``-m / (2 + m)`` with ``m = expm1(-2|x|)``, in float64, the sign restored."""
    a = min(abs(np.float64(x)), 10.0)  # tanh(10) rounds to 1 in float32
    z = a * -0.125  # -2|x| / 16
    p = (((((((((((((_C14 * z + _C13) * z + _C12) * z + _C11) * z + _C10) * z + _C9) * z + _C8) * z + _C7) * z
                 + _C6) * z + _C5) * z + _C4) * z + _C3) * z + _C2) * z + _C1) * z + _C0  # fmt: skip
    m = z * p  # expm1(z)
    m = m * (2.0 + m)  # expm1(2z) = expm1(z) (2 + expm1(z)), four times: expm1(16 z)
    m = m * (2.0 + m)
    m = m * (2.0 + m)
    m = m * (2.0 + m)
    return _F32(math.copysign(-m / (2.0 + m), np.float64(x)))


@_compiled()
def tanh_into(out: np.ndarray, x: np.ndarray) -> None:
    """``out[i] = tanh(x[i])`` for float32 vectors, the kernel's tanh."""
    for i in range(x.shape[0]):
        out[i] = _tanh(x[i])


@_compiled()
def _network_block(
    W, x, r, x_bar, step0, clock, key, inputs, actions, pre_rows, post_rows, row0, explore, learn, supralinear,
    exponent, dt_over_tau, alpha, probability, amplitude, stream, perturbation_start, eligibility_start, clamp_index,
    clamp_value, output_start,
):  # fmt: skip
    """One network's K steps (``run_block``'s arguments for network b, its step in the trial ``step0``)."""
    n, n_in, k_steps, n_out = x.shape[0], inputs.shape[1], inputs.shape[0], actions.shape[1]
    drive = np.empty(n, dtype=np.float32)
    noise = np.zeros(n, dtype=np.float32)
    previous = np.empty(n, dtype=np.float32)
    zero, one, two = _F32(0.0), _F32(1.0), _F32(2.0)
    for s in range(k_steps):
        step = step0 + s
        perturb = explore and step >= perturbation_start
        if perturb:
            counter_uniforms_into(noise, key, clock + s, stream)
            for i in range(n):
                u = noise[i]
                noise[i] = amplitude * (two * u / probability - one) if u < probability else zero
                drive[i] = noise[i]
        else:
            for i in range(n):
                noise[i] = zero
                drive[i] = zero
        j = 0
        while j + 4 <= n:  # drive += J r(t-1), four presynaptic rows a pass (the same order of sums)
            r0, r1, r2, r3 = r[j], r[j + 1], r[j + 2], r[j + 3]
            for i in range(n):
                drive[i] = drive[i] + r0 * W[j, i] + r1 * W[j + 1, i] + r2 * W[j + 2, i] + r3 * W[j + 3, i]
            j += 4
        while j < n:
            rj = r[j]
            for i in range(n):
                drive[i] = drive[i] + rj * W[j, i]
            j += 1
        for m in range(n_in):
            u = inputs[s, m]
            if u != zero:
                for i in range(n):
                    drive[i] = drive[i] + u * W[n + m, i]
        for i in range(n):
            previous[i] = r[i]
            x[i] = x[i] + dt_over_tau * (drive[i] - x[i])
        for c in range(clamp_index.shape[0]):
            x[clamp_index[c]] = clamp_value[c]
        if learn:
            counted = step >= eligibility_start
            for i in range(n):
                post = (x[i] - x_bar[i] if supralinear else noise[i]) if counted else zero
                pre = previous[i]
                if exponent == 3:
                    post, pre = post * post * post, pre * pre * pre
                post_rows[row0 + s, i] = post
                pre_rows[row0 + s, i] = pre
        for i in range(n):
            x_bar[i] = x[i] + alpha * (x_bar[i] - x[i])
            r[i] = _tanh(x[i])
        for o in range(n_out):
            actions[s, o] = r[output_start + o]


@_compiled(parallel=True)
def run_block(
    W, x, r, x_bar, step_in_trial, clock, keys, inputs, actions, pre_rows, post_rows, row0, explore, learn,
    supralinear, exponent, dt_over_tau, alpha, probability, amplitude, stream, perturbation_start, eligibility_start,
    clamp_index, clamp_value, output_start,
):  # fmt: skip
    """K steps of B rate networks, in place, one network per numba thread.

    Args:
        W: (B, N + I, N) float32, presynaptic-major weights (``MiconiAgent.W``: J transposed, then W_in).
        x, r, x_bar: (B, N) float32 activations, rates and running means, updated in place.
        step_in_trial: (B,) int64, each network's step of its trial before the block (the start masks).
        clock: the networks' step count before the block, the noise's counter.
        keys: (B, 2) uint32 Philox keys.
        inputs: (B, K, I) float32, the input of each step.
        actions: (B, K, O) float32, filled with the output units' rates after each step.
        pre_rows, post_rows: (B, C, N) float32, rows ``row0``, ..., ``row0 + K - 1`` filled with the eligibility's
            factors when ``learn`` (``OuterProductAccumulator.buffers`` and ``free_rows``).
        explore, learn: perturb; write the eligibility's factors.
        supralinear, exponent: Miconi's trace (post = x - x_bar, cubed) or node perturbation (post = xi, k = 1).
        dt_over_tau, alpha, probability, amplitude: float32 parameters of the network, x_bar and the noise.
        stream: the noise's Philox stream.
        perturbation_start, eligibility_start: the steps of a trial from which each applies.
        clamp_index, clamp_value: (C,) the clamped units and their x.
        output_start: the first output unit.
    """
    for b in prange(W.shape[0]):
        _network_block(
            W[b], x[b], r[b], x_bar[b], step_in_trial[b], clock, keys[b], inputs[b], actions[b], pre_rows[b],
            post_rows[b], row0, explore, learn, supralinear, exponent, dt_over_tau, alpha, probability, amplitude,
            stream, perturbation_start, eligibility_start, clamp_index, clamp_value, output_start,
        )  # fmt: skip
