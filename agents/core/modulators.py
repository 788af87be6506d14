"""Neuromodulators: the global third factor of reward-modulated plasticity, one value per network.

Dopamine of Izhikevich (2007)::

    dd/dt = -d / tau_d + DA(t),     tau_d = 0.2 s,     weight change proportional to (d_tonic + d)

(daspnet.m: ``DA <- 0.995 DA`` every ms, ``DA += 0.5`` per reward, tonic 0.002).

Zero-mean reward signal of Legenstein, Pecevski & Maass (2008, computer simulation 1): every spike of the
reinforced neuron adds, after a delay of 0.2 s, a positive alpha kernel (tau = 0.2 s) minus a negative one
(tau = 1 s), each of area 0.005 (time in seconds), so the kernel integrates to zero and its positive lobe
comes first::

    d(t) = sum_k eps(t - t_k - delay),    eps(s) = A+ f_{0.2 s}(s) - A- f_{1 s}(s),
    f_tau(s) = (s / tau) e^{1 - s/tau} (s >= 0),    A = 0.005 / (e tau)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from agents.core.traces import AlphaState, alpha_init, alpha_step


@dataclass(frozen=True)
class DopamineParameters:
    """Izhikevich (2007) dopamine.

    Attributes:
        tau_d_ms: decay time constant (daspnet.m's 0.995 per ms is -1 / ln 0.995 = 199.5 ms).
        d_tonic: tonic level added to the phasic d when weights change.
        reward_increment: jump of d per unit of reward.
    """

    tau_d_ms: float = 200.0
    d_tonic: float = 0.002
    reward_increment: float = 0.5


def dopamine_init(batch_size: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Tensor:
    """No phasic dopamine, (B,)."""
    return torch.zeros(batch_size, dtype=dtype, device=device)


def dopamine_step(d: Tensor, reward: Tensor | float, p: DopamineParameters, dt_ms: float) -> Tensor:
    """One exact step of ``dd/dt = -d / tau_d + DA(t)`` with the rewards of this step as impulses::

    d <- d e^{-dt/tau_d} + reward_increment * reward

    Args:
        d: (B,) phasic dopamine.
        reward: (B,) rewards delivered this step (1 = one of Izhikevich's rewards), or a scalar.
    """
    return d * math.exp(-dt_ms / p.tau_d_ms) + p.reward_increment * reward


def dopamine_effective(d: Tensor, p: DopamineParameters) -> Tensor:
    """The factor that multiplies the eligibility in the weight update, ``d_tonic + d``."""
    return p.d_tonic + d


@dataclass(frozen=True)
class RewardKernelParameters:
    """Legenstein et al. (2008) sim 1 reward kernel (PAPERS.md 3.2).

    Attributes:
        delay_ms: delay between the reinforced spike and the kernel's onset.
        tau_plus_ms, tau_minus_ms: time constants of the positive and negative alpha lobes.
        area: area of each lobe with time in seconds (so the kernel's total area is 0).
    """

    delay_ms: float = 200.0
    tau_plus_ms: float = 200.0
    tau_minus_ms: float = 1000.0
    area: float = 0.005

    def amplitudes(self) -> tuple[float, float]:
        """Peaks (A+, A-) of the two unit-peak alpha lobes: area / (e tau) with tau in seconds."""
        return self.area / (math.e * self.tau_plus_ms / 1000.0), self.area / (math.e * self.tau_minus_ms / 1000.0)


def reward_kernel(s_ms: Tensor, p: RewardKernelParameters) -> Tensor:
    """The kernel eps at times ``s_ms`` after the event (closed form; 0 before the delay ends)."""
    a_plus, a_minus = p.amplitudes()
    s = (s_ms - p.delay_ms).clamp(min=0.0)
    lobe_plus = (s / p.tau_plus_ms) * torch.exp(1.0 - s / p.tau_plus_ms)
    lobe_minus = (s / p.tau_minus_ms) * torch.exp(1.0 - s / p.tau_minus_ms)
    return a_plus * lobe_plus - a_minus * lobe_minus


class RewardKernelState(NamedTuple):
    """Events in flight and the two alpha filters, for B networks."""

    pending: Tensor  # (B, L) ring buffer of event counts, L = delay in steps (at least 1)
    plus: AlphaState  # (B,) filter of the positive lobe
    minus: AlphaState  # (B,) filter of the negative lobe


def _delay_steps(p: RewardKernelParameters, dt_ms: float) -> int:
    steps = p.delay_ms / dt_ms
    if abs(steps - round(steps)) > 1e-6:
        raise ValueError(f"delay_ms = {p.delay_ms} must be a multiple of dt_ms = {dt_ms}")
    return round(steps)


def reward_kernel_init(
    batch_size: int,
    p: RewardKernelParameters,
    dt_ms: float,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> RewardKernelState:
    """No events pending, both filters at rest."""
    pending = torch.zeros(batch_size, max(_delay_steps(p, dt_ms), 1), dtype=dtype, device=device)
    shape = (batch_size,)
    return RewardKernelState(
        pending=pending,
        plus=alpha_init(shape, dtype=dtype, device=device),
        minus=alpha_init(shape, dtype=dtype, device=device),
    )


def reward_kernel_step(
    events: Tensor, state: RewardKernelState, p: RewardKernelParameters, dt_ms: float, t: int
) -> tuple[Tensor, RewardKernelState]:
    """The reward signal d at step t given the events (spikes of the reinforced neuron) of step t.

    Exact at the sample points: an event at step t0 contributes ``reward_kernel((t - t0) dt)`` at every
    step t. Events wait ``delay_ms / dt_ms`` steps in a ring buffer (``pending`` is updated in place),
    then drive two exact alpha filters (``alpha_step``).

    Args:
        events: (B,) number of events this step.
        state: the state before the step.
        t: the step index (selects the ring buffer's slot).

    Returns:
        the signal (B,), and the new state.
    """
    if _delay_steps(p, dt_ms) == 0:
        arriving = events.to(state.pending.dtype)
    else:
        slot = t % state.pending.shape[1]
        arriving = state.pending[:, slot].clone()
        state.pending[:, slot] = events
    plus = alpha_step(arriving, state.plus, dt_ms, p.tau_plus_ms)
    minus = alpha_step(arriving, state.minus, dt_ms, p.tau_minus_ms)
    a_plus, a_minus = p.amplitudes()
    return a_plus * plus.y2 - a_minus * minus.y2, RewardKernelState(pending=state.pending, plus=plus, minus=minus)
