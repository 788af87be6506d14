"""GOAL: one rule from error-based to target-based learning in recurrent spiking networks.

Capone C., Muratore P. & Paolucci P.S. (2022). Error-based or target-based? A unified framework for learning
in recurrent spiking networks. PLoS Comput Biol 18(6): e1010221. doi:10.1371/journal.pcbi.1010221

Network: N discrete-time leaky integrate-and-fire neurons, one step = dt, time constants in steps::

    s_j(t+1) = beta_s s_j(t) + (1 - beta_s) z_j(t)                 filtered spikes feed the recurrence
    e_j(t+1) = beta_m e_j(t) + (1 - beta_m) s_j(t+1)               presynaptic eligibility trace
    I_i      = sum_k x_k W_in[k, i] + sum_j s_j(t+1) W[j, i] + b  (+ the teacher drive while building targets)
    v_i(t+1) = beta_m v_i(t) + (1 - beta_m) I_i + v_reset z_i(t)  (the reset is an additive current)
    z_i(t+1) = [v_i(t+1) > 0]
    r(t)     = beta_o r(t-1) + (1 - beta_o) z(t),    y(t) = r(t) W_out

with ``beta_x = exp(-1 / tau_x)``; tau_m = 8, tau_s = 2, tau_o = 5 steps; v(0) = -4, b = -4, v_reset = -20;
W_in ~ 22 N(0, 1), W (recurrent, presynaptic-major) starts at 0, W_out ~ N(0, 1) / sqrt(N). The output at
step t is the readout of the spikes up to step t; the input of step t reaches the network at step t + 1.

Protocol (GOAL's ``train``):

1. **Target spikes.** The first training episode drives the untrained network (W = 0) with the clock plus
   the teacher drive ``y*(t) W_trg``, ``W_trg ~ 8 N(0, 1)`` (O x N); its spikes are the target raster z*.
2. **Readout**, ``readout_epochs`` full-batch steps on the target spikes filtered with tau_o::

       W_out += eta_out sum_t r*(t)^T (y*(t) - r*(t) W_out)

   The MSE reached is the readout limit.
3. **Feedback matrix** of rank R from the trained readout: ``B ~ N(0, (2 std W_out)^2)`` (N x N) with its
   first O columns replaced by W_out, ``D = B_R B_R^T`` with B_R its first R columns. R = None is LTTS:
   ``D = mean(diag(B B^T)) I``.
4. **Recurrent learning**, online at every step of every later training episode (the clock alone)::

       s^(t) = beta_* s^(t-1) + (1 - beta_*) z(t),    s*^ the same filter of z*,    beta_* = exp(-1 / tau_*)
       delta_i(t) = [(s*^(t) - s^(t)) D]_i sigma'(v_i(t)),     sigma'(v) = sigmoid(v) (1 - sigmoid(v))
       W[j, i] += eta_rec e_j(t) delta_i(t),     W[i, i] = 0

The two parameters place a rule in the paper's plane (Fig. 1C): the feedback rank R (R = O: the output error
fed back through W_out, error-based; R = N or LTTS: target-based) and the target timescale tau_* (small:
spike-precise; large: rate-level). The corners are the presets ``ltts``, ``full-force`` and ``e-prop``.
GOAL's code has one constant for both the readout filter and tau_* (its ``-To``; its map sets it to tau_*):
here ``target_timescale = None`` ties tau_* to ``tau_o``, a number sets it alone.

Two updates: ``"online"`` changes W at every step, as GOAL's code does; ``"episode"`` sums the same
``e_j delta_i`` over the episode and applies it at its end (one matrix product).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from agents.base import Agent, config_from_preset
from agents.core import BatchGenerators, decay_factor

UPDATES = ("online", "episode")
PerNetwork = Any  # a value, or a sequence of one value per network
PER_NETWORK_FIELDS = ("feedback_rank", "target_timescale", "tau_o")
"""Fields that take one value per network (a tuple of length B) so that one batch can hold many settings."""


@dataclass(frozen=True)
class GOALConfig:
    """GOAL's network and rule (defaults: GOAL's ``src/train.py``; its CLI flag in brackets)."""

    n_units: int = 150
    """N, recurrent LIF neurons [-N]."""
    feedback_rank: PerNetwork = None
    """R, rank of the feedback matrix D, an integer in [O, N]; "full" = N, "outputs" = O; None = LTTS
    (diagonal D) [-R]. A tuple gives one per network."""
    target_timescale: PerNetwork = None
    """tau_*, in steps, of the filter the spike error is measured through; None = tau_o (GOAL's code)."""
    tau_m: float = 8.0
    """Membrane (and eligibility) time constant, steps [-Tm]."""
    tau_s: float = 2.0
    """Synaptic time constant of the recurrent input, steps [-Ts]."""
    tau_o: PerNetwork = 5.0
    """Readout filter time constant, steps [-To]."""
    sigma_input: float = 22.0
    """W_in ~ sigma_input N(0, 1) [-Si]."""
    sigma_target: float = 8.0
    """W_trg ~ sigma_target N(0, 1): the teacher drive y* W_trg [-St]."""
    sigma_recurrent: float = 0.0
    """W(0) ~ sigma_recurrent N(0, 1); GOAL starts from 0."""
    v0: float = -4.0
    """Membrane potential at the start of each episode [-Vo]."""
    bias: float = -4.0
    """b, constant input current [-B]."""
    reset: float = -20.0
    """v_reset, the current added after a spike [-rst]."""
    threshold: float = 0.0
    """Spike when v > threshold."""
    recurrent_lr: float | None = None
    """eta_rec; None = 5 / sqrt(N) [-Rlr]."""
    readout_lr: float = 0.0025
    """eta_out of the readout's full-batch steps [-Olr]."""
    readout_epochs: int = 5000
    """Readout steps on the target spikes [-E, first value]; the recurrent epochs are the run's episodes."""
    resample: bool = False
    """Draw a new random part of the feedback matrix at every step (not for LTTS) [--resample]."""
    update: str = "online"
    """"online": W changes every step (GOAL); "episode": the same terms summed and applied at episode end."""
    output_scale: float = 3.0
    """The env's output per unit action (spikegym/Trajectory-v0: y = 3 action); targets and MSE in y."""
    dt_ms: float = 1.0
    """One network step; must equal the env's step [-dt, in seconds there]."""

    def __post_init__(self) -> None:
        for name in PER_NETWORK_FIELDS:
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        checks = {
            "n_units must be >= 2": isinstance(self.n_units, int) and self.n_units >= 2,
            "tau_m and tau_s must be > 0": self.tau_m > 0 and self.tau_s > 0,
            "tau_o and target_timescale must be > 0 (or None for target_timescale)": all(
                v is None or (isinstance(v, (int, float)) and v > 0)
                for name in ("tau_o", "target_timescale")
                for v in _values(getattr(self, name))
            ),
            "tau_o must not be None": all(v is not None for v in _values(self.tau_o)),
            "recurrent_lr must be None or >= 0": self.recurrent_lr is None or self.recurrent_lr >= 0,
            "readout_lr must be >= 0": self.readout_lr >= 0,
            "readout_epochs must be a non-negative integer": isinstance(self.readout_epochs, int)
            and self.readout_epochs >= 0,
            f"update must be one of {UPDATES}": self.update in UPDATES,
            "output_scale and dt_ms must be > 0": self.output_scale > 0 and self.dt_ms > 0,
            'feedback_rank must be None, an integer, "full" or "outputs"': all(
                v is None or v in ("full", "outputs") or (isinstance(v, int) and not isinstance(v, bool))
                for v in _values(self.feedback_rank)
            ),
        }
        bad = [msg for msg, ok in checks.items() if not ok]
        if bad:
            raise ValueError("GOALConfig: " + "; ".join(bad))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> GOALConfig:
        """A config from a mapping (a preset name under "preset" is applied first); unknown keys fail."""
        return config_from_preset(cls, values, PRESETS, "ltts", "GOAL")

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def _values(value: PerNetwork) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


PRESETS: dict[str, GOALConfig] = {
    # The corners of the paper's (R, tau_*) plane (Fig. 1C). LTTS: diagonal feedback, spike-precise target
    # (GOAL's defaults: -R None, tau_* = -To = 5 steps).
    "ltts": GOALConfig(),
    # full-FORCE: full-rank feedback, rate-level target (tau_* long against the 2-8 step neuron constants).
    "full-force": GOALConfig(feedback_rank="full", target_timescale=60.0),
    # e-prop: the output error fed back through the readout (R = O), rate-level.
    "e-prop": GOALConfig(feedback_rank="outputs", target_timescale=60.0),
}

# GOAL's command-line flags (src/train.py) and where each lives here.
PAPER_ARGUMENTS: dict[str, str] = {
    "-N, -n_rec": "agent_config n_units",
    "-I, -n_inp": "env_kwargs n_inputs",
    "-O, -n_out": "env_kwargs n_outputs",
    "-T, -t_seq": "env_kwargs n_steps",
    "-E, -epochs (readout, recurrent)": "agent_config readout_epochs; --episodes = recurrent epochs + 1",
    "-R, -rank": "agent_config feedback_rank (null = LTTS)",
    "-Rlr, -rec_lr": "agent_config recurrent_lr (null = 5 / sqrt(N))",
    "-Olr, -out_lr": "agent_config readout_lr",
    "-Tm, -tau_m": "agent_config tau_m",
    "-Ts, -tau_s": "agent_config tau_s",
    "-To, -tau_o": "agent_config tau_o (and tau_* while target_timescale is null)",
    "-Si, -sigma_inp": "agent_config sigma_input",
    "-St, -sigma_trg": "agent_config sigma_target",
    "-Vo": "agent_config v0",
    "-B, -bias": "agent_config bias",
    "-rst, -reset": "agent_config reset",
    "-dt": "env_kwargs dt_ms and agent_config dt_ms (in ms here, seconds there)",
    "--resample": "agent_config resample",
}


def exponential_filter(x: Tensor, beta: Tensor | float) -> Tensor:
    """``out(t) = beta out(t-1) + (1 - beta) x(t)`` from ``out(-1) = 0`` along dim 1 of ``x`` (B, T, ...);
    ``beta`` a float or (B,) per network."""
    beta = torch.as_tensor(beta, dtype=x.dtype, device=x.device).reshape(-1, *[1] * (x.dim() - 2))
    out = torch.empty_like(x)
    state = torch.zeros(x.shape[0], *x.shape[2:], dtype=x.dtype, device=x.device)
    for t in range(x.shape[1]):
        state = beta * state + (1 - beta) * x[:, t]
        out[:, t] = state
    return out


def feedback_matrix(readout: Tensor, noise: Tensor, rank: Tensor) -> Tensor:
    """GOAL's feedback matrix D (B, N, N) per network (``OptSpike.build``).

    Args:
        readout: W_out, (B, N, O).
        noise: standard normal (B, N, N): ``B = 2 std(W_out) noise`` with its first O columns set to W_out.
        rank: (B,) integers; R >= O gives ``D = B[:, :R] B[:, :R]^T`` (rank R), 0 gives LTTS's
            ``D = mean(diag(B B^T)) I``.
    """
    n_batch, n, n_out = readout.shape
    std = readout.reshape(n_batch, -1).std(dim=1)  # torch.std: unbiased, as GOAL's W_ho.std()
    b = noise * (2 * std)[:, None, None]
    b[:, :, :n_out] = readout
    kept = (torch.arange(n, device=readout.device)[None] < rank[:, None]).to(readout.dtype)  # (B, N)
    b_rank = b * kept[:, None, :]
    d = torch.bmm(b_rank, b_rank.transpose(1, 2))
    ltts = rank == 0
    if bool(ltts.any()):
        scale = (b[ltts] ** 2).sum(dim=2).mean(dim=1)  # mean of diag(B B^T)
        d[ltts] = scale[:, None, None] * torch.eye(n, dtype=readout.dtype, device=readout.device)
    return d


class GOALAgent(Agent):
    """B GOAL networks, one per seed (each with its own R and tau_* if the config gives tuples), in lockstep.

    All networks start and end their episodes together (a vector env of equal episodes, or one env).
    The first training episode builds the target spikes and trains the readout; every later training
    episode is one recurrent epoch. ``train_episodes`` runs the same computation without an env.

    Args:
        observation_space, action_space: the single env's spaces (a Box within [-1, 1] for the actions).
        config: a ``GOALConfig``.
        seeds: one seed per network.
        device: "cpu" or "cuda".
        env_dt_ms: the env's step; it must equal ``config.dt_ms``.
    """

    name: ClassVar[str] = "goal"
    needs_step_info: ClassVar[bool] = True

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: GOALConfig | None = None,
        *,
        seeds: Sequence[int] = (0,),
        device: torch.device | str = "cpu",
        env_dt_ms: float | None = None,
    ) -> None:
        super().__init__(observation_space, action_space, seeds=seeds, device=device)
        self.config = cfg = config or GOALConfig()
        if not isinstance(action_space, spaces.Box) or np.any(action_space.low > -1) or np.any(action_space.high < 1):
            raise ValueError(f"the GOAL agent needs a Box action space covering [-1, 1], got {action_space}")
        if env_dt_ms is not None and abs(env_dt_ms - cfg.dt_ms) > 1e-9:
            raise ValueError(
                f"GOAL's network steps once per env step: the env's dt is {env_dt_ms} ms, the agent's "
                f"{cfg.dt_ms} ms; set agent_config dt_ms to {env_dt_ms}"
            )
        B, N, dev, dt = self.batch_size, cfg.n_units, self.device, self.dtype
        self.n_inputs = int(np.prod(observation_space.shape))
        self.n_outputs = int(np.prod(action_space.shape))
        self.ranks = torch.tensor([self._rank(r) for r in self._per_network("feedback_rank")], device=dev)
        tau_o = [float(v) for v in self._per_network("tau_o")]
        tau_star = [
            t if v is None else float(v) for v, t in zip(self._per_network("target_timescale"), tau_o, strict=True)
        ]
        self.tau_o = torch.tensor(tau_o, dtype=dt, device=dev)
        self.target_timescale = torch.tensor(tau_star, dtype=dt, device=dev)
        self.beta_m, self.beta_s = decay_factor(cfg.tau_m, 1.0), decay_factor(cfg.tau_s, 1.0)
        self.beta_o = torch.exp(-1.0 / self.tau_o)[:, None]  # (B, 1)
        self.beta_star = torch.exp(-1.0 / self.target_timescale)[:, None]
        self._one_minus_beta_o, self._one_minus_beta_star = 1 - self.beta_o, 1 - self.beta_star
        self.recurrent_lr = 5.0 / math.sqrt(N) if cfg.recurrent_lr is None else float(cfg.recurrent_lr)

        self.generators = BatchGenerators(self.seeds, dev)
        g = self.generators
        self.W_in = (g.normal(self.n_inputs, N) * cfg.sigma_input).to(dt)
        self.W = (g.normal(N, N) * cfg.sigma_recurrent).to(dt)  # W[b, j, i]: presynaptic j -> postsynaptic i
        self.W.diagonal(dim1=1, dim2=2).zero_()
        self.W_out = (g.normal(N, self.n_outputs) / math.sqrt(N)).to(dt)
        self.W_target = (g.normal(self.n_outputs, N) * cfg.sigma_target).to(dt)
        self.D = torch.zeros(B, N, N, dtype=dt, device=dev)

        # Neuron state and traces, (B, N); the episode's step t (all networks in lockstep).
        self.v = torch.full((B, N), cfg.v0, dtype=dt, device=dev)
        self.z = torch.zeros(B, N, dtype=dt, device=dev)
        self.s = torch.zeros_like(self.z)  # filtered spikes (tau_s)
        self.e = torch.zeros_like(self.z)  # eligibility (tau_m)
        self.r = torch.zeros_like(self.z)  # readout filter (tau_o)
        self.r_star = torch.zeros_like(self.z)  # the spikes through tau_*
        self.u = torch.zeros_like(self.z)  # the recurrent input s W while W is fixed over an episode
        self._fixed_weights = True
        self.t = 0
        self._pending: Tensor | None = None  # the input of step t, integrated at step t + 1
        self._zero_drive = torch.zeros(B, 1, N, dtype=dt, device=dev)

        # Targets (empty until the first training episode has built them).
        self.phase = "teacher"
        self.target_spikes = torch.zeros(B, 0, N, dtype=dt, device=dev)  # z*, (B, T, N)
        self.target_trace = torch.zeros(B, 0, N, dtype=dt, device=dev)  # z* through tau_*
        self.target_outputs = torch.zeros(B, 0, self.n_outputs, dtype=dt, device=dev)  # y*, (B, T, O)
        self.readout_mse = torch.full((B,), float("nan"), dtype=dt, device=dev)
        self.readout_only_mse = torch.full((B,), float("nan"), dtype=dt, device=dev)
        self.readout_only_spike_error = torch.full((B,), float("nan"), dtype=dt, device=dev)
        self.spike_error = torch.full((B,), float("nan"), dtype=dt, device=dev)
        self._spike_error = torch.zeros(B, dtype=dt, device=dev)
        self._recording = False
        self._recorded_z: list[Tensor] = []
        self._recorded_y: list[Tensor] = []
        self._recorded_x: list[Tensor] = []
        self._episode_terms: list[tuple[Tensor, ...]] | None = None  # update="episode": (e, error, sigma') per step

    # -- configuration helpers -------------------------------------------------------------------
    def _per_network(self, name: str) -> list[Any]:
        value = getattr(self.config, name)
        if isinstance(value, tuple):
            if len(value) != self.batch_size:
                raise ValueError(f"{name} has {len(value)} values for {self.batch_size} networks: give one per seed")
            return list(value)
        return [value] * self.batch_size

    def _rank(self, rank: Any) -> int:
        """The feedback rank as an integer; 0 for LTTS."""
        n, n_out = self.config.n_units, self.n_outputs
        if rank is None:
            return 0
        rank = {"full": n, "outputs": n_out}.get(rank, rank)
        if not n_out <= rank <= n:
            raise ValueError(f"feedback_rank must be in [O, N] = [{n_out}, {n}] (or None for LTTS), got {rank}")
        return int(rank)

    # -- the network -----------------------------------------------------------------------------
    def _fresh_state(self, fixed_weights: bool = True) -> None:
        self.v.fill_(self.config.v0)
        for x in (self.z, self.s, self.e, self.r, self.r_star, self.u):
            x.zero_()
        self._fixed_weights = fixed_weights
        self.t = 0
        self._spike_error.zero_()
        self._pending = None

    def _integrate(self, input_current: Tensor, drive: Tensor) -> None:
        """One network step (the paper's LIF) from input current ``x W_in`` (B, 1, N) and a drive (B, 1, N)."""
        cfg = self.config
        self.s.mul_(self.beta_s).add_(self.z, alpha=1 - self.beta_s)
        self.e.mul_(self.beta_m).add_(self.s, alpha=1 - self.beta_m)
        if self._fixed_weights:
            # With W fixed over the episode, s W obeys the same filter as s: u <- beta_s u + (1 - beta_s) z W,
            # and z W sums only the rows of the neurons that spiked (a few percent of them).
            self.u.mul_(self.beta_s).add_(self._spiking_rows(), alpha=1 - self.beta_s)
            current = (input_current + drive)[:, 0] + self.u + cfg.bias
        else:
            current = torch.baddbmm(input_current + drive, self.s[:, None], self.W)[:, 0] + cfg.bias
        self.v.mul_(self.beta_m).add_(current, alpha=1 - self.beta_m).add_(self.z, alpha=cfg.reset)
        torch.gt(self.v, cfg.threshold, out=self._spike_buffer())
        self.z.copy_(self._spikes)
        self.r.mul_(self.beta_o).addcmul_(self.z, self._one_minus_beta_o)
        self.t += 1

    def _spiking_rows(self) -> Tensor:
        """z W, (B, N), from the rows of W of the neurons that spiked."""
        flat = torch.nonzero(self.z.view(-1)).view(-1)  # b N + j for each spiking neuron j of network b
        rows = self.W.view(-1, self.config.n_units).index_select(0, flat)
        network = flat.div_(self.config.n_units, rounding_mode="floor")
        return torch.zeros_like(self.u).index_add_(0, network, rows)

    def _spike_buffer(self) -> Tensor:
        if getattr(self, "_spikes", None) is None or self._spikes.shape != self.v.shape:
            self._spikes = torch.empty(self.v.shape, dtype=torch.bool, device=self.device)
        return self._spikes

    def _learn(self, learn: bool) -> None:
        """The spike error of step t and, if ``learn``, GOAL's update of W from it."""
        t = self.t
        if t >= self.target_spikes.shape[1]:
            raise RuntimeError(
                f"the episode is longer than the {self.target_spikes.shape[1]} steps of the target spikes: "
                "GOAL learns one trajectory of fixed length"
            )
        if self._episode_terms is not None and not self.config.resample:
            # update="episode": the rest waits for the episode's end, where it is a few products over all steps.
            self._episode_terms.append((self.e.clone(), self.v.clone(), self.z.clone()))
            return
        self._spike_error += (self.target_spikes[:, t] - self.z).abs_().sum(dim=1)
        if not learn:
            return
        self.r_star.mul_(self.beta_star).addcmul_(self.z, self._one_minus_beta_star)
        if self.config.resample:
            self._build_feedback(resampled_only=True)
        error = self.target_trace[:, t] - self.r_star
        sig = torch.sigmoid(self.v)
        pseudo = sig.mul_(1 - sig)
        delta = torch.bmm(error[:, None], self.D)[:, 0].mul_(pseudo)
        if self._episode_terms is not None:
            self._episode_terms.append((self.e.clone(), delta))
            return
        self.W.baddbmm_(self.e[:, :, None], delta[:, None], alpha=self.recurrent_lr)
        self.W.diagonal(dim1=1, dim2=2).zero_()

    def _apply_episode_update(self) -> None:
        """update="episode": W += eta_rec sum_t e(t)^T delta(t), one product over the episode's steps."""
        terms = self._episode_terms
        self._episode_terms = None
        if not terms:
            return
        eligibility = torch.stack([term[0] for term in terms], dim=1)  # (B, T, N)
        if len(terms[0]) == 2:  # resampled feedback: the deltas were computed step by step
            delta = torch.stack([term[1] for term in terms], dim=1)
        else:  # (e, v, z) of steps 1 .. t: the spike error, s^ through tau_*, delta, all at once
            v, z = (torch.stack([term[k] for term in terms], dim=1) for k in (1, 2))
            steps = slice(self.t - len(terms) + 1, self.t + 1)
            self._spike_error += (self.target_spikes[:, steps] - z).abs_().sum(dim=(1, 2))
            error = self.target_trace[:, steps] - exponential_filter(z, self.beta_star[:, 0])
            sig = torch.sigmoid(v)
            delta = torch.bmm(error, self.D).mul_(sig.mul_(1 - sig))
        self.W.baddbmm_(eligibility.transpose(1, 2), delta, alpha=self.recurrent_lr)
        self.W.diagonal(dim1=1, dim2=2).zero_()

    def _output(self) -> Tensor:
        """y(t) = r(t) W_out, (B, O), in the env's output units."""
        return torch.bmm(self.r[:, None], self.W_out)[:, 0]

    def _teacher_drive(self, t: int) -> Tensor:
        return torch.bmm(self._recorded_y[t][:, None], self.W_target)

    def _episode_start(self) -> None:
        online = self.training and self.phase == "recurrent" and self.config.update == "online"
        self._fresh_state(fixed_weights=not online)
        self._recording = self.training and self.phase == "teacher"
        self._recorded_z, self._recorded_y = ([self.z.clone()], []) if self._recording else ([], [])
        self._recorded_x = []
        learning = self.training and self.phase == "recurrent"
        self._episode_terms = [] if learning and self.config.update == "episode" else None

    def _step(self, input_current: Tensor) -> None:
        """Integrate the pending input (with the teacher drive while recording), then learn or record."""
        drive = self._teacher_drive(self.t) if self._recording else self._zero_drive
        self._integrate(input_current, drive)
        if self._recording:
            self._recorded_z.append(self.z.clone())
        elif self.phase == "recurrent":
            self._learn(self.training)

    # -- learning between episodes -----------------------------------------------------------------
    def _end_episode(self) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        if self._recording:
            self._recording = False
            self._build_targets(
                torch.stack(self._recorded_z, dim=1),
                torch.stack(self._recorded_y, dim=1),
                torch.bmm(torch.stack(self._recorded_x, dim=1), self.W_in),
            )
            self._recorded_z, self._recorded_y, self._recorded_x = [], [], []
            metrics["readout_mse"] = self.readout_mse.cpu().numpy()
            metrics["readout_only_mse"] = self.readout_only_mse.cpu().numpy()
        elif self.phase == "recurrent":
            if self._episode_terms is not None:
                self._apply_episode_update()
            self.spike_error = self._spike_error.clone()
            metrics["spike_error"] = self.spike_error.cpu().numpy()
        return metrics

    def _build_targets(self, spikes: Tensor, outputs: Tensor, currents: Tensor) -> None:
        """Steps 1-3 of the protocol from the teacher episode: z* (B, T, N), y* (B, T, O) and the input
        currents of its steps (B, T - 1, N); then one episode without learning gives the readout-only MSE."""
        T = min(spikes.shape[1], outputs.shape[1])
        spikes, outputs = spikes[:, :T].contiguous(), outputs[:, :T].contiguous()
        self.target_spikes, self.target_outputs = spikes, outputs
        self.target_trace = exponential_filter(spikes, self.beta_star[:, 0])
        filtered = exponential_filter(spikes, self.beta_o[:, 0])
        filtered_t = filtered.transpose(1, 2).contiguous()
        self._check_readout_step(filtered_t, T)
        for _ in range(self.config.readout_epochs):
            residual = outputs - torch.bmm(filtered, self.W_out)
            self.W_out.baddbmm_(filtered_t, residual, alpha=self.config.readout_lr)
        self.readout_mse = ((outputs - torch.bmm(filtered, self.W_out)) ** 2).mean(dim=(1, 2))
        self._build_feedback()
        self.phase = "recurrent"
        self.readout_only_mse, self.readout_only_spike_error = self._replay(currents)

    def _check_readout_step(self, filtered_t: Tensor, T: int) -> None:
        """Full-batch gradient descent on the readout's squared error converges only while readout_lr is below
        2 / lambda_max(sum_t r(t) r(t)^T); past it W_out grows without bound (NaN in a few hundred steps), as on
        episodes much longer than GOAL's T = 150 steps (the sum runs over the steps)."""
        cfg = self.config
        if not (cfg.readout_epochs and cfg.readout_lr > 0):
            return
        curvature = torch.linalg.eigvalsh(torch.bmm(filtered_t, filtered_t.transpose(1, 2)).double())[:, -1].max()
        limit = 2.0 / float(curvature)
        if cfg.readout_lr >= limit:
            raise ValueError(
                f"readout_lr = {cfg.readout_lr:g} makes the readout's gradient descent diverge on these target spikes "
                f"({T} steps): it converges for readout_lr < {limit:.3g}; GOAL's 0.0025 is set for episodes of "
                f"~150 steps. Set agent_config readout_lr (e.g. {limit / 2:.2g})."
            )

    def _replay(self, currents: Tensor) -> tuple[Tensor, Tensor]:
        """MSE and spike error (B,) of one episode of input currents (B, T - 1, N), plasticity off."""
        self._fresh_state()
        outputs = [self._output()]
        for t in range(currents.shape[1]):
            self._integrate(currents[:, t : t + 1], self._zero_drive)
            self._learn(False)
            outputs.append(self._output())
        y = torch.stack(outputs, dim=1)
        mse = ((y - self.target_outputs[:, : y.shape[1]]) ** 2).mean(dim=(1, 2))
        spike_error = self._spike_error.clone()
        self._fresh_state()
        return mse, spike_error

    def _build_feedback(self, resampled_only: bool = False) -> None:
        """D from the trained readout, with fresh random columns from each network's generator."""
        noise = self.generators.normal(self.config.n_units, self.config.n_units).to(self.dtype)
        if not resampled_only:
            self.D = feedback_matrix(self.W_out, noise, self.ranks)
            return
        ranked = self.ranks > 0  # LTTS's diagonal is never resampled, as in GOAL
        if bool(ranked.any()):
            self.D[ranked] = feedback_matrix(self.W_out[ranked], noise[ranked], self.ranks[ranked])

    # -- Agent hooks -----------------------------------------------------------------------------
    def _reset(self, mask: Tensor) -> None:
        if bool(mask.all()):
            self._episode_start()
        elif bool(mask.any()):
            raise ValueError(
                "the GOAL agent steps its networks in lockstep: reset all of them together (every copy of the "
                "trajectory episode has the same length)"
            )

    def _act(self, obs: Tensor, deterministic: bool) -> Tensor:
        if self._pending is not None:
            if self._recording:
                self._recorded_x.append(self._pending)
            self._step(torch.bmm(self._pending[:, None], self.W_in))
        self._pending = obs.reshape(self.batch_size, -1)
        return self._output() / self.config.output_scale

    def _observe(
        self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, info: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        if self._recording:
            if "target" not in info:
                raise ValueError("GOAL learns from info['target'] (the desired action of each step); the env gave none")
            target = torch.as_tensor(info["target"], dtype=self.dtype, device=self.device).reshape(self.batch_size, -1)
            self._recorded_y.append(target * self.config.output_scale)
        done = terminated | truncated
        if done.any():
            if not done.all():
                raise ValueError("the GOAL agent's networks must end their episodes together")
            return self._end_episode()
        return {}

    # -- the fast path -----------------------------------------------------------------------------
    def train_episodes(
        self,
        inputs: np.ndarray | Tensor,
        targets: np.ndarray | Tensor,
        epochs: int,
        callback: Callable[[int, dict[str, np.ndarray]], None] | None = None,
    ) -> dict[str, np.ndarray]:
        """Whole episodes without an env: the same computation as the step-by-step path, faster.

        If no targets are built yet, the first episode is the teacher episode (as the first training
        episode in an env); then ``epochs`` recurrent epochs follow.

        Args:
            inputs: the observations of one episode, (T, I) for all networks or (B, T, I).
            targets: the desired actions (the env's ``info["target"]``), (T, O) or (B, T, O).
            epochs: recurrent epochs.
            callback: called after each epoch with its index and that epoch's ``mse`` and ``spike_error``.

        Returns:
            ``mse`` and ``spike_error``, (B, epochs) each, and ``readout_mse`` (B,).
        """
        B = self.batch_size
        x = torch.as_tensor(inputs, dtype=self.dtype, device=self.device)
        x = x.expand(B, *x.shape[-2:]) if x.dim() == 2 else x
        y = torch.as_tensor(targets, dtype=self.dtype, device=self.device)
        y = (y.expand(B, *y.shape[-2:]) if y.dim() == 2 else y) * self.config.output_scale
        T = x.shape[1]
        currents = torch.bmm(x, self.W_in)  # the clock's input current of every step
        self.train()
        if self.phase == "teacher":
            self._episode_start()
            self._recorded_y = list(y.unbind(1))
            for t in range(T - 1):
                self._recorded_x.append(x[:, t])
                self._step(currents[:, t : t + 1])
            self._end_episode()
        mse = np.zeros((B, epochs))
        spike_error = np.zeros((B, epochs))
        readout = torch.empty(B, T, self.config.n_units, dtype=self.dtype, device=self.device)
        for epoch in range(epochs):
            self._episode_start()
            readout[:, 0] = self.r
            for t in range(T - 1):
                self._step(currents[:, t : t + 1])
                readout[:, t + 1] = self.r
            self._end_episode()
            outputs = torch.bmm(readout, self.W_out)
            mse[:, epoch] = ((outputs - y) ** 2).mean(dim=(1, 2)).cpu().numpy()
            spike_error[:, epoch] = self.spike_error.cpu().numpy()
            if callback is not None:
                callback(epoch, {"mse": mse[:, epoch], "spike_error": spike_error[:, epoch]})
        self._fresh_state()
        return {
            "mse": mse,
            "spike_error": spike_error,
            **{k: v.astype(np.float64) for k, v in self.metrics().items() if k != "spike_error"},
        }

    # -- reporting and checkpoints -------------------------------------------------------------------
    def metrics(self) -> dict[str, np.ndarray]:
        """The last recurrent epoch's spike error sum |z* - z|; the readout limit (MSE of the readout on the
        target spikes); the MSE and spike error of the untrained network with the trained readout."""
        values = {
            "spike_error": self.spike_error,
            "readout_mse": self.readout_mse,
            "readout_only_mse": self.readout_only_mse,
            "readout_only_spike_error": self.readout_only_spike_error,
        }
        return {k: v.cpu().numpy().astype(np.float64) for k, v in values.items()}

    def plastic_weights(self) -> np.ndarray:
        return self.W.reshape(self.batch_size, -1).cpu().numpy().copy()

    @property
    def J(self) -> Tensor:
        """Recurrent weights in the paper's (post, pre) layout, (B, N, N) (a view)."""
        return self.W.transpose(1, 2)

    def _state_tensors(self) -> dict[str, Tensor]:
        return {
            "W_in": self.W_in,
            "W": self.W,
            "W_out": self.W_out,
            "W_target": self.W_target,
            "D": self.D,
            "v": self.v,
            "z": self.z,
            "s": self.s,
            "e": self.e,
            "r": self.r,
            "r_star": self.r_star,
            "u": self.u,
            "readout_mse": self.readout_mse,
            "readout_only_mse": self.readout_only_mse,
            "readout_only_spike_error": self.readout_only_spike_error,
            "spike_error": self.spike_error,
            "episode_spike_error": self._spike_error,
            "generators": self.generators.get_state(),
        }

    def _load_tensors(self, tensors: Mapping[str, Tensor]) -> None:
        for name in ("W_in", "W", "W_out", "W_target", "D", "v", "z", "s", "e", "r", "r_star", "u"):
            getattr(self, name).copy_(tensors[name])
        self.readout_mse = tensors["readout_mse"].clone()
        self.readout_only_mse = tensors["readout_only_mse"].clone()
        self.readout_only_spike_error = tensors["readout_only_spike_error"].clone()
        self.spike_error = tensors["spike_error"].clone()
        self._spike_error = tensors["episode_spike_error"].clone()
        self.generators.set_state(tensors["generators"])

    def _state_extra(self) -> dict[str, Any]:
        # The targets' length is the task's, unknown before the first episode: kept outside the shape checks.
        return {
            "config": self.config.to_dict(),
            "phase": self.phase,
            "fixed_weights": self._fixed_weights,
            "t": self.t,
            "pending": None if self._pending is None else self._pending.cpu().clone(),
            "target_spikes": self.target_spikes.cpu().clone(),
            "target_outputs": self.target_outputs.cpu().clone(),
            "recording": self._recording,
            "recorded_z": [z.cpu().clone() for z in self._recorded_z],
            "recorded_y": [y.cpu().clone() for y in self._recorded_y],
            "recorded_x": [x.cpu().clone() for x in self._recorded_x],
            "episode_terms": None
            if self._episode_terms is None
            else [[x.cpu().clone() for x in term] for term in self._episode_terms],
        }

    def _load_extra(self, extra: Mapping[str, Any]) -> None:
        dev = self.device
        self.phase = extra["phase"]
        self._fixed_weights = bool(extra["fixed_weights"])
        self.t = int(extra["t"])
        self._pending = None if extra["pending"] is None else extra["pending"].to(dev).clone()
        self.target_spikes = extra["target_spikes"].to(dev).clone()
        self.target_outputs = extra["target_outputs"].to(dev).clone()
        self.target_trace = exponential_filter(self.target_spikes, self.beta_star[:, 0])
        self._recording = bool(extra["recording"])
        self._recorded_z = [z.to(dev).clone() for z in extra["recorded_z"]]
        self._recorded_y = [y.to(dev).clone() for y in extra["recorded_y"]]
        self._recorded_x = [x.to(dev).clone() for x in extra["recorded_x"]]
        terms = extra["episode_terms"]
        self._episode_terms = None if terms is None else [tuple(x.to(dev).clone() for x in term) for term in terms]

    def _select_extra(self, extra: dict[str, Any], indices: list[int]) -> dict[str, Any]:
        def rows(x: Any) -> Any:
            return None if x is None else x[indices]

        config = dict(extra["config"])
        for name in PER_NETWORK_FIELDS:
            if isinstance(config[name], list):
                config[name] = [config[name][i] for i in indices]
        return {
            **extra,
            "config": config,
            "pending": rows(extra["pending"]),
            "target_spikes": rows(extra["target_spikes"]),
            "target_outputs": rows(extra["target_outputs"]),
            "recorded_z": [rows(z) for z in extra["recorded_z"]],
            "recorded_y": [rows(y) for y in extra["recorded_y"]],
            "recorded_x": [rows(x) for x in extra["recorded_x"]],
            "episode_terms": None
            if extra["episode_terms"] is None
            else [[rows(x) for x in term] for term in extra["episode_terms"]],
        }
