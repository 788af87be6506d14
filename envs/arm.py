"""FOLLOW's arm forward model (Gilra & Gerstner 2017, Fig. 4): predict a two-link arm from its torques."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.forward_model import (
    NOISE_INTERVAL_MS,
    ForwardModelEnv,
    ForwardModelTask,
    ForwardModelVectorEnv,
    ReferenceSystem,
    draw_state_frame,
)
from envs.rendering import MUTED, Canvas, Color, _import_pygame

__all__ = ["ArmForwardModelEnv", "ArmForwardModelVectorEnv", "TwoLinkArm"]


@dataclass
class TwoLinkArm(ReferenceSystem):
    """The Todorov-lab two-link arm in a vertical plane, with gravity and joint friction.

    Angles q = (shoulder, elbow) in rad, q1 from the downward vertical and q2 relative to the upper arm (q = 0:
    hanging straight down); angular velocities w = dq/dt in rad/s; torques u in N m. The dynamics are

        M(q) dw/dt = tau_eff(q, u) - C(q, w) - B w - G(q)

    with, for masses m_i, lengths l_i, centres of mass s_i (from the joint) and moments of inertia I_i (about
    the centres of mass),

        M11 = I1 + I2 + m1 s1^2 + m2 (l1^2 + s2^2) + 2 m2 l1 s2 cos q2
        M12 = I2 + m2 s2^2 + m2 l1 s2 cos q2,   M22 = I2 + m2 s2^2
        C   = m2 l1 s2 sin q2 (-(2 w1 + w2) w2, w1^2)
        B   = [[b11, b12], [b21, b22]]  (joint friction)
        G   = g ((m1 s1 + m2 l1) sin q1 + m2 s2 sin(q1 + q2), m2 s2 sin(q1 + q2))

    and the torque on joint i fades linearly to 0 as q_i goes from pi/2 to 3 pi/4 in the direction it pushes
    (FOLLOW's joint limits): tau_eff_i = u_i (1 - clip((+-q_i - pi/2) / (pi/4), 0, 1)). The energy
    E = w' M w / 2 - g ((m1 s1 + m2 l1) cos q1 + m2 s2 cos(q1 + q2)) obeys dE/dt = w' (tau_eff - B w).

    Args: the parameters of Li's thesis (2006) as FOLLOW uses them (masses kg, lengths m, inertias kg m^2,
    friction N m s, g m/s^2); the torque protocol's `torque_amplitude` (N m).
    """

    m1: float = 1.4
    m2: float = 1.1
    l1: float = 0.31
    l2: float = 0.27
    s1: float = 0.11
    s2: float = 0.16
    i1: float = 0.025
    i2: float = 0.045
    b11: float = 0.7
    b22: float = 0.8
    b12: float = 0.08
    b21: float = 0.08
    g: float = 9.81
    torque_amplitude: float = 1.0 / 0.3

    name = "ArmForwardModel"
    state_labels = ("q1", "q2", "w1", "w2")
    input_labels = ("u1", "u2")
    state_factors = np.array([1.0 / 2.5, 1.0 / 2.5, 0.05, 0.05])
    input_factor = 0.02

    def mass_matrix(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """M11, M12, M22 for angles ``q`` ``(..., 2)``."""
        coupling = self.m2 * self.l1 * self.s2 * np.cos(q[..., 1])
        m22 = self.i2 + self.m2 * self.s2**2
        m11 = self.i1 + m22 + self.m1 * self.s1**2 + self.m2 * self.l1**2 + 2.0 * coupling
        return m11, m22 + coupling, np.full_like(m11, m22)

    def gravity(self, q: np.ndarray) -> np.ndarray:
        """G(q), the torques gravity exerts against the angles, ``(..., 2)``."""
        forearm = self.m2 * self.s2 * self.g * np.sin(q[..., 0] + q[..., 1])
        upper = (self.m1 * self.s1 + self.m2 * self.l1) * self.g * np.sin(q[..., 0])
        return np.stack((upper + forearm, forearm), axis=-1)

    def energy(self, x: np.ndarray) -> np.ndarray:
        """Kinetic plus potential energy (J) of states ``x`` ``(..., 4)``; 0 potential at the shoulder's height."""
        q, w = x[..., :2], x[..., 2:]
        m11, m12, m22 = self.mass_matrix(q)
        kinetic = 0.5 * (m11 * w[..., 0] ** 2 + 2.0 * m12 * w[..., 0] * w[..., 1] + m22 * w[..., 1] ** 2)
        potential = -self.g * (
            (self.m1 * self.s1 + self.m2 * self.l1) * np.cos(q[..., 0])
            + self.m2 * self.s2 * np.cos(q[..., 0] + q[..., 1])
        )
        return kinetic + potential

    def effective_torque(self, q: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The torques that act: each fades to 0 between pi/2 and 3 pi/4 in the direction it pushes."""
        beyond = np.where(u > 0, q, -q)
        return u * (1.0 - np.clip((beyond - math.pi / 2) / (math.pi / 4), 0.0, 1.0))

    def derivative(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        q, w = x[..., :2], x[..., 2:]
        w1, w2 = w[..., 0], w[..., 1]
        m11, m12, m22 = self.mass_matrix(q)
        h = self.m2 * self.l1 * self.s2 * np.sin(q[..., 1])
        net = self.effective_torque(q, u) - self.gravity(q)
        net0 = net[..., 0] + h * (2.0 * w1 + w2) * w2 - self.b11 * w1 - self.b12 * w2
        net1 = net[..., 1] - h * w1 * w1 - self.b21 * w1 - self.b22 * w2
        det = m11 * m22 - m12 * m12
        dw1 = (m22 * net0 - m12 * net1) / det
        dw2 = (m11 * net1 - m12 * net0) / det
        return np.stack((w1, w2, dw1, dw2), axis=-1)

    def start_episode(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return self._direction(rng), rng.uniform(-self.torque_amplitude, self.torque_amplitude, size=2)

    def draw_trial(
        self, rng: np.random.Generator, carry: Any, t_ms: np.ndarray, drive: np.ndarray, trial_ms: float
    ) -> tuple[np.ndarray, Any]:
        # amplVaryHeights: noise points every 50 ms and a height per trial boundary, both interpolated linearly.
        height_start, noise_start = carry
        height_end = self._direction(rng)
        n_points = round(trial_ms / NOISE_INTERVAL_MS)
        points = np.vstack(
            (noise_start, rng.uniform(-self.torque_amplitude, self.torque_amplitude, size=(n_points, 2)))
        )
        grid = np.arange(n_points + 1) * NOISE_INTERVAL_MS
        noise = np.column_stack([np.interp(t_ms, grid, points[:, k]) for k in range(2)])
        heights = height_start + np.outer(t_ms / trial_ms, height_end - height_start)
        return (noise + heights) * drive[:, None], (height_end, points[-1])

    def _direction(self, rng: np.random.Generator) -> np.ndarray:
        """A random direction of length ``torque_amplitude``."""
        direction = rng.normal(size=2)
        return self.torque_amplitude * direction / np.linalg.norm(direction)


class ArmForwardModelEnv(ForwardModelEnv):
    """
    ## Description

    The arm forward model of Gilra A. & Gerstner W. (2017) "Predicting non-linear dynamics by stable local
    learning in a recurrent spiking neural network", eLife 6:e28295 (Fig. 4; the FOLLOW code's
    `input_ff_rec_robot_nengo_directu_ocl.py`, `arm_2link_todorov_gravity.py`). A network hears the torques
    on the two joints of an arm and must predict its angles and angular velocities (a forward model).

    The arm is the Todorov-lab two-link arm (Li 2006) turned into a vertical plane with gravity, as FOLLOW
    has it: m = (1.4, 1.1) kg, l = (0.31, 0.27) m, centres of mass s = (0.11, 0.16) m from the joints,
    I = (0.025, 0.045) kg m^2, joint friction b11 = 0.7, b22 = 0.8, b12 = b21 = 0.08 N m s, g = 9.81 m/s^2; the
    torque on a joint fades to 0 between pi/2 and 3 pi/4 in the direction it pushes. Angles are measured from
    hanging straight down (the elbow's relative to the upper arm). The equations are in :class:`TwoLinkArm`;
    they are integrated with classical RK4 at `dt_ms` = 1 ms, the torque held over each step (the paper: Euler
    steps of 1 ms).

    **Torque input** (the paper's `amplVaryHeights`): per joint, noise points U(-1/0.3, 1/0.3) N m every 50 ms,
    linearly interpolated, plus a "height": a random direction of length 1/0.3 N m drawn at every trial
    boundary (every `trial_ms` = 1000 ms) and linearly interpolated between them. Torques stay within 2/0.3 N m.
    The paper runs the arm without clamp (its arm script sets `trialClamp = False`), so `clamp_ms` = 0 by
    default; with a clamp, the torque is off and the state relaxes to 0 (1 ms) at the end of each trial.

    **Time convention.** `reset()` returns the torque of step 0 and, in the info, the arm at rest hanging down.
    `step(a_t)` holds the torque over the step, integrates, and compares the prediction a_t with the state at
    t + dt; the observation and info it returns describe t + dt. Details in `envs/forward_model.py`.

    ## Action Space

    `Box(-1, 1, (4,), float32)`: the predicted state in the network's units (the paper's `varFactors`, radius
    1): (q1 / 2.5, q2 / 2.5, 0.05 w1, 0.05 w2). NaN/inf or a wrong shape raises `ValueError`; values outside
    [-1, 1] are clipped. A fast arm can leave this range (|w| > 20 rad/s); the paper's network could not
    represent that either.

    ## Observation Space

    `Box(-0.2, 0.2, (2,), float32)`: the torques in the network's units, 0.02 u (u in N m: what the paper's
    input ensemble, radius 0.2, encodes); 0 after the last step.

    ## Rewards

    Minus the squared prediction error in the network's units, averaged over the four dimensions:
    `-mean_i (a_i - f_i x_i(t + dt))^2` with f = (1/2.5, 1/2.5, 0.05, 0.05).

    ## Starting State

    At rest, hanging down: x(0) = 0, as the paper's runs start. The first trial's torques are drawn at `reset`,
    each further trial's when it starts.

    ## Episode End

    Termination after `trials_per_episode` trials (1 s each); never truncated. For the paper's one long run,
    use many trials per episode: the arm and the torques carry over from trial to trial.

    ## Info

    `target` (float32 `(4,)`: the desired action f x), `state` (float64 `(4,)`: q1, q2 in rad, w1, w2 in rad/s),
    `t_ms` (time since the episode's start) and `clamped` (the step that starts now is in the clamp); the last
    step adds `mse` (the episode's mean reward, negated) and `filtered_mse` (the same against the state through
    the output's 20-ms synapse: `envs.forward_model.OUTPUT_SYNAPSE_MS`).

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import envs  # registers spikegym/*
    >>> env = gym.make("spikegym/ArmForwardModel-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info["state"]
    ((2,), array([0., 0., 0., 0.]))

    ```

    | Parameter            | Type            | Default | Description                                          |
    |----------------------|-----------------|---------|------------------------------------------------------|
    | `render_mode`        | **str or None** | `None`  | `"human"` (window) or `"rgb_array"`                  |
    | `trials_per_episode` | **int**         | `1`     | trials per episode (the arm carries over)            |
    | `trial_ms`           | **float**       | `1000`  | the trial (the paper's `Tperiod`)                     |
    | `clamp_ms`           | **float**       | `0`     | a clamp ending each trial (the code's T_clamp: 250)  |
    | `dt_ms`              | **float**       | `1.0`   | the step                                             |

    ## Vectorized environment

    `ArmForwardModelVectorEnv` steps B copies as arrays and equals `SyncVectorEnv` step for step.

    ## Version History

    * v0: Initial version.
    """

    frame_size = (960, 600)

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        trials_per_episode: int = 1,
        trial_ms: float = 1000.0,
        clamp_ms: float = 0.0,
        dt_ms: float = 1.0,
    ) -> None:
        super().__init__(make_task(trials_per_episode, trial_ms, clamp_ms, dt_ms), render_mode)

    def _draw(self, canvas: Canvas) -> None:
        _draw_arm_frame(canvas, self._task, *self._trial_view())


class ArmForwardModelVectorEnv(ForwardModelVectorEnv):
    """``num_envs`` copies of :class:`ArmForwardModelEnv` stepped as arrays (the env's ``vector_entry_point``).

    Same arguments as the single env, plus ``num_envs`` and ``autoreset_mode`` (see
    :class:`~envs.forward_model.ForwardModelVectorEnv`).
    """

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        *,
        autoreset_mode: Any = "SameStep",
        trials_per_episode: int = 1,
        trial_ms: float = 1000.0,
        clamp_ms: float = 0.0,
        dt_ms: float = 1.0,
    ) -> None:
        task = make_task(trials_per_episode, trial_ms, clamp_ms, dt_ms)
        super().__init__(task, num_envs, render_mode, autoreset_mode)


def make_task(trials_per_episode: int, trial_ms: float, clamp_ms: float, dt_ms: float) -> ForwardModelTask:
    """The task both envs run."""
    return ForwardModelTask(
        TwoLinkArm(),
        dt_ms=dt_ms,
        trial_ms=trial_ms,
        clamp_ms=clamp_ms,
        trials_per_episode=trials_per_episode,
        output_scale=1.0,
    )


# Rendering: the arm (reference solid, prediction as a ghost) and the traces of the current trial.

_ARM: Color = (52, 73, 94)
_GHOST: Color = (31, 119, 180)
_TORQUES: tuple[Color, ...] = ((31, 119, 180), (255, 127, 14))


def _draw_arm_frame(
    canvas: Canvas,
    task: ForwardModelTask,
    trial: int,
    done: int,
    states: np.ndarray,
    predictions: np.ndarray,
    inputs: np.ndarray,
) -> None:
    """Header; angles, angular velocities and torques against time (left); the arm and its ghost (right)."""
    arm = task.system
    assert isinstance(arm, TwoLinkArm)
    limit = 2.0 * arm.torque_amplitude
    shown = draw_state_frame(
        canvas,
        task,
        trial,
        done,
        states,
        predictions,
        inputs,
        title="Two-link arm: predict the state from the torques",
        citation="Gilra & Gerstner (2017) eLife, Fig. 4",
        panels=(
            ("angles (rad)", (0, 1), (-math.pi, math.pi), (-3, 0, 3)),
            ("angular velocities (rad/s)", (2, 3), (-20.0, 20.0), (-20, 0, 20)),
        ),
        colors=_TORQUES,
        input_title="torques (N m)",
        input_colors=_TORQUES,
        input_range=(-limit, limit),
        input_ticks=(-round(limit), 0, round(limit)),
    )
    predicted = predictions[done - 1] if done else None
    _draw_arm(canvas, (620, 110, 310, 410), arm, shown[done], predicted)


def _draw_arm(
    canvas: Canvas, rect: tuple[int, int, int, int], arm: TwoLinkArm, state: np.ndarray, predicted: np.ndarray | None
) -> None:
    """The arm from its shoulder at the centre; the predicted arm as a translucent ghost over it."""
    pygame = _import_pygame()
    surface = canvas.surface
    left, top, width, height = rect
    pygame.draw.rect(surface, (255, 255, 255), rect)
    pygame.draw.rect(surface, MUTED, rect, 1)
    canvas.text("arm (ghost: prediction)", (left, top - 6), size=20, anchor="bottomleft")
    shoulder = np.array([left + width / 2, top + height / 2])
    pixels_per_m = 0.9 * min(width, height) / 2 / (arm.l1 + arm.l2)
    pygame.draw.circle(surface, (222, 224, 228), shoulder.round().tolist(), round(pixels_per_m * (arm.l1 + arm.l2)), 1)
    pygame.draw.line(surface, MUTED, (left + 10, shoulder[1]), (left + width - 10, shoulder[1]))

    def joints(q: np.ndarray) -> list[list[int]]:
        # q from hanging down; screen y grows downwards.
        elbow = shoulder + pixels_per_m * arm.l1 * np.array([math.sin(q[0]), math.cos(q[0])])
        hand = elbow + pixels_per_m * arm.l2 * np.array([math.sin(q[0] + q[1]), math.cos(q[0] + q[1])])
        return [p.round().astype(int).tolist() for p in (shoulder, elbow, hand)]

    points = joints(state[:2])
    pygame.draw.lines(surface, _ARM, False, points, 9)
    for point in points:
        pygame.draw.circle(surface, _ARM, point, 7)
    if predicted is not None:
        ghost = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
        ghost_points = joints(predicted[:2])
        pygame.draw.lines(ghost, (*_GHOST, 120), False, ghost_points, 9)
        for point in ghost_points:
            pygame.draw.circle(ghost, (*_GHOST, 120), point, 7)
        surface.blit(ghost, (0, 0))
    canvas.text(
        f"q = ({state[0]:+.2f}, {state[1]:+.2f}) rad",
        (left + 8, top + height - 8),
        size=16,
        color=MUTED,
        anchor="bottomleft",
    )
