"""Legenstein, Pecevski & Maass (2008), computer simulation 1: biofeedback (Fetz & Baker 1973)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.rendering import MUTED, Canvas, CanvasEnv, Trace, draw_panel

__all__ = ["BiofeedbackEnv", "reward_kernel"]


def reward_kernel(
    t_ms: np.ndarray, delay_ms: float, tau_plus_ms: float, tau_minus_ms: float, area: float
) -> np.ndarray:
    """Legenstein's reward response to one spike of the reinforced neuron, per ms of delay.

    Two alpha functions ``(s / tau) e^{1 - s / tau}`` starting ``delay_ms`` after the spike, the first
    positive (tau+ = 200 ms) and the second negative (tau- = 1 s), each scaled to the integral ``area`` (over
    time in seconds), so the kernel integrates to zero: the reward signal has zero mean whatever the rate.
    """
    s = (np.asarray(t_ms, dtype=np.float64) - delay_ms) / 1000.0
    out = np.zeros_like(s)
    for sign, tau_ms in ((1.0, tau_plus_ms), (-1.0, tau_minus_ms)):
        tau = tau_ms / 1000.0
        alpha = np.where(s >= 0, (s / tau) * np.exp(1.0 - s / tau), 0.0)
        out += sign * area / (np.e * tau) * alpha  # the alpha kernel's integral is e * tau
    return out


class BiofeedbackEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    Computer simulation 1 of Legenstein R., Pecevski D., Maass W. (2008) "A learning theory for
    reward-modulated spike-timing-dependent plasticity with application to biofeedback", PLoS Comput Biol
    4(10):e1000180 (ModelDB 116837, `compsim1`), after Fetz & Baker's (1973) monkeys, who learned to raise
    the rate of one cortical neuron that drove a reward.

    The experimenter watches `n_watched` neurons of the network: index 0 is the reinforced neuron, the
    others a reference sample of the population. Each spike of the reinforced neuron sends, after
    `delay_ms` = 200 ms, a reward response made of a positive alpha function (tau = 200 ms) and a
    negative one (tau = 1 s) of equal area, so the reward signal integrates to zero: it says "more spikes of
    this neuron than usual", not "spikes". Reward-modulated STDP on all excitatory synapses should raise
    the reinforced neuron's rate while the population's stays put (the paper: from about 4-5 Hz to about
    12 Hz within minutes, the population steady).

    The network runs on its own background noise; the observation is empty.

    ## Action Space

    `MultiBinary(n_watched)`: the watched neurons' spikes at this step (index 0: the reinforced neuron).

    ## Observation Space

    `Box(0, 1, (0,), float32)`: empty.

    ## Rewards

    The reward signal at this step: the sum over the reinforced neuron's spikes of the kernel above.
    Pulses still under way at the end of the episode are cut there.

    ## Episode End

    Termination after `duration_s` (1200 s: the paper's 20 minutes). Never truncated.

    ## Info

    Every step: `t_s`. Every `report_every_s` (10 s) of simulated time also `reinforced_rate_hz` and
    `population_rate_hz`, the rates over that window.

    ## Arguments

    | Parameter        | Default | Description                                        |
    |------------------|---------|----------------------------------------------------|
    | `n_watched`      | 101     | watched neurons: the reinforced one + a sample     |
    | `duration_s`     | 1200    | simulated time of an episode                       |
    | `delay_ms`       | 200     | delay of the reward response                       |
    | `tau_plus_ms`    | 200     | positive lobe                                      |
    | `tau_minus_ms`   | 1000    | negative lobe                                      |
    | `area`           | 0.005   | integral of each lobe                              |
    | `report_every_s` | 10      | window of the rates in `info`                      |
    | `dt_ms`          | 1.0     | step                                               |

    ## Version History

    * v0: Initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}  # noqa: RUF012
    frame_size = (960, 480)

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        n_watched: int = 101,
        duration_s: float = 1200.0,
        delay_ms: float = 200.0,
        tau_plus_ms: float = 200.0,
        tau_minus_ms: float = 1000.0,
        area: float = 0.005,
        report_every_s: float = 10.0,
        dt_ms: float = 1.0,
    ) -> None:
        self._init_rendering(render_mode)
        if int(n_watched) != n_watched or n_watched < 2:
            raise ValueError(
                f"n_watched must be an integer >= 2 (the reinforced neuron and a sample), got {n_watched!r}"
            )
        if (
            duration_s <= 0
            or dt_ms <= 0
            or report_every_s <= 0
            or tau_plus_ms <= 0
            or tau_minus_ms <= 0
            or delay_ms < 0
        ):
            raise ValueError("duration_s, dt_ms, report_every_s and the taus must be > 0, delay_ms >= 0")
        self.n_watched = int(n_watched)
        self.dt_ms = float(dt_ms)
        self.dt = self.dt_ms / 1000.0
        self.n_steps = round(duration_s * 1000.0 / dt_ms)
        self.report_steps = max(1, round(report_every_s * 1000.0 / dt_ms))
        # One spike's response, long enough for the slow lobe to vanish (10 tau-): added at each spike.
        span = np.arange(0.0, delay_ms + 10.0 * tau_minus_ms, dt_ms)
        self._kernel = reward_kernel(span, delay_ms, tau_plus_ms, tau_minus_ms, area)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(0,), dtype=np.float32)
        self.action_space = spaces.MultiBinary(self.n_watched)
        self._empty = np.zeros(0, dtype=np.float32)
        self._signal = np.zeros(len(self._kernel))  # ring buffer of the reward signal ahead
        self._step = 0
        self._window_spikes = np.zeros(self.n_watched)
        self._rates: list[tuple[float, float, float]] = []  # (t_s, reinforced Hz, population Hz)

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"BiofeedbackEnv takes no reset options, got {sorted(options)}.")
        self._signal[:] = 0.0
        self._step = 0
        self._window_spikes[:] = 0.0
        self._rates = []
        self._started = True
        if self.render_mode == "human":
            self._render_frame()
        return self._empty.copy(), {"t_s": 0.0}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("BiofeedbackEnv.step() called before reset(); call reset() first.")
        spikes = np.asarray(action)
        if spikes.shape != (self.n_watched,) or not np.isin(spikes, (0, 1)).all():
            raise ValueError(
                f"the action is the spikes (0 or 1) of the {self.n_watched} watched neurons, shape "
                f"({self.n_watched},); got shape {spikes.shape}."
            )
        n = len(self._kernel)
        slot = self._step % n
        if spikes[0]:  # the reinforced neuron: its response, starting now, over the ring buffer
            head = n - slot
            self._signal[slot:] += self._kernel[:head]
            self._signal[:slot] += self._kernel[head:]
        reward = float(self._signal[slot])
        self._signal[slot] = 0.0
        self._window_spikes += spikes
        info: dict[str, Any] = {"t_s": self._step * self.dt}
        self._step += 1
        if self._step % self.report_steps == 0:
            window_s = self.report_steps * self.dt
            rates = self._window_spikes / window_s
            info.update(reinforced_rate_hz=float(rates[0]), population_rate_hz=float(rates[1:].mean()))
            self._rates.append((self._step * self.dt, rates[0], rates[1:].mean()))
            self._window_spikes[:] = 0.0
        terminated = self._step == self.n_steps
        if self.render_mode == "human" and (terminated or self._step % self.report_steps == 0):
            self._render_frame()
        return self._empty.copy(), reward, terminated, False, info

    def _draw(self, canvas: Canvas) -> None:
        canvas.text("Biofeedback: raise one neuron's rate", (24, 16), size=30)
        canvas.text(f"t = {self._step * self.dt:.0f} s", (24, 52), size=22)
        canvas.text("Legenstein et al. (2008), sim. 1", (936, 22), size=16, color=MUTED, anchor="topright")
        rates = np.array(self._rates) if self._rates else np.zeros((0, 3))
        duration = self.n_steps * self.dt_ms
        high = max(10.0, float(rates[:, 1:].max()) * 1.2) if len(rates) else 10.0
        padded = np.full((2, max(1, round(duration / (self.report_steps * self.dt_ms)))), np.nan)
        padded[:, : len(rates)] = rates[:, 1:].T
        draw_panel(
            canvas,
            (80, 130, 840, 280),
            title="firing rate (Hz) per window",
            traces=[
                Trace("reinforced neuron", padded[0], (214, 39, 40)),
                Trace("population (sample)", padded[1], (31, 119, 180)),
            ],
            dt_ms=self.report_steps * self.dt_ms,
            duration_ms=duration,
            epochs=[],
            y_range=(0.0, high),
            y_ticks=[0.0, round(high / 2), round(high)],
            current_ms=self._step * self.dt_ms,
        )
        canvas.text(f"{duration / 60000:.0f} min", (920, 420), size=16, color=MUTED, anchor="topright")
