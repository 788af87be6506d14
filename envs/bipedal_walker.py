"""GOAL's closed-loop task (Capone et al. 2022): Gymnasium's BipedalWalker-v3 with an expert to clone."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from envs.experts import MLPPolicy, expert_path

with warnings.catch_warnings():  # Box2D's SWIG bindings warn at import ("SwigPyPacked has no __module__")
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from gymnasium.envs.box2d import bipedal_walker as box2d_walker
    except (ImportError, gym.error.DependencyNotInstalled):
        box2d_walker = None

__all__ = ["BipedalWalkerEnv", "walker_expert"]

EXPERT_NAME = "bipedal_walker_ppo"


def walker_expert(name: str = EXPERT_NAME) -> MLPPolicy:
    """The shipped PPO expert (``envs/experts/bipedal_walker_ppo.npz``, made by ``python -m train expert``)."""
    return MLPPolicy.load(expert_path(name))


class BipedalWalkerEnv(gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    Gymnasium's `BipedalWalker-v3` (Box2D: a four-joint walker on rough terrain, 1600 steps of 20 ms at most),
    unchanged, with an expert's action in the info so that target-based rules learn to walk by apprenticeship.
    Capone et al. (2022, PLoS Comput Biol e1010221, GOAL) cloned an expert walker into a spiking network; here
    the expert is a stable-baselines3 PPO policy that ships with the project (``envs/experts/``, a NumPy
    multilayer perceptron behind an observation normaliser; how it was trained and its return are in the file's
    metadata and the README). Gymnasium's built-in heuristic is too weak to be the expert (it falls in about
    half the episodes).

    The observation, action, reward, termination and rendering are BipedalWalker-v3's (see its documentation):
    `Box(24,)` (hull angle and velocities, joint angles and speeds, leg contacts, 10 lidar readings), actions
    `Box(-1, 1, (4,))` (hip and knee motor speeds/torques), reward for moving forward, -100 for falling.

    **Seeding.** BipedalWalker-v3 keeps its physics world across `reset`, so the same seed on a reused env gives
    a different episode; `reset(seed=s)` here builds a fresh world, so the same seed gives the same episode: the
    one a fresh BipedalWalker-v3 gives for seed s (the expert's reported returns are on seeds 0-19).

    ## Info

    Every step: `target` (float32 `(4,)`): the expert's action for the observation the action answered (what
    the agent should have done), `expert_action`: the expert's action for the observation returned now (also at
    `reset`), `expert_in_control` (bool). The last step of an episode adds `is_success`: the walker reached the
    end of the terrain without falling.

    ## Arguments

    | Parameter        | Type            | Default               | Description                                      |
    |------------------|-----------------|-----------------------|--------------------------------------------------|
    | `render_mode`    | **str or None** | `None`                | `"human"` or `"rgb_array"` (Gymnasium's renderer)|
    | `hardcore`       | **bool**        | `False`               | BipedalWalker's obstacle course                  |
    | `expert`         | **str**         | `"bipedal_walker_ppo"`| the shipped expert's file name                   |
    | `expert_control` | **float**       | `0.0`                 | probability (per episode) that the expert's      |
    |                  |                 |                       | action is executed instead of the agent's        |

    ## Version History

    * v0: Initial version (BipedalWalker-v3, Gymnasium 1.x).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["human", "rgb_array"], "render_fps": 50}

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        hardcore: bool = False,
        expert: str = EXPERT_NAME,
        expert_control: float = 0.0,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if not 0.0 <= float(expert_control) <= 1.0:
            raise ValueError(f"expert_control is a probability in [0, 1], got {expert_control!r}")
        self.render_mode = render_mode
        self.hardcore = bool(hardcore)
        self.expert_control = float(expert_control)
        self.expert = walker_expert(expert)
        self._walker = self._make_walker()
        self.observation_space = self._walker.observation_space
        self.action_space = self._walker.action_space
        self.dt = 1.0 / self.metadata["render_fps"]  # BipedalWalker's FPS = 50: 20 ms per step
        self.dt_ms = 1000.0 * self.dt
        self._expert_action = np.zeros(self.action_space.shape, dtype=np.float32)
        self._expert_in_control = False
        self._reached_end = False

    def _make_walker(self) -> gym.Env:
        if box2d_walker is None:
            raise gym.error.DependencyNotInstalled(
                'spikegym/BipedalWalker-v0 needs Box2D: pip install "spikegym[box2d]"'
            )
        return gym.make("BipedalWalker-v3", render_mode=self.render_mode, hardcore=self.hardcore)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:  # a fresh physics world: the same seed gives the same episode
            self._walker.close()
            self._walker = self._make_walker()
        obs, info = self._walker.reset(seed=seed)  # seed s: BipedalWalker-v3's own episode of seed s
        self._expert_in_control = bool(self.np_random.random() < self.expert_control)
        self._expert_action = self.expert(obs)
        return obs, {**info, "expert_action": self._expert_action.copy(), "expert_in_control": self._expert_in_control}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = np.asarray(action, dtype=np.float32)
        if action.shape != self.action_space.shape:
            raise ValueError(
                f"action must have shape {self.action_space.shape} (hip and knee motors), got {action.shape}"
            )
        if not np.all(np.isfinite(action)):
            raise ValueError(f"action must be finite, got {action}")
        target = self._expert_action
        executed = target if self._expert_in_control else np.clip(action, -1.0, 1.0)
        obs, reward, terminated, truncated, info = self._walker.step(executed)
        self._expert_action = self.expert(obs)
        info = {
            **info,
            "target": target.copy(),
            "expert_action": self._expert_action.copy(),
            "expert_in_control": self._expert_in_control,
        }
        if terminated or truncated:
            walker = self._walker.unwrapped
            info["is_success"] = bool(not walker.game_over and walker.hull.position[0] >= _terrain_end(walker))
        return obs, float(reward), bool(terminated), bool(truncated), info

    def render(self) -> np.ndarray | None:
        return self._walker.render()

    def close(self) -> None:
        self._walker.close()


def _terrain_end(walker: Any) -> float:
    """The hull x where BipedalWalker-v3 ends an episode as finished (its own criterion)."""
    return (box2d_walker.TERRAIN_LENGTH - box2d_walker.TERRAIN_GRASS) * box2d_walker.TERRAIN_STEP
