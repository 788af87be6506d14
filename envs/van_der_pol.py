"""FOLLOW's van der Pol forward model (Gilra & Gerstner 2017, Fig. 2): predict an oscillator from its input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.forward_model import (
    INPUT_RADIUS,
    ForwardModelEnv,
    ForwardModelTask,
    ForwardModelVectorEnv,
    ReferenceSystem,
    draw_frame_header,
    noise_segments,
    trial_epochs,
)
from envs.rendering import MUTED, Canvas, Color, Trace, _draw_dashed, _import_pygame, draw_panel, draw_time_axis

__all__ = ["INPUT_PROTOCOLS", "VanDerPol", "VanDerPolEnv", "VanDerPolVectorEnv"]

INPUT_PROTOCOLS = ("train", "test")
"""``"train"``: the paper's ``amplVaryHeightsScaled``; ``"test"``: its ``rampLeaveRampHeights``."""


@dataclass
class VanDerPol(ReferenceSystem):
    """The van der Pol oscillator as FOLLOW's reference, and its input protocols.

    ``dx1/dt = x2 / tau_dyn + u1 / tau_s``,
    ``dx2/dt = (mu (1 - x1^2) x2 - x1) / tau_dyn + u2 / tau_s``.

    Args:
        mu: the non-linearity (2 in the paper).
        tau_dyn: the oscillator's time scale in s (0.125).
        tau_s: the synaptic time constant in s through which the input drives the state (0.02).
        input_protocol: ``"train"`` or ``"test"`` (see :class:`VanDerPolEnv`).
        ramp_ms: how long the test input's pulse lasts (100 ms).
    """

    mu: float = 2.0
    tau_dyn: float = 0.125
    tau_s: float = 0.020
    input_protocol: str = "train"
    ramp_ms: float = 100.0

    name = "VanDerPol"
    state_labels = ("x1", "x2")
    input_labels = ("u1", "u2")
    state_factors = np.ones(2)
    input_factor = 1.0

    def __post_init__(self) -> None:
        if self.input_protocol not in INPUT_PROTOCOLS:
            raise ValueError(f"input_protocol must be one of {INPUT_PROTOCOLS}, got {self.input_protocol!r}.")

    def derivative(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        x1, x2 = x[..., 0], x[..., 1]
        out = u / self.tau_s
        if out.shape != x.shape:  # an input held for a whole batch or trajectory of states
            out = np.broadcast_to(out, np.broadcast_shapes(out.shape, x.shape)).copy()
        out[..., 0] += x2 / self.tau_dyn
        out[..., 1] += (self.mu * (1.0 - x1 * x1) * x2 - x1) / self.tau_dyn
        return out

    def draw_trial(
        self, rng: np.random.Generator, carry: Any, t_ms: np.ndarray, drive: np.ndarray, trial_ms: float
    ) -> tuple[np.ndarray, Any]:
        if self.input_protocol == "train":
            # amplVaryHeightsScaled: u = (noise + 0.2 h) / 2, the noise off in the clamp; u1 is a third.
            height = rng.normal(size=2)
            height /= np.linalg.norm(height)
            segment = noise_segments(t_ms)
            noise = rng.uniform(-INPUT_RADIUS, INPUT_RADIUS, size=(segment[-1] + 1, 2))
            u = 0.5 * (noise[segment] * drive[:, None] + INPUT_RADIUS * height)
        else:
            # rampLeaveRampHeights: a pulse along a random direction, then a constant height.
            pulse = rng.normal(size=2)
            pulse *= 0.5 * INPUT_RADIUS / np.linalg.norm(pulse)
            height = rng.uniform(-0.5 * INPUT_RADIUS, 0.5 * INPUT_RADIUS, size=2)
            height[0] /= 3.0
            u = height * drive[:, None] + pulse * (t_ms < self.ramp_ms - 1e-9)[:, None]
            return u, carry
        u[:, 0] /= 3.0  # the paper divides both the noise and the height of u1 by 3
        return u, carry


class VanDerPolEnv(ForwardModelEnv):
    """
    ## Description

    The van der Pol forward model of Gilra A. & Gerstner W. (2017) "Predicting non-linear dynamics by stable
    local learning in a recurrent spiking neural network", eLife 6:e28295 (Fig. 2; the FOLLOW code's
    `input_ff_rec_transform_nengo_ocl.py`). A network hears the input u(t) of a van der Pol oscillator and
    must predict its state x(t) (a forward model). The reference system is

        dx1/dt = x2 / tau_dyn + u1 / tau_s
        dx2/dt = (mu (1 - x1^2) x2 - x1) / tau_dyn + u2 / tau_s

    with mu = 2, tau_dyn = 125 ms and tau_s = 20 ms: the input drives the state as a synapse of 20 ms drives an
    integrating network (the code's `inpfn(t) / tau`). Without input it settles on a limit cycle of amplitude
    about 2 in x1 and period about 0.95 s. It is integrated with classical RK4 at `dt_ms` = 1 ms, the input held
    over each step (the paper: odeint with the 1-ms steps of its Nengo runs).

    **Input protocols** (`input_protocol`), per trial of `trial_ms` = 4000 ms:

    * `"train"` (the paper's `amplVaryHeightsScaled`): u = (noise + 0.2 h) / 2, where the noise takes a new
      value U(-0.2, 0.2) per dimension every 50 ms (from the trial's start) and h is a random unit vector
      drawn once per trial (the "height"); both are divided by 3 in u1. The trial ends in a clamp of
      `clamp_ms` = 500 ms in which the noise is off (the height stays, as in the code) and the reference
      relaxes to 0 with a 1-ms time constant (the code's `-x/dt`); the paper also silences the network and
      stops learning then (`info["clamped"]`).
    * `"test"` (the paper's `rampLeaveRampHeights`, the structured input of Fig. 2's tests): a pulse along a
      random direction of length 0.1 for the first 100 ms (the state ramps), then a constant height U(-0.1, 0.1)
      per dimension (a third in u1) for the rest of the trial; the next trial ramps again from where the state
      is. No clamp by default (the paper's tests ran without one), so use `trials_per_episode` > 1 (e.g. 4:
      the paper's 16-s test window) to see ramp, leave, ramp.

    **Time convention.** `reset()` returns u(0) and, in the info, x(0) = 0. `step(a_t)` holds u(t) over the step,
    integrates, and compares the prediction a_t with x(t + dt); the observation and info it returns describe
    t + dt (the next input, the state reached, whether the next step is clamped). Details in `envs/forward_model.py`.

    ## Action Space

    `Box(-1, 1, (2,), float32)`: the predicted state over `output_scale` (= 5, the radius of the paper's output
    ensemble): x_hat = 5 * action. NaN/inf or a wrong shape raises `ValueError`; values outside [-1, 1] are clipped.

    ## Observation Space

    `Box(-0.2, 0.2, (2,), float32)`: u(t), what the paper's input ensemble (radius 0.2) encodes; 0 after the
    last step.

    ## Rewards

    Minus the squared prediction error, averaged over the two dimensions: `-mean_i (5 a_i - x_i(t + dt))^2`
    (the paper's Fig. 2 error, per dimension).

    ## Starting State

    x(0) = 0 (where every trial after a clamp starts; the paper's first trial starts at 0.001). The first trial's
    input is drawn at `reset`; each further trial's when it starts.

    ## Episode End

    Termination after `trials_per_episode` trials; never truncated.

    ## Info

    `target` (float32 `(2,)`: the desired action x / 5), `state` (float64 `(2,)`: x), `t_ms` (time since the
    episode's start) and `clamped` (the step that starts now is in the clamp); the last step adds `mse` (the
    episode's mean reward, negated) and `filtered_mse` (the same against x through the output's 20-ms synapse,
    the target the paper's van der Pol code trains on: `envs.forward_model.OUTPUT_SYNAPSE_MS`).

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import envs  # registers spikegym/*
    >>> env = gym.make("spikegym/VanDerPol-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info["target"], info["clamped"]
    ((2,), array([0., 0.], dtype=float32), False)

    ```

    | Parameter            | Type            | Default   | Description                                              |
    |----------------------|-----------------|-----------|----------------------------------------------------------|
    | `render_mode`        | **str or None** | `None`    | `"human"` (window) or `"rgb_array"`                      |
    | `input_protocol`     | **str**         | `"train"` | `"train"` (noise and heights) or `"test"` (ramp, leave)  |
    | `trials_per_episode` | **int**         | `1`       | trials per episode (the state carries over unclamped)    |
    | `trial_ms`           | **float**       | `4000`    | the trial (the paper's `Tperiod`)                         |
    | `clamp_ms`           | **float/None**  | `None`    | the clamp ending each trial; None: 500 (train), 0 (test) |
    | `dt_ms`              | **float**       | `1.0`     | the step                                                 |
    | `output_scale`       | **float**       | `5.0`     | x_hat = output_scale * action                            |
    | `mu`                 | **float**       | `2.0`     | the oscillator's non-linearity                           |

    ## Vectorized environment

    `VanDerPolVectorEnv` steps B copies as arrays and equals `SyncVectorEnv` step for step.

    ## Version History

    * v0: Initial version.
    """

    frame_size = (960, 600)

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        input_protocol: str = "train",
        trials_per_episode: int = 1,
        trial_ms: float = 4000.0,
        clamp_ms: float | None = None,
        dt_ms: float = 1.0,
        output_scale: float = 5.0,
        mu: float = 2.0,
    ) -> None:
        task = make_task(input_protocol, trials_per_episode, trial_ms, clamp_ms, dt_ms, output_scale, mu)
        super().__init__(task, render_mode)
        self.input_protocol = input_protocol

    def _draw(self, canvas: Canvas) -> None:
        _draw_van_der_pol(canvas, self._task, *self._trial_view())


class VanDerPolVectorEnv(ForwardModelVectorEnv):
    """``num_envs`` copies of :class:`VanDerPolEnv` stepped as arrays (the env's ``vector_entry_point``).

    Same arguments as the single env, plus ``num_envs`` and ``autoreset_mode`` (see
    :class:`~envs.forward_model.ForwardModelVectorEnv`).
    """

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        *,
        autoreset_mode: Any = "SameStep",
        input_protocol: str = "train",
        trials_per_episode: int = 1,
        trial_ms: float = 4000.0,
        clamp_ms: float | None = None,
        dt_ms: float = 1.0,
        output_scale: float = 5.0,
        mu: float = 2.0,
    ) -> None:
        task = make_task(input_protocol, trials_per_episode, trial_ms, clamp_ms, dt_ms, output_scale, mu)
        super().__init__(task, num_envs, render_mode, autoreset_mode)


def make_task(
    input_protocol: str,
    trials_per_episode: int,
    trial_ms: float,
    clamp_ms: float | None,
    dt_ms: float,
    output_scale: float,
    mu: float,
) -> ForwardModelTask:
    """The task both envs run: the system, and the clamp the protocol implies when ``clamp_ms`` is None."""
    system = VanDerPol(mu=mu, input_protocol=input_protocol)
    if clamp_ms is None:
        clamp_ms = 500.0 if input_protocol == "train" else 0.0
    return ForwardModelTask(
        system,
        dt_ms=dt_ms,
        trial_ms=trial_ms,
        clamp_ms=clamp_ms,
        trials_per_episode=trials_per_episode,
        output_scale=output_scale,
    )


# Rendering: the phase plane (prediction against reference) and the traces of the current trial.

_REFERENCE: Color = (214, 39, 40)
_PREDICTION: Color = (33, 37, 41)
_INPUTS: tuple[Color, ...] = ((31, 119, 180), (255, 127, 14))


def _draw_van_der_pol(
    canvas: Canvas,
    task: ForwardModelTask,
    trial: int,
    done: int,
    states: np.ndarray,
    predictions: np.ndarray,
    inputs: np.ndarray,
) -> None:
    """Header; x1, x2 and u against time (left); the phase plane x2 against x1 (right)."""
    scale = task.output_scale
    error = predictions[:done] - states[1 : done + 1]
    mse = float(np.mean(error**2)) if done else float("nan")
    status = f"trial {trial + 1}/{task.trials_per_episode}   t = {done * task.dt_ms:g} ms"
    if done:
        status += f"   MSE this trial {mse:.4f}"
    draw_frame_header(
        canvas, "van der Pol: predict the state from the input", status, "Gilra & Gerstner (2017) eLife, Fig. 2"
    )
    duration = task.trial_steps * task.dt_ms
    epochs = trial_epochs(task)
    current = task.schedule.epoch_at(min(done, task.trial_steps - 1))
    shown_states = np.where(np.arange(len(states))[:, None] <= done, states, np.nan)
    rect = (70, 110, 500, 0)
    for k, label in enumerate(("x1", "x2")):
        rect = (70, 110 + k * 150, 500, 110)
        draw_panel(
            canvas,
            rect,
            title=label,
            traces=[
                Trace("reference", shown_states[:, k], _REFERENCE, dashed=True),
                Trace("prediction", predictions[:, k], _PREDICTION),
            ],
            dt_ms=task.dt_ms,
            duration_ms=duration,
            epochs=epochs,
            y_range=(-scale, scale),
            y_ticks=(-scale, 0, scale),
            current_ms=done * task.dt_ms,
            current_epoch=current,
            epoch_labels=k == 0,
        )
    rect = (70, 410, 500, 110)
    shown_inputs = np.where(np.arange(len(inputs))[:, None] < max(done, 1), inputs, np.nan)
    draw_panel(
        canvas,
        rect,
        title="input u",
        traces=[Trace(f"u{k + 1}", shown_inputs[:, k], color) for k, color in enumerate(_INPUTS)],
        dt_ms=task.dt_ms,
        duration_ms=duration,
        epochs=epochs,
        y_range=(-INPUT_RADIUS, INPUT_RADIUS),
        y_ticks=(-INPUT_RADIUS, 0, INPUT_RADIUS),
        current_ms=done * task.dt_ms,
        current_epoch=current,
    )
    draw_time_axis(canvas, rect, duration_ms=duration, tick_ms=500.0 if duration > 1000 else 100.0)
    _draw_phase_plane(canvas, (620, 110, 310, 420), shown_states[: done + 1], predictions[:done], scale)


def _draw_phase_plane(
    canvas: Canvas, rect: tuple[int, int, int, int], states: np.ndarray, predictions: np.ndarray, scale: float
) -> None:
    """x2 against x1 over the trial so far: the reference dashed, the prediction solid, dots at now."""
    pygame = _import_pygame()
    surface = canvas.surface
    left, top, width, height = rect
    pygame.draw.rect(surface, (255, 255, 255), rect)

    def to_pixels(points: np.ndarray) -> np.ndarray:
        clipped = np.clip(points, -scale, scale)
        x = left + (clipped[:, 0] + scale) / (2 * scale) * width
        y = top + height - (clipped[:, 1] + scale) / (2 * scale) * height
        return np.column_stack((x, y)).round().astype(int)

    for value in (-scale / 2, 0.0, scale / 2):
        (x0, y0), (x1, y1) = to_pixels(np.array([[value, -scale], [value, scale]]))
        pygame.draw.line(surface, MUTED if value == 0 else (222, 224, 228), (x0, y0), (x1, y1))
        (x0, y0), (x1, y1) = to_pixels(np.array([[-scale, value], [scale, value]]))
        pygame.draw.line(surface, MUTED if value == 0 else (222, 224, 228), (x0, y0), (x1, y1))
    pygame.draw.rect(surface, MUTED, rect, 1)
    canvas.text("phase plane", (left, top - 6), size=20, anchor="bottomleft")
    canvas.text("x1", (left + width, top + height + 4), size=16, color=MUTED, anchor="topright")
    canvas.text("x2", (left - 4, top), size=16, color=MUTED, anchor="topright")
    canvas.text(f"+-{scale:g}", (left, top + height + 4), size=16, color=MUTED)
    reference = to_pixels(states)
    if len(reference) > 1:
        _draw_dashed(surface, _REFERENCE, reference.tolist())
    pygame.draw.circle(surface, _REFERENCE, reference[-1].tolist(), 5)
    if len(predictions):
        predicted = to_pixels(predictions)
        if len(predicted) > 1:
            pygame.draw.lines(surface, _PREDICTION, False, predicted.tolist(), 2)
        pygame.draw.circle(surface, _PREDICTION, predicted[-1].tolist(), 5)
