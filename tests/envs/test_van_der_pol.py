"""spikegym/VanDerPol-v0 against its equations and the paper's input protocols (Gilra & Gerstner 2017, Fig. 2)."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers spikegym/*)
from envs.forward_model import rk4_step
from envs.van_der_pol import VanDerPol, VanDerPolEnv


def run_free(system, x0, seconds, dt=1e-3):
    x, states = np.array([x0], dtype=float), []
    for _ in range(round(seconds / dt)):
        x = rk4_step(system, x, np.zeros((1, 2)), dt)
        states.append(x[0])
    return np.array(states)


def test_derivative_is_the_scaled_van_der_pol_equation_plus_input_over_tau_s():
    rng = np.random.default_rng(0)
    x, u = rng.normal(size=(5, 2)), rng.uniform(-0.2, 0.2, size=(5, 2))
    dx = VanDerPol().derivative(x, u)
    np.testing.assert_allclose(dx[:, 0], x[:, 1] / 0.125 + u[:, 0] / 0.02)
    np.testing.assert_allclose(dx[:, 1], (2.0 * (1 - x[:, 0] ** 2) * x[:, 1] - x[:, 0]) / 0.125 + u[:, 1] / 0.02)


def test_without_input_it_settles_on_the_limit_cycle_of_amplitude_2():
    states = run_free(VanDerPol(), (0.5, 0.0), seconds=12.0)[6000:]
    assert states[:, 0].max() == pytest.approx(2.0199, abs=2e-3)  # mu = 2: amplitude 2.02
    assert states[:, 0].min() == pytest.approx(-2.0199, abs=2e-3)
    upward = np.flatnonzero((states[:-1, 0] < 0) & (states[1:, 0] >= 0))
    period_s = np.diff(upward).mean() * 1e-3
    assert period_s == pytest.approx(7.63 * 0.125, rel=3e-3)  # the mu = 2 period, 7.63 tau_dyn
    # From inside and from outside the cycle alike; the origin is an (unstable) fixed point.
    assert np.abs(run_free(VanDerPol(), (4.0, 0.0), seconds=6.0)[3000:, 0]).max() == pytest.approx(2.02, abs=0.01)
    np.testing.assert_array_equal(run_free(VanDerPol(), (0.0, 0.0), seconds=0.1), 0.0)


def test_rk4_at_1_ms_agrees_with_half_steps():
    coarse = run_free(VanDerPol(), (0.5, 0.5), seconds=1.0)
    fine = run_free(VanDerPol(), (0.5, 0.5), seconds=1.0, dt=5e-4)[1::2]
    assert np.abs(coarse - fine).max() < 1e-6


def test_training_input_is_noise_every_50_ms_plus_a_trial_height_and_the_noise_stops_in_the_clamp():
    env = VanDerPolEnv(trials_per_episode=2)
    observations = [env.reset(seed=4)[0]]
    for _ in range(2 * 4000 - 1):
        observations.append(env.step(np.zeros(2))[0])
    u = np.array(observations, dtype=np.float64).reshape(2, 4000, 2)
    for trial in u:
        clamp = trial[3500:]
        assert np.ptp(clamp, axis=0).max() == 0.0  # only the height is left: u = 0.2 h / 2
        height = clamp[0] / 0.1 * np.array([3.0, 1.0])
        assert np.linalg.norm(height) == pytest.approx(1.0, abs=1e-6)  # a unit vector, u1 a third
        noise = 2.0 * (trial[:3500] - clamp[0])
        segments = noise.reshape(70, 50, 2)
        assert np.ptp(segments, axis=1).max() < 1e-7  # constant for 50 ms
        assert np.abs(noise[:, 0]).max() <= 0.2 / 3 + 1e-6 and np.abs(noise[:, 1]).max() <= 0.2 + 1e-6
        assert np.abs(np.diff(segments[:, 0, 1])).min() > 0  # a new value every 50 ms
    assert not np.allclose(u[0, 3500], u[1, 3500])  # a new height per trial


def test_clamp_relaxes_the_reference_to_zero_and_the_next_trial_starts_there():
    env = gym.make("spikegym/VanDerPol-v0", trials_per_episode=2).unwrapped
    env.reset(seed=0)
    infos = [env.step(np.zeros(2))[4] for _ in range(4000)]
    assert np.abs(infos[3499]["state"]).max() > 0.1
    assert np.abs(infos[3520]["state"]).max() < 1e-8
    # The info of step k describes step k + 1: the clamp is steps 3500-3999.
    assert infos[3499]["clamped"] and not infos[3498]["clamped"] and not infos[-1]["clamped"]


def test_test_input_ramps_then_leaves_a_height_and_carries_the_state_between_trials():
    env = VanDerPolEnv(input_protocol="test", trials_per_episode=2)
    observations, infos = [env.reset(seed=1)[0]], []
    for _ in range(2 * 4000):
        obs, _, _, _, info = env.step(np.zeros(2))
        observations.append(obs)
        infos.append(info)
    u = np.array(observations[:-1], dtype=np.float64).reshape(2, 4000, 2)
    for trial in u:
        height = trial[100]
        pulse = trial[0] - height
        assert np.ptp(trial[:100], axis=0).max() == 0.0 and np.ptp(trial[100:], axis=0).max() == 0.0
        assert np.linalg.norm(pulse) == pytest.approx(0.1, abs=1e-6)
        assert abs(height[0]) <= 0.1 / 3 + 1e-7 and abs(height[1]) <= 0.1 + 1e-7
    assert not any(info["clamped"] for info in infos)
    assert np.abs(infos[3999]["state"]).max() > 0.1  # no clamp: trial 2 starts where trial 1 ended


def test_observations_stay_in_the_input_ensembles_range():
    env = gym.make("spikegym/VanDerPol-v0", trials_per_episode=2)
    obs, _ = env.reset(seed=9)
    for _ in range(8000):
        assert env.observation_space.contains(obs)
        obs = env.step(np.zeros(2))[0]
