"""Delayed non-match-to-sample (DNMS) of Miconi (eLife 2017): a Gymnasium env and its batched twin."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.rendering import MUTED, Canvas, Color, Epoch, Trace, draw_panel, draw_time_axis
from envs.trial import TrialSchedule
from envs.vector import reset_mask, reset_seeds, set_vector_arguments

__all__ = [
    "CONDITIONS",
    "CONDITION_ORDERS",
    "DEFAULT_TIMING_MS",
    "DNMSEnv",
    "DNMSVectorEnv",
    "dnms_trial",
]

CONDITIONS: tuple[str, ...] = ("AA", "AB", "BA", "BB")
"""Trial types: first letter = stimulus 1, second = stimulus 2. Their order is the paper's cycle."""

CHANNELS: tuple[str, ...] = ("A", "B")
"""Input channels, in observation order."""

CONDITION_ORDERS: tuple[str, ...] = ("cycle", "random")

DEFAULT_TIMING_MS: Mapping[str, float] = MappingProxyType(
    {"stimulus1": 200.0, "delay1": 200.0, "stimulus2": 200.0, "delay2": 200.0, "response": 200.0}
)
"""Epochs of one trial in order, with their durations in ms (Miconi 2017, Fig. 1)."""

_STIMULUS_EPOCHS = ("stimulus1", "stimulus2")
_RESET_OPTIONS = ("condition",)


def dnms_trial(condition: str, schedule: TrialSchedule, target: float = 0.98) -> tuple[np.ndarray, np.ndarray]:
    """The inputs and the target of one DNMS trial, step by step.

    Channel ``condition[k]`` is on (1.0) during the k-th stimulus epoch. The target is ``+target`` for a
    non-match (AB, BA), ``-target`` for a match (AA, BB), during the response epoch only.

    Args:
        condition: one of :data:`CONDITIONS`.
        schedule: the trial's epochs; must have the epochs of :data:`DEFAULT_TIMING_MS`.
        target: magnitude of the target output.

    Returns:
        ``inputs``, float32 of shape ``(schedule.n_steps, 2)``, and ``targets``, float32 (the action
        space's dtype, so that an output equal to the target has zero error) of shape
        ``(schedule.n_steps,)``, NaN outside the response epoch.
    """
    inputs = np.zeros((schedule.n_steps, len(CHANNELS)), dtype=np.float32)
    for epoch, channel in zip(_STIMULUS_EPOCHS, condition, strict=True):
        inputs[schedule.steps(epoch), CHANNELS.index(channel)] = 1.0
    targets = np.full(schedule.n_steps, np.nan, dtype=np.float32)
    is_match = condition[0] == condition[1]
    targets[schedule.steps("response")] = -target if is_match else target
    return inputs, targets


class _DNMSTask:
    """What both DNMS envs share: the validated settings and every condition's trial.

    ``inputs[c, t]`` is the observation of step ``t`` of condition index ``c``; row ``n_steps`` is all zeros,
    the observation after the last step. ``targets[c, t]`` is NaN outside the response epoch.
    """

    def __init__(
        self,
        dt_ms: float,
        timing: Mapping[str, float] | None,
        target: float,
        condition_order: str,
    ) -> None:
        if not (isinstance(target, numbers.Real) and 0.0 < target <= 1.0):
            raise ValueError(f"target must be a number in (0, 1] (the action space is [-1, 1]), got {target!r}.")
        if condition_order not in CONDITION_ORDERS:
            raise ValueError(f"condition_order must be one of {list(CONDITION_ORDERS)}, got {condition_order!r}.")
        self.schedule = TrialSchedule.from_timing(DEFAULT_TIMING_MS, timing, dt_ms)
        self.target = float(target)
        self.condition_order = condition_order

        trials = [dnms_trial(condition, self.schedule, self.target) for condition in CONDITIONS]
        after_last_step = np.zeros((1, len(CHANNELS)), dtype=np.float32)
        self.inputs = np.stack([np.concatenate((inputs, after_last_step)) for inputs, _ in trials])
        self.targets = np.stack([targets for _, targets in trials])
        response = self.schedule.steps("response")
        self.response_window = slice(response.start, response.stop)
        self.epoch_names = np.asarray(self.schedule.epochs, dtype=object)[self.schedule.epoch_index]
        self.condition_names = np.asarray(CONDITIONS, dtype=object)

    @staticmethod
    def spaces() -> tuple[spaces.Box, spaces.Box]:
        """(observation space, action space) of one trial: the A/B inputs, and the output unit's value."""
        return (
            spaces.Box(0.0, 1.0, shape=(len(CHANNELS),), dtype=np.float32),
            spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32),
        )

    @property
    def n_steps(self) -> int:
        return self.schedule.n_steps

    def next_condition(self, cycle_position: int, rng: np.random.Generator) -> int:
        """The condition index of the next unforced trial."""
        if self.condition_order == "cycle":
            return cycle_position % len(CONDITIONS)
        return int(rng.integers(len(CONDITIONS)))

    def error(self, condition: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Mean |action - target| over the response epoch, per trial.

        Args:
            condition: condition indices, shape ``(B,)``.
            actions: the outputs of the whole trial, shape ``(B, n_steps)``.

        Returns:
            The trial errors, shape ``(B,)``.
        """
        window = self.response_window
        targets = self.targets[condition, window].astype(np.float64)
        return np.mean(np.abs(actions[:, window] - targets), axis=1)

    def info(self, condition: int, step: int) -> dict[str, Any]:
        """The info describing step ``step`` of a trial of condition index ``condition``."""
        info: dict[str, Any] = {"condition": CONDITIONS[condition], "epoch": self.epoch_names[step]}
        target = self.targets[condition, step]
        if not math.isnan(target):
            info["target"] = np.array([target], dtype=np.float32)
        info["t_ms"] = self.schedule.t_ms(step)
        return info

    def batched_info(
        self,
        condition: np.ndarray,
        step: np.ndarray,
        included: np.ndarray,
        error: np.ndarray | None = None,
    ) -> dict[str, Any]:
        """:meth:`info` of sub-envs ``included`` batched as SyncVectorEnv batches them.

        Each key ``k`` holds one row per sub-env (zeros or None where a sub-env has no value) and ``_k``
        is the mask of the sub-envs that gave a value, exactly what ``VectorEnv._add_info`` builds.
        ``error`` (NaN where absent) adds the trial error of the sub-envs whose trial just ended.
        """
        num_envs = len(condition)
        if included.all():  # every step of a running batch: no masking needed
            info = {
                "condition": self.condition_names[condition],
                "_condition": included.copy(),
                "epoch": self.epoch_names[step],
                "_epoch": included.copy(),
            }
            target = self.targets[condition, step]
            has_target = target == target  # not NaN
            if has_target.any():
                info["target"] = np.where(has_target, target, np.float32(0.0))[:, None]
                info["_target"] = has_target
            info["t_ms"] = step * self.schedule.dt_ms
            info["_t_ms"] = included.copy()
            if error is not None:
                has_error = error == error
                if has_error.any():
                    info["error"] = np.where(has_error, error, 0.0)
                    info["_error"] = has_error
            return info
        step = np.where(included, step, 0)  # an excluded sub-env may be past its last step
        info = {}

        def add(key: str, values: np.ndarray, mask: np.ndarray) -> None:
            if mask.any():
                info[key] = values
                info[f"_{key}"] = mask.copy()

        names = np.full(num_envs, None, dtype=object)
        names[included] = self.condition_names[condition[included]]
        add("condition", names, included)
        epochs = np.full(num_envs, None, dtype=object)
        epochs[included] = self.epoch_names[step[included]]
        add("epoch", epochs, included)
        target = self.targets[condition, step]
        has_target = included & ~np.isnan(target)
        add("target", np.where(has_target, target, np.float32(0.0))[:, None], has_target)
        add("t_ms", np.where(included, step * self.schedule.dt_ms, 0.0), included)
        if error is not None:
            has_error = included & ~np.isnan(error)
            add("error", np.where(has_error, error, 0.0), has_error)
        return info

    @staticmethod
    def condition_from_options(options: Mapping[str, Any] | None) -> int | None:
        """The condition index forced by ``reset(options={"condition": ...})``, or None."""
        if not options:
            return None
        unknown = [key for key in options if key not in _RESET_OPTIONS]
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; DNMS accepts {list(_RESET_OPTIONS)}.")
        if "condition" not in options or options["condition"] is None:
            return None
        condition = options["condition"]
        if condition not in CONDITIONS:
            raise ValueError(f"unknown condition {condition!r}; choose one of {list(CONDITIONS)}.")
        return CONDITIONS.index(condition)


class DNMSEnv(gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    Delayed non-match-to-sample, the task of Miconi T. (2017) "Biologically plausible learning in recurrent
    neural networks reproduces neural dynamics observed during cognitive tasks", eLife 6:e20899
    (https://doi.org/10.7554/eLife.20899).

    One episode is one trial of 1000 ms, simulated in steps of `dt_ms` = 1 ms. Two stimuli, each A or B,
    are shown one after the other; after a delay the network's output unit must report whether they
    differed: +0.98 for a non-match (AB, BA), -0.98 for a match (AA, BB). The trial's epochs, in order:

    | Epoch       | Duration (ms) | Steps (dt = 1 ms) | What happens                     |
    |-------------|---------------|-------------------|----------------------------------|
    | `stimulus1` | 200           | 0-199             | input A or B is on               |
    | `delay1`    | 200           | 200-399           | no input                         |
    | `stimulus2` | 200           | 400-599           | input A or B is on               |
    | `delay2`    | 200           | 600-799           | no input                         |
    | `response`  | 200           | 800-999           | output is compared to the target |

    Trials cycle through the conditions AA, AB, BA, BB, as in the paper (or are drawn at random, see
    Arguments). The reward comes once, at the end of the trial, like the paper's trial error that drives
    its node-perturbation rule; the per-step target is in `info["target"]` during the response epoch for
    rules that learn from a teacher signal.

    **Time convention.** `reset()` returns the observation of step 0. `step(action_t)` takes the output
    at step t and returns the observation of step t + 1 (zeros after the last step); the info it returns
    describes step t, the step the action was taken in.

    ## Action Space

    A `Box(-1, 1, (1,), float32)`: the network output unit's value at this step (e.g. `tanh` of its
    potential). Values outside [-1, 1] are clipped. A scalar, shape `(1,)` or `(1, 1)` are accepted; any
    other shape, or a NaN/inf value, raises `ValueError`.

    ## Observation Space

    A `Box(0, 1, (2,), float32)`: the inputs of the current step.

    | Num | Observation | Min | Max |
    |-----|-------------|-----|-----|
    | 0   | input A     | 0   | 1   |
    | 1   | input B     | 0   | 1   |

    An input is 1.0 while its stimulus is on and 0.0 otherwise.

    ## Rewards

    0 on every step but the last. On the last step, minus the trial error: the mean of
    |action - target| over the steps of the response epoch (the error of a perfect trial is 0, of a
    silent output 0.98, the worst 1.98). `info["error"]` holds the error itself.

    ## Starting State

    The trial's condition: the next one of the cycle AA, AB, BA, BB (a seeded `reset` restarts the cycle
    at AA) or, with `condition_order="random"`, one drawn uniformly from `self.np_random`.
    `reset(options={"condition": "AB"})` forces a condition; a forced trial does not advance the cycle.

    ## Episode End

    Termination after the last step of the response epoch (step 999 with the defaults). The episode is
    never truncated.

    ## Info

    `reset` and `step` return `condition` (str), `epoch` (the name of the epoch of the step the info
    describes), `t_ms` (that step's start time in ms) and, during the response epoch only, `target`
    (float32 array of shape `(1,)`: the desired action of that step). The last step adds `error` (float).

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import envs  # registers spikegym/*
    >>> env = gym.make("spikegym/DNMS-v0", timing={"delay1": 400}, condition_order="random")
    >>> obs, info = env.reset(seed=0, options={"condition": "AB"})
    >>> obs, info["condition"], info["epoch"]
    (array([1., 0.], dtype=float32), 'AB', 'stimulus1')

    ```

    | Parameter         | Type                    | Default   | Description                                  |
    |-------------------|-------------------------|-----------|----------------------------------------------|
    | `render_mode`     | **str or None**         | `None`    | `"human"` (real-time window), `"rgb_array"`  |
    | `dt_ms`           | **float**               | `1.0`     | step in ms; epochs must be multiples of it   |
    | `timing`          | **Mapping[str, float]** | `None`    | epoch durations in ms, e.g. `{"delay1": 400}`|
    | `target`          | **float**               | `0.98`    | magnitude of the target output, in (0, 1]    |
    | `condition_order` | **str**                 | `"cycle"` | `"cycle"` (AA, AB, BA, BB, ...) or `"random"`|

    Besides the spaces, the env exposes `dt` (seconds per step, what agents read to pick their number of
    substeps), `dt_ms` and `schedule` (the `envs.trial.TrialSchedule` of the epochs).

    ## Vectorized environment

    `DNMSVectorEnv` steps many trials as one array operation and matches `SyncVectorEnv` step for step:

    ```python
    >>> envs = gym.make_vec("spikegym/DNMS-v0", num_envs=3)  # DNMSVectorEnv, AutoresetMode.SAME_STEP
    >>> envs.close()

    ```

    ## Version History

    * v0: Initial version.
    """

    # Gymnasium's API: a dict on the class, typed as on gym.Env (ClassVar would clash with that declaration).
    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 50}  # noqa: RUF012

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        dt_ms: float = 1.0,
        timing: Mapping[str, float] | None = None,
        target: float = 0.98,
        condition_order: str = "cycle",
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}."
            )
        self.render_mode = render_mode
        self._task = _DNMSTask(dt_ms, timing, target, condition_order)
        self.dt_ms: float = self._task.schedule.dt_ms
        self.dt: float = self.dt_ms / 1000.0  # seconds, the unit agents read (DESIGN.md)

        self.observation_space, self.action_space = self._task.spaces()

        self._condition: int | None = None  # None until the first reset
        self._step = 0
        self._actions = np.full(self._task.n_steps, np.nan)
        self._error = math.nan
        self._cycle_position = 0
        self._canvas: Canvas | None = None

    @property
    def schedule(self) -> TrialSchedule:
        """The trial's epochs and their steps."""
        return self._task.schedule

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a trial; see the class docstring for ``options`` and the condition order."""
        super().reset(seed=seed)
        forced = self._task.condition_from_options(options)
        if seed is not None:
            self._cycle_position = 0
        if forced is None:
            self._condition = self._task.next_condition(self._cycle_position, self.np_random)
            self._cycle_position += 1
        else:
            self._condition = forced
        self._step = 0
        self._actions[:] = np.nan
        self._error = math.nan
        if self.render_mode == "human":
            self._render_frame()
        return self._task.inputs[self._condition, 0].copy(), self._task.info(self._condition, 0)

    def step(self, action: np.ndarray | SupportsFloat) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Record the output of the current step and advance one step; see the class docstring."""
        if self._condition is None:
            raise RuntimeError("DNMSEnv.step() called before reset(); call reset() first.")
        if self._step >= self._task.n_steps:
            raise RuntimeError("the DNMS trial is over (terminated=True was returned); call reset() to start another.")
        t = self._step
        self._actions[t] = _check_action(action, (1,), "DNMS action")[0]
        self._step = t + 1
        info = self._task.info(self._condition, t)
        terminated = self._step == self._task.n_steps
        reward = 0.0
        if terminated:
            self._error = float(self._task.error(np.array([self._condition]), self._actions[None])[0])
            reward = -self._error
            info["error"] = self._error
        if self.render_mode == "human" and (terminated or self._step % self._human_frame_every == 0):
            self._render_frame()
        return self._task.inputs[self._condition, self._step].copy(), reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        """The frame as a uint8 ``(H, W, 3)`` array (``"rgb_array"``); ``"human"`` draws in step/reset."""
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render_mode; make the env with "
                'gym.make("spikegym/DNMS-v0", render_mode="rgb_array").'
            )
            return None
        if self.render_mode == "rgb_array":
            return self._render_frame()
        return None

    def close(self) -> None:
        """Close the window, if any. Safe to call more than once."""
        if self._canvas is not None:
            self._canvas.close()
            self._canvas = None

    @property
    def _human_frame_every(self) -> int:
        # One frame per 1000 / render_fps ms of trial time plays the trial back at real time.
        return max(1, round(1000.0 / self.metadata["render_fps"] / self.dt_ms))

    def _render_frame(self) -> np.ndarray | None:
        if self._canvas is None:
            assert self.render_mode is not None
            self._canvas = _make_canvas(self.render_mode, self.metadata["render_fps"])
        if self._condition is None:
            raise RuntimeError("nothing to render before the first reset(); call reset() first.")
        _draw_trial(self._canvas, self._task, self._condition, self._step, self._actions, self._error)
        return self._canvas.present()


class DNMSVectorEnv(VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """``num_envs`` DNMS trials stepped as arrays; equal step for step to a SyncVectorEnv of :class:`DNMSEnv`.

    Same task, arguments, spaces (batched), rewards and infos as :class:`DNMSEnv`; sub-env ``i`` has its own
    ``np.random.Generator``, seeded ``seed + i`` by ``reset(seed=seed)`` as SyncVectorEnv seeds its sub-envs,
    so ``gym.make_vec(id, num_envs=B, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode})``
    gives the same observations, rewards, terminations, truncations and infos (``final_obs`` and
    ``final_info`` included). All trials have the same length, so sub-envs started together end together;
    in ``"cycle"`` order they also share their condition.

    Args:
        num_envs: number of trials stepped together.
        render_mode: ``None`` or ``"rgb_array"`` (``render()`` returns one frame per sub-env).
        dt_ms, timing, target, condition_order: as :class:`DNMSEnv`.
        autoreset_mode: ``AutoresetMode.SAME_STEP`` (default: a finished sub-env returns the first
            observation of its next trial at once, the last one in ``info["final_obs"]``), ``NEXT_STEP``
            (the step after ``terminated`` resets, ignoring its action) or ``DISABLED`` (reset finished
            sub-envs with ``reset(options={"reset_mask": mask})``). Strings are converted.
    """

    # Gymnasium's API, as on DNMSEnv; __init__ replaces it per instance with the chosen autoreset mode.
    metadata: dict[str, Any] = {  # noqa: RUF012
        "render_modes": ["rgb_array"],
        "render_fps": DNMSEnv.metadata["render_fps"],
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        *,
        dt_ms: float = 1.0,
        timing: Mapping[str, float] | None = None,
        target: float = 0.98,
        condition_order: str = "cycle",
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    ) -> None:
        set_vector_arguments(self, num_envs, autoreset_mode, render_mode)
        self._task = _DNMSTask(dt_ms, timing, target, condition_order)
        self.dt_ms: float = self._task.schedule.dt_ms
        self.dt: float = self.dt_ms / 1000.0  # seconds, the unit agents read (DESIGN.md)

        self.single_observation_space, self.single_action_space = self._task.spaces()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._rng_seeds: list[int | None] = [None] * self.num_envs
        self._cycle_position = np.zeros(self.num_envs, dtype=np.int64)
        self._condition = np.zeros(self.num_envs, dtype=np.int64)
        self._step = np.zeros(self.num_envs, dtype=np.int64)
        self._actions = np.full((self.num_envs, self._task.n_steps), np.nan)
        self._error = np.full(self.num_envs, np.nan)
        self._needs_reset = np.zeros(self.num_envs, dtype=np.bool_)  # finished trials not yet reset
        self._no_envs = np.zeros(self.num_envs, dtype=np.bool_)  # read-only: "no sub-env" mask
        self._no_envs.flags.writeable = False
        self._all_envs = np.ones(self.num_envs, dtype=np.bool_)
        self._all_envs.flags.writeable = False
        self._env_index = np.arange(self.num_envs)
        self._started = False
        self._canvas: Canvas | None = None

    @property
    def schedule(self) -> TrialSchedule:
        """The trial's epochs and their steps."""
        return self._task.schedule

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:  # type: ignore[override]
        """The sub-envs' random generators (as ``SyncVectorEnv.np_random``)."""
        return tuple(self._rng(i) for i in range(self.num_envs))

    @property
    def np_random_seed(self) -> tuple[int | None, ...]:  # type: ignore[override]
        """The seeds of the sub-envs' generators (as ``SyncVectorEnv.np_random_seed``)."""
        for i in range(self.num_envs):
            self._rng(i)
        return tuple(self._rng_seeds)

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start new trials: all, or those in ``options["reset_mask"]``; seeds as ``SyncVectorEnv.reset``."""
        seeds = reset_seeds(seed, self.num_envs)
        options = dict(options or {})
        mask = reset_mask(options.pop("reset_mask", None), self.num_envs)
        forced = self._task.condition_from_options(options)

        for i in np.flatnonzero(mask):
            if seeds[i] is not None:
                self._rngs[i], self._rng_seeds[i] = seeding.np_random(seeds[i])
                self._cycle_position[i] = 0
        self._start_trials(mask, forced)
        self._started = True
        info = self._task.batched_info(self._condition, self._step, mask)
        return self._observations(), info

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Record each sub-env's output and advance one step; finished trials reset per ``autoreset_mode``."""
        if not self._started:
            raise RuntimeError("DNMSVectorEnv.step() called before reset(); call reset() first.")
        outputs = _check_action(actions, (self.num_envs, 1), "DNMS actions")[:, 0]
        num_envs, n_steps = self.num_envs, self._task.n_steps

        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            restarting = self._needs_reset.copy()
            self._start_trials(restarting, forced=None)
        elif self.autoreset_mode == AutoresetMode.DISABLED and self._needs_reset.any():
            raise RuntimeError(
                f"sub-envs {np.flatnonzero(self._needs_reset).tolist()} finished their trial; with "
                "autoreset_mode DISABLED call reset(options={'reset_mask': mask}) before stepping them."
            )
        else:  # SAME_STEP never leaves a sub-env waiting for a reset
            restarting = self._no_envs
        # Record this step's outputs, then advance: info describes t, the step the action was taken in.
        t = self._step.copy()
        if restarting is self._no_envs:  # every sub-env steps (SAME_STEP, and most NEXT_STEP steps)
            self._actions[self._env_index, t] = outputs
            self._step += 1
            terminated = self._step == n_steps
            info_step = t
        else:
            stepping = ~restarting
            self._actions[stepping, t[stepping]] = outputs[stepping]
            self._step[stepping] += 1
            terminated = stepping & (self._step == n_steps)
            info_step = np.where(restarting, 0, t)
        rewards = np.zeros(num_envs)
        truncated = np.zeros(num_envs, dtype=np.bool_)
        if not terminated.any():
            self._needs_reset = terminated
            info = self._task.batched_info(self._condition, info_step, self._all_envs)
            return self._observations(), rewards, terminated, truncated, info

        error = np.full(num_envs, np.nan)
        error[terminated] = self._task.error(self._condition[terminated], self._actions[terminated])
        self._error[terminated] = error[terminated]
        rewards[terminated] = -error[terminated]
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            info = {
                "final_obs": _object_rows(self._observations(), terminated),
                "_final_obs": terminated.copy(),
                "final_info": self._task.batched_info(self._condition, t, terminated, error),
                "_final_info": terminated.copy(),
            }
            self._start_trials(terminated, forced=None)
            info_step = np.where(terminated, 0, info_step)
            info.update(self._task.batched_info(self._condition, info_step, self._all_envs))
        else:
            self._needs_reset = terminated
            info = self._task.batched_info(self._condition, info_step, self._all_envs, error)
        return self._observations(), rewards, terminated, truncated, info

    # -- blocks of steps (``train.loop``) -----------------------------------------------------------------
    def lookahead_steps(self) -> int:
        """How many of the next steps have observations and rewards no action can change: every step of the
        trials but their last (the stimuli are the condition's, the reward 0 until the last step, whose reward
        is the outputs' error), in all sub-envs; 0 before the first reset or while a sub-env waits for its reset."""
        if not self._started or self._needs_reset.any():
            return 0
        return max(0, int(self._task.n_steps - 1 - self._step.max()))

    def scheduled(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The observations (num_envs, k, 2) and rewards (num_envs, k) of the next k steps (the current
        observation first), k <= ``lookahead_steps()``."""
        if not 0 < k <= self.lookahead_steps():
            raise ValueError(f"the next {k} steps are not fixed: at most {self.lookahead_steps()}")
        steps = self._step[:, None] + np.arange(k)
        return self._task.inputs[self._condition[:, None], steps], np.zeros((self.num_envs, k))

    def step_block(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """k steps at once (k <= ``lookahead_steps()``), equal to k calls of ``step``, none of which ends a trial;
        ``actions`` (num_envs, k, 1). Returns the observations after the block, the rewards (num_envs, k) and
        the info of the block's last step."""
        if not self._started:
            raise RuntimeError("DNMSVectorEnv.step_block() called before reset(); call reset() first.")
        array = np.asarray(actions)
        if array.ndim != 3:
            raise ValueError(
                f"a DNMS block's actions must have shape ({self.num_envs}, k, 1) (each env's output at each of the k "
                f"steps), got shape {array.shape}."
            )
        k = array.shape[1]
        outputs = _check_action(array, (self.num_envs, k, 1), "a DNMS block's actions")[:, :, 0]
        if not 0 < k <= self.lookahead_steps():
            raise ValueError(f"the next {k} steps are not fixed: at most {self.lookahead_steps()}")
        t = self._step.copy()
        self._actions[self._env_index[:, None], t[:, None] + np.arange(k)] = outputs
        self._step += k
        info = self._task.batched_info(self._condition, self._step - 1, self._all_envs)
        return self._observations(), np.zeros((self.num_envs, k)), info

    def render(self) -> tuple[np.ndarray, ...] | None:
        """One uint8 ``(H, W, 3)`` frame per sub-env (``"rgb_array"``), as ``SyncVectorEnv.render``."""
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render_mode; make the env with "
                'gym.make_vec("spikegym/DNMS-v0", render_mode="rgb_array").'
            )
            return None
        if not self._started:
            raise RuntimeError("nothing to render before the first reset(); call reset() first.")
        if self._canvas is None:
            self._canvas = _make_canvas(self.render_mode, self.metadata["render_fps"])
        frames = []
        for i in range(self.num_envs):
            _draw_trial(
                self._canvas,
                self._task,
                int(self._condition[i]),
                int(self._step[i]),
                self._actions[i],
                self._error[i],
            )
            frames.append(self._canvas.present())
        return tuple(frames)

    def close_extras(self, **kwargs: Any) -> None:
        """Release the renderer (``close()`` itself is idempotent)."""
        if self._canvas is not None:
            self._canvas.close()
            self._canvas = None

    def _rng(self, i: int) -> np.random.Generator:
        # Like Env.np_random: an unseeded sub-env gets a generator from fresh entropy on first use.
        rng = self._rngs[i]
        if rng is None:
            rng, self._rng_seeds[i] = seeding.np_random()
            self._rngs[i] = rng
        return rng

    def _start_trials(self, mask: np.ndarray, forced: int | None) -> None:
        """Begin a new trial in the sub-envs of ``mask``, in sub-env order (as SyncVectorEnv resets them)."""
        for i in np.flatnonzero(mask):
            if forced is None:
                self._condition[i] = self._task.next_condition(int(self._cycle_position[i]), self._rng(i))
                self._cycle_position[i] += 1
            else:
                self._condition[i] = forced
        self._step[mask] = 0
        self._actions[mask] = np.nan
        self._error[mask] = np.nan
        self._needs_reset[mask] = False

    def _observations(self) -> np.ndarray:
        return self._task.inputs[self._condition, self._step]


# Rendering: DNMS's layout on top of envs.rendering's panels.

_FRAME_SIZE = (960, 580)
_CHANNEL_COLORS: tuple[Color, ...] = ((31, 119, 180), (255, 127, 14))  # A blue, B orange
_OUTPUT_COLOR: Color = (33, 37, 41)
_TARGET_COLOR: Color = (214, 39, 40)
_EPOCH_COLORS: Mapping[str, Color] = {
    "stimulus1": (160, 150, 210),
    "delay1": (190, 192, 196),
    "stimulus2": (160, 150, 210),
    "delay2": (190, 192, 196),
    "response": (110, 190, 130),
}
_INPUTS_RECT = (80, 140, 850, 150)
_OUTPUT_RECT = (80, 350, 850, 160)


def _make_canvas(render_mode: str, render_fps: float) -> Canvas:
    return Canvas(render_mode, _FRAME_SIZE, render_fps, caption="spikegym/DNMS-v0")


def _draw_trial(canvas: Canvas, task: _DNMSTask, condition: int, step: int, actions: np.ndarray, error: float) -> None:
    """Draw one trial so far: header, inputs panel, output-vs-target panel and time axis.

    ``step`` is the next step (its observation was the last one returned); ``actions[:step]`` are the
    outputs so far and ``error`` is NaN until the trial ends.
    """
    schedule = task.schedule
    canvas.begin()
    name = CONDITIONS[condition]
    kind = "match" if name[0] == name[1] else "non-match"
    canvas.text("Delayed non-match-to-sample", (24, 18), size=32)
    canvas.text(f"condition {name}  ({kind})", (936, 22), size=26, anchor="topright")
    if step < schedule.n_steps:
        status = f"t = {schedule.t_ms(step):g} ms    epoch: {schedule.epoch_at(step)}"
    else:
        status = f"trial over    error = {error:.3f}    reward = {-error:.3f}"
    canvas.text(status, (24, 56), size=24)
    canvas.text("Miconi (2017) eLife 6:e20899", (936, 58), size=18, color=MUTED, anchor="topright")

    common = {
        "dt_ms": schedule.dt_ms,
        "duration_ms": schedule.duration_ms,
        "epochs": [Epoch(n, start, end, _EPOCH_COLORS[n]) for n, start, end in schedule.bounds_ms()],
        "current_ms": schedule.t_ms(step),
        "current_epoch": schedule.epoch_at(step) if step < schedule.n_steps else None,
    }
    shown = min(step + 1, schedule.n_steps)  # the inputs up to the observation the agent has seen
    inputs = [
        Trace(f"input {channel}", task.inputs[condition, :shown, k], color, fill=True)
        for k, (channel, color) in enumerate(zip(CHANNELS, _CHANNEL_COLORS, strict=True))
    ]
    draw_panel(
        canvas,
        _INPUTS_RECT,
        title="Inputs",
        traces=inputs,
        y_range=(-0.08, 1.4),
        y_ticks=(0, 1),
        epoch_labels=True,
        **common,
    )
    outputs = [
        Trace("target", task.targets[condition, :step], _TARGET_COLOR, dashed=True),
        Trace("output (action)", actions[:step], _OUTPUT_COLOR),
    ]
    draw_panel(
        canvas,
        _OUTPUT_RECT,
        title="Output",
        traces=outputs,
        y_range=(-1.1, 1.1),
        y_ticks=(-1, 0, 1),
        **common,
    )
    draw_time_axis(canvas, _OUTPUT_RECT, duration_ms=schedule.duration_ms, tick_ms=_axis_tick_ms(schedule))


def _axis_tick_ms(schedule: TrialSchedule) -> float:
    """A round tick spacing giving about 5-10 ticks over the trial."""
    for tick in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if schedule.duration_ms / tick <= 10:
            return float(tick)
    return 10_000.0


# Input checks shared by both envs.


def _check_action(action: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``action`` as a float64 array of ``shape``, clipped to [-1, 1], or a ValueError saying what is wrong.

    Any layout of the right number of values is accepted as long as a batch (``shape[0]`` of a 2-D
    ``shape``) stays the leading axis: a scalar for ``(1,)``, ``(B,)`` for ``(B, 1)``.
    """
    try:
        array = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric with shape {shape}, got {action!r}.") from None
    batch_first = len(shape) == 1 or (array.ndim >= 1 and array.shape[0] == shape[0])
    if array.size != math.prod(shape) or not batch_first:
        raise ValueError(f"{name} must have shape {shape} (one output value per env), got shape {array.shape}.")
    array = array.reshape(shape)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN/inf ({array.ravel().tolist()}); the output must be finite.")
    return np.minimum(np.maximum(array, -1.0), 1.0)  # np.clip costs ~4x more per call on small arrays


def _object_rows(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Object array of ``rows[i]`` where ``mask[i]``, None elsewhere: SyncVectorEnv's ``final_obs`` layout."""
    out = np.full(len(rows), None, dtype=object)
    for i in np.flatnonzero(mask):
        out[i] = rows[i]
    return out
