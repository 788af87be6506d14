"""Izhikevich's distal reward experimenter: pairings within 20 ms are rewarded 1-3 s later."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401


def play(env, spikes: dict[int, tuple[int, int]], steps: int, seed: int = 0):
    env.reset(seed=seed)
    rewards, infos = [], []
    for t in range(steps):
        _, reward, _, _, info = env.step(np.array(spikes.get(t, (0, 0)), np.int8))
        rewards.append(reward)
        infos.append(info)
    return np.array(rewards), infos


def test_a_pairing_is_rewarded_once_between_1_and_3_s_later():
    env = gym.make("spikegym/DistalReward-v0", duration_s=5)
    rewards, infos = play(env, {100: (1, 0), 115: (0, 1)}, 5000)
    assert infos[115]["pairings"] == 1 and rewards.sum() == 1.0
    t_reward = int(np.flatnonzero(rewards)[0])
    assert 115 + 1001 <= t_reward <= 115 + 3000
    assert infos[-1]["rewards"] == 1 and infos[-1]["pending"] == 0


@pytest.mark.parametrize(
    "spikes",
    [
        {100: (1, 0), 121: (0, 1)},  # too late (20 ms window)
        {100: (0, 1), 110: (1, 0)},  # wrong order
        {100: (1, 1)},  # simultaneous: no pairing, as in daspnet.m
    ],
)
def test_no_reward_without_a_pairing(spikes):
    rewards, infos = play(gym.make("spikegym/DistalReward-v0", duration_s=4), spikes, 4000)
    assert infos[-1]["pairings"] == 0 and rewards.sum() == 0.0


def test_delays_are_seeded_and_spread():
    env = gym.make("spikegym/DistalReward-v0", duration_s=4)
    pairs = {k * 30: (1, 0) for k in range(20)} | {k * 30 + 5: (0, 1) for k in range(20)}
    first = np.flatnonzero(play(env, pairs, 4000, seed=1)[0])
    again = np.flatnonzero(play(env, pairs, 4000, seed=1)[0])
    assert (first == again).all() and len(first) > 5


def test_episode_length_errors_and_rendering():
    env = gym.make("spikegym/DistalReward-v0", duration_s=0.2, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (0,)
    with pytest.raises(ValueError, match="watched neurons"):
        env.step(np.array([1, 0, 0]))
    terminated = False
    for t in range(200):
        _, _, terminated, _, _ = env.step(np.array([t % 7 == 0, t % 7 == 3], np.int8))
    assert terminated
    frame = env.render()
    assert frame.shape == (360, 960, 3) and len(np.unique(frame.reshape(-1, 3), axis=0)) > 10
