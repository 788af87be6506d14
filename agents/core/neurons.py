"""Neuron models as pure step functions over explicit, batch-first state.

Rate neuron (Miconi 2017, eq. 1; Sompolinsky, Crisanti & Sommers 1988)::

    tau dx_i/dt = -x_i + sum_j J_ij r_j + sum_k W_ik u_k + xi_i(t)
    r_i = tanh(x_i)

integrated with forward Euler, x <- x + (dt / tau) (drive - x). Units whose activation is clamped
(Miconi's constant "bias" units) keep x fixed at their value after every step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class RateState(NamedTuple):
    """State of B rate networks of N units."""

    x: Tensor  # (B, N) activation (the "membrane potential" of a rate unit)
    r: Tensor  # (B, N) rate, tanh(x)


def _clamp(x: Tensor, clamp_index: Tensor | None, clamp_value: Tensor | None) -> Tensor:
    if clamp_index is not None:
        x.index_copy_(1, clamp_index, clamp_value if clamp_value.dim() == 2 else clamp_value.expand(x.shape[0], -1))
    return x


def rate_init(x0: Tensor, clamp_index: Tensor | None = None, clamp_value: Tensor | None = None) -> RateState:
    """A fresh state from initial activations ``x0`` (B, N); clamped units are set to their values."""
    x = _clamp(x0.clone(), clamp_index, clamp_value)
    return RateState(x=x, r=torch.tanh(x))


def rate_step(
    drive: Tensor,
    state: RateState,
    dt_over_tau: float,
    clamp_index: Tensor | None = None,
    clamp_value: Tensor | None = None,
) -> RateState:
    """One Euler step of ``tau dx/dt = -x + drive`` followed by ``r = tanh(x)``.

    Args:
        drive: (B, N) total input this step (recurrent + external + perturbation).
        state: the state before the step.
        dt_over_tau: dt / tau (Miconi: 1 ms / 30 ms).
        clamp_index, clamp_value: units whose activation is held fixed, and their values, shape (K,) or
            (B, K) (pre-expanded: saves a step's expand).
    """
    x = _clamp(torch.lerp(state.x, drive, dt_over_tau), clamp_index, clamp_value)
    return RateState(x=x, r=torch.tanh(x))
