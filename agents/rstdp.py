"""Reward-modulated STDP of Legenstein, Pecevski & Maass (2008).

Legenstein R., Pecevski D., Maass W. (2008) A learning theory for reward-modulated spike-timing-dependent
plasticity with application to biofeedback. PLoS Comput Biol 4(10):e1000180. doi:10.1371/journal.pcbi.1000180
(model code: ModelDB 116837, PCSIM).

Every plastic synapse j -> i keeps an eligibility trace c_ji, the STDP pairings of its pre- and
postsynaptic spikes filtered by an alpha kernel, and its weight follows the product of that trace and a
global reward signal d(t)::

    dw_ji/dt = eta c_ji(t) d(t),        0 <= w_ji <= w_max
    c_ji(t)  = int_0^inf f_c(s) sum_pairs W(t_post - t_pre) delta(t - s - t_pair) ds
    W(r)     = A+ e^{-r / tau+} (r > 0),   -A- e^{r / tau-} (r < 0),   tau+ = tau- = 30 ms,  A- = 1.05 A+
    f_c(s)   = (s / tau_e) e^{1 - s / tau_e},    tau_e = 0.4 s

A pairing is credited when its second spike happens (the pre trace is read at a post spike, the post
trace at a pre spike: all-to-all pairs). The reward signal is the env's reward, step by step: the
delayed alpha pulses of the spike-pattern task, or the zero-integral kernel of the biofeedback task.

Neurons are conductance-based LIF neurons with Ornstein-Uhlenbeck background conductances (PCSIM's
``CbLifNeuron`` with Destexhe's point-conductance noise), synapses exponential conductances with Markram's
short-term depression and facilitation.

Presets:
    ``legenstein2008-patterns`` (computer simulation 4, ModelDB ``compsim4`` ``ReadoutModel``): one readout
    neuron, its background noise at 0.2 of Destexhe's levels, 200 plastic input synapses (U 0.5, D 1.1 s,
    F 0.02 s) with w_max = 2.5 w_exc, w_exc the weight whose PSP is ``psp_fraction`` = 0.184 of the
    threshold gap V_th - V_rest for a 5-ms synapse, the synapses themselves decaying with 3 ms (PCSIM's
    default: compsim4 passes its synapses no tau), initial weights N(w_max / 2, w_max / 10) clipped to
    [0, w_max]; A+ = mu w_max, mu = 0.0013; eta = 300 (measured, see the preset).

    ``legenstein2008-spoken-digits`` (computer simulation 5, ModelDB ``compsim5`` ``SpeechRewardSTDPExperiment``):
    the spoken digits drive a liquid, Maass, Natschläger & Markram (2002)'s column of 15 x 6 x 6 = 540 of the
    same neurons (80% excitatory at random places, ``agents.core.liquid``); the readout neuron, compsim4's,
    learns from plastic synapses of the liquid's excitatory neurons with mu = 0.0008, alpha = 1.05,
    tau+- = 30 ms, tau_e = 0.4 s (compsim5's values).

The liquid (``network="liquid"``): neuron a -> b connects with probability ``C_ab exp(-(D(a, b) / lambda)^2)``
(lambda = 2; C = 0.3 E -> E, 0.2 E -> I, 0.4 I -> E, 0.1 I -> I), 1-ms delays, Markram synapses with the type's
U, D, F (the means of sim 1, without its heterogeneity, so a neuron's synapses onto one target type share one
short-term state), weights w_liquid (E -> E), ``liquid_ei_scale`` w_liquid (E -> I), ``liquid_ie_scale`` w_liquid
(I -> E) and ``liquid_ii_scale`` w_liquid (I -> I). Each input
channel drives each liquid neuron with probability ``input_connection_probability`` through a static synapse
of weight w_input. compsim5's own ``LiquidModel400`` (ModelDB 116837) differs: it wires its 540 neurons at random
with C = 0.1 for every pair type (no distance), through static current synapses (PSP 3.3 x 0.0385 of its 6-mV
threshold gap, x -12 for inhibition), background at 0.4 of Destexhe's, each of 20 input channels into one
3 x 3 x 3 block; this column is Maass et al.'s instead, and its weights, input wiring and background are chosen
here by measurement (see the preset). compsim5's readout (``ReadoutModel``) weighs its plastic synapses with
Wscale 0.06 for 5-ms synapses and starts them at N(0.5, 0.1) w_max within [0.3, 0.7] w_max. As in compsim5, which
simulated the liquid's response to each utterance from a reset state, a reset starts the liquid afresh.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from agents.base import Agent, config_from_preset
from agents.core import (
    MAASS2002_CONNECTION_PROBABILITY,
    AlphaState,
    BatchGenerators,
    CondLIFParameters,
    CondLIFState,
    Connectivity,
    DynamicSynapseParameters,
    DynamicSynapseState,
    EventDrivenEligibility,
    alpha_init,
    alpha_step,
    column_connection_probability,
    column_layout,
    cond_lif_init,
    cond_lif_step,
    dynamic_synapse_init,
    dynamic_synapse_spike,
    dynamic_synapse_spike_rows,
    incoming_index,
    restart,
    trace_decay,
    trace_spike,
)


def psp_peak_mV(
    weight_uS: float, p: CondLIFParameters, tau_syn_ms: float | None = None, *, inhibitory: bool = False
) -> float:
    """Size of the peak of the PSP a conductance jump ``weight_uS`` causes at rest, in the current-based
    approximation (the driving force E_e - E_L, or E_L - E_i for an ``inhibitory`` synapse, held fixed): the
    difference of exponentials of tau_syn and tau_m (compsim1's weight formula)."""
    tau_s = p.tau_e_ms if tau_syn_ms is None else tau_syn_ms
    tau_m = p.C_m_nF * p.R_m_MOhm  # nF * MOhm = ms
    t_peak = math.log(tau_m / tau_s) * tau_s * tau_m / (tau_m - tau_s)
    shape = (math.exp(-t_peak / tau_m) - math.exp(-t_peak / tau_s)) * tau_s * tau_m / (tau_m - tau_s)
    driving_force = p.E_L_mV - p.E_i_mV if inhibitory else p.E_e_mV - p.E_L_mV
    return weight_uS * driving_force / p.C_m_nF * shape


def weight_for_psp(psp_mV: float, p: CondLIFParameters) -> float:
    """The conductance jump (uS) whose PSP at rest peaks at ``psp_mV`` (inverse of ``psp_peak_mV``)."""
    return psp_mV / psp_peak_mV(1.0, p)


@dataclass(frozen=True)
class RSTDPConfig:
    """Parameters of Legenstein's rule and network (defaults: computer simulation 4's readout)."""

    # neurons (PCSIM CbLifNeuron; PAPERS.md 3.2)
    C_m_nF: float = 0.3
    R_m_MOhm: float = 100.0
    v_rest_mV: float = -70.0
    v_th_mV: float = -59.0
    t_ref_ms: float = 5.0
    tau_syn_ms: float = 5.0
    """Decay of the exponential synaptic conductances."""
    w_exc_tau_syn_ms: float | None = None
    """The synaptic decay the w_exc formula assumes (None: tau_syn_ms). compsim4 computes its weights for
    5 ms but gives its readout's synapses no tau, so they decay with PCSIM's default, 3 ms."""
    background_scale: float = 0.2
    """Destexhe's OU background levels (mean and std of g_e0, g_i0) times this."""
    # synapses
    psp_fraction: float = 0.184
    """w_exc is the weight whose PSP peaks at this fraction of V_th - V_rest (compsim4's Wscale)."""
    w_max_over_w_exc: float = 2.5
    """w_max = this * w_exc."""
    w_init_mean: float = 0.5
    w_init_std: float = 0.1
    """Initial weights ~ N(mean, std) * w_max, clipped to [0, w_max]."""
    U: float = 0.5
    D_ms: float = 1100.0
    F_ms: float = 20.0
    """Markram's short-term dynamics of the plastic synapses (E -> E values of Gupta et al. 2000)."""
    # the rule
    mu: float = 0.0013
    """A+ = mu * w_max."""
    alpha_ltd: float = 1.05
    """A- = alpha_ltd * A+."""
    tau_plus_ms: float = 30.0
    tau_minus_ms: float = 30.0
    tau_e_ms: float = 400.0
    """Time constant of the alpha-shaped eligibility kernel f_c (peak 1 at s = tau_e)."""
    learning_rate: float = 3.0
    """eta, per second of reward signal (compsim4's DAStdpRate)."""
    warmup_ms: float = 0.0
    """No plasticity during the network's first warmup_ms (compsim1: 1.5 s idle without learning, while the
    network settles from its synchronous start)."""
    # the recurrent network of computer simulation 1 (network="recurrent")
    network: str = "readout"
    """"readout": the observation's channels drive the action's readout neurons through plastic synapses;
    "recurrent": a recurrent network on its own noise, plastic E -> E synapses, the action its watched neurons."""
    n_neurons: int = 4000
    excitatory_fraction: float = 0.8
    connection_probability: float = 0.02
    high_noise_connection_factor: float = 0.4
    """Every neuron connects onto the high-noise half with this times the probability (compsim1's ``ouConnP``)."""
    inhibitory_scale: float = 1.4
    """The IPSP of w_inh is this times the EPSP of w_exc, both at rest in the current-based approximation, each
    with its own driving force (compsim1's formula): w_inh = this (E_e - E_L) / (E_L - E_i) w_exc, 19.6 w_exc."""
    ie_connection_scale: float = 1.2
    """Inhibitory -> excitatory neurons connect with this times the probability (compsim1's IE ``Cscale``)."""
    ii_connection_scale: float = 0.8
    """Inhibitory -> inhibitory neurons connect with this times the probability (compsim1's II ``Cscale``)."""
    synapse_heterogeneity: float = 0.5
    """Per-synapse U, D, F ~ N(mean, (this * mean)^2), redrawn where not positive."""
    low_noise_scale: float = 0.2
    """Half the neurons get the full OU background, the other half this times it (the reinforced neuron is
    one of them)."""
    # the liquid of computer simulation 5 (network="liquid"); excitatory_fraction as above
    liquid_shape: tuple[int, int, int] = (15, 6, 6)
    """The column's grid (Maass et al. 2002; compsim5: 15 x 6 x 6 = 540 neurons)."""
    liquid_lambda: float = 2.0
    """lambda of the connection probability C exp(-(D / lambda)^2), in grid units."""
    liquid_connection_factors: tuple[float, float, float, float] = MAASS2002_CONNECTION_PROBABILITY
    """C of E -> E, E -> I, I -> E, I -> I."""
    liquid_psp_fraction: float = 0.1
    """w_liquid (the E -> E weight) gives a PSP at rest of this fraction of V_th - V_rest."""
    liquid_ei_scale: float = 2.0
    """E -> I weight = this * w_liquid (Maass et al. 2002: A_EI = 2 A_EE)."""
    liquid_ie_scale: float = 1.4 * 1.2
    """I -> E weight = this * w_liquid (set by measurement, see the preset)."""
    liquid_ii_scale: float = 1.4 * 0.8
    """I -> I weight = this * w_liquid."""
    liquid_background_scale: float = 0.2
    """The liquid's OU background, times Destexhe's levels."""
    input_connection_probability: float = 0.2
    """Each input channel drives each liquid neuron with this probability."""
    input_psp_fraction: float = 0.2
    """w_input gives a PSP at rest of this fraction of V_th - V_rest."""

    def __post_init__(self) -> None:
        bad = []
        if self.C_m_nF <= 0 or self.R_m_MOhm <= 0 or self.tau_syn_ms <= 0 or self.t_ref_ms < 0:
            bad.append("C_m_nF, R_m_MOhm, tau_syn_ms must be > 0 and t_ref_ms >= 0")
        if self.w_exc_tau_syn_ms is not None and self.w_exc_tau_syn_ms <= 0:
            bad.append("w_exc_tau_syn_ms must be > 0 (or None: tau_syn_ms)")
        if self.v_th_mV <= self.v_rest_mV:
            bad.append("v_th_mV must be above v_rest_mV")
        if self.psp_fraction <= 0 or self.w_max_over_w_exc <= 0:
            bad.append("psp_fraction and w_max_over_w_exc must be > 0")
        if not 0 < self.U <= 1 or self.D_ms <= 0 or self.F_ms <= 0:
            bad.append("need 0 < U <= 1, D_ms > 0, F_ms > 0")
        if self.tau_plus_ms <= 0 or self.tau_minus_ms <= 0 or self.tau_e_ms <= 0:
            bad.append("the time constants must be > 0")
        if self.mu < 0 or self.alpha_ltd < 0 or self.learning_rate < 0 or self.background_scale < 0:
            bad.append("mu, alpha_ltd, learning_rate and background_scale must be >= 0")
        if self.network not in NETWORKS:
            bad.append(f"network must be one of {list(NETWORKS)}, got {self.network!r}")
        if self.n_neurons < 4 or not 0 < self.excitatory_fraction < 1 or not 0 < self.connection_probability <= 1:
            bad.append("need n_neurons >= 4, 0 < excitatory_fraction < 1, 0 < connection_probability <= 1")
        if len(self.liquid_shape) != 3 or min(self.liquid_shape) < 1 or self.liquid_lambda <= 0:
            bad.append("liquid_shape must be 3 positive grid sizes and liquid_lambda > 0")
        if len(self.liquid_connection_factors) != 4 or not all(0 <= c <= 1 for c in self.liquid_connection_factors):
            bad.append("liquid_connection_factors must be 4 values in [0, 1] (EE, EI, IE, II)")
        if min(self.liquid_psp_fraction, self.liquid_ei_scale, self.liquid_background_scale) < 0:
            bad.append("liquid_psp_fraction, liquid_ei_scale and liquid_background_scale must be >= 0")
        if not 0 <= self.input_connection_probability <= 1 or self.input_psp_fraction < 0:
            bad.append("need 0 <= input_connection_probability <= 1 and input_psp_fraction >= 0")
        if bad:
            raise ValueError("RSTDPConfig: " + "; ".join(bad))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RSTDPConfig:
        return config_from_preset(cls, values, PRESETS, "legenstein2008-patterns", "R-STDP")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def neuron(self) -> CondLIFParameters:
        return CondLIFParameters(
            C_m_nF=self.C_m_nF,
            R_m_MOhm=self.R_m_MOhm,
            E_L_mV=self.v_rest_mV,
            v_th_mV=self.v_th_mV,
            v_reset_mV=self.v_rest_mV,
            t_ref_ms=self.t_ref_ms,
            tau_e_ms=self.tau_syn_ms,
            tau_i_ms=self.tau_syn_ms,
        )

    def weight_for_fraction(self, fraction: float) -> float:
        """The weight (uS) whose PSP at rest peaks at ``fraction`` of V_th - V_rest (for w_exc_tau_syn_ms)."""
        tau = self.tau_syn_ms if self.w_exc_tau_syn_ms is None else self.w_exc_tau_syn_ms
        neuron = replace(self.neuron(), tau_e_ms=tau)
        return weight_for_psp(fraction * (self.v_th_mV - self.v_rest_mV), neuron)

    @property
    def w_exc(self) -> float:
        return self.weight_for_fraction(self.psp_fraction)

    @property
    def w_inh(self) -> float:
        """The inhibitory weight of the recurrent network: its IPSP is ``inhibitory_scale`` times w_exc's EPSP."""
        tau = self.tau_syn_ms if self.w_exc_tau_syn_ms is None else self.w_exc_tau_syn_ms
        neuron = replace(self.neuron(), tau_e_ms=tau)
        ipsp_mV = self.inhibitory_scale * self.psp_fraction * (self.v_th_mV - self.v_rest_mV)
        return ipsp_mV / psp_peak_mV(1.0, neuron, inhibitory=True)

    @property
    def w_max(self) -> float:
        return self.w_max_over_w_exc * self.w_exc

    @property
    def a_plus(self) -> float:
        return self.mu * self.w_max

    @property
    def a_minus(self) -> float:
        return self.alpha_ltd * self.a_plus


NETWORKS = ("readout", "recurrent", "liquid")

SYNAPSE_TYPES: dict[tuple[bool, bool], tuple[float, float, float]] = {
    # (presynaptic excitatory, postsynaptic excitatory): (U, D ms, F ms), Gupta, Wang & Markram (2000) as used
    # by Legenstein et al. (2008)
    (True, True): (0.5, 1100.0, 20.0),
    (True, False): (0.25, 700.0, 20.0),
    (False, True): (0.05, 125.0, 1200.0),
    (False, False): (0.32, 144.0, 60.0),
}

PRESETS: dict[str, RSTDPConfig] = {
    # Computer simulation 4 (ModelDB compsim4 ReadoutModel). Its weight formula assumes 5-ms synapses (synTau),
    # but it creates the readout's synapses without a tau, so they decay with PCSIM's default of 3 ms: with 5 ms
    # the template drives the readout's free membrane to -57.7 mV, above threshold, and it fires ~16 spikes per
    # trial before learning (the paper's Fig. 9 axes: under 8 spikes, free Vm within -68 .. -56 mV); with 3 ms,
    # -60.2 +- 1.7 mV and ~7 spikes. eta: compsim4's DAStdpRate = 3 acts per 0.1-ms step on a reward pulse of
    # peak 1e-4 / (e 0.1 s) (the scaling compsim5's analysis script uses), ~11 per second for our unit-peak
    # pulse if PCSIM's alpha kernels peak at 1, which cannot be checked here, so eta is set by measurement: in a
    # numpy replica of this agent (12 seeds, 1000 trials, held-out accuracy) eta 11 gives 56% (template 1 keeps
    # ~1.6 spikes: the punishment of its rare spikes loses to the reward of template 0's many), 100 gives 91%,
    # 300 gives 93%; this agent at 300, 6 seeds: 91.7% (one seed at 60%, see README).
    "legenstein2008-patterns": RSTDPConfig(tau_syn_ms=3.0, w_exc_tau_syn_ms=5.0, learning_rate=300.0),
    # Computer simulation 1 (ModelDB compsim1): 4000 neurons, PSP of w_exc = 0.8 (V_th - V_rest), the IPSP of w_inh
    # 1.4 times that (19.6 w_exc), w_max = 2 w_exc with every E -> E weight starting at w_exc, A+ = 0.001 w_exc =
    # 0.0005 w_max, full background noise. eta: compsim1's DAStdpRate = 0.3 acts per 0.1-ms step (its analysis
    # script divides it by DTsim), 3000 per second on the same reward signal and eligibility trace as ours.
    "legenstein2008-biofeedback": RSTDPConfig(
        network="recurrent",
        psp_fraction=0.8,
        w_max_over_w_exc=2.0,
        w_init_mean=0.5,
        w_init_std=0.0,
        mu=0.0005,
        background_scale=1.0,
        warmup_ms=1500.0,
        learning_rate=3000.0,
    ),
    # Computer simulation 5 (ModelDB compsim5): the readout of compsim4 (3-ms synapses weighed for 5 ms, its
    # background at 0.2 of Destexhe's) reads the excitatory neurons of the liquid, mu = 0.0008 (compsim5's values).
    # The liquid is set by measurement here (compsim5's LiquidModel400 is another liquid, see the module docstring):
    # each channel drives 10% of the liquid with a PSP of
    # 0.15 (V_th - V_rest), so the liquid fires ~6-10 Hz while an utterance plays and is silent ~100 ms after it
    # (with 20% / 0.2 it fired ~40 Hz, every neuron alike, and the readout did not separate the digits); the
    # readout's psp_fraction 0.1 gives it ~10-15 spikes per trial before learning. eta = 80, measured on recorded
    # liquid responses replayed into a replica of this readout (6 seeds, 600 trials): at 20 or 30 the readout
    # stays where it starts, firing for both digits (more for "one", whose synapses the punishment strengthens:
    # the pairings of 432 inputs firing at several Hz are net depressing), 50% correct; from ~60 on the weights
    # fall within ~100 trials to a near-silent readout whose spikes are its causal pairings, and there reward
    # and punishment separate the digits, about 2 : 1 in spikes, 56-79% correct (80: 66% at 300-600 trials);
    # at 150-300 it falls silent for both more often. This agent at 80, 5 seeds x 300 trials: see the README.
    "legenstein2008-spoken-digits": RSTDPConfig(
        network="liquid",
        tau_syn_ms=3.0,
        w_exc_tau_syn_ms=5.0,
        mu=0.0008,
        psp_fraction=0.1,
        input_connection_probability=0.1,
        input_psp_fraction=0.15,
        learning_rate=80.0,
    ),
}


def pairings(
    pre_trace: Tensor, post_trace: Tensor, pre_spikes: Tensor, post_spikes: Tensor, a_plus: float, a_minus: float
) -> Tensor:
    """This step's STDP pairings of dense all-to-all synapses, (B, n_pre, n_post)::

        A+ x_j [post i spikes]  -  A- y_i [pre j spikes]

    with ``x``, ``y`` the pre and post traces read before this step's spikes are added (so simultaneous
    spikes do not pair): the pairwise window W, credited when the pair's second spike happens.
    """
    ltp = a_plus * pre_trace[:, :, None] * post_spikes[:, None, :]
    ltd = a_minus * pre_spikes[:, :, None] * post_trace[:, None, :]
    return ltp - ltd


class RSTDPAgent(Agent):
    """B readout networks with reward-modulated STDP, one per seed, stepped as one computation.

    The observation's channels are presynaptic spike trains; each drives every readout neuron through a
    plastic dynamic synapse (``network="readout"``), or they drive a liquid whose excitatory neurons do
    (``network="liquid"``). The action is the readouts' spikes; the reward is the rule's d(t).

    Args:
        observation_space: ``MultiBinary(n)`` or a ``Box`` of 0/1 spikes, the input channels.
        action_space: ``MultiBinary(k)``, the spikes of the k readout neurons.
        config: an ``RSTDPConfig``.
        seeds: one seed per network.
        device: "cpu" or "cuda".
        env_dt_ms: the env's step (default 1 ms).
    """

    name: ClassVar[str] = "rstdp"
    needs_step_info: ClassVar[bool] = False
    unbatched_state: ClassVar[tuple[str, ...]] = ("t_ms", "counts_since_ms")

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: RSTDPConfig | None = None,
        *,
        seeds: Sequence[int] = (0,),
        device: torch.device | str = "cpu",
        env_dt_ms: float | None = None,
    ) -> None:
        if isinstance(observation_space, spaces.MultiBinary):
            observation_space = spaces.Box(0.0, 1.0, shape=observation_space.shape, dtype=np.float32)
        super().__init__(observation_space, action_space, seeds=seeds, device=device)
        self.config = cfg = config or RSTDPConfig()
        if not isinstance(action_space, spaces.MultiBinary) or len(action_space.shape) != 1:
            raise ValueError(
                f"the R-STDP agent acts with the spikes of its readout neurons: it needs a 1-D MultiBinary "
                f"action space, got {action_space}"
            )
        if len(self.observation_space.shape) != 1:
            raise ValueError(f"the observation must be a vector of input spikes, got {observation_space}")
        self.dt_ms = 1.0 if env_dt_ms is None else float(env_dt_ms)
        if self.dt_ms <= 0:
            raise ValueError(f"env_dt_ms must be > 0, got {env_dt_ms}")
        self.n_in = int(self.observation_space.shape[0])
        self.n_out = int(action_space.shape[0])
        self.neuron = cfg.neuron()
        self.generators = BatchGenerators(self.seeds, self.device)
        self.t_ms = 0.0  # time since the networks were built (the dynamic synapses' clock)
        self.n_pre = self.n_in  # the readout's plastic inputs
        if cfg.network == "liquid":
            self._build_liquid()
        if cfg.network == "recurrent":
            self._build_recurrent()
        else:
            self._build_readout()
        self.reset()

    def _build_readout(self) -> None:
        """Every input channel (or excitatory liquid neuron) j drives every readout i through a plastic dynamic
        synapse w_ji."""
        cfg = self.config
        self.synapse = DynamicSynapseParameters(U=cfg.U, D_ms=cfg.D_ms, F_ms=cfg.F_ms)
        w = cfg.w_max * (cfg.w_init_mean + cfg.w_init_std * self.generators.normal(self.n_pre, self.n_out))
        self.weight = w.clamp_(0.0, cfg.w_max)  # (B, n_pre, n_out), uS

    def _build_liquid(self) -> None:
        """Computer simulation 5's liquid (Maass et al. 2002's column, see the module docstring): positions,
        distance-dependent synapses with the type's weight and Markram parameters, random input synapses."""
        cfg, dev = self.config, self.device
        if self.n_in == 0:
            raise ValueError("the liquid needs input channels: the observation is empty")
        self.positions, n_e = column_layout(tuple(cfg.liquid_shape), cfg.excitatory_fraction, self.generators)
        N = self.positions.shape[1]
        self.n, self.n_e, self.n_pre = N, n_e, n_e
        prob = column_connection_probability(
            self.positions, n_e, tuple(cfg.liquid_connection_factors), cfg.liquid_lambda
        )
        connected = self.generators.uniform(N, N) < prob
        w = cfg.weight_for_fraction(cfg.liquid_psp_fraction)
        exc = torch.arange(N, device=dev) < n_e
        type_weight = torch.where(
            exc[:, None],
            torch.where(exc[None, :], w, cfg.liquid_ei_scale * w),
            torch.where(exc[None, :], cfg.liquid_ie_scale * w, cfg.liquid_ii_scale * w),
        )
        self.liquid_weight = (connected * type_weight).to(self.dtype)  # (B, N, N) pre x post, uS; 0: no synapse
        wired = self.generators.uniform(self.n_in, N) < cfg.input_connection_probability
        self.input_weight = (wired * cfg.weight_for_fraction(cfg.input_psp_fraction)).to(self.dtype)  # (B, n_in, N)
        # one short-term state per (presynaptic neuron, target type): column 0 onto E, column 1 onto I
        means = torch.tensor(
            [[SYNAPSE_TYPES[pre, True], SYNAPSE_TYPES[pre, False]] for pre in (True, False)],
            dtype=self.dtype,
            device=dev,
        )[torch.where(exc, 0, 1)]  # (N, 2, 3)
        self.liquid_synapse = DynamicSynapseParameters(*means.unbind(-1))  # type: ignore[arg-type]

    def _build_recurrent(self) -> None:
        """Computer simulation 1's network: N conductance-based LIF neurons (80% excitatory), random
        connectivity with probability p (0.4 p onto the high-noise half, times 1.2 from inhibitory onto excitatory
        and 0.8 from inhibitory onto inhibitory neurons: compsim1's ``ouConnP`` and ``Cscale``), 1-ms delays, w_exc
        from excitatory and w_inh from inhibitory neurons, Markram synapses per connection type with heterogeneous
        U, D, F, plastic E -> E weights."""
        cfg, B, dev = self.config, self.batch_size, self.device
        N = cfg.n_neurons
        n_e = round(N * cfg.excitatory_fraction)
        self.n, self.n_e = N, n_e
        if self.n_in != 0:
            raise ValueError("the recurrent R-STDP network runs on its own noise: the observation must be empty")
        if self.n_out > N:
            raise ValueError(f"the env watches {self.n_out} neurons, the network has {N}")
        rank = torch.argsort(self.generators.uniform(N), dim=1)
        self.high_noise = torch.zeros(B, N, dtype=torch.bool, device=dev).scatter_(1, rank[:, : N // 2], True)
        self.noise_scale = cfg.background_scale * torch.where(
            self.high_noise, torch.tensor(1.0, device=dev), torch.tensor(cfg.low_noise_scale, device=dev)
        )
        prob = torch.full((B, N, N), cfg.connection_probability, device=dev)
        prob *= torch.where(self.high_noise, cfg.high_noise_connection_factor, 1.0)[:, None, :]
        post_excitatory = torch.arange(N, device=dev) < n_e
        prob[:, n_e:] *= torch.where(post_excitatory, cfg.ie_connection_scale, cfg.ii_connection_scale)
        prob.diagonal(dim1=1, dim2=2).zero_()
        connected = self.generators.uniform(N, N) < prob
        del prob
        M = int(connected.sum(2).max())
        # each row's targets in increasing order, padded to M with placeholders (target 0, weight 0, not plastic)
        key = torch.where(connected, torch.arange(N, device=dev), N)
        del connected
        post = torch.sort(key, dim=2).values[:, :, :M]
        del key
        real = post < N
        post = post.masked_fill(~real, 0)
        pre_e = (torch.arange(N, device=dev) < n_e)[None, :, None]
        post_e = post < n_e
        weight = torch.where(pre_e, cfg.w_exc, cfg.w_inh).to(self.dtype).expand(post.shape)
        self.plastic = real & pre_e & post_e
        w_init = (cfg.w_init_mean + cfg.w_init_std * self._per_synapse(self.generators.normal(N, N), post)) * cfg.w_max
        weight = torch.where(self.plastic, w_init.clamp(0.0, cfg.w_max), weight) * real
        self.weight_bound = torch.where(self.plastic, torch.full_like(weight, cfg.w_max), weight)
        self.fan_out_ee = int(self.plastic.sum(2).max())
        incoming, incoming_mask = incoming_index(post, self.plastic)  # STDP's reverse view: plastic synapses only
        self.conn = Connectivity(
            post=post, delay_ms=torch.ones_like(post), weight=weight, incoming=incoming, incoming_mask=incoming_mask
        )
        self.synapse = self._heterogeneous_synapses(pre_e, post_e, real)
        excitatory = torch.arange(n_e, device=dev)
        low = ~self.high_noise[:, :n_e]
        # the reinforced neuron: an excitatory low-noise neuron; then a sample of the other excitatory neurons
        pick = torch.where(low, self.generators.uniform(n_e), 2.0).argmin(dim=1)
        others = torch.where(excitatory == pick[:, None], 2.0, self.generators.uniform(n_e))
        sample = torch.topk(others, self.n_out - 1, dim=1, largest=False).indices
        self.watched = torch.cat([pick[:, None], sample], dim=1)

    @staticmethod
    def _per_synapse(per_pair: Tensor, post: Tensor) -> Tensor:
        """(B, N, M) values of the synapses from a (B, N, N) draw per (pre, post) pair: the draws do not depend
        on M, which is the batch's largest fan-out, so network b is the same alone or in a batch."""
        return per_pair.gather(2, post)

    def _heterogeneous_synapses(self, pre_e: Tensor, post_e: Tensor, real: Tensor) -> DynamicSynapseParameters:
        """Per-synapse U, D, F around the type's means (EE, EI, IE, II): normal with standard deviation
        ``synapse_heterogeneity`` times the mean, truncated to positive values (drawn by the inverse CDF)."""
        cfg = self.config
        N, h = self.n, cfg.synapse_heterogeneity
        low = torch.special.ndtr(torch.tensor(-1.0 / h, dtype=torch.float64)).item() if h > 0 else 0.0
        values = []
        for k in range(3):
            mean = torch.zeros(real.shape, dtype=self.dtype, device=self.device)
            for (pe, po), triple in SYNAPSE_TYPES.items():
                mask = (pre_e if pe else ~pre_e) & (post_e if po else ~post_e)
                mean = torch.where(mask, triple[k], mean)
            u = self._per_synapse(self.generators.uniform(N, N, dtype=torch.float64), self.conn.post)
            z = torch.special.ndtri(low + (1.0 - low) * u).to(self.dtype)  # N(0, 1) truncated to z > -1 / h
            values.append(mean * (1.0 + h * z))
        U, D, F = values
        return DynamicSynapseParameters(U=U.clamp(max=1.0), D_ms=D, F_ms=F)  # type: ignore[arg-type]

    # -- the network ---------------------------------------------------------------------------------
    def _act(self, obs: Tensor, deterministic: bool) -> Tensor:
        if self.config.network == "recurrent":
            return self._act_recurrent()
        cfg, dt = self.config, self.dt_ms
        pre = self._act_liquid(obs) if cfg.network == "liquid" else obs > 0.5
        efficacy, self.synapses = dynamic_synapse_spike(self.synapses, pre, self.t_ms, self.synapse)
        g_in = torch.einsum("bj,bji->bi", efficacy, self.weight)
        post, self.neurons = cond_lif_step(
            g_in, 0.0, self.neurons, self.neuron, dt, self.generators, background_scale=cfg.background_scale
        )
        # traces decay first, are read by the pairings, then take this step's spikes: a pair lag ms apart
        # pairs with e^{-lag / tau}, simultaneous spikes do not pair
        self.pre_trace = trace_decay(self.pre_trace, self._decay_plus)
        self.post_trace = trace_decay(self.post_trace, self._decay_minus)
        if self._plastic_now:
            impulses = pairings(
                self.pre_trace, self.post_trace, pre.to(self.dtype), post.to(self.dtype), cfg.a_plus, cfg.a_minus
            )
        else:
            impulses = 0.0
        self.eligibility = alpha_step(impulses, self.eligibility, dt, cfg.tau_e_ms)
        self.pre_trace = trace_spike(self.pre_trace, pre, 1.0)
        self.post_trace = trace_spike(self.post_trace, post, 1.0)
        self.t_ms += dt
        return post.to(torch.int8)

    def _act_liquid(self, obs: Tensor) -> Tensor:
        """One ms of the liquid: the input's spikes and the liquid's spikes of the last step (1-ms delays)
        arrive, ``g_b += sum_a w_ab u_a r_a`` per synapse type, the neurons integrate; returns the excitatory
        neurons' spikes, the readout's input. Event-driven: only the rows of the neurons that spiked are read."""
        n_e = self.n_e
        g_e = torch.bmm((obs > 0.5).to(self.dtype)[:, None, :], self.input_weight)[:, 0]
        g_i = torch.zeros_like(g_e)
        b, a = self.liquid_spikes.nonzero(as_tuple=True)
        if b.numel():
            params = DynamicSynapseParameters(
                *(x[a] for x in (self.liquid_synapse.U, self.liquid_synapse.D_ms, self.liquid_synapse.F_ms))
            )
            # (K, 2): the spiking neurons' efficacies onto E and onto I targets
            u_r = dynamic_synapse_spike_rows(self.liquid_synapses, (b, a), self.t_ms, params)
            rows = self.liquid_weight[b, a]  # (K, N): their outgoing weights
            amount = torch.cat([rows[:, :n_e] * u_r[:, :1], rows[:, n_e:] * u_r[:, 1:]], dim=1)
            excitatory = a < n_e
            g_e.index_add_(0, b[excitatory], amount[excitatory])
            g_i.index_add_(0, b[~excitatory], amount[~excitatory])
        spikes, self.liquid_neurons = cond_lif_step(
            g_e,
            g_i,
            self.liquid_neurons,
            self.neuron,
            self.dt_ms,
            self.generators,
            background_scale=self.config.liquid_background_scale,
        )
        self.liquid_spikes = spikes
        self.spike_counts += spikes
        return spikes[:, :n_e]

    def _act_recurrent(self) -> Tensor:
        """One ms of the recurrent network: last step's spikes arrive (1-ms delays), the neurons integrate,
        and this step's spikes pair, event-driven: only the synapses of the neurons that spiked are touched."""
        dt = self.dt_ms
        self.eligibility.tick()
        g_e, g_i = self._deliver(self.spikes)
        spikes, self.neurons = cond_lif_step(
            g_e, g_i, self.neurons, self.neuron, dt, self.generators, background_scale=self.noise_scale
        )
        self.pre_trace = trace_decay(self.pre_trace, self._decay_plus)  # tau+ = tau-: one trace per neuron
        if self._plastic_now:
            self._pair(spikes)
        self.pre_trace = trace_spike(self.pre_trace, spikes, 1.0)
        self.spikes = spikes
        self.spike_counts += spikes
        self.t_ms += dt
        return spikes.gather(1, self.watched).to(torch.int8)

    def _pair(self, spikes: Tensor) -> None:
        """The STDP pairings of this step's excitatory spikes on the plastic E -> E synapses (traces read after
        their decay, before the spikes are added): a spike of i pairs with the earlier spikes of its
        presynaptic neurons, ``+A+ x_j``, and with the earlier spikes of its targets, ``-A- x_k``."""
        cfg, N, M = self.config, self.n, self.conn.post.shape[2]
        b, i = spikes[:, : self.n_e].nonzero(as_tuple=True)
        if not b.numel():
            return
        ids = self.conn.incoming[b, i]  # (K, width) plastic synapses onto the spiking neurons
        real = self.conn.incoming_mask[b, i]
        pre = torch.div(ids, M, rounding_mode="floor")
        ltp = cfg.a_plus * self.pre_trace[b[:, None].expand_as(ids), pre]
        self.eligibility.pair((b[:, None] * (N * M) + ids)[real], ltp[real])
        m = torch.arange(self.fan_out_ee, device=self.device)  # a row's E -> E synapses come first (sorted targets)
        plastic = self.plastic[b, i, : self.fan_out_ee]
        out = (b * (N * M) + i * M)[:, None] + m
        ltd = -cfg.a_minus * self.pre_trace[b[:, None], self.conn.post[b, i, : self.fan_out_ee]]
        self.eligibility.pair(out[plastic], ltd[plastic])

    def _deliver(self, spikes: Tensor) -> tuple[Tensor, Tensor]:
        """The excitatory and inhibitory conductance jumps (B, N) caused by ``spikes``: ``w u r`` per synapse of
        the spiking rows, their dynamic synapses advanced (only those rows are touched)."""
        g_e = torch.zeros_like(self.pre_trace)
        g_i = torch.zeros_like(self.pre_trace)
        b, j = spikes.nonzero(as_tuple=True)
        if b.numel():
            M = self.conn.post.shape[2]
            rows = (b, j)
            params = DynamicSynapseParameters(
                *(x[rows] for x in (self.synapse.U, self.synapse.D_ms, self.synapse.F_ms))
            )
            efficacy = dynamic_synapse_spike_rows(self.synapses, rows, self.t_ms, params)
            e = j < self.n_e  # bring the plastic weights of the spiking rows up to date
            ids = (b[e] * self.n * M + j[e] * M)[:, None] + torch.arange(self.fan_out_ee, device=self.device)
            self.eligibility.read(ids.flatten())
            amount = efficacy * self.conn.weight[rows]
            targets = self.conn.post[rows]
            excitatory = j < self.n_e
            for g, which in ((g_e, excitatory), (g_i, ~excitatory)):
                if which.any():
                    g.index_put_(
                        (b[which, None].expand_as(targets[which]), targets[which]), amount[which], accumulate=True
                    )
        return g_e, g_i

    @property
    def _plastic_now(self) -> bool:
        return self.training and self.t_ms >= self.config.warmup_ms

    @property
    def _decay_plus(self) -> float:
        return math.exp(-self.dt_ms / self.config.tau_plus_ms)

    @property
    def _decay_minus(self) -> float:
        return math.exp(-self.dt_ms / self.config.tau_minus_ms)

    def _observe(
        self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, info: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        if self._plastic_now and reward.any():
            d = torch.as_tensor(reward, dtype=self.dtype, device=self.device)
            rate = self.config.learning_rate * self.dt_ms / 1000.0
            if self.config.network != "recurrent":
                self.weight.addcmul_((rate * d)[:, None, None], self.eligibility.y2).clamp_(0.0, self.config.w_max)
            else:
                self.eligibility.reward(d)
        return {}

    def _reset(self, mask: Tensor) -> None:
        if self.config.network == "recurrent":
            return self._reset_recurrent(mask)
        if self.config.network == "liquid":
            self._reset_liquid(mask)
        B = self.batch_size
        fresh = cond_lif_init(B, self.n_out, self.neuron, dtype=self.dtype, device=self.device)
        self.neurons = restart(getattr(self, "neurons", None), fresh, mask)
        if not hasattr(self, "pre_trace"):
            self.pre_trace = torch.zeros(B, self.n_pre, dtype=self.dtype, device=self.device)
            self.post_trace = torch.zeros(B, self.n_out, dtype=self.dtype, device=self.device)
            self.eligibility = alpha_init((B, self.n_pre, self.n_out), dtype=self.dtype, device=self.device)
            self.synapses = dynamic_synapse_init((B, self.n_pre), self.synapse, dtype=self.dtype, device=self.device)
        # Traces and eligibility live across trials (the paper's simulation is continuous); a reset starts
        # the neurons afresh and forgets the pairings, as the trial boundary of the env cuts the reward too.
        self.pre_trace[mask] = 0.0
        self.post_trace[mask] = 0.0
        self.eligibility.y1[mask] = 0.0
        self.eligibility.y2[mask] = 0.0

    def _reset_liquid(self, mask: Tensor) -> None:
        """The liquid starts each trial afresh (compsim5 simulated each utterance's response from a reset
        liquid): neurons at rest, no spikes in flight, synapses recovered."""
        B, N = self.batch_size, self.n
        fresh = cond_lif_init(B, N, self.neuron, dtype=self.dtype, device=self.device)
        self.liquid_neurons = restart(getattr(self, "liquid_neurons", None), fresh, mask)
        u = self.liquid_synapse.U.expand(B, N, 2).clone()  # type: ignore[union-attr]
        synapses = DynamicSynapseState(u=u, r=torch.ones_like(u), last_spike_ms=torch.full_like(u, -math.inf))
        self.liquid_synapses = restart(getattr(self, "liquid_synapses", None), synapses, mask)
        if not hasattr(self, "liquid_spikes"):
            self.liquid_spikes = torch.zeros(B, N, dtype=torch.bool, device=self.device)
            self.spike_counts = torch.zeros(B, N, dtype=self.dtype, device=self.device)
            self.counts_since_ms = 0.0
        self.liquid_spikes[mask] = False

    def _new_eligibility(self) -> EventDrivenEligibility:
        B, N, M = self.conn.weight.shape
        return EventDrivenEligibility(
            self.conn.weight.view(B, N * M),
            self.weight_bound.view(B, N * M),
            self.plastic.view(B, N * M),
            self.config.tau_e_ms,
            self.dt_ms,
            self.config.learning_rate * self.dt_ms / 1000.0,
        )

    def _reset_recurrent(self, mask: Tensor) -> None:
        B, N = self.batch_size, self.n
        fresh = cond_lif_init(B, N, self.neuron, dtype=self.dtype, device=self.device)
        self.neurons = restart(getattr(self, "neurons", None), fresh, mask)
        if not hasattr(self, "pre_trace"):
            self.pre_trace = torch.zeros(B, N, dtype=self.dtype, device=self.device)
            self.spikes = torch.zeros(B, N, dtype=torch.bool, device=self.device)
            self.spike_counts = torch.zeros(B, N, dtype=self.dtype, device=self.device)
            self.counts_since_ms = 0.0
            self.eligibility = self._new_eligibility()
            shape = tuple(self.conn.weight.shape)
            self.synapses = DynamicSynapseState(
                u=self.synapse.U.clone(),
                r=torch.ones(shape, dtype=self.dtype, device=self.device),
                last_spike_ms=torch.full(shape, -math.inf, dtype=self.dtype, device=self.device),
            )
        self.pre_trace[mask] = 0.0
        self.spikes[mask] = False
        self.eligibility.flush()
        self.eligibility.y1[mask] = 0.0
        self.eligibility.y2[mask] = 0.0

    # -- what the experiment measures ----------------------------------------------------------------
    def metrics(self) -> dict[str, np.ndarray]:
        """Readout: the mean input weight (of w_max); liquid: that and the liquid's excitatory and inhibitory
        rates since the previous call. Recurrent: the mean plastic weight onto the reinforced (first watched)
        neuron and onto the other excitatory neurons (of w_max), and the rates."""
        cfg = self.config
        if cfg.network != "recurrent":
            out = {"weight_mean_of_max": (self.weight.mean(dim=(1, 2)) / cfg.w_max).cpu().numpy()}
            if cfg.network == "liquid":
                rates = self._rates_since_last_call()
                out["liquid_excitatory_rate_hz"] = rates[:, : self.n_e].mean(1).cpu().numpy()
                out["liquid_inhibitory_rate_hz"] = rates[:, self.n_e :].mean(1).cpu().numpy()
            return out
        self.eligibility.flush()
        w, plastic = self.conn.weight, self.plastic
        onto_reinforced = plastic & (self.conn.post == self.watched[:, :1, None])
        others = plastic & ~onto_reinforced
        mean = lambda mask: (w * mask).sum(dim=(1, 2)) / mask.sum(dim=(1, 2)).clamp(min=1) / cfg.w_max  # noqa: E731
        rates = self._rates_since_last_call()
        reinforced = rates.gather(1, self.watched[:, :1])[:, 0]
        return {
            "reinforced_input_weight_of_max": mean(onto_reinforced).cpu().numpy(),
            "other_weight_of_max": mean(others).cpu().numpy(),
            "reinforced_rate_hz": reinforced.cpu().numpy(),
            "excitatory_rate_hz": ((rates[:, : self.n_e].sum(1) - reinforced) / (self.n_e - 1)).cpu().numpy(),
            "inhibitory_rate_hz": rates[:, self.n_e :].mean(1).cpu().numpy(),
        }

    def hidden_spikes(self) -> np.ndarray | None:
        """The liquid's neurons (excitatory first) or the recurrent network's, this step; None for the readout."""
        if self.config.network == "liquid":
            return self.liquid_spikes.cpu().numpy()
        if self.config.network == "recurrent":
            return self.spikes.cpu().numpy()
        return None

    def _rates_since_last_call(self) -> Tensor:
        """(B, N) firing rates (Hz) of the network's neurons since the previous call (the rollout samples
        metrics at a fixed period)."""
        seconds = max(self.t_ms - self.counts_since_ms, self.dt_ms) / 1000.0
        rates = self.spike_counts / seconds
        self.spike_counts.zero_()
        self.counts_since_ms = self.t_ms
        return rates

    def plastic_weights(self) -> np.ndarray:
        """(B, n) plastic weights in units of w_max (readout and liquid: every readout synapse; recurrent: the
        E -> E synapses, NaN-padded to the largest count)."""
        if self.config.network != "recurrent":
            return (self.weight.flatten(1) / self.config.w_max).cpu().numpy()
        self.eligibility.flush()
        w = torch.where(self.plastic, self.conn.weight / self.config.w_max, torch.nan).flatten(1)
        keep = torch.sort(torch.isnan(w).to(torch.int8), dim=1, stable=True).indices  # real weights first
        w = w.gather(1, keep)
        return w[:, : int(self.plastic.flatten(1).sum(1).max())].cpu().numpy()

    # -- checkpoints ---------------------------------------------------------------------------------
    def _state_tensors(self) -> dict[str, Tensor]:
        common = {
            **{f"neuron_{k}": v for k, v in self.neurons._asdict().items()},
            **{f"synapse_{k}": v for k, v in self.synapses._asdict().items()},
            "pre_trace": self.pre_trace,
            "generators": self.generators.get_state(),
            "t_ms": torch.tensor(self.t_ms, dtype=torch.float64),
        }
        if self.config.network != "recurrent":
            readout = {
                **common,
                "weight": self.weight,
                "eligibility_y1": self.eligibility.y1,
                "eligibility_y2": self.eligibility.y2,
                "post_trace": self.post_trace,
            }
            if self.config.network == "readout":
                return readout
            return {
                **readout,
                **{f"liquid_neuron_{k}": v for k, v in self.liquid_neurons._asdict().items()},
                **{f"liquid_synapse_{k}": v for k, v in self.liquid_synapses._asdict().items()},
                "liquid_spikes": self.liquid_spikes,
                "liquid_weight": self.liquid_weight,
                "input_weight": self.input_weight,
                "positions": self.positions,
                "spike_counts": self.spike_counts,
                "counts_since_ms": torch.tensor(self.counts_since_ms, dtype=torch.float64),
            }
        self.eligibility.flush()
        return {
            **common,
            **{f"conn_{k}": v for k, v in self.conn._asdict().items()},
            **{f"eligibility_{k}": v for k, v in self.eligibility.state().items()},
            "plastic": self.plastic,
            "weight_bound": self.weight_bound,
            "high_noise": self.high_noise,
            "noise_scale": self.noise_scale,
            "watched": self.watched,
            "synapse_U": self.synapse.U,
            "synapse_D_ms": self.synapse.D_ms,
            "synapse_F_ms": self.synapse.F_ms,
            "spikes": self.spikes,
            "spike_counts": self.spike_counts,
            "counts_since_ms": torch.tensor(self.counts_since_ms, dtype=torch.float64),
        }

    def _load_tensors(self, tensors: Mapping[str, Tensor]) -> None:
        self.neurons = CondLIFState(*(tensors[f"neuron_{k}"].clone() for k in CondLIFState._fields))
        self.synapses = DynamicSynapseState(*(tensors[f"synapse_{k}"].clone() for k in DynamicSynapseState._fields))
        self.pre_trace = tensors["pre_trace"].clone()
        self.generators.set_state(tensors["generators"])
        self.t_ms = float(tensors["t_ms"])
        if self.config.network != "recurrent":
            self.weight = tensors["weight"].clone()
            self.eligibility = AlphaState(tensors["eligibility_y1"].clone(), tensors["eligibility_y2"].clone())
            self.post_trace = tensors["post_trace"].clone()
            if self.config.network == "liquid":
                self.liquid_neurons = CondLIFState(
                    *(tensors[f"liquid_neuron_{k}"].clone() for k in CondLIFState._fields)
                )
                self.liquid_synapses = DynamicSynapseState(
                    *(tensors[f"liquid_synapse_{k}"].clone() for k in DynamicSynapseState._fields)
                )
                for key in ("liquid_spikes", "liquid_weight", "input_weight", "positions", "spike_counts"):
                    setattr(self, key, tensors[key].clone())
                self.counts_since_ms = float(tensors["counts_since_ms"])
            return
        for key in ("plastic", "weight_bound", "high_noise", "noise_scale", "watched", "spikes", "spike_counts"):
            setattr(self, key, tensors[key].clone())
        self.counts_since_ms = float(tensors["counts_since_ms"])
        self.conn = Connectivity(*(tensors[f"conn_{k}"].clone() for k in Connectivity._fields))
        self.synapse = DynamicSynapseParameters(
            *(tensors[f"synapse_{k}"].clone() for k in ("U", "D_ms", "F_ms"))  # type: ignore[arg-type]
        )
        self.eligibility = self._new_eligibility()
        self.eligibility.load({k: tensors[f"eligibility_{k}"] for k in ("y1", "y2", "last", "A", "B", "now")})

    def _state_extra(self) -> dict[str, Any]:
        return {"config": self.config.to_dict()}
