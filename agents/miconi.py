"""Miconi's biologically plausible rule for recurrent rate networks.

Miconi T. (2017). Biologically plausible learning in recurrent neural networks reproduces neural
dynamics observed during cognitive tasks. eLife 6:e20899. doi:10.7554/eLife.20899

Network (N rate units, dt = 1 ms, Euler)::

    tau dx_i/dt = -x_i + sum_j J_ij r_j + sum_k W_ik u_k + xi_i(t),    r_i = tanh(x_i),    tau = 30 ms
    J_ij ~ N(0, G^2 / (p N)) with probability p (G = 1.5),   W_ik ~ U(-1, 1)

Exploration: each unit is perturbed independently with probability 0.003 per ms by
``xi_i ~ U(-A, A)``, A = 16 (so A dt / tau ~ 0.5). Three "bias" units are clamped at x = 1, 1, -1.
The perturbations come from Philox4x32-10 keyed by the network's seed and counted by its steps
(``noise.counter_uniform``): a function of the seed and the step alone, so a checkpoint keeps only the clock
and the compiled kernel makes the same numbers where it uses them.

Learning. Each unit detrends its own activation with a fast running mean and keeps the fluctuation::

    dx_i(t) = x_i(t) - x_bar_i(t-1),        x_bar_i <- alpha x_bar_i + (1 - alpha) x_i,   alpha = 0.05

Every synapse accumulates a supralinear Hebbian eligibility trace over the trial::

    e_ij += (r_j(t-1) * dx_i(t))^3

and at the end of the trial, with reward R (minus the trial's error) and the running mean reward
R_bar of this trial type::

    Delta J_ij = clip(eta * e_ij * |R_bar| * (R - R_bar), -3e-4, 3e-4)
    R_bar <- 0.75 R_bar + 0.25 R

(The C++ code writes it with errors E = -R: ``dJ = -eta * E_bar * (E - E_bar) * e``, the same thing.)
Because ``(r_j dx_i)^3 = r_j^3 dx_i^3``, a trial's eligibility is one matrix product of the stored
factors instead of an N x N update every millisecond (``OuterProductAccumulator``); the result is the
same sum. The faster Fiete & Seung (2006) node-perturbation trace ``e_ij += r_j(t-1) xi_i(t)`` is the
option ``eligibility="node_perturbation"``.

Two presets: ``paper`` (the C++ code: dense, eta = 0.1, learning after 100 trials) and ``annarchy``
(the ANNarchy notebook: sparse p = 0.1 without self-connections, eta = 0.5, learning after 25
iterations of 4 trials).

On a CPU the steps run in a compiled kernel (``agents.core.rate_kernels``), one call per env step or per block
of the rollout loop (``predict_block``: the DNMS trial's first 999 ms in one call); CUDA, or
``fused_cpu_step=False``, runs the same equations as torch operations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from agents.base import Agent
from agents.core import (
    BatchGenerators,
    OuterProductAccumulator,
    RateState,
    rate_init,
    rate_kernels,
    rate_step,
    restart,
    running_mean,
)
from agents.core.noise import counter_uniform, philox_keys, sparse_perturbations

ELIGIBILITY_RULES = ("supralinear", "node_perturbation")
NOISE_STREAM = 1
"""The Philox stream of the perturbations (``noise.counter_uniform``'s ``stream``)."""


@dataclass(frozen=True)
class MiconiConfig:
    """Parameters of Miconi's network and rule (defaults: the paper's C++ code, ``dnms/net.cpp``)."""

    n_units: int = 200
    """N, recurrent rate units (output and bias units included)."""
    gain: float = 1.5
    """G, coupling strength of the random recurrent weights (1.5: weakly chaotic)."""
    connection_probability: float = 1.0
    """p, probability of each recurrent synapse (1 = dense as in the paper, 0.1 in ANNarchy)."""
    self_connections: bool = True
    """Whether J_ii may be non-zero (the C++ code keeps them, ANNarchy drops them)."""
    tau_ms: float = 30.0
    """tau, time constant of the units."""
    dt_ms: float = 1.0
    """Integration step; the agent runs round(env dt / dt) steps per env step."""
    output_unit: int = 0
    """Index of the first output unit; the action is r of this unit (and the next, for wider actions)."""
    output_input_weights: bool = False
    """Whether the output unit receives the external input (zeroed in the C++ code)."""
    bias_units: tuple[int, ...] = (1, 10, 11)
    """Units with clamped activation, providing a bias to the others."""
    bias_values: tuple[float, ...] = (1.0, 1.0, -1.0)
    """Their clamped activations x."""
    initial_x_range: float = 0.1
    """x(0) ~ U(-range, range) at the start of every trial."""
    perturbation_probability: float = 0.003
    """Probability per unit and step of an exploratory perturbation (3 Hz at dt = 1 ms)."""
    perturbation_amplitude: float = 16.0
    """A: perturbations are U(-A, A), added to the unit's total input."""
    perturbation_start_step: int = 4
    """No perturbations during a trial's first steps (the C++ code starts at step 4)."""
    eligibility: str = "supralinear"
    """"supralinear": e += (r_pre dx_post)^3 (the paper); "node_perturbation": e += r_pre xi_post."""
    running_mean_alpha: float = 0.05
    """alpha of the running mean x_bar that detrends x (ALPHATRACEEXC)."""
    eligibility_start_step: int = 3
    """Eligibility accumulates from this step of a trial on (the C++ code skips steps 0-2)."""
    learning_rate: float = 0.1
    """eta (0.1 in the C++ code, 0.5 in ANNarchy; node perturbation used 0.001)."""
    max_weight_change: float = 3e-4
    """Each Delta J_ij is clipped to +-this (MAXDW)."""
    baseline_decay: float = 0.75
    """Decay of the per-trial-type running mean reward R_bar (ALPHATRACE)."""
    initial_baseline: float = 0.0
    """R_bar before the first trial (0 in C++, -1 in ANNarchy)."""
    learning_start_trials: int = 101
    """Weights change only from this many completed trials on (101 in C++, 4 x 26 = 104 in ANNarchy)."""
    fused_cpu_step: bool = True
    """On a CPU, run the network's steps in the compiled kernel (``agents.core.rate_kernels``: the same equations,
    equal to the torch operations to float32 rounding) and the rollout loop's blocks in one call each; False, or
    CUDA: the torch operations."""

    def __post_init__(self) -> None:
        checks = {
            "n_units must be > 0": self.n_units > 0,
            "gain must be >= 0": self.gain >= 0,
            "connection_probability must be in (0, 1]": 0 < self.connection_probability <= 1,
            "tau_ms and dt_ms must be > 0": self.tau_ms > 0 and self.dt_ms > 0,
            "perturbation_probability must be in [0, 1]": 0 <= self.perturbation_probability <= 1,
            "running_mean_alpha must be in [0, 1)": 0 <= self.running_mean_alpha < 1,
            "baseline_decay must be in [0, 1)": 0 <= self.baseline_decay < 1,
            "learning_rate and max_weight_change must be >= 0": self.learning_rate >= 0 and self.max_weight_change >= 0,
            "bias_units and bias_values must have the same length": len(self.bias_units) == len(self.bias_values),
            "bias_units must be valid unit indices": all(0 <= i < self.n_units for i in self.bias_units),
            "output_unit must be a valid unit index": 0 <= self.output_unit < self.n_units,
            f"eligibility must be one of {ELIGIBILITY_RULES}": self.eligibility in ELIGIBILITY_RULES,
        }
        bad = [msg for msg, ok in checks.items() if not ok]
        if bad:
            raise ValueError("MiconiConfig: " + "; ".join(bad))
        if self.output_unit in self.bias_units:
            raise ValueError(f"MiconiConfig: output_unit {self.output_unit} is also a clamped bias unit")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> MiconiConfig:
        """A config from a mapping (a preset name under "preset" is applied first); unknown keys fail."""
        values = dict(values)
        base = PRESETS[_preset_name(values.pop("preset", "paper"))]
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown Miconi parameter(s) {unknown}; valid: {sorted(known)}")
        for key in ("bias_units", "bias_values"):
            if key in values:
                values[key] = tuple(values[key])
        return replace(base, **values)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


PRESETS: dict[str, MiconiConfig] = {
    "paper": MiconiConfig(),
    "annarchy": MiconiConfig(
        connection_probability=0.1,
        self_connections=False,
        output_unit=100,
        output_input_weights=True,
        bias_units=(0, 1, 2),
        perturbation_start_step=0,
        eligibility_start_step=0,
        learning_rate=0.5,
        initial_baseline=-1.0,
        learning_start_trials=104,
    ),
    "node_perturbation": MiconiConfig(eligibility="node_perturbation", learning_rate=0.001),
}


def _preset_name(name: str) -> str:
    if name not in PRESETS:
        raise ValueError(f"unknown Miconi preset {name!r}; choose one of {sorted(PRESETS)}")
    return name


class MiconiAgent(Agent):
    """B recurrent rate networks learning with Miconi's rule, one per seed, stepped as one computation.

    Weights are stored presynaptic-major, ``W[b, j, i] = J_ij`` for j < N and ``W[b, N + k, i] = W_ik``
    for the inputs, so the total input of a step is one row-vector product ``[r, u] @ W``. ``J`` gives
    the recurrent weights in the paper's (post, pre) layout.

    Args:
        observation_space, action_space: the single env's spaces (actions: a Box within [-1, 1]).
        config: a ``MiconiConfig`` (default: the paper's).
        seeds: one seed per network (B = len(seeds)); network b is identical whatever the batch.
        device: "cpu" or "cuda".
        env_dt_ms: the env's step; the agent runs round(env_dt_ms / config.dt_ms) network steps per env step.
    """

    name: ClassVar[str] = "miconi"
    needs_step_info: ClassVar[bool] = False  # the reward and trial type at the trial's end are enough
    unbatched_state: ClassVar[tuple[str, ...]] = ("clock",)

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: MiconiConfig | None = None,
        *,
        seeds: Sequence[int] = (0,),
        device: torch.device | str = "cpu",
        env_dt_ms: float | None = None,
    ) -> None:
        super().__init__(observation_space, action_space, seeds=seeds, device=device)
        self.config = cfg = config or MiconiConfig()
        if not isinstance(action_space, spaces.Box) or np.any(action_space.low > -1) or np.any(action_space.high < 1):
            raise ValueError(
                f"the Miconi agent acts with tanh rates in (-1, 1) and needs a Box action space covering "
                f"[-1, 1], got {action_space}"
            )
        self.n_inputs = int(np.prod(observation_space.shape))
        self.n_outputs = int(np.prod(action_space.shape))
        if cfg.output_unit + self.n_outputs > cfg.n_units:
            raise ValueError(f"{self.n_outputs} output units from unit {cfg.output_unit} exceed N = {cfg.n_units}")
        self.substeps = 1 if env_dt_ms is None else round(env_dt_ms / cfg.dt_ms)
        if self.substeps < 1 or abs(self.substeps * cfg.dt_ms - (env_dt_ms or cfg.dt_ms)) > 1e-9:
            raise ValueError(f"env dt {env_dt_ms} ms is not a multiple of the agent's dt {cfg.dt_ms} ms")

        B, N, dev = self.batch_size, cfg.n_units, self.device
        self.generators = BatchGenerators(self.seeds, dev)
        self._outputs = slice(cfg.output_unit, cfg.output_unit + self.n_outputs)
        self.W, self.connection_mask = self._initial_weights()
        self._clamp_index = torch.tensor(cfg.bias_units, dtype=torch.long, device=dev)
        self._clamp_value = torch.tensor(cfg.bias_values, dtype=self.dtype, device=dev).expand(B, -1).contiguous()
        self._inputs = torch.zeros(B, 1, N + self.n_inputs, device=dev)  # [r(t-1), u(t)]
        self._rate_view, self._input_view = self._inputs[:, 0, :N], self._inputs[:, 0, N:]
        self.state = rate_init(torch.zeros(B, N, device=dev), self._clamp_index, self._clamp_value)
        self.x_bar = self.state.x.clone()
        self._rate_view.copy_(self.state.r)
        self.step_in_trial = np.zeros(B, dtype=np.int64)
        self._earliest_step = 0  # min(step_in_trial), kept as an int: the hot path tests it every step
        self.exponent = 3 if cfg.eligibility == "supralinear" else 1
        self._fused = cfg.fused_cpu_step and rate_kernels.AVAILABLE and self.device.type == "cpu"
        # The kernel writes the factors already raised to the exponent; the torch path leaves it to the accumulator.
        self.eligibility = OuterProductAccumulator(B, N, N, exponent=1 if self._fused else self.exponent, device=dev)
        self.noise_keys = philox_keys(self.seeds, dev)
        self.clock = 0  # network steps taken since the networks were built: the perturbations' counter
        self._noise_chunk = 250  # the torch path draws this many steps' perturbations at a time
        self._noise, self._noise_start = torch.zeros(B, 0, N, device=dev), 0
        self._no_noise = torch.zeros(B, 1, N, device=dev)
        if self._fused:
            self._viewed: tuple[Tensor, ...] = (None,) * 6  # the tensors of ``_views``
            self._views: tuple[np.ndarray, ...] = ()
            self._kernel_keys = self.noise_keys.numpy().astype(np.uint32)
            self._kernel_clamp = (
                np.asarray(cfg.bias_units, dtype=np.int64),
                np.asarray(cfg.bias_values, dtype=np.float32),
            )
            self._kernel_constants = tuple(
                np.float32(v)
                for v in (
                    cfg.dt_ms / cfg.tau_ms,
                    cfg.running_mean_alpha,
                    cfg.perturbation_probability,
                    cfg.perturbation_amplitude,
                )
            )
        self.episode_return = np.zeros(B)
        self.trials_done = np.zeros(B, dtype=np.int64)
        self.conditions: list[str] = []
        self.baseline = np.zeros((B, 0))
        self.reset()

    # -- the network -----------------------------------------------------------------------------
    def _initial_weights(self) -> tuple[Tensor, Tensor | None]:
        cfg, N, g = self.config, self.config.n_units, self.generators
        p = cfg.connection_probability
        J = g.normal(N, N) * (cfg.gain / np.sqrt(p * N))  # J[b, i, j]: post i, pre j
        mask = None
        if p < 1.0 or not cfg.self_connections:
            keep = g.uniform(N, N) < p if p < 1.0 else torch.ones(len(g), N, N, dtype=torch.bool, device=self.device)
            if not cfg.self_connections:
                keep &= ~torch.eye(N, dtype=torch.bool, device=self.device)
            J = J * keep
            mask = keep.transpose(1, 2).to(self.dtype).contiguous()
        W_in = g.uniform(N, self.n_inputs, low=-1.0, high=1.0)  # W_in[b, i, k]
        if not cfg.output_input_weights:
            W_in[:, self._outputs] = 0.0
        W = torch.cat([J.transpose(1, 2), W_in.transpose(1, 2)], dim=1).contiguous()
        return W, mask

    @property
    def J(self) -> Tensor:
        """Recurrent weights in the paper's layout, (B, N_post, N_pre) (a view)."""
        return self.W[:, : self.config.n_units].transpose(1, 2)

    @property
    def W_in(self) -> Tensor:
        """Input weights, (B, N, n_inputs) (a view)."""
        return self.W[:, self.config.n_units :].transpose(1, 2)

    def perturbations(self, start: int, steps: int) -> Tensor:
        """The perturbations xi of the network steps ``start``, ..., ``start + steps - 1`` (by ``clock``),
        (B, steps, N): ``sparse_perturbations`` of the networks' ``counter_uniform``, before the trial-start mask."""
        cfg = self.config
        uniform = counter_uniform(self.noise_keys, start, cfg.n_units, steps=steps, stream=NOISE_STREAM)
        return sparse_perturbations(uniform, cfg.perturbation_probability, cfg.perturbation_amplitude)

    def _perturbations(self) -> Tensor:
        """This step's perturbations xi (B, 1, N), drawn ahead a chunk of steps at a time (the torch path)."""
        cfg = self.config
        offset = self.clock - self._noise_start
        if not 0 <= offset < self._noise.shape[1]:
            self._noise, self._noise_start, offset = self.perturbations(self.clock, self._noise_chunk), self.clock, 0
        xi = self._noise[:, offset : offset + 1]
        if self._earliest_step < cfg.perturbation_start_step:
            xi = xi * self._started(cfg.perturbation_start_step)[:, None, None]
        return xi

    def _started(self, step: int) -> Tensor:
        """(B,) 1.0 for networks at or past ``step`` of their trial, else 0.0."""
        return torch.as_tensor(self.step_in_trial >= step, device=self.device, dtype=self.dtype)

    def _network_step(self, u: Tensor, explore: bool, learn: bool) -> None:
        cfg = self.config
        self._input_view.copy_(u)
        xi = self._perturbations() if explore else self._no_noise
        drive = torch.baddbmm(xi, self._inputs, self.W)[:, 0]
        new = rate_step(drive, self.state, cfg.dt_ms / cfg.tau_ms, self._clamp_index, self._clamp_value)
        if learn:
            post = new.x - self.x_bar if cfg.eligibility == "supralinear" else xi[:, 0]
            if self._earliest_step < cfg.eligibility_start_step:
                post = post * self._started(cfg.eligibility_start_step)[:, None]
            self.eligibility.add(self._rate_view, post)
        self.x_bar = running_mean(self.x_bar, new.x, cfg.running_mean_alpha)
        self._rate_view.copy_(new.r)
        self.state = new
        self.step_in_trial += 1
        self._earliest_step += 1
        self.clock += 1

    def _kernel_steps(self, inputs: np.ndarray, explore: bool, learn: bool) -> np.ndarray:
        """``len(inputs[0])`` network steps in the compiled kernel, in place; ``inputs`` (B, K, n_inputs) float32.
        Returns the output units' rates after each step, (B, K, n_outputs). The eligibility's factors go straight
        into the accumulator's pending chunk, a piece per chunk, so the chunks fold at the same steps as one step
        at a time (a block equals its steps to the bit)."""
        cfg = self.config
        B, K = inputs.shape[:2]
        actions = np.empty((B, K, self.n_outputs), dtype=np.float32)
        W, x, r, x_bar, pre, post = self._kernel_views()
        done = 0
        while done < K:
            k = min(K - done, self.eligibility.room) if learn else K - done
            row0 = self.eligibility.free_rows(k) if learn else 0
            piece = actions if k == K else np.empty((B, k, self.n_outputs), dtype=np.float32)
            rate_kernels.run_block(
                W, x, r, x_bar, self.step_in_trial, self.clock, self._kernel_keys,
                np.ascontiguousarray(inputs[:, done : done + k]), piece, pre, post, row0, explore, learn,
                cfg.eligibility == "supralinear", self.exponent, *self._kernel_constants, NOISE_STREAM,
                cfg.perturbation_start_step, cfg.eligibility_start_step, *self._kernel_clamp, cfg.output_unit,
            )  # fmt: skip
            if learn:
                self.eligibility.filled(k)
            if piece is not actions:
                actions[:, done : done + k] = piece
            self.step_in_trial += k
            self.clock += k
            done += k
        self._earliest_step = int(self.step_in_trial.min())
        return actions

    def _kernel_views(self) -> tuple[np.ndarray, ...]:
        """Zero-copy numpy views of W, x, r, x_bar and the eligibility's pending buffers, made anew only when one
        of the tensors has been replaced (a reset replaces x, r and x_bar)."""
        tensors = (self.W, self.state.x, self.state.r, self.x_bar, *self.eligibility.buffers)
        if any(a is not b for a, b in zip(self._viewed, tensors, strict=True)):
            self._viewed, self._views = tensors, tuple(t.numpy() for t in tensors)
        return self._views

    # -- Agent hooks -----------------------------------------------------------------------------
    def _act(self, obs: Tensor, deterministic: bool) -> Tensor:
        if self._fused:
            inputs = obs.numpy()[:, None].repeat(self.substeps, axis=1)
            actions = self._kernel_steps(inputs, explore=not deterministic, learn=self.training)
            return torch.from_numpy(actions[:, -1])
        for _ in range(self.substeps):
            self._network_step(obs, explore=not deterministic, learn=self.training)
        return self.state.r[:, self._outputs]

    def predict_block(
        self,
        observations: np.ndarray,
        rewards: np.ndarray,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> np.ndarray:
        """K env steps in compiled calls (``rate_kernels.run_block``) on a CPU, equal to K calls of ``predict``
        and ``observe`` to the bit (tested); the rewards only add to the trial's return (the rule reads it at the
        trial's end). Otherwise ``Agent.predict_block``'s loop."""
        if not self._fused:
            return super().predict_block(observations, rewards, episode_start, deterministic)
        observations, rewards = self._start_block(observations, rewards, episode_start)
        inputs = observations.repeat(self.substeps, axis=1) if self.substeps > 1 else observations
        actions = self._kernel_steps(inputs, explore=not deterministic, learn=self.training)
        self.episode_return += rewards.sum(axis=1)
        self._batched = True
        return actions[:, self.substeps - 1 :: self.substeps]

    def _reset(self, mask: Tensor) -> None:
        cfg = self.config
        index = torch.nonzero(mask).flatten()
        r = cfg.initial_x_range
        x0 = self.state.x.clone()
        x0[index] = self.generators.uniform_rows(index.tolist(), cfg.n_units, low=-r, high=r)
        fresh = rate_init(x0, self._clamp_index, self._clamp_value)
        self.state = restart(self.state, fresh, mask)
        self.x_bar = torch.where(mask[:, None], self.state.x, self.x_bar)
        self._rate_view.copy_(self.state.r)
        self.eligibility.clear(mask)
        done = mask.cpu().numpy()
        self.step_in_trial[done] = 0
        self._earliest_step = int(self.step_in_trial.min())
        self.episode_return[done] = 0.0

    def _condition_index(self, names: np.ndarray) -> np.ndarray:
        for name in names:
            if name not in self.conditions:
                self.conditions.append(str(name))
                column = np.full((self.batch_size, 1), self.config.initial_baseline)
                self.baseline = np.concatenate([self.baseline, column], axis=1)
        return np.array([self.conditions.index(n) for n in names])

    def _observe(
        self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, info: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        self.episode_return += reward
        if not (terminated.any() or truncated.any()):
            return {}
        if not self.training:
            return {}
        cfg = self.config
        names = np.asarray(info.get("condition", np.full(self.batch_size, "all")), dtype=str)
        column = self._condition_index(names)
        rows = np.arange(self.batch_size)
        R, R_bar = self.episode_return, self.baseline[rows, column]
        learning = terminated & (self.trials_done >= cfg.learning_start_trials)
        metrics: dict[str, Any] = {}
        if learning.any():
            scale = np.where(learning, cfg.learning_rate * np.abs(R_bar) * (R - R_bar), 0.0)
            scale_t = torch.as_tensor(scale, device=self.device, dtype=self.dtype)[:, None, None]
            dJ = (scale_t * self.eligibility.read()).clamp_(-cfg.max_weight_change, cfg.max_weight_change)
            if self.connection_mask is not None:
                dJ *= self.connection_mask
            self.W[:, : cfg.n_units] += dJ
            metrics["mean_abs_dJ"] = float(dJ.abs().mean())
        self.baseline[rows[terminated], column[terminated]] = (
            cfg.baseline_decay * R_bar[terminated] + (1 - cfg.baseline_decay) * R[terminated]
        )
        self.trials_done[terminated] += 1
        self.eligibility.clear(
            torch.as_tensor(terminated | truncated, device=self.device)
        )  # the trial's trace is spent
        return metrics

    def _state_tensors(self) -> dict[str, Tensor]:
        t = {
            "W": self.W,
            "x": self.state.x,
            "r": self.state.r,
            "x_bar": self.x_bar,
            "eligibility": self.eligibility.read(),
            "generators": self.generators.get_state(),
            "step_in_trial": torch.as_tensor(self.step_in_trial),
            "episode_return": torch.as_tensor(self.episode_return),
            "trials_done": torch.as_tensor(self.trials_done),
            "clock": torch.tensor(self.clock),
        }
        if self.connection_mask is not None:
            t["connection_mask"] = self.connection_mask
        return t

    def _load_tensors(self, tensors: Mapping[str, Tensor]) -> None:
        self.W.copy_(tensors["W"])
        if self.connection_mask is not None:
            self.connection_mask.copy_(tensors["connection_mask"])
        self.state = RateState(x=tensors["x"].clone(), r=tensors["r"].clone())
        self.x_bar = tensors["x_bar"].clone()
        self._rate_view.copy_(self.state.r)
        self.eligibility.clear()
        self.eligibility.total.copy_(tensors["eligibility"])
        self.clock = int(tensors["clock"])
        self._noise, self._noise_start = self._noise[:, :0], 0  # the torch path draws its perturbations anew
        self.generators.set_state(tensors["generators"])
        self.step_in_trial = tensors["step_in_trial"].cpu().numpy().copy()
        self._earliest_step = int(self.step_in_trial.min())
        self.episode_return = tensors["episode_return"].cpu().numpy().copy()
        self.trials_done = tensors["trials_done"].cpu().numpy().copy()

    def _state_extra(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "conditions": list(self.conditions),
            "baseline": self.baseline.tolist(),  # (B, conditions seen so far): its width varies
        }

    def _select_extra(self, extra: dict[str, Any], indices: list[int]) -> dict[str, Any]:
        return {**extra, "baseline": [extra["baseline"][i] for i in indices]}

    def _load_extra(self, extra: Mapping[str, Any]) -> None:
        self.conditions = list(extra.get("conditions", []))
        self.baseline = np.array(extra.get("baseline", []), dtype=np.float64).reshape(
            self.batch_size, len(self.conditions)
        )
