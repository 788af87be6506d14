"""Izhikevich (2007), Fig. 1: reinforce one synapse among 100,000 with a reward that comes 1-3 s late."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.rendering import INK, MUTED, Canvas, CanvasEnv
from envs.vector import vector_arguments

__all__ = ["DistalRewardEnv", "DistalRewardVectorEnv"]


def _check_spikes(actions: Any, shape: tuple[int, ...]) -> np.ndarray:
    spikes = np.asarray(actions)
    if spikes.shape != shape or not ((spikes == 0) | (spikes == 1)).all():
        raise ValueError(
            f"the action is the spikes (0 or 1) of the watched neurons n1 and n2, shape {shape}; got {actions!r}."
        )
    return spikes.astype(bool)


class DistalRewardEnv(CanvasEnv, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    The distal reward experiment of Izhikevich E. M. (2007) "Solving the distal reward problem through
    linkage of STDP and dopamine signaling", Cerebral Cortex 17:2443-2452 (Fig. 1; `daspnet.m`).

    The experimenter watches two neurons of the network, the presynaptic neuron n1 and the postsynaptic
    neuron n2 of one synapse. Whenever n2 fires within `interval_ms` = 20 ms after n1, a reward is scheduled
    after a random delay of 1-3 s (`1000 + ceil(2000 U)` ms, as in `daspnet.m`); meanwhile the network keeps
    firing and many other pairings happen. A dopamine-modulated STDP rule should nonetheless single out the
    n1 -> n2 synapse and drive it to its maximum. Which neurons are watched is up to the agent (its preset):
    the env only sees their spikes.

    The experimenter presents no stimulus: the network runs on its own background activity, so the
    observation is empty.

    ## Action Space

    `MultiBinary(2)`: the spikes of n1 and n2 at this 1-ms step.

    ## Observation Space

    `Box(0, 1, (0,), float32)`: empty.

    ## Rewards

    1.0 at each step a scheduled reward falls on (several may coincide), else 0.

    ## Starting State

    No pending reward, no earlier spike of n1.

    ## Episode End

    Termination after `duration_s` (3600 s: the paper's hour) of simulated time. Rewards still pending then
    are dropped. Never truncated.

    ## Info

    Every step: `t_s` (time of the step), `pairings` (n1 -> n2 pairings so far), `rewards` (delivered so
    far), `pending` (scheduled, not yet delivered).

    ## Arguments

    | Parameter        | Default | Description                                              |
    |------------------|---------|----------------------------------------------------------|
    | `duration_s`     | 3600    | simulated time of an episode                             |
    | `interval_ms`    | 20      | n2 must fire within this long after n1                   |
    | `min_delay_ms`   | 1000    | the reward delay is `min_delay_ms + ceil(spread_ms U)`   |
    | `spread_ms`      | 2000    |                                                          |
    | `dt_ms`          | 1.0     | step                                                     |

    ## Version History

    * v0: Initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}  # noqa: RUF012
    frame_size = (960, 360)

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        duration_s: float = 3600.0,
        interval_ms: float = 20.0,
        min_delay_ms: float = 1000.0,
        spread_ms: float = 2000.0,
        dt_ms: float = 1.0,
    ) -> None:
        self._init_rendering(render_mode)
        _set_task(self, duration_s, interval_ms, min_delay_ms, spread_ms, dt_ms)
        self._empty = np.zeros(0, dtype=np.float32)
        self._step = 0
        self._last_pre_ms = -np.inf
        self._pending: list[float] = []  # times (ms) of scheduled rewards, unsorted (few at a time)
        self._pairings = self._rewards = 0
        self._history: list[tuple[float, str]] = []  # recent events for rendering: (t_ms, kind)

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"DistalRewardEnv takes no reset options, got {sorted(options)}.")
        self._step = 0
        self._last_pre_ms = -np.inf
        self._pending = []
        self._pairings = self._rewards = 0
        self._history = []
        self._started = True
        if self.render_mode == "human":
            self._render_frame()
        return self._empty.copy(), self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("DistalRewardEnv.step() called before reset(); call reset() first.")
        spikes = _check_spikes(action, (2,))
        t_ms = self._step * self.dt_ms
        pre, post = bool(spikes[0]), bool(spikes[1])
        if pre:  # recorded first, as daspnet.m does: n1 and n2 in the same step are no pairing
            self._last_pre_ms = t_ms
            self._history.append((t_ms, "n1"))
        if post:
            self._history.append((t_ms, "n2"))
            if 0 < t_ms - self._last_pre_ms < self.interval_ms:  # n1 then n2 within the interval
                delay = self.min_delay_ms + np.ceil(self.spread_ms * self.np_random.random())
                self._pending.append(t_ms + delay)
                self._pairings += 1
                self._history.append((t_ms, "pairing"))
        due = [r for r in self._pending if r <= t_ms]
        reward = float(len(due))
        if due:
            self._pending = [r for r in self._pending if r > t_ms]
            self._rewards += len(due)
            self._history.append((t_ms, "reward"))
        info = self._info()
        self._step += 1
        terminated = self._step == self.n_steps
        if self._history and self._history[0][0] < t_ms - 4000.0:
            self._history = [e for e in self._history if e[0] >= t_ms - 4000.0]
        if self.render_mode == "human" and (terminated or self._step % 100 == 0):
            self._render_frame()
        return self._empty.copy(), reward, terminated, False, info

    def _info(self) -> dict[str, Any]:
        return {
            "t_s": self._step * self.dt,
            "pairings": self._pairings,
            "rewards": self._rewards,
            "pending": len(self._pending),
        }

    def _draw(self, canvas: Canvas) -> None:
        surface = canvas.surface
        import pygame  # already imported by Canvas.begin()

        now = self._step * self.dt_ms
        canvas.text("Distal reward: reinforce the n1 -> n2 synapse", (24, 16), size=30)
        canvas.text(
            f"t = {now / 1000:.1f} s   pairings {self._pairings}   rewards {self._rewards}   "
            f"pending {len(self._pending)}",
            (24, 52),
            size=22,
        )
        canvas.text("Izhikevich (2007), Fig. 1", (936, 22), size=16, color=MUTED, anchor="topright")
        left, width, window = 110, 820, 4000.0
        rows = {"n1": 120, "n2": 170, "pairing": 220, "reward": 270}
        colors = {"n1": (31, 119, 180), "n2": (255, 127, 14), "pairing": INK, "reward": (44, 160, 44)}
        for kind, y in rows.items():
            canvas.text(kind, (left - 12, y), size=18, color=MUTED, anchor="midright")
            pygame.draw.line(surface, (222, 224, 228), (left, y), (left + width, y))
        for t_ms, kind in self._history:
            x = left + (t_ms - (now - window)) / window * width
            if x >= left:
                pygame.draw.line(
                    surface, colors[kind], (x, rows[kind] - 12), (x, rows[kind] + 12), 3 if kind == "reward" else 2
                )
        for r in self._pending:
            x = left + width + (r - now) / window * width
            if x <= left + width + 10:
                pygame.draw.circle(surface, colors["reward"], (x, rows["reward"]), 4, 1)
        pygame.draw.line(surface, MUTED, (left + width, 100), (left + width, 290))
        canvas.text("last 4 s", (left + width / 2, 300), size=16, color=MUTED, anchor="midtop")


def _set_task(
    env: Any, duration_s: float, interval_ms: float, min_delay_ms: float, spread_ms: float, dt_ms: float
) -> None:
    """The arguments both envs share, checked, and the single env's spaces."""
    if duration_s <= 0 or interval_ms <= 0 or min_delay_ms < 0 or spread_ms < 0 or dt_ms <= 0:
        raise ValueError("duration_s, interval_ms and dt_ms must be > 0; min_delay_ms and spread_ms >= 0")
    env.dt_ms = float(dt_ms)
    env.dt = env.dt_ms / 1000.0
    env.n_steps = round(duration_s * 1000.0 / dt_ms)
    env.interval_ms, env.min_delay_ms, env.spread_ms = float(interval_ms), float(min_delay_ms), float(spread_ms)
    env.observation_space = spaces.Box(0.0, 1.0, shape=(0,), dtype=np.float32)
    env.action_space = spaces.MultiBinary(2)


class DistalRewardVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`DistalRewardEnv` stepped as arrays (the env's ``vector_entry_point``).

    Same arguments as the single env. Copy i is seeded with seed + i, as ``SyncVectorEnv`` seeds its sub-envs,
    and draws its reward delays from its own generator in the same order, so observations, rewards and infos
    equal ``SyncVectorEnv``'s step for step. Episodes all last ``duration_s``, so the copies finish together
    and restart in the same step (``AutoresetMode.SAME_STEP``; the last info is in ``final_info``). No
    rendering: render one copy with the single env.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        render_mode: str | None = None,
        duration_s: float = 3600.0,
        interval_ms: float = 20.0,
        min_delay_ms: float = 1000.0,
        spread_ms: float = 2000.0,
        dt_ms: float = 1.0,
    ) -> None:
        num_envs = vector_arguments("DistalRewardVectorEnv", num_envs, autoreset_mode, render_mode)
        _set_task(self, duration_s, interval_ms, min_delay_ms, spread_ms, dt_ms)
        self.single_observation_space, self.single_action_space = self.observation_space, self.action_space
        self.num_envs = n = num_envs
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._empty = np.zeros((n, 0), dtype=np.float32)
        self._all = np.ones(n, dtype=bool)
        self._started = False
        self._clear()

    def _clear(self) -> None:
        n = self.num_envs
        self._step = 0
        self._last_pre_ms = np.full(n, -np.inf)
        self._pending: list[list[float]] = [[] for _ in range(n)]
        self._next_due = np.full(n, np.inf)  # the earliest pending reward of each copy
        self._pairings = np.zeros(n, dtype=np.int64)
        self._rewards = np.zeros(n, dtype=np.int64)

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if options:
            raise ValueError(f"DistalRewardEnv takes no reset options, got {sorted(options)}.")
        seeds = (
            [None if seed is None else seed + i for i in range(self.num_envs)]
            if not isinstance(seed, Sequence)
            else list(seed)
        )
        if len(seeds) != self.num_envs:
            raise ValueError(f"{len(seeds)} seeds for {self.num_envs} sub-envs")
        for i, s in enumerate(seeds):
            if s is not None or self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random(s)
        self._clear()
        self._started = True
        return self._empty.copy(), self._info()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("DistalRewardVectorEnv.step() called before reset(); call reset() first.")
        n = self.num_envs
        spikes = _check_spikes(actions, (n, 2))
        t_ms = self._step * self.dt_ms
        pre, post = spikes[:, 0], spikes[:, 1]
        self._last_pre_ms[pre] = t_ms  # n1 and n2 in the same step are no pairing, as in the single env
        paired = post & (t_ms - self._last_pre_ms > 0) & (t_ms - self._last_pre_ms < self.interval_ms)
        for i in np.flatnonzero(paired):
            due = t_ms + self.min_delay_ms + np.ceil(self.spread_ms * self._rngs[i].random())
            self._pending[i].append(due)
            self._next_due[i] = min(self._next_due[i], due)
        self._pairings += paired
        rewards = np.zeros(n)
        for i in np.flatnonzero(self._next_due <= t_ms):
            rewards[i] = sum(r <= t_ms for r in self._pending[i])
            self._pending[i] = [r for r in self._pending[i] if r > t_ms]
            self._next_due[i] = min(self._pending[i], default=np.inf)
        self._rewards += rewards.astype(np.int64)
        info = self._info()
        self._step += 1
        if self._step < self.n_steps:
            return self._empty.copy(), rewards, np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), info
        final_obs = np.empty(n, dtype=object)
        for i in range(n):
            final_obs[i] = np.zeros(0, dtype=np.float32)
        self._clear()
        info = {
            **self._info(),
            "final_obs": final_obs,
            "_final_obs": self._all.copy(),
            "final_info": info,
            "_final_info": self._all.copy(),
        }
        return self._empty.copy(), rewards, self._all.copy(), np.zeros(n, dtype=bool), info

    # -- blocks of steps whose rewards are already fixed (``train.loop``) ------------------------------------
    def lookahead_steps(self) -> int:
        """How many of the next steps have observations and rewards no action can change any more: a pairing
        earns its reward ``min_delay_ms`` later at the earliest, so the rewards of the next
        ``min_delay_ms / dt_ms`` steps are those already pending, and the observation is empty. Never the
        episode's last step (it ends the episode); 0 before the first reset."""
        if not self._started:
            return 0
        return max(0, min(int(self.min_delay_ms // self.dt_ms), self.n_steps - 1 - self._step))

    def scheduled(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The observations (num_envs, k, 0: empty) and the rewards (num_envs, k) each copy delivers at each of
        its next k steps (k <= ``lookahead_steps()``)."""
        return np.zeros((self.num_envs, k, 0), dtype=np.float32), self._scheduled_rewards(k)

    def _scheduled_rewards(self, k: int) -> np.ndarray:
        if not 0 < k <= self.lookahead_steps():
            raise ValueError(f"the rewards of the next {k} steps are not fixed yet: at most {self.lookahead_steps()}")
        times = (self._step + np.arange(k)) * self.dt_ms  # each step's t_ms, as step() computes it
        rewards = np.zeros((self.num_envs, k))
        for i in np.flatnonzero(self._next_due <= times[-1]):
            due = np.searchsorted(times, [r for r in self._pending[i] if r <= times[-1]], side="left")
            np.add.at(rewards[i], due, 1.0)
        return rewards

    def step_block(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """k steps at once (k <= ``lookahead_steps()``), equal to k calls of ``step`` (the same pairings, the
        same reward delays drawn in the same order), none of which ends the episode.

        Args:
            actions: (num_envs, k, 2), the spikes of n1 and n2 at each step.

        Returns:
            the observation after the block (num_envs, 0), the rewards (num_envs, k) (those ``scheduled(k)`` gave)
            and the info of the block's last step.
        """
        if not self._started:
            raise RuntimeError("DistalRewardVectorEnv.step_block() called before reset(); call reset() first.")
        n = self.num_envs
        actions = np.asarray(actions)
        k = actions.shape[1] if actions.ndim == 3 else 0
        spikes = _check_spikes(actions, (n, k, 2))
        rewards = self._scheduled_rewards(k)
        times = (self._step + np.arange(k)) * self.dt_ms
        for i in range(n):
            pre_steps = np.flatnonzero(spikes[i, :, 0])
            post_steps = np.flatnonzero(spikes[i, :, 1])
            if post_steps.size:  # the last n1 spike at or before each n2 spike (same step: no pairing)
                before = np.concatenate(([self._last_pre_ms[i]], times[pre_steps]))  # n1's times, the last one first
                last_pre = before[np.searchsorted(pre_steps, post_steps, side="right")]
                gap = times[post_steps] - last_pre
                paired = post_steps[(gap > 0) & (gap < self.interval_ms)]
                if paired.size:
                    draws = self._rngs[i].random(paired.size)  # = paired.size calls of random(), in order
                    due = times[paired] + self.min_delay_ms + np.ceil(self.spread_ms * draws)
                    self._pending[i].extend(due.tolist())
                    self._pairings[i] += paired.size
            if pre_steps.size:
                self._last_pre_ms[i] = times[pre_steps[-1]]
            delivered = int(rewards[i].sum())
            if delivered:
                self._pending[i] = [r for r in self._pending[i] if r > times[-1]]
                self._rewards[i] += delivered
            self._next_due[i] = min(self._pending[i], default=np.inf)
        self._step += k - 1
        info = self._info()  # the info of the block's last step
        self._step += 1
        return self._empty.copy(), rewards, info

    def _info(self) -> dict[str, Any]:
        pending = np.array([len(p) for p in self._pending], dtype=np.int64)
        info = {
            "t_s": np.full(self.num_envs, self._step * self.dt),
            "pairings": self._pairings.copy(),
            "rewards": self._rewards.copy(),
            "pending": pending,
        }
        return info | {f"_{k}": self._all.copy() for k in list(info)}
