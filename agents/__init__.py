"""spikegym agents: one protocol (``agents.base.Agent``), a shared core (``agents.core``), a module per rule.

>>> import gymnasium as gym, envs
>>> from agents import make_agent
>>> env = gym.make("spikegym/DNMS-v0")
>>> agent = make_agent("miconi", env, seeds=[0])
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import torch

from agents.base import Agent, PolicyPredictor, transition_info

# name -> (module:class, module:config class). Imported lazily so that one rule's import cost or
# optional dependency never touches the others.
AGENTS: dict[str, tuple[str, str]] = {
    "miconi": ("agents.miconi:MiconiAgent", "agents.miconi:MiconiConfig"),
    "dastdp": ("agents.dastdp:DASTDPAgent", "agents.dastdp:DASTDPConfig"),
    "rstdp": ("agents.rstdp:RSTDPAgent", "agents.rstdp:RSTDPConfig"),
    "goal": ("agents.goal:GOALAgent", "agents.goal:GOALConfig"),
    "goal-clone": ("agents.goal_clone:GOALCloneAgent", "agents.goal_clone:GOALCloneConfig"),
    "follow": ("agents.follow:FollowAgent", "agents.follow:FollowConfig"),
}


def _load(path: str) -> Any:
    module, attr = path.split(":")
    return getattr(importlib.import_module(module), attr)


def env_dt_ms(env: gym.Env | gym.vector.VectorEnv) -> float | None:
    """The env's step in ms, or None if it does not say: a single or native vector env has ``dt_ms``;
    Gymnasium's Sync/AsyncVectorEnv are asked for their first copy's."""
    if hasattr(env, "dt_ms"):
        return float(env.dt_ms)
    if hasattr(env, "unwrapped") and hasattr(env.unwrapped, "dt_ms"):
        return float(env.unwrapped.dt_ms)
    if isinstance(env, gym.vector.VectorEnv):
        try:
            return float(env.get_attr("dt_ms")[0])
        except AttributeError:
            return None
    return None


def set_threads(n: int) -> None:
    """Use ``n`` CPU threads: torch's intra-op threads and numba's (the batched DA-STDP kernel spreads its
    networks over them), numba's capped at the cores it found."""
    torch.set_num_threads(n)
    try:
        import numba
    except ImportError:  # pragma: no cover - numba ships with spikegym
        return
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def agent_classes(name: str) -> tuple[type[Agent], Any]:
    """The agent class and its config class for a registered name."""
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; available agents: {sorted(AGENTS)}")
    agent_path, config_path = AGENTS[name]
    return _load(agent_path), _load(config_path)


def make_agent(
    name: str,
    env: gym.Env | gym.vector.VectorEnv,
    *,
    seeds: Sequence[int] = (0,),
    device: torch.device | str = "cpu",
    config: Mapping[str, Any] | None = None,
) -> Agent:
    """Builds agent ``name`` sized from ``env``'s spaces, with one network per seed.

    ``config`` holds the rule's parameters (optionally ``preset``: a named preset applied first).
    ``env`` may be a single env or a vector env; the env's ``dt_ms`` (when it has one) sets the number
    of network steps per env step.
    """
    agent_cls, config_cls = agent_classes(name)
    if isinstance(env, gym.vector.VectorEnv):
        obs_space, act_space = env.single_observation_space, env.single_action_space
        if len(seeds) != env.num_envs:
            raise ValueError(f"{len(seeds)} seeds for {env.num_envs} env copies: give one seed per copy")
    else:
        obs_space, act_space = env.observation_space, env.action_space
    return agent_cls(
        obs_space,
        act_space,
        config_cls.from_dict(config or {}),
        seeds=seeds,
        device=device,
        env_dt_ms=env_dt_ms(env),
    )


__all__ = ["AGENTS", "Agent", "PolicyPredictor", "agent_classes", "env_dt_ms", "make_agent", "transition_info"]
