"""Izhikevich (2007), Fig. 2: classical (Pavlovian) conditioning of one stimulus among 100."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from copy import deepcopy
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import concatenate

from envs.rendering import INK, MUTED, Canvas, CanvasEnv, lighten
from envs.vector import vector_arguments

__all__ = ["PavlovianConditioningEnv", "PavlovianConditioningVectorEnv"]

_S1_COLOR = (214, 39, 40)
_REWARD_COLOR = (44, 160, 44)
_OTHER_COLOR = (31, 119, 180)


class PavlovianConditioningEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    Classical conditioning as in Izhikevich E. M. (2007) "Solving the distal reward problem through linkage of
    STDP and dopamine signaling", Cerebral Cortex 17:2443-2452 (Fig. 2).

    The network (the agent) holds `n_stimuli` (100) random groups S1..S100 of neurons (50 each in the paper;
    which neurons is the agent's business). The experimenter delivers one stimulus at a time, in random order
    (each drawn uniformly), with random inter-stimulus intervals of `min_isi_ms`..`max_isi_ms` (100-300 ms,
    uniform integers): a stimulus is a brief superthreshold pulse to its group, here the observation saying
    which stimulus is on during this 1-ms step. Every time S1 (stimulus index 0) is delivered, a reward follows
    after a random delay of `ceil(max_reward_delay_ms U)` ms (1..1000 ms), during which other stimuli may come.
    The paper reports that after about an hour the network responds to S1 much more than to any other
    stimulus, the dopamine having reinforced the synapses out of S1's group.

    The experimenter measures the response to each stimulus: the spikes of the watched neurons (the agent's
    action; the paper's 800 excitatory neurons) over the env steps `response_window_ms` = [2, 22) ms after
    the step the stimulus was shown in. The window starts at 2 ms to leave out the group's own forced spikes:
    an agent that applies the pulse at the step it sees it has its group's neurons fire in that step, which
    is the action of the next one (1 ms later); their targets answer from 2 ms on.

    ## Action Space

    `MultiBinary(n_watched)` (800): the spikes of the watched neurons at this 1-ms step.

    ## Observation Space

    `MultiBinary(n_stimuli)` (100): one-hot, the stimulus delivered at this step, or all zero (most steps).

    ## Rewards

    1.0 at each step a scheduled reward falls on (several may coincide), else 0.

    ## Starting State

    No pending reward; the first stimulus comes after a random inter-stimulus interval.

    ## Episode End

    Termination after `duration_s` (3600 s: the paper's hour) of simulated time. Rewards still pending then are
    dropped, and so is the response to a stimulus whose window is still open. Never truncated.

    ## Info

    Every step: `t_s` (time of the step), `stimulus` (index of the stimulus shown in the observation this action
    answers, -1 if none), `presentations` (stimuli delivered so far), `s1_presentations`, `rewards`
    (delivered so far), `pending` (scheduled, not yet delivered), `response_s1` and `response_others` (mean
    response to S1 and to all other stimuli so far this episode; absent before the first). On the step a
    response window closes also `response` (spikes in the window) and `response_stimulus` (whose).

    ## Arguments

    | Parameter             | Default  | Description                                                   |
    |-----------------------|----------|---------------------------------------------------------------|
    | `n_stimuli`           | 100      | stimuli S1..S_n (S1 = index 0 is the conditioned one)         |
    | `n_watched`           | 800      | neurons whose spikes are the action (the excitatory ones)     |
    | `min_isi_ms`          | 100      | inter-stimulus interval, uniform in min..max (integer ms)     |
    | `max_isi_ms`          | 300      |                                                               |
    | `max_reward_delay_ms` | 1000     | the reward comes `ceil(max_reward_delay_ms U)` ms after S1    |
    | `response_window_ms`  | (2, 22)  | spikes counted over steps [start, end) after the stimulus     |
    | `duration_s`          | 3600     | simulated time of an episode                                  |
    | `dt_ms`               | 1.0      | step                                                          |

    ## Version History

    * v0: Initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}  # noqa: RUF012

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        n_stimuli: int = 100,
        n_watched: int = 800,
        min_isi_ms: int = 100,
        max_isi_ms: int = 300,
        max_reward_delay_ms: int = 1000,
        response_window_ms: tuple[int, int] = (2, 22),
        duration_s: float = 3600.0,
        dt_ms: float = 1.0,
    ) -> None:
        self._init_rendering(render_mode)
        problems = []
        for name, value in (
            ("n_stimuli", n_stimuli),
            ("n_watched", n_watched),
            ("min_isi_ms", min_isi_ms),
            ("max_isi_ms", max_isi_ms),
            ("max_reward_delay_ms", max_reward_delay_ms),
        ):
            if int(value) != value or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if max_isi_ms < min_isi_ms:
            problems.append(f"max_isi_ms ({max_isi_ms}) must be >= min_isi_ms ({min_isi_ms})")
        window = tuple(response_window_ms)
        if len(window) != 2 or any(int(w) != w for w in window) or not 0 <= window[0] < window[1] <= min_isi_ms:
            problems.append(
                f"response_window_ms must be two integers 0 <= start < end <= min_isi_ms ({min_isi_ms}), so that "
                f"windows never overlap; got {response_window_ms!r}"
            )
        if duration_s <= 0 or dt_ms <= 0:
            problems.append(f"duration_s and dt_ms must be > 0, got {duration_s!r} and {dt_ms!r}")
        if problems:
            raise ValueError("; ".join(problems))
        self.n_stimuli, self.n_watched = int(n_stimuli), int(n_watched)
        self.min_isi_ms, self.max_isi_ms = int(min_isi_ms), int(max_isi_ms)
        self.max_reward_delay_ms = int(max_reward_delay_ms)
        self.response_window_ms = (int(window[0]), int(window[1]))
        self.dt_ms = float(dt_ms)
        self.dt = self.dt_ms / 1000.0
        self.n_steps = round(duration_s * 1000.0 / dt_ms)
        self.observation_space = spaces.MultiBinary(self.n_stimuli)
        self.action_space = spaces.MultiBinary(self.n_watched)
        self._step = 0
        self._shown = -1  # the stimulus in the observation of the current step, -1 if none
        self._next_stimulus = 0  # step of the next delivery not yet drawn
        self._plan: deque[tuple[int, int, int]] = deque()  # drawn deliveries: (step, stimulus, reward step or -1)
        self._window: tuple[int, int, int] | None = None  # (stimulus, step shown, spikes so far)
        self._pending: list[int] = []  # steps of scheduled rewards
        self._rewards = self._presentations = self._s1_presentations = 0
        self._responses = np.zeros((self.n_stimuli, 2))  # per stimulus: summed response, windows closed
        self._raster: deque[np.ndarray] = deque(maxlen=1000)  # watched spikes of the last 1000 steps
        self._events: list[tuple[int, str, int]] = []  # (step, "stimulus" | "reward", stimulus) of the last 1 s

    # -- the experiment -------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"PavlovianConditioningEnv takes no reset options, got {sorted(options)}.")
        self._step = 0
        self._window = None
        self._plan.clear()
        self._pending = []
        self._rewards = self._presentations = self._s1_presentations = 0
        self._responses[:] = 0.0
        self._raster.clear()
        self._events = []
        self._next_stimulus = self._isi()
        self._started = True
        observation = self._observe()
        if self.render_mode == "human":
            self._render_frame()
        return observation, self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("PavlovianConditioningEnv.step() called before reset(); call reset() first.")
        spikes = np.asarray(action)
        if spikes.shape != (self.n_watched,) or not np.isin(spikes, (0, 1)).all():
            raise ValueError(
                f"the action is the spikes (0 or 1) of the {self.n_watched} watched neurons, shape "
                f"({self.n_watched},); got an array of shape {spikes.shape}."
            )
        info = self._info()
        observation, due, response = self._advance(np.flatnonzero(spikes).astype(np.int16))
        info.update(response)
        terminated = self._step == self.n_steps
        if self.render_mode == "human" and (terminated or self._step % 100 == 0):
            self._render_frame()
        return observation, float(due), terminated, False, info

    def _advance(self, fired: np.ndarray) -> tuple[np.ndarray, int, dict[str, int]]:
        """One step in which the watched neurons ``fired`` (their indices): the response window counts them, the
        rewards due now are delivered, the clock moves on and the next observation is made. Returns it, the
        rewards delivered and, when a response window closed, ``response`` and ``response_stimulus``."""
        response = {}
        self._raster.append(fired)
        if self._window is not None:
            stimulus, shown, count = self._window
            lag = self._step - shown
            start, end = self.response_window_ms
            if start <= lag < end:
                count += len(fired)
            self._window = (stimulus, shown, count)
            if lag == end - 1:
                self._responses[stimulus] += (count, 1.0)
                response = {"response": count, "response_stimulus": stimulus}
                self._window = None
        due = sum(1 for r in self._pending if r == self._step)
        if due:
            self._pending = [r for r in self._pending if r != self._step]
            self._rewards += due
            self._events.append((self._step, "reward", 0))
        self._step += 1
        observation = self._observe()
        if self._events and self._events[0][0] < self._step - 1000:
            self._events = [e for e in self._events if e[0] >= self._step - 1000]
        return observation, due, response

    def _observe(self) -> np.ndarray:
        """The observation of the current step: delivers the next stimulus when it is due."""
        observation = np.zeros(self.n_stimuli, dtype=np.int8)
        self._shown = -1
        self._draw_until(self._step)
        if self._plan and self._plan[0][0] == self._step:
            _, stimulus, reward_step = self._plan.popleft()
            observation[stimulus] = 1
            self._shown = stimulus
            self._presentations += 1
            self._window = (stimulus, self._step, 0)
            self._events.append((self._step, "stimulus", stimulus))
            if reward_step >= 0:  # S1
                self._s1_presentations += 1
                self._pending.append(reward_step)
        return observation

    def _draw_until(self, step: int) -> None:
        """Draws the deliveries up to ``step`` in time order, each as: the stimulus, for S1 its reward's delay
        (1 .. max_reward_delay_ms ms), the interval to the next. Nothing the agent does changes them, so
        drawing ahead (for a block of steps) gives the same schedule as drawing at each delivery."""
        while self._next_stimulus <= step and self._next_stimulus < self.n_steps:
            stimulus = int(self.np_random.integers(self.n_stimuli))
            reward_step = -1
            if stimulus == 0:
                reward_step = self._next_stimulus + int(np.ceil(self.max_reward_delay_ms * self.np_random.random()))
            self._plan.append((self._next_stimulus, stimulus, reward_step))
            self._next_stimulus += self._isi()

    # -- blocks of steps (``train.loop``) -----------------------------------------------------------------
    def lookahead_steps(self) -> int:
        """How many of the next steps have observations and rewards no action can change: all of them (the
        schedule of stimuli and rewards is the experimenter's alone), up to the episode's last step, which
        ends the episode; 0 before the first reset."""
        return max(0, self.n_steps - 1 - self._step) if self._started else 0

    def scheduled(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The observations (k, n_stimuli) and rewards (k,) of the next k steps (the current observation
        first), k <= ``lookahead_steps()``."""
        if not 0 < k <= self.lookahead_steps():
            raise ValueError(f"the next {k} steps are not fixed: at most {self.lookahead_steps()}")
        self._draw_until(self._step + k - 1)
        observations = np.zeros((k, self.n_stimuli), dtype=np.int8)
        if self._shown >= 0:
            observations[0, self._shown] = 1
        rewards = np.zeros(k)
        due = [r - self._step for r in self._pending]
        for step, stimulus, reward_step in self._plan:
            if step >= self._step + k:
                break
            observations[step - self._step, stimulus] = 1
            due.append(reward_step - self._step if reward_step >= 0 else k)
        for j in due:
            if 0 <= j < k:
                rewards[j] += 1.0
        return observations, rewards

    def step_block(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """k steps at once (k <= ``lookahead_steps()``), equal to k calls of ``step``, none of which ends the
        episode; ``actions`` (k, n_watched). Returns the observation after the block, the rewards (k,) and the
        info of the block's last step."""
        if not self._started:
            raise RuntimeError("PavlovianConditioningEnv.step_block() called before reset(); call reset() first.")
        spikes = np.asarray(actions)
        k = spikes.shape[0] if spikes.ndim == 2 else 0
        if spikes.shape != (k, self.n_watched) or not ((spikes == 0) | (spikes == 1)).all():
            raise ValueError(
                f"a block's action is the spikes (0 or 1) of the {self.n_watched} watched neurons at each step, "
                f"shape (k, {self.n_watched}); got an array of shape {spikes.shape}."
            )
        if not 0 < k <= self.lookahead_steps():
            raise ValueError(f"the next {k} steps are not fixed: at most {self.lookahead_steps()}")
        steps, neurons = np.nonzero(spikes)
        fired = np.split(neurons.astype(np.int16), np.searchsorted(steps, np.arange(1, k)))  # per step
        rewards = np.zeros(k)
        for j in range(k):
            if j == k - 1:
                info = self._info()
            observation, rewards[j], response = self._advance(fired[j])
        info.update(response)
        if self.render_mode == "human":
            self._render_frame()
        return observation, rewards, info

    def _isi(self) -> int:
        return int(self.np_random.integers(self.min_isi_ms, self.max_isi_ms + 1))

    def _mean_responses(self) -> tuple[float, float]:
        total, count = self._responses[:, 0], self._responses[:, 1]
        s1 = total[0] / count[0] if count[0] else np.nan
        others = total[1:].sum() / count[1:].sum() if count[1:].sum() else np.nan
        return float(s1), float(others)

    def _info(self) -> dict[str, Any]:
        info = {
            "t_s": self._step * self.dt,
            "stimulus": self._shown,
            "presentations": self._presentations,
            "s1_presentations": self._s1_presentations,
            "rewards": self._rewards,
            "pending": len(self._pending),
        }
        for key, value in zip(("response_s1", "response_others"), self._mean_responses(), strict=True):
            if np.isfinite(value):
                info[key] = value
        return info

    # -- rendering ------------------------------------------------------------------------------------
    def _draw(self, canvas: Canvas) -> None:
        surface = canvas.surface
        import pygame  # already imported by Canvas.begin()

        canvas.text("Pavlovian conditioning: reward follows S1", (24, 16), size=30)
        canvas.text(
            f"t = {self._step * self.dt:.1f} s   stimuli {self._presentations}   rewards {self._rewards}   "
            f"pending {len(self._pending)}",
            (24, 52),
            size=22,
        )
        canvas.text("Izhikevich (2007), Fig. 2", (936, 22), size=16, color=MUTED, anchor="topright")
        # Raster of the watched neurons over the last second, stimuli and rewards marked above it.
        left, top, width, height, window = 90, 120, 560, 360, 1000
        pygame.draw.rect(surface, (255, 255, 255), (left, top, width, height))
        start = self._step - len(self._raster)
        for k, fired in enumerate(self._raster):
            x = left + (start + k - (self._step - window)) * width / window
            for i in fired.tolist():
                surface.set_at((int(x), int(top + i * height / self.n_watched)), INK)
        for step, kind, stimulus in self._events:
            x = left + (step - (self._step - window)) * width / window
            if x < left:
                continue
            if kind == "stimulus":
                color = _S1_COLOR if stimulus == 0 else _OTHER_COLOR
                pygame.draw.line(surface, lighten(color, 0.5), (x, top), (x, top + height), 1)
                canvas.text(f"S{stimulus + 1}", (x, top - 22), size=16, color=color, anchor="midbottom")
            else:
                pygame.draw.polygon(surface, _REWARD_COLOR, [(x - 6, top - 12), (x + 6, top - 12), (x, top - 2)])
        pygame.draw.rect(surface, MUTED, (left, top, width, height), 1)
        canvas.text("neurons", (left - 8, top + height / 2), size=16, color=MUTED, anchor="midright")
        canvas.text(
            "last 1 s: spikes; stimulus lines (S1 red); reward triangles (green)",
            (left + width / 2, top + height + 8),
            size=16,
            color=MUTED,
            anchor="midtop",
        )
        self._draw_responses(canvas, (700, top, 230, height))

    def _draw_responses(self, canvas: Canvas, rect: tuple[int, int, int, int]) -> None:
        """Mean response to S1 against the other stimuli, and each stimulus's mean response below."""
        import pygame

        left, top, width, height = rect
        surface = canvas.surface
        s1, others = self._mean_responses()
        total, count = self._responses[:, 0], self._responses[:, 1]
        each = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        high = max(1.0, float(np.nanmax([s1, others, each.max()])) * 1.15)
        start, end = self.response_window_ms
        canvas.text(f"mean response ({start}-{end} ms)", (left, top - 6), anchor="bottomleft")
        bars = [("S1", s1, _S1_COLOR), ("others", others, _OTHER_COLOR)]
        bar_height = 0.55 * height
        for k, (label, value, color) in enumerate(bars):
            x = left + 20 + k * (width - 20) / 2
            w = (width - 20) / 2 - 24
            pygame.draw.rect(surface, lighten(color, 0.85), (x, top, w, bar_height))
            if np.isfinite(value):
                h = value / high * bar_height
                pygame.draw.rect(surface, color, (x, top + bar_height - h, w, h))
                canvas.text(f"{value:.1f}", (x + w / 2, top + bar_height - h - 4), size=18, anchor="midbottom")
            canvas.text(label, (x + w / 2, top + bar_height + 6), size=18, anchor="midtop")
        strip_top, strip_height = top + bar_height + 52, height - bar_height - 52
        canvas.text("each stimulus", (left, strip_top - 4), size=16, color=MUTED, anchor="bottomleft")
        step = width / self.n_stimuli
        for s in range(self.n_stimuli):
            h = each[s] / high * strip_height
            color = _S1_COLOR if s == 0 else _OTHER_COLOR
            pygame.draw.rect(surface, color, (left + s * step, strip_top + strip_height - h, max(1.0, step - 1), h))
        pygame.draw.line(surface, MUTED, (left, strip_top + strip_height), (left + width, strip_top + strip_height), 1)


class PavlovianConditioningVectorEnv(SyncVectorEnv):
    """``num_envs`` copies of :class:`PavlovianConditioningEnv` (the env's ``vector_entry_point``): Gymnasium's
    ``SyncVectorEnv`` of them (so step for step the same as ``gym.make_vec(..., vectorization_mode="sync")``),
    with the copies' blocks of steps for the rollout loop (``lookahead_steps``, ``scheduled``, ``step_block``:
    the experimenter's schedule does not depend on the network, so the loop may hand the agent many steps at
    once). SAME_STEP autoreset only; no rendering: render one copy with the single env.
    """

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        num_envs = vector_arguments("PavlovianConditioningVectorEnv", num_envs, autoreset_mode, render_mode)
        super().__init__(
            [partial(PavlovianConditioningEnv, **kwargs)] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP
        )

    def lookahead_steps(self) -> int:
        """The steps every copy has fixed (see ``PavlovianConditioningEnv.lookahead_steps``)."""
        return min(env.lookahead_steps() for env in self.envs)

    def scheduled(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The observations (num_envs, k, n_stimuli) and rewards (num_envs, k) of every copy's next k steps."""
        observations, rewards = zip(*(env.scheduled(k) for env in self.envs), strict=True)
        return np.stack(observations), np.stack(rewards)

    def step_block(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """k steps of every copy at once, equal to k calls of ``step``; ``actions`` (num_envs, k, n_watched).
        Returns the observations after the block, the rewards (num_envs, k) and the infos of its last step."""
        actions = np.asarray(actions)
        if actions.ndim != 3 or actions.shape[0] != self.num_envs:
            raise ValueError(f"a block's actions are (num_envs, k, n_watched); got shape {actions.shape}")
        infos: dict[str, Any] = {}
        rewards = []
        for i, env in enumerate(self.envs):
            self._env_obs[i], reward, info = env.step_block(actions[i])
            rewards.append(reward)
            infos = self._add_info(infos, info, i)
        self._observations = concatenate(self.single_observation_space, self._env_obs, self._observations)
        return deepcopy(self._observations) if self.copy else self._observations, np.stack(rewards), infos
