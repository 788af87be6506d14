"""spikegym/BipedalWalker-v0: BipedalWalker-v3 with the shipped PPO expert's action in the info."""

import warnings

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("Box2D", reason="needs the box2d extra")

import envs  # noqa: F401  (registers spikegym/*)
from envs.bipedal_walker import BipedalWalkerEnv, walker_expert
from envs.experts import MLPPolicy, expert_path

ID = "spikegym/BipedalWalker-v0"


def test_passes_gymnasium_and_sb3_checkers_without_warnings():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make(ID).unwrapped)
        sb3_check_env(gym.make(ID).unwrapped)
    assert [str(w.message) for w in caught] == []


def rollout(env, seed, steps, action=None):
    obs, info = env.reset(seed=seed)
    observations, infos = [obs], [info]
    for _ in range(steps):
        obs, _, terminated, truncated, info = env.step(info["expert_action"] if action is None else action)
        observations.append(obs)
        infos.append(info)
        if terminated or truncated:
            break
    return np.array(observations), infos


def test_the_same_seed_gives_the_same_episode_even_on_a_reused_env():
    env = gym.make(ID)
    first, _ = rollout(env, seed=5, steps=150)
    rollout(env, seed=6, steps=50)
    again, _ = rollout(env, seed=5, steps=150)
    np.testing.assert_array_equal(first, again)


def test_the_target_is_the_experts_action_for_the_observation_acted_on():
    env = gym.make(ID)
    observations, infos = rollout(env, seed=0, steps=60, action=np.zeros(4, dtype=np.float32))
    expert = walker_expert()
    for t in range(1, len(infos)):
        np.testing.assert_array_equal(infos[t]["target"], expert(observations[t - 1]))
        np.testing.assert_array_equal(infos[t]["expert_action"], expert(observations[t]))
        assert infos[t]["target"].dtype == np.float32 and infos[t]["target"].shape == (4,)


def test_expert_control_executes_the_expert_whatever_the_agent_does():
    driven, _ = rollout(gym.make(ID, expert_control=1.0), seed=2, steps=100, action=np.ones(4, dtype=np.float32))
    expert_run, _ = rollout(gym.make(ID), seed=2, steps=100)
    np.testing.assert_array_equal(driven, expert_run)
    with pytest.raises(ValueError, match="expert_control"):
        gym.make(ID, expert_control=1.5)


def test_bad_actions_raise_clear_errors():
    env = gym.make(ID).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([0, np.nan, 0, 0]))


def test_the_shipped_expert_loads_offline_and_walks():
    policy = MLPPolicy.load(expert_path("bipedal_walker_ppo"))
    assert (policy.obs_dim, policy.action_dim) == (24, 4)
    meta = policy.metadata
    assert meta["report_seeds"] == list(range(20)) and len(meta["report_returns"]) == 20
    assert meta["report_mean_return"] >= 250, "the expert must average >= 250 over seeds 0-19 (issue 6)"
    env = gym.make(ID)
    total, info = 0.0, env.reset(seed=0)[1]
    while True:
        _, reward, terminated, truncated, info = env.step(info["expert_action"])
        total += reward
        if terminated or truncated:
            break
    assert total == pytest.approx(meta["report_returns"][0], abs=0.01)  # the same episode as the report's
    assert info["is_success"]
    with pytest.raises(FileNotFoundError, match="shipped experts"):
        expert_path("no_such_expert")


def test_renders_gymnasiums_frames():
    env = gym.make(ID, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0
    assert isinstance(env.unwrapped, BipedalWalkerEnv)
