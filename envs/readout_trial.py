"""What Legenstein, Pecevski & Maass (2008)'s readout tasks share (computer simulations 4 and 5).

One episode is one trial of ``n_steps`` steps of ``dt_ms``: a stimulus plays on ``n_channels`` input
channels (the observation, ``MultiBinary(n_channels)``), and the action is the readout neuron's spike
(``MultiBinary(1)``). A readout spike at step s adds the reward pulse ``sign * pulse[t - s]`` to the trial's
reward signal, a delayed alpha kernel signed +1 if the trial's stimulus is the target and -1 otherwise; the
reward at step t is the signal at t. The last step's info adds ``output_spikes`` and ``correct``.

A task (:class:`ReadoutTask`) says what its stimuli are; :class:`ReadoutTrialEnv` and
:class:`ReadoutTrialVectorEnv` run the trials, singly or as arrays, the same way for every task.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.rendering import CanvasEnv
from envs.vector import CopyGenerators, reset_seeds, vector_arguments

__all__ = [
    "ReadoutTask",
    "ReadoutTrialEnv",
    "ReadoutTrialVectorEnv",
    "alpha_kernel",
    "readout_spikes",
    "task_arguments",
]


def alpha_kernel(t_s: np.ndarray, tau_s: float) -> np.ndarray:
    """``(t / tau) exp(1 - t / tau)`` for t >= 0 (peak 1 at t = tau), 0 before."""
    t = np.asarray(t_s, dtype=np.float64)
    return np.where(t >= 0, (t / tau_s) * np.exp(1.0 - t / tau_s), 0.0)


def readout_spikes(actions: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The readout's spikes from an action (0 or 1 of ``shape``) as a flat bool array; a clear error otherwise."""
    spikes = np.asarray(actions)
    if spikes.size != int(np.prod(shape)) or not np.isin(spikes, (0, 1)).all():
        raise ValueError(f"the action is the readout's spike: 0 or 1, shape {shape}; got {actions!r}.")
    return spikes.reshape(-1).astype(bool)


def task_arguments(env_class: type[ReadoutTrialEnv]) -> dict[str, Any]:
    """The task's arguments and their defaults, from the single env's keyword-only ``__init__`` parameters."""
    parameters = inspect.signature(env_class.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


class ReadoutTask(ABC):
    """The per-task part of a readout trial, shared by the single and the vectorised env.

    A stimulus is an index k (sim 4's template, sim 5's recording). A subclass validates its arguments (with
    :meth:`reward_problems` among them), calls :meth:`_set_timing` and says what its stimuli are.
    """

    name: ClassVar[str]  # the task in messages: "unknown {name} argument(s)"
    n_channels: int
    dt_ms: float
    dt: float
    n_steps: int
    pulse: np.ndarray  # one readout spike's reward pulse: its value at each step after the spike

    @staticmethod
    def reward_problems(reward_delay_ms: float, reward_tau_ms: float) -> list[str]:
        if reward_tau_ms <= 0 or reward_delay_ms < 0:
            return ["reward_tau_ms must be > 0 and reward_delay_ms >= 0"]
        return []

    def _set_timing(
        self, n_channels: int, trial_ms: float, dt_ms: float, reward_delay_ms: float, reward_tau_ms: float
    ) -> None:
        self.n_channels = int(n_channels)
        self.dt_ms = float(dt_ms)
        self.dt = self.dt_ms / 1000.0
        self.n_steps = round(trial_ms / dt_ms)
        # The delayed alpha kernel, sampled at the steps after the spike.
        self.pulse = alpha_kernel(
            (np.arange(self.n_steps) * self.dt_ms - reward_delay_ms) / 1000.0, reward_tau_ms / 1000.0
        )

    def spaces(self) -> tuple[spaces.MultiBinary, spaces.MultiBinary]:
        return spaces.MultiBinary(self.n_channels), spaces.MultiBinary(1)

    @abstractmethod
    def next_stimulus(self, cycle: int, rng: np.random.Generator) -> int:
        """The stimulus of the env's ``cycle``-th unforced trial since its last seeded reset."""

    @abstractmethod
    def forced_stimulus(self, options: Mapping[str, Any] | None, rng: np.random.Generator) -> int | None:
        """The stimulus ``reset(options=...)`` asks for, or None; a clear error for options the task lacks."""

    @abstractmethod
    def fill_inputs(self, k: int, inputs: np.ndarray) -> None:
        """Write stimulus k's trial raster into ``inputs`` (shape ``(n_steps, n_channels)``, int8)."""

    @abstractmethod
    def is_target(self, k: int) -> bool:
        """Whether stimulus k is the one whose readout spikes are rewarded."""

    @abstractmethod
    def labels(self, k: int) -> dict[str, Any]:
        """Stimulus k's info entries (numbers or strings), on every step."""

    def sign(self, k: int) -> float:
        return 1.0 if self.is_target(k) else -1.0

    def correct(self, k: int, output_spikes: int) -> bool:
        """Fired for the target, or stayed silent for the other."""
        return bool((output_spikes > 0) == self.is_target(k))


class ReadoutTrialEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """A readout task's single env: one trial an episode (see the module). A subclass builds its task, hands
    it to ``__init__`` and draws the trial in ``_draw``."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}  # noqa: RUF012

    def __init__(self, render_mode: str | None, task: ReadoutTask) -> None:
        self._init_rendering(render_mode)
        self._task = task
        self.n_channels, self.dt_ms, self.dt, self.n_steps = task.n_channels, task.dt_ms, task.dt, task.n_steps
        self.observation_space, self.action_space = task.spaces()
        self._stimulus = 0
        self._cycle = 0
        self._step = 0
        self._inputs = np.zeros((self.n_steps, self.n_channels), dtype=np.int8)
        self._reward_signal = np.zeros(self.n_steps)
        self._output = np.zeros(self.n_steps, dtype=bool)

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        seeded = seed is not None
        super().reset(seed=seed)
        if seeded:
            self._cycle = 0
        forced = self._task.forced_stimulus(options, self.np_random)
        if forced is not None:
            self._stimulus = forced
        else:
            self._stimulus = self._task.next_stimulus(self._cycle, self.np_random)
            self._cycle += 1
        self._task.fill_inputs(self._stimulus, self._inputs)
        self._reward_signal[:] = 0.0
        self._output[:] = False
        self._step = 0
        self._started = True
        if self.render_mode == "human":
            self._render_frame()
        return self._inputs[0].copy(), self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError(f"{type(self).__name__}.step() called before reset(); call reset() first.")
        spike = readout_spikes(action, (1,))[0]
        t = self._step
        info = self._info()
        if spike:
            self._output[t] = True
            self._reward_signal[t:] += self._task.sign(self._stimulus) * self._task.pulse[: self.n_steps - t]
        reward = float(self._reward_signal[t])
        self._step += 1
        terminated = self._step == self.n_steps
        if terminated:
            fired = int(self._output.sum())
            info.update(output_spikes=fired, correct=self._task.correct(self._stimulus, fired))
            observation = np.zeros(self.n_channels, dtype=np.int8)
        else:
            observation = self._inputs[self._step].copy()
        if self.render_mode == "human" and (terminated or self._step % 100 == 0):
            self._render_frame()
        return observation, reward, terminated, False, info

    def _info(self) -> dict[str, Any]:
        return {**self._task.labels(self._stimulus), "t_ms": self._step * self.dt_ms}


def _info_array(values: list[Any]) -> np.ndarray:
    """One info entry of every copy, batched as ``SyncVectorEnv`` batches it: numbers typed, the rest objects."""
    kind = type(values[0])
    if kind in (int, float, bool) or issubclass(kind, np.number):
        return np.array(values, dtype=kind)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


class ReadoutTrialVectorEnv(VectorEnv):
    """``num_envs`` copies of a readout task's single env stepped as arrays, equal to ``SyncVectorEnv``'s
    step for step (``AutoresetMode.SAME_STEP``: trials all last ``n_steps``). A subclass names its
    ``task_class`` and its ``single_env``, whose keyword-only arguments and defaults are the task's."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}  # noqa: RUF012
    task_class: ClassVar[type[ReadoutTask]]
    single_env: ClassVar[type[ReadoutTrialEnv]]

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        render_mode: str | None = None,
        **task_kwargs: Any,
    ) -> None:
        name = type(self).__name__
        num_envs = vector_arguments(name, num_envs, autoreset_mode, render_mode)
        defaults = task_arguments(self.single_env)
        unknown = sorted(set(task_kwargs) - set(defaults))
        if unknown:
            raise TypeError(f"unknown {self.task_class.name} argument(s) {unknown}; valid: {sorted(defaults)}")
        self._task = task = self.task_class(**{**defaults, **task_kwargs})
        self.num_envs = n = num_envs
        self.n_channels, self.dt_ms, self.dt, self.n_steps = task.n_channels, task.dt_ms, task.dt, task.n_steps
        self.single_observation_space, self.single_action_space = task.spaces()
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self._rngs = CopyGenerators(n)
        self._all = np.ones(n, dtype=bool)
        self._cycle = np.zeros(n, dtype=np.int64)
        self._stimulus = np.zeros(n, dtype=np.int64)
        self._signs = np.zeros(n)
        self._step = 0
        self._inputs = np.zeros((n, task.n_steps, task.n_channels), dtype=np.int8)
        self._signal = np.zeros((n, task.n_steps))
        self._output = np.zeros((n, task.n_steps), dtype=bool)
        self._started = False

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        seeds = reset_seeds(seed, self.num_envs)
        self._rngs.seed(seeds, self._all)
        self._cycle[[s is not None for s in seeds]] = 0
        self._start_trials(options)
        self._started = True
        return self._observations(), self._info(np.zeros(self.num_envs))

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError(f"{type(self).__name__}.step() called before reset(); call reset() first.")
        n = self.num_envs
        spikes = readout_spikes(actions, (n, 1))
        t = self._step
        for i in np.flatnonzero(spikes):  # a few readout spikes per trial: add their pulses row by row
            self._output[i, t] = True
            self._signal[i, t:] += self._signs[i] * self._task.pulse[: self.n_steps - t]
        rewards = self._signal[:, t].copy()
        info = self._info(np.full(n, t * self.dt_ms))
        self._step += 1
        truncated = np.zeros(n, dtype=bool)
        if self._step < self.n_steps:
            return self._observations(), rewards, np.zeros(n, dtype=bool), truncated, info
        fired = self._output.sum(axis=1)
        final = {
            **info,
            "output_spikes": fired,
            "_output_spikes": self._all.copy(),
            "correct": np.array(
                [self._task.correct(int(k), int(f)) for k, f in zip(self._stimulus, fired, strict=True)]
            ),
            "_correct": self._all.copy(),
        }
        final_obs = np.empty(n, dtype=object)
        for i in range(n):
            final_obs[i] = np.zeros(self.n_channels, dtype=np.int8)
        self._start_trials(None)
        info = {
            **self._info(np.zeros(n)),
            "final_obs": final_obs,
            "_final_obs": self._all.copy(),
            "final_info": final,
            "_final_info": self._all.copy(),
        }
        return self._observations(), rewards, self._all.copy(), truncated, info

    def _start_trials(self, options: Mapping[str, Any] | None) -> None:
        for i in range(self.num_envs):
            forced = self._task.forced_stimulus(options, self._rngs[i])
            if forced is not None:
                self._stimulus[i] = forced
            else:
                self._stimulus[i] = self._task.next_stimulus(int(self._cycle[i]), self._rngs[i])
                self._cycle[i] += 1
            self._task.fill_inputs(int(self._stimulus[i]), self._inputs[i])
        self._signs = np.array([self._task.sign(int(k)) for k in self._stimulus])
        self._step = 0
        self._signal[:] = 0.0
        self._output[:] = False

    def _observations(self) -> np.ndarray:
        return self._inputs[:, self._step].copy()

    def _info(self, t_ms: np.ndarray) -> dict[str, Any]:
        labels = [self._task.labels(int(k)) for k in self._stimulus]
        entries = {key: _info_array([label[key] for label in labels]) for key in labels[0]}
        entries["t_ms"] = np.asarray(t_ms, dtype=np.float64)
        info = {}
        for key, value in entries.items():  # in SyncVectorEnv's order: each entry, then its mask
            info[key], info[f"_{key}"] = value, self._all.copy()
        return info
