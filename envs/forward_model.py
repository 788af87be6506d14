"""FOLLOW's forward-model tasks (Gilra & Gerstner 2017): what VanDerPol-v0 and ArmForwardModel-v0 share.

A reference dynamical system ``dx/dt = F(x, u)`` runs under an input ``u(t)`` that the experimenter draws
trial by trial. The network hears the input (the observation) and must predict the system's state (the
action); the reference state is the target (``info["target"]``) and the reward is minus the squared
prediction error. In the paper the network is driven by the input and, while it learns, by the error
``x - x_hat`` fed back through its encoders; it never sees the reference state itself.

Units. Observations and actions are in the network's units, those of FOLLOW's two ensembles: the input
layer represents ``[-0.2, 0.2]`` (Nengo radius 0.2) and the output layer ``[-R, R]``. A task sets
``input_factor`` (network units per physical input unit), ``state_factors`` (network units per physical
state unit) and ``output_scale`` = R: the prediction in network units is ``output_scale * action``, the
target is ``state_factors * x / output_scale`` (the desired action), and the reward is
``-mean_alpha (output_scale * a_alpha - state_factors_alpha * x_alpha)^2``, the squared error the paper's
network feeds back (per dimension, averaged).

Time. ``reset()`` returns the input of step 0 and the state at time 0. ``step(a_t)`` holds the input
``u_t`` over the step, integrates the reference from ``t dt`` to ``(t + 1) dt`` with classical RK4, and
compares ``a_t`` with the state at ``(t + 1) dt``: the prediction is of the state the input of the step
has led to, as a network that integrates ``u_t`` over the step can know it. The observation and info it
returns describe time ``(t + 1) dt``: the next input, the state reached, and whether the next step is
clamped.

Trials. An episode is ``trials_per_episode`` trials of ``trial_ms``; a trial may end in a clamp of
``clamp_ms``, during which the reference relaxes to 0 with a 1-ms time constant (the paper's ``-x/dt``
with ``dt`` = 1 ms) and, in the paper, the network is silenced and does not learn: ``info["clamped"]``
says so for the step that starts now. Each trial's input is drawn from the env's generator when the trial
starts.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.rendering import MUTED, Canvas, CanvasEnv, Color, Epoch, Trace, draw_panel, draw_time_axis, lighten
from envs.trial import TrialSchedule
from envs.vector import CopyGenerators, reset_arguments, set_vector_arguments

__all__ = [
    "CLAMP_TAU_MS",
    "INPUT_RADIUS",
    "NOISE_INTERVAL_MS",
    "OUTPUT_SYNAPSE_MS",
    "ForwardModelEnv",
    "ForwardModelTask",
    "ForwardModelVectorEnv",
    "ReferenceSystem",
    "draw_frame_header",
    "noise_segments",
    "rk4_step",
]

CLAMP_TAU_MS = 1.0
"""Time constant (ms) with which a clamped reference relaxes to 0 (the paper's code: ``dx/dt = -x/dt``, dt = 1 ms)."""

INPUT_RADIUS = 0.2
"""The range ``[-0.2, 0.2]`` FOLLOW's input layer represents (its Nengo radius): the observation bounds."""

NOISE_INTERVAL_MS = 50.0
"""The paper's training inputs draw a new noise value every 50 ms."""

OUTPUT_SYNAPSE_MS = 20.0
"""tau_s, the synapse of FOLLOW's decoded output. ``info["filtered_mse"]`` scores the prediction against the
reference passed through it (``y <- a y + (1 - a) x``, ``a = exp(-dt / tau_s)``): the target the van der Pol
code trains the network on and the reference its figures draw (``rateEvolveFiltered``). A perfect predictor of
that reference still scores ~0.1 on ``mse``, against the raw state."""


class ReferenceSystem(ABC):
    """A reference dynamical system with its input protocol, batched over B copies (NumPy, float64).

    Subclasses set the class attributes and implement the dynamics and the per-trial input draw.
    """

    name: str
    state_labels: tuple[str, ...]
    input_labels: tuple[str, ...]
    state_factors: np.ndarray
    input_factor: float

    @property
    def n_states(self) -> int:
        return len(self.state_labels)

    @property
    def n_inputs(self) -> int:
        return len(self.input_labels)

    @abstractmethod
    def derivative(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``dx/dt`` in 1/s for states ``x`` ``(B, n_states)`` under physical inputs ``u`` ``(B, n_inputs)``."""

    def start_episode(self, rng: np.random.Generator) -> Any:
        """Draw what carries over from trial to trial (``None`` if trials are independent)."""
        return None

    @abstractmethod
    def draw_trial(
        self, rng: np.random.Generator, carry: Any, t_ms: np.ndarray, drive: np.ndarray, trial_ms: float
    ) -> tuple[np.ndarray, Any]:
        """One trial's physical input ``(len(t_ms), n_inputs)`` and the new carry.

        Args:
            rng: the env's generator (draw in a fixed order: the vector env relies on it).
            carry: what the previous trial (or :meth:`start_episode`) left.
            t_ms: the start time of each step from the trial start.
            drive: per step, False in the clamp.
            trial_ms: the trial's duration, a multiple of the 50-ms noise interval.
        """


def noise_segments(t_ms: np.ndarray) -> np.ndarray:
    """The index of the 50-ms noise interval each step starts in (steps at ``t_ms`` from the trial start)."""
    return np.floor(t_ms / NOISE_INTERVAL_MS + 1e-9).astype(np.int64)


def rk4_step(system: ReferenceSystem, x: np.ndarray, u: np.ndarray, dt: float) -> np.ndarray:
    """One classical Runge-Kutta step of ``dx/dt = F(x, u)`` over ``dt`` seconds, ``u`` held."""
    k1 = system.derivative(x, u)
    k2 = system.derivative(x + 0.5 * dt * k1, u)
    k3 = system.derivative(x + 0.5 * dt * k2, u)
    k4 = system.derivative(x + dt * k3, u)
    return x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


class ForwardModelTask:
    """A reference system with its timing and units, checked: what the single and the vector env share.

    Args:
        system: the reference system and its input protocol.
        dt_ms: the step.
        trial_ms: the trial, a multiple of ``dt_ms`` and of the 50-ms noise interval.
        clamp_ms: the clamp at the end of each trial (0 for none), a multiple of ``dt_ms``.
        trials_per_episode: trials per episode.
        output_scale: R, the network's output range: prediction = R * action.
    """

    def __init__(
        self,
        system: ReferenceSystem,
        *,
        dt_ms: float,
        trial_ms: float,
        clamp_ms: float,
        trials_per_episode: int,
        output_scale: float,
    ) -> None:
        def positive(name: str, value: Any, allow_zero: bool = False) -> float:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or value < 0 or (value == 0 and not allow_zero):
                bound = ">= 0" if allow_zero else "> 0"
                raise ValueError(f"{name} must be a finite number {bound}, got {value!r}.")
            return float(value)

        self.system = system
        self.dt_ms = positive("dt_ms", dt_ms)
        self.dt = self.dt_ms / 1000.0
        trial_ms = positive("trial_ms", trial_ms)
        if abs(trial_ms / NOISE_INTERVAL_MS - round(trial_ms / NOISE_INTERVAL_MS)) > 1e-9:
            raise ValueError(
                f"trial_ms must be a multiple of the {NOISE_INTERVAL_MS:g}-ms noise interval, got {trial_ms}."
            )
        clamp_ms = positive("clamp_ms", clamp_ms, allow_zero=True)
        if clamp_ms >= trial_ms:
            raise ValueError(f"clamp_ms must be shorter than trial_ms={trial_ms:g}, got {clamp_ms:g}.")
        if not isinstance(trials_per_episode, numbers.Integral) or trials_per_episode < 1:
            raise ValueError(f"trials_per_episode must be an integer >= 1, got {trials_per_episode!r}.")
        self.output_scale = positive("output_scale", output_scale)
        epochs = {"drive": trial_ms - clamp_ms, "clamp": clamp_ms} if clamp_ms > 0 else {"drive": trial_ms}
        self.schedule = TrialSchedule(epochs, self.dt_ms)
        self.clamp_ms = clamp_ms
        self.trial_steps = self.schedule.n_steps
        self.trials_per_episode = int(trials_per_episode)
        self.n_steps = self.trial_steps * self.trials_per_episode
        self.drive = self.schedule.epoch_index == 0
        self.t_ms = np.arange(self.trial_steps) * self.dt_ms
        self.clamp_decay = math.exp(-self.dt_ms / CLAMP_TAU_MS)

    def spaces(self) -> tuple[spaces.Box, spaces.Box]:
        system = self.system
        return (
            spaces.Box(-INPUT_RADIUS, INPUT_RADIUS, shape=(system.n_inputs,), dtype=np.float32),
            spaces.Box(-1.0, 1.0, shape=(system.n_states,), dtype=np.float32),
        )

    def target(self, x: np.ndarray) -> np.ndarray:
        """The desired action for reference states ``x``: ``state_factors * x / output_scale``, float32."""
        return (self.system.state_factors * x / self.output_scale).astype(np.float32)

    def prediction(self, actions: np.ndarray) -> np.ndarray:
        """The predicted state in physical units for ``actions``."""
        return self.output_scale * np.asarray(actions, dtype=np.float64) / self.system.state_factors

    def error(self, actions: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Squared error in network units, averaged over the state's dimensions (the last axis)."""
        difference = self.output_scale * actions - self.system.state_factors * x
        return np.einsum("...i,...i->...", difference, difference) / difference.shape[-1]

    def check_action(self, action: Any, shape: tuple[int, ...]) -> np.ndarray:
        """``action`` as float64 of ``shape`` clipped to [-1, 1], or a ValueError saying what is wrong."""
        what = f"{self.system.name} action"
        try:
            array = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be numeric with shape {shape}, got {action!r}.") from None
        if array.size != math.prod(shape) or (len(shape) == 2 and (array.ndim == 0 or array.shape[0] != shape[0])):
            raise ValueError(
                f"{what} must have shape {shape} (the predicted {', '.join(self.system.state_labels)}), "
                f"got shape {array.shape}."
            )
        array = array.reshape(shape)
        if not np.isfinite(array).all():
            raise ValueError(f"{what} contains NaN/inf ({array.ravel().tolist()}); the prediction must be finite.")
        return np.clip(array, -1.0, 1.0)


class _Copies:
    """B episodes of a task as arrays; the single env is B = 1, so both envs compute alike."""

    def __init__(self, task: ForwardModelTask, num: int) -> None:
        self.task = task
        system = task.system
        self.x = np.zeros((num, system.n_states))
        self.step = np.zeros(num, dtype=np.int64)
        self.inputs = np.zeros((num, task.trial_steps, system.n_inputs))  # the current trial's physical input
        self.carry: list[Any] = [None] * num
        self.error_sum = np.zeros(num)
        self.filtered_x = np.zeros((num, system.n_states))  # the reference through the output's synapse
        self.filtered_error_sum = np.zeros(num)
        self.filter_decay = math.exp(-task.dt_ms / OUTPUT_SYNAPSE_MS)

    def start(self, i: int, rng: np.random.Generator) -> None:
        self.x[i] = 0.0
        self.step[i] = 0
        self.error_sum[i] = 0.0
        self.filtered_x[i] = 0.0
        self.filtered_error_sum[i] = 0.0
        self.carry[i] = self.task.system.start_episode(rng)
        self._draw_trial(i, rng)

    def _draw_trial(self, i: int, rng: np.random.Generator) -> None:
        task = self.task
        self.inputs[i], self.carry[i] = task.system.draw_trial(
            rng, self.carry[i], task.t_ms, task.drive, task.schedule.duration_ms
        )

    def advance(self, index: np.ndarray, actions: np.ndarray, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Step the copies ``index`` with ``actions`` (clipped, ``(len(index), n)``); returns their errors."""
        task = self.task
        k = self.step[index] % task.trial_steps
        x = self.x[index]
        new = rk4_step(task.system, x, self.inputs[index, k], task.dt)
        clamped = ~task.drive[k]
        new[clamped] = x[clamped] * task.clamp_decay
        self.x[index] = new
        self.step[index] += 1
        errors = task.error(actions, new)
        self.error_sum[index] += errors
        a = self.filter_decay
        filtered = a * self.filtered_x[index] + (1.0 - a) * new
        self.filtered_x[index] = filtered
        self.filtered_error_sum[index] += task.error(actions, filtered)
        starting = index[(self.step[index] % task.trial_steps == 0) & (self.step[index] < task.n_steps)]
        for i in starting:
            self._draw_trial(int(i), rngs[i])
        return errors

    def done(self) -> np.ndarray:
        return self.step >= self.task.n_steps

    def observations(self) -> np.ndarray:
        """The network's input for the step each copy is at (0 once its episode is over), float32."""
        task = self.task
        rows = self.inputs[np.arange(len(self.step)), self.step % task.trial_steps]
        rows[self.done()] = 0.0
        return (task.system.input_factor * rows).astype(np.float32)

    def clamped(self) -> np.ndarray:
        return ~self.task.drive[self.step % self.task.trial_steps] & ~self.done()


class ForwardModelEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """A FOLLOW forward-model task as a Gymnasium env; subclasses build the task and draw it.

    See the module docstring for the conventions; each task's class docstring is its manual.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 25}  # noqa: RUF012
    frame_ms = 40.0  # "human" mode draws a frame every 40 ms of simulated time: real time at 25 fps

    def __init__(self, task: ForwardModelTask, render_mode: str | None = None) -> None:
        self._init_rendering(render_mode)
        self._task = task
        self.dt_ms: float = task.dt_ms
        self.dt: float = task.dt
        self.output_scale: float = task.output_scale
        self.observation_space, self.action_space = task.spaces()
        self._copies = _Copies(task, 1)
        n = task.system.n_states
        # The current trial, for rendering: reference states at the step boundaries, predictions, inputs.
        self._trial_states = np.full((task.trial_steps + 1, n), np.nan)
        self._trial_predictions = np.full((task.trial_steps, n), np.nan)
        self._frame_steps = max(1, round(self.frame_ms / task.dt_ms))

    @property
    def state(self) -> np.ndarray:
        """The reference state now, in physical units (a copy)."""
        return self._copies.x[0].copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"{type(self).__name__} takes no reset options, got {sorted(options)}.")
        self._copies.start(0, self.np_random)
        self._begin_trial_history()
        self._started = True
        if self.render_mode == "human":
            self._render_frame()
        return self._copies.observations()[0], self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError(f"{type(self).__name__}.step() called before reset(); call reset() first.")
        copies, task = self._copies, self._task
        if copies.done()[0]:
            raise RuntimeError("the episode is over (terminated=True was returned); call reset() to start another.")
        action = task.check_action(action, (task.system.n_states,))
        k = int(copies.step[0] % task.trial_steps)
        if k == 0 and copies.step[0] > 0:  # a finished trial stays drawn until the next one's first step
            self._begin_trial_history()
        error = float(copies.advance(np.zeros(1, dtype=np.int64), action[None], [self.np_random])[0])
        self._trial_predictions[k] = task.prediction(action)
        self._trial_states[k + 1] = copies.x[0]
        terminated = bool(copies.done()[0])
        info = self._info()
        if terminated:
            info["mse"] = float(copies.error_sum[0] / task.n_steps)
            info["filtered_mse"] = float(copies.filtered_error_sum[0] / task.n_steps)
        if self.render_mode == "human" and (terminated or copies.step[0] % self._frame_steps == 0):
            self._render_frame()
        return copies.observations()[0], -error, terminated, False, info

    def _info(self) -> dict[str, Any]:
        copies = self._copies
        return {
            "target": self._task.target(copies.x[0]),
            "state": copies.x[0].copy(),
            "t_ms": float(copies.step[0] * self.dt_ms),
            "clamped": bool(copies.clamped()[0]),
        }

    def _begin_trial_history(self) -> None:
        self._trial_states[:] = np.nan
        self._trial_predictions[:] = np.nan
        self._trial_states[0] = self._copies.x[0]

    def _trial_view(self) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
        """For drawing: the trial shown (0-based), its steps done, states, predictions and physical inputs."""
        step = int(self._copies.step[0])
        trial = max(0, step - 1) // self._task.trial_steps
        done = step - trial * self._task.trial_steps
        return trial, done, self._trial_states, self._trial_predictions, self._copies.inputs[0]


class ForwardModelVectorEnv(VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """``num_envs`` copies of a forward-model task stepped as arrays, equal step for step to a SyncVectorEnv.

    Sub-env i has its own generator, seeded ``seed + i`` by ``reset(seed=seed)`` as SyncVectorEnv seeds its
    sub-envs, and draws its trials in the same order as the single env. ``autoreset_mode``: SAME_STEP
    (default: a finished copy returns the first observation of its next episode at once, the last one in
    ``info["final_obs"]`` and ``info["final_info"]``), NEXT_STEP (the step after ``terminated`` resets and
    ignores its action) or DISABLED (reset finished copies with ``reset(options={"reset_mask": mask})``).
    No rendering: render one copy with the single env.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}  # noqa: RUF012

    def __init__(
        self,
        task: ForwardModelTask,
        num_envs: int = 1,
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    ) -> None:
        set_vector_arguments(self, num_envs, autoreset_mode, render_mode)
        self._task = task
        self.dt_ms: float = task.dt_ms
        self.dt: float = task.dt
        self.output_scale: float = task.output_scale
        self.single_observation_space, self.single_action_space = task.spaces()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs = CopyGenerators(self.num_envs)
        self._copies = _Copies(task, self.num_envs)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        self._started = False

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:  # type: ignore[override]
        return self._rngs.all()

    @property
    def state(self) -> np.ndarray:
        """The reference states now, physical units, ``(num_envs, n_states)`` (a copy)."""
        return self._copies.x.copy()

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start episodes: all, or those in ``options["reset_mask"]``; seeds as ``SyncVectorEnv.reset``."""
        seeds, mask = reset_arguments(seed, options, self.num_envs, type(self).__name__)
        self._rngs.seed(seeds, mask)
        self._start(mask)
        self._started = True
        return self._copies.observations(), self._infos(mask)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError(f"{type(self).__name__}.step() called before reset(); call reset() first.")
        task, copies, n = self._task, self._copies, self.num_envs
        actions = task.check_action(actions, (n, task.system.n_states))
        if self.autoreset_mode == AutoresetMode.DISABLED and self._needs_reset.any():
            raise RuntimeError(
                f"sub-envs {np.flatnonzero(self._needs_reset).tolist()} finished their episode; with autoreset_mode "
                "DISABLED call reset(options={'reset_mask': mask}) before stepping them."
            )
        restarting = self._needs_reset.copy() if self.autoreset_mode == AutoresetMode.NEXT_STEP else np.zeros(n, bool)
        if restarting.any():
            self._start(restarting)
        index = np.flatnonzero(~restarting)
        rewards = np.zeros(n)
        rewards[index] = -copies.advance(index, actions[index], self.np_random)
        terminated = ~restarting & copies.done()
        truncated = np.zeros(n, dtype=bool)
        everyone = np.ones(n, dtype=bool)
        mse = {
            key: np.where(terminated, total / task.n_steps, np.nan)
            for key, total in (("mse", copies.error_sum), ("filtered_mse", copies.filtered_error_sum))
        }
        if terminated.any() and self.autoreset_mode == AutoresetMode.SAME_STEP:
            final_obs = np.full(n, None, dtype=object)
            observations = copies.observations()
            for i in np.flatnonzero(terminated):
                final_obs[i] = observations[i]
            info = {
                "final_obs": final_obs,
                "_final_obs": terminated.copy(),
                "final_info": self._infos(terminated, mse),
                "_final_info": terminated.copy(),
            }
            self._start(terminated)
            info.update(self._infos(everyone))
            return copies.observations(), rewards, terminated, truncated, info
        self._needs_reset = terminated
        return copies.observations(), rewards, terminated, truncated, self._infos(everyone, mse)

    def _start(self, mask: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            self._copies.start(int(i), self._rngs[int(i)])
        self._needs_reset[mask] = False

    def _infos(self, included: np.ndarray, mse: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        """The sub-envs' infos batched as SyncVectorEnv batches them (a ``_key`` mask per key); ``mse``: the
        episode metrics of the copies that just finished (NaN elsewhere)."""
        copies, task = self._copies, self._task
        if included.all():  # every step of a SAME_STEP rollout: nothing to blank
            info: dict[str, Any] = {
                "target": task.target(copies.x),
                "state": copies.x.copy(),
                "t_ms": copies.step * self.dt_ms,
                "clamped": copies.clamped(),
            }
        else:
            column = included[:, None]
            info = {
                "target": np.where(column, task.target(copies.x), np.float32(0.0)),
                "state": np.where(column, copies.x, 0.0),
                "t_ms": np.where(included, copies.step * self.dt_ms, 0.0),
                "clamped": included & copies.clamped(),
            }
        info = {**info, **{f"_{key}": included.copy() for key in info}}
        for key, values in (mse or {}).items():
            has = included & ~np.isnan(values)
            if has.any():
                info[key] = np.where(has, values, 0.0)
                info[f"_{key}"] = has
        return info


def draw_frame_header(canvas: Canvas, title: str, status: str, citation: str) -> None:
    """The title line, a status line and the citation, as every spikegym frame starts."""
    canvas.text(title, (24, 16), size=30)
    canvas.text(status, (24, 50), size=22)
    canvas.text(citation, (canvas.size[0] - 24, 20), size=18, color=MUTED, anchor="topright")


CLAMP_COLOR: Color = (150, 150, 160)
"""The clamp's shade behind the traces of a trial."""

DRIVE_COLOR: Color = (200, 220, 240)
"""The driven part's shade behind the traces of a trial."""


def trial_epochs(task: ForwardModelTask) -> list[Epoch]:
    """The trial's epochs as the panels shade them: the driven part, then the clamp."""
    return [
        Epoch(name, start, end, CLAMP_COLOR if name == "clamp" else DRIVE_COLOR)
        for name, start, end in task.schedule.bounds_ms()
    ]


def draw_state_frame(
    canvas: Canvas,
    task: ForwardModelTask,
    trial: int,
    done: int,
    states: np.ndarray,
    predictions: np.ndarray,
    inputs: np.ndarray,
    *,
    title: str,
    citation: str,
    panels: Sequence[tuple[str, Sequence[int], tuple[float, float], Sequence[float]]],
    colors: Sequence[Color],
    input_title: str,
    input_colors: Sequence[Color],
    input_range: tuple[float, float],
    input_ticks: Sequence[float],
) -> np.ndarray:
    """The header with this trial's MSE (network units); on the left, per panel (title, state dimensions, y range,
    y ticks), each dimension's reference (dashed) and prediction over the trial, then the inputs, over the trial's
    epochs. Returns the states shown so far (NaN after step ``done``), for the picture on the right."""
    system = task.system
    error = (predictions[:done] - states[1 : done + 1]) * system.state_factors
    status = f"trial {trial + 1}/{task.trials_per_episode}   t = {done * task.dt_ms:g} ms"
    if done:
        status += f"   MSE this trial {float(np.mean(error**2)):.5f} (network units)"
    draw_frame_header(canvas, title, status, citation)
    duration = task.trial_steps * task.dt_ms
    timing = {
        "dt_ms": task.dt_ms,
        "duration_ms": duration,
        "epochs": trial_epochs(task),
        "current_ms": done * task.dt_ms,
        "current_epoch": task.schedule.epoch_at(min(done, task.trial_steps - 1)),
    }
    shown = np.where(np.arange(len(states))[:, None] <= done, states, np.nan)
    for row, (panel_title, dims, y_range, ticks) in enumerate(panels):
        traces = []
        for dim, color in zip(dims, colors, strict=False):
            label = system.state_labels[dim]
            traces.append(Trace(f"{label} ref", shown[:, dim], lighten(color, 0.35), dashed=True))
            traces.append(Trace(f"{label} pred", predictions[:, dim], color))
        draw_panel(
            canvas,
            (70, 110 + row * 150, 520, 110),
            title=panel_title,
            traces=traces,
            y_range=y_range,
            y_ticks=tuple(ticks),
            **timing,
        )
    rect = (70, 110 + len(panels) * 150, 520, 110)
    shown_inputs = np.where(np.arange(len(inputs))[:, None] < max(done, 1), inputs, np.nan)
    draw_panel(
        canvas,
        rect,
        title=input_title,
        traces=[
            Trace(label, shown_inputs[:, k], color)
            for k, (label, color) in enumerate(zip(system.input_labels, input_colors, strict=True))
        ],
        y_range=input_range,
        y_ticks=tuple(input_ticks),
        **timing,
    )
    draw_time_axis(canvas, rect, duration_ms=duration, tick_ms=250.0 if duration <= 2000 else 1000.0)
    return shown
