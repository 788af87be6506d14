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
