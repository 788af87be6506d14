"""Behaviour of spikegym/Trajectory-v0 (GOAL's store and recall): target, clock, reward, seeding, vector twin."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode

import envs  # noqa: F401  (registers spikegym/*)
from envs.trajectory import FREQUENCIES, TrajectoryEnv, TrajectoryVectorEnv, clock_inputs, draw_trajectory

T = 150


def play(env, actions, **reset_kwargs):
    obs, info = env.reset(**reset_kwargs)
    observations, rewards, infos = [obs], [], [info]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        assert truncated is False
        if terminated:
            break
    return np.array(observations), np.array(rewards), infos


def test_target_is_a_sum_of_four_sines_zero_at_onset_divided_by_its_maximum():
    y = draw_trajectory(np.random.default_rng(3), n_outputs=3, n_steps=T, onset_steps=8)
    assert y.shape == (T, 3)
    np.testing.assert_array_equal(y[:8], 0.0)
    assert y.max() == pytest.approx(1.0)  # the maximum, not the absolute maximum
    # Re-derive from the same draws: amplitudes then phases, output by output.
    rng = np.random.default_rng(3)
    t = np.linspace(0, 2 * np.pi, T)
    raw = np.zeros((T, 3))
    for k in range(3):
        amplitudes, phases = rng.uniform(0, 1, 4), rng.uniform(0, 2 * np.pi, 4)
        raw[:, k] = sum(a * np.sin(f * t + p) for a, f, p in zip(amplitudes, FREQUENCIES, phases, strict=True))
    raw[:8] = 0
    np.testing.assert_allclose(y, raw / raw.max())


def test_clock_channels_take_turns_over_the_first_t_minus_1_steps():
    clock = clock_inputs(5, T)
    span = (T - 1) // 5  # 29: GOAL builds the clock one step shorter than the target
    assert clock.shape == (T, 5) and clock.dtype == np.float32
    for k in range(5):
        np.testing.assert_array_equal(np.flatnonzero(clock[:, k]), np.arange(k * span, (k + 1) * span))
    assert clock.sum(axis=1).max() == 1.0 and clock[5 * span :].sum() == 0


def test_episode_observations_rewards_and_infos():
    env = TrajectoryEnv()
    actions = np.full((T, 3), 0.1, dtype=np.float32)
    observations, rewards, infos = play(env, actions, seed=0)
    assert len(rewards) == T and observations.shape == (T + 1, 5)
    np.testing.assert_array_equal(observations[:T], clock_inputs(5, T))
    targets = np.array([info["target"] for info in infos[1:]])
    np.testing.assert_array_equal(targets, (env.trajectory / 3.0).astype(np.float32))
    assert infos[0]["target"].dtype == np.float32 and infos[0]["t_ms"] == 0.0
    assert [info["t_ms"] for info in infos[1:]] == [float(t) for t in range(T)]
    expected = np.mean((0.3 - 3.0 * targets.astype(np.float64)) ** 2, axis=1)
    np.testing.assert_allclose(rewards, -expected, rtol=1e-6)
    assert infos[-1]["mse"] == pytest.approx(-rewards.mean())
    assert all("mse" not in info for info in infos[:-1])


def test_an_output_equal_to_the_target_has_zero_error_and_the_episode_ends():
    env = TrajectoryEnv()
    _, info = env.reset(seed=1)
    targets = env.trajectory / 3.0
    for t in range(T):
        _, reward, terminated, _, info = env.step(targets[t].astype(np.float32))
        assert reward == pytest.approx(0.0, abs=1e-12)
    assert terminated and info["mse"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(3))


def test_same_seed_same_trajectory_and_unseeded_resets_repeat_it():
    env = TrajectoryEnv()
    env.reset(seed=4)
    first = env.trajectory.copy()
    env.reset()
    np.testing.assert_array_equal(env.trajectory, first)
    other = TrajectoryEnv()
    other.reset(seed=4)
    np.testing.assert_array_equal(other.trajectory, first)
    other.reset(seed=5)
    assert not np.array_equal(other.trajectory, first)
    fixed = TrajectoryEnv(trajectory_seed=4)
    fixed.reset(seed=99)
    np.testing.assert_array_equal(fixed.trajectory, first)


def test_sizes_are_arguments():
    env = TrajectoryEnv(n_outputs=2, n_inputs=3, n_steps=40, onset_steps=0, output_scale=2.0)
    observations, rewards, infos = play(env, np.zeros((40, 2)), seed=0)
    assert observations.shape == (41, 3) and len(rewards) == 40 and infos[1]["target"].shape == (2,)
    assert env.action_space.shape == (2,) and env.trajectory.max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_outputs": 0}, "n_outputs must be an integer >= 1"),
        ({"n_steps": 4, "n_inputs": 5}, "too short"),
        ({"onset_steps": 150}, "onset_steps must be < n_steps"),
        ({"dt_ms": 0.0}, "dt_ms must be a positive"),
        ({"output_scale": -1.0}, "output_scale must be a positive"),
        ({"render_mode": "ascii"}, "render_mode must be None or one of"),
    ],
)
def test_bad_arguments_raise_errors_that_name_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrajectoryEnv(**kwargs)


@pytest.mark.parametrize(
    ("action", "match"),
    [(np.zeros(2), r"shape \(3,\)"), (np.array([0, np.nan, 0]), "NaN/inf"), ("up", "must be numeric")],
)
def test_bad_actions_raise_clear_errors(action, match):
    env = TrajectoryEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_step_before_reset_and_reset_options_raise():
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        TrajectoryEnv().step(np.zeros(3))
    with pytest.raises(ValueError, match="no reset options"):
        TrajectoryEnv().reset(options={"condition": "A"})


def test_pickled_env_continues_the_same_episode():
    env = TrajectoryEnv()
    env.reset(seed=2)
    for _ in range(60):
        env.step(np.full(3, 0.2))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(T - 60):
        a, b = env.step(np.full(3, -0.3)), clone.step(np.full(3, -0.3))
        assert data_equivalence(a, b, exact=True)


@pytest.mark.parametrize("render_mode", ["rgb_array", "human"])
def test_rendering_draws_outputs_targets_and_the_3d_path(render_mode):
    env = gym.make("spikegym/Trajectory-v0", render_mode=render_mode)
    play(env, np.full((T, 3), 0.2), seed=0)
    frame = env.render()
    if render_mode == "rgb_array":
        assert frame.dtype == np.uint8 and frame.shape == (620, 960, 3)
        assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 50
    else:
        assert frame is None
    env.close()
    env.close()


def assert_same(native, sync):
    for a, b in zip(native, sync, strict=True):
        assert data_equivalence(a, b, exact=True), f"native {a}\nsync   {b}"


@pytest.mark.parametrize("autoreset_mode", [AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP])
def test_vector_env_matches_sync_vector_env_step_for_step(autoreset_mode):
    kwargs = {"num_envs": 3, "n_steps": 30}
    native = gym.make_vec(
        "spikegym/Trajectory-v0", vectorization_mode="vector_entry_point", autoreset_mode=autoreset_mode, **kwargs
    )
    sync = gym.make_vec(
        "spikegym/Trajectory-v0", vectorization_mode="sync", vector_kwargs={"autoreset_mode": autoreset_mode}, **kwargs
    )
    assert native.single_action_space == sync.single_action_space
    assert native.observation_space == sync.observation_space
    rng = np.random.default_rng(0)
    for reset_kwargs, steps in (({"seed": 7}, 75), ({}, 40), ({"seed": [1, None, 3]}, 35)):
        assert_same(native.reset(**reset_kwargs), sync.reset(**reset_kwargs))
        for _ in range(steps):
            actions = rng.uniform(-1.2, 1.2, size=(3, 3)).astype(np.float32)
            assert_same(native.step(actions), sync.step(actions))
    native.close()
    sync.close()


def test_vector_env_disabled_autoreset_needs_a_reset_mask():
    native = TrajectoryVectorEnv(num_envs=2, n_steps=10, autoreset_mode=AutoresetMode.DISABLED)
    native.reset(seed=0)
    for _ in range(10):
        native.step(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="reset_mask"):
        native.step(np.zeros((2, 3)))
    obs, _ = native.reset(options={"reset_mask": np.array([True, True])})
    assert obs.shape == (2, 5)
    frames = TrajectoryVectorEnv(num_envs=2, render_mode="rgb_array")
    frames.reset(seed=0)
    assert len(frames.render()) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_envs": 0}, "num_envs must be a positive integer"),
        ({"num_envs": 2.5}, "num_envs must be a positive integer"),
        ({"num_envs": 2, "autoreset_mode": "sometimes"}, "autoreset_mode must be an AutoresetMode"),
        ({"num_envs": 2, "render_mode": "human"}, "render one copy with gym.make"),
    ],
)
def test_vector_env_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrajectoryVectorEnv(**kwargs)
