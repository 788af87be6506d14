"""FOLLOW: feedback-based online local learning of weights, for spiking forward models.

Gilra A. & Gerstner W. (2017). Predicting non-linear dynamics by stable local learning in a recurrent spiking
neural network. eLife 6:e28295. doi:10.7554/eLife.28295 (code: github.com/adityagilra/FOLLOW, Nengo 2.4)

Network: two ensembles of heterogeneous LIF neurons in the NEF style (``agents.core.nef``; tau_rc = 20 ms,
tau_ref = 2 ms, max rates U(200, 400) Hz, intercepts U(-1, 1), random unit encoders e): a feedforward one of
N_ff neurons that encodes the input u (radius 0.2), and a recurrent one of N neurons whose decoded output is the
prediction x_hat (radius R). The current into recurrent neuron i (the paper's equation in Nengo 2.4's gains)::

    J_i = sum_l w^ff_il (S^ff_l * kappa)(t) + sum_j w_ij (S_j * kappa)(t) - k nu_i e_i . (eps * kappa)(t) / R + b_i
    x_hat(t) = sum_j d_j (S_j * kappa)(t),      eps = x_hat - x * kappa_ref

with kappa a 20-ms exponential synapse on every connection, nu_i the gain, d the fixed decoders (regularised
least squares), k = 10 the feedback gain, and the reference x filtered like the output where the paper's code
filters it (van der Pol; the arm compares the raw state). Learning (paper Eq. 10, Nengo's PES), on both the
feedforward and the recurrent weights, which start at 0::

    dw_ij/dt = -eta / N_pre (nu_i e_i / R) . eps_w(t) (S_j * kappa)(t),      eps_w = eps * kappa_200ms * kappa_1ms

(eta = 2e-3 is the code's eta, the paper's eta k). The error feeds back and drives learning only while the
experimenter says so: not during the clamp that ends a trial (the env's ``info["clamped"]``; the neurons then
get a -100 current through a 1-ms synapse) and not in test phases (``feedback=False``, or ``eval()``).

Exact low-rank weights. Every update of w is the outer product of ``nu e / R`` (N x D, fixed) and a vector
over the presynaptic neurons, and w starts at 0, so ``w = (nu e / R) M`` at all times, exactly, with M a
D x N_pre matrix (D = 2 dimensions for the van der Pol oscillator, 4 for the arm). The agent stores M: the
recurrent current is ``(nu e / R) (M_ff s_ff + M s - k eps_fb) + b`` and the update ``M += -eta dt / N_pre
eps_w s^T``, O(D N) per step instead of the N^2 of the weight matrix (``weights()`` builds w when asked).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from agents.base import Agent, config_from_preset
from agents.core import BatchGenerators, decay_factor, nef_kernels
from agents.core.nef import NEFEnsemble, nef_ensemble, solve_decoders
from agents.core.neurons import NEFLIFParameters, NEFLIFState, nef_lif_init, nef_lif_step


@dataclass(frozen=True)
class FollowConfig:
    """FOLLOW's network and rule (defaults: the van der Pol script ``input_ff_rec_transform_nengo_ocl.py``)."""

    n_input_neurons: int = 3000
    """N_ff, neurons of the feedforward ensemble that encodes the input (``ratorIn``)."""
    n_neurons: int = 3000
    """N, neurons of the recurrent ensemble that predicts the state (``ratorOut``)."""
    input_radius: float = 0.2
    """Radius of the feedforward ensemble: the input range it represents (the env's observation bounds)."""
    input_gains: tuple[float, ...] = ()
    """Per observation dimension, the gain of the input's connection into the feedforward ensemble (Nengo's
    ``transform``); empty: 1 for all. A controller needs it where a small part of the observation decides the
    action: ArmReach's hand-to-target difference is a few cm in an input of radius ~1."""
    output_radius: float = 5.0
    """R, radius of the recurrent ensemble; the action is x_hat / R (set it to the env's ``output_scale``)."""
    max_rates_hz: tuple[float, float] = (200.0, 400.0)
    """Maximum rates are drawn uniformly from this range."""
    intercepts: tuple[float, float] = (-1.0, 1.0)
    """Intercepts (in units of the radius) are drawn uniformly from this range."""
    tau_rc_ms: float = 20.0
    """Membrane time constant of the LIF neurons."""
    tau_ref_ms: float = 2.0
    """Refractory period of the LIF neurons."""
    synapse_ms: float = 20.0
    """tau_s of every synaptic filter kappa: the plastic connections, the decoded output, the presynaptic trace."""
    reference_synapse_ms: float = 20.0
    """Filter of the reference before it is compared with the output (the van der Pol code: 20; the arm: 0)."""
    feedback_gain: float = 10.0
    """k, the gain of the error fed back through the recurrent ensemble's encoders."""
    feedback_synapse_ms: float = 20.0
    """Synapse of the error feedback connection."""
    error_synapse_ms: float = 200.0
    """Filter of the error that drives learning (``weightErrorTau`` = 10 tau_s; 80 ms in some runs)."""
    rule_synapse_ms: float = 1.0
    """The 1-ms synapse from the filtered error into the rule (the code's ``synapse=dt``)."""
    learning_rate: float = 2e-3
    """eta of the code (the paper's eta times k): PES's rate, divided by the presynaptic ensemble's size."""
    plastic_recurrent: bool = True
    """Whether the recurrent weights learn (the paper: both). A controller maps the state to the action, and a
    recurrent ensemble that represents the fed-back target learns to copy its own output (the target changes
    little in 20 ms), which holds the output still once the feedback is off: False leaves only the
    feedforward weights plastic."""
    learning_rate_schedule: tuple[tuple[float, float], ...] = ()
    """(learning time in s, eta) pairs: from that much learning on, eta takes that value (the README's recipe
    speeds up after 500 s: ``[[500, 0.04]]``). Learning time counts across checkpoints."""
    clamp_current: float = -100.0
    """Current into every neuron of both ensembles during a clamp (the env's ``info["clamped"]``)."""
    clamp_synapse_ms: float = 1.0
    """Synapse of the clamp current."""
    decoder_regularisation: float = 0.1
    """sigma / max rate of the least-squares decoders (Nengo's ``LstsqL2`` default)."""
    fused_cpu_step: bool = True
    """On a CPU, step the network with the fused kernel (``agents.core.nef_kernels``: the same arithmetic in one
    compiled loop, 3-4x faster); False uses the torch operations, which CUDA always uses."""
    dt_ms: float = 1.0
    """The network's step; the agent runs round(env dt / dt) steps per env step."""

    def __post_init__(self) -> None:
        for name in ("max_rates_hz", "intercepts", "input_gains"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        schedule = tuple(sorted(tuple(float(v) for v in pair) for pair in self.learning_rate_schedule))
        object.__setattr__(self, "learning_rate_schedule", schedule)
        low, high = self.max_rates_hz
        checks = {
            "n_input_neurons and n_neurons must be positive integers": all(
                isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in (self.n_input_neurons, self.n_neurons)
            ),
            "input_radius and output_radius must be > 0": self.input_radius > 0 and self.output_radius > 0,
            "max_rates_hz must be (low, high) with 0 < low <= high < 1 / tau_ref": 0 < low <= high
            and high * self.tau_ref_ms < 1000.0,
            "intercepts must be (low, high) with -1 <= low <= high <= 1": -1
            <= self.intercepts[0]
            <= self.intercepts[1]
            <= 1,
            "tau_rc_ms, synapse_ms and dt_ms must be > 0": min(self.tau_rc_ms, self.synapse_ms, self.dt_ms) > 0,
            "tau_ref_ms and the other synapses must be >= 0": min(
                self.tau_ref_ms,
                self.reference_synapse_ms,
                self.feedback_synapse_ms,
                self.error_synapse_ms,
                self.rule_synapse_ms,
                self.clamp_synapse_ms,
            )
            >= 0,
            "feedback_gain and learning_rate must be >= 0": self.feedback_gain >= 0 and self.learning_rate >= 0,
            "learning_rate_schedule must hold (time_s >= 0, eta >= 0) pairs": all(
                len(pair) == 2 and pair[0] >= 0 and pair[1] >= 0 for pair in schedule
            ),
            "decoder_regularisation must be >= 0": self.decoder_regularisation >= 0,
            "input_gains must be finite numbers": all(math.isfinite(g) for g in self.input_gains),
        }
        bad = [msg for msg, ok in checks.items() if not ok]
        if bad:
            raise ValueError("FollowConfig: " + "; ".join(bad))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FollowConfig:
        """A config from a mapping (a preset name under "preset" is applied first); unknown keys fail."""
        return config_from_preset(cls, values, PRESETS, "vanderpol", "FOLLOW")

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return [plain(v) for v in value] if isinstance(value, tuple) else value

        return {k: plain(v) for k, v in asdict(self).items()}

    def learning_rate_at(self, learned_s: float) -> float:
        """eta after ``learned_s`` seconds of learning."""
        eta = self.learning_rate
        for start_s, value in self.learning_rate_schedule:  # sorted by start
            if learned_s >= start_s:
                eta = value
        return eta


PRESETS: dict[str, FollowConfig] = {
    # Fig. 2 (input_ff_rec_transform_nengo_ocl.py): the van der Pol oscillator, 3000 + 3000 neurons, output
    # radius 5, the reference filtered like the output.
    "vanderpol": FollowConfig(),
    # Fig. 4 (input_ff_rec_robot_nengo_directu_ocl.py): the two-link arm, 5000 + 5000 neurons, output radius 1
    # (the state in the network's units), the reference compared unfiltered.
    "arm": FollowConfig(n_input_neurons=5000, n_neurons=5000, output_radius=1.0, reference_synapse_ms=0.0),
}


def _filter_coefficient(tau_ms: float, dt_ms: float) -> float:
    """``a`` of the discrete synapse ``y <- a y + (1 - a) x`` (0 for no filter)."""
    return decay_factor(tau_ms, dt_ms) if tau_ms > 0 else 0.0


class FollowAgent(Agent):
    """B FOLLOW networks, one per seed, each with its own ensembles, stepped as one computation.

    Reads ``info["target"]`` (the desired action: the reference state over R) and ``info["clamped"]`` every
    step. ``feedback`` (None: on while training, off in ``eval()``) switches the error feedback, and with it the
    error that drives learning; plasticity also needs ``train()``.

    Both ensembles step as one population of N_ff + N neurons (feedforward first): every connection delivers
    the spikes of one step at the next, the feedforward one as the recurrent ones, so all currents of a step
    are known at its start.

    Args:
        observation_space: the input u, a Box (its dimensions are the feedforward ensemble's).
        action_space: the predicted state over R, a Box within [-1, 1] (its dimensions are the recurrent one's).
        config: a ``FollowConfig``.
        seeds: one seed per network (B = len(seeds)); network b is the same whatever the batch.
        device: "cpu" or "cuda".
        env_dt_ms: the env's step; the agent runs round(env_dt_ms / dt_ms) network steps per env step.
        dtype: float64 by default: the weights sum some 10^7 updates each 10^-5 of their size.
    """

    name: ClassVar[str] = "follow"
    needs_step_info: ClassVar[bool] = True

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: FollowConfig | None = None,
        *,
        seeds: Sequence[int] = (0,),
        device: torch.device | str = "cpu",
        env_dt_ms: float | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__(observation_space, action_space, seeds=seeds, device=device, dtype=dtype)
        self.config = cfg = config or FollowConfig()
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(
                f"the FOLLOW agent predicts a state vector: it needs a 1-D Box action space, got {action_space}"
            )
        if len(observation_space.shape) != 1:
            raise ValueError(
                f"the FOLLOW agent encodes an input vector: it needs a 1-D Box observation, got {observation_space}"
            )
        self.substeps = max(1, round((env_dt_ms or cfg.dt_ms) / cfg.dt_ms))
        self.dt_s = cfg.dt_ms / 1000.0
        self.n_inputs, self.n_outputs = observation_space.shape[0], action_space.shape[0]
        if cfg.input_gains and len(cfg.input_gains) != self.n_inputs:
            raise ValueError(
                f"input_gains has {len(cfg.input_gains)} entries for an observation of {self.n_inputs}: give one per "
                "dimension, or none"
            )
        gains = cfg.input_gains or (1.0,) * self.n_inputs
        self._input_gains = torch.tensor(gains, dtype=dtype, device=self.device)[:, None]
        self.neuron = NEFLIFParameters(tau_rc_s=cfg.tau_rc_ms / 1000.0, tau_ref_s=cfg.tau_ref_ms / 1000.0)
        B, dev, n_ff, n = self.batch_size, self.device, cfg.n_input_neurons, cfg.n_neurons
        self.n_total = n_ff + n

        # Ensembles, drawn per network in a fixed order: feedforward, recurrent, then the decoders' sample points.
        self.generators = BatchGenerators(self.seeds, dev)
        ensemble = {"max_rates": cfg.max_rates_hz, "intercepts": cfg.intercepts, "neuron": self.neuron}
        self.input_ensemble = nef_ensemble(self.generators, n_ff, self.n_inputs, cfg.input_radius, **ensemble)
        self.output_ensemble = nef_ensemble(self.generators, n, self.n_outputs, cfg.output_radius, **ensemble)
        self.decoders = solve_decoders(
            self.output_ensemble, self.generators, regularisation=cfg.decoder_regularisation, neuron=self.neuron
        )  # (B, N, D), float64
        self._fused = (
            cfg.fused_cpu_step and nef_kernels.AVAILABLE and self.device.type == "cpu" and dtype == torch.float64
        )
        self._build_population()

        # The plastic factors (feedforward columns, then recurrent): w_ff = (nu e / R) M_ff, w = (nu e / R) M_rec.
        self.M = torch.zeros(B, self.n_outputs, self.n_total, dtype=dtype, device=dev)
        recurrent_norm = 1.0 / n if cfg.plastic_recurrent else 0.0
        norm = torch.cat((torch.full((n_ff,), 1.0 / n_ff, dtype=dtype), torch.full((n,), recurrent_norm, dtype=dtype)))
        self._pre_norm = norm.to(dev)[:, None]  # PES divides by the presynaptic ensemble's size (0: not plastic)
        self.learned_steps = 0  # steps with plasticity on, across checkpoints
        self._no_feedback = np.zeros((B, self.n_outputs))

        dt = cfg.dt_ms
        self._a_syn = _filter_coefficient(cfg.synapse_ms, dt)
        self._a_ref = _filter_coefficient(cfg.reference_synapse_ms, dt)
        self._a_feedback = _filter_coefficient(cfg.feedback_synapse_ms, dt)
        self._a_error = _filter_coefficient(cfg.error_synapse_ms, dt)
        self._a_rule = _filter_coefficient(cfg.rule_synapse_ms, dt)
        self._a_clamp = _filter_coefficient(cfg.clamp_synapse_ms, dt)
        self._trace_jump = (1.0 - self._a_syn) / self.dt_s  # a spike is a pulse of area 1 (height 1 / dt)
        self.feedback: bool | None = None
        self._target: np.ndarray | None = None  # the last desired action the env gave, held over substeps
        self._fresh_state()

    def _build_population(self) -> None:
        """The population's per-neuron constants from the two ensembles and the decoders."""
        B, D_in, D, n_ff, dev, dt = (
            self.batch_size, self.n_inputs, self.n_outputs, self.config.n_input_neurons, self.device, self.dtype
        )  # fmt: skip
        self._input_encoders = torch.zeros(B, self.n_total, D_in, dtype=dt, device=dev)  # u -> current
        self._input_encoders[:, :n_ff] = self.input_ensemble.scaled_encoders.to(dt)
        self._output_encoders = torch.zeros(B, self.n_total, D, dtype=dt, device=dev)  # drive z -> current
        self._output_encoders[:, n_ff:] = self.output_ensemble.scaled_encoders.to(dt)
        self._bias = torch.cat((self.input_ensemble.bias, self.output_ensemble.bias), dim=1).to(dt)[:, :, None]
        self._readout = torch.zeros(B, D, self.n_total, dtype=dt, device=dev)  # spikes (height 1/dt) -> x_hat
        self._readout[:, :, n_ff:] = self.decoders.transpose(1, 2).to(dt) / self.dt_s

    # -- state ------------------------------------------------------------------------------------------
    def _fresh_state(self) -> None:
        B, D, dev, dt = self.batch_size, self.n_outputs, self.device, self.dtype
        self.neurons: NEFLIFState = nef_lif_init(B, self.n_total, dtype=dt, device=dev)
        self.trace = torch.zeros(B, self.n_total, 1, dtype=dt, device=dev)  # S * kappa (Hz), the synaptic input
        self.prediction = torch.zeros(B, D, dtype=dt, device=dev)  # x_hat, network units
        # The error's filters, small and on the host: x * kappa_ref, eps * kappa_fb, eps * kappa_200ms, ... * kappa_1ms.
        self.reference = np.zeros((B, D))
        self.feedback_error = np.zeros((B, D))
        self.learning_error = np.zeros((B, D))
        self.rule_error = np.zeros((B, D))
        self.clamp = np.zeros(B)  # the clamp current after its synapse
        self.clamped = np.zeros(B, dtype=bool)  # the env says the coming step is clamped
        self.spike_count = torch.zeros(B, dtype=dt, device=dev)  # recurrent spikes in this episode
        self._counted_steps = np.zeros(B)
        self._error_sum = np.zeros(B)  # sum over this episode's steps of mean_alpha eps_alpha^2 (paper Fig. 2D)
        self._bind_views()

    def _reset(self, mask: Tensor) -> None:
        if bool(mask.all()):
            self._fresh_state()
            return
        index = mask.nonzero().view(-1)
        for x in (*self.neurons, self.trace, self.prediction, self.spike_count):
            x[index] = 0.0
        rows = mask.cpu().numpy()
        for name in self._HOST_STATE:
            getattr(self, name)[rows] = 0  # (clamped: False)

    @property
    def feedback_on(self) -> bool:
        """Whether the error is fed back (and can drive learning) now."""
        return self.training if self.feedback is None else bool(self.feedback)

    @property
    def M_ff(self) -> Tensor:
        """(B, D, N_ff) the feedforward weights' factor: w_ff = (nu e / R) M_ff (a view)."""
        return self.M[:, :, : self.config.n_input_neurons]

    @property
    def M_rec(self) -> Tensor:
        """(B, D, N) the recurrent weights' factor: w = (nu e / R) M_rec (a view)."""
        return self.M[:, :, self.config.n_input_neurons :]

    # -- the network ------------------------------------------------------------------------------------
    def _step(self, u: Tensor) -> None:
        """One network step with input u (B, D_in, 1), in network units."""
        cfg = self.config
        self.clamp *= self._a_clamp
        self.clamp += (1.0 - self._a_clamp) * cfg.clamp_current * self.clamped
        feedback = self.feedback_error if self.feedback_on else self._no_feedback
        if self._fused:
            view = self._views
            recurrent_drive = np.matmul(view["M"], view["trace"][:, :, None])[:, :, 0]  # M s
            nef_kernels.population_step(
                u.cpu().numpy()[:, :, 0], feedback, recurrent_drive, *(view[k] for k in self._KERNEL_ARRAYS),
                self.clamp, view["prediction"], view["spike_count"], cfg.n_input_neurons, cfg.feedback_gain, self.dt_s,
                self.neuron.tau_rc_s, self.neuron.tau_ref_s, self._a_syn, self._trace_jump,
            )  # fmt: skip
        else:
            fed_back = torch.from_numpy(feedback[:, :, None]).to(self.device, self.dtype)
            drive = torch.baddbmm(fed_back, self.M, self.trace, beta=-cfg.feedback_gain)  # z = M s - k eps_fb
            current = torch.baddbmm(self._bias, self._input_encoders, u).baddbmm_(self._output_encoders, drive)
            current = current[:, :, 0]
            if self.clamp.any():
                current = current + torch.from_numpy(self.clamp[:, None]).to(self.device, self.dtype)
            spikes, self.neurons = nef_lif_step(current, self.neurons, self.neuron, self.dt_s)
            spikes = spikes.to(self.dtype)[:, :, None]
            self.trace.mul_(self._a_syn).add_(spikes, alpha=self._trace_jump)
            self.prediction.lerp_(torch.bmm(self._readout, spikes)[:, :, 0], 1.0 - self._a_syn)
            self.spike_count.add_(spikes[:, cfg.n_input_neurons :, 0].sum(dim=1))
        self._counted_steps += 1

    _KERNEL_ARRAYS = ("trace", "v", "refractory", "input_encoders", "output_encoders", "bias", "readout")

    def _bind_views(self) -> None:
        """Numpy views (zero-copy) of the tensors the fused kernel updates in place."""
        if not self._fused:
            return
        self._views = {
            "M": self.M.numpy(),
            "trace": self.trace.numpy()[:, :, 0],
            "v": self.neurons.v.numpy(),
            "refractory": self.neurons.refractory_s.numpy(),
            "input_encoders": self._input_encoders.numpy(),
            "output_encoders": self._output_encoders.numpy(),
            "bias": self._bias.numpy()[:, :, 0],
            "readout": self._readout.numpy(),
            "prediction": self.prediction.numpy(),
            "spike_count": self.spike_count.numpy(),
            "pre_norm": self._pre_norm.numpy()[:, 0],
        }

    def _learn(self, target: np.ndarray) -> None:
        """The error of the step just taken, its filters and, in training, the weight update."""
        cfg = self.config
        state = target * cfg.output_radius
        if self._a_ref:
            self.reference *= self._a_ref
            self.reference += (1.0 - self._a_ref) * state
        else:
            self.reference[:] = state
        active = (~self.clamped & self.feedback_on)[:, None]
        error = self.prediction.cpu().numpy() - self.reference
        self._error_sum += np.mean(error * error, axis=1)
        error *= active
        for filtered, a in ((self.feedback_error, self._a_feedback), (self.learning_error, self._a_error)):
            filtered *= a
            filtered += (1.0 - a) * error
        self.rule_error *= self._a_rule
        self.rule_error += (1.0 - self._a_rule) * self.learning_error * active
        if not self.training:
            return
        eta = cfg.learning_rate_at(self.learned_steps * self.dt_s)
        self.learned_steps += 1
        if eta == 0.0 or not self.rule_error.any():
            return
        # PES: dw_ij = -eta dt / N_pre (nu e_i / R) . eps_w s_j, i.e. dM = -eta dt eps_w (s / N_pre)^T.
        if self._fused:
            view = self._views
            nef_kernels.pes_update(view["M"], self.rule_error, view["trace"], view["pre_norm"], -eta * self.dt_s)
            return
        rule_error = torch.from_numpy(self.rule_error[:, :, None]).to(self.device, self.dtype)
        self.M.baddbmm_(rule_error, (self.trace * self._pre_norm).transpose(1, 2), alpha=-eta * self.dt_s)

    # -- Agent hooks ------------------------------------------------------------------------------------
    def _act(self, obs: Tensor, deterministic: bool) -> Tensor:
        u = obs.to(self.dtype).reshape(self.batch_size, self.n_inputs, 1) * self._input_gains
        for k in range(self.substeps):
            if k and self._target is not None:
                self._learn(self._target)  # the env's target is known only at its steps: held between them
            self._step(u)
        return (self.prediction / self.config.output_radius).to(torch.float32)

    def _observe(
        self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, info: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        if "target" not in info:
            raise ValueError("FOLLOW learns from info['target'] (the reference state over R); the env gave none")
        target = np.asarray(info["target"], dtype=np.float64).reshape(self.batch_size, self.n_outputs)
        self._target = np.nan_to_num(target) if np.isnan(target).any() else target  # NaN: a sub-env said nothing
        if "clamped" in info:
            self.clamped = np.asarray(info["clamped"], dtype=bool).reshape(self.batch_size)
        self._learn(self._target)
        return {}

    # -- reporting and checkpoints ------------------------------------------------------------------------
    @property
    def learned_s(self) -> float:
        """Simulated seconds of learning so far (the paper's continueTmax when continuing)."""
        return self.learned_steps * self.dt_s

    def weights(self) -> tuple[Tensor, Tensor]:
        """The feedforward (B, N, N_ff) and recurrent (B, N, N) weights w_ij (post i, pre j), built from M."""
        encoders = self.output_ensemble.scaled_encoders.to(self.dtype)
        return torch.bmm(encoders, self.M_ff), torch.bmm(encoders, self.M_rec)

    def metrics(self) -> dict[str, np.ndarray]:
        """Per network, in the episode so far: the mean squared error the network sees, ``mean_alpha eps_alpha^2``
        with ``eps = x_hat - x * kappa_ref`` in network units (the paper's Fig. 2D, feedback on while learning),
        the recurrent ensemble's mean rate (Hz); and the learning time (s) and the mean |w| of the recurrent
        weights onto the first 100 recurrent neurons."""
        steps = np.maximum(self._counted_steps, 1.0)
        rate = self.spike_count.cpu().numpy() / (steps * self.dt_s * self.config.n_neurons)
        encoders = self.output_ensemble.scaled_encoders[:, :100].to(self.dtype)
        return {
            "learned_s": np.full(self.batch_size, self.learned_s),
            "error_mse": self._error_sum / steps,
            "rate_hz": rate,
            "recurrent_weight_abs_mean": torch.bmm(encoders, self.M_rec).abs().mean(dim=(1, 2)).cpu().numpy(),
        }

    def plastic_weights(self) -> np.ndarray:
        """All feedforward and recurrent weights onto the first 100 recurrent neurons, per network."""
        encoders = self.output_ensemble.scaled_encoders[:, :100].to(self.dtype)
        return torch.bmm(encoders, self.M).flatten(1).cpu().numpy()

    _HOST_STATE = (
        "reference", "feedback_error", "learning_error", "rule_error",
        "clamp", "clamped", "_counted_steps", "_error_sum",
    )  # fmt: skip
    """The small per-network state kept as numpy arrays on the host (the error's filters, the clamp)."""

    def _state_tensors(self) -> dict[str, Tensor]:
        host = {name: torch.from_numpy(np.array(getattr(self, name))) for name in self._HOST_STATE}
        return {
            "M": self.M,
            **{f"input_{k}": getattr(self.input_ensemble, k) for k in ("encoders", "gain", "bias")},
            **{f"output_{k}": getattr(self.output_ensemble, k) for k in ("encoders", "gain", "bias")},
            "decoders": self.decoders,
            "v": self.neurons.v,
            "refractory": self.neurons.refractory_s,
            "trace": self.trace,
            "prediction": self.prediction,
            "spike_count": self.spike_count,
            **host,
            "generators": self.generators.get_state(),
        }

    def _load_tensors(self, tensors: Mapping[str, Tensor]) -> None:
        for name in ("input", "output"):
            ensemble: NEFEnsemble = getattr(self, f"{name}_ensemble")
            for part in ("encoders", "gain", "bias"):
                if not torch.equal(tensors[f"{name}_{part}"].to(getattr(ensemble, part)), getattr(ensemble, part)):
                    raise ValueError(
                        f"the checkpoint's {name} ensemble differs from this agent's ({part}): it was built with "
                        "other ensemble parameters (sizes, rates, intercepts, radius) or another version"
                    )
        for name in ("M", "trace", "prediction", "spike_count", "decoders"):
            getattr(self, name).copy_(tensors[name])
        self._build_population()
        self.neurons = NEFLIFState(tensors["v"].clone(), tensors["refractory"].clone())
        self._bind_views()
        for name in self._HOST_STATE:
            setattr(self, name, tensors[name].cpu().numpy().copy())
        self.generators.set_state(tensors["generators"])

    def _state_extra(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "learned_steps": self.learned_steps,
            "feedback": self.feedback,
            "target": None if self._target is None else torch.from_numpy(self._target.copy()),
        }

    def _load_extra(self, extra: Mapping[str, Any]) -> None:
        self.learned_steps = int(extra.get("learned_steps", 0))
        self.feedback = extra.get("feedback")
        target = extra.get("target")
        self._target = None if target is None else torch.as_tensor(target).numpy().astype(np.float64)


__all__ = ["PRESETS", "FollowAgent", "FollowConfig"]
