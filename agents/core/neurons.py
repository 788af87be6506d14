"""Neuron models as pure step functions over explicit, batch-first state.

Rate neuron (Miconi 2017, eq. 1; Sompolinsky, Crisanti & Sommers 1988)::

    tau dx_i/dt = -x_i + sum_j J_ij r_j + sum_k W_ik u_k + xi_i(t)
    r_i = tanh(x_i)

integrated with forward Euler, x <- x + (dt / tau) (drive - x). Units whose activation is clamped
(Miconi's constant "bias" units) keep x fixed at their value after every step.

Spiking neurons, each ``*_init`` + ``*_step`` returning ``(spikes, new_state)``: the Izhikevich (2003)
neuron integrated as in daspnet.m, the current-based LIF, the conductance-based LIF with
Ornstein-Uhlenbeck background conductances of Legenstein et al. (2008), and the dimensionless LIF of the
Neural Engineering Framework (Eliasmith & Anderson 2003) with its rate curve, stepped as Nengo steps it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from agents.core.noise import BatchGenerators


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


# --------------------------------------------------------------------------------------------------
# Spiking neurons. Units: ms, mV, nA, uS, nF, MOhm (uS * mV = nA, nF * mV / ms = nA, MOhm * nA = mV).
# --------------------------------------------------------------------------------------------------


class IzhikevichState(NamedTuple):
    """State of B networks of N Izhikevich neurons."""

    v: Tensor  # (B, N) membrane potential, mV
    u: Tensor  # (B, N) recovery variable


@dataclass(frozen=True)
class IzhikevichParameters:
    """Per-neuron parameters of the Izhikevich (2003) model, tensors of shape (N,) or (B, N).

    Attributes:
        a: time scale of the recovery variable u (1/ms).
        b: sensitivity of u to subthreshold v.
        c_mV: reset potential after a spike.
        d: after-spike increment of u.
        v_peak_mV: spike cut-off (30 mV in Izhikevich's code).
    """

    a: Tensor
    b: Tensor
    c_mV: Tensor
    d: Tensor
    v_peak_mV: float = 30.0


# Izhikevich (2003) Fig. 2 presets: (a, b, c, d).
IZHIKEVICH_REGULAR_SPIKING = (0.02, 0.2, -65.0, 8.0)
IZHIKEVICH_FAST_SPIKING = (0.1, 0.2, -65.0, 2.0)


def izhikevich_parameters(
    n_regular: int = 800,
    n_fast: int = 200,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> IzhikevichParameters:
    """Parameters of ``n_regular`` RS neurons followed by ``n_fast`` FS neurons (daspnet.m: 800 + 200)."""
    columns = torch.tensor(
        [IZHIKEVICH_REGULAR_SPIKING] * n_regular + [IZHIKEVICH_FAST_SPIKING] * n_fast, dtype=dtype, device=device
    ).reshape(n_regular + n_fast, 4)
    a, b, c, d = columns.unbind(1)
    return IzhikevichParameters(a=a.contiguous(), b=b.contiguous(), c_mV=c.contiguous(), d=d.contiguous())


def izhikevich_init(batch_size: int, p: IzhikevichParameters) -> IzhikevichState:
    """A fresh state as in daspnet.m: v = -65 mV, u = b v."""
    n = p.a.shape[-1]
    v = torch.full((batch_size, n), -65.0, dtype=p.a.dtype, device=p.a.device)
    return IzhikevichState(v=v, u=p.b * v)


def izhikevich_step(current: Tensor, state: IzhikevichState, p: IzhikevichParameters) -> tuple[Tensor, IzhikevichState]:
    """One 1-ms step of the Izhikevich (2003) neuron, integrated exactly as Izhikevich's daspnet.m::

        v' = 0.04 v^2 + 5 v + 140 - u + I,     u' = a (b v - u)
        if v >= 30 mV:  v <- c,  u <- u + d

    The spike test comes first, on the v left by the previous step (the MATLAB code's ``fired =
    find(v >= 30)`` at the top of the loop), so the returned spikes belong to the previous step's
    upswing and the reported v of a spiking step can exceed 30 mV. Then v takes two 0.5-ms Euler
    half-steps (for numerical stability) and u one 1-ms step with the new v.

    Izhikevich E.M. (2003) Simple model of spiking neurons. IEEE Trans Neural Netw 14:1569.
    Izhikevich E.M. (2007) Solving the distal reward problem... Cereb Cortex 17:2443 (daspnet.m).

    Args:
        current: (B, N) input current I this ms.
        state: the state before the step.
        p: per-neuron parameters.

    Returns:
        spikes (B, N) bool, and the new state.
    """
    spikes = state.v >= p.v_peak_mV
    v = torch.where(spikes, p.c_mV, state.v)
    u = torch.where(spikes, state.u + p.d, state.u)
    for _ in range(2):  # two half-steps of 0.5 ms, as in daspnet.m
        v = v + 0.5 * ((0.04 * v + 5.0) * v + 140.0 - u + current)
    u = u + p.a * (p.b * v - u)
    return spikes, IzhikevichState(v=v, u=u)


class LIFState(NamedTuple):
    """State of B networks of N current-based leaky integrate-and-fire neurons."""

    v: Tensor  # (B, N) membrane potential, mV
    refractory_ms: Tensor  # (B, N) time left in the refractory period, ms (0 = free)


@dataclass(frozen=True)
class LIFParameters:
    """Current-based LIF parameters (defaults: Legenstein et al. 2008 sim 1, tau_m = R_m C_m = 30 ms).

    Attributes:
        tau_m_ms: membrane time constant.
        v_rest_mV, v_th_mV, v_reset_mV: resting, threshold and reset potentials.
        R_m_MOhm: membrane resistance (R I in mV for I in nA).
        t_ref_ms: absolute refractory period; v is held at v_reset during it.
    """

    tau_m_ms: float = 30.0
    v_rest_mV: float = -70.0
    v_th_mV: float = -59.0
    v_reset_mV: float = -70.0
    R_m_MOhm: float = 100.0
    t_ref_ms: float = 5.0


def lif_init(
    batch_size: int,
    n: int,
    p: LIFParameters,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> LIFState:
    """A fresh state: every neuron at rest and free to fire."""
    v = torch.full((batch_size, n), p.v_rest_mV, dtype=dtype, device=device)
    return LIFState(v=v, refractory_ms=torch.zeros_like(v))


def _refractory_update(
    v_free: Tensor, state_v: Tensor, refractory_ms: Tensor, v_th: float, v_reset: float, t_ref: float, dt_ms: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Shared threshold / reset / refractory logic of the LIF models.

    A neuron is free when less than half a step of refractoriness is left (robust to float round-off
    in ``t_ref - k dt``); a refractory neuron keeps its (reset) potential. After a spike the neuron is
    held for round(t_ref / dt) steps.
    """
    free = refractory_ms < 0.5 * dt_ms
    v = torch.where(free, v_free, state_v)
    spikes = free & (v >= v_th)
    v = torch.where(spikes, torch.full_like(v, v_reset), v)
    refractory_ms = torch.where(spikes, torch.full_like(v, t_ref), (refractory_ms - dt_ms).clamp_(min=0.0))
    return spikes, v, refractory_ms


def lif_step(current_nA: Tensor, state: LIFState, p: LIFParameters, dt_ms: float) -> tuple[Tensor, LIFState]:
    """One step of the current-based leaky integrate-and-fire neuron (Lapicque; Gerstner et al. 2014, ch. 1)::

        tau_m dv/dt = -(v - v_rest) + R_m I
        v >= v_th:  spike, v <- v_reset, hold v for t_ref

    integrated exactly for input held constant over the step::

        v_inf = v_rest + R_m I,     v <- v_inf + (v - v_inf) exp(-dt / tau_m)

    Returns:
        spikes (B, N) bool, and the new state.
    """
    v_inf = p.v_rest_mV + p.R_m_MOhm * current_nA
    v_free = v_inf + (state.v - v_inf) * math.exp(-dt_ms / p.tau_m_ms)
    spikes, v, refractory = _refractory_update(
        v_free, state.v, state.refractory_ms, p.v_th_mV, p.v_reset_mV, p.t_ref_ms, dt_ms
    )
    return spikes, LIFState(v=v, refractory_ms=refractory)


class CondLIFState(NamedTuple):
    """State of B networks of N conductance-based LIF neurons with OU background conductances."""

    v: Tensor  # (B, N) membrane potential, mV
    refractory_ms: Tensor  # (B, N) time left in the refractory period, ms
    g_e_uS: Tensor  # (B, N) excitatory synaptic conductance
    g_i_uS: Tensor  # (B, N) inhibitory synaptic conductance
    g_e0_uS: Tensor  # (B, N) excitatory OU background conductance
    g_i0_uS: Tensor  # (B, N) inhibitory OU background conductance


@dataclass(frozen=True)
class CondLIFParameters:
    """Conductance-based LIF with point-conductance background (Legenstein et al. 2008 sim 1, PAPERS.md 3.2;
    background of Destexhe et al. 2001).

    Attributes:
        C_m_nF, R_m_MOhm: membrane capacitance and resistance (g_L = 1 / R_m; tau_m = 30 ms).
        E_L_mV, v_th_mV, v_reset_mV: leak reversal (= rest), threshold, reset.
        t_ref_ms: absolute refractory period.
        E_e_mV, E_i_mV: synaptic reversal potentials.
        tau_e_ms, tau_i_ms: decay of the synaptic conductances.
        g_e0_mean_uS, g_e0_sigma_uS, tau_e0_ms: excitatory OU background (mean, stationary std, time constant).
        g_i0_mean_uS, g_i0_sigma_uS, tau_i0_ms: inhibitory OU background.
    """

    C_m_nF: float = 0.3
    R_m_MOhm: float = 100.0
    E_L_mV: float = -70.0
    v_th_mV: float = -59.0
    v_reset_mV: float = -70.0
    t_ref_ms: float = 5.0
    E_e_mV: float = 0.0
    E_i_mV: float = -75.0
    tau_e_ms: float = 5.0
    tau_i_ms: float = 5.0
    g_e0_mean_uS: float = 0.012
    g_e0_sigma_uS: float = 0.003
    tau_e0_ms: float = 2.7
    g_i0_mean_uS: float = 0.057
    g_i0_sigma_uS: float = 0.0066
    tau_i0_ms: float = 10.5


def cond_lif_init(
    batch_size: int,
    n: int,
    p: CondLIFParameters,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> CondLIFState:
    """A fresh state: v at E_L (V_init = V_rest), no synaptic input, OU backgrounds at their means."""
    v = torch.full((batch_size, n), p.E_L_mV, dtype=dtype, device=device)
    zeros = torch.zeros_like(v)
    return CondLIFState(
        v=v,
        refractory_ms=zeros,
        g_e_uS=zeros,
        g_i_uS=zeros,
        g_e0_uS=torch.full_like(v, p.g_e0_mean_uS),
        g_i0_uS=torch.full_like(v, p.g_i0_mean_uS),
    )


def ou_step(g: Tensor, mean: float, sigma: float, tau_ms: float, dt_ms: float, normal: Tensor) -> Tensor:
    """Exact update of an Ornstein-Uhlenbeck process with stationary mean and std (Gillespie 1996)::

        g <- mean + (g - mean) e^{-dt/tau} + sigma sqrt(1 - e^{-2 dt/tau}) xi,    xi ~ N(0, 1)

    Exact for any dt: the stationary mean and std are those given, whatever the step.
    """
    decay = math.exp(-dt_ms / tau_ms)
    return mean + (g - mean) * decay + (sigma * math.sqrt(1.0 - decay * decay)) * normal


def cond_lif_step(
    g_e_in_uS: Tensor,
    g_i_in_uS: Tensor,
    state: CondLIFState,
    p: CondLIFParameters,
    dt_ms: float,
    generators: BatchGenerators,
    current_nA: Tensor | float = 0.0,
    background_scale: Tensor | float = 1.0,
) -> tuple[Tensor, CondLIFState]:
    """One step of the conductance-based LIF neuron with OU background (Destexhe et al. 2001)::

        C_m dv/dt = -g_L (v - E_L) - (g_e + g_e0)(v - E_e) - (g_i + g_i0)(v - E_i) + I,   g_L = 1 / R_m
        tau_e dg_e/dt = -g_e + sum_k w_k delta(t - t_k)      (same for g_i)
        g_e0, g_i0: OU processes (mean, sigma, tau), updated exactly (``ou_step``)
        v >= v_th:  spike, v <- v_reset, hold v for t_ref

    Order within the step: the incoming weights (``g_*_in_uS``, this step's arrivals) jump the synaptic
    conductances; v is integrated exactly with all conductances frozen over the step (a linear ODE:
    ``v_inf = (g_L E_L + g_E E_e + g_I E_i + I) / g_tot``, ``v <- v_inf + (v - v_inf) e^{-dt g_tot / C_m}``);
    then the conductances decay and the OU processes advance. The OU normals (2 per neuron) come from
    ``generators`` so network b's trajectory does not depend on the batch.

    Legenstein et al. (2008) PLoS Comput Biol 4:e1000180; Destexhe A. et al. (2001) Neuroscience 107:13.

    Args:
        g_e_in_uS, g_i_in_uS: (B, N) summed weights of the excitatory / inhibitory spikes arriving now.
        background_scale: multiplies the OU means and sigmas (Legenstein: 1 or 0.2 per neuron).
        current_nA: injected current.

    Returns:
        spikes (B, N) bool, and the new state.
    """
    g_e = state.g_e_uS + g_e_in_uS
    g_i = state.g_i_uS + g_i_in_uS
    g_exc = g_e + background_scale * state.g_e0_uS
    g_inh = g_i + background_scale * state.g_i0_uS
    g_leak = 1.0 / p.R_m_MOhm
    g_tot = g_leak + g_exc + g_inh
    v_inf = (g_leak * p.E_L_mV + g_exc * p.E_e_mV + g_inh * p.E_i_mV + current_nA) / g_tot
    v_free = v_inf + (state.v - v_inf) * torch.exp(-dt_ms * g_tot / p.C_m_nF)
    spikes, v, refractory = _refractory_update(
        v_free, state.v, state.refractory_ms, p.v_th_mV, p.v_reset_mV, p.t_ref_ms, dt_ms
    )
    normal = generators.normal(2, state.v.shape[1], dtype=state.v.dtype)
    g_e0 = ou_step(state.g_e0_uS, p.g_e0_mean_uS, p.g_e0_sigma_uS, p.tau_e0_ms, dt_ms, normal[:, 0])
    g_i0 = ou_step(state.g_i0_uS, p.g_i0_mean_uS, p.g_i0_sigma_uS, p.tau_i0_ms, dt_ms, normal[:, 1])
    new = CondLIFState(
        v=v,
        refractory_ms=refractory,
        g_e_uS=g_e * math.exp(-dt_ms / p.tau_e_ms),
        g_i_uS=g_i * math.exp(-dt_ms / p.tau_i_ms),
        g_e0_uS=g_e0,
        g_i0_uS=g_i0,
    )
    return spikes, new


class NEFLIFState(NamedTuple):
    """State of B ensembles of N dimensionless LIF neurons (the Neural Engineering Framework's)."""

    v: Tensor  # (B, N) membrane potential, threshold 1
    refractory_s: Tensor  # (B, N) refractory time left, s (may hold a fraction of a step)


@dataclass(frozen=True)
class NEFLIFParameters:
    """The dimensionless LIF neuron of the NEF (Nengo's ``LIF``): threshold 1, reset 0, potential floor 0.

    Attributes:
        tau_rc_s: membrane time constant (Nengo: 20 ms).
        tau_ref_s: absolute refractory period (Nengo: 2 ms).
    """

    tau_rc_s: float = 0.020
    tau_ref_s: float = 0.002


def nef_lif_init(
    batch_size: int, n: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> NEFLIFState:
    """A fresh state: every neuron at 0 and free to fire."""
    v = torch.zeros(batch_size, n, dtype=dtype, device=device)
    return NEFLIFState(v=v, refractory_s=torch.zeros_like(v))


def nef_lif_step(current: Tensor, state: NEFLIFState, p: NEFLIFParameters, dt_s: float) -> tuple[Tensor, NEFLIFState]:
    """One step of the NEF's LIF neuron with a refractory period resolved within the step (Nengo's ``LIF``)::

        tau_rc dv/dt = -v + J,     v > 1:  spike, v <- 0, hold v for tau_ref;     v >= 0 always

    integrated exactly for J held over the step. A neuron whose refractory period ends during the step
    integrates only the rest of it; a spike's exact time within the step is found from the exponential
    charging curve (``t = dt + tau_rc log(1 - (v - 1) / (J - 1))``), and the refractory period is counted
    from it. So the neuron fires at the rate of its rate curve (:func:`nef_lif_rate`) whatever dt is, which the
    NEF's decoders, computed from that curve, rely on (at 200-400 Hz an ISI is 2.5-5 steps of 1 ms).

    Eliasmith C., Anderson C.H. (2003) Neural Engineering. MIT Press. Bekolay T. et al. (2014) Nengo: a Python
    tool for building large-scale functional brain models. Front Neuroinform 7:48.

    Args:
        current: (B, N) input current J (dimensionless; threshold 1).
        state: the state before the step.
        dt_s: the step in seconds.

    Returns:
        spikes (B, N) bool, and the new state.
    """
    refractory = state.refractory_s - dt_s
    decay = (dt_s - refractory).clamp_(0.0, dt_s).mul_(-1.0 / p.tau_rc_s).expm1_()  # over the free part of the step
    v = torch.addcmul(state.v, current - state.v, decay, value=-1.0)
    spikes = v > 1.0
    # The spike time from the charging curve, t = dt + tau_rc log((J - v) / (J - 1)); used only where spikes.
    spike_time = ((current - v) / (current - 1.0)).log_().mul_(p.tau_rc_s).add_(dt_s + p.tau_ref_s)
    refractory = torch.where(spikes, spike_time, refractory)
    v = v.clamp_(min=0.0).masked_fill_(spikes, 0.0)
    return spikes, NEFLIFState(v=v, refractory_s=refractory)


def nef_lif_rate(current: Tensor, p: NEFLIFParameters) -> Tensor:
    """The steady firing rate (Hz) of the NEF's LIF neuron under a constant current J::

    r(J) = 1 / (tau_ref + tau_rc log(1 + 1 / (J - 1)))   for J > 1, else 0
    """
    excess = current - 1.0
    positive = excess > 0
    safe = torch.where(positive, excess, torch.ones_like(excess))
    return torch.where(positive, 1.0 / (p.tau_ref_s + p.tau_rc_s * torch.log1p(1.0 / safe)), torch.zeros_like(excess))


def nef_lif_gain_bias(max_rates: Tensor, intercepts: Tensor, p: NEFLIFParameters) -> tuple[Tensor, Tensor]:
    """Gain and bias that make a neuron start firing at ``intercepts`` and reach ``max_rates`` (Hz) at 1 along
    its encoder, with ``J(x) = gain x + bias``: J(intercept) = 1 and r(J(1)) = max_rate."""
    if bool((max_rates * p.tau_ref_s >= 1.0).any()):
        raise ValueError(f"max rates must stay below 1 / tau_ref = {1.0 / p.tau_ref_s:g} Hz")
    j_max = 1.0 / (1.0 - torch.exp((p.tau_ref_s - 1.0 / max_rates) / p.tau_rc_s))
    gain = (j_max - 1.0) / (1.0 - intercepts)
    return gain, 1.0 - gain * intercepts
