"""spikegym/ArmForwardModel-v0 against the two-link arm's mechanics and the paper's torque input (Fig. 4)."""

import math

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers spikegym/*)
from envs.arm import TwoLinkArm
from envs.forward_model import rk4_step

FRICTIONLESS = TwoLinkArm(b11=0.0, b22=0.0, b12=0.0, b21=0.0)


def run(arm, x0, seconds, torque=(0.0, 0.0), dt=1e-3):
    x, u, states = np.array([x0], dtype=float), np.array([torque], dtype=float), [np.array(x0, dtype=float)]
    for _ in range(round(seconds / dt)):
        x = rk4_step(arm, x, u, dt)
        states.append(x[0])
    return np.array(states)


def test_without_friction_and_torque_the_energy_is_conserved():
    states = run(FRICTIONLESS, (1.2, -0.8, 0.0, 2.0), seconds=3.0)
    energy = FRICTIONLESS.energy(states)
    assert np.ptp(states[:, 0]) > 1.0  # it swings
    assert np.abs(energy - energy[0]).max() < 1e-7 * abs(energy[0])


def test_friction_dissipates_at_the_rate_w_b_w():
    arm = TwoLinkArm()
    states = run(arm, (1.2, -0.8, 0.0, 2.0), seconds=3.0)
    energy = arm.energy(states)
    assert np.all(np.diff(energy) < 0)
    w = 0.5 * (states[1:, 2:] + states[:-1, 2:])
    b = np.array([[0.7, 0.08], [0.08, 0.8]])
    dissipated = np.cumsum(1e-3 * np.einsum("ti,ij,tj->t", w, b, w))  # midpoint rule
    np.testing.assert_allclose(energy[0] - energy[1:], dissipated, rtol=1e-3)
    assert np.abs(states[-1, 2:]).max() < 0.5  # it comes to rest near hanging down


def test_hanging_still_stays_still_and_a_raised_arm_falls():
    np.testing.assert_array_equal(run(TwoLinkArm(), (0, 0, 0, 0), seconds=0.5), 0.0)
    falling = run(TwoLinkArm(), (math.pi / 2, 0, 0, 0), seconds=0.05)
    assert falling[-1, 2] < -0.5 and falling[-1, 0] < math.pi / 2


def test_a_torque_equal_to_gravity_holds_the_arm():
    arm = TwoLinkArm()
    q = np.array([[0.6, 0.4]])
    x = np.concatenate([q, np.zeros((1, 2))], axis=1)
    np.testing.assert_allclose(arm.derivative(x, arm.gravity(q)), 0.0, atol=1e-12)
    gravity = arm.gravity(q)[0]
    g = 9.81
    assert gravity[1] == pytest.approx(1.1 * 0.16 * g * math.sin(1.0))
    assert gravity[0] == pytest.approx((1.4 * 0.11 + 1.1 * 0.31) * g * math.sin(0.6) + gravity[1])


def test_small_swings_have_the_linearised_frequencies():
    arm = FRICTIONLESS
    m11, m12, m22 = arm.mass_matrix(np.zeros(2))
    mass = np.array([[m11, m12], [m12, m22]])
    stiffness = arm.g * np.array([[1.4 * 0.11 + 1.1 * 0.31 + 1.1 * 0.16, 1.1 * 0.16], [1.1 * 0.16, 1.1 * 0.16]])
    omega2, modes = np.linalg.eig(np.linalg.solve(mass, stiffness))
    for k in range(2):
        mode = 1e-3 * modes[:, k] / np.abs(modes[:, k]).max()
        states = run(arm, (*mode, 0, 0), seconds=3.0)
        crossings = np.flatnonzero((states[:-1, 0] < 0) & (states[1:, 0] >= 0))
        period_s = np.diff(crossings).mean() * 1e-3
        assert period_s == pytest.approx(2 * math.pi / math.sqrt(omega2[k]), rel=5e-3)


def test_torque_fades_to_zero_between_pi_half_and_three_quarter_pi_in_the_pushing_direction():
    arm = TwoLinkArm()
    u = np.array([2.0, -3.0])
    angles = {0.0: (1.0, 1.0), math.pi / 2: (1.0, 1.0), 5 * math.pi / 8: (0.5, 1.0), 3 * math.pi / 4: (0.0, 1.0)}
    for angle, (outwards, backwards) in angles.items():
        q = np.array([angle, -angle])  # joint 1 pushed further (u > 0), joint 2 pushed further (u < 0)
        np.testing.assert_allclose(arm.effective_torque(q, u), outwards * u, atol=1e-12)
        np.testing.assert_allclose(arm.effective_torque(q, -u), -backwards * u, atol=1e-12)


def test_torques_are_noise_and_heights_interpolated_linearly_and_continuous_across_trials():
    env = gym.make("spikegym/ArmForwardModel-v0", trials_per_episode=3)
    observations = [env.reset(seed=2)[0]]
    for _ in range(2999):
        observations.append(env.step(np.zeros(4))[0])
    torque = np.array(observations, dtype=np.float64) / 0.02
    amplitude = 1.0 / 0.3
    assert np.abs(torque).max() <= 2 * amplitude + 1e-4 and np.abs(torque).max() > amplitude
    step = np.abs(np.diff(torque, axis=0)).max()
    assert step <= 2 * amplitude / 50 + 2 * amplitude / 1000 + 1e-4  # no jumps, trial boundaries included
    bends = np.flatnonzero(np.abs(np.diff(torque, 2, axis=0)).max(axis=1) > 1e-4) + 1
    assert set(bends) <= set(range(0, 3000, 50))  # straight between the 50-ms noise points


def test_the_state_carries_over_between_trials_and_actions_are_in_network_units():
    env = gym.make("spikegym/ArmForwardModel-v0", trials_per_episode=2).unwrapped
    env.reset(seed=0)
    for _ in range(1000):
        _, _, _, _, info = env.step(np.zeros(4))
    assert np.abs(info["state"]).max() > 0.05 and not info["clamped"]
    np.testing.assert_allclose(info["target"], (info["state"] * [0.4, 0.4, 0.05, 0.05]).astype(np.float32))
    np.testing.assert_allclose(env._task.prediction(info["target"]), info["state"], rtol=1e-6)
