"""Izhikevich's Pavlovian experimenter: random stimuli every 100-300 ms, S1 rewarded up to 1 s later."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401

SMALL = {"n_stimuli": 5, "n_watched": 10, "duration_s": 20}


def play(env, steps: int, seed: int = 0, policy=None):
    """Runs ``steps`` steps; returns the observations (the one each action answers), rewards and infos."""
    obs, _ = env.reset(seed=seed)
    observations, rewards, infos = [], [], []
    n = env.action_space.n
    for t in range(steps):
        observations.append(obs)
        action = np.zeros(n, np.int8) if policy is None else policy(t, obs)
        obs, reward, terminated, _, info = env.step(action)
        rewards.append(reward)
        infos.append(info)
        if terminated:
            break
    return np.array(observations), np.array(rewards), infos


def test_checkers_pass_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make("spikegym/PavlovianConditioning-v0", **SMALL).unwrapped)
        sb3_check_env(gym.make("spikegym/PavlovianConditioning-v0", **SMALL).unwrapped, warn=True)


def test_stimuli_come_one_at_a_time_100_to_300_ms_apart_in_random_order():
    env = gym.make("spikegym/PavlovianConditioning-v0", **SMALL)
    observations, _, infos = play(env, 20000)
    assert set(observations.sum(axis=1).tolist()) == {0, 1}  # one-hot or nothing
    times = np.flatnonzero(observations.any(axis=1))
    gaps = np.diff(times)
    assert gaps.min() >= 100 and gaps.max() <= 300 and 150 < gaps.mean() < 250
    stimuli = observations[times].argmax(axis=1)
    assert set(stimuli.tolist()) == set(range(5))
    assert [infos[t]["stimulus"] for t in times[:5]] == stimuli[:5].tolist()
    assert infos[-1]["presentations"] == len(times)


def test_every_s1_is_rewarded_once_within_1_s_and_nothing_else_is():
    env = gym.make("spikegym/PavlovianConditioning-v0", **{**SMALL, "n_stimuli": 10, "duration_s": 60})
    observations, rewards, infos = play(env, 60000, seed=3)
    s1 = np.flatnonzero(observations[:, 0])
    rewarded = np.flatnonzero(rewards)
    assert len(s1) > 20 and infos[-1]["s1_presentations"] == len(s1)
    assert rewards.sum() + infos[-1]["pending"] == len(s1)  # one reward per S1, late ones still pending
    assert infos[-1]["pending"] <= np.sum(s1 >= len(observations) - 1000)
    gaps = rewarded[:, None] - s1[None, :]
    assert np.all(((gaps >= 1) & (gaps <= 1000)).any(axis=1))  # every reward has an S1 1..1000 ms before it
    isolated = [t for t in s1 if np.sum(np.abs(s1 - t) <= 1000) == 1 and t < len(observations) - 1000]
    delays = np.array([rewarded[(rewarded > t) & (rewarded <= t + 1000)][0] - t for t in isolated])
    assert len(delays) > 5 and delays.std() > 100  # random delays, not a fixed one
    assert infos[-1]["rewards"] == rewards.sum()


def test_seeding_is_reproducible():
    env = gym.make("spikegym/PavlovianConditioning-v0", **SMALL)
    a = play(env, 5000, seed=7)
    b = play(env, 5000, seed=7)
    c = play(env, 5000, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_the_response_counts_watched_spikes_in_the_window_after_each_stimulus():
    env = gym.make("spikegym/PavlovianConditioning-v0", **SMALL, response_window_ms=(2, 22))
    shown_at: list[int] = []

    def policy(t, obs):  # 3 spikes at every step 0..29 after a stimulus, 1 spike otherwise
        if obs.any():
            shown_at.append(t)
        lag = t - shown_at[-1] if shown_at else 1000
        action = np.zeros(10, np.int8)
        action[: 3 if lag < 30 else 1] = 1
        return action

    _, _, infos = play(env, 3000, seed=1, policy=policy)
    closed = [(t, info) for t, info in enumerate(infos) if "response" in info]
    complete = [t for t in shown_at if t + 21 < 3000]
    assert len(closed) == len(complete) > 5
    assert all(t - shown == 21 for (t, _), shown in zip(closed, complete, strict=False))
    assert all(info["response"] == 20 * 3 for _, info in closed)
    means = [infos[-1][k] for k in ("response_s1", "response_others") if k in infos[-1]]
    assert means and all(m == 60.0 for m in means)


def test_episode_end_errors_and_rendering():
    env = gym.make("spikegym/PavlovianConditioning-v0", **{**SMALL, "duration_s": 1.5}, render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    assert obs.shape == (5,) and obs.dtype == np.int8 and info["t_s"] == 0.0
    with pytest.raises(ValueError, match="watched neurons"):
        env.step(np.zeros(11, np.int8))
    with pytest.raises(ValueError, match="watched neurons"):
        env.step(np.full(10, 2))
    terminated, steps = False, 0
    while not terminated:
        _, _, terminated, _, _ = env.step((np.arange(10) == steps % 10).astype(np.int8))
        steps += 1
    assert steps == 1500
    frame = env.render()
    assert frame.shape == (560, 960, 3) and len(np.unique(frame.reshape(-1, 3), axis=0)) > 10


@pytest.mark.parametrize(
    "kwargs",
    [{"n_stimuli": 0}, {"min_isi_ms": 300, "max_isi_ms": 100}, {"response_window_ms": (20, 10)}, {"duration_s": 0}],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        gym.make("spikegym/PavlovianConditioning-v0", **kwargs)


def test_reset_takes_no_options_and_step_needs_reset():
    env = gym.make("spikegym/PavlovianConditioning-v0", **SMALL).unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(10, np.int8))
    with pytest.raises(ValueError, match="no reset options"):
        env.reset(options={"stimulus": 0})


def test_the_vector_env_equals_the_sync_vector_env_and_its_blocks_equal_their_steps():
    """The native vector env step for step against Gymnasium's sync one (through an autoreset); then blocks:
    ``scheduled`` says beforehand what the next k steps observe and deliver, and ``step_block`` equals k calls
    of ``step`` (the same stimuli, rewards, responses and infos), up to the episode's last step."""
    from gymnasium.utils.env_checker import data_equivalence

    kwargs = dict(num_envs=2, n_stimuli=3, n_watched=6, min_isi_ms=20, max_isi_ms=40, max_reward_delay_ms=60,
                  response_window_ms=(2, 12), duration_s=0.5)  # fmt: skip
    native = gym.make_vec("spikegym/PavlovianConditioning-v0", vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec(
        "spikegym/PavlovianConditioning-v0", vectorization_mode="sync", vector_kwargs={"autoreset_mode": "SameStep"},
        **kwargs,
    )  # fmt: skip
    assert type(native).__name__ == "PavlovianConditioningVectorEnv"
    rng = np.random.default_rng(0)
    for a, b in zip(native.reset(seed=4), sync.reset(seed=4), strict=True):
        assert data_equivalence(a, b, exact=True)
    for _ in range(700):  # through one autoreset
        action = (rng.random((2, 6)) < 0.2).astype(np.int8)
        for a, b in zip(native.step(action), sync.step(action), strict=True):
            assert data_equivalence(a, b, exact=True), f"native {a}\nsync   {b}"

    blocked, stepped = (
        gym.make_vec("spikegym/PavlovianConditioning-v0", vectorization_mode="vector_entry_point", **kwargs)
        for _ in range(2)
    )
    obs, _ = blocked.reset(seed=9)
    stepped.reset(seed=9)
    assert blocked.lookahead_steps() == 499
    seen = {"stimuli": 0, "rewards": 0.0, "responses": 0}
    while (k := blocked.lookahead_steps()) > 0:
        k = int(rng.integers(1, min(k, 90) + 1))
        observations, rewards = blocked.scheduled(k)
        assert observations.shape == (2, k, 3) and rewards.shape == (2, k)
        np.testing.assert_array_equal(observations[:, 0], obs)  # the block starts with the current observation
        spikes = (rng.random((2, k, 6)) < 0.2).astype(np.int8)
        obs, block_rewards, info = blocked.step_block(spikes)
        np.testing.assert_array_equal(block_rewards, rewards)
        for j in range(k):
            step_obs, step_rewards, terminated, _, step_info = stepped.step(spikes[:, j])
            assert not terminated.any()
            np.testing.assert_array_equal(step_rewards, rewards[:, j])
            if j + 1 < k:
                np.testing.assert_array_equal(step_obs, observations[:, j + 1])
            seen["responses"] += int(step_info.get("_response", np.zeros(2)).sum())
        assert data_equivalence(obs, step_obs, exact=True) and data_equivalence(info, step_info, exact=True)
        seen["stimuli"] += int(observations.sum())
        seen["rewards"] += float(rewards.sum())
    assert seen["stimuli"] > 20 and seen["rewards"] > 3 and seen["responses"] > 20  # the comparison saw them all
    assert stepped.envs[0]._step == 499
    with pytest.raises(ValueError, match="not fixed"):
        blocked.scheduled(2)
    with pytest.raises(ValueError, match="not fixed"):
        blocked.step_block(np.zeros((2, 2, 6), np.int8))
    blocked.reset(seed=0)
    with pytest.raises(ValueError, match="watched neurons"):
        blocked.step_block(np.full((2, 3, 6), 2))
    with pytest.raises(ValueError, match="SAME_STEP"):
        gym.make_vec("spikegym/PavlovianConditioning-v0", 2, vectorization_mode="vector_entry_point",
                     autoreset_mode="NextStep")  # fmt: skip
