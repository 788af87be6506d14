"""The one evaluation protocol: stable-baselines3's ``evaluate_policy`` on a task's fixed test episodes.

Spiking agents implement SB3's ``PolicyPredictor`` (``predict(obs, state, episode_start, deterministic)``), so
the very function that scores PPO scores them: deterministic actions, plasticity off, each episode's return read
from a ``Monitor`` wrapper. The test episodes are seeded and fixed per task, and disjoint from training:

* a task with its own test seeds (``TaskProfile.eval_seeds``: the walker's 20 seeds, the reaching targets) plays
  those;
* a task whose seed *is* the task (``TaskProfile.task_from_seed``: one trajectory to store and recall) is tested
  on the trained seed itself;
* every other task plays seeds ``EVAL_SEED_BASE``, ``EVAL_SEED_BASE + 1``, ...: training uses small seeds.

Every network of a batched agent (or every model) plays the same episodes, one env copy per network, so the
networks' scores are comparable episode by episode. Since each test episode is seeded on its own, a trial task
whose conditions alternate from episode to episode is tested with them drawn from the seed instead
(``TaskProfile.eval_env_kwargs``), or every test episode would be the alternation's first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from agents.base import Agent, PolicyPredictor
from train.tasks import TaskProfile, task_profile

EVAL_SEED_BASE = 1_000_000
"""Evaluation and probe envs are seeded from here on: disjoint from any training seed."""

PROTOCOL = "stable_baselines3.common.evaluation.evaluate_policy, deterministic actions, fixed test seeds"


class SeededResets(gym.Wrapper):
    """Every ``reset()`` without a seed takes the next of ``seeds``: the k-th episode is the one of seed
    ``seeds[k]``, whoever plays it (after the list, resets are unseeded)."""

    def __init__(self, env: gym.Env, seeds: Sequence[int]) -> None:
        super().__init__(env)
        self.seeds, self.episode = [int(s) for s in seeds], 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        if seed is None and self.episode < len(self.seeds):
            seed = self.seeds[self.episode]
        self.episode += 1
        return self.env.reset(seed=seed, options=options)


def evaluation_seeds(task: str, episodes: int, trained_seed: int | None = None) -> list[int]:
    """The seeds of the first ``episodes`` test episodes of ``task`` (see the module docstring);
    ``trained_seed`` is the network's training seed, which task-from-seed tasks are tested on."""
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    profile = task_profile(task)
    if profile.task_from_seed:
        if trained_seed is None:
            raise ValueError(f"{task} is tested on the seed it was trained on: give trained_seed")
        return [int(trained_seed)] * episodes
    if profile.eval_seeds is not None:
        if episodes > len(profile.eval_seeds):
            raise ValueError(f"{task} has {len(profile.eval_seeds)} test episodes; asked for {episodes}")
        return [int(s) for s in profile.eval_seeds[:episodes]]
    return list(range(EVAL_SEED_BASE, EVAL_SEED_BASE + episodes))


def evaluation_env_kwargs(task: str, env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The env arguments of ``task``'s test episodes: the run's, with the task's evaluation arguments over them
    (FOLLOW's test input, the closed-loop tasks with the expert out of control)."""
    return {**env_kwargs, **task_profile(task).eval_env_kwargs}


def evaluate_predictor(
    predictor: PolicyPredictor,
    task: str,
    seeds: Sequence[Sequence[int]],
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    labels: Sequence[int] | None = None,
    profile: TaskProfile | None = None,
    wrapper: Callable[[gym.Env], gym.Env] | None = None,
) -> list[dict[str, Any]]:
    """Scores ``predictor`` with SB3's ``evaluate_policy``: copy i of ``task`` plays the seeded episodes
    ``seeds[i]`` (one copy per network of a batched agent; one for an SB3 model), seen through ``wrapper`` if the
    predictor was trained through one.

    Returns one row per episode: ``seed`` (``labels[i]``, the network's seed; default its index i), ``episode``,
    ``episode_seed``, ``return``, ``length`` and the task's episode metrics from the last step's info. A spiking
    agent is switched to plasticity off for the evaluation and left exactly as it was (weights, state, generators).
    """
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    profile = profile or task_profile(task)
    if labels is not None and len(labels) != len(seeds):
        raise ValueError(f"{len(labels)} labels for {len(seeds)} networks")
    episodes = {len(s) for s in seeds}
    if len(episodes) != 1:
        raise ValueError(f"every network plays the same number of test episodes, got {sorted(episodes)}")
    n_episodes = episodes.pop()
    kwargs = evaluation_env_kwargs(task, env_kwargs or {})

    def copy(i: int) -> Callable[[], gym.Env]:
        def make() -> gym.Env:
            env = SeededResets(gym.make(task, **kwargs), seeds[i])
            return Monitor(wrapper(env) if wrapper is not None else env)

        return make

    venv = DummyVecEnv([copy(i) for i in range(len(seeds))])
    rows: list[dict[str, Any]] = []

    def record(local: dict[str, Any], _: dict[str, Any]) -> None:
        i, info = local["i"], local["info"]
        if local["done"] and "episode" in info:
            k = int(local["episode_counts"][i])
            row = {
                "seed": int(labels[i]) if labels is not None else i,
                "episode": k,
                "episode_seed": int(seeds[i][k]),
                "return": float(info["episode"]["r"]),
                "length": int(info["episode"]["l"]),
            }
            for key in profile.episode_metrics:
                if key in info:
                    value = info[key]
                    row[key] = value.item() if isinstance(value, np.generic) else value
            rows.append(row)

    agent = predictor if isinstance(predictor, Agent) else None
    saved = agent.state_dict() if agent is not None else None
    was_training = agent.training if agent is not None else False
    if agent is not None:
        agent.eval()
    try:
        evaluate_policy(
            predictor, venv, n_eval_episodes=n_episodes * len(seeds), deterministic=True, callback=record, warn=False
        )
    finally:
        venv.close()
        if agent is not None:
            agent.load_state_dict(saved)
            agent.train(was_training)
    order = {label: i for i, label in enumerate(labels if labels is not None else range(len(seeds)))}
    rows.sort(key=lambda r: (order[r["seed"]], r["episode"]))
    return rows


def score_summary(rows: list[dict[str, Any]], profile: TaskProfile) -> dict[str, Any]:
    """The protocol's figures: the mean test return per network (by seed) and across networks, and the
    per-network means of the task's numeric episode metrics."""
    per_seed = []
    for seed in dict.fromkeys(r["seed"] for r in rows):
        mine = [r for r in rows if r["seed"] == seed]
        entry: dict[str, Any] = {"seed": seed, "mean_return": round(float(np.mean([r["return"] for r in mine])), 4)}
        for key in profile.episode_metrics:
            values = [r[key] for r in mine if isinstance(r.get(key), (bool, int, float, np.number))]
            if values and len(values) == len(mine):
                entry[f"mean_{key}"] = round(float(np.mean(values)), 4)
        per_seed.append(entry)
    means = [e["mean_return"] for e in per_seed]
    return {
        "protocol": PROTOCOL,
        "episodes_per_seed": len(rows) // max(1, len(per_seed)),
        "test_seeds": sorted({r["episode_seed"] for r in rows}),
        "mean_return": round(float(np.mean(means)), 4),
        "std_return": round(float(np.std(means)), 4),
        "per_seed": per_seed,
    }
