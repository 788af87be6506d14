"""spikegym/ArmReach-v0: the reach task, its analytic expert, the infos a learner reads, and the vector twin."""

import math
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers spikegym/*)
from envs.arm import TwoLinkArm
from envs.arm_reach import (
    MAX_TORQUE,
    REACH_DIRECTIONS,
    REACH_RADII,
    ArmReachEnv,
    ArmReachExpert,
    ArmReachVectorEnv,
    hand_position,
    inverse_kinematics,
)

ENV_ID = "spikegym/ArmReach-v0"
N_STEPS = 200  # 2 s at 10 ms


@pytest.fixture
def all_gymnasium_warnings(monkeypatch):
    """Record every warning, including Gymnasium logger warnings a user's log level would hide."""
    monkeypatch.setattr(gym.logger, "min_level", gym.logger.WARN)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def play(env, policy, **reset_kwargs):
    """One episode; returns the observations (reset's first), rewards, infos (reset's first), terminated."""
    obs, info = env.reset(**reset_kwargs)
    observations, rewards, infos = [obs], [], [info]
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs, info))
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        if terminated or truncated:
            return np.array(observations), np.array(rewards), infos, terminated


def first_episodes(vec, policy, seed):
    """Run every copy of a SAME_STEP vector env to the end of its first episode: (success, t_ms) per copy."""
    obs, info = vec.reset(seed=seed)
    n = vec.num_envs
    done, success, t_ms = np.zeros(n, bool), np.zeros(n, bool), np.full(n, np.nan)
    while not done.all():
        obs, _, terminated, truncated, info = vec.step(policy(obs))
        ended = (terminated | truncated) & ~done
        if ended.any():
            final = info["final_info"]
            success[ended] = final["is_success"][ended]
            t_ms[ended] = final["t_ms"][ended]
            done |= ended
    return success, t_ms


# ---------------------------------------------------------------- checkers


def test_gymnasium_check_env_passes_without_warnings(all_gymnasium_warnings):
    env = gym.make(ENV_ID)
    check_env(env.unwrapped)  # re-makes the env in every render mode too
    env.close()
    assert [str(w.message) for w in all_gymnasium_warnings] == []


def test_stable_baselines3_check_env_passes_without_warnings(all_gymnasium_warnings):
    env = gym.make(ENV_ID, expert_control=0.5, start_noise=0.1)
    sb3_check_env(env.unwrapped, warn=True)
    env.close()
    assert [str(w.message) for w in all_gymnasium_warnings] == []


# ---------------------------------------------------------------- kinematics, observation, targets


def test_inverse_kinematics_inverts_the_hand_position_with_the_elbow_flexed_forwards():
    arm = TwoLinkArm()
    q = np.random.default_rng(0).uniform([-1.5, 0.05], [1.5, 3.0], size=(500, 2))
    hand = hand_position(arm, q)
    np.testing.assert_allclose(inverse_kinematics(arm, hand), q, atol=1e-9)
    np.testing.assert_allclose(hand_position(arm, np.zeros(2)), [0.0, -0.58])
    np.testing.assert_allclose(hand_position(arm, np.array([math.pi / 2, 0.0])), [0.58, 0.0], atol=1e-12)


def test_the_observation_describes_the_arm_and_the_target():
    env = ArmReachEnv(start_noise=0.3)
    obs, info = env.reset(seed=3)
    for _ in range(30):
        obs, _, _, _, info = env.step(np.array([0.9, -0.4]))
    assert obs.dtype == np.float32 and obs.shape == (12,) and env.observation_space.contains(obs)
    q1, q2, w1, w2 = info["state"]
    hand = hand_position(env.arm, info["state"][:2])
    expected = [math.cos(q1), math.sin(q1), math.cos(q2), math.sin(q2), w1 / 20, w2 / 20, *hand, *info["goal"]]
    expected += list(info["goal"] - hand)
    np.testing.assert_allclose(obs, expected, atol=1e-6)
    np.testing.assert_array_equal(info["hand"], hand)
    assert info["distance"] == pytest.approx(np.linalg.norm(info["goal"] - hand))
    assert np.isfinite(env.observation_space.low).all() and np.isfinite(env.observation_space.high).all()


def test_targets_fill_the_annular_sector_in_front_and_above_the_hanging_hand():
    env = ArmReachEnv()
    goals = np.array([env.reset(seed=seed)[1]["goal"] for seed in range(300)])
    radius = np.hypot(goals[:, 0], goals[:, 1])
    direction = np.arctan2(goals[:, 0], -goals[:, 1])  # from the downward vertical
    assert radius.min() >= REACH_RADII[0] and radius.max() <= REACH_RADII[1]
    assert direction.min() >= REACH_DIRECTIONS[0] and direction.max() <= REACH_DIRECTIONS[1]
    assert np.ptp(radius) > 0.2 and np.ptp(direction) > 1.1  # the whole sector, not a corner
    assert (goals[:, 1] > 0).any()  # some above the shoulder
    start_hand = np.array([0.0, -0.58])
    assert np.linalg.norm(goals - start_hand, axis=1).min() > 0.28
    assert (goals[:, 1] - start_hand[1]).min() > 0.1  # every reach lifts the hand


def test_the_arm_starts_hanging_at_rest_or_perturbed_with_start_noise():
    _, info = ArmReachEnv().reset(seed=0)
    np.testing.assert_array_equal(info["state"], 0.0)
    starts = np.array([ArmReachEnv(start_noise=0.2).reset(seed=s)[1]["state"] for s in range(50)])
    assert np.abs(starts[:, :2]).max() <= 0.2 and np.abs(starts[:, :2]).min() > 0.0
    np.testing.assert_array_equal(starts[:, 2:], 0.0)
    # The noise is drawn after the target: the same seed gives the same target either way.
    np.testing.assert_array_equal(ArmReachEnv(start_noise=0.2).reset(seed=4)[1]["goal"], _goal(ArmReachEnv(), 4))


def _goal(env, seed):
    return env.reset(seed=seed)[1]["goal"]


def test_same_seed_gives_the_same_episodes():
    def episodes(seed):
        env = ArmReachEnv(start_noise=0.1, expert_control=0.5)
        rng = np.random.default_rng(seed)
        out = [play(env, lambda obs, info: rng.uniform(-1, 1, 2), seed=seed)]
        out += [play(env, lambda obs, info: rng.uniform(-1, 1, 2)) for _ in range(2)]
        return out

    first, again = episodes(5), episodes(5)
    for (obs_1, rew_1, info_1, _), (obs_2, rew_2, info_2, _) in zip(first, again, strict=True):
        np.testing.assert_array_equal(obs_1, obs_2)
        np.testing.assert_array_equal(rew_1, rew_2)
        assert data_equivalence(info_1, info_2, exact=True)
    assert not np.array_equal(_goal(ArmReachEnv(), 5), _goal(ArmReachEnv(), 6))


# ---------------------------------------------------------------- the expert


def test_the_expert_reaches_and_holds_at_least_95_percent_of_100_random_targets():
    vec = ArmReachVectorEnv(num_envs=100, expert_control=1.0)
    success, t_ms = first_episodes(vec, lambda obs: np.zeros((100, 2), np.float32), seed=1000)
    assert success.mean() >= 0.95
    assert np.nanmean(np.where(success, t_ms, np.nan)) < 1300.0  # about 950 ms with the 200-ms hold


def test_the_expert_never_saturates_and_holds_still_at_the_target():
    env = ArmReachEnv(expert_control=1.0)
    _, _, infos, terminated = play(env, lambda obs, info: np.zeros(2), seed=7)
    assert terminated and infos[-1]["is_success"]
    assert max(np.abs(info["target"]).max() for info in infos[1:]) < 0.95
    # At rest in the goal posture the expert's torque is gravity's: the arm stays put.
    expert, arm = ArmReachExpert(), TwoLinkArm()
    for seed in range(20):
        goal = _goal(env, seed)
        q_star = inverse_kinematics(arm, goal)
        obs = np.concatenate([[np.cos(q_star[0]), np.sin(q_star[0]), np.cos(q_star[1]), np.sin(q_star[1])], [0, 0]])
        obs = np.concatenate([obs, goal, goal, [0, 0]]).astype(np.float32)
        torque = MAX_TORQUE * expert(obs).astype(np.float64)
        x = np.concatenate([q_star, [0.0, 0.0]])
        np.testing.assert_allclose(arm.derivative(x, torque)[2:], 0.0, atol=2e-3)  # float32 observation


def test_the_expert_takes_one_observation_or_a_batch():
    env = ArmReachEnv()
    observations, _, _, _ = play(env, lambda obs, info: np.array([0.5, 0.2]), seed=2)
    batch = env.expert(observations)
    assert batch.shape == (len(observations), 2) and batch.dtype == np.float32
    assert np.abs(batch).max() <= 1.0
    for obs, action in zip(observations[::25], batch[::25], strict=True):
        np.testing.assert_array_equal(env.expert(obs), action)
    assert env.expert(observations.reshape(-1, 3, 12)[:2]).shape == (2, 3, 2)
    with pytest.raises(ValueError, match=r"shape \(12,\) or \(batch, 12\).*got shape \(11,\)"):
        env.expert(np.zeros(11))


def test_zero_torque_and_random_agents_fail():
    vec = ArmReachVectorEnv(num_envs=50)
    zero, _ = first_episodes(vec, lambda obs: np.zeros((50, 2), np.float32), seed=0)
    rng = np.random.default_rng(0)
    random, _ = first_episodes(vec, lambda obs: rng.uniform(-1, 1, (50, 2)).astype(np.float32), seed=0)
    assert zero.mean() == 0.0 and random.mean() <= 0.05


# ---------------------------------------------------------------- infos, reward, episode end


def test_info_target_is_the_experts_action_on_the_observation_acted_on():
    env = ArmReachEnv()
    rng = np.random.default_rng(1)
    observations, _, infos, _ = play(env, lambda obs, info: rng.uniform(-1.2, 1.2, 2), seed=1)
    assert "target" not in infos[0]
    np.testing.assert_array_equal(infos[0]["expert_action"], env.expert(observations[0]))
    for t in range(1, len(infos)):
        target = infos[t]["target"]
        assert target.dtype == np.float32 and target.shape == (2,)
        np.testing.assert_array_equal(target, env.expert(observations[t - 1]))
        np.testing.assert_array_equal(target, infos[t - 1]["expert_action"])
        np.testing.assert_array_equal(infos[t]["expert_action"], env.expert(observations[t]))
        assert infos[t]["expert_in_control"] is False
    assert infos[-1]["is_success"] is False and all("is_success" not in info for info in infos[:-1])


def test_the_reward_is_minus_the_distance_minus_the_effort():
    env = ArmReachEnv(effort_cost=0.5)
    env.reset(seed=0)
    action = np.array([3.0, -0.25])  # the first entry clips to 1
    _, reward, _, _, info = env.step(action)
    assert reward == pytest.approx(-info["distance"] - 0.5 * (1.0 + 0.0625) / 2, rel=1e-12)
    assert info["distance"] > 0.28 and info["t_ms"] == 10.0


def test_success_needs_the_hand_held_within_tolerance_for_the_hold_time():
    env = ArmReachEnv(expert_control=1.0, success_bonus=2.0, hold_ms=150.0)
    _, rewards, infos, terminated = play(env, lambda obs, info: np.zeros(2), seed=11)
    distances = np.array([info["distance"] for info in infos[1:]])
    assert terminated and infos[-1]["success"] and infos[-1]["is_success"]
    assert (distances[-15:] <= 0.03).all() and distances[-16] > 0.03
    assert not any(info["success"] for info in infos[:-1])
    effort = np.mean(np.square(infos[-1]["target"].astype(np.float64)))
    assert rewards[-1] == pytest.approx(2.0 - distances[-1] - 0.01 * effort)
    with pytest.raises(RuntimeError, match=r"reset\(\)"):
        env.step(np.zeros(2))


def test_an_agent_that_does_nothing_is_truncated_after_2_s():
    env = ArmReachEnv()
    _, rewards, infos, terminated = play(env, lambda obs, info: np.zeros(2), seed=0)
    assert not terminated and len(rewards) == N_STEPS and infos[-1]["t_ms"] == 2000.0
    assert infos[-1]["is_success"] is False and infos[-1]["success"] is False
    np.testing.assert_allclose(rewards, [-info["distance"] for info in infos[1:]])


def test_expert_control_1_executes_the_expert_and_ignores_the_agent():
    demo = ArmReachEnv(expert_control=1.0)
    rng = np.random.default_rng(0)
    demo_run = play(demo, lambda obs, info: rng.uniform(-1, 1, 2), seed=21)
    follow = ArmReachEnv(expert_control=0.0)
    follow_run = play(follow, lambda obs, info: info["expert_action"], seed=21)  # the same target
    np.testing.assert_array_equal(demo_run[0], follow_run[0])
    np.testing.assert_array_equal(demo_run[1], follow_run[1])
    assert demo_run[3] and follow_run[3] and demo_run[2][-1]["is_success"]
    assert all(info["expert_in_control"] for info in demo_run[2])


def test_expert_control_is_the_share_of_demonstration_episodes():
    env = ArmReachEnv(expert_control=0.3)
    flags = [env.reset(seed=0)[1]["expert_in_control"]] + [env.reset()[1]["expert_in_control"] for _ in range(299)]
    assert 60 <= sum(flags) <= 120  # 90 expected


def test_other_control_steps_keep_the_time_in_ms():
    env = ArmReachEnv(dt_ms=20.0, expert_control=1.0)
    _, rewards, infos, terminated = play(env, lambda obs, info: np.zeros(2), seed=3)
    assert env.dt == 0.02 and terminated and infos[-1]["t_ms"] == 20.0 * len(rewards)
    assert ArmReachEnv(dt_ms=2.5)._task.n_substeps == 3


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (np.zeros(3), r"must have shape \(2,\).*got shape \(3,\)"),
        (np.zeros((1, 2)), r"must have shape \(2,\).*got shape \(1, 2\)"),
        (0.5, r"must have shape \(2,\).*got shape \(\)"),
        (np.array([np.nan, 0.0]), r"NaN/inf"),
        (np.array([0.0, -np.inf]), r"NaN/inf"),
        ("up", r"must be numeric with shape \(2,\)"),
    ],
)
def test_bad_actions_raise_errors_naming_the_expected_shape(action, match):
    env = ArmReachEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_out_of_range_actions_are_clipped():
    one, two = ArmReachEnv(), ArmReachEnv()
    one.reset(seed=0)
    two.reset(seed=0)
    for _ in range(5):
        np.testing.assert_array_equal(one.step(np.array([7.0, -3.0]))[0], two.step(np.array([1.0, -1.0]))[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dt_ms": 0.0}, r"dt_ms must be a finite number > 0"),
        ({"dt_ms": math.nan}, r"dt_ms must be a finite number"),
        ({"episode_ms": 1005.0}, r"episode_ms must be a multiple of dt_ms=10"),
        ({"hold_ms": 15.0}, r"hold_ms must be a multiple of dt_ms=10"),
        ({"hold_ms": 3000.0}, r"hold_ms must not exceed episode_ms=2000"),
        ({"tolerance_m": 0.0}, r"tolerance_m must be a finite number > 0"),
        ({"effort_cost": -0.1}, r"effort_cost must be a finite number >= 0"),
        ({"success_bonus": math.inf}, r"success_bonus must be a finite number"),
        ({"start_noise": 1.0}, r"start_noise must be a finite number >= 0 and <= 0.5"),
        ({"expert_control": 1.5}, r"expert_control must be a finite number >= 0 and <= 1"),
        ({"expert_control": True}, r"expert_control must be a finite number"),
        ({"render_mode": "ascii"}, r"render_mode must be None or one of \['human', 'rgb_array'\]"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ArmReachEnv(**kwargs)
    if "render_mode" not in kwargs:
        with pytest.raises(ValueError, match=match):
            ArmReachVectorEnv(num_envs=2, **kwargs)


def test_bad_vector_arguments_and_reset_options_raise_clear_errors():
    with pytest.raises(ValueError, match="num_envs must be a positive integer"):
        ArmReachVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="autoreset_mode must be an AutoresetMode"):
        ArmReachVectorEnv(num_envs=2, autoreset_mode="Sometimes")
    with pytest.raises(ValueError, match=r"must have shape \(2, 2\)"):
        vec = ArmReachVectorEnv(num_envs=2)
        vec.reset(seed=0)
        vec.step(np.zeros(2))
    with pytest.raises(ValueError, match="takes no reset options"):
        ArmReachEnv().reset(options={"goal": (0.3, 0.0)})
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        ArmReachEnv().step(np.zeros(2))


# ---------------------------------------------------------------- pickling and rendering


def test_a_pickled_env_continues_the_same_episode():
    env = ArmReachEnv(render_mode="rgb_array", expert_control=0.5)
    env.reset(seed=8)
    for _ in range(20):
        env.step(np.array([0.3, 0.1]))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(20):
        a, b = env.step(np.array([-0.2, 0.6])), clone.step(np.array([-0.2, 0.6]))
        assert data_equivalence(a, b, exact=True)
    np.testing.assert_array_equal(env.render(), clone.render())
    env.close()
    clone.close()


def test_rgb_array_frame_shows_the_arm_target_and_traces():
    env = gym.make(ENV_ID, render_mode="rgb_array", expert_control=1.0)
    env.reset(seed=0)
    start = env.render()
    for _ in range(60):
        env.step(np.zeros(2))
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (600, 960, 3)
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 50  # text, arm, target, traces: not blank
    assert (frame != start).any(axis=2).mean() > 0.01  # the arm has moved and the traces grown
    env.close()
    env.close()


def test_human_mode_draws_in_reset_and_step_and_render_returns_none():
    env = ArmReachEnv(render_mode="human")
    env.reset(seed=0)
    for _ in range(6):
        env.step(np.array([0.4, 0.2]))
    assert env.render() is None
    env.close()
    env.close()


def test_render_without_a_render_mode_warns():
    env = ArmReachEnv()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode='rgb_array'"):
        assert env.render() is None


# ---------------------------------------------------------------- the native vector env


def assert_same_transition(native, sync):
    names = ("obs", "info") if len(sync) == 2 else ("obs", "reward", "terminated", "truncated", "info")
    for name, a, b in zip(names, native, sync, strict=True):
        assert data_equivalence(a, b, exact=True), f"{name} differs:\nnative {a}\nsync   {b}"


def play_both(native, sync, rng, n_steps, **reset_kwargs):
    assert_same_transition(native.reset(**reset_kwargs), sync.reset(**reset_kwargs))
    ended = 0
    for _ in range(n_steps):
        actions = rng.uniform(-1.2, 1.2, size=(native.num_envs, 2)).astype(np.float32)
        native_step, sync_step = native.step(actions), sync.step(actions)
        assert_same_transition(native_step, sync_step)
        ended += int(np.sum(native_step[2] | native_step[3]))
    return ended


@pytest.mark.parametrize("autoreset_mode", [AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP])
def test_vector_env_matches_sync_vector_env_step_for_step(autoreset_mode):
    kwargs = {"num_envs": 3, "expert_control": 0.5, "start_noise": 0.1, "episode_ms": 1500.0}
    native = gym.make_vec(ENV_ID, vectorization_mode="vector_entry_point", autoreset_mode=autoreset_mode, **kwargs)
    sync = gym.make_vec(ENV_ID, vectorization_mode="sync", vector_kwargs={"autoreset_mode": autoreset_mode}, **kwargs)
    assert isinstance(native.unwrapped, ArmReachVectorEnv)
    assert native.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"] == autoreset_mode
    assert native.single_observation_space == sync.single_observation_space
    assert native.observation_space == sync.observation_space and native.action_space == sync.action_space

    rng = np.random.default_rng(0)
    assert play_both(native, sync, rng, 330, seed=7) >= 6  # successes (about 100 steps) and truncations (150)
    assert play_both(native, sync, rng, 160) >= 3  # unseeded reset: the generators carry on
    play_both(native, sync, rng, 20, seed=[1, None, 3])
    native.close()
    sync.close()


def test_vector_env_disabled_autoreset_matches_sync_with_reset_masks():
    kwargs = {"num_envs": 2, "episode_ms": 200.0}
    native = ArmReachVectorEnv(autoreset_mode=AutoresetMode.DISABLED, **kwargs)
    sync = gym.make_vec(ENV_ID, vectorization_mode="sync", vector_kwargs={"autoreset_mode": "Disabled"}, **kwargs)
    rng = np.random.default_rng(1)
    play_both(native, sync, rng, 20, seed=0)  # both episodes are truncated on step 20
    with pytest.raises(RuntimeError, match="reset_mask"):
        native.step(np.zeros((2, 2)))
    mask = np.array([False, True])
    assert_same_transition(native.reset(options={"reset_mask": mask}), sync.reset(options={"reset_mask": mask}))


def test_make_vec_uses_the_native_vector_env_with_same_step_autoreset_by_default():
    vec = gym.make_vec(ENV_ID, num_envs=4)
    assert isinstance(vec.unwrapped, ArmReachVectorEnv)
    assert vec.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    obs, info = vec.reset(seed=0)
    assert obs.shape == (4, 12) and obs.dtype == np.float32 and vec.observation_space.contains(obs)
    assert info["expert_action"].shape == (4, 2) and "target" not in info
    vec.close()
    vec.close()
