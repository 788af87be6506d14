"""Legenstein, Pecevski & Maass (2008), computer simulation 4: classify two spatio-temporal spike patterns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.readout_trial import ReadoutTask, ReadoutTrialEnv, ReadoutTrialVectorEnv, alpha_kernel, readout_spikes
from envs.rendering import INK, MUTED, Canvas, Epoch, Trace, draw_panel, draw_time_axis

__all__ = ["SpikePatternsEnv", "SpikePatternsVectorEnv", "alpha_kernel", "readout_spikes"]

TEMPLATE_ORDERS = ("alternate", "random")


class _SpikePatternsTask(ReadoutTask):
    """The task itself, shared by the single and the vectorised env: the two templates (stimuli 0 and 1)."""

    name = "SpikePatterns"

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
        problems += self.reward_problems(reward_delay_ms, reward_tau_ms)
        if problems:
            raise ValueError("; ".join(problems))
        self._set_timing(n_channels, trial_ms, dt_ms, reward_delay_ms, reward_tau_ms)
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

    def next_stimulus(self, cycle: int, rng: np.random.Generator) -> int:
        return cycle % 2 if self.template_order == "alternate" else int(rng.integers(2))

    def forced_stimulus(self, options: Mapping[str, Any] | None, rng: np.random.Generator) -> int | None:
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

    def fill_inputs(self, k: int, inputs: np.ndarray) -> None:
        inputs[:] = self.inputs[k]

    def is_target(self, k: int) -> bool:
        return k == self.target_template

    def labels(self, k: int) -> dict[str, Any]:
        return {"template": int(k)}


class SpikePatternsEnv(ReadoutTrialEnv):
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
        task = _SpikePatternsTask(
            n_channels=n_channels,
            template_ms=template_ms,
            onset_ms=onset_ms,
            trial_ms=trial_ms,
            reward_delay_ms=reward_delay_ms,
            reward_tau_ms=reward_tau_ms,
            target_template=target_template,
            template_order=template_order,
            template_seed=template_seed,
            dt_ms=dt_ms,
        )
        super().__init__(render_mode, task)
        self.onset_step, self.template_steps = task.onset_step, task.template_steps
        self.target_template, self.template_order = task.target_template, task.template_order
        self.template_spike_steps = task.template_spike_steps

    def _draw(self, canvas: Canvas) -> None:
        surface = canvas.surface
        import pygame  # already imported by Canvas.begin()

        template, duration = self._stimulus, self.n_steps * self.dt_ms
        target = template == self.target_template
        canvas.text(f"Spike patterns: template {template} ({'rewarded' if target else 'punished'})", (24, 16), size=30)
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


class SpikePatternsVectorEnv(ReadoutTrialVectorEnv):
    """``num_envs`` copies of :class:`SpikePatternsEnv` stepped as arrays (the env's ``vector_entry_point``).

    Same arguments as the single env; every copy plays its own trials from its own generator (sub-env i is
    seeded with seed + i, as ``SyncVectorEnv`` does), and observations, rewards and infos equal
    ``SyncVectorEnv``'s step for step. Trials all last the same, so copies finish together and restart in
    the same step (``AutoresetMode.SAME_STEP``; the last observation and info are in ``final_obs`` and
    ``final_info``). No rendering: render one copy with the single env.
    """

    task_class = _SpikePatternsTask
    single_env = SpikePatternsEnv
