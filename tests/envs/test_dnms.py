"""Behaviour of spikegym/DNMS-v0 (Miconi 2017): timing, reward, infos, condition order, errors, vector twin."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode

import envs  # noqa: F401  (registers spikegym/*)
from envs.dnms import CONDITIONS, DNMSEnv, DNMSVectorEnv
from envs.trial import TrialSchedule

TARGET = 0.98
N_STEPS = 1000  # 5 epochs x 200 ms at dt = 1 ms
EPOCH_STEPS = {
    "stimulus1": range(0, 200),
    "delay1": range(200, 400),
    "stimulus2": range(400, 600),
    "delay2": range(600, 800),
    "response": range(800, 1000),
}
CHANNEL = {"A": 0, "B": 1}


def run_trial(env, actions, **reset_kwargs):
    """Play one trial; returns the observations seen before each step (+ the final one), rewards, infos."""
    obs, info = env.reset(**reset_kwargs)
    observations, rewards, infos = [obs], [], [info]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(np.array([action], dtype=np.float32))
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        assert truncated is False
        if terminated:
            break
    return np.array(observations), np.array(rewards), infos


def expected_target(condition):
    return TARGET if condition[0] != condition[1] else -TARGET


# ---------------------------------------------------------------- trial structure


@pytest.mark.parametrize("condition", CONDITIONS)
def test_each_stimulus_is_on_exactly_during_its_epoch(condition):
    observations, rewards, _ = run_trial(DNMSEnv(), np.zeros(N_STEPS), options={"condition": condition})

    assert observations.shape == (N_STEPS + 1, 2) and observations.dtype == np.float32
    expected = np.zeros((N_STEPS + 1, 2), dtype=np.float32)  # row N_STEPS: the zeros after the last step
    expected[EPOCH_STEPS["stimulus1"], CHANNEL[condition[0]]] = 1.0
    expected[EPOCH_STEPS["stimulus2"], CHANNEL[condition[1]]] = 1.0
    np.testing.assert_array_equal(observations, expected)
    assert len(rewards) == N_STEPS


def test_info_describes_the_step_the_action_was_taken_in():
    _, _, infos = run_trial(DNMSEnv(), np.zeros(N_STEPS), options={"condition": "BA"})

    reset_info, step_infos = infos[0], infos[1:]
    assert reset_info == {"condition": "BA", "epoch": "stimulus1", "t_ms": 0.0}
    for epoch, steps in EPOCH_STEPS.items():
        assert {step_infos[t]["epoch"] for t in steps} == {epoch}
    assert [info["t_ms"] for info in step_infos] == [float(t) for t in range(N_STEPS)]
    assert {info["condition"] for info in step_infos} == {"BA"}


@pytest.mark.parametrize("condition", CONDITIONS)
def test_target_is_given_only_in_the_response_epoch(condition):
    _, _, infos = run_trial(DNMSEnv(), np.zeros(N_STEPS), options={"condition": condition})

    step_infos = infos[1:]
    for t, info in enumerate(step_infos):
        if t in EPOCH_STEPS["response"]:
            assert info["target"].shape == (1,) and info["target"].dtype == np.float32
            assert info["target"][0] == np.float32(expected_target(condition))
        else:
            assert "target" not in info
    assert "error" in step_infos[-1] and all("error" not in info for info in step_infos[:-1])


@pytest.mark.parametrize(("condition", "action"), [("AB", 0.5), ("BA", -1.0), ("AA", 0.5), ("BB", -0.98)])
def test_reward_is_zero_until_the_last_step_then_minus_the_mean_abs_error(condition, action):
    _, rewards, infos = run_trial(DNMSEnv(), np.full(N_STEPS, action), options={"condition": condition})

    np.testing.assert_array_equal(rewards[:-1], 0.0)
    error = abs(action - expected_target(condition))  # e.g. AB at 0.5: 0.98 - 0.5
    assert rewards[-1] == pytest.approx(-error, abs=1e-6)  # float32 actions and targets
    assert infos[-1]["error"] == -rewards[-1]


def test_an_output_equal_to_the_info_target_has_zero_error():
    actions = np.zeros(N_STEPS, dtype=np.float32)
    actions[800:] = DNMSEnv().reset(options={"condition": "BB"})[1].get("target", np.float32(-TARGET))
    _, rewards, infos = run_trial(DNMSEnv(), actions, options={"condition": "BB"})
    assert actions[-1] == infos[-1]["target"][0]
    assert rewards[-1] == 0.0


def test_error_averages_over_the_response_window_only_and_clips_actions():
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1.5, 1.5, size=N_STEPS)
    actions[:800] = 100.0  # outside the window: must not count

    _, rewards, _ = run_trial(DNMSEnv(), actions, options={"condition": "AB"})

    # The env computes in float64 from float32 actions and targets (the spaces' dtype).
    window = np.clip(actions[800:].astype(np.float32), -1.0, 1.0).astype(np.float64)
    assert rewards[-1] == pytest.approx(-np.mean(np.abs(window - float(np.float32(TARGET)))), abs=1e-12)


def test_episode_terminates_after_the_response_epoch_and_then_refuses_steps():
    env = DNMSEnv()
    env.reset(seed=0)
    for _ in range(N_STEPS - 1):
        assert env.step(np.zeros(1))[2] is False
    obs, _, terminated, truncated, _ = env.step(np.zeros(1))
    assert terminated is True and truncated is False
    np.testing.assert_array_equal(obs, np.zeros(2, dtype=np.float32))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(1))


# ---------------------------------------------------------------- conditions and seeding


def reset_conditions(env, n, **first_reset_kwargs):
    conditions = [env.reset(**first_reset_kwargs)[1]["condition"]]
    conditions += [env.reset()[1]["condition"] for _ in range(n - 1)]
    return conditions


def test_cycle_order_is_the_papers_and_a_seeded_reset_restarts_it():
    env = DNMSEnv()
    assert reset_conditions(env, 6, seed=1) == ["AA", "AB", "BA", "BB", "AA", "AB"]
    assert reset_conditions(env, 3, seed=2) == ["AA", "AB", "BA"]


def test_forcing_a_condition_does_not_advance_the_cycle():
    env = DNMSEnv()
    env.reset(seed=0)  # AA
    assert env.reset(options={"condition": "BB"})[1]["condition"] == "BB"
    assert env.reset()[1]["condition"] == "AB"


def test_random_order_is_uniform_over_conditions_and_reproducible_from_the_seed():
    first = reset_conditions(DNMSEnv(condition_order="random"), 200, seed=3)
    again = reset_conditions(DNMSEnv(condition_order="random"), 200, seed=3)
    other = reset_conditions(DNMSEnv(condition_order="random"), 200, seed=4)

    assert first == again and first != other
    counts = np.array([first.count(c) for c in CONDITIONS])
    assert counts.min() > 25  # 50 expected each


@pytest.mark.parametrize("condition_order", ["cycle", "random"])
def test_same_seed_gives_identical_episodes(condition_order):
    def episodes(seed):
        env = DNMSEnv(condition_order=condition_order)
        env.action_space.seed(seed)
        out = [run_trial(env, [env.action_space.sample()[0] for _ in range(N_STEPS)], seed=seed)]
        out += [run_trial(env, np.linspace(-1, 1, N_STEPS)) for _ in range(3)]
        return out

    first, second = episodes(11), episodes(11)
    for (obs_1, rew_1, info_1), (obs_2, rew_2, info_2) in zip(first, second, strict=True):
        np.testing.assert_array_equal(obs_1, obs_2)
        np.testing.assert_array_equal(rew_1, rew_2)
        assert data_equivalence(info_1, info_2, exact=True)


# ---------------------------------------------------------------- arguments


def test_timing_override_changes_the_epoch_lengths():
    env = DNMSEnv(timing={"delay1": 300, "response": 100})
    observations, rewards, infos = run_trial(env, np.zeros(1200), options={"condition": "AB"})

    assert len(rewards) == 1000 and env.schedule.n_steps == 1000
    np.testing.assert_array_equal(np.flatnonzero(observations[:, 1]), np.arange(500, 700))  # B after 300 ms
    assert [t for t, info in enumerate(infos[1:]) if "target" in info] == list(range(900, 1000))


def test_dt_of_2_ms_halves_the_steps_and_keeps_the_timing_in_ms():
    env = DNMSEnv(dt_ms=2.0)
    observations, rewards, infos = run_trial(env, np.full(N_STEPS, 0.5), options={"condition": "AB"})

    assert len(rewards) == N_STEPS // 2
    np.testing.assert_array_equal(np.flatnonzero(observations[:, 1]), np.arange(200, 300))  # 400-600 ms
    assert infos[-1]["t_ms"] == 998.0 and infos[-1]["epoch"] == "response"
    assert rewards[-1] == pytest.approx(-(TARGET - 0.5))


def test_target_magnitude_is_an_argument():
    _, rewards, infos = run_trial(DNMSEnv(target=0.5), np.zeros(N_STEPS), options={"condition": "AA"})
    assert infos[-1]["target"][0] == np.float32(-0.5) and rewards[-1] == pytest.approx(-0.5)


@pytest.mark.parametrize("action", [0.3, np.float32(0.3), [0.3], np.array([[0.3]]), np.array(0.3)])
def test_unambiguous_action_shapes_are_accepted(action):
    env = DNMSEnv()
    env.reset(seed=0)
    env.step(action)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timing": {"delay": 100}}, r"unknown epoch.*'delay'.*valid epoch names.*'delay1'"),
        ({"timing": {"delay1": 150.5}}, r"'delay1'.*not a positive multiple of dt_ms=1.*use e\.g\. 150 ms"),
        ({"timing": {"response": 0}}, r"'response'.*not a positive multiple"),
        ({"timing": {"response": -200}}, r"'response'.*not a positive multiple"),
        ({"dt_ms": 3.0}, r"'stimulus1'.*multiple of dt_ms=3"),
        ({"dt_ms": 0.0}, r"dt_ms must be a positive"),
        ({"condition_order": "shuffled"}, r"condition_order must be one of \['cycle', 'random'\]"),
        ({"target": 1.5}, r"target must be a number in \(0, 1\]"),
        ({"target": 0.0}, r"target must be a number in \(0, 1\]"),
        ({"render_mode": "ascii"}, r"render_mode must be None or one of \['human', 'rgb_array'\]"),
    ],
)
def test_bad_arguments_raise_errors_that_name_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DNMSEnv(**kwargs)


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (np.zeros(2), r"must have shape \(1,\).*got shape \(2,\)"),
        (np.zeros((1, 2)), r"must have shape \(1,\)"),
        (np.array([np.nan]), r"action contains NaN/inf"),
        (np.array([np.inf]), r"action contains NaN/inf"),
        ("up", r"must be numeric"),
    ],
)
def test_bad_actions_raise_clear_errors(action, match):
    env = DNMSEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_bad_reset_options_raise_clear_errors():
    env = DNMSEnv()
    with pytest.raises(ValueError, match=r"unknown condition 'AC'; choose one of \['AA', 'AB', 'BA', 'BB'\]"):
        env.reset(options={"condition": "AC"})
    with pytest.raises(ValueError, match=r"unknown reset option.*'conditon'.*\['condition'\]"):
        env.reset(options={"conditon": "AB"})


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        DNMSEnv().step(np.zeros(1))


# ---------------------------------------------------------------- pickling, closing, rendering


def test_pickled_env_continues_the_same_trial():
    env = DNMSEnv(condition_order="random")
    env.reset(seed=5)
    for _ in range(450):
        env.step(np.array([0.2]))
    clone = pickle.loads(pickle.dumps(env))

    for _ in range(N_STEPS - 450):
        assert_same_transition(env.step(np.array([0.7])), clone.step(np.array([0.7])))
    for _ in range(5):  # same generator state: the same next conditions
        assert env.reset()[1] == clone.reset()[1]


def test_a_rendering_env_pickles_and_the_copy_renders_the_same_frame():
    env = DNMSEnv(render_mode="rgb_array")
    env.reset(seed=0)
    for _ in range(300):
        env.step(np.array([0.4]))
    frame = env.render()
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(clone.render(), frame)
    env.close()
    clone.close()


def test_close_is_safe_twice_in_every_render_mode():
    for render_mode in ("rgb_array", "human"):
        env = DNMSEnv(render_mode=render_mode)
        env.reset(seed=0)
        env.render()
        env.close()
        env.close()


def test_render_without_a_render_mode_warns_how_to_get_frames():
    env = DNMSEnv()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match='render_mode="rgb_array"'):
        assert env.render() is None
    env.close()
    env.close()


def test_rgb_array_frame_is_a_readable_uint8_image():
    env = gym.make("spikegym/DNMS-v0", render_mode="rgb_array")
    run_trial(env, np.full(N_STEPS, 0.9), seed=0, options={"condition": "AB"})
    frame = env.render()

    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.shape[0] >= 400 and frame.shape[1] >= 600
    colours = np.unique(frame.reshape(-1, 3), axis=0)
    assert len(colours) > 50  # text, bands, traces: not a blank or single-colour frame
    env.close()


def test_human_mode_draws_in_reset_and_step_and_render_returns_none():
    env = DNMSEnv(render_mode="human")
    env.reset(seed=0)
    for _ in range(50):
        env.step(np.zeros(1))
    assert env.render() is None
    env.close()


# ---------------------------------------------------------------- the native vector env


def assert_same_transition(native, sync):
    """Same (obs, info) from reset or (obs, reward, terminated, truncated, info) from step, dtypes included."""
    names = ("obs", "info") if len(sync) == 2 else ("obs", "reward", "terminated", "truncated", "info")
    for name, a, b in zip(names, native, sync, strict=True):
        assert data_equivalence(a, b, exact=True), f"{name} differs:\nnative {a}\nsync   {b}"


def play_both(native, sync, rng, n_steps, **reset_kwargs):
    assert_same_transition(native.reset(**reset_kwargs), sync.reset(**reset_kwargs))
    for _ in range(n_steps):
        # Some outputs beyond [-1, 1]: both must clip alike.
        actions = rng.uniform(-1.2, 1.2, size=(native.num_envs, 1)).astype(np.float32)
        assert_same_transition(native.step(actions), sync.step(actions))


@pytest.mark.parametrize("autoreset_mode", [AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP])
@pytest.mark.parametrize("condition_order", ["cycle", "random"])
def test_vector_env_matches_sync_vector_env_step_for_step(condition_order, autoreset_mode):
    kwargs = {"num_envs": 3, "condition_order": condition_order, "timing": {"delay1": 100, "delay2": 100}}
    native = gym.make_vec(
        "spikegym/DNMS-v0", vectorization_mode="vector_entry_point", autoreset_mode=autoreset_mode, **kwargs
    )
    sync = gym.make_vec(
        "spikegym/DNMS-v0", vectorization_mode="sync", vector_kwargs={"autoreset_mode": autoreset_mode}, **kwargs
    )
    assert native.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"] == autoreset_mode
    assert native.single_observation_space == sync.single_observation_space
    assert native.observation_space == sync.observation_space
    assert native.single_action_space == sync.single_action_space and native.action_space == sync.action_space

    rng = np.random.default_rng(0)
    trial = 800  # steps with the shortened delays
    play_both(native, sync, rng, int(2.5 * trial), seed=7)  # ends and restarts trials
    play_both(native, sync, rng, trial + 10)  # unseeded reset: cycle and generators carry on
    play_both(native, sync, rng, 20, seed=[1, None, 3], options={"condition": "BA"})
    native.close()
    sync.close()


def test_vector_env_disabled_autoreset_matches_sync_with_reset_masks():
    native = DNMSVectorEnv(num_envs=2, dt_ms=10.0, autoreset_mode=AutoresetMode.DISABLED)
    sync = gym.make_vec(
        "spikegym/DNMS-v0",
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED},
        dt_ms=10.0,
    )
    rng = np.random.default_rng(1)
    play_both(native, sync, rng, 100, seed=0)  # both trials end on step 100
    with pytest.raises(RuntimeError, match="reset_mask"):
        native.step(np.zeros((2, 1)))
    mask = np.array([False, True])
    assert_same_transition(
        native.reset(options={"reset_mask": mask.copy()}), sync.reset(options={"reset_mask": mask.copy()})
    )


def test_make_vec_uses_the_native_vector_env_with_same_step_autoreset_by_default():
    vec = gym.make_vec("spikegym/DNMS-v0", num_envs=4)
    assert isinstance(vec.unwrapped, DNMSVectorEnv)
    assert vec.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    obs, info = vec.reset(seed=0)
    assert obs.shape == (4, 2) and obs.dtype == np.float32
    assert list(info["condition"]) == ["AA"] * 4
    vec.close()
    vec.close()


def test_vector_env_finishes_all_trials_together_with_final_obs_and_info():
    vec = DNMSVectorEnv(num_envs=4)
    vec.reset(seed=0, options={"condition": "AB"})
    for _ in range(N_STEPS - 1):
        vec.step(np.full((4, 1), 0.5))
    obs, rewards, terminated, truncated, info = vec.step(np.full(4, 0.5))

    np.testing.assert_allclose(rewards, -(TARGET - 0.5))
    assert terminated.all() and not truncated.any()
    assert list(info["final_info"]["condition"]) == ["AB"] * 4
    np.testing.assert_allclose(info["final_info"]["error"], TARGET - 0.5)
    assert all(np.array_equal(final, np.zeros(2)) for final in info["final_obs"])
    assert list(info["condition"]) == ["AA"] * 4  # the cycle's next trial (forcing AB did not advance it)
    np.testing.assert_array_equal(obs, np.tile([1.0, 0.0], (4, 1)))


@pytest.mark.parametrize(
    ("actions", "match"),
    [
        (np.zeros((3, 1)), r"must have shape \(2, 1\).*got shape \(3, 1\)"),
        (np.zeros((1, 2)), r"must have shape \(2, 1\)"),
        (np.array([[0.0], [np.nan]]), r"actions contains NaN/inf"),
    ],
)
def test_vector_env_rejects_bad_actions(actions, match):
    vec = DNMSVectorEnv(num_envs=2)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        vec.step(actions)


def test_vector_env_rejects_bad_arguments():
    with pytest.raises(ValueError, match="autoreset_mode must be"):
        DNMSVectorEnv(num_envs=2, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="num_envs must be a positive int"):
        DNMSVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match=r"for a window render one copy with gym.make"):
        DNMSVectorEnv(num_envs=2, render_mode="human")


def test_vector_env_renders_one_frame_per_sub_env():
    vec = DNMSVectorEnv(num_envs=2, render_mode="rgb_array", condition_order="random")
    _, info = vec.reset(seed=0)
    assert list(info["condition"]) == ["BB", "AB"]
    frames = vec.render()
    assert len(frames) == 2 and all(f.dtype == np.uint8 and f.ndim == 3 for f in frames)
    assert not np.array_equal(frames[0], frames[1])  # each sub-env's own trial
    vec.close()


# ---------------------------------------------------------------- TrialSchedule, as DNMS uses it


def test_trial_schedule_maps_epochs_to_steps():
    schedule = TrialSchedule({"cue": 100.0, "delay": 50.0, "go": 100.0}, dt_ms=2.0)

    assert schedule.n_steps == 125 and schedule.duration_ms == 250.0
    assert schedule.steps("delay") == range(50, 75)
    assert [schedule.epoch_at(s) for s in (0, 49, 50, 74, 75, 124)] == ["cue", "cue", "delay", "delay", "go", "go"]
    np.testing.assert_array_equal(np.bincount(schedule.epoch_index), [50, 25, 50])
    assert schedule.bounds_ms() == [("cue", 0.0, 100.0), ("delay", 100.0, 150.0), ("go", 150.0, 250.0)]
    assert schedule.durations_ms == {"cue": 100.0, "delay": 50.0, "go": 100.0}
    with pytest.raises(IndexError):
        schedule.epoch_at(125)
    with pytest.raises(KeyError, match="epochs are"):
        schedule.steps("response")


def test_trial_schedule_tolerates_float_round_off_in_durations():
    assert TrialSchedule({"a": 0.3}, dt_ms=0.1).n_steps == 3


# ---------------------------------------------------------------- blocks of steps (the rollout loop's)


def test_vector_env_blocks_equal_single_steps():
    """``scheduled`` gives the observations and rewards ``step`` would, ``step_block`` leaves the env where k steps
    do, and the trial's last step (its reward is the outputs' error) is never in a block."""
    rng = np.random.default_rng(0)
    outputs = rng.uniform(-1, 1, (3, N_STEPS, 1))
    blocked, stepped = (DNMSVectorEnv(num_envs=3, condition_order="random") for _ in range(2))
    obs_b, _ = blocked.reset(seed=5)
    obs_s, _ = stepped.reset(seed=5)
    assert blocked.lookahead_steps() == N_STEPS - 1
    observations, rewards = blocked.scheduled(N_STEPS - 1)
    assert observations.shape == (3, N_STEPS - 1, 2) and rewards.shape == (3, N_STEPS - 1) and not rewards.any()
    np.testing.assert_array_equal(observations[:, 0], obs_b)
    seen = [obs_s]
    for t in range(300):
        obs_s, reward, *_ = stepped.step(outputs[:, t])
        seen.append(obs_s)
        assert not reward.any()
    np.testing.assert_array_equal(np.stack(seen[:300], axis=1), observations[:, :300])
    obs_b, block_rewards, info = blocked.step_block(outputs[:, :300])
    np.testing.assert_array_equal(obs_b, obs_s)
    assert not block_rewards.any() and list(info["t_ms"]) == [299.0] * 3
    assert blocked.lookahead_steps() == N_STEPS - 1 - 300
    obs_b, _, _ = blocked.step_block(outputs[:, 300 : N_STEPS - 1])
    for t in range(300, N_STEPS - 1):
        obs_s, *_ = stepped.step(outputs[:, t])
    np.testing.assert_array_equal(obs_b, obs_s)
    assert blocked.lookahead_steps() == 0
    with pytest.raises(ValueError, match="not fixed"):
        blocked.scheduled(1)
    last_b = blocked.step(outputs[:, -1])
    last_s = stepped.step(outputs[:, -1])
    np.testing.assert_array_equal(last_b[1], last_s[1])  # the error over the response window, from the block's outputs
    assert last_b[2].all() and (last_b[1] < 0).all()
    assert data_equivalence(last_b[4], last_s[4])
    assert blocked.lookahead_steps() == N_STEPS - 1  # the next trials began (SAME_STEP)


def test_vector_env_blocks_reject_bad_input():
    vec = DNMSVectorEnv(num_envs=2)
    with pytest.raises(RuntimeError, match="before reset"):
        vec.step_block(np.zeros((2, 3, 1)))
    assert vec.lookahead_steps() == 0
    vec.reset(seed=0)
    with pytest.raises(ValueError, match=r"must have shape \(2, k, 1\)"):
        vec.step_block(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        vec.step_block(np.full((2, 3, 1), np.nan))
    with pytest.raises(ValueError, match="not fixed"):
        vec.step_block(np.zeros((2, N_STEPS, 1)))
    disabled = DNMSVectorEnv(num_envs=2, autoreset_mode=AutoresetMode.DISABLED)
    disabled.reset(seed=0)
    disabled.step_block(np.zeros((2, N_STEPS - 1, 1)))
    disabled.step(np.zeros((2, 1)))
    assert disabled.lookahead_steps() == 0  # finished trials wait for their reset
