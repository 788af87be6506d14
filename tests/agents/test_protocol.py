"""Spiking agents plug into stable-baselines3's tools exactly like PPO does."""

import gymnasium as gym
import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import envs  # noqa: F401
from agents import PolicyPredictor, make_agent
from tests.conftest import SHORT_DNMS


def test_evaluate_policy_scores_a_miconi_agent():
    env = Monitor(gym.make("spikegym/DNMS-v0", **SHORT_DNMS))
    agent = make_agent("miconi", env, seeds=[0]).eval()
    assert isinstance(agent, PolicyPredictor)
    rewards, lengths = evaluate_policy(agent, env, n_eval_episodes=4, deterministic=True, return_episode_rewards=True)
    assert lengths == [100] * 4
    assert all(-2.0 <= r <= 0.0 for r in rewards)


def test_single_env_predict_returns_an_unbatched_action_in_the_space():
    env = gym.make("spikegym/DNMS-v0")
    agent = make_agent("miconi", env, seeds=[0])
    obs, _ = env.reset(seed=0)
    action, state = agent.predict(obs, episode_start=np.array([True]))
    assert action.shape == (1,) and env.action_space.contains(action) and state is None


def test_the_env_step_is_found_for_every_kind_of_env():
    from gymnasium.vector import AutoresetMode

    from agents import env_dt_ms

    kwargs = {
        "dt_ms": 2.0,
        "timing": {"stimulus1": 200, "delay1": 200, "stimulus2": 200, "delay2": 200, "response": 200},
    }
    single = gym.make("spikegym/DNMS-v0", **kwargs)
    native = gym.make_vec("spikegym/DNMS-v0", num_envs=2, vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec(
        "spikegym/DNMS-v0",
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        **kwargs,
    )
    assert env_dt_ms(single) == env_dt_ms(native) == env_dt_ms(sync) == 2.0
    assert make_agent("miconi", sync, seeds=[0, 1]).substeps == 2  # 1-ms network steps per 2-ms env step


def test_a_non_finite_reward_is_refused_by_every_agent():
    env = gym.make("spikegym/DNMS-v0")
    agent = make_agent("miconi", env, seeds=[0])
    agent.predict(np.zeros(2, np.float32))
    import pytest

    with pytest.raises(ValueError, match="NaN or inf"):
        agent.observe(float("nan"), False, False, {})
