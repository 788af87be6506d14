"""Legenstein, Pecevski & Maass (2008), computer simulation 4: classify two spatio-temporal spike patterns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.rendering import INK, MUTED, Canvas, CanvasEnv, Epoch, Trace, draw_panel, draw_time_axis

__all__ = ["SpikePatternsEnv", "SpikePatternsVectorEnv", "alpha_kernel", "readout_spikes"]

TEMPLATE_ORDERS = ("alternate", "random")


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


class _SpikePatternsTask:
    """The task itself, shared by the single and the vectorised env: templates, inputs, reward pulse, scoring."""

    def __init__(
        self,
        n_channels: int,
        template_ms: float,
        onset_ms: float,
        trial_ms: float,
        reward_delay_ms: float,
        reward_tau_ms: float,
        target_template: int,
        template_order: str,
        template_seed: int,
        dt_ms: float,
    ) -> None:
        problems = []
        if int(n_channels) != n_channels or n_channels < 1:
            problems.append(f"n_channels must be a positive integer, got {n_channels!r}")
        if dt_ms <= 0:
            problems.append(f"dt_ms must be > 0, got {dt_ms!r}")
        if onset_ms < 0 or template_ms <= 0 or onset_ms + template_ms > trial_ms:
            problems.append("need 0 <= onset_ms, 0 < template_ms and onset_ms + template_ms <= trial_ms")
        if target_template not in (0, 1):
            problems.append(f"target_template must be 0 or 1, got {target_template!r}")
        if template_order not in TEMPLATE_ORDERS:
            problems.append(f"template_order must be one of {list(TEMPLATE_ORDERS)}, got {template_order!r}")
        if reward_tau_ms <= 0 or reward_delay_ms < 0:
            problems.append("reward_tau_ms must be > 0 and reward_delay_ms >= 0")
        if problems:
            raise ValueError("; ".join(problems))
        self.n_channels = int(n_channels)
        self.dt_ms = float(dt_ms)
        self.dt = self.dt_ms / 1000.0
        self.n_steps = round(trial_ms / dt_ms)
        self.onset_step = round(onset_ms / dt_ms)
        self.template_steps = round(template_ms / dt_ms)
        self.target_template = int(target_template)
        self.template_order = template_order
        # The templates are the task itself, fixed per env: each channel spikes once, uniformly in the template.
        rng = np.random.default_rng(template_seed)
        self.template_spike_steps = np.floor(rng.uniform(0, template_ms, size=(2, self.n_channels)) / dt_ms).astype(int)
        self.inputs = np.zeros((2, self.n_steps, self.n_channels), dtype=np.int8)  # a trial's raster per template
        for template in (0, 1):
            self.inputs[template, self.onset_step + self.template_spike_steps[template], np.arange(self.n_channels)] = 1
        self.inputs.flags.writeable = False
        # One readout spike's reward pulse, its value at each step after the spike: the delayed alpha kernel.
        self.pulse = alpha_kernel(
            (np.arange(self.n_steps) * self.dt_ms - reward_delay_ms) / 1000.0, reward_tau_ms / 1000.0
        )

    def spaces(self) -> tuple[spaces.MultiBinary, spaces.MultiBinary]:
        return spaces.MultiBinary(self.n_channels), spaces.MultiBinary(1)

    def next_template(self, cycle: int, rng: np.random.Generator) -> int:
        return cycle % 2 if self.template_order == "alternate" else int(rng.integers(2))

    def sign(self, template: int) -> float:
        return 1.0 if template == self.target_template else -1.0

    def correct(self, template: int, output_spikes: int) -> bool:
        """Fired for the target template, or stayed silent for the other."""
        return bool((output_spikes > 0) == (template == self.target_template))

    @staticmethod
    def forced_template(options: Mapping[str, Any] | None) -> int | None:
        if not options:
            return None
        unknown = [k for k in options if k != "template"]
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; SpikePatterns accepts ['template'].")
        template = options.get("template")
        if template is None:
            return None
        if template not in (0, 1):
            raise ValueError(f"options['template'] must be 0 or 1, got {template!r}.")
        return int(template)


class SpikePatternsEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    Computer simulation 4 of Legenstein R., Pecevski D., Maass W. (2008) "A learning theory for
    reward-modulated spike-timing-dependent plasticity with application to biofeedback", PLoS Comput Biol
    4(10):e1000180 (https://doi.org/10.1371/journal.pcbi.1000180); ModelDB 116837, `compsim4`.

    Two spatio-temporal spike templates of 500 ms over `n_channels` = 200 input channels are fixed for the
    env (each channel fires exactly once per template, at a uniform random time, from `template_seed`).
    One episode is one trial of 3 s at `dt_ms` = 1 ms: after 50 ms of silence one template is played
    (templates alternate 0, 1, 0, ... as in the original code, or are drawn at random), then silence. The
    network's readout neuron is the action. Every readout spike at time t_f sends a reward pulse
    `sign * alpha(t - t_f - 0.3 s)` with an alpha kernel of tau = 100 ms (peak 1): positive after the target
    template (0), negative after the other. The readout should learn to fire for template 0 and stay silent
    for template 1.

    ## Action Space

    `MultiBinary(1)`: whether the readout neuron spiked at this step.

    ## Observation Space

    `MultiBinary(n_channels)`: the input channels' spikes at this step.

    ## Rewards

    The reward signal at this step: the sum of the delayed alpha pulses of the readout's spikes so far in
    the trial, signed by the template. Pulses still under way when the trial ends are cut there (a spike in
    the last ~0.8 s is not fully paid out; the original's continuous simulation let them run into the
    next trial).

    ## Starting State

    The trial's template: the next of the alternation (a seeded reset restarts at template 0) or, with
    `template_order="random"`, drawn from `self.np_random`; `reset(options={"template": k})` forces one.

    ## Episode End

    Termination after the last step of the trial. Never truncated.

    ## Info

    Every step: `template`, `t_ms`. The last step adds `output_spikes` (readout spikes in the trial) and
    `correct`: the readout fired (at least once) for the target template, or stayed silent for the other.

    ## Arguments

    | Parameter           | Default       | Description                                    |
    |---------------------|---------------|------------------------------------------------|
    | `n_channels`        | 200           | input channels                                 |
    | `template_ms`       | 500           | duration of a template                         |
    | `onset_ms`          | 50            | silence before the template                    |
    | `trial_ms`          | 3000          | trial duration                                 |
    | `reward_delay_ms`   | 300           | delay of the reward pulse after a readout spike|
    | `reward_tau_ms`     | 100           | time constant of the alpha-shaped pulse        |
    | `target_template`   | 0             | the template whose spikes are rewarded         |
    | `template_order`    | `"alternate"` | `"alternate"` or `"random"`                    |
    | `template_seed`     | 0             | seed of the two templates (fixed for the env)  |
    | `dt_ms`             | 1.0           | step                                           |

    ## Version History

    * v0: Initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}  # noqa: RUF012

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        n_channels: int = 200,
        template_ms: float = 500.0,
        onset_ms: float = 50.0,
        trial_ms: float = 3000.0,
        reward_delay_ms: float = 300.0,
        reward_tau_ms: float = 100.0,
        target_template: int = 0,
        template_order: str = "alternate",
        template_seed: int = 0,
        dt_ms: float = 1.0,
    ) -> None:
        self._init_rendering(render_mode)
        self._task = task = _SpikePatternsTask(
            n_channels,
            template_ms,
            onset_ms,
            trial_ms,
            reward_delay_ms,
            reward_tau_ms,
            target_template,
            template_order,
            template_seed,
            dt_ms,
        )
        self.n_channels, self.dt_ms, self.dt, self.n_steps = task.n_channels, task.dt_ms, task.dt, task.n_steps
        self.onset_step, self.template_steps = task.onset_step, task.template_steps
        self.target_template, self.template_order = task.target_template, task.template_order
        self.template_spike_steps = task.template_spike_steps
        self.observation_space, self.action_space = task.spaces()
        self._template = 0
        self._cycle = 0
        self._step = 0
        self._inputs = task.inputs[0]
        self._reward_signal = np.zeros(self.n_steps)
        self._output = np.zeros(self.n_steps, dtype=bool)

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        seeded = seed is not None
        super().reset(seed=seed)
        if seeded:
            self._cycle = 0
        forced = self._task.forced_template(options)
        if forced is not None:
            self._template = forced
        else:
            self._template = self._task.next_template(self._cycle, self.np_random)
            self._cycle += 1
        self._inputs = self._task.inputs[self._template]
        self._reward_signal[:] = 0.0
        self._output[:] = False
        self._step = 0
        self._started = True
        if self.render_mode == "human":
            self._render_frame()
        return self._inputs[0].copy(), self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("SpikePatternsEnv.step() called before reset(); call reset() first.")
        spike = readout_spikes(action, (1,))[0]
        t = self._step
        info = self._info()
        if spike:
            self._output[t] = True
            self._reward_signal[t:] += self._task.sign(self._template) * self._task.pulse[: self.n_steps - t]
        reward = float(self._reward_signal[t])
        self._step += 1
        terminated = self._step == self.n_steps
        if terminated:
            fired = int(self._output.sum())
            info.update(output_spikes=fired, correct=self._task.correct(self._template, fired))
            observation = np.zeros(self.n_channels, dtype=np.int8)
        else:
            observation = self._inputs[self._step].copy()
        if self.render_mode == "human" and (terminated or self._step % 100 == 0):
            self._render_frame()
        return observation, reward, terminated, False, info

    def _info(self) -> dict[str, Any]:
        return {"template": self._template, "t_ms": self._step * self.dt_ms}

    def _draw(self, canvas: Canvas) -> None:
        surface = canvas.surface
        import pygame  # already imported by Canvas.begin()

        duration = self.n_steps * self.dt_ms
        target = self._template == self.target_template
        canvas.text(
            f"Spike patterns: template {self._template} ({'rewarded' if target else 'punished'})", (24, 16), size=30
        )
        fired = int(self._output[: self._step].sum())
        canvas.text(f"t = {self._step * self.dt_ms:.0f} ms   readout spikes: {fired}", (24, 50), size=22)
        canvas.text("Legenstein et al. (2008), sim. 4", (936, 22), size=16, color=MUTED, anchor="topright")
        left, width = 80, 840
        top, height = 110, 220
        pygame.draw.rect(surface, (255, 255, 255), (left, top, width, height))
        # Channels sorted by the target template's spike times: it draws a diagonal, the other a scatter.
        order = np.argsort(self.template_spike_steps[self.target_template])
        for row, channel in enumerate(order):
            steps = np.flatnonzero(self._inputs[: self._step, channel])
            for s in steps:
                x = left + s * self.dt_ms / duration * width
                pygame.draw.rect(surface, (31, 119, 180), (x, top + row * height / self.n_channels, 2, 2))
        for s in np.flatnonzero(self._output[: self._step]):
            x = left + s * self.dt_ms / duration * width
            pygame.draw.line(surface, INK, (x, top + height + 4), (x, top + height + 18), 2)
        pygame.draw.rect(surface, MUTED, (left, top, width, height), 1)
        canvas.text("inputs", (left - 8, top + height / 2), size=16, color=MUTED, anchor="midright")
        canvas.text("readout", (left - 8, top + height + 11), size=16, color=MUTED, anchor="midright")
        signal = np.where(np.arange(self.n_steps) < self._step, self._reward_signal, np.nan)
        high = max(1.0, float(np.nanmax(np.abs(signal))) if self._step else 1.0)
        rect = (left, 400, width, 110)
        template_end = (self.onset_step + self.template_steps) * self.dt_ms
        draw_panel(
            canvas,
            rect,
            title="reward signal",
            traces=[Trace("reward", signal, (214, 39, 40), fill=True)],
            dt_ms=self.dt_ms,
            duration_ms=duration,
            epochs=[Epoch("template", self.onset_step * self.dt_ms, template_end, (160, 150, 210))],
            y_range=(-high, high),
            y_ticks=(-round(high, 1), 0.0, round(high, 1)),
            current_ms=self._step * self.dt_ms,
        )
        draw_time_axis(canvas, rect, duration_ms=duration, tick_ms=500.0)


class SpikePatternsVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`SpikePatternsEnv` stepped as arrays (the env's ``vector_entry_point``).

    Same arguments as the single env; every copy plays its own trials from its own generator (sub-env i is
    seeded with seed + i, as ``SyncVectorEnv`` does), and observations, rewards and infos equal
    ``SyncVectorEnv``'s step for step. Trials all last the same, so copies finish together and restart in
    the same step (``AutoresetMode.SAME_STEP``; the last observation and info are in ``final_obs`` and
    ``final_info``). No rendering: render one copy with the single env.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        render_mode: str | None = None,
        **task_kwargs: Any,
    ) -> None:
        if AutoresetMode(autoreset_mode) != AutoresetMode.SAME_STEP:
            raise ValueError(
                "SpikePatternsVectorEnv supports autoreset_mode=AutoresetMode.SAME_STEP only; "
                "use gym.make_vec(..., vectorization_mode='sync') for the other modes."
            )
        if render_mode is not None:
            raise ValueError("SpikePatternsVectorEnv does not render; render one copy with gym.make(...).")
        if int(num_envs) != num_envs or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        defaults = dict(
            n_channels=200,
            template_ms=500.0,
            onset_ms=50.0,
            trial_ms=3000.0,
            reward_delay_ms=300.0,
            reward_tau_ms=100.0,
            target_template=0,
            template_order="alternate",
            template_seed=0,
            dt_ms=1.0,
        )
        unknown = sorted(set(task_kwargs) - set(defaults))
        if unknown:
            raise TypeError(f"unknown SpikePatterns argument(s) {unknown}; valid: {sorted(defaults)}")
        self._task = task = _SpikePatternsTask(**{**defaults, **task_kwargs})
        self.num_envs = int(num_envs)
        self.dt_ms, self.dt, self.n_steps = task.dt_ms, task.dt, task.n_steps
        self.single_observation_space, self.single_action_space = task.spaces()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._cycle = np.zeros(n, dtype=np.int64)
        self._template = np.zeros(n, dtype=np.int64)
        self._signs = np.zeros(n)
        self._step = 0
        self._signal = np.zeros((n, task.n_steps))
        self._output = np.zeros((n, task.n_steps), dtype=bool)
        self._started = False

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        seeds = (
            [None if seed is None else seed + i for i in range(self.num_envs)]
            if not isinstance(seed, Sequence)
            else list(seed)
        )
        if len(seeds) != self.num_envs:
            raise ValueError(f"{len(seeds)} seeds for {self.num_envs} sub-envs")
        for i, s in enumerate(seeds):
            if s is not None:
                self._rngs[i], _ = seeding.np_random(s)
                self._cycle[i] = 0
        self._start_trials(self._task.forced_template(options))
        self._started = True
        return self._observations(), self._info(np.zeros(self.num_envs))

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("SpikePatternsVectorEnv.step() called before reset(); call reset() first.")
        spikes = readout_spikes(actions, (self.num_envs, 1))
        t = self._step
        for i in np.flatnonzero(spikes):  # a few readout spikes per trial: add their pulses row by row
            self._output[i, t] = True
            self._signal[i, t:] += self._signs[i] * self._task.pulse[: self.n_steps - t]
        rewards = self._signal[:, t].copy()
        info = self._info(np.full(self.num_envs, t * self.dt_ms))
        self._step += 1
        n = self.num_envs
        truncated = np.zeros(n, dtype=bool)
        if self._step < self.n_steps:
            return self._observations(), rewards, np.zeros(n, dtype=bool), truncated, info
        fired = self._output.sum(axis=1)
        final = dict(info)
        final["output_spikes"], final["_output_spikes"] = fired, np.ones(n, dtype=bool)
        final["correct"] = np.array(
            [self._task.correct(int(k), int(f)) for k, f in zip(self._template, fired, strict=True)]
        )
        final["_correct"] = np.ones(n, dtype=bool)
        final_obs = np.empty(n, dtype=object)
        for i in range(n):
            final_obs[i] = np.zeros(self._task.n_channels, dtype=np.int8)
        self._start_trials(None)
        info = {
            **self._info(np.zeros(n)),
            "final_obs": final_obs,
            "_final_obs": np.ones(n, dtype=bool),
            "final_info": final,
            "_final_info": np.ones(n, dtype=bool),
        }
        return self._observations(), rewards, np.ones(n, dtype=bool), truncated, info

    def _start_trials(self, forced: int | None) -> None:
        for i in range(self.num_envs):
            if forced is not None:
                self._template[i] = forced
            else:
                if self._rngs[i] is None:
                    self._rngs[i], _ = seeding.np_random()
                self._template[i] = self._task.next_template(int(self._cycle[i]), self._rngs[i])
                self._cycle[i] += 1
        self._signs = np.array([self._task.sign(int(k)) for k in self._template])
        self._step = 0
        self._signal[:] = 0.0
        self._output[:] = False

    def _observations(self) -> np.ndarray:
        if self._step == self.n_steps:
            return np.zeros((self.num_envs, self._task.n_channels), dtype=np.int8)
        return self._task.inputs[self._template, self._step]

    def _info(self, t_ms: np.ndarray) -> dict[str, Any]:
        n = self.num_envs
        return {
            "template": self._template.copy(),
            "_template": np.ones(n, dtype=bool),
            "t_ms": np.asarray(t_ms, dtype=np.float64),
            "_t_ms": np.ones(n, dtype=bool),
        }
