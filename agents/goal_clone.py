"""GOAL in closed loop: a spiking network clones an expert's policy from the states it is shown, online.

Capone C., Muratore P. & Paolucci P.S. (2022). Error-based or target-based? A unified framework for learning
in recurrent spiking networks. PLoS Comput Biol 18(6): e1010221 (the BipedalWalker experiment, its
``2DBipedalWalker/cloner.py`` and ``goal.py``). The rule is :mod:`agents.goal`'s; what changes is where the
target spikes come from. The paper records one expert episode, builds the target raster by driving the
untrained network with the state plus the expert's action, trains the recurrent weights on it for 100-500
passes and then a readout, and finally lets the network drive the walker. Here the target network runs beside
the learner at every step of every episode, so the network learns on whatever states the episode visits: the
expert's (``expert_control = 1`` in the env: behavioural cloning, the paper's setting) or its own (the env's
``expert_control = 0``: the expert only labels the states, as DAgger does), which the paper did not do.

Two populations of N discrete-time LIF neurons share the input weights; one step per ``dt_ms``::

    learner:  I_i  = sum_k x_k W_in[k, i] + sum_j s_j W[j, i] + b
    target:   I*_i = sum_k x_k W_in[k, i] + sum_o a*_o W_teach[o, i] + b           (W = 0: no recurrence)
    both:     s(t+1) = beta_s s(t) + (1 - beta_s) z(t),    e(t+1) = beta_m e(t) + (1 - beta_m) s(t+1)
              v(t+1) = beta_m v(t) + (1 - beta_m) I + v_reset z(t),    z(t+1) = [v(t+1) > 0]
    readout:  r(t) = beta_o r(t-1) + (1 - beta_o) z(t),    a(t) = clip(r(t) W_out, -1, 1)

with x the observation standardised by a running mean and variance (frozen in ``eval()``) and a* the
expert's action for that observation (the env's ``info["target"]``). Learning, at every step while training::

    s^(t) = beta_* s^(t-1) + (1 - beta_*) z(t), and s*^ the same of z*                   (target timescale tau_*)
    delta_i = [(s*^ - s^) D]_i sigma'(v_i),    W[j, i] += eta_rec e_j delta_i,    W[i, i] = 0,  |W| <= w_max
    W_out += mu r (a* - a)^T / (|r|^2 + 1)                           (normalised LMS of the readout on a*)

optionally with both rates falling as 1 / (1 + n / n_decay) over the n steps learned.

D is GOAL's feedback matrix of rank R (``agents.goal.feedback_matrix``; R = None: LTTS's identity), built from
a random readout-sized matrix since the readout here learns alongside. The paper's walker: N = 500,
tau_m = 4, tau_s = 2 steps, tau_* in {0.1, 3, 10} ms with one step per ms of its clock (here one step per env
step, ``dt_ms`` = the env's 20 ms), input currents of standard deviation ~5, sigma_teach = 1,
b = v(0) = -4, v_reset = -20, |W| <= 10.
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
from agents.core import BatchGenerators
from agents.goal import feedback_matrix


@dataclass(frozen=True)
class GOALCloneConfig:
    """The closed-loop GOAL cloner (defaults: the paper's BipedalWalker network, ``2DBipedalWalker/goal.py``)."""

    n_units: int = 500
    """N, neurons in the learner (and as many in the target network)."""
    feedback_rank: int | str | None = None
    """R, rank of the feedback matrix D in [O, N]; "full" = N, "outputs" = O; None = LTTS (identity)."""
    target_timescale: float = 0.1
    """tau_*, steps, of the filter the spike error is measured through (the paper's best: 0.1)."""
    tau_m: float = 4.0
    """Membrane and eligibility time constant, steps."""
    tau_s: float = 2.0
    """Synaptic time constant of the recurrent input, steps."""
    tau_o: float = 3.0
    """Readout filter time constant, steps (the action is the filtered spikes through W_out)."""
    sigma_input: float = 5.0
    """W_in ~ sigma_input N(0, 1) / sqrt(I) on the standardised observation: input currents of standard
    deviation sigma_input (the paper's sigma = 2 on the walker's raw 24 observations gives about 5)."""
    sigma_teach: float = 1.0
    """W_teach ~ sigma_teach N(0, 1): the expert's action drives the target network."""
    v0: float = -4.0
    bias: float = -4.0
    reset: float = -20.0
    """v_reset, the current added after a spike."""
    max_weight: float = 10.0
    """|W| is clipped here after every update (the paper's walker code clips J to [-10, 10])."""
    recurrent_lr: float | None = None
    """eta_rec; None = 5 / sqrt(N), GOAL's default."""
    readout_lr: float = 0.05
    """mu of the normalised LMS readout (0 < mu < 2)."""
    learning_rate_decay_steps: float | None = None
    """Both learning rates fall as 1 / (1 + n / this) over the n steps learned (stochastic approximation's
    schedule, so that online learning settles); None: constant."""
    standardise_steps: int | None = None
    """The observation's running mean and variance stop changing after this many training steps (then the
    network's input code is fixed); None: they follow the data for the whole run."""
    learn_recurrent: bool = True
    """False: only the readout learns (the network is a fixed random spiking reservoir), for comparison."""
    dt_ms: float = 20.0
    """One network step; the env's step must be a whole number of them."""

    def __post_init__(self) -> None:
        checks = {
            "n_units must be an integer >= 2": isinstance(self.n_units, int) and self.n_units >= 2,
            "tau_m, tau_s, tau_o and target_timescale must be > 0": min(
                self.tau_m, self.tau_s, self.tau_o, self.target_timescale
            )
            > 0,
            "recurrent_lr must be None or >= 0": self.recurrent_lr is None or self.recurrent_lr >= 0,
            "readout_lr must be in [0, 2)": 0 <= self.readout_lr < 2,
            "max_weight and dt_ms must be > 0": self.max_weight > 0 and self.dt_ms > 0,
            "learning_rate_decay_steps must be None or > 0": self.learning_rate_decay_steps is None
            or self.learning_rate_decay_steps > 0,
            "standardise_steps must be None or a positive integer": self.standardise_steps is None
            or (isinstance(self.standardise_steps, int) and self.standardise_steps > 0),
            'feedback_rank must be None, an integer, "full" or "outputs"': self.feedback_rank is None
            or self.feedback_rank in ("full", "outputs")
            or (isinstance(self.feedback_rank, int) and not isinstance(self.feedback_rank, bool)),
        }
        bad = [msg for msg, ok in checks.items() if not ok]
        if bad:
            raise ValueError("GOALCloneConfig: " + "; ".join(bad))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> GOALCloneConfig:
        return config_from_preset(cls, values, PRESETS, "walker", "GOAL clone")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, GOALCloneConfig] = {
    # The paper's walker network and its best setting (LTTS-like, spike-precise target), one step per env step.
    "walker": GOALCloneConfig(),
    # Low-rank feedback (R = 4, the paper's other walker setting).
    "walker-low-rank": GOALCloneConfig(feedback_rank="outputs"),
    # Reaching and swinging (10-ms env steps): the same network, steps of 10 ms.
    "control": GOALCloneConfig(dt_ms=10.0),
}


class GOALCloneAgent(Agent):
    """B closed-loop GOAL cloners, one per seed; episodes may start and end at different steps per network.

    Args:
        observation_space, action_space: the single env's spaces (a Box covering [-1, 1] for the actions).
        config: a ``GOALCloneConfig``.
        seeds: one seed per network.
        device: "cpu" or "cuda".
        env_dt_ms: the env's step (a whole number of network steps); None: one network step per env step.
    """

    name: ClassVar[str] = "goal-clone"
    needs_step_info: ClassVar[bool] = True

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: GOALCloneConfig | None = None,
        *,
        seeds: Sequence[int] = (0,),
        device: torch.device | str = "cpu",
        env_dt_ms: float | None = None,
    ) -> None:
        super().__init__(observation_space, action_space, seeds=seeds, device=device)
        self.config = cfg = config or GOALCloneConfig()
        if not isinstance(action_space, spaces.Box) or np.any(action_space.low > -1) or np.any(action_space.high < 1):
            raise ValueError(f"the GOAL clone needs a Box action space covering [-1, 1], got {action_space}")
        self.substeps = 1 if env_dt_ms is None else round(env_dt_ms / cfg.dt_ms)
        if env_dt_ms is not None and (self.substeps < 1 or abs(self.substeps * cfg.dt_ms - env_dt_ms) > 1e-9):
            raise ValueError(
                f"the env's step ({env_dt_ms} ms) must be a whole number of network steps ({cfg.dt_ms} ms); "
                f"set agent_config dt_ms to {env_dt_ms} or a divisor of it"
            )
        B, N, dev, dt = self.batch_size, cfg.n_units, self.device, self.dtype
        self.n_inputs = int(np.prod(observation_space.shape))
        self.n_outputs = int(np.prod(action_space.shape))
        rank = {"full": N, "outputs": self.n_outputs, None: 0}.get(cfg.feedback_rank, cfg.feedback_rank)
        if rank != 0 and not self.n_outputs <= rank <= N:
            raise ValueError(f"feedback_rank must be in [O, N] = [{self.n_outputs}, {N}] or None, got {rank}")
        self.beta_m, self.beta_s = math.exp(-1 / cfg.tau_m), math.exp(-1 / cfg.tau_s)
        self.beta_o, self.beta_star = math.exp(-1 / cfg.tau_o), math.exp(-1 / cfg.target_timescale)
        self.recurrent_lr = 5.0 / math.sqrt(N) if cfg.recurrent_lr is None else float(cfg.recurrent_lr)

        self.generators = g = BatchGenerators(self.seeds, dev)
        self.W_in = (g.normal(self.n_inputs, N) * (cfg.sigma_input / math.sqrt(self.n_inputs))).to(dt)
        self.W_teach = (g.normal(self.n_outputs, N) * cfg.sigma_teach).to(dt)
        self.W = torch.zeros(B, N, N, dtype=dt, device=dev)  # W[b, j, i]: presynaptic j -> postsynaptic i
        self.W_out = torch.zeros(B, N, self.n_outputs, dtype=dt, device=dev)
        readout_like = g.normal(N, self.n_outputs).to(dt) / math.sqrt(N)
        self.D = feedback_matrix(readout_like, g.normal(N, N).to(dt), torch.full((B,), rank, device=dev))
        self.D /= self.D.diagonal(dim1=1, dim2=2).mean(dim=1)[:, None, None]  # unit mean gain, any rank
        # The observation's running mean and variance (Welford), per network.
        self.obs_count = torch.zeros(B, dtype=torch.float64, device=dev)
        self.obs_mean = torch.zeros(B, self.n_inputs, dtype=torch.float64, device=dev)
        self.obs_m2 = torch.zeros(B, self.n_inputs, dtype=torch.float64, device=dev)
        # Neuron state: learner and target network, (B, N) each.
        self.v = torch.full((B, N), cfg.v0, dtype=dt, device=dev)
        self.v_star = self.v.clone()
        self.z, self.s, self.e, self.r, self.s_hat = (torch.zeros(B, N, dtype=dt, device=dev) for _ in range(5))
        self.z_star, self.s_star, self.s_hat_star = (torch.zeros(B, N, dtype=dt, device=dev) for _ in range(3))
        self._x = torch.zeros(B, self.n_inputs, dtype=dt, device=dev)  # the observation the last action answered
        self._input_current = torch.zeros(B, N, dtype=dt, device=dev)  # x W_in of that observation
        self._action = torch.zeros(B, self.n_outputs, dtype=dt, device=dev)
        self._started = torch.zeros(B, dtype=torch.bool, device=dev)
        # Per-episode statistics (B,): action error against the expert, spike error, steps.
        self._action_error = torch.zeros(B, dtype=torch.float64, device=dev)
        self._spike_error = torch.zeros(B, dtype=torch.float64, device=dev)
        self._steps = torch.zeros(B, dtype=torch.float64, device=dev)
        self.learned_steps = torch.zeros(B, dtype=torch.float64, device=dev)
        self.last_action_mse = torch.full((B,), float("nan"), dtype=torch.float64, device=dev)
        self.last_spike_error = torch.full((B,), float("nan"), dtype=torch.float64, device=dev)

    # -- the network -----------------------------------------------------------------------------
    def _standardise(self, obs: Tensor) -> Tensor:
        x = obs.reshape(self.batch_size, -1).to(torch.float64)
        limit = self.config.standardise_steps
        if self.training and (limit is None or bool((self.obs_count < limit).any())):  # Welford's running moments
            self.obs_count += 1
            delta = x - self.obs_mean
            self.obs_mean += delta / self.obs_count[:, None]
            self.obs_m2 += delta * (x - self.obs_mean)
        var = torch.where(self.obs_count[:, None] > 1, self.obs_m2 / self.obs_count.clamp(min=1)[:, None], 1.0)
        return ((x - self.obs_mean) / torch.sqrt(var + 1e-8)).clamp_(-10, 10).to(self.dtype)

    def _lif(self, v: Tensor, z: Tensor, current: Tensor) -> None:
        """One LIF step in place: v <- beta_m v + (1 - beta_m) I + v_reset z; z <- [v > 0]."""
        v.mul_(self.beta_m).add_(current + self.config.bias, alpha=1 - self.beta_m).add_(z, alpha=self.config.reset)
        z.copy_(v > 0)

    def _learner_step(self, drive: Tensor) -> None:
        self.s.mul_(self.beta_s).add_(self.z, alpha=1 - self.beta_s)
        self.e.mul_(self.beta_m).add_(self.s, alpha=1 - self.beta_m)
        self._lif(self.v, self.z, torch.baddbmm(drive[:, None], self.s[:, None], self.W)[:, 0])
        self.r.mul_(self.beta_o).add_(self.z, alpha=1 - self.beta_o)
        self.s_hat.mul_(self.beta_star).add_(self.z, alpha=1 - self.beta_star)

    def _target_step(self, drive: Tensor) -> None:
        self.s_star.mul_(self.beta_s).add_(self.z_star, alpha=1 - self.beta_s)
        self._lif(self.v_star, self.z_star, drive)
        self.s_hat_star.mul_(self.beta_star).add_(self.z_star, alpha=1 - self.beta_star)

    def _readout(self) -> Tensor:
        return torch.bmm(self.r[:, None], self.W_out)[:, 0].clamp_(-1.0, 1.0)

    # -- Agent hooks -----------------------------------------------------------------------------
    def _reset(self, mask: Tensor) -> None:
        m = mask[:, None]
        for x in (self.v, self.v_star):
            x.masked_fill_(m, self.config.v0)
        for x in (self.z, self.s, self.e, self.r, self.s_hat, self.z_star, self.s_star, self.s_hat_star):
            x.masked_fill_(m, 0.0)
        for x in (self._action_error, self._spike_error, self._steps):
            x.masked_fill_(mask, 0.0)

    def _act(self, obs: Tensor, deterministic: bool) -> Tensor:
        self._x = self._standardise(obs)
        self._input_current = torch.bmm(self._x[:, None], self.W_in)[:, 0]  # shared with the target network
        for _ in range(self.substeps):
            self._learner_step(self._input_current)
        self._action = self._readout()
        return self._action

    def _observe(
        self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, info: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        if "target" not in info:
            raise ValueError("the GOAL clone learns from info['target'] (the expert's action); the env gave none")
        target = torch.as_tensor(np.nan_to_num(info["target"]), dtype=self.dtype, device=self.device)
        target = target.reshape(self.batch_size, -1)
        drive = torch.baddbmm(self._input_current[:, None], target[:, None], self.W_teach)[:, 0]
        for _ in range(self.substeps):
            self._target_step(drive)
        self._action_error += ((self._action - target) ** 2).mean(dim=1).double()
        self._spike_error += (self.z - self.z_star).abs().sum(dim=1).double()
        self._steps += 1
        if self.training:
            self._learn(target)
        done = torch.as_tensor(terminated | truncated, device=self.device)
        if not bool(done.any()):
            return {}
        steps = self._steps.clamp(min=1)
        self.last_action_mse = torch.where(done, self._action_error / steps, self.last_action_mse)
        self.last_spike_error = torch.where(done, self._spike_error / steps, self.last_spike_error)
        return {"action_mse": self.last_action_mse.cpu().numpy(), "spike_error": self.last_spike_error.cpu().numpy()}

    def _learn(self, target: Tensor) -> None:
        cfg = self.config
        decay = torch.ones_like(self.learned_steps, dtype=self.dtype)  # (B,)
        if cfg.learning_rate_decay_steps is not None:
            decay = (1.0 / (1.0 + self.learned_steps / cfg.learning_rate_decay_steps)).to(self.dtype)
        if cfg.learn_recurrent and self.recurrent_lr > 0:
            sig = torch.sigmoid(self.v)
            delta = torch.bmm((self.s_hat_star - self.s_hat)[:, None], self.D)[:, 0].mul_(sig * (1 - sig))
            delta.mul_(decay[:, None] * self.recurrent_lr)
            self.W.baddbmm_(self.e[:, :, None], delta[:, None])
            self.W.diagonal(dim1=1, dim2=2).zero_()
            self.W.clamp_(-cfg.max_weight, cfg.max_weight)
        step = decay[:, None] * cfg.readout_lr / ((self.r**2).sum(dim=1, keepdim=True) + 1.0)  # (B, 1)
        self.W_out.baddbmm_((self.r * step)[:, :, None], (target - self._action)[:, None])
        self.learned_steps += 1

    # -- reporting and checkpoints ---------------------------------------------------------------------
    def metrics(self) -> dict[str, np.ndarray]:
        return {
            "learned_steps": self.learned_steps.cpu().numpy(),
            "action_mse": self.last_action_mse.cpu().numpy(),
            "spike_error": self.last_spike_error.cpu().numpy(),
            "rate_hz": (self.r.mean(dim=1) * 1000.0 / self.config.dt_ms).cpu().numpy(),
            "recurrent_weight_abs_mean": self.W.abs().mean(dim=(1, 2)).cpu().numpy(),
        }

    def plastic_weights(self) -> np.ndarray:
        return self.W.reshape(self.batch_size, -1).cpu().numpy()

    _TENSORS = (
        "W_in", "W_teach", "W", "W_out", "D", "obs_count", "obs_mean", "obs_m2", "v", "v_star", "z", "s", "e", "r",
        "s_hat", "z_star", "s_star", "s_hat_star", "_x", "_input_current", "_action", "learned_steps",
        "last_action_mse", "last_spike_error", "_action_error", "_spike_error", "_steps",
    )  # fmt: skip

    def _state_tensors(self) -> dict[str, Tensor]:
        return {name: getattr(self, name) for name in self._TENSORS}

    def _load_tensors(self, tensors: Mapping[str, Tensor]) -> None:
        for name in self._TENSORS:
            getattr(self, name).copy_(tensors[name])

    def _state_extra(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "generators": self.generators.get_state()}

    def _load_extra(self, extra: Mapping[str, Any]) -> None:
        if "generators" in extra:
            self.generators.set_state(extra["generators"])

    def _select_extra(self, extra: dict[str, Any], indices: list[int]) -> dict[str, Any]:
        return {**extra, "generators": extra["generators"][indices]}
