"""Legenstein's biofeedback experimenter: a zero-integral reward response to one neuron's spikes."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.biofeedback import reward_kernel


def play(env, spike_steps, steps, n=5):
    env.reset(seed=0)
    rewards, infos = [], []
    for t in range(steps):
        action = np.zeros(n, np.int8)
        action[0] = t in spike_steps
        action[1:] = t % 100 == 0  # the sample fires at 10 Hz
        _, reward, _, _, info = env.step(action)
        rewards.append(reward)
        infos.append(info)
    return np.array(rewards), infos


def test_one_spike_gives_the_delayed_positive_then_negative_response_of_zero_integral():
    env = gym.make("spikegym/Biofeedback-v0", n_watched=5, duration_s=12)
    rewards, _ = play(env, {100}, 12_000)
    assert np.all(rewards[:300] == 0)  # 200 ms delay after the spike at 100 ms
    assert rewards.max() > 0 and 300 < rewards.argmax() <= 100 + 200 + 200  # near tau+ (the slow lobe pulls it earlier)
    assert rewards.min() < 0 and rewards.argmin() > rewards.argmax()
    assert abs(rewards.sum() * 1e-3) < 1e-3 * 0.005  # zero integral, up to the cut after 10 tau-
    # each lobe has area 0.005; they overlap, so the net positive part is smaller
    assert 0.003 < rewards[rewards > 0].sum() * 1e-3 < 0.005


def test_responses_add_and_the_ring_buffer_wraps():
    env = gym.make("spikegym/Biofeedback-v0", n_watched=5, duration_s=25)
    rewards, _ = play(env, {100, 100 + 10_150}, 25_000)
    kernel = reward_kernel(np.arange(0.0, 10_200.0), 200, 200, 1000, 0.005)  # cut after 10 tau-, as the env
    expected = np.zeros(25_000)
    for spike in (100, 10_250):
        expected[spike : spike + len(kernel)] += kernel[: 25_000 - spike]
    np.testing.assert_allclose(rewards, expected, atol=1e-12)


def test_rates_are_reported_per_window():
    env = gym.make("spikegym/Biofeedback-v0", n_watched=5, duration_s=20, report_every_s=10)
    _, infos = play(env, set(range(0, 20_000, 250)), 20_000)
    reports = [i for i in infos if "reinforced_rate_hz" in i]
    assert len(reports) == 2
    assert reports[0]["reinforced_rate_hz"] == pytest.approx(4.0) and reports[0]["population_rate_hz"] == pytest.approx(
        10.0
    )


def test_errors_and_rendering():
    with pytest.raises(ValueError, match="n_watched"):
        gym.make("spikegym/Biofeedback-v0", n_watched=1)
    env = gym.make("spikegym/Biofeedback-v0", n_watched=3, duration_s=30, report_every_s=1, render_mode="rgb_array")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="watched neurons"):
        env.step(np.zeros(4, np.int8))
    rng = np.random.default_rng(0)
    for t in range(5000):
        env.step((rng.random(3) < [0.004 + t * 1e-6, 0.005, 0.005]).astype(np.int8))
    frame = env.render()
    assert frame.shape == (480, 960, 3) and len(np.unique(frame.reshape(-1, 3), axis=0)) > 10
