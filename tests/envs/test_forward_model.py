"""What FOLLOW's two forward-model tasks share: time convention, reward, seeding, errors, pickling, rendering,
and the native vector envs equal to SyncVectorEnv step for step."""

import math
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode

import envs  # noqa: F401  (registers spikegym/*)
from envs.arm import ArmForwardModelEnv
from envs.forward_model import OUTPUT_SYNAPSE_MS
from envs.van_der_pol import VanDerPolEnv

IDS = ["spikegym/VanDerPol-v0", "spikegym/ArmForwardModel-v0"]
CLASSES = {"spikegym/VanDerPol-v0": VanDerPolEnv, "spikegym/ArmForwardModel-v0": ArmForwardModelEnv}
SHORT = {  # short trials that still cross trial boundaries and clamps
    "spikegym/VanDerPol-v0": {"trial_ms": 200.0, "clamp_ms": 50.0, "trials_per_episode": 2},
    "spikegym/ArmForwardModel-v0": {"trial_ms": 100.0, "clamp_ms": 20.0, "trials_per_episode": 2},
}


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


@pytest.mark.parametrize("env_id", IDS)
def test_reward_is_minus_the_squared_error_against_the_state_reached_in_network_units(env_id):
    env = gym.make(env_id, **SHORT[env_id]).unwrapped
    n_steps = 2 * round(SHORT[env_id]["trial_ms"])
    actions = np.random.default_rng(0).uniform(-0.5, 0.5, size=(n_steps, env.action_space.shape[0]))
    observations, rewards, infos = play(env, actions, seed=3)
    assert len(rewards) == n_steps and observations.shape == (n_steps + 1, env.observation_space.shape[0])
    states = np.array([info["state"] for info in infos])
    targets = np.array([info["target"] for info in infos])
    factors, scale = env._task.system.state_factors, env.output_scale
    np.testing.assert_allclose(targets, (factors * states / scale).astype(np.float32))
    expected = np.mean((scale * actions - factors * states[1:]) ** 2, axis=1)
    np.testing.assert_allclose(rewards, -expected, rtol=1e-9)
    assert infos[-1]["mse"] == pytest.approx(-rewards.mean())
    assert [info["t_ms"] for info in infos] == [float(t) for t in range(n_steps + 1)]
    assert np.all(states[0] == 0.0) and infos[0]["target"].dtype == np.float32
    assert np.all(observations[-1] == 0.0)  # no input after the last step


@pytest.mark.parametrize("env_id", IDS)
def test_clamped_flags_the_last_steps_of_each_trial(env_id):
    env = gym.make(env_id, **SHORT[env_id])
    trial, clamp = round(SHORT[env_id]["trial_ms"]), round(SHORT[env_id]["clamp_ms"])
    _, _, infos = play(env, np.zeros((2 * trial, env.action_space.shape[0])), seed=0)
    clamped = np.array([info["clamped"] for info in infos[:-1]])
    expected = (np.arange(2 * trial) % trial) >= trial - clamp
    np.testing.assert_array_equal(clamped, expected)
    # The reference relaxes to 0 with a 1-ms time constant in the clamp.
    assert np.abs(infos[trial]["state"]).max() < 1e-6


@pytest.mark.parametrize("env_id", IDS)
def test_a_perfect_prediction_has_zero_error(env_id):
    env = gym.make(env_id, **SHORT[env_id]).unwrapped
    env.reset(seed=1)
    # Predict from a copy of the env: the action is the target the step will reach.
    oracle = pickle.loads(pickle.dumps(env))
    terminated = False
    while not terminated:
        target = oracle.step(np.zeros(env.action_space.shape))[4]["target"]
        assert np.abs(target).max() <= 1.0
        _, reward, terminated, _, info = env.step(target)
        assert reward == pytest.approx(0.0, abs=1e-12)
    assert info["mse"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("env_id", IDS)
def test_filtered_mse_scores_against_the_reference_through_the_output_synapse(env_id):
    env = gym.make(env_id, **SHORT[env_id]).unwrapped
    n_steps = 2 * round(SHORT[env_id]["trial_ms"])
    actions = np.random.default_rng(1).uniform(-0.5, 0.5, size=(n_steps, env.action_space.shape[0]))
    _, _, infos = play(env, actions, seed=2)
    factors, scale = env._task.system.state_factors, env.output_scale
    a = math.exp(-env.dt_ms / OUTPUT_SYNAPSE_MS)
    filtered, errors = np.zeros_like(infos[0]["state"]), []
    for action, info in zip(actions, infos[1:], strict=True):
        filtered = a * filtered + (1 - a) * info["state"]
        errors.append(np.mean((scale * action - factors * filtered) ** 2))
    assert infos[-1]["filtered_mse"] == pytest.approx(np.mean(errors), rel=1e-9)
    assert all("filtered_mse" not in info for info in infos[:-1])

    # Predicting that filtered reference scores 0 there and pays the synapse's lag on the raw mse.
    env.reset(seed=2)
    oracle = pickle.loads(pickle.dumps(env))
    filtered, terminated = 0.0, False
    while not terminated:
        target = oracle.step(np.zeros(env.action_space.shape))[4]["target"].astype(np.float64)
        filtered = a * filtered + (1 - a) * target
        _, _, terminated, _, info = env.step(filtered)
    assert info["filtered_mse"] == pytest.approx(0.0, abs=1e-10)
    assert info["mse"] > 1e3 * info["filtered_mse"]


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_episode_and_other_seeds_differ(env_id):
    actions = np.zeros((300, gym.spec(env_id).make().action_space.shape[0]))
    first = play(gym.make(env_id), actions, seed=5)
    again = play(gym.make(env_id), actions, seed=5)
    other = play(gym.make(env_id), actions, seed=6)
    assert data_equivalence(first, again, exact=True)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("env_id", IDS)
def test_pickled_env_continues_the_same_episode(env_id):
    env = gym.make(env_id, **SHORT[env_id]).unwrapped
    env.reset(seed=2)
    action = np.full(env.action_space.shape, 0.1, dtype=np.float32)
    for _ in range(env._task.n_steps // 2 + 7):  # into the second trial
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(env._task.n_steps // 2 - 7):
        assert data_equivalence(env.step(action), clone.step(action), exact=True)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "match"),
    [
        ("spikegym/VanDerPol-v0", {"input_protocol": "ramp"}, "input_protocol must be one of"),
        ("spikegym/VanDerPol-v0", {"trial_ms": 4010.0}, "multiple of the 50-ms noise interval"),
        ("spikegym/VanDerPol-v0", {"clamp_ms": 4000.0}, "clamp_ms must be shorter"),
        ("spikegym/VanDerPol-v0", {"clamp_ms": 0.5, "dt_ms": 2.0}, "not a positive multiple of dt_ms"),
        ("spikegym/VanDerPol-v0", {"output_scale": 0.0}, "output_scale must be a finite number > 0"),
        ("spikegym/ArmForwardModel-v0", {"trials_per_episode": 0}, "trials_per_episode must be an integer"),
        ("spikegym/ArmForwardModel-v0", {"dt_ms": -1.0}, "dt_ms must be a finite number > 0"),
        ("spikegym/ArmForwardModel-v0", {"render_mode": "ascii"}, "render_mode must be None or one of"),
    ],
)
def test_bad_arguments_raise_errors_that_name_the_fix(env_id, kwargs, match):
    with pytest.raises(ValueError, match=match):
        CLASSES[env_id](**kwargs)


@pytest.mark.parametrize("env_id", IDS)
def test_bad_actions_and_misuse_raise_clear_errors(env_id):
    env = gym.make(env_id, trials_per_episode=1).unwrapped
    n = env.action_space.shape[0]
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        env.step(np.zeros(n))
    with pytest.raises(ValueError, match="no reset options"):
        env.reset(options={"protocol": "test"})
    env.reset(seed=0)
    with pytest.raises(ValueError, match=rf"shape \({n},\)"):
        env.step(np.zeros(n + 1))
    with pytest.raises(ValueError, match="NaN/inf"):
        env.step(np.full(n, np.nan))
    with pytest.raises(ValueError, match="must be numeric"):
        env.step("up")
    env.step(np.full(n, 3.0))  # clipped to 1, accepted
    for _ in range(env._task.n_steps - 1):
        env.step(np.zeros(n))
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(np.zeros(n))


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("render_mode", ["rgb_array", "human"])
def test_rendering_draws_the_trial(env_id, render_mode):
    env = gym.make(env_id, render_mode=render_mode, **SHORT[env_id])
    _, _, infos = play(env, [], seed=0)
    for _ in range(120):
        env.step(np.clip(infos[-1]["target"] + 0.05, -1, 1))
    frame = env.render()
    if render_mode == "rgb_array":
        assert frame.dtype == np.uint8 and frame.shape == (600, 960, 3)
        assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 50
    else:
        assert frame is None
    env.close()
    env.close()


def assert_same(native, sync):
    for a, b in zip(native, sync, strict=True):
        assert data_equivalence(a, b, exact=True), f"native {a}\nsync   {b}"


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("autoreset_mode", [AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP])
def test_vector_env_matches_sync_vector_env_step_for_step(env_id, autoreset_mode):
    kwargs = {"num_envs": 3, **SHORT[env_id]}
    native = gym.make_vec(env_id, vectorization_mode="vector_entry_point", autoreset_mode=autoreset_mode, **kwargs)
    sync = gym.make_vec(env_id, vectorization_mode="sync", vector_kwargs={"autoreset_mode": autoreset_mode}, **kwargs)
    assert type(native.unwrapped).__name__.endswith("VectorEnv") and native.metadata["autoreset_mode"] == autoreset_mode
    assert native.single_action_space == sync.single_action_space
    assert native.observation_space == sync.observation_space
    n_steps = 2 * round(SHORT[env_id]["trial_ms"])
    rng = np.random.default_rng(0)
    for reset_kwargs, steps in (
        ({"seed": 7}, n_steps + n_steps // 2),
        ({}, n_steps // 3),
        ({"seed": [1, None, 3]}, 80),
    ):
        assert_same(native.reset(**reset_kwargs), sync.reset(**reset_kwargs))
        for _ in range(steps):
            actions = rng.uniform(-1.2, 1.2, size=native.action_space.shape).astype(np.float32)
            assert_same(native.step(actions), sync.step(actions))
    native.close()
    sync.close()


@pytest.mark.parametrize("env_id", IDS)
def test_vector_env_disabled_autoreset_matches_sync_with_reset_masks(env_id):
    kwargs = {"num_envs": 2, "trial_ms": 100.0, "clamp_ms": 0.0}
    native = gym.make_vec(env_id, vectorization_mode="vector_entry_point", autoreset_mode="Disabled", **kwargs)
    sync = gym.make_vec(env_id, vectorization_mode="sync", vector_kwargs={"autoreset_mode": "Disabled"}, **kwargs)
    assert_same(native.reset(seed=0), sync.reset(seed=0))
    actions = np.zeros(native.action_space.shape, dtype=np.float32)
    for _ in range(100):
        assert_same(native.step(actions), sync.step(actions))
    with pytest.raises(RuntimeError, match="reset_mask"):
        native.step(actions)
    mask = np.array([True, False])
    assert_same(native.reset(options={"reset_mask": mask}), sync.reset(options={"reset_mask": mask}))


@pytest.mark.parametrize("env_id", IDS)
def test_vector_env_rejects_bad_arguments_and_actions(env_id):
    with pytest.raises(ValueError, match="does not render"):
        gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", render_mode="rgb_array")
    with pytest.raises(ValueError, match="autoreset_mode must be"):
        gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", autoreset_mode="Sometimes")
    native = gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point")
    with pytest.raises(RuntimeError, match="reset"):
        native.step(np.zeros(native.action_space.shape))
    native.reset(seed=0)
    with pytest.raises(ValueError, match="NaN/inf"):
        native.step(np.full(native.action_space.shape, np.nan))
    with pytest.raises(ValueError, match="shape"):
        native.step(np.zeros((3, native.action_space.shape[1])))
