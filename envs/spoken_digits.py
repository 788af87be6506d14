"""Legenstein, Pecevski & Maass (2008), computer simulation 5: spoken "one" and "two" as input spike trains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from envs.readout_trial import ReadoutTask, ReadoutTrialEnv, ReadoutTrialVectorEnv
from envs.rendering import INK, MUTED, Canvas, Epoch, Trace, draw_panel, draw_time_axis
from envs.spoken_digits_data import DIGITS, load_spoken_digits

__all__ = ["SpokenDigitsEnv", "SpokenDigitsVectorEnv"]

ORDERS = ("alternate", "random")
SPLITS = ("train", "test", "all")
SPLIT_BY = ("utterance", "speaker")
WORDS = {1: "one", 2: "two"}
_UTTERANCES_PER_SPEAKER = 50  # FSDD: utterance indices 0-49 per speaker and digit


class _SpokenDigitsTask(ReadoutTask):
    """The task itself, shared by the single and the vectorised env: the split's recordings (the stimuli)."""

    name = "SpokenDigits"

    def __init__(
        self,
        trial_ms: float,
        onset_ms: float,
        reward_delay_ms: float,
        reward_tau_ms: float,
        target_digit: int,
        split: str,
        split_by: str,
        test_utterances: int,
        test_speakers: Sequence[str],
        speakers: Sequence[str] | None,
        order: str,
        dt_ms: float,
    ) -> None:
        data = load_spoken_digits()
        names = data.speaker_names
        kept = names if speakers is None else speakers
        problems = []
        if dt_ms <= 0 or trial_ms <= 0 or onset_ms < 0:
            problems.append("need dt_ms > 0, trial_ms > 0 and onset_ms >= 0")
        problems += self.reward_problems(reward_delay_ms, reward_tau_ms)
        if target_digit not in DIGITS:
            problems.append(f"target_digit must be 1 or 2, got {target_digit!r}")
        if split not in SPLITS:
            problems.append(f"split must be one of {list(SPLITS)}, got {split!r}")
        if split_by not in SPLIT_BY:
            problems.append(f"split_by must be one of {list(SPLIT_BY)}, got {split_by!r}")
        if int(test_utterances) != test_utterances or not 0 < test_utterances < _UTTERANCES_PER_SPEAKER:
            problems.append(f"test_utterances must be an integer in 1..{_UTTERANCES_PER_SPEAKER - 1}")
        if order not in ORDERS:
            problems.append(f"order must be one of {list(ORDERS)}, got {order!r}")
        for argument, chosen in (("test_speakers", test_speakers), ("speakers", kept)):
            if isinstance(chosen, str) or not set(chosen) <= set(names) or not len(chosen):
                problems.append(f"{argument} must be a non-empty list of speakers from {list(names)}, got {chosen!r}")
        if problems:
            raise ValueError("; ".join(problems))

        chosen = np.isin(data.speaker, [names.index(s) for s in kept])
        if split_by == "utterance":
            test = data.utterance >= _UTTERANCES_PER_SPEAKER - test_utterances
        else:
            test = np.isin(data.speaker, [names.index(s) for s in test_speakers])
        in_split = chosen & {"train": ~test, "test": test, "all": np.ones_like(test)}[split]
        recordings = np.flatnonzero(in_split)
        self.digit = data.digit[recordings].astype(np.int64)
        for digit in DIGITS:
            if not (self.digit == digit).any():
                raise ValueError(
                    f"the {split!r} split (split_by={split_by!r}, speakers={list(kept)}, "
                    f"test_speakers={list(test_speakers)}) has no recording of digit {digit}; choose other speakers"
                )
        self.speaker = tuple(names[k] for k in data.speaker[recordings])
        self.utterance = data.utterance[recordings].astype(np.int64)
        self.duration_ms = data.duration_ms[recordings].astype(np.float64)
        self.by_digit = {digit: np.flatnonzero(self.digit == digit) for digit in DIGITS}
        self._set_timing(data.n_channels, trial_ms, dt_ms, reward_delay_ms, reward_tau_ms)
        self.channel_cf_hz = data.channel_cf_hz
        self.onset_ms = float(onset_ms)
        self.target_digit = int(target_digit)
        self.order = order
        longest = int(np.argmax(self.duration_ms))
        if onset_ms + self.duration_ms[longest] > trial_ms:
            raise ValueError(
                f"trial_ms={trial_ms} is too short for onset_ms={onset_ms} plus the longest recording of the split "
                f"({self.describe(longest)}, {self.duration_ms[longest]:.0f} ms)"
            )
        # Each recording's input spikes as (step, channel) of the trial, from the utterance's onset.
        self.spike_steps = []
        for r in recordings:
            times_ms, channels = data.spikes(int(r))
            steps = np.floor((onset_ms + times_ms.astype(np.float64)) / dt_ms).astype(np.int64)
            self.spike_steps.append((steps, channels.astype(np.int64)))

    def __len__(self) -> int:
        return len(self.digit)

    def describe(self, k: int) -> str:
        """The recording's FSDD file name, ``{digit}_{speaker}_{utterance}``."""
        return f"{self.digit[k]}_{self.speaker[k]}_{self.utterance[k]}"

    def next_stimulus(self, cycle: int, rng: np.random.Generator) -> int:
        """The next trial's recording: digits 1, 2, 1, ... with a random utterance of the digit, or any at random."""
        if self.order == "alternate":
            candidates = self.by_digit[DIGITS[cycle % 2]]
            return int(candidates[rng.integers(len(candidates))])
        return int(rng.integers(len(self)))

    def forced_stimulus(self, options: Mapping[str, Any] | None, rng: np.random.Generator) -> int | None:
        """The recording ``reset(options=...)`` asks for: ``digit`` (a random utterance of it), ``index`` (the
        index-th recording of the split, or of the digit's recordings when ``digit`` is given), both, or None."""
        if not options:
            return None
        unknown = sorted(set(options) - {"digit", "index"})
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; SpokenDigits accepts ['digit', 'index'].")
        digit, index = options.get("digit"), options.get("index")
        if digit is not None and digit not in DIGITS:
            raise ValueError(f"options['digit'] must be 1 or 2, got {digit!r}.")
        candidates = np.arange(len(self)) if digit is None else self.by_digit[int(digit)]
        if index is None:
            return None if digit is None else int(candidates[rng.integers(len(candidates))])
        if int(index) != index or not 0 <= index < len(candidates):
            raise ValueError(f"options['index'] must be an integer in 0..{len(candidates) - 1}, got {index!r}.")
        return int(candidates[int(index)])

    def fill_inputs(self, k: int, inputs: np.ndarray) -> None:
        inputs[:] = 0
        steps, channels = self.spike_steps[k]
        inputs[steps, channels] = 1

    def is_target(self, k: int) -> bool:
        return bool(self.digit[k] == self.target_digit)

    def labels(self, k: int) -> dict[str, Any]:
        return {"digit": int(self.digit[k]), "speaker": self.speaker[k], "utterance": int(self.utterance[k])}


class SpokenDigitsEnv(ReadoutTrialEnv):
    """
    ## Description

    Computer simulation 5 of Legenstein R., Pecevski D., Maass W. (2008) "A learning theory for
    reward-modulated spike-timing-dependent plasticity with application to biofeedback", PLoS Comput Biol
    4(10):e1000180 (https://doi.org/10.1371/journal.pcbi.1000180); ModelDB 116837, `compsim5`
    (`SpeechRewardSTDPExperiment.py`): a readout neuron learns by reward-modulated STDP to fire for the spoken
    digit "two" and stay silent for "one".

    One episode is one trial of 2.5 s at `dt_ms` = 1 ms: one recording plays from `onset_ms` as input spike
    trains on 64 channels, then silence. The paper used TI46 (not redistributable); here the recordings are
    the 600 utterances of "one" and "two" of the Free Spoken Digit Dataset (FSDD: Zohar Jackson and
    contributors, https://github.com/Jakobovski/free-spoken-digit-dataset, doi:10.5281/zenodo.1342401,
    CC BY-SA 4.0): 6 speakers x 50 utterances x 2 digits, 161-1213 ms long (mean 395 ms). They were
    preprocessed as in the liquid-state-machine work the paper took its inputs from (Verstraeten et al. 2005):
    Lyon's passive ear model (Slaney's Auditory Toolbox; 64 channels from 79 Hz to 3.8 kHz, 1-ms frames)
    and Ben's Spiker Algorithm, 1218 input spikes per utterance on average (about 50 Hz per channel). The
    spike trains ship in `envs/data/spoken_digits.npz` (made by `python -m envs.spoken_digits_data`, which
    documents the parameters) and load without network access.

    The network's readout neuron is the action. Every readout spike at time t_f sends a reward pulse
    `sign * alpha(t - t_f - 0.3 s)` with an alpha kernel of tau = 100 ms (peak 1): positive in a trial of
    the target digit (2, as in the paper), negative in a trial of the other. compsim5's reward model is not
    in the published scripts, so the pulse is sim 4's (`spikegym/SpikePatterns-v0`), with the same shapes,
    `dt_ms` and end-of-trial info, so agents of one task run the other unchanged.

    ## Action Space

    `MultiBinary(1)`: whether the readout neuron spiked at this step.

    ## Observation Space

    `MultiBinary(64)`: the input channels' spikes at this step, channel 0 the lowest frequency.

    ## Rewards

    The reward signal at this step: the sum of the delayed alpha pulses of the readout's spikes so far in
    the trial, signed by the digit. Pulses still under way when the trial ends are cut there (a spike in the
    last ~0.8 s is not fully paid out).

    ## Starting State

    The trial's recording, drawn from the split with `self.np_random`: with `order="alternate"` (the paper's
    training) digits alternate 1, 2, 1, ... (a seeded reset restarts at 1) with a random utterance of the
    digit; with `order="random"` any recording of the split. `reset(options={"digit": d})` plays a random
    utterance of digit d, `{"index": k}` the k-th recording of the split (`{"digit": d, "index": k}`: the
    k-th of digit d), in order of digit, speaker and utterance; `env.unwrapped.n_recordings` counts them.

    ## Splits

    `split_by="utterance"`: for every speaker and digit, utterances 0-39 train and the last
    `test_utterances` = 10 (40-49) test. `split_by="speaker"`: the `test_speakers` (george and lucas) test,
    the other four train. `split="all"` takes both; `speakers` keeps only some speakers (the paper used one).

    ## Episode End

    Termination after the last step of the trial. Never truncated.

    ## Info

    Every step: `digit` (1 or 2), `speaker`, `utterance` (FSDD index 0-49) and `t_ms`. The last step adds
    `output_spikes` (readout spikes in the trial) and `correct`: the readout fired (at least once) for the
    target digit, or stayed silent for the other.

    ## Arguments

    | Parameter         | Default                | Description                                          |
    |-------------------|------------------------|------------------------------------------------------|
    | `trial_ms`        | 2500                   | trial duration (the paper's `trialT`)                |
    | `onset_ms`        | 0                      | silence before the utterance                         |
    | `reward_delay_ms` | 300                    | delay of the reward pulse after a readout spike      |
    | `reward_tau_ms`   | 100                    | time constant of the alpha-shaped pulse              |
    | `target_digit`    | 2                      | the digit whose readout spikes are rewarded          |
    | `split`           | `"train"`              | `"train"`, `"test"` or `"all"`                       |
    | `split_by`        | `"utterance"`          | `"utterance"` or `"speaker"`                         |
    | `test_utterances` | 10                     | last utterance indices per speaker and digit in test |
    | `test_speakers`   | `("george", "lucas")`  | held-out speakers of `split_by="speaker"`            |
    | `speakers`        | None (all six)         | keep only these speakers                             |
    | `order`           | `"alternate"`          | `"alternate"` digits or `"random"` recordings        |
    | `dt_ms`           | 1.0                    | step (spike times are whole ms; coarser steps merge) |

    ## Version History

    * v0: Initial version.
    """

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        trial_ms: float = 2500.0,
        onset_ms: float = 0.0,
        reward_delay_ms: float = 300.0,
        reward_tau_ms: float = 100.0,
        target_digit: int = 2,
        split: str = "train",
        split_by: str = "utterance",
        test_utterances: int = 10,
        test_speakers: Sequence[str] = ("george", "lucas"),
        speakers: Sequence[str] | None = None,
        order: str = "alternate",
        dt_ms: float = 1.0,
    ) -> None:
        task = _SpokenDigitsTask(
            trial_ms=trial_ms,
            onset_ms=onset_ms,
            reward_delay_ms=reward_delay_ms,
            reward_tau_ms=reward_tau_ms,
            target_digit=target_digit,
            split=split,
            split_by=split_by,
            test_utterances=test_utterances,
            test_speakers=test_speakers,
            speakers=speakers,
            order=order,
            dt_ms=dt_ms,
        )
        super().__init__(render_mode, task)
        self.target_digit, self.order, self.n_recordings = task.target_digit, task.order, len(task)

    def _draw(self, canvas: Canvas) -> None:
        surface = canvas.surface
        import pygame  # already imported by Canvas.begin()

        task, k = self._task, self._stimulus
        duration = self.n_steps * self.dt_ms
        rewarded = task.digit[k] == self.target_digit
        canvas.text(
            f'Spoken digits: "{WORDS[int(task.digit[k])]}" ({task.speaker[k]}, utterance {task.utterance[k]}), '
            f"{'rewarded' if rewarded else 'punished'}",
            (24, 16),
            size=30,
        )
        fired = int(self._output[: self._step].sum())
        canvas.text(f"t = {self._step * self.dt_ms:.0f} ms   readout spikes: {fired}", (24, 50), size=22)
        canvas.text("Legenstein et al. (2008), sim. 5; FSDD", (936, 22), size=16, color=MUTED, anchor="topright")
        left, width = 80, 840
        top, height = 100, 250
        row = height / self.n_channels
        pygame.draw.rect(surface, (255, 255, 255), (left, top, width, height))
        utterance = (left + task.onset_ms / duration * width, top, task.duration_ms[k] / duration * width, height)
        pygame.draw.rect(surface, (236, 233, 248), utterance)
        steps, channels = np.nonzero(self._inputs[: self._step])
        for s, c in zip(steps, channels, strict=True):  # low frequencies at the bottom
            x = left + s * self.dt_ms / duration * width
            pygame.draw.rect(surface, (31, 119, 180), (x, top + height - (c + 1) * row, 1, max(1, round(row))))
        for s in np.flatnonzero(self._output[: self._step]):
            x = left + s * self.dt_ms / duration * width
            pygame.draw.line(surface, INK, (x, top + height + 4), (x, top + height + 18), 2)
        pygame.draw.rect(surface, MUTED, (left, top, width, height), 1)
        for f_hz in (250.0, 1000.0, 3500.0):
            c = int(np.argmin(np.abs(task.channel_cf_hz - f_hz)))
            canvas.text(
                f"{f_hz:g} Hz", (left - 8, top + height - (c + 0.5) * row), size=14, color=MUTED, anchor="midright"
            )
        canvas.text("readout", (left - 8, top + height + 11), size=16, color=MUTED, anchor="midright")
        signal = np.where(np.arange(self.n_steps) < self._step, self._reward_signal, np.nan)
        high = max(1.0, float(np.nanmax(np.abs(signal))) if self._step else 1.0)
        rect = (left, 410, width, 100)
        draw_panel(
            canvas,
            rect,
            title="reward signal",
            traces=[Trace("reward", signal, (214, 39, 40), fill=True)],
            dt_ms=self.dt_ms,
            duration_ms=duration,
            epochs=[Epoch("utterance", task.onset_ms, task.onset_ms + task.duration_ms[k], (160, 150, 210))],
            y_range=(-high, high),
            y_ticks=(-round(high, 1), 0.0, round(high, 1)),
            current_ms=self._step * self.dt_ms,
        )
        draw_time_axis(canvas, rect, duration_ms=duration, tick_ms=250.0)


class SpokenDigitsVectorEnv(ReadoutTrialVectorEnv):
    """``num_envs`` copies of :class:`SpokenDigitsEnv` stepped as arrays (the env's ``vector_entry_point``).

    Same arguments as the single env; every copy plays its own trials from its own generator (sub-env i is
    seeded with seed + i, as ``SyncVectorEnv`` does), and observations, rewards and infos equal
    ``SyncVectorEnv``'s step for step. Trials all last ``trial_ms``, so copies finish together and restart in
    the same step (``AutoresetMode.SAME_STEP``; the last observation and info are in ``final_obs`` and
    ``final_info``). Reset options apply to every copy. No rendering: render one copy with the single env.
    """

    task_class = _SpokenDigitsTask
    single_env = SpokenDigitsEnv

    @property
    def n_recordings(self) -> int:
        """The recordings of the split; ``reset(options={"index": k})`` plays the k-th."""
        return len(self._task)
