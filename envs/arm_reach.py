"""Reaching with the two-link arm against gravity: a closed-loop control task that ships its analytic expert.

The arm is :class:`envs.arm.TwoLinkArm` (the Todorov-lab arm in a vertical plane with gravity and joint
friction, as FOLLOW has it). The agent sets the two joint torques every control step and must bring the hand
to a target and hold it there. :class:`ArmReachExpert` (inverse kinematics plus computed-torque control) is
the teacher: its action for the observation the agent acted on is ``info["target"]``, so behavioural cloning
and apprenticeship rules need nothing else, and ``expert_control`` makes whole demonstration episodes.

Coordinates. Joint angles as in :class:`~envs.arm.TwoLinkArm`: q1 from the downward vertical, q2 relative to
the upper arm, q = 0 hanging straight down, positive angles swinging the arm forwards. Hand positions are in
metres from the shoulder, x forwards and y upwards, so the hanging arm's hand is at (0, -0.58).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.arm import TwoLinkArm
from envs.forward_model import draw_frame_header, rk4_step
from envs.rendering import (
    MUTED,
    Canvas,
    CanvasEnv,
    Color,
    Trace,
    _import_pygame,
    draw_panel,
    draw_time_axis,
    lighten,
)
from envs.vector import CopyGenerators, reset_arguments, set_vector_arguments

__all__ = [
    "MAX_TORQUE",
    "OBSERVATION_LABELS",
    "REACH_DIRECTIONS",
    "REACH_RADII",
    "SUBSTEP_MS",
    "VELOCITY_SCALE",
    "ArmReachEnv",
    "ArmReachExpert",
    "ArmReachVectorEnv",
    "hand_position",
    "inverse_kinematics",
]

MAX_TORQUE = 10.0
"""N m per action unit: action 1 is 10 N m. Holding the hand still at the targets drawn takes at most 6.3 N m at
the shoulder and 1.7 N m at the elbow (4.5 N m commanded where the elbow is past pi/2 and its torque fades);
the expert's reaches peak below 9 N m."""

VELOCITY_SCALE = 20.0
"""rad/s per observation unit of angular velocity; the observation clips at +-20 rad/s."""

REACH_RADII = (0.30, 0.55)
"""Targets lie this far (m) from the shoulder. The arm reaches 0.04-0.58 m, but close to the body the elbow
flexes beyond pi/2, where FOLLOW's arm fades the elbow's flexing torque towards 0 (at 3 pi/4): at 0.30 m it
flexes 2.06 rad and keeps 38 % of it, which still holds the forearm up."""

REACH_DIRECTIONS = (math.radians(30.0), math.radians(105.0))
"""Targets lie in this range of directions (rad) from the shoulder, measured from the downward vertical
towards the front: from 60 deg below the shoulder's height to 15 deg above it."""

SUBSTEP_MS = 1.0
"""The longest RK4 substep (ms); a control step of ``dt_ms`` is split into ``ceil(dt_ms / SUBSTEP_MS)``."""

OBSERVATION_LABELS: tuple[str, ...] = (
    "cos q1",
    "sin q1",
    "cos q2",
    "sin q2",
    "w1 / 20",
    "w2 / 20",
    "hand x",
    "hand y",
    "target x",
    "target y",
    "target x - hand x",
    "target y - hand y",
)
"""The observation's entries, in order (angles in rad, angular velocities in rad/s, positions in m)."""

_OBS_HIGH = np.array([1.0] * 6 + [0.6] * 4 + [1.2] * 2, dtype=np.float32)
N_OBS = len(OBSERVATION_LABELS)


def hand_position(arm: TwoLinkArm, q: np.ndarray) -> np.ndarray:
    """The hand's position (m, x forwards, y up, from the shoulder) for joint angles ``q`` ``(..., 2)``."""
    upper, fore = q[..., 0], q[..., 0] + q[..., 1]
    x = arm.l1 * np.sin(upper) + arm.l2 * np.sin(fore)
    y = -arm.l1 * np.cos(upper) - arm.l2 * np.cos(fore)
    return np.stack((x, y), axis=-1)


def inverse_kinematics(arm: TwoLinkArm, hand: np.ndarray) -> np.ndarray:
    """Joint angles ``(..., 2)`` that put the hand at ``hand`` ``(..., 2)``: the branch with q2 in [0, pi].

    q2 >= 0 flexes the elbow forwards, like a human elbow: for a target in front of the shoulder the elbow
    lies below the line from the shoulder to the hand ("elbow down"). A target out of reach gets the
    nearest posture (the arm stretched towards it, or folded for one too close).
    """
    x, y = hand[..., 0], hand[..., 1]
    cos_q2 = (x * x + y * y - arm.l1**2 - arm.l2**2) / (2.0 * arm.l1 * arm.l2)
    q2 = np.arccos(np.clip(cos_q2, -1.0, 1.0))
    direction = np.arctan2(x, -y)  # from the downward vertical, positive towards the front
    q1 = direction - np.arctan2(arm.l2 * np.sin(q2), arm.l1 + arm.l2 * np.cos(q2))
    return np.stack((q1, q2), axis=-1)


@dataclass
class ArmReachExpert:
    """The task's analytic expert: a pure function from observations to actions.

    1. Inverse kinematics of the target (observation entries 8, 9) with the elbow-down branch, q2 in [0, pi]
       (:func:`inverse_kinematics`): the joint angles q*.
    2. The joint error e = q* - q, wrapped to (-pi, pi] (q from the observation's cos and sin), and a desired
       acceleration that tracks a speed-limited approach, per joint,

           v* = clip(omega / 2 e, +-max_speed),   a* = clip(2 omega (v* - w), +-max_acceleration),

       which near the target is the critically damped PD law a* = omega^2 e - 2 omega w (no overshoot).
    3. Computed torque with the arm's own model: tau = M(q) a* + C(q, w) + B w + G(q), divided by the
       torque's fade factor where the joint is beyond pi/2 (floored at 0.25), then in action units
       tau / max_torque, clipped to [-1, 1], float32.

    Call it on one observation ``(12,)`` or a batch ``(..., 12)``; it returns float32 actions ``(..., 2)``.
    With the defaults it reaches all the targets the env draws in about 0.75 s and holds them.

    Args:
        arm: the arm's model (the env's arm by default).
        max_torque: N m per action unit (the env's :data:`MAX_TORQUE`).
        omega: the natural frequency (rad/s) of the final, critically damped approach.
        max_speed: the joint speed (rad/s) the approach is limited to.
        max_acceleration: the joint acceleration (rad/s^2) the approach is limited to.
    """

    arm: TwoLinkArm = field(default_factory=TwoLinkArm)
    max_torque: float = MAX_TORQUE
    omega: float = 8.0
    max_speed: float = 3.0
    max_acceleration: float = 12.0

    def __call__(self, observation: Any) -> np.ndarray:
        return np.clip(self.torque(observation) / self.max_torque, -1.0, 1.0).astype(np.float32)

    def joint_targets(self, observation: Any) -> np.ndarray:
        """q* ``(..., 2)`` in rad: the posture that puts the hand on the observed target."""
        return inverse_kinematics(self.arm, self._check(observation)[..., 8:10])

    def torque(self, observation: Any) -> np.ndarray:
        """The torques (N m, ``(..., 2)``, float64, not clipped) the expert commands for ``observation``."""
        obs = self._check(observation)
        arm = self.arm
        q = np.arctan2(obs[..., [1, 3]], obs[..., [0, 2]])
        w = VELOCITY_SCALE * obs[..., 4:6]
        error = inverse_kinematics(arm, obs[..., 8:10]) - q
        error = (error + math.pi) % (2.0 * math.pi) - math.pi
        speed = np.clip(0.5 * self.omega * error, -self.max_speed, self.max_speed)
        accel = np.clip(2.0 * self.omega * (speed - w), -self.max_acceleration, self.max_acceleration)
        m11, m12, m22 = arm.mass_matrix(q)
        w1, w2 = w[..., 0], w[..., 1]
        h = arm.m2 * arm.l1 * arm.s2 * np.sin(q[..., 1])
        gravity = arm.gravity(q)
        tau1 = m11 * accel[..., 0] + m12 * accel[..., 1] - h * (2.0 * w1 + w2) * w2 + arm.b11 * w1 + arm.b12 * w2
        tau2 = m12 * accel[..., 0] + m22 * accel[..., 1] + h * w1 * w1 + arm.b21 * w1 + arm.b22 * w2
        tau = np.stack((tau1 + gravity[..., 0], tau2 + gravity[..., 1]), axis=-1)
        # Where a joint is beyond pi/2 its torque fades in the direction it pushes: ask for more.
        beyond = np.where(tau > 0, q, -q)
        fade = 1.0 - np.clip((beyond - math.pi / 2) / (math.pi / 4), 0.0, 0.75)
        return tau / fade

    @staticmethod
    def _check(observation: Any) -> np.ndarray:
        obs = np.asarray(observation, dtype=np.float64)
        if obs.ndim == 0 or obs.shape[-1] != N_OBS:
            raise ValueError(
                f"ArmReachExpert takes observations of shape ({N_OBS},) or (batch, {N_OBS}), got shape {obs.shape}."
            )
        return obs


def _check_action(action: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``action`` as float64 of ``shape``, clipped to [-1, 1], or a ValueError saying what is wrong."""
    try:
        array = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numeric with shape {shape}, got {action!r}.") from None
    if array.shape != shape:
        raise ValueError(f"{what} must have shape {shape} (the two joint torques), got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN/inf ({array.ravel().tolist()}); the torques must be finite.")
    return np.clip(array, -1.0, 1.0)


class _ArmReachTask:
    """The validated settings both envs share, and the per-episode draw."""

    def __init__(
        self,
        *,
        dt_ms: float,
        episode_ms: float,
        tolerance_m: float,
        hold_ms: float,
        effort_cost: float,
        success_bonus: float,
        start_noise: float,
        expert_control: float,
    ) -> None:
        def number(name: str, value: Any, low: float, high: float = math.inf, *, open_low: bool = False) -> float:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or value < low or value > high or (open_low and value == low):
                bounds = f"{'>' if open_low else '>='} {low:g}" + (f" and <= {high:g}" if high < math.inf else "")
                raise ValueError(f"{name} must be a finite number {bounds}, got {value!r}.")
            return float(value)

        def steps(name: str, value: float) -> int:
            n = round(value / self.dt_ms)
            if abs(n * self.dt_ms - value) > 1e-9 * max(1.0, value):
                raise ValueError(f"{name} must be a multiple of dt_ms={self.dt_ms:g}, got {value:g}.")
            return n

        self.dt_ms = number("dt_ms", dt_ms, 0.0, 1000.0, open_low=True)
        self.dt = self.dt_ms / 1000.0
        self.n_substeps = max(1, math.ceil(self.dt_ms / SUBSTEP_MS - 1e-9))
        self.substep = self.dt / self.n_substeps
        self.episode_ms = number("episode_ms", episode_ms, 0.0, open_low=True)
        self.n_steps = steps("episode_ms", self.episode_ms)
        if self.n_steps < 1:
            raise ValueError(f"episode_ms must be at least dt_ms={self.dt_ms:g}, got {self.episode_ms:g}.")
        self.tolerance_m = number("tolerance_m", tolerance_m, 0.0, open_low=True)
        self.hold_ms = number("hold_ms", hold_ms, 0.0)
        self.hold_steps = max(1, steps("hold_ms", self.hold_ms))
        if self.hold_steps > self.n_steps:
            raise ValueError(f"hold_ms must not exceed episode_ms={self.episode_ms:g}, got {self.hold_ms:g}.")
        self.effort_cost = number("effort_cost", effort_cost, 0.0)
        self.success_bonus = number("success_bonus", success_bonus, 0.0)
        self.start_noise = number("start_noise", start_noise, 0.0, 0.5)
        self.expert_control = number("expert_control", expert_control, 0.0, 1.0)
        self.arm = TwoLinkArm()
        self.expert = ArmReachExpert(self.arm)

    @staticmethod
    def spaces() -> tuple[spaces.Box, spaces.Box]:
        return (
            spaces.Box(-_OBS_HIGH, _OBS_HIGH, dtype=np.float32),
            spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
        )

    def draw_episode(self, rng: np.random.Generator) -> tuple[bool, np.ndarray, np.ndarray]:
        """(expert in control, target hand position, start angles), drawn in this order from ``rng``."""
        expert_in_control = bool(rng.random() < self.expert_control)
        radius = math.sqrt(rng.uniform(REACH_RADII[0] ** 2, REACH_RADII[1] ** 2))  # uniform over the area
        direction = rng.uniform(*REACH_DIRECTIONS)
        goal = np.array([radius * math.sin(direction), -radius * math.cos(direction)])
        perturbation = rng.uniform(-1.0, 1.0, size=2)  # drawn even when unused: the same targets either way
        q0 = self.start_noise * perturbation if self.start_noise > 0 else np.zeros(2)
        return expert_in_control, goal, q0


class _Copies:
    """B episodes as arrays; the single env is B = 1, so both envs compute alike."""

    def __init__(self, task: _ArmReachTask, num: int) -> None:
        self.task = task
        self.x = np.zeros((num, 4))
        self.goal = np.zeros((num, 2))
        self.hand = np.zeros((num, 2))
        self.distance = np.zeros(num)
        self.obs = np.zeros((num, N_OBS), dtype=np.float32)
        self.expert = np.zeros((num, 2), dtype=np.float32)  # the expert's action for obs
        self.target = np.zeros((num, 2), dtype=np.float32)  # the expert's action for the previous obs
        self.step = np.zeros(num, dtype=np.int64)
        self.hold = np.zeros(num, dtype=np.int64)
        self.success = np.zeros(num, dtype=bool)
        self.expert_in_control = np.zeros(num, dtype=bool)

    def start(self, i: int, rng: np.random.Generator) -> None:
        self.expert_in_control[i], self.goal[i], q0 = self.task.draw_episode(rng)
        self.x[i] = (q0[0], q0[1], 0.0, 0.0)
        self.step[i] = 0
        self.hold[i] = 0
        self.success[i] = False
        self.target[i] = 0.0
        self._observe(np.array([i]))

    def _observe(self, index: np.ndarray) -> None:
        """Hand, distance, observation and the expert's action of the copies ``index``."""
        x, goal = self.x[index], self.goal[index]
        hand = hand_position(self.task.arm, x[:, :2])
        offset = goal - hand
        self.hand[index] = hand
        self.distance[index] = np.sqrt(offset[:, 0] * offset[:, 0] + offset[:, 1] * offset[:, 1])
        rows = np.concatenate(
            (
                np.cos(x[:, 0:1]),
                np.sin(x[:, 0:1]),
                np.cos(x[:, 1:2]),
                np.sin(x[:, 1:2]),
                x[:, 2:4] / VELOCITY_SCALE,
                hand,
                goal,
                offset,
            ),
            axis=1,
        )
        obs = np.clip(rows, -_OBS_HIGH, _OBS_HIGH).astype(np.float32)
        self.obs[index] = obs
        self.expert[index] = self.task.expert(obs)

    def advance(self, index: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step the copies ``index`` with the agent's ``actions`` (clipped, ``(len(index), 2)``).

        Returns the executed actions (the expert's where it is in control), the rewards and the terminations.
        """
        task = self.task
        executed = np.where(self.expert_in_control[index, None], self.expert[index].astype(np.float64), actions)
        torque = MAX_TORQUE * executed
        x = self.x[index]
        for _ in range(task.n_substeps):
            x = rk4_step(task.arm, x, torque, task.substep)
        self.x[index] = x
        self.step[index] += 1
        self.target[index] = self.expert[index]
        self._observe(index)
        distance = self.distance[index]
        hold = np.where(distance <= task.tolerance_m, self.hold[index] + 1, 0)
        self.hold[index] = hold
        success = hold >= task.hold_steps
        self.success[index] = success
        effort = 0.5 * (executed[:, 0] * executed[:, 0] + executed[:, 1] * executed[:, 1])
        reward = -distance - task.effort_cost * effort + np.where(success, task.success_bonus, 0.0)
        return executed, reward, success

    def truncated(self, index: np.ndarray) -> np.ndarray:
        return ~self.success[index] & (self.step[index] >= self.task.n_steps)

    def info(self, i: int, *, after_step: bool) -> dict[str, Any]:
        """The info of copy ``i``: of a step (with ``target``) or of a reset (without)."""
        info: dict[str, Any] = {}
        if after_step:
            info["target"] = self.target[i].copy()
        info.update(
            expert_action=self.expert[i].copy(),
            expert_in_control=bool(self.expert_in_control[i]),
            distance=float(self.distance[i]),
            success=bool(self.success[i]),
            hand=self.hand[i].copy(),
            goal=self.goal[i].copy(),
            state=self.x[i].copy(),
            t_ms=float(self.step[i] * self.task.dt_ms),
        )
        return info


class ArmReachEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    Reaching with a two-link arm against gravity. The arm is the Todorov-lab two-link arm (Li 2006) in a
    vertical plane, as Gilra & Gerstner (2017) use it in FOLLOW (:class:`envs.arm.TwoLinkArm`, see
    `spikegym/ArmForwardModel-v0`): m = (1.4, 1.1) kg, l = (0.31, 0.27) m, gravity, joint friction, and the
    torque on a joint fading to 0 between pi/2 and 3 pi/4 in the direction it pushes. Every episode the arm
    starts hanging at rest and a target is drawn in front of it; the agent sets the two joint torques every
    `dt_ms` = 10 ms and must bring the hand within `tolerance_m` = 3 cm of the target and hold it there for
    `hold_ms` = 200 ms, within 2 s. Each control step integrates the arm with classical RK4 in 1-ms substeps,
    the torque held.

    The task ships its expert, :class:`ArmReachExpert` (inverse kinematics, then computed torque with a
    critically damped, speed-limited approach). `info["target"]` is the expert's action for the observation
    the agent has just acted on, so a supervised or apprenticeship rule learns from it alone; with
    `expert_control` > 0 a share of the episodes are demonstrations, the expert's action executed instead of
    the agent's. The expert succeeds on every target in about 0.95 s (0.75 s of reach, 0.2 s of hold).

    ## Action Space

    `Box(-1, 1, (2,), float32)`: the shoulder and elbow torques in units of `MAX_TORQUE` = 10 N m (holding the
    hand still takes at most 6.3 N m at the shoulder and 4.5 N m commanded at the elbow; the expert's reaches
    peak below 9 N m, so it never saturates). Values outside [-1, 1] are clipped; NaN/inf or a shape other
    than `(2,)` raises `ValueError`.

    ## Observation Space

    `Box(low, high, (12,), float32)`, every entry clipped to its bounds:

    | Num | Observation                      | Min  | Max |
    |-----|----------------------------------|------|-----|
    | 0   | cos q1 (shoulder)                | -1   | 1   |
    | 1   | sin q1                           | -1   | 1   |
    | 2   | cos q2 (elbow)                   | -1   | 1   |
    | 3   | sin q2                           | -1   | 1   |
    | 4   | w1 / 20 (w1 in rad/s)            | -1   | 1   |
    | 5   | w2 / 20                          | -1   | 1   |
    | 6   | hand x (m, forwards)             | -0.6 | 0.6 |
    | 7   | hand y (m, upwards)              | -0.6 | 0.6 |
    | 8   | target x                         | -0.6 | 0.6 |
    | 9   | target y                         | -0.6 | 0.6 |
    | 10  | target x - hand x                | -1.2 | 1.2 |
    | 11  | target y - hand y                | -1.2 | 1.2 |

    Angles as in `TwoLinkArm` (from hanging straight down, the elbow's relative to the upper arm, positive
    forwards); positions in m from the shoulder. The arm reaches 0.58 m, so only the velocities can clip.

    ## Rewards

    Per step, `-distance - effort_cost * (a1^2 + a2^2) / 2 (+ success_bonus on the step that succeeds)`:
    the hand-target distance in m after the step, and the effort of the executed action `a` (action units).
    With the defaults (`effort_cost` = 0.01, no bonus) the effort costs at most 0.01 per step, a third of the
    tolerance. The expert's episodes return about -21; doing nothing, or acting at random, about -110.

    ## Starting State

    At rest hanging down, q = 0 (plus, with `start_noise` > 0, angles drawn from U(-start_noise,
    start_noise) rad), hand at (0, -0.58) m. The target: distance from the shoulder in
    `REACH_RADII` = 0.30-0.55 m and direction in `REACH_DIRECTIONS` = 30-105 deg from the downward
    vertical towards the front (60 deg below to 15 deg above the shoulder's height), uniform over the area of
    this annular sector; every target is at least 0.29 m from the starting hand and 0.10 m above it, so each
    reach lifts the arm against gravity. The expert's posture for it has q1 in [-0.39, 1.53] rad (below pi/2,
    where the shoulder's torque would fade) and q2 in [0.65, 2.06] rad. Each reset draws, in this order from
    `self.np_random`: whether the expert is in control (`random() < expert_control`), the target's squared
    radius, its direction, and the start perturbation (drawn even when `start_noise` = 0).

    ## Episode End

    Termination on success: the hand has been within `tolerance_m` of the target at the end of
    `hold_ms / dt_ms` consecutive steps. Truncation after `episode_ms` = 2000 ms (200 steps) otherwise.

    ## Info

    `reset` and `step` return `expert_action` (float32 `(2,)`: the expert's action for the observation now
    returned), `expert_in_control` (bool: the expert's action is executed this episode), `distance` (m),
    `success` (bool: held long enough), `hand`, `goal` (float64 `(2,)`, m), `state` (float64 `(4,)`: q1, q2 in
    rad, w1, w2 in rad/s) and `t_ms`; `step` adds `target` (float32 `(2,)`: the expert's action for the
    observation the agent acted on, the `expert_action` of the previous reset or step), and its last step
    `is_success` (bool: terminated by success), as stable-baselines3's evaluation and logging read it.

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import envs  # registers spikegym/*
    >>> env = gym.make("spikegym/ArmReach-v0", expert_control=1.0)
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info["state"], info["expert_in_control"]
    ((12,), array([0., 0., 0., 0.]), True)
    >>> terminated = truncated = False
    >>> while not (terminated or truncated):
    ...     obs, reward, terminated, truncated, info = env.step(env.action_space.sample())  # ignored
    >>> info["is_success"], info["t_ms"] < 1500
    (True, True)

    ```

    | Parameter        | Type            | Default | Description                                                   |
    |------------------|-----------------|---------|---------------------------------------------------------------|
    | `render_mode`    | **str or None** | `None`  | `"human"` (window) or `"rgb_array"`                           |
    | `dt_ms`          | **float**       | `10.0`  | the control step (RK4 substeps of at most 1 ms)               |
    | `episode_ms`     | **float**       | `2000`  | the time limit, a multiple of `dt_ms` (then truncated)        |
    | `tolerance_m`    | **float**       | `0.03`  | how close (m) the hand must come to the target                |
    | `hold_ms`        | **float**       | `200`   | how long it must stay there, a multiple of `dt_ms`            |
    | `effort_cost`    | **float**       | `0.01`  | per step, times the mean squared action                       |
    | `success_bonus`  | **float**       | `0.0`   | added to the reward of the step that succeeds (>= 0)          |
    | `start_noise`    | **float**       | `0.0`   | start angles from U(-start_noise, start_noise) rad, <= 0.5    |
    | `expert_control` | **float**       | `0.0`   | probability per episode that the expert's action is executed  |

    Besides the spaces, the env exposes `dt` (seconds per step), `dt_ms`, `arm` (the `TwoLinkArm`), `expert`
    (its `ArmReachExpert`) and `state` (q1, q2, w1, w2 now).

    ## Vectorized environment

    `ArmReachVectorEnv` steps B copies as arrays and equals `SyncVectorEnv` step for step:

    ```python
    >>> envs = gym.make_vec("spikegym/ArmReach-v0", num_envs=3)  # ArmReachVectorEnv, AutoresetMode.SAME_STEP
    >>> envs.close()

    ```

    ## Version History

    * v0: Initial version.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 50}  # noqa: RUF012
    frame_size = (960, 600)

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        dt_ms: float = 10.0,
        episode_ms: float = 2000.0,
        tolerance_m: float = 0.03,
        hold_ms: float = 200.0,
        effort_cost: float = 0.01,
        success_bonus: float = 0.0,
        start_noise: float = 0.0,
        expert_control: float = 0.0,
    ) -> None:
        self._init_rendering(render_mode)
        self._task = _ArmReachTask(
            dt_ms=dt_ms,
            episode_ms=episode_ms,
            tolerance_m=tolerance_m,
            hold_ms=hold_ms,
            effort_cost=effort_cost,
            success_bonus=success_bonus,
            start_noise=start_noise,
            expert_control=expert_control,
        )
        self.dt_ms: float = self._task.dt_ms
        self.dt: float = self._task.dt
        self.arm: TwoLinkArm = self._task.arm
        self.expert: ArmReachExpert = self._task.expert
        self.observation_space, self.action_space = self._task.spaces()
        self._copies = _Copies(self._task, 1)
        self._index = np.zeros(1, dtype=np.int64)
        self._done = False
        # The episode so far, for rendering: hand positions and distances at the step boundaries, actions.
        n = self._task.n_steps
        self._hands = np.full((n + 1, 2), np.nan)
        self._distances = np.full(n + 1, np.nan)
        self._actions = np.full((n, 2), np.nan)
        self._expert_actions = np.full((n, 2), np.nan)
        self._frame_steps = max(1, round(1000.0 / self.metadata["render_fps"] / self.dt_ms))

    @property
    def state(self) -> np.ndarray:
        """(q1, q2, w1, w2) now, rad and rad/s (a copy)."""
        return self._copies.x[0].copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"ArmReachEnv takes no reset options, got {sorted(options)}.")
        copies = self._copies
        copies.start(0, self.np_random)
        self._done = False
        self._started = True
        self._hands[:] = np.nan
        self._distances[:] = np.nan
        self._actions[:] = np.nan
        self._expert_actions[:] = np.nan
        self._hands[0], self._distances[0] = copies.hand[0], copies.distance[0]
        if self.render_mode == "human":
            self._render_frame()
        return copies.obs[0].copy(), copies.info(0, after_step=False)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("ArmReachEnv.step() called before reset(); call reset() first.")
        if self._done:
            raise RuntimeError("the episode is over (terminated or truncated was returned); call reset().")
        action = _check_action(action, (2,), "ArmReach action")
        copies = self._copies
        t = int(copies.step[0])
        executed, reward, success = copies.advance(self._index, action[None])
        terminated = bool(success[0])
        truncated = bool(copies.truncated(self._index)[0])
        self._done = terminated or truncated
        info = copies.info(0, after_step=True)
        if self._done:
            info["is_success"] = terminated
        self._actions[t], self._expert_actions[t] = executed[0], copies.target[0]
        self._hands[t + 1], self._distances[t + 1] = copies.hand[0], copies.distance[0]
        if self.render_mode == "human" and (self._done or copies.step[0] % self._frame_steps == 0):
            self._render_frame()
        return copies.obs[0].copy(), float(reward[0]), terminated, truncated, info

    def _draw(self, canvas: Canvas) -> None:
        copies = self._copies
        _draw_reach_frame(
            canvas,
            self._task,
            step=int(copies.step[0]),
            state=copies.x[0],
            goal=copies.goal[0],
            goal_q=self.expert.joint_targets(copies.obs[0]),
            hold=int(copies.hold[0]),
            success=bool(copies.success[0]),
            expert_in_control=bool(copies.expert_in_control[0]),
            hands=self._hands,
            distances=self._distances,
            actions=self._actions,
            expert_actions=self._expert_actions,
        )


class ArmReachVectorEnv(VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """``num_envs`` copies of :class:`ArmReachEnv` stepped as arrays (the env's ``vector_entry_point``).

    Same arguments as the single env, plus ``num_envs`` and ``autoreset_mode``. Sub-env i has its own
    generator, seeded ``seed + i`` by ``reset(seed=seed)`` as SyncVectorEnv seeds its sub-envs, and draws its
    episodes in the same order as the single env, so the two are equal step for step (observations, rewards,
    terminations, truncations and infos, ``final_obs`` and ``final_info`` included). ``autoreset_mode``:
    SAME_STEP (default: a finished copy returns the first observation of its next episode at once, the last
    one in ``info["final_obs"]`` and ``info["final_info"]``), NEXT_STEP (the step after the end resets and
    ignores its action) or DISABLED (reset finished copies with ``reset(options={"reset_mask": mask})``).
    No rendering: render one copy with the single env.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        dt_ms: float = 10.0,
        episode_ms: float = 2000.0,
        tolerance_m: float = 0.03,
        hold_ms: float = 200.0,
        effort_cost: float = 0.01,
        success_bonus: float = 0.0,
        start_noise: float = 0.0,
        expert_control: float = 0.0,
    ) -> None:
        set_vector_arguments(self, num_envs, autoreset_mode, render_mode)
        self._task = _ArmReachTask(
            dt_ms=dt_ms,
            episode_ms=episode_ms,
            tolerance_m=tolerance_m,
            hold_ms=hold_ms,
            effort_cost=effort_cost,
            success_bonus=success_bonus,
            start_noise=start_noise,
            expert_control=expert_control,
        )
        self.dt_ms: float = self._task.dt_ms
        self.dt: float = self._task.dt
        self.arm: TwoLinkArm = self._task.arm
        self.expert: ArmReachExpert = self._task.expert
        self.single_observation_space, self.single_action_space = self._task.spaces()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs = CopyGenerators(self.num_envs)
        self._copies = _Copies(self._task, self.num_envs)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        self._started = False

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:  # type: ignore[override]
        """The sub-envs' generators (as ``SyncVectorEnv.np_random``)."""
        return self._rngs.all()

    @property
    def state(self) -> np.ndarray:
        """(q1, q2, w1, w2) of every copy now, ``(num_envs, 4)`` (a copy)."""
        return self._copies.x.copy()

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start episodes: all, or those in ``options["reset_mask"]``; seeds as ``SyncVectorEnv.reset``."""
        seeds, mask = reset_arguments(seed, options, self.num_envs, type(self).__name__)
        self._rngs.seed(seeds, mask)
        self._start(mask)
        self._started = True
        none = np.zeros(self.num_envs, dtype=bool)
        return self._copies.obs.copy(), self._infos(stepped=none, restarted=mask, ended=none)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("ArmReachVectorEnv.step() called before reset(); call reset() first.")
        n, copies = self.num_envs, self._copies
        actions = _check_action(actions, (n, 2), "ArmReach actions")
        if self.autoreset_mode == AutoresetMode.DISABLED and self._needs_reset.any():
            raise RuntimeError(
                f"sub-envs {np.flatnonzero(self._needs_reset).tolist()} finished their episode; with autoreset_mode "
                "DISABLED call reset(options={'reset_mask': mask}) before stepping them."
            )
        restarting = self._needs_reset.copy() if self.autoreset_mode == AutoresetMode.NEXT_STEP else np.zeros(n, bool)
        if restarting.any():
            self._start(restarting)
        stepping = ~restarting
        index = np.flatnonzero(stepping)
        rewards = np.zeros(n)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        _, rewards[index], terminated[index] = copies.advance(index, actions[index])
        truncated[index] = copies.truncated(index)
        ended = terminated | truncated
        if ended.any() and self.autoreset_mode == AutoresetMode.SAME_STEP:
            final_obs = np.full(n, None, dtype=object)
            for i in np.flatnonzero(ended):
                final_obs[i] = copies.obs[i].copy()
            info = {
                "final_obs": final_obs,
                "_final_obs": ended.copy(),
                "final_info": self._infos(stepped=ended, restarted=np.zeros(n, bool), ended=ended),
                "_final_info": ended.copy(),
            }
            self._start(ended)
            info.update(self._infos(stepped=stepping & ~ended, restarted=ended, ended=np.zeros(n, bool)))
            return copies.obs.copy(), rewards, terminated, truncated, info
        self._needs_reset = ended
        return copies.obs.copy(), rewards, terminated, truncated, self._infos(stepping, restarting, ended)

    def _start(self, mask: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            self._copies.start(int(i), self._rngs[int(i)])
        self._needs_reset[mask] = False

    def _infos(self, stepped: np.ndarray, restarted: np.ndarray, ended: np.ndarray) -> dict[str, Any]:
        """The sub-envs' infos batched as SyncVectorEnv batches them (a ``_key`` mask per key).

        ``stepped``: the copies whose info is a step's (with ``target``); ``restarted``: a reset's;
        ``ended``: the stepped copies whose episode just ended (with ``is_success``).
        """
        copies = self._copies
        included = stepped | restarted
        info: dict[str, Any] = {}

        def add(key: str, values: np.ndarray, mask: np.ndarray) -> None:
            if mask.any():
                if not mask.all():
                    shape = (-1,) + (1,) * (values.ndim - 1)
                    values = np.where(mask.reshape(shape), values, np.zeros((), dtype=values.dtype))
                info[key] = values.copy()
                info[f"_{key}"] = mask.copy()

        add("target", copies.target, stepped)
        add("expert_action", copies.expert, included)
        add("expert_in_control", copies.expert_in_control, included)
        add("distance", copies.distance, included)
        add("success", copies.success, included)
        add("hand", copies.hand, included)
        add("goal", copies.goal, included)
        add("state", copies.x, included)
        add("t_ms", copies.step * self.dt_ms, included)
        add("is_success", copies.success, ended)
        return info


# Rendering: the arm reaching for its target (left), distance and torques against time (right).

_ARM: Color = (52, 73, 94)
_GHOST: Color = (31, 119, 180)
_TARGET: Color = (214, 39, 40)
_HELD: Color = (44, 160, 44)
_REGION: Color = (236, 240, 246)
_TRACE: Color = (148, 103, 189)
_JOINTS: tuple[Color, ...] = ((31, 119, 180), (255, 127, 14))
_ARM_RECT = (24, 100, 470, 470)


def _draw_reach_frame(
    canvas: Canvas,
    task: _ArmReachTask,
    *,
    step: int,
    state: np.ndarray,
    goal: np.ndarray,
    goal_q: np.ndarray,
    hold: int,
    success: bool,
    expert_in_control: bool,
    hands: np.ndarray,
    distances: np.ndarray,
    actions: np.ndarray,
    expert_actions: np.ndarray,
) -> None:
    """Header; the arm, its target and the hand's trace; distance and torques against time."""
    distance = float(distances[step])
    if success:
        outcome = f"reached and held {task.hold_ms:g} ms"
    elif step >= task.n_steps:
        outcome = "time out"
    elif hold:
        outcome = f"holding {hold * task.dt_ms:g}/{task.hold_ms:g} ms"
    else:
        outcome = "reaching"
    status = f"t = {step * task.dt_ms:g} ms   distance {100 * distance:.1f} cm   {outcome}"
    if expert_in_control:
        status += "   (expert in control)"
    draw_frame_header(
        canvas, "Two-link arm: reach the target and hold it", status, "arm: Li (2006), as in Gilra & Gerstner (2017)"
    )
    _draw_workspace(canvas, task, state, goal, goal_q, hands, held=success or hold > 0)
    duration = task.n_steps * task.dt_ms
    common = {"dt_ms": task.dt_ms, "duration_ms": duration, "epochs": [], "current_ms": step * task.dt_ms}
    distance_rect, torque_rect = (540, 150, 396, 150), (540, 376, 396, 150)
    tolerance = np.full(task.n_steps + 1, 100 * task.tolerance_m)
    draw_panel(
        canvas,
        distance_rect,
        title="",
        traces=[Trace("tolerance", tolerance, _HELD, dashed=True), Trace("distance", 100 * distances, _ARM)],
        y_range=(0.0, 100.0),
        y_ticks=(0, 50, 100),
        **common,
    )
    traces = []
    for k, label in enumerate(("shoulder", "elbow")):
        traces.append(Trace("", expert_actions[:, k], lighten(_JOINTS[k], 0.4), dashed=True))
        traces.append(Trace(label, actions[:, k], _JOINTS[k]))
    draw_panel(canvas, torque_rect, title="", traces=traces, y_range=(-1.05, 1.05), y_ticks=(-1, 0, 1), **common)
    # The titles go a line above the legends: the panels are narrow.
    canvas.text("hand-target distance (cm)", (distance_rect[0], distance_rect[1] - 26), size=20, anchor="bottomleft")
    canvas.text(
        f"torques (x {MAX_TORQUE:g} N m; dashed: the expert's)",
        (torque_rect[0], torque_rect[1] - 26),
        size=20,
        anchor="bottomleft",
    )
    draw_time_axis(canvas, torque_rect, duration_ms=duration, tick_ms=500.0 if duration <= 4000 else 1000.0)


def _draw_workspace(
    canvas: Canvas,
    task: _ArmReachTask,
    state: np.ndarray,
    goal: np.ndarray,
    goal_q: np.ndarray,
    hands: np.ndarray,
    held: bool,
) -> None:
    """The targets' region, the target with its tolerance, the hand's trace, the expert's posture and the arm."""
    pygame = _import_pygame()
    surface = canvas.surface
    arm = task.arm
    left, top, width, height = _ARM_RECT
    pygame.draw.rect(surface, (255, 255, 255), _ARM_RECT)
    pygame.draw.rect(surface, MUTED, _ARM_RECT, 1)
    canvas.text("arm (ghost: the expert's goal posture)", (left, top - 6), size=20, anchor="bottomleft")
    reach = arm.l1 + arm.l2
    shoulder = np.array([left + width / 2, top + height / 2])
    scale = 0.92 * min(width, height) / 2 / reach  # pixels per m

    def pixels(points: np.ndarray) -> np.ndarray:  # m (x forwards, y up) -> screen (y down)
        return shoulder + scale * np.asarray(points) * np.array([1.0, -1.0])

    directions = np.linspace(*REACH_DIRECTIONS, 24)
    rim = np.stack((np.sin(directions), -np.cos(directions)), axis=1)
    region = np.concatenate((REACH_RADII[1] * rim, REACH_RADII[0] * rim[::-1]))
    pygame.draw.polygon(surface, _REGION, pixels(region).round().tolist())
    pygame.draw.circle(surface, (222, 224, 228), shoulder.round().tolist(), round(scale * reach), 1)
    pygame.draw.line(surface, (222, 224, 228), (left + 10, shoulder[1]), (left + width - 10, shoulder[1]))
    color = _HELD if held else _TARGET
    centre = pixels(goal).round().tolist()
    pygame.draw.circle(surface, lighten(color, 0.7), centre, max(3, round(scale * task.tolerance_m)))
    pygame.draw.circle(surface, color, centre, max(3, round(scale * task.tolerance_m)), 2)
    trace = hands[np.isfinite(hands[:, 0])]
    if len(trace) > 1:
        pygame.draw.lines(surface, _TRACE, False, pixels(trace).round().tolist(), 2)

    def joints(q: np.ndarray) -> list[list[int]]:
        elbow = np.array([arm.l1 * math.sin(q[0]), -arm.l1 * math.cos(q[0])])
        return pixels(np.stack((np.zeros(2), elbow, hand_position(arm, q)))).round().astype(int).tolist()

    ghost = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
    ghost_points = joints(goal_q)
    pygame.draw.lines(ghost, (*_GHOST, 90), False, ghost_points, 9)
    for point in ghost_points:
        pygame.draw.circle(ghost, (*_GHOST, 90), point, 7)
    surface.blit(ghost, (0, 0))
    points = joints(state[:2])
    pygame.draw.lines(surface, _ARM, False, points, 9)
    for point in points:
        pygame.draw.circle(surface, _ARM, point, 7)
    canvas.text(
        f"q = ({state[0]:+.2f}, {state[1]:+.2f}) rad   w = ({state[2]:+.1f}, {state[3]:+.1f}) rad/s",
        (left + 8, top + height - 8),
        size=16,
        color=MUTED,
        anchor="bottomleft",
    )
