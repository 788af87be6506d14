"""GOAL's store-and-recall trajectory (Capone, Muratore & Paolucci 2022): a Gymnasium env and its batched twin."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.rendering import (
    MUTED,
    Canvas,
    CanvasEnv,
    Color,
    Trace,
    _draw_dashed,
    _import_pygame,
    draw_panel,
    draw_time_axis,
)
from envs.vector import reset_arguments, set_vector_arguments

__all__ = ["FREQUENCIES", "TrajectoryEnv", "TrajectoryVectorEnv", "clock_inputs", "draw_trajectory"]

FREQUENCIES: tuple[int, ...] = (1, 2, 3, 5)
"""The frequencies of the target's sines (per 2 pi of the episode)."""


def draw_trajectory(
    rng: np.random.Generator, n_outputs: int = 3, n_steps: int = 150, onset_steps: int = 8
) -> np.ndarray:
    """GOAL's target, shape ``(n_steps, n_outputs)``, float64.

    ``y_k(t) = sum_{f in (1, 2, 3, 5)} A_kf sin(f t + phi_kf)`` with ``t = linspace(0, 2 pi, n_steps)``,
    ``A_kf ~ U(0, 1)``, ``phi_kf ~ U(0, 2 pi)`` (drawn output by output: the 4 amplitudes, then the 4
    phases); the first ``onset_steps`` steps are 0 and the whole array is divided by its maximum (not its
    absolute maximum), as GOAL's ``build_target`` does. A draw whose maximum is not positive is redrawn.
    """
    t = np.linspace(0.0, 2.0 * np.pi, n_steps)
    freqs = np.asarray(FREQUENCIES, dtype=np.float64)
    while True:
        y = np.empty((n_steps, n_outputs))
        for k in range(n_outputs):
            amplitudes = rng.uniform(0.0, 1.0, size=len(freqs))
            phases = rng.uniform(0.0, 2.0 * np.pi, size=len(freqs))
            y[:, k] = (amplitudes[:, None] * np.sin(freqs[:, None] * t + phases[:, None])).sum(axis=0)
        y[:onset_steps] = 0.0
        peak = y.max()
        if peak > 0:
            return y / peak


def clock_inputs(n_inputs: int = 5, n_steps: int = 150) -> np.ndarray:
    """GOAL's clock, shape ``(n_steps, n_inputs)``, float32: channel k is 1 on steps
    ``[k S, (k + 1) S)`` with ``S = (n_steps - 1) // n_inputs``. GOAL builds it one step shorter than the
    target (the last output needs no further input), so the last step's input is 0."""
    clock = np.zeros((n_steps, n_inputs), dtype=np.float32)
    span = (n_steps - 1) // n_inputs
    for k in range(n_inputs):
        clock[k * span : (k + 1) * span, k] = 1.0
    return clock


class _TrajectoryTask:
    """What both envs share: the validated settings, the clock, drawing a trajectory, rewards, infos."""

    def __init__(
        self,
        n_outputs: int,
        n_inputs: int,
        n_steps: int,
        dt_ms: float,
        onset_steps: int,
        output_scale: float,
        trajectory_seed: int | None,
    ) -> None:
        def positive_int(name: str, value: Any, minimum: int = 1) -> int:
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
            return int(value)

        self.n_outputs = positive_int("n_outputs", n_outputs)
        self.n_inputs = positive_int("n_inputs", n_inputs)
        self.n_steps = positive_int("n_steps", n_steps, minimum=2)
        if (self.n_steps - 1) // self.n_inputs < 1:
            raise ValueError(
                f"n_steps={n_steps} is too short for a clock of {n_inputs} inputs: use n_steps > n_inputs."
            )
        self.onset_steps = positive_int("onset_steps", onset_steps, minimum=0)
        if self.onset_steps >= self.n_steps:
            raise ValueError(f"onset_steps must be < n_steps={n_steps}, got {onset_steps}.")
        if not (isinstance(dt_ms, numbers.Real) and math.isfinite(dt_ms) and dt_ms > 0):
            raise ValueError(f"dt_ms must be a positive finite number of milliseconds, got {dt_ms!r}.")
        if not (isinstance(output_scale, numbers.Real) and math.isfinite(output_scale) and output_scale > 0):
            raise ValueError(f"output_scale must be a positive number, got {output_scale!r}.")
        if trajectory_seed is not None and not isinstance(trajectory_seed, numbers.Integral):
            raise ValueError(f"trajectory_seed must be None or an integer, got {trajectory_seed!r}.")
        self.dt_ms = float(dt_ms)
        self.output_scale = float(output_scale)
        self.trajectory_seed = trajectory_seed
        self.inputs = np.concatenate(
            [clock_inputs(self.n_inputs, self.n_steps), np.zeros((1, self.n_inputs), np.float32)]
        )

    def spaces(self) -> tuple[spaces.Box, spaces.Box]:
        return (
            spaces.Box(0.0, 1.0, shape=(self.n_inputs,), dtype=np.float32),
            spaces.Box(-1.0, 1.0, shape=(self.n_outputs,), dtype=np.float32),
        )

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """A trajectory in the paper's units, float64 ``(n_steps, n_outputs)``."""
        if self.trajectory_seed is not None:
            rng = np.random.default_rng(self.trajectory_seed)
        return draw_trajectory(rng, self.n_outputs, self.n_steps, self.onset_steps)

    def target_action(self, trajectory: np.ndarray) -> np.ndarray:
        """The desired actions: the trajectory over ``output_scale``, float32 (the action space's dtype)."""
        return (trajectory / self.output_scale).astype(np.float32)

    def error(self, target: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Squared error of the outputs ``output_scale * action`` against the target, averaged over outputs."""
        outputs = self.output_scale * actions.astype(np.float64)
        return np.mean((outputs - self.output_scale * target.astype(np.float64)) ** 2, axis=-1)


class TrajectoryEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    The store-and-recall benchmark of Capone C., Muratore P. & Paolucci P.S. (2022) "Error-based or
    target-based? A unified framework for learning in recurrent spiking networks", PLoS Comput Biol
    18(6): e1010221 (https://doi.org/10.1371/journal.pcbi.1010221), GOAL's ``src/utils.py``.

    A network hears a clock and must draw a fixed trajectory of `n_outputs` dimensions (3 by default)
    over `n_steps` steps of `dt_ms` = 1 ms (150 ms by default). Every episode repeats the same trajectory:
    it is drawn from the env's seed (the same seed, the same trajectory). Each output is a sum of sines at
    1, 2, 3 and 5 cycles per episode with amplitudes U(0, 1) and phases U(0, 2 pi), zero for the first
    `onset_steps` = 8 steps, and the whole target is divided by its maximum, as the paper does.

    **Time convention.** `reset()` returns the observation of step 0. `step(action_t)` takes the output
    at step t and returns the observation of step t + 1 (zeros after the last step); the info it returns
    describes step t.

    ## Action Space

    A `Box(-1, 1, (n_outputs,), float32)`: the network's outputs over `output_scale` (= 3), so that the
    paper's targets (maximum 1, minimum rarely below -2) fit: the output is y = `output_scale` * action.
    NaN/inf or a wrong shape raises `ValueError`; values outside [-1, 1] are clipped.

    ## Observation Space

    A `Box(0, 1, (n_inputs,), float32)`: the clock. Channel k is 1 on steps [k S, (k + 1) S) with
    S = (n_steps - 1) // n_inputs (GOAL builds the clock one step shorter than the target: the last
    step's input is 0). `n_inputs` = 5 by default.

    ## Rewards

    Minus the squared error of this step, averaged over outputs, in the paper's units:
    `-mean_k (output_scale * action_k - y*_k(t))^2`. Minus the return over `n_steps` is the paper's MSE,
    which the last step's `info["mse"]` holds.

    ## Starting State

    `reset(seed=s)` draws the trajectory from `s` (or from `trajectory_seed` when that is given);
    `reset()` without a seed repeats the current trajectory (the first one is drawn from fresh entropy).

    ## Episode End

    Termination after `n_steps` steps; never truncated.

    ## Info

    `target` (float32 `(n_outputs,)`: the desired action of the step, y*(t) / `output_scale`) and `t_ms`
    (the step's start time); the last step adds `mse` (float).

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import envs  # registers spikegym/*
    >>> env = gym.make("spikegym/Trajectory-v0", n_outputs=3, n_steps=150)
    >>> obs, info = env.reset(seed=0)
    >>> obs, info["target"].shape
    (array([1., 0., 0., 0., 0.], dtype=float32), (3,))

    ```

    | Parameter         | Type             | Default | Description                                                    |
    |-------------------|------------------|---------|----------------------------------------------------------------|
    | `render_mode`     | **str or None**  | `None`  | `"human"` (window), `"rgb_array"`                               |
    | `n_outputs`       | **int**          | `3`     | O, dimensions of the trajectory (`-O`)                          |
    | `n_inputs`        | **int**          | `5`     | I, clock channels (`-I`)                                        |
    | `n_steps`         | **int**          | `150`   | T, steps per episode (`-T`)                                     |
    | `dt_ms`           | **float**        | `1.0`   | the step in ms (`-dt`, in seconds there)                        |
    | `onset_steps`     | **int**          | `8`     | the target is 0 on the first steps                              |
    | `output_scale`    | **float**        | `3.0`   | output y = output_scale * action                                |
    | `trajectory_seed` | **int or None**  | `None`  | draw the trajectory from this seed whatever the reset seed      |

    `trajectory` holds the current target in the paper's units, `(n_steps, n_outputs)`; `output_scale`,
    `dt_ms` and `dt` (seconds) are attributes too.

    ## Vectorized environment

    `TrajectoryVectorEnv` steps B copies as arrays and matches `SyncVectorEnv` step for step.

    ## Version History

    * v0: Initial version.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 30}  # noqa: RUF012
    frame_size = (960, 620)

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        n_outputs: int = 3,
        n_inputs: int = 5,
        n_steps: int = 150,
        dt_ms: float = 1.0,
        onset_steps: int = 8,
        output_scale: float = 3.0,
        trajectory_seed: int | None = None,
    ) -> None:
        self._init_rendering(render_mode)
        self._task = _TrajectoryTask(n_outputs, n_inputs, n_steps, dt_ms, onset_steps, output_scale, trajectory_seed)
        self.dt_ms: float = self._task.dt_ms
        self.dt: float = self.dt_ms / 1000.0
        self.output_scale: float = self._task.output_scale
        self.observation_space, self.action_space = self._task.spaces()
        self.trajectory: np.ndarray | None = None
        self._target = np.zeros((self._task.n_steps, self._task.n_outputs), np.float32)
        self._step = 0
        self._actions = np.full((self._task.n_steps, self._task.n_outputs), np.nan)
        self._errors = np.zeros(self._task.n_steps)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; a seed (or the first reset) draws a new trajectory, else the last one repeats."""
        super().reset(seed=seed)
        if options:
            raise ValueError(f"Trajectory takes no reset options, got {sorted(options)}.")
        if seed is not None or self.trajectory is None:
            self.trajectory = self._task.draw(self.np_random)
            self._target = self._task.target_action(self.trajectory)
        self._step = 0
        self._actions[:] = np.nan
        self._started = True
        if self.render_mode == "human":
            self._render_frame()
        return self._task.inputs[0].copy(), self._info(0)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.trajectory is None:
            raise RuntimeError("TrajectoryEnv.step() called before reset(); call reset() first.")
        if self._step >= self._task.n_steps:
            raise RuntimeError("the episode is over (terminated=True was returned); call reset() to start another.")
        t = self._step
        self._actions[t] = _check_action(action, (self._task.n_outputs,), "Trajectory action")
        self._errors[t] = self._task.error(self._target[t], self._actions[t])
        self._step = t + 1
        info = self._info(t)
        terminated = self._step == self._task.n_steps
        if terminated:
            info["mse"] = float(self._errors.mean())
        if self.render_mode == "human" and (terminated or self._step % 5 == 0):
            self._render_frame()
        return self._task.inputs[self._step].copy(), -float(self._errors[t]), terminated, False, info

    def _info(self, t: int) -> dict[str, Any]:
        return {"target": self._target[t].copy(), "t_ms": t * self.dt_ms}

    def _draw(self, canvas: Canvas) -> None:
        _draw_episode(canvas, self._task, self._target, self._actions, self._step)


class TrajectoryVectorEnv(VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """``num_envs`` Trajectory episodes stepped as arrays; equal step for step to a SyncVectorEnv of
    :class:`TrajectoryEnv` (sub-env i seeded ``seed + i``, its own trajectory, ``final_obs`` and ``final_info``
    alike). ``autoreset_mode``: SAME_STEP (default), NEXT_STEP or DISABLED, as ``DNMSVectorEnv``.
    ``render_mode="rgb_array"`` gives one frame per sub-env."""

    metadata: dict[str, Any] = {  # noqa: RUF012
        "render_modes": ["rgb_array"],
        "render_fps": TrajectoryEnv.metadata["render_fps"],
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        *,
        n_outputs: int = 3,
        n_inputs: int = 5,
        n_steps: int = 150,
        dt_ms: float = 1.0,
        onset_steps: int = 8,
        output_scale: float = 3.0,
        trajectory_seed: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    ) -> None:
        set_vector_arguments(self, num_envs, autoreset_mode, render_mode)
        self._task = _TrajectoryTask(n_outputs, n_inputs, n_steps, dt_ms, onset_steps, output_scale, trajectory_seed)
        self.dt_ms = self._task.dt_ms
        self.dt = self.dt_ms / 1000.0
        self.single_observation_space, self.single_action_space = self._task.spaces()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        T, n_out = self._task.n_steps, self._task.n_outputs
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._rng_seeds: list[int | None] = [None] * self.num_envs
        self.trajectory = np.zeros((self.num_envs, T, n_out))
        self._drawn = np.zeros(self.num_envs, dtype=bool)
        self._target = np.zeros((self.num_envs, T, n_out), np.float32)
        self._step = np.zeros(self.num_envs, dtype=np.int64)
        self._actions = np.full((self.num_envs, T, n_out), np.nan)
        self._errors = np.zeros((self.num_envs, T))
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        self._started = False
        self._canvas: Canvas | None = None

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:  # type: ignore[override]
        return tuple(self._rng(i) for i in range(self.num_envs))

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start episodes: all, or those in ``options["reset_mask"]``; seeds as ``SyncVectorEnv.reset``."""
        seeds, mask = reset_arguments(seed, options, self.num_envs, type(self).__name__)
        for i in np.flatnonzero(mask):
            if seeds[i] is not None:
                self._rngs[i], self._rng_seeds[i] = seeding.np_random(seeds[i])
                self._drawn[i] = False
        self._start(mask)
        self._started = True
        return self._task.inputs[self._step], self._infos(self._step, mask)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("TrajectoryVectorEnv.step() called before reset(); call reset() first.")
        actions = _check_action(actions, (self.num_envs, self._task.n_outputs), "Trajectory actions")
        if self.autoreset_mode == AutoresetMode.DISABLED and self._needs_reset.any():
            raise RuntimeError(
                f"sub-envs {np.flatnonzero(self._needs_reset).tolist()} finished their episode; with autoreset_mode "
                "DISABLED call reset(options={'reset_mask': mask}) before stepping them."
            )
        restarting = self._needs_reset.copy() if self.autoreset_mode == AutoresetMode.NEXT_STEP else None
        if restarting is not None and restarting.any():
            self._start(restarting)
        stepping = np.ones(self.num_envs, dtype=bool) if restarting is None else ~restarting
        index = np.flatnonzero(stepping)
        t = self._step.copy()
        self._actions[index, t[index]] = actions[index]
        errors = self._task.error(self._target[index, t[index]], actions[index])
        self._errors[index, t[index]] = errors
        rewards = np.zeros(self.num_envs)
        rewards[index] = -errors
        self._step[index] += 1
        terminated = stepping & (self._step == self._task.n_steps)
        truncated = np.zeros(self.num_envs, dtype=bool)
        info_step = np.where(stepping, t, 0)
        mse = np.where(terminated, self._errors.mean(axis=1), np.nan)
        if terminated.any() and self.autoreset_mode == AutoresetMode.SAME_STEP:
            info = {
                "final_obs": _object_rows(self._task.inputs[self._step], terminated),
                "_final_obs": terminated.copy(),
                "final_info": self._infos(t, terminated, mse),
                "_final_info": terminated.copy(),
            }
            self._start(terminated)
            info.update(self._infos(np.where(terminated, 0, info_step), np.ones(self.num_envs, dtype=bool)))
            return self._task.inputs[self._step], rewards, terminated, truncated, info
        self._needs_reset = terminated
        info = self._infos(info_step, np.ones(self.num_envs, dtype=bool), mse)
        return self._task.inputs[self._step], rewards, terminated, truncated, info

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; make the env with render_mode='rgb_array'.")
            return None
        if not self._started:
            raise RuntimeError("nothing to render before the first reset(); call reset() first.")
        if self._canvas is None:
            self._canvas = Canvas("rgb_array", TrajectoryEnv.frame_size, self.metadata["render_fps"], "Trajectory")
        frames = []
        for i in range(self.num_envs):
            self._canvas.begin()
            _draw_episode(self._canvas, self._task, self._target[i], self._actions[i], int(self._step[i]))
            frames.append(self._canvas.present())
        return tuple(frames)

    def close_extras(self, **kwargs: Any) -> None:
        if self._canvas is not None:
            self._canvas.close()
            self._canvas = None

    def _rng(self, i: int) -> np.random.Generator:
        if self._rngs[i] is None:
            self._rngs[i], self._rng_seeds[i] = seeding.np_random()
        return self._rngs[i]

    def _start(self, mask: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            if not self._drawn[i]:
                self.trajectory[i] = self._task.draw(self._rng(i))
                self._target[i] = self._task.target_action(self.trajectory[i])
                self._drawn[i] = True
        self._step[mask] = 0
        self._actions[mask] = np.nan
        self._needs_reset[mask] = False

    def _infos(self, step: np.ndarray, included: np.ndarray, mse: np.ndarray | None = None) -> dict[str, Any]:
        """The sub-envs' infos batched as SyncVectorEnv batches them (a ``_key`` mask per key)."""
        step = np.where(included, step, 0)
        target = self._target[np.arange(self.num_envs), step]
        info: dict[str, Any] = {
            "target": np.where(included[:, None], target, np.float32(0.0)),
            "_target": included.copy(),
            "t_ms": np.where(included, step * self.dt_ms, 0.0),
            "_t_ms": included.copy(),
        }
        if mse is not None:
            has = included & ~np.isnan(mse)
            if has.any():
                info["mse"] = np.where(has, mse, 0.0)
                info["_mse"] = has
        return info


# Rendering: the outputs against their targets, one panel per dimension, and the path in 3-D.

_TARGET_COLOR: Color = (214, 39, 40)
_OUTPUT_COLOR: Color = (33, 37, 41)
_DIMENSION_COLORS: tuple[Color, ...] = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189))


def _draw_episode(canvas: Canvas, task: _TrajectoryTask, target: np.ndarray, actions: np.ndarray, step: int) -> None:
    """Header; output against target per dimension (left, up to 4 panels); the 3-D path (right)."""
    scale = task.output_scale
    y_target, y_out = scale * target.astype(np.float64), scale * actions[:step]
    canvas.text("Store and recall: a trajectory", (24, 16), size=30)
    done = step == task.n_steps
    status = (
        f"t = {step * task.dt_ms:g} ms"
        if not done
        else f"episode over    MSE = {np.nanmean((y_out - y_target) ** 2):.4f}"
    )
    canvas.text(status, (24, 50), size=22)
    canvas.text("Capone, Muratore & Paolucci (2022) PLoS CB", (936, 20), size=18, color=MUTED, anchor="topright")
    shown = min(task.n_outputs, 4)
    low = min(-1.0, float(np.floor(y_target.min() * 2) / 2))
    duration = task.n_steps * task.dt_ms
    height = (480 - 40 * shown) // shown
    rect = (70, 110, 520, height)
    for k in range(shown):
        rect = (70, 110 + k * (height + 40), 520, height)
        draw_panel(
            canvas,
            rect,
            title=f"output {k + 1}",
            traces=[
                Trace("target", y_target[:, k], _TARGET_COLOR, dashed=True),
                Trace("output", y_out[:, k], _DIMENSION_COLORS[k]),
            ],
            dt_ms=task.dt_ms,
            duration_ms=duration,
            epochs=[],
            y_range=(low - 0.1, 1.1),
            y_ticks=(low, 0, 1),
            current_ms=step * task.dt_ms,
        )
    draw_time_axis(canvas, rect, duration_ms=duration, tick_ms=25.0 if duration <= 250 else 100.0)
    _draw_projection(canvas, (620, 110, 320, 420), y_target, y_out, low)


def _draw_projection(
    canvas: Canvas, rect: tuple[int, int, int, int], target: np.ndarray, output: np.ndarray, low: float
) -> None:
    """An oblique projection of the first three dimensions (fewer are padded with 0): target dashed."""
    pygame = _import_pygame()
    left, top, width, height = rect
    pygame.draw.rect(canvas.surface, (255, 255, 255), rect)
    pygame.draw.rect(canvas.surface, MUTED, rect, 1)
    canvas.text("3-D projection", (left, top - 6), size=20, anchor="bottomleft")

    def project(points: np.ndarray) -> np.ndarray:
        p = np.zeros((len(points), 3))
        p[:, : min(3, points.shape[1])] = points[:, :3]
        p = (p - low) / (1.0 - low) - 0.5  # each axis to about [-0.5, 0.5]
        x = p[:, 0] - 0.45 * p[:, 1]
        y = p[:, 2] + 0.35 * p[:, 1]
        return np.column_stack((left + width / 2 + 0.6 * width * x, top + height / 2 - 0.6 * height * y))

    origin = project(np.full((1, 3), low))[0]
    for axis, label in enumerate(("y1", "y2", "y3")):
        end = np.full((1, 3), low)
        end[0, axis] = 1.0
        tip = project(end)[0]
        pygame.draw.line(canvas.surface, MUTED, origin.round(), tip.round(), 1)
        canvas.text(label, tuple(tip), size=16, color=MUTED, anchor="midbottom")
    _draw_dashed(canvas.surface, _TARGET_COLOR, project(target).round().astype(int).tolist())
    finite = output[np.isfinite(output).all(axis=1)]
    if len(finite) > 1:
        pygame.draw.lines(canvas.surface, _OUTPUT_COLOR, False, project(finite).round().astype(int).tolist(), 2)


def _check_action(action: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``action`` as a float64 array of ``shape`` clipped to [-1, 1], or a ValueError saying what is wrong."""
    try:
        array = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric with shape {shape}, got {action!r}.") from None
    if array.size != math.prod(shape) or (len(shape) == 2 and (array.ndim == 0 or array.shape[0] != shape[0])):
        raise ValueError(f"{name} must have shape {shape} (one value per output), got shape {array.shape}.")
    array = array.reshape(shape)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN/inf ({array.ravel().tolist()}); the output must be finite.")
    return np.minimum(np.maximum(array, -1.0), 1.0)


def _object_rows(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.full(len(rows), None, dtype=object)
    for i in np.flatnonzero(mask):
        out[i] = rows[i]
    return out
