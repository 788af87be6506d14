"""Conditioning tasks from the *spikey* replication of Izhikevich (2007): classical and two-choice.

The experimenter shows one of ``n_states`` input groups per game step (the group's neurons fire with
probability ``input_rate`` per 1-ms tick), watches the network's output spikes, and rewards at the end of
the game step: by the state alone (classical conditioning) or by which output group fired most (two-choice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.rendering import INK, MUTED, Canvas, CanvasEnv, Color, lighten

__all__ = ["ConditioningEnv", "TwoChoiceConditioningEnv"]

_RESET_OPTIONS = ("state",)


class ConditioningEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    Classical conditioning as in the *spikey* notebook's rough replication of Izhikevich E. M. (2007)
    "Solving the distal reward problem through linkage of STDP and dopamine signaling", Cerebral Cortex
    17:2443-2452 (https://doi.org/10.1093/cercor/bhl152).

    An episode is `game_steps` (100) game steps of `ticks_per_step` (100) ticks of `dt_ms` = 1 ms, so
    10,000 env steps (10 s). At each game step one state of 0..9 is drawn uniformly; input neuron `i`
    belongs to group `i mod n_states`, and the neurons of the current state's group fire with probability
    `input_rate` = 0.2 per tick. At the end of the game step the network is rewarded if the state is one of
    `rewarded_states` (0, 3, 6, 9), whatever it did: a learning rule that links reward to recent spike
    pairings should come to fire for the rewarded states only (the notebook: output firing probability
    0.25-0.31 per tick for rewarded states against 0.03-0.04 for the others after 5 episodes).

    ## Action Space

    `MultiBinary(n_outputs)` (50): the output neurons' spikes at this tick (any array that casts to 0/1 of
    that shape; other values raise `ValueError`).

    ## Observation Space

    `MultiBinary(n_inputs)` (100): the input neurons' spikes at this tick.

    ## Rewards

    0 on every tick but the last of a game step, where it is `reward` (1) if the state is rewarded and
    `punishment` (0) otherwise.

    ## Starting State

    The first game step's state, drawn from `self.np_random` (or forced with `reset(options={"state": k})`).

    ## Episode End

    Termination after the last tick of the last game step. Never truncated.

    ## Info

    Every step: `state`, `game_step`, `tick` (of the step the action was taken in). On the last tick of a
    game step also `output_rate`: the output spikes per neuron per tick over that game step.

    ## Arguments

    | Parameter         | Default        | Description                                        |
    |-------------------|----------------|----------------------------------------------------|
    | `n_states`        | 10             | states = input groups                              |
    | `n_inputs`        | 100            | input neurons                                      |
    | `n_outputs`       | 50             | output neurons watched                             |
    | `input_rate`      | 0.2            | spike probability per tick of the active group     |
    | `ticks_per_step`  | 100            | ticks (env steps) per game step                    |
    | `game_steps`      | 100            | game steps per episode                             |
    | `rewarded_states` | (0, 3, 6, 9)   | states followed by reward                          |
    | `reward`, `punishment` | 1.0, 0.0  | reward after a rewarded / unrewarded state         |
    | `dt_ms`           | 1.0            | milliseconds per tick                              |

    ## Version History

    * v0: Initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 20}  # noqa: RUF012

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        n_states: int = 10,
        n_inputs: int = 100,
        n_outputs: int = 50,
        input_rate: float = 0.2,
        ticks_per_step: int = 100,
        game_steps: int = 100,
        rewarded_states: Sequence[int] = (0, 3, 6, 9),
        reward: float = 1.0,
        punishment: float = 0.0,
        dt_ms: float = 1.0,
    ) -> None:
        self._init_rendering(render_mode)
        problems = []
        for name, value in (
            ("n_states", n_states),
            ("n_inputs", n_inputs),
            ("n_outputs", n_outputs),
            ("ticks_per_step", ticks_per_step),
            ("game_steps", game_steps),
        ):
            if int(value) != value or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if n_inputs < n_states:
            problems.append(f"n_inputs ({n_inputs}) must be at least n_states ({n_states}): one group per state")
        if not 0.0 <= input_rate <= 1.0:
            problems.append(f"input_rate is a probability per tick, in [0, 1], got {input_rate!r}")
        if any(not 0 <= s < n_states for s in rewarded_states):
            problems.append(f"rewarded_states must be states in 0..{n_states - 1}, got {list(rewarded_states)}")
        if dt_ms <= 0:
            problems.append(f"dt_ms must be > 0, got {dt_ms!r}")
        if problems:
            raise ValueError("; ".join(problems))
        self.n_states, self.n_inputs, self.n_outputs = int(n_states), int(n_inputs), int(n_outputs)
        self.input_rate = float(input_rate)
        self.ticks_per_step, self.game_steps = int(ticks_per_step), int(game_steps)
        self.rewarded_states = tuple(int(s) for s in rewarded_states)
        self.reward_value, self.punishment = float(reward), float(punishment)
        self.dt_ms = float(dt_ms)
        self.dt = self.dt_ms / 1000.0
        self.groups = np.arange(self.n_inputs) % self.n_states  # input neuron i belongs to group i mod n_states
        self._input_row = np.argsort(np.argsort(self.groups, kind="stable"))  # raster row of each input neuron
        self.observation_space = spaces.MultiBinary(self.n_inputs)
        self.action_space = spaces.MultiBinary(self.n_outputs)
        self._state = 0
        self._game_step = self._tick = 0
        self._input: np.ndarray = np.zeros(self.n_inputs, dtype=np.int8)
        self._spikes_this_step = np.zeros(self.n_outputs, dtype=np.int64)
        self._rates = np.zeros((self.n_states, 2))  # per state: summed output rate, game steps seen
        self._raster: list[tuple[np.ndarray, np.ndarray]] = []

    # -- the game -------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        forced = self._forced_state(options)
        self._game_step = self._tick = 0
        self._rates[:] = 0.0
        self._raster = []
        self._begin_game_step(forced)
        self._started = True
        if self.render_mode == "human":
            self._render_frame()
        return self._input.copy(), self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError(f"{type(self).__name__}.step() called before reset(); call reset() first.")
        spikes = self._check_action(action)
        self._spikes_this_step += spikes
        self._raster.append((self._input.astype(bool), spikes.astype(bool)))
        del self._raster[: -2 * self.ticks_per_step]  # keep the last two game steps for rendering
        info = self._info()
        reward, terminated = 0.0, False
        self._tick += 1
        if self._tick == self.ticks_per_step:
            rate = self._spikes_this_step / self.ticks_per_step
            info["output_rate"] = float(rate.mean())
            self._rates[self._state] += (info["output_rate"], 1.0)
            reward = self._game_step_reward(rate, info)
            self._game_step += 1
            self._tick = 0
            terminated = self._game_step == self.game_steps
            if not terminated:
                self._begin_game_step(None)
        if terminated:
            observation = np.zeros(self.n_inputs, dtype=np.int8)
        else:
            self._input = self._draw_input()
            observation = self._input.copy()
        if self.render_mode == "human" and (self._tick == 0 or terminated):
            self._render_frame()
        return observation, reward, terminated, False, info

    def _game_step_reward(self, output_rate: np.ndarray, info: dict[str, Any]) -> float:
        """Classical conditioning: the reward depends on the state only."""
        return self.reward_value if self._state in self.rewarded_states else self.punishment

    def _begin_game_step(self, forced: int | None) -> None:
        self._state = int(self.np_random.integers(self.n_states)) if forced is None else forced
        self._spikes_this_step[:] = 0
        self._input = self._draw_input()

    def _draw_input(self) -> np.ndarray:
        active = self.groups == self._state
        return (active & (self.np_random.random(self.n_inputs) < self.input_rate)).astype(np.int8)

    def _info(self) -> dict[str, Any]:
        return {"state": self._state, "game_step": self._game_step, "tick": self._tick}

    def _forced_state(self, options: Mapping[str, Any] | None) -> int | None:
        if not options:
            return None
        unknown = [k for k in options if k not in _RESET_OPTIONS]
        if unknown:
            raise ValueError(
                f"unknown reset option(s) {unknown}; {type(self).__name__} accepts {list(_RESET_OPTIONS)}."
            )
        state = options.get("state")
        if state is None:
            return None
        if int(state) != state or not 0 <= state < self.n_states:
            raise ValueError(f"options['state'] must be a state in 0..{self.n_states - 1}, got {state!r}.")
        return int(state)

    def _check_action(self, action: Any) -> np.ndarray:
        spikes = np.asarray(action)
        if spikes.shape != (self.n_outputs,):
            raise ValueError(
                f"the action is the {self.n_outputs} output neurons' spikes: expected shape "
                f"({self.n_outputs},), got {spikes.shape}."
            )
        if not np.isin(spikes, (0, 1)).all():
            raise ValueError("the action must be spikes, 0 or 1 (or booleans), per output neuron.")
        return spikes.astype(np.int64)

    # -- rendering ------------------------------------------------------------------------------------
    def _draw(self, canvas: Canvas) -> None:
        surface = canvas.surface
        import pygame  # already imported by Canvas.begin()

        canvas.text(self._title(), (24, 16), size=30)
        canvas.text(
            f"game step {min(self._game_step + 1, self.game_steps)}/{self.game_steps}   state {self._state}"
            f"{' (rewarded)' if self._state in self.rewarded_states else ''}",
            (24, 50),
            size=22,
        )
        canvas.text("Izhikevich (2007) via spikey", (936, 22), size=16, color=MUTED, anchor="topright")
        # Raster of the last two game steps: inputs (coloured by group) above, outputs below.
        left, top, width = 70, 100, 520
        ticks = 2 * self.ticks_per_step
        rows = self.n_inputs + self.n_outputs
        height = 400
        pygame.draw.rect(surface, (255, 255, 255), (left, top, width, height))
        start = ticks - len(self._raster)
        for k, (inputs, outputs) in enumerate(self._raster):
            x = left + (start + k) * width / ticks
            for i in np.flatnonzero(inputs):
                y = top + self._input_row[i] * height / rows  # rows sorted by group: the active group is a band
                pygame.draw.rect(surface, _group_color(int(self.groups[i]), self.n_states), (x, y, 2, 3))
            for j in np.flatnonzero(outputs):
                y = top + (self.n_inputs + j) * height / rows
                pygame.draw.rect(surface, INK, (x, y, 2, 3))
        split = top + self.n_inputs * height / rows
        pygame.draw.line(surface, MUTED, (left, split), (left + width, split))
        for row in self._output_dividers():
            y = split + row * height / rows
            pygame.draw.line(surface, lighten(MUTED, 0.4), (left, y), (left + width, y))
        pygame.draw.rect(surface, MUTED, (left, top, width, height), 1)
        canvas.text("inputs", (left - 8, (top + split) / 2), size=16, color=MUTED, anchor="midright")
        canvas.text(
            self._output_label(), (left - 8, (split + top + height) / 2), size=16, color=MUTED, anchor="midright"
        )
        canvas.text(
            f"last {ticks} ticks ({ticks * self.dt_ms:g} ms)",
            (left + width / 2, top + height + 8),
            size=16,
            color=MUTED,
            anchor="midtop",
        )
        self._draw_state_panel(canvas, (640, top, 290, height))

    def _title(self) -> str:
        return "Classical conditioning"

    def _output_label(self) -> str:
        return "outputs"

    def _output_dividers(self) -> list[int]:
        return []

    def _draw_state_panel(self, canvas: Canvas, rect: tuple[int, int, int, int]) -> None:
        """Mean output rate per state so far this episode; rewarded states highlighted."""
        import pygame

        left, top, width, height = rect
        seen = self._rates[:, 1] > 0
        rates = np.where(seen, self._rates[:, 0] / np.maximum(self._rates[:, 1], 1), 0.0)
        high = max(0.05, float(rates.max()) * 1.15)
        canvas.text("output rate per state", (left, top - 6), size=20, anchor="bottomleft")
        bar = height / self.n_states
        for s in range(self.n_states):
            y = top + s * bar
            color = (214, 39, 40) if s in self.rewarded_states else (120, 124, 130)
            length = rates[s] / high * (width - 60)
            pygame.draw.rect(
                surface := canvas.surface,
                lighten(color, 0.85 if s != self._state else 0.6),
                (left + 24, y + 2, width - 60, bar - 4),
            )
            pygame.draw.rect(surface, color, (left + 24, y + 2, length, bar - 4))
            canvas.text(str(s), (left + 16, y + bar / 2), size=18, anchor="midright")
            if seen[s]:
                canvas.text(f"{rates[s]:.2f}", (left + width, y + bar / 2), size=16, color=MUTED, anchor="midright")


class TwoChoiceConditioningEnv(ConditioningEnv):
    """
    ## Description

    The *spikey* notebook's conditioning with an ordinal output: the `n_outputs` (60) output neurons form two
    groups, A (the first half) and B (the second); the choice of a game step is the group that fired more.
    The target is A for states 2, 3, 6 and 8 and B otherwise, and the network is rewarded (1) for the target
    choice and gets `punishment` (0) otherwise; a tie, silence included, is no choice and is not rewarded.

    The notebook's text states this target, while its rewarder code tests `action == (state in A_STATES)`,
    which would reward B for those states; this task follows the stated intent.

    Spaces, episode structure and arguments as `ConditioningEnv` (defaults `n_outputs=60`,
    `target_a_states=(2, 3, 6, 8)`); `rewarded_states` is not used. The info of a game step's last tick adds
    `choice` (0 = A, 1 = B, -1 = none), `target_choice` and `correct`.

    ## Version History

    * v0: Initial version.
    """

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        n_outputs: int = 60,
        target_a_states: Sequence[int] = (2, 3, 6, 8),
        **kwargs: Any,
    ) -> None:
        if n_outputs < 2 or n_outputs % 2:
            raise ValueError(f"n_outputs must be even (two equal groups), got {n_outputs!r}")
        super().__init__(render_mode, n_outputs=n_outputs, rewarded_states=target_a_states, **kwargs)
        self.target_a_states = self.rewarded_states
        self._correct = np.zeros(2)  # correct choices, game steps

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        self._correct[:] = 0.0
        return super().reset(seed=seed, options=options)

    def _game_step_reward(self, output_rate: np.ndarray, info: dict[str, Any]) -> float:
        half = self.n_outputs // 2
        a, b = output_rate[:half].sum(), output_rate[half:].sum()
        choice = 0 if a > b else 1 if b > a else -1
        target = 0 if self._state in self.target_a_states else 1
        info.update(choice=choice, target_choice=target, correct=choice == target)
        self._correct += (choice == target, 1.0)
        return self.reward_value if choice == target else self.punishment

    def _title(self) -> str:
        done = self._correct[1]
        return "Two-choice conditioning" + (f"   {self._correct[0] / done:.0%} correct" if done else "")

    def _output_label(self) -> str:
        return "A over B"

    def _output_dividers(self) -> list[int]:
        return [self.n_outputs // 2]


def _group_color(group: int, n_groups: int) -> Color:
    hue = group / max(1, n_groups)
    # A readable categorical palette without matplotlib: evenly spaced hues at moderate saturation.
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.8)
    return (round(255 * r), round(255 * g), round(255 * b))
