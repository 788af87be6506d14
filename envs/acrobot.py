"""The acrobot of Sutton (1996): a swing-up task with an expert to imitate, and FOLLOW's acrobot forward model.

Two tasks share one mechanical system, :class:`Acrobot` (the parameters of Sutton 1996 that FOLLOW's
``acrobot_2link.py`` uses: m = l = 1, lc = 0.5, I = 1, g = 9.8, no friction):

* ``spikegym/AcrobotSwingUp-v0`` (:class:`AcrobotSwingUpEnv`): a closed-loop control task. Torque on the elbow
  swings the tip above a line; the analytic expert :class:`AcrobotSwingUpExpert` (energy shaping with partial
  feedback linearisation, after Spong 1995) ships with the task, so its action is the teacher signal in
  ``info["target"]`` for apprenticeship learning.
* ``spikegym/AcrobotForwardModel-v0`` (:class:`AcrobotForwardModelEnv`): FOLLOW's forward-model protocol
  (``envs/forward_model.py``) on the acrobot: hear the elbow torque, predict the state.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.forward_model import (
    CLAMP_TAU_MS,
    INPUT_RADIUS,
    NOISE_INTERVAL_MS,
    ForwardModelEnv,
    ForwardModelTask,
    ForwardModelVectorEnv,
    ReferenceSystem,
    draw_frame_header,
    draw_state_frame,
    rk4_step,
)
from envs.rendering import (
    INK,
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
    "INPUT_PROTOCOLS",
    "MAX_TORQUE",
    "VELOCITY_SCALES",
    "Acrobot",
    "AcrobotForwardModelEnv",
    "AcrobotForwardModelVectorEnv",
    "AcrobotSwingUpEnv",
    "AcrobotSwingUpExpert",
    "AcrobotSwingUpVectorEnv",
]

MAX_TORQUE = 5.0
"""The elbow torque (N m) an action of +-1 applies by default: FOLLOW's ``RL_acrobot.py`` torques (-5, 0, +5)."""

VELOCITY_SCALES = np.array([4.0 * math.pi, 9.0 * math.pi])
"""Angular velocities (rad/s) that map to +-1 in the swing-up observation (Gymnasium Acrobot's velocity bounds)."""

SUBSTEP_MS = 1.0
"""The longest RK4 step (ms) the swing-up task integrates with; a control step is split into equal substeps."""

INPUT_PROTOCOLS = ("swing", "noise")
"""The forward model's torque inputs: ``"swing"``, the expert's swing-up and swing-down; ``"noise"``, FOLLOW's
noise and heights."""

KICK_MS = 100.0
"""The swing protocol starts each trial with a torque pulse of this length (ms) that sets the acrobot moving."""

SWING_LINE = 1.0
"""The tip height (m above the pivot) at which the swing protocol turns from swinging up to swinging down."""

SWING_DOWN_DAMPING = 3.0
"""The elbow damping (N m s) with which the swing protocol swings down: tau = -3 w2, saturated at 5 N m."""


@dataclass
class Acrobot(ReferenceSystem):
    """The two-link acrobot: a passive shoulder pivot, a torque on the elbow only, gravity, no friction.

    Angles q = (shoulder, elbow) in rad, q1 from hanging straight down and q2 relative to link 1 (q = 0:
    hanging down, q1 = pi and q2 = 0: upright); angular velocities w = dq/dt in rad/s; the elbow torque tau in
    N m. With the pivot at the origin and y pointing up, the centres of mass are at
    ``lc1 (sin q1, -cos q1)`` and ``l1 (sin q1, -cos q1) + lc2 (sin(q1 + q2), -cos(q1 + q2))``; the
    Lagrangian of the two links (masses m_i, moments of inertia I_i about their centres of mass) gives

        M(q) dw/dt + C(q, w) + G(q) = (0, tau)

        M11 = I1 + I2 + m1 lc1^2 + m2 (l1^2 + lc2^2) + 2 m2 l1 lc2 cos q2
        M12 = I2 + m2 lc2^2 + m2 l1 lc2 cos q2,   M22 = I2 + m2 lc2^2
        C   = m2 l1 lc2 sin q2 (-(2 w1 + w2) w2, w1^2)
        G   = g ((m1 lc1 + m2 l1) sin q1 + m2 lc2 sin(q1 + q2), m2 lc2 sin(q1 + q2))

    (Spong 1995; Sutton & Barto 1998, Sec. 11.3, write the same equations). The energy
    E = w' M w / 2 - g ((m1 lc1 + m2 l1) cos q1 + m2 lc2 cos(q1 + q2)) obeys dE/dt = w2 tau: it is
    conserved without torque, -19.6 J hanging at rest and +19.6 J balanced upright with the defaults.

    As a :class:`~envs.forward_model.ReferenceSystem` (``spikegym/AcrobotForwardModel-v0``) it also draws the
    torque of each trial by ``input_protocol`` (see :class:`AcrobotForwardModelEnv`).

    Args: Sutton's (1996) parameters (masses kg, lengths m, inertias kg m^2, g m/s^2); the forward model's
    ``input_protocol`` and the noise protocol's ``torque_amplitude`` (N m).
    """

    m1: float = 1.0
    m2: float = 1.0
    l1: float = 1.0
    l2: float = 1.0
    lc1: float = 0.5
    lc2: float = 0.5
    i1: float = 1.0
    i2: float = 1.0
    g: float = 9.8
    input_protocol: str = "swing"
    torque_amplitude: float = MAX_TORQUE / 2

    name = "AcrobotForwardModel"
    state_labels = ("q1", "q2", "w1", "w2")
    input_labels = ("tau",)
    state_factors = np.array([1.0 / (2.0 * math.pi), 1.0 / (2.0 * math.pi), 0.1, 0.1])
    input_factor = INPUT_RADIUS / MAX_TORQUE

    def __post_init__(self) -> None:
        if self.input_protocol not in INPUT_PROTOCOLS:
            raise ValueError(f"input_protocol must be one of {INPUT_PROTOCOLS}, got {self.input_protocol!r}.")

    @property
    def rest_energy(self) -> float:
        """The energy hanging at rest (J)."""
        return -self.g * (self.m1 * self.lc1 + self.m2 * self.l1 + self.m2 * self.lc2)

    @property
    def upright_energy(self) -> float:
        """The energy balanced upright at rest (J), the energy the swing-up expert pumps towards."""
        return -self.rest_energy

    def mass_matrix(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """M11, M12, M22 for angles ``q`` ``(..., 2)``."""
        m11, m12, m22 = self._inertia(np.cos(q[..., 1]))
        return m11, m12, np.full_like(m11, m22)

    def gravity(self, q: np.ndarray) -> np.ndarray:
        """G(q), the torques gravity exerts against the angles, ``(..., 2)``."""
        link2 = self.m2 * self.lc2 * self.g * np.sin(q[..., 0] + q[..., 1])
        link1 = (self.m1 * self.lc1 + self.m2 * self.l1) * self.g * np.sin(q[..., 0])
        return np.stack((link1 + link2, link2), axis=-1)

    def energy(self, x: np.ndarray) -> np.ndarray:
        """Kinetic plus potential energy (J) of states ``x`` ``(..., 4)``; 0 potential at the pivot's height."""
        return self._energy(x[..., 0], x[..., 1], x[..., 2], x[..., 3], np.cos)

    def joints(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The elbow and the tip ``(..., 2)`` (x, y in m; the pivot at the origin, y up) for angles ``q``."""
        q1, q12 = q[..., 0], q[..., 0] + q[..., 1]
        elbow = self.l1 * np.stack((np.sin(q1), -np.cos(q1)), axis=-1)
        return elbow, elbow + self.l2 * np.stack((np.sin(q12), -np.cos(q12)), axis=-1)

    def tip_height(self, x: np.ndarray) -> np.ndarray:
        """The tip's height above the pivot (m) for states (or angles) ``x`` ``(..., >= 2)``: -2 hanging, +2 upright."""
        return -self.l1 * np.cos(x[..., 0]) - self.l2 * np.cos(x[..., 0] + x[..., 1])

    def derivative(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        dw1, dw2 = self._accelerations(x[..., 0], x[..., 1], x[..., 2], x[..., 3], u[..., 0], np.sin, np.cos)
        out = np.empty_like(x)
        out[..., :2] = x[..., 2:]
        out[..., 2] = dw1
        out[..., 3] = dw2
        return out

    def elbow_torque(self, x: np.ndarray, elbow_acceleration: np.ndarray) -> np.ndarray:
        """The torque that gives the elbow the acceleration ``elbow_acceleration`` (rad/s^2) in states ``x``.

        Partial feedback linearisation (Spong 1995): eliminating dw1/dt from the shoulder's equation,
        ``tau = (M22 - M12^2 / M11) a2 + (C + G)_2 - M12 (C + G)_1 / M11``.
        """
        return self._elbow_torque(x[..., 0], x[..., 1], x[..., 2], x[..., 3], elbow_acceleration, np.sin, np.cos)

    # The formulas, written once for NumPy arrays (sin, cos = np.sin, np.cos) and for floats (math.sin, math.cos):
    # the swing protocol's closed loop runs on floats, 1 ms at a time, where NumPy's per-call cost would dominate.

    def _inertia(self, cos_q2: Any) -> tuple[Any, Any, float]:
        coupling = self.m2 * self.l1 * self.lc2 * cos_q2
        m22 = self.i2 + self.m2 * self.lc2**2
        return self.i1 + m22 + self.m1 * self.lc1**2 + self.m2 * self.l1**2 + 2.0 * coupling, m22 + coupling, m22

    def _bias(self, q1: Any, q2: Any, w1: Any, w2: Any, sin: Any, cos: Any) -> tuple[Any, ...]:
        """M11, M12, M22 and the Coriolis-plus-gravity torques (C + G)_1, (C + G)_2."""
        m11, m12, m22 = self._inertia(cos(q2))
        h = self.m2 * self.l1 * self.lc2 * sin(q2)
        link2 = self.m2 * self.lc2 * self.g * sin(q1 + q2)
        bias1 = (self.m1 * self.lc1 + self.m2 * self.l1) * self.g * sin(q1) + link2 - h * (2.0 * w1 + w2) * w2
        return m11, m12, m22, bias1, link2 + h * w1 * w1

    def _accelerations(self, q1: Any, q2: Any, w1: Any, w2: Any, tau: Any, sin: Any, cos: Any) -> tuple[Any, Any]:
        """dw1/dt, dw2/dt: M^-1 ((0, tau) - C - G)."""
        m11, m12, m22, bias1, bias2 = self._bias(q1, q2, w1, w2, sin, cos)
        net2 = tau - bias2
        det = m11 * m22 - m12 * m12
        return (-m22 * bias1 - m12 * net2) / det, (m11 * net2 + m12 * bias1) / det

    def _elbow_torque(self, q1: Any, q2: Any, w1: Any, w2: Any, a2: Any, sin: Any, cos: Any) -> Any:
        m11, m12, m22, bias1, bias2 = self._bias(q1, q2, w1, w2, sin, cos)
        return (m22 - m12 * m12 / m11) * a2 + bias2 - m12 * bias1 / m11

    def _energy(self, q1: Any, q2: Any, w1: Any, w2: Any, cos: Any) -> Any:
        m11, m12, m22 = self._inertia(cos(q2))
        kinetic = 0.5 * (m11 * w1 * w1 + 2.0 * m12 * w1 * w2 + m22 * w2 * w2)
        potential = (self.m1 * self.lc1 + self.m2 * self.l1) * cos(q1) + self.m2 * self.lc2 * cos(q1 + q2)
        return kinetic - self.g * potential

    def _rk4_float(self, x: tuple[float, ...], tau: float, dt: float) -> tuple[float, float, float, float]:
        """:func:`~envs.forward_model.rk4_step` for one state of floats (the same operations in the same order)."""
        sin, cos = math.sin, math.cos
        q1, q2, w1, w2 = x
        a1, b1 = self._accelerations(q1, q2, w1, w2, tau, sin, cos)
        h = 0.5 * dt
        a2, b2 = self._accelerations(q1 + h * w1, q2 + h * w2, w1 + h * a1, w2 + h * b1, tau, sin, cos)
        v1, v2 = w1 + h * a1, w2 + h * b1
        a3, b3 = self._accelerations(q1 + h * v1, q2 + h * v2, w1 + h * a2, w2 + h * b2, tau, sin, cos)
        u1, u2 = w1 + h * a2, w2 + h * b2
        a4, b4 = self._accelerations(q1 + dt * u1, q2 + dt * u2, w1 + dt * a3, w2 + dt * b3, tau, sin, cos)
        s1, s2 = w1 + dt * a3, w2 + dt * b3
        c = dt / 6.0
        return (
            q1 + c * (w1 + 2.0 * v1 + 2.0 * u1 + s1),
            q2 + c * (w2 + 2.0 * v2 + 2.0 * u2 + s2),
            w1 + c * (a1 + 2.0 * a2 + 2.0 * a3 + a4),
            w2 + c * (b1 + 2.0 * b2 + 2.0 * b3 + b4),
        )

    def start_episode(self, rng: np.random.Generator) -> Any:
        if self.input_protocol == "swing":
            return np.zeros(4)  # the state the next trial starts from: the env starts at rest
        return rng.uniform(-self.torque_amplitude, self.torque_amplitude, size=2)  # (height, noise) at t = 0

    def draw_trial(
        self, rng: np.random.Generator, carry: Any, t_ms: np.ndarray, drive: np.ndarray, trial_ms: float
    ) -> tuple[np.ndarray, Any]:
        if self.input_protocol == "swing":
            return self._swing_trial(rng, carry, t_ms, drive)
        # FOLLOW's amplVaryHeights in one dimension: noise points every 50 ms and a height per trial boundary,
        # both U(-A, A) and interpolated linearly, so the torque stays within 2 A.
        height_start, noise_start = carry
        height_end = rng.uniform(-self.torque_amplitude, self.torque_amplitude)
        n_points = round(trial_ms / NOISE_INTERVAL_MS)
        points = np.concatenate(
            ([noise_start], rng.uniform(-self.torque_amplitude, self.torque_amplitude, size=n_points))
        )
        noise = np.interp(t_ms, np.arange(n_points + 1) * NOISE_INTERVAL_MS, points)
        heights = height_start + t_ms / trial_ms * (height_end - height_start)
        return ((noise + heights) * drive)[:, None], np.array([height_end, points[-1]])

    def _swing_trial(
        self, rng: np.random.Generator, start: np.ndarray, t_ms: np.ndarray, drive: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The expert's torques in closed loop: a kick, the swing-up to the line, then the swing-down.

        The reference is simulated here as the env will integrate it (the same RK4 steps and clamp, on floats),
        so the recorded torques, replayed, drive the reference along the closed-loop trajectory: bitwise where
        NumPy's sine and cosine round as the math module's (as on the machines the tests ran on), to rounding
        otherwise.
        """
        dt_ms = float(t_ms[1] - t_ms[0]) if len(t_ms) > 1 else float(t_ms[0] + 1.0)
        kick = rng.choice((-1.0, 1.0)) * rng.uniform(0.5, 1.0) * MAX_TORQUE
        kick_steps = round(KICK_MS / dt_ms)
        up = AcrobotSwingUpExpert(self)
        decay = math.exp(-dt_ms / CLAMP_TAU_MS)
        dt = dt_ms / 1000.0
        x = tuple(float(v) for v in start)
        torques = np.zeros(len(t_ms))
        swung_up = False
        for k in range(len(t_ms)):
            if not drive[k]:
                x = tuple(v * decay for v in x)
                continue
            if k < kick_steps:
                tau = kick
            elif swung_up:  # the swing-down: damping on the elbow, dE/dt = w2 tau = -b w2^2 (saturated)
                tau = min(MAX_TORQUE, max(-MAX_TORQUE, -SWING_DOWN_DAMPING * x[3]))
            else:
                tau = up.torque_float(x)
            torques[k] = tau
            x = self._rk4_float(x, tau, dt)
            swung_up = swung_up or -self.l1 * math.cos(x[0]) - self.l2 * math.cos(x[0] + x[1]) >= SWING_LINE
        return torques[:, None], np.array(x)


class AcrobotSwingUpExpert:
    """An energy-shaping swing-up controller for the acrobot (Spong 1995), a pure function of the observation.

    It asks the elbow for the acceleration

        a2 = -kp wrap(q2) - kd w2 + ke (E - E_des) w1

    and applies the torque that produces it by partial feedback linearisation (:meth:`Acrobot.elbow_torque`),
    clipped to +-``max_torque``. The PD terms keep the elbow near straight; the last term pumps energy: while
    E < E_des it drives the elbow against the shoulder's swing, which (through the coupling) feeds the swing;
    beyond E_des the term reverses. E_des defaults to the upright energy (19.6 J), so the swing grows until the
    links go over the top. The gains (kp = 5, kd = 6, ke = 3) were tuned for Sutton's acrobot and 5 N m: from
    hanging, the tip rises above the pivot's height + 1 m in 3.23 s on average (100 of 100 starts, the slowest
    5.1 s; ``tests/envs/test_acrobot.py``). The torque is saturated most of the time: close to bang-bang.

    ``expert(obs)`` takes :class:`AcrobotSwingUpEnv` observations ``(6,)`` or ``(B, 6)`` and returns the action
    (torque / ``max_torque``, float32, ``(1,)`` or ``(B, 1)``); :meth:`torque` maps states to N m.

    Args:
        acrobot: the mechanics (default: Sutton's).
        max_torque: the torque of an action of 1 (N m); also the controller's saturation.
        desired_energy: E_des (J); None for the upright energy.
        kp, kd: the elbow's PD gains (1/s^2, 1/s).
        ke: the energy pumping gain (1/(J s)).
    """

    def __init__(
        self,
        acrobot: Acrobot | None = None,
        *,
        max_torque: float = MAX_TORQUE,
        desired_energy: float | None = None,
        kp: float = 5.0,
        kd: float = 6.0,
        ke: float = 3.0,
    ) -> None:
        self.acrobot = acrobot if acrobot is not None else Acrobot()
        self.max_torque = float(max_torque)
        self.desired_energy = self.acrobot.upright_energy if desired_energy is None else float(desired_energy)
        self.kp, self.kd, self.ke = float(kp), float(kd), float(ke)

    def torque(self, x: np.ndarray) -> np.ndarray:
        """The elbow torque (N m) for states ``x`` ``(..., 4)``, shape ``(...)``."""
        x = np.asarray(x, dtype=np.float64)
        tau = self._law(x[..., 0], x[..., 1], x[..., 2], x[..., 3], np.sin, np.cos, np.arctan2)
        return np.clip(tau, -self.max_torque, self.max_torque)

    def torque_float(self, x: Sequence[float]) -> float:
        """:meth:`torque` for one state of floats."""
        tau = self._law(*x, math.sin, math.cos, math.atan2)
        return min(self.max_torque, max(-self.max_torque, tau))

    def _law(self, q1: Any, q2: Any, w1: Any, w2: Any, sin: Any, cos: Any, atan2: Any) -> Any:
        acrobot = self.acrobot
        excess = acrobot._energy(q1, q2, w1, w2, cos) - self.desired_energy
        acceleration = -self.kp * atan2(sin(q2), cos(q2)) - self.kd * w2 + self.ke * excess * w1
        return acrobot._elbow_torque(q1, q2, w1, w2, acceleration, sin, cos)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """The action (float32, ``(..., 1)``) for swing-up observations ``obs`` ``(..., 6)``."""
        obs = np.asarray(obs, dtype=np.float64)
        if obs.ndim not in (1, 2) or obs.shape[-1] != 6:
            raise ValueError(f"the expert takes observations of shape (6,) or (B, 6), got shape {obs.shape}.")
        return (self.torque(state_from_observation(obs)) / self.max_torque)[..., None].astype(np.float32)


def observe(x: np.ndarray) -> np.ndarray:
    """The swing-up observation (float32 ``(..., 6)``) of states ``x`` ``(..., 4)``."""
    obs = np.empty((*x.shape[:-1], 6), dtype=np.float64)
    obs[..., 0] = np.cos(x[..., 0])
    obs[..., 1] = np.sin(x[..., 0])
    obs[..., 2] = np.cos(x[..., 1])
    obs[..., 3] = np.sin(x[..., 1])
    obs[..., 4:] = np.clip(x[..., 2:] / VELOCITY_SCALES, -1.0, 1.0)
    return obs.astype(np.float32)


def state_from_observation(obs: np.ndarray) -> np.ndarray:
    """The state ``(..., 4)`` (angles wrapped to (-pi, pi]) an observation ``(..., 6)`` describes."""
    obs = np.asarray(obs, dtype=np.float64)
    x = np.empty((*obs.shape[:-1], 4))
    x[..., 0] = np.arctan2(obs[..., 1], obs[..., 0])
    x[..., 1] = np.arctan2(obs[..., 3], obs[..., 2])
    x[..., 2:] = obs[..., 4:] * VELOCITY_SCALES
    return x


# The swing-up task: settings, and B episodes as arrays (the single env is B = 1).


def _number(name: str, value: Any, low: float, high: float = math.inf, *, low_open: bool = True) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value > high or value < low or (low_open and value == low):
        bound = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high < math.inf else "")
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}.")
    return float(value)


class _SwingUpTask:
    """The validated settings both swing-up envs share, and the physics of one control step."""

    def __init__(
        self,
        dt_ms: float,
        time_limit_s: float,
        success_height: float,
        max_torque: float,
        expert_control: float,
        start_noise: float,
    ) -> None:
        self.dt_ms = _number("dt_ms", dt_ms, 0.0)
        self.dt = self.dt_ms / 1000.0
        self.time_limit_s = _number("time_limit_s", time_limit_s, 0.0)
        self.max_steps = max(1, math.ceil(self.time_limit_s * 1000.0 / self.dt_ms - 1e-9))
        self.success_height = _number("success_height", success_height, -2.0, 2.0)
        self.max_torque = _number("max_torque", max_torque, 0.0)
        self.expert_control = _number("expert_control", expert_control, 0.0, 1.0, low_open=False)
        self.start_noise = _number("start_noise", start_noise, 0.0, math.pi, low_open=False)
        self.n_substeps = max(1, math.ceil(self.dt_ms / SUBSTEP_MS - 1e-9))
        self.substep = self.dt / self.n_substeps
        self.acrobot = Acrobot()
        self.expert = AcrobotSwingUpExpert(self.acrobot, max_torque=self.max_torque)

    @staticmethod
    def spaces() -> tuple[spaces.Box, spaces.Box]:
        return (
            spaces.Box(-1.0, 1.0, shape=(6,), dtype=np.float32),
            spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32),
        )

    def integrate(self, x: np.ndarray, torque: np.ndarray) -> np.ndarray:
        """The states ``x`` ``(B, 4)`` one control step later under the elbow torques ``torque`` ``(B, 1)``."""
        for _ in range(self.n_substeps):
            x = rk4_step(self.acrobot, x, torque, self.substep)
        return x

    @staticmethod
    def check_action(action: Any, shape: tuple[int, ...]) -> np.ndarray:
        """``action`` as float64 of ``shape`` clipped to [-1, 1], or a ValueError saying what is wrong."""
        try:
            array = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"the acrobot action must be numeric with shape {shape}, got {action!r}.") from None
        batch_first = len(shape) == 1 or (array.ndim >= 1 and array.shape[0] == shape[0])
        if array.size != math.prod(shape) or not batch_first or array.ndim > len(shape):
            raise ValueError(
                f"the acrobot action must have shape {shape} (the elbow torque / max_torque), got shape {array.shape}."
            )
        array = array.reshape(shape)
        if not np.isfinite(array).all():
            raise ValueError(f"the acrobot action contains NaN/inf ({array.ravel().tolist()}); it must be finite.")
        return np.clip(array, -1.0, 1.0)


class _SwingUpCopies:
    """B swing-up episodes as arrays."""

    def __init__(self, task: _SwingUpTask, num: int) -> None:
        self.task = task
        self.x = np.zeros((num, 4))
        self.obs = np.zeros((num, 6), dtype=np.float32)
        self.expert_action = np.zeros((num, 1), dtype=np.float32)  # the expert's action for obs
        self.target = np.zeros((num, 1), dtype=np.float32)  # the expert's action for the previous obs
        self.torque = np.zeros((num, 1))  # the torque of the last step (N m)
        self.step = np.zeros(num, dtype=np.int64)
        self.expert_in_control = np.zeros(num, dtype=bool)
        self.success = np.zeros(num, dtype=bool)

    def start(self, i: int, rng: np.random.Generator) -> None:
        task = self.task
        self.x[i] = rng.uniform(-task.start_noise, task.start_noise, size=4)
        self.expert_in_control[i] = rng.random() < task.expert_control
        self.step[i] = 0
        self.torque[i] = 0.0
        self.success[i] = False
        self.obs[i] = observe(self.x[i])
        self.expert_action[i] = task.expert(self.obs[i])

    def advance(self, index: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step the copies ``index`` with ``actions`` ``(len(index), 1)`` (clipped); rewards, terminated, truncated."""
        task = self.task
        self.target[index] = self.expert_action[index]
        executed = np.where(self.expert_in_control[index, None], self.expert_action[index], actions)
        self.torque[index] = task.max_torque * executed.astype(np.float64)
        self.x[index] = task.integrate(self.x[index], self.torque[index])
        self.step[index] += 1
        self.obs[index] = observe(self.x[index])
        self.expert_action[index] = task.expert(self.obs[index])
        terminated = task.acrobot.tip_height(self.x[index]) >= task.success_height
        self.success[index] = terminated
        truncated = ~terminated & (self.step[index] >= task.max_steps)
        return np.where(terminated, 0.0, -1.0), terminated, truncated

    def info_values(self) -> dict[str, np.ndarray]:
        """Every info entry of every copy, one row each (masking is the caller's)."""
        acrobot = self.task.acrobot
        return {
            "target": self.target.copy(),
            "expert_action": self.expert_action.copy(),
            "tip_height": acrobot.tip_height(self.x),
            "energy": acrobot.energy(self.x),
            "state": self.x.copy(),
            "success": self.success.copy(),
            "expert_in_control": self.expert_in_control.copy(),
            "t_ms": self.step * self.task.dt_ms,
        }


_RESET_KEYS = ("expert_action", "tip_height", "energy", "state", "success", "expert_in_control", "t_ms")
_STEP_KEYS = ("target", *_RESET_KEYS)


class AcrobotSwingUpEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    The acrobot swing-up (Sutton R. S. (1996) "Generalization in reinforcement learning: successful examples
    using sparse coarse coding", NIPS 8; Spong M. W. (1995) "The swing up control problem for the acrobot",
    IEEE Control Systems 15(1)) with continuous torque and an expert to imitate. Two links hang from a passive
    pivot; a torque on the elbow only must swing the tip above a line 1 m above the pivot (Gymnasium's Acrobot
    criterion). The mechanics are Sutton's (and FOLLOW's `acrobot_2link.py`): m1 = m2 = 1 kg, l1 = l2 = 1 m,
    centres of mass lc1 = lc2 = 0.5 m, I1 = I2 = 1 kg m^2, g = 9.8 m/s^2, no friction; the equations are in
    :class:`Acrobot`. Each control step of `dt_ms` = 10 ms holds the torque and integrates with classical RK4
    in substeps of at most 1 ms.

    The expert (:class:`AcrobotSwingUpExpert`: energy shaping with partial feedback linearisation after Spong
    1995, a pure function of the observation) swings up in about 3.2 s with 5 N m; its action for the
    observation the agent acted on is the teacher signal `info["target"]`. With `expert_control` > 0 some
    episodes are demonstrations: the expert's action is executed and the agent's ignored.

    ## Action Space

    `Box(-1, 1, (1,), float32)`: the elbow torque over `max_torque` (5 N m, FOLLOW's `RL_acrobot.py` torques):
    tau = 5 a N m. Values outside [-1, 1] are clipped; NaN/inf or another shape than a scalar or `(1,)` raises
    `ValueError`.

    ## Observation Space

    `Box(-1, 1, (6,), float32)`:

    | Num | Observation              | Min | Max |
    |-----|--------------------------|-----|-----|
    | 0   | cos q1                   | -1  | 1   |
    | 1   | sin q1                   | -1  | 1   |
    | 2   | cos q2                   | -1  | 1   |
    | 3   | sin q2                   | -1  | 1   |
    | 4   | w1 / (4 pi rad/s)        | -1  | 1   |
    | 5   | w2 / (9 pi rad/s)        | -1  | 1   |

    q1 is the shoulder's angle from hanging down, q2 the elbow's relative to link 1; the velocities are clipped
    to the bounds (Gymnasium Acrobot's limits; the expert's swings stay within a third of them, but an agent
    that keeps pumping can exceed them, as the mechanics have no friction and no speed limit).

    ## Rewards

    -1 per step, 0 on the step that reaches the line (Sutton's reward, as Gymnasium's Acrobot): the return is
    minus the number of steps taken before the tip rose above the line.

    ## Starting State

    Hanging down at rest plus a perturbation: q1, q2, w1, w2 each U(-`start_noise`, `start_noise`) (0.1 rad,
    rad/s) from `self.np_random`; then the demonstration draw: U(0, 1) < `expert_control`.

    ## Episode End

    Termination when the tip's height above the pivot, -l1 cos q1 - l2 cos(q1 + q2), reaches `success_height`
    (1 m); truncation after `time_limit_s` (10 s: 1000 steps).

    ## Info

    `target` (float32 `(1,)`, action units: the expert's action for the observation the action answered, i.e.
    computed from the state before this step; not at `reset`), `expert_action` (the expert's action for the
    observation returned now; also at `reset`), `tip_height` (m), `energy` (J), `state` (float64 `(4,)`: q1, q2
    unwrapped in rad, w1, w2 in rad/s), `success` (the tip is above the line), `expert_in_control` (this episode
    is a demonstration) and `t_ms`. The last step of an episode (terminated or truncated) adds `is_success`.

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import envs  # registers spikegym/*
    >>> env = gym.make("spikegym/AcrobotSwingUp-v0", expert_control=1.0)
    >>> obs, info = env.reset(seed=0)
    >>> done = False
    >>> while not done:  # the expert is in control: the agent's action is ignored
    ...     obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    ...     done = terminated or truncated
    >>> info["is_success"], info["t_ms"] < 5000
    (True, True)

    ```

    | Parameter        | Type            | Default | Description                                             |
    |------------------|-----------------|---------|---------------------------------------------------------|
    | `render_mode`    | **str or None** | `None`  | `"human"` (window) or `"rgb_array"`                     |
    | `dt_ms`          | **float**       | `10.0`  | the control step (RK4 substeps of at most 1 ms)         |
    | `time_limit_s`   | **float**       | `10.0`  | truncation after this time                              |
    | `success_height` | **float**       | `1.0`   | the tip's height above the pivot that ends the episode  |
    | `max_torque`     | **float**       | `5.0`   | the torque of an action of 1 (N m; the expert is tuned  |
    |                  |                 |         | for 5 and saturates at `max_torque`)                    |
    | `expert_control` | **float**       | `0.0`   | probability (per episode) that the expert's action is   |
    |                  |                 |         | executed instead of the agent's                         |
    | `start_noise`    | **float**       | `0.1`   | half-width of the uniform start perturbation            |

    Besides the spaces the env exposes `dt` (seconds per step), `dt_ms` and `expert` (the
    :class:`AcrobotSwingUpExpert`: `env.unwrapped.expert(obs)`).

    ## Vectorized environment

    `AcrobotSwingUpVectorEnv` (`gym.make_vec("spikegym/AcrobotSwingUp-v0", num_envs=B)`) steps B copies as
    arrays and equals `SyncVectorEnv` step for step.

    ## Version History

    * v0: Initial version.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 25}  # noqa: RUF012
    frame_size = (960, 560)
    frame_ms = 40.0  # "human" mode draws a frame every 40 ms of simulated time: real time at 25 fps

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        dt_ms: float = 10.0,
        time_limit_s: float = 10.0,
        success_height: float = 1.0,
        max_torque: float = MAX_TORQUE,
        expert_control: float = 0.0,
        start_noise: float = 0.1,
    ) -> None:
        self._init_rendering(render_mode)
        self._task = _SwingUpTask(dt_ms, time_limit_s, success_height, max_torque, expert_control, start_noise)
        self.dt_ms: float = self._task.dt_ms
        self.dt: float = self._task.dt
        self.expert = self._task.expert
        self.observation_space, self.action_space = self._task.spaces()
        self._copies = _SwingUpCopies(self._task, 1)
        n = self._task.max_steps
        self._history = {  # for rendering: the episode so far, NaN where not reached yet
            "tip": np.full((n + 1, 2), np.nan),
            "tip_height": np.full(n + 1, np.nan),
            "torque": np.full(n, np.nan),
            "expert": np.full(n, np.nan),
            "energy": np.full(n + 1, np.nan),
        }
        self._frame_steps = max(1, round(self.frame_ms / self.dt_ms))
        self._over = False

    @property
    def state(self) -> np.ndarray:
        """The acrobot's state (q1, q2, w1, w2) now (a copy)."""
        return self._copies.x[0].copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"{type(self).__name__} takes no reset options, got {sorted(options)}.")
        self._copies.start(0, self.np_random)
        self._started, self._over = True, False
        for values in self._history.values():
            values[:] = np.nan
        self._record()
        if self.render_mode == "human":
            self._render_frame()
        return self._copies.obs[0].copy(), self._info(_RESET_KEYS)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError(f"{type(self).__name__}.step() called before reset(); call reset() first.")
        if self._over:
            raise RuntimeError("the episode is over (terminated or truncated was returned); call reset().")
        action = self._task.check_action(action, (1,))
        copies = self._copies
        rewards, terminated, truncated = copies.advance(np.zeros(1, dtype=np.int64), action[None])
        self._record()
        info = self._info(_STEP_KEYS)
        done = bool(terminated[0] or truncated[0])
        if done:
            info["is_success"] = bool(terminated[0])
            self._over = True
        if self.render_mode == "human" and (done or copies.step[0] % self._frame_steps == 0):
            self._render_frame()
        return copies.obs[0].copy(), float(rewards[0]), bool(terminated[0]), bool(truncated[0]), info

    def _info(self, keys: Sequence[str]) -> dict[str, Any]:
        values = self._copies.info_values()
        info: dict[str, Any] = {}
        for key in keys:
            value = values[key][0]
            info[key] = value.copy() if value.ndim else value.item()
        return info

    def _record(self) -> None:
        copies, history = self._copies, self._history
        k = int(copies.step[0])
        x = copies.x[0]
        history["tip"][k] = self._task.acrobot.joints(x[:2])[1]
        history["tip_height"][k] = self._task.acrobot.tip_height(x)
        history["energy"][k] = self._task.acrobot.energy(x)
        if k > 0:
            history["torque"][k - 1] = copies.torque[0, 0]
            history["expert"][k - 1] = self._task.max_torque * copies.target[0, 0]

    def _draw(self, canvas: Canvas) -> None:
        _draw_swing_up(canvas, self._task, self._copies, self._history)


class AcrobotSwingUpVectorEnv(VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """``num_envs`` copies of :class:`AcrobotSwingUpEnv` stepped as arrays (the env's ``vector_entry_point``).

    Same arguments, spaces (batched), rewards and infos as the single env, equal step for step to
    ``gym.make_vec(..., vectorization_mode="sync")``: sub-env i has its own generator, seeded ``seed + i`` by
    ``reset(seed=seed)`` as SyncVectorEnv seeds its sub-envs. ``autoreset_mode``: SAME_STEP (default: a
    finished copy returns the first observation of its next episode at once, the last one in
    ``info["final_obs"]`` and its info, with ``is_success``, in ``info["final_info"]``), NEXT_STEP (the step after
    the end resets and ignores its action) or DISABLED (reset finished copies with
    ``reset(options={"reset_mask": mask})``). No rendering: render one copy with the single env.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        dt_ms: float = 10.0,
        time_limit_s: float = 10.0,
        success_height: float = 1.0,
        max_torque: float = MAX_TORQUE,
        expert_control: float = 0.0,
        start_noise: float = 0.1,
    ) -> None:
        set_vector_arguments(self, num_envs, autoreset_mode, render_mode)
        self._task = _SwingUpTask(dt_ms, time_limit_s, success_height, max_torque, expert_control, start_noise)
        self.dt_ms: float = self._task.dt_ms
        self.dt: float = self._task.dt
        self.expert = self._task.expert
        self.single_observation_space, self.single_action_space = self._task.spaces()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs = CopyGenerators(self.num_envs)
        self._copies = _SwingUpCopies(self._task, self.num_envs)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        self._started = False

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:  # type: ignore[override]
        return self._rngs.all()

    @property
    def state(self) -> np.ndarray:
        """The acrobots' states now, ``(num_envs, 4)`` (a copy)."""
        return self._copies.x.copy()

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start episodes: all, or those in ``options["reset_mask"]``; seeds as ``SyncVectorEnv.reset``."""
        seeds, mask = reset_arguments(seed, options, self.num_envs, type(self).__name__)
        self._rngs.seed(seeds, mask)
        self._start(mask)
        self._started = True
        return self._copies.obs.copy(), self._infos({key: mask for key in _RESET_KEYS})

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError(f"{type(self).__name__}.step() called before reset(); call reset() first.")
        n, copies = self.num_envs, self._copies
        actions = self._task.check_action(actions, (n, 1))
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
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        rewards[index], terminated[index], truncated[index] = copies.advance(index, actions[index])
        done = terminated | truncated
        stepped = ~restarting
        if done.any() and self.autoreset_mode == AutoresetMode.SAME_STEP:
            final_obs = np.full(n, None, dtype=object)
            for i in np.flatnonzero(done):
                final_obs[i] = copies.obs[i].copy()
            final_info = self._infos({**{key: done for key in _STEP_KEYS}, "is_success": done}, terminated)
            self._start(done)
            info = {"final_obs": final_obs, "_final_obs": done.copy(), "final_info": final_info, "_final_info": done}
            info.update(self._infos({**{key: stepped for key in _RESET_KEYS}, "target": stepped & ~done}))
            return copies.obs.copy(), rewards, terminated, truncated, info
        self._needs_reset = done
        masks = {key: np.ones(n, dtype=bool) for key in _RESET_KEYS}
        masks.update(target=stepped, is_success=done)
        return copies.obs.copy(), rewards, terminated, truncated, self._infos(masks, terminated)

    def _start(self, mask: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            self._copies.start(int(i), self._rngs[int(i)])
        self._needs_reset[mask] = False

    def _infos(self, masks: dict[str, np.ndarray], success: np.ndarray | None = None) -> dict[str, Any]:
        """The sub-envs' infos batched as SyncVectorEnv batches them: ``key`` rows where ``masks[key]``, zeros
        elsewhere, and the mask as ``_key``; a key no sub-env reports is left out."""
        values = self._copies.info_values()
        if success is not None:
            values["is_success"] = success.copy()
        info: dict[str, Any] = {}
        for key, mask in masks.items():
            if not mask.any():
                continue
            value = values[key]
            if not mask.all():
                shape = (-1,) + (1,) * (value.ndim - 1)
                value = np.where(mask.reshape(shape), value, np.zeros((), dtype=value.dtype))
            info[key] = value
            info[f"_{key}"] = mask.copy()
        return info


# The forward model: FOLLOW's protocol on the acrobot.


class AcrobotForwardModelEnv(ForwardModelEnv):
    """
    ## Description

    FOLLOW's forward model (Gilra A. & Gerstner W. (2017) eLife 6:e28295; the acrobot of the FOLLOW code's
    `acrobot_2link.py` and the swing test of `RL_acrobot.py`) on the acrobot: a network hears the torque on the
    elbow and must predict the angles and angular velocities of both links. The acrobot is Sutton's (1996):
    m = l = 1, lc = 0.5, I = 1, g = 9.8, no friction (:class:`Acrobot`; angles from hanging down, the elbow's
    relative to link 1), integrated with classical RK4 at `dt_ms` = 1 ms, the torque held over each step.

    **Torque input** (`input_protocol`):

    * `"swing"` (default; the paper's swing test, whose input was the torque sequence of an RL agent swinging
      the arm up): the torques of the swing-up expert (:class:`AcrobotSwingUpExpert`, 5 N m) run in closed loop
      on the reference itself. Each trial starts with a kick of 100 ms (a constant torque of random sign and
      size U(2.5, 5) N m from the env's generator: the trial is deterministic given it); then the expert pumps
      energy until the tip rises 1 m above the pivot (after about 3.2 s) and from then on the elbow is damped,
      tau = -3 w2 (saturated at 5 N m), which swings the acrobot down (dE/dt = -3 w2^2) until the trial's clamp.
      The closed loop is simulated with the env's own RK4 steps when the trial is drawn, so the recorded
      torques, replayed, drive the reference along it (bitwise on the machines tested).
    * `"noise"` (the paper's `amplVaryHeights`, as in ArmForwardModel-v0, in one dimension): noise points
      U(-2.5, 2.5) N m every 50 ms, linearly interpolated, plus a "height" U(-2.5, 2.5) N m drawn at every trial
      boundary and linearly interpolated between them: the torque stays within +-5 N m.

    Each trial ends in a clamp of `clamp_ms` = 500 ms (the paper's van der Pol trials): the torque is off and
    the state relaxes to 0 with a 1-ms time constant, so every trial starts from rest. The acrobot has no
    friction: without the clamp (`clamp_ms=0`) the noise pumps energy in over the trials until the links whirl
    and the unwrapped angles leave the output range, and a swing trial starts from the last one's swing.

    **Time convention.** `reset()` returns the torque of step 0 and, in the info, the acrobot at rest hanging
    down. `step(a_t)` holds the torque over the step, integrates, and compares the prediction a_t with the state
    at t + dt; the observation and info it returns describe t + dt. Details in `envs/forward_model.py`.

    ## Action Space

    `Box(-1, 1, (4,), float32)`: the predicted state in network units: (q1 / 2 pi, q2 / 2 pi, 0.1 w1, 0.1 w2)
    with the angles unwrapped (rad) and the velocities in rad/s. A swing trial stays within about 0.3 (q1),
    0.5 (q2), 0.4 (w1) and 0.8 (w2) of that range, a noise trial well within it (without a clamp a long noise
    run can leave it). NaN/inf or a wrong shape raises `ValueError`; values outside [-1, 1] are clipped.

    ## Observation Space

    `Box(-0.2, 0.2, (1,), float32)`: the elbow torque in network units, 0.04 tau (tau in N m: +-5 N m is the
    input layer's radius 0.2); 0 after the last step.

    ## Rewards

    Minus the squared prediction error in network units, averaged over the four dimensions:
    `-mean_i (a_i - f_i x_i(t + dt))^2` with f = (1/2pi, 1/2pi, 0.1, 0.1).

    ## Starting State

    At rest, hanging down: x(0) = 0. The first trial's torques are drawn at `reset`, each further trial's when it
    starts (the swing protocol simulates its closed loop from the state the trial starts in).

    ## Episode End

    Termination after `trials_per_episode` trials; never truncated.

    ## Info

    `target` (float32 `(4,)`: the desired action f x), `state` (float64 `(4,)`: q1, q2 in rad, w1, w2 in rad/s),
    `t_ms` (time since the episode's start) and `clamped` (the step that starts now is in the clamp); the last
    step adds `mse` (the episode's mean reward, negated) and `filtered_mse` (the same against the state through
    the output's 20-ms synapse: `envs.forward_model.OUTPUT_SYNAPSE_MS`).

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import envs  # registers spikegym/*
    >>> env = gym.make("spikegym/AcrobotForwardModel-v0", input_protocol="noise")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info["state"]
    ((1,), array([0., 0., 0., 0.]))

    ```

    | Parameter            | Type            | Default   | Description                                            |
    |----------------------|-----------------|-----------|--------------------------------------------------------|
    | `render_mode`        | **str or None** | `None`    | `"human"` (window) or `"rgb_array"`                    |
    | `input_protocol`     | **str**         | `"swing"` | `"swing"` (the expert's swing) or `"noise"`            |
    | `trials_per_episode` | **int**         | `1`       | trials per episode                                     |
    | `trial_ms`           | **float/None**  | `None`    | the trial; None: 8000 (swing), 4000 (noise)            |
    | `clamp_ms`           | **float**       | `500`     | the clamp ending each trial (0: none)                  |
    | `dt_ms`              | **float**       | `1.0`     | the step                                               |

    ## Vectorized environment

    `AcrobotForwardModelVectorEnv` steps B copies as arrays and equals `SyncVectorEnv` step for step.

    ## Version History

    * v0: Initial version.
    """

    frame_size = (960, 600)

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        input_protocol: str = "swing",
        trials_per_episode: int = 1,
        trial_ms: float | None = None,
        clamp_ms: float = 500.0,
        dt_ms: float = 1.0,
    ) -> None:
        super().__init__(make_task(input_protocol, trials_per_episode, trial_ms, clamp_ms, dt_ms), render_mode)
        self.input_protocol = input_protocol

    def _draw(self, canvas: Canvas) -> None:
        _draw_forward_model(canvas, self._task, *self._trial_view())


class AcrobotForwardModelVectorEnv(ForwardModelVectorEnv):
    """``num_envs`` copies of :class:`AcrobotForwardModelEnv` stepped as arrays (the env's ``vector_entry_point``).

    Same arguments as the single env, plus ``num_envs`` and ``autoreset_mode`` (see
    :class:`~envs.forward_model.ForwardModelVectorEnv`).
    """

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        *,
        autoreset_mode: Any = "SameStep",
        input_protocol: str = "swing",
        trials_per_episode: int = 1,
        trial_ms: float | None = None,
        clamp_ms: float = 500.0,
        dt_ms: float = 1.0,
    ) -> None:
        task = make_task(input_protocol, trials_per_episode, trial_ms, clamp_ms, dt_ms)
        super().__init__(task, num_envs, render_mode, autoreset_mode)


def make_task(
    input_protocol: str, trials_per_episode: int, trial_ms: float | None, clamp_ms: float, dt_ms: float
) -> ForwardModelTask:
    """The forward-model task both envs run; ``trial_ms`` None picks the protocol's default."""
    system = Acrobot(input_protocol=input_protocol)
    if trial_ms is None:
        trial_ms = 8000.0 if input_protocol == "swing" else 4000.0
    return ForwardModelTask(
        system,
        dt_ms=dt_ms,
        trial_ms=trial_ms,
        clamp_ms=clamp_ms,
        trials_per_episode=trials_per_episode,
        output_scale=1.0,
    )


# Rendering: the acrobot (links, the success line, the tip's trace) and traces against time.

_LINKS: Color = (52, 73, 94)
_GHOST: Color = (31, 119, 180)
_LINE: Color = (44, 160, 44)
_TIP: Color = (214, 39, 40)
_TORQUE: Color = (255, 127, 14)
_SERIES: tuple[Color, ...] = ((31, 119, 180), (255, 127, 14))


def _draw_acrobot(
    canvas: Canvas,
    rect: tuple[int, int, int, int],
    acrobot: Acrobot,
    state: np.ndarray,
    *,
    title: str,
    line_height: float | None = None,
    tip_trace: np.ndarray | None = None,
    predicted: np.ndarray | None = None,
) -> None:
    """The acrobot from its pivot at the centre of ``rect``; the line, the tip's trace and a ghost if given."""
    pygame = _import_pygame()
    surface = canvas.surface
    left, top, width, height = rect
    pygame.draw.rect(surface, (255, 255, 255), rect)
    reach = acrobot.l1 + acrobot.l2
    pivot = np.array([left + width / 2, top + height / 2])
    pixels_per_m = 0.92 * min(width, height) / 2 / reach

    def to_pixels(points: np.ndarray) -> np.ndarray:
        return (pivot + pixels_per_m * np.asarray(points) * np.array([1.0, -1.0])).round().astype(int)

    pygame.draw.circle(surface, (222, 224, 228), pivot.round().tolist(), round(pixels_per_m * reach), 1)
    pygame.draw.line(surface, (222, 224, 228), (left + 8, round(pivot[1])), (left + width - 8, round(pivot[1])))
    if line_height is not None:
        y = int(to_pixels([0.0, line_height])[1])
        pygame.draw.line(surface, _LINE, (left + 8, y), (left + width - 8, y), 2)
        canvas.text(
            f"success line: {line_height:+g} m", (left + width - 10, y - 4), size=16, color=_LINE, anchor="bottomright"
        )
    if tip_trace is not None:
        points = to_pixels(tip_trace[np.isfinite(tip_trace).all(axis=1)])
        if len(points) > 1:
            pygame.draw.lines(surface, lighten(_TIP, 0.45), False, points.tolist(), 2)

    def draw_links(target: Any, q: np.ndarray, color: tuple[int, ...]) -> None:
        elbow, tip = acrobot.joints(np.asarray(q[:2], dtype=np.float64))
        points = to_pixels(np.stack((np.zeros(2), elbow, tip))).tolist()
        pygame.draw.lines(target, color, False, points, 9)
        for point in points:
            pygame.draw.circle(target, color, point, 7)

    draw_links(surface, state, _LINKS)
    pygame.draw.circle(surface, _TIP, to_pixels(acrobot.joints(state[:2])[1]).tolist(), 6)
    if predicted is not None:
        ghost = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
        draw_links(ghost, predicted, (*_GHOST, 120))
        surface.blit(ghost, (0, 0))
    pygame.draw.rect(surface, MUTED, rect, 1)
    canvas.text(title, (left, top - 6), size=20, anchor="bottomleft")
    canvas.text(
        f"q = ({state[0]:+.2f}, {state[1]:+.2f}) rad   w = ({state[2]:+.1f}, {state[3]:+.1f}) rad/s",
        (left + 8, top + height - 8),
        size=16,
        color=MUTED,
        anchor="bottomleft",
    )


def _draw_swing_up(canvas: Canvas, task: _SwingUpTask, copies: _SwingUpCopies, history: dict[str, np.ndarray]) -> None:
    """Header; tip height, torque and energy against time (left); the acrobot and its tip's trace (right)."""
    step = int(copies.step[0])
    x = copies.x[0]
    tip_height = float(task.acrobot.tip_height(x))
    status = (
        f"t = {step * task.dt_ms / 1000:.2f} s   tip {tip_height:+.2f} m   E = {float(task.acrobot.energy(x)):+.1f} J"
    )
    if copies.expert_in_control[0]:
        status += "   (demonstration: the expert is in control)"
    if copies.success[0]:
        status += "   SUCCESS"
    draw_frame_header(canvas, "Acrobot: swing the tip above the line", status, "Sutton (1996); Spong (1995)")
    duration = task.max_steps * task.dt_ms
    common = {"dt_ms": task.dt_ms, "duration_ms": duration, "epochs": [], "current_ms": step * task.dt_ms}
    line = np.full(task.max_steps + 1, task.success_height)
    draw_panel(
        canvas,
        (70, 110, 520, 110),
        title="tip height (m)",
        traces=[Trace("line", line, _LINE, dashed=True), Trace("tip", history["tip_height"], _TIP)],
        y_range=(-2.1, 2.1),
        y_ticks=(-2, 0, 2),
        **common,
    )
    draw_panel(
        canvas,
        (70, 260, 520, 110),
        title="elbow torque (N m)",
        traces=[Trace("expert", history["expert"], INK, dashed=True), Trace("applied", history["torque"], _TORQUE)],
        y_range=(-task.max_torque * 1.05, task.max_torque * 1.05),
        y_ticks=(-task.max_torque, 0, task.max_torque),
        **common,
    )
    rect = (70, 410, 520, 100)
    upright = np.full(task.max_steps + 1, task.acrobot.upright_energy)
    draw_panel(
        canvas,
        rect,
        title="energy (J)",
        traces=[Trace("upright", upright, MUTED, dashed=True), Trace("E", history["energy"], _SERIES[0])],
        y_range=(-25.0, 25.0),
        y_ticks=(-20, 0, 20),
        **common,
    )
    draw_time_axis(canvas, rect, duration_ms=duration, tick_ms=1000.0 if duration > 2000 else 250.0)
    _draw_acrobot(
        canvas,
        (620, 110, 310, 400),
        task.acrobot,
        x,
        title="acrobot (red: the tip's path)",
        line_height=task.success_height,
        tip_trace=history["tip"],
    )


def _draw_forward_model(
    canvas: Canvas,
    task: ForwardModelTask,
    trial: int,
    done: int,
    states: np.ndarray,
    predictions: np.ndarray,
    inputs: np.ndarray,
) -> None:
    """Header; angles, angular velocities and torque against time (left); the acrobot and its ghost (right)."""
    acrobot = task.system
    assert isinstance(acrobot, Acrobot)
    angle, speed = 1.0 / acrobot.state_factors[0], 1.0 / acrobot.state_factors[2]
    shown = draw_state_frame(
        canvas,
        task,
        trial,
        done,
        states,
        predictions,
        inputs,
        title=f"Acrobot: predict the state from the torque ({acrobot.input_protocol})",
        citation="Gilra & Gerstner (2017) eLife; Sutton (1996)",
        panels=(
            ("angles (rad)", (0, 1), (-angle, angle), (-6, 0, 6)),
            ("angular velocities (rad/s)", (2, 3), (-speed, speed), (-round(speed), 0, round(speed))),
        ),
        colors=_SERIES,
        input_title="elbow torque (N m)",
        input_colors=(_TORQUE,),
        input_range=(-MAX_TORQUE * 1.05, MAX_TORQUE * 1.05),
        input_ticks=(-MAX_TORQUE, 0, MAX_TORQUE),
    )
    tips = acrobot.joints(shown[: done + 1, :2])[1]
    predicted = predictions[done - 1] if done else None
    _draw_acrobot(
        canvas,
        (620, 110, 310, 410),
        acrobot,
        shown[done],
        title="acrobot (ghost: prediction)",
        line_height=1.0,
        tip_trace=tips,
        predicted=predicted,
    )
