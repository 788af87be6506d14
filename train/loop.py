"""The one rollout loop: any agent, any task, single or vector env.

``rollout`` steps a Gymnasium vector env in SAME_STEP autoreset mode (a single env is wrapped as a
vector env of one), feeds each step's outcome to the agent, and returns one record per finished episode.
Evaluation, checkpoints and progress reporting hang off it as callbacks.

Blocks: where the env can say that its next K steps' observations and rewards are fixed whatever the agent
does (``lookahead_steps()``: the distal reward task, whose rewards come 1-3 s after the pairing that earns them;
Pavlovian conditioning, whose stimuli and rewards follow the experimenter's schedule), the loop hands the agent
up to ``BLOCK_STEPS`` of them at once (``agent.predict_block`` with ``env.scheduled(K)``, then
``env.step_block``). That is the same computation as K single steps, without K round trips through Python (an
agent with a compiled step runs the block in one call).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv

from agents.base import Agent, transition_info

BLOCK_STEPS = 1000
"""The most steps the loop hands the agent at once."""

EpisodeCallback = Callable[[list[dict[str, Any]]], bool | None]
"""Called with the episodes that just finished; returning False stops the rollout."""


@dataclass
class Rollout:
    """What a rollout produced."""

    episodes: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    """``agent.metrics()`` every ``sample_every`` steps: one row per network (step, seed, metrics)."""
    steps: int = 0
    wall_s: float = 0.0
    stopped_early: bool = False


def as_vector_env(env: gym.Env | VectorEnv) -> VectorEnv:
    """``env`` itself if it is a SAME_STEP vector env; a single env wrapped as a vector env of one."""
    if isinstance(env, VectorEnv):
        mode = env.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"the rollout loop needs a vector env with autoreset_mode=AutoresetMode.SAME_STEP, got {mode}: "
                'build it with gym.make_vec(..., vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})'
            )
        return env
    return SyncVectorEnv([lambda: env], autoreset_mode=AutoresetMode.SAME_STEP)


def rollout(
    env: gym.Env | VectorEnv,
    agent: Agent,
    episodes: int,
    *,
    seed: int | None = None,
    train: bool = True,
    deterministic: bool | None = None,
    reset_options: Sequence[Mapping[str, Any] | None] | None = None,
    metrics: Iterable[str] = (),
    callbacks: Sequence[EpisodeCallback] = (),
    record_steps: bool = False,
    sample_every: int = 0,
    blocks: bool = True,
    on_steps: Callable[[int], None] | None = None,
) -> Rollout:
    """Runs ``agent`` on ``env`` until every sub-env has finished ``episodes`` episodes.

    Args:
        env: a single env or a SAME_STEP vector env with one sub-env per network of the agent.
        agent: the agent; ``train`` switches its plasticity for this rollout.
        episodes: episodes per sub-env (= per network). Sub-envs whose episodes are shorter may run a
            few more; only the first ``episodes`` of each are recorded.
        seed: seeds the first reset (sub-env i gets seed + i).
        deterministic: passed to ``predict``; default ``not train`` (no exploration noise when evaluating).
        reset_options: with ``episodes`` entries, ``options`` for the reset of each episode (all sub-envs
            alike), e.g. a forced trial condition; the env is reset explicitly between episodes then.
        metrics: keys of the last step's info recorded in each episode's record.
        callbacks: called with each batch of finished episodes; returning False stops early.
        record_steps: keep every step's action, info target and observation in the records
            ("actions", "targets", "observations"), and the agent's hidden spikes where it has them ("hidden").
        sample_every: every this many env steps (and at the end), record ``agent.metrics()`` per network in
            ``samples``; 0 never.
        blocks: step in blocks where the env offers them (see the module docstring) and neither
            ``record_steps`` nor the agent (``needs_step_info``) needs every step's info; False: one step at a time.
        on_steps: called with the number of steps each sub-env has taken so far, after every step or block
            (progress within long episodes).
    """
    venv = as_vector_env(env)
    if venv.num_envs != agent.batch_size:
        raise ValueError(f"{venv.num_envs} env copies for an agent of {agent.batch_size} networks")
    deterministic = (not train) if deterministic is None else deterministic
    metrics = tuple(metrics)
    agent.train(train)
    n = venv.num_envs
    done_count = np.zeros(n, dtype=np.int64)
    returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    traces: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(n)]
    result = Rollout()
    t0 = time.perf_counter()

    def options_for(k: int) -> Mapping[str, Any] | None:
        return None if reset_options is None else reset_options[k]

    obs, _ = venv.reset(seed=seed, options=options_for(0))
    episode_start = np.ones(n, dtype=bool)
    step = 0

    def sample() -> None:
        values = agent.metrics()
        for i, s in enumerate(agent.seeds):
            result.samples.append({"step": step, "seed": s, **{k: float(v[i]) for k, v in values.items()}})

    blocks = (
        blocks
        and not record_steps
        and not getattr(agent, "needs_step_info", True)
        and hasattr(agent, "predict_block")
        and all(hasattr(venv, name) for name in ("lookahead_steps", "scheduled", "step_block"))
    )
    while (done_count < episodes).any():
        k = min(venv.lookahead_steps(), BLOCK_STEPS) if blocks else 0
        if sample_every:
            k = min(k, sample_every - step % sample_every)
        if k > 1:  # k steps whose observations and rewards are fixed already: the agent acts them in one call
            observations, rewards = venv.scheduled(k)
            action = agent.predict_block(
                observations, rewards, episode_start=episode_start, deterministic=deterministic
            )
            obs, reward, _ = venv.step_block(action)
            returns += reward.sum(axis=1)
            lengths += k
            result.steps += n * k
            step += k
            episode_start = np.zeros(n, dtype=bool)
            if sample_every and step % sample_every == 0:
                sample()
            if on_steps is not None:
                on_steps(step)
            continue
        action, _ = agent.predict(obs, episode_start=episode_start, deterministic=deterministic)
        seen = obs
        obs, reward, terminated, truncated, info = venv.step(action)
        done = terminated | truncated
        agent.observe(reward, terminated, truncated, info)
        returns += reward
        lengths += 1
        result.steps += n
        step += 1
        if sample_every and step % sample_every == 0:
            sample()
        if on_steps is not None:
            on_steps(step)
        if record_steps:
            step_info = transition_info(info, done, batched=True)
            target = step_info.get("target", np.full((n, 1), np.nan))
            hidden = agent.hidden_spikes()
            for i in range(n):
                step_record = (np.array(action[i]), np.array(target[i]), np.array(seen[i]))
                traces[i].append(step_record if hidden is None else (*step_record, hidden[i].copy()))
        episode_start = done
        if not done.any():
            continue
        step_info = transition_info(info, done, batched=True)
        finished = []
        for i in np.flatnonzero(done):
            if done_count[i] < episodes:
                record = {
                    "seed": agent.seeds[i],
                    "episode": int(done_count[i]),
                    "return": float(returns[i]),
                    "length": int(lengths[i]),
                }
                for key in metrics:
                    if key in step_info:
                        value = step_info[key][i]
                        record[key] = value.item() if isinstance(value, np.generic) else value
                if record_steps:
                    for k, name in enumerate(("actions", "targets", "observations", "hidden")[: len(traces[i][0])]):
                        record[name] = np.stack([step[k] for step in traces[i]])
                finished.append(record)
            done_count[i] += 1
            returns[i], lengths[i] = 0.0, 0
            traces[i] = []
        result.episodes.extend(finished)
        if reset_options is not None and (done_count < len(reset_options)).all() and done.all():
            obs, _ = venv.reset(options=options_for(int(done_count.min())))
        if finished and any(cb(finished) is False for cb in callbacks):
            result.stopped_early = True
            break
    if sample_every and step % sample_every:
        sample()  # the end state too
    result.wall_s = time.perf_counter() - t0
    return result
