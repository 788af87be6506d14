"""Fused CPU kernels (numba) for populations of NEF LIF neurons: one pass over the neurons per step.

On a CPU a step of a few thousand neurons written as torch operations costs some 20 dispatches of a few
microseconds each; these kernels do the same arithmetic in one compiled loop, in place on the (zero-copy)
numpy views of the agent's tensors. Each equals its torch counterpart (``nef_lif_step`` and the agent's
synapses, readout and PES update; tested step for step). CUDA uses the torch operations.

If numba cannot be imported, ``AVAILABLE`` is False and the agents use the torch operations everywhere.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba ships with spikegym; this guards exotic platforms
    numba = None

AVAILABLE = numba is not None


def _jit(function):
    return numba.njit(cache=True, boundscheck=False)(function) if AVAILABLE else function


@_jit
def population_step(
    u: np.ndarray,
    feedback: np.ndarray,
    recurrent_drive: np.ndarray,
    trace: np.ndarray,
    v: np.ndarray,
    refractory: np.ndarray,
    input_encoders: np.ndarray,
    output_encoders: np.ndarray,
    bias: np.ndarray,
    readout: np.ndarray,
    clamp: np.ndarray,
    prediction: np.ndarray,
    spike_count: np.ndarray,
    n_inputs: int,
    feedback_gain: float,
    dt: float,
    tau_rc: float,
    tau_ref: float,
    a_syn: float,
    trace_jump: float,
) -> None:
    """One step of B populations of NEF LIF neurons, the first ``n_inputs`` of each driven by u, the rest by
    ``z = M trace - k feedback`` through their encoders (all arrays batch first, updated in place; ``M trace``
    is given as ``recurrent_drive``, one BLAS product outside)::

        J_i = bias_i + clamp + e_i . u  (i < n_inputs)   or   e_i . z  (otherwise)
        v, refractory <- nef_lif_step(J, v, refractory)        spikes S
        trace <- a trace + (1 - a) S / dt,     prediction <- a prediction + (1 - a) readout S

    Shapes: u (B, D_in), feedback and recurrent_drive (B, D), trace / v / refractory / bias (B, N), input_encoders
    (B, N, D_in), output_encoders (B, N, D), readout (B, D, N) (in units per spike of height 1/dt), clamp and
    spike_count (B,) (recurrent spikes are added), prediction (B, D).
    """
    n_batch, n = trace.shape
    n_dims = feedback.shape[1]
    full_decay = math.expm1(dt * (-1.0 / tau_rc))
    z = np.empty(n_dims)
    decoded = np.empty(n_dims)
    for b in range(n_batch):
        for d in range(n_dims):
            z[d] = recurrent_drive[b, d] - feedback_gain * feedback[b, d]
            decoded[d] = 0.0
        spikes = 0
        for i in range(n):
            drive = 0.0
            if i < n_inputs:
                for k in range(u.shape[1]):
                    drive += input_encoders[b, i, k] * u[b, k]
            else:
                for d in range(n_dims):
                    drive += output_encoders[b, i, d] * z[d]
            current = bias[b, i] + drive + clamp[b]
            left = refractory[b, i] - dt
            potential = v[b, i]
            if left <= 0.0:
                potential -= (current - potential) * full_decay
            elif left < dt:  # the refractory period ends within this step: integrate its free part
                potential -= (current - potential) * math.expm1((dt - left) * (-1.0 / tau_rc))
            filtered = trace[b, i] * a_syn
            if potential > 1.0:
                left = math.log((current - potential) / (current - 1.0)) * tau_rc + (dt + tau_ref)
                potential = 0.0
                filtered += trace_jump
                if i >= n_inputs:
                    spikes += 1
                    for d in range(n_dims):
                        decoded[d] += readout[b, d, i]
            elif potential < 0.0:
                potential = 0.0
            v[b, i] = potential
            refractory[b, i] = left
            trace[b, i] = filtered
        for d in range(n_dims):
            prediction[b, d] += (1.0 - a_syn) * (decoded[d] - prediction[b, d])
        spike_count[b] += spikes


@_jit
def pes_update(M: np.ndarray, error: np.ndarray, trace: np.ndarray, pre_norm: np.ndarray, alpha: float) -> None:
    """``M[b] += alpha outer(error[b], trace[b] * pre_norm)`` in place (the PES update of the factor M).

    Shapes: M (B, D, N), error (B, D), trace (B, N), pre_norm (N,).
    """
    n_batch, n_dims, n = M.shape
    for b in range(n_batch):
        for d in range(n_dims):
            scale = alpha * error[b, d]
            if scale != 0.0:
                for j in range(n):
                    M[b, d, j] += scale * (trace[b, j] * pre_norm[j])


__all__ = ["AVAILABLE", "pes_update", "population_step"]
