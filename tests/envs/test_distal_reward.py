"""Izhikevich's distal reward experimenter: pairings within 20 ms are rewarded 1-3 s later."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence

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


@pytest.mark.parametrize("p_spike", [0.05, 0.3])
def test_the_vector_env_equals_the_sync_vector_env_step_for_step(p_spike):
    kwargs = dict(num_envs=3, duration_s=0.4, min_delay_ms=20, spread_ms=60)
    native = gym.make_vec("spikegym/DistalReward-v0", vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec(
        "spikegym/DistalReward-v0", vectorization_mode="sync", vector_kwargs={"autoreset_mode": "SameStep"}, **kwargs
    )
    assert type(native.unwrapped).__name__ == "DistalRewardVectorEnv"
    assert native.single_action_space == sync.single_action_space
    rng = np.random.default_rng(0)
    rewards = 0.0
    for seed in (5, None, [1, None, 2]):
        for a, b in zip(native.reset(seed=seed), sync.reset(seed=seed), strict=True):
            assert data_equivalence(a, b, exact=True), f"reset: native {a}\nsync   {b}"
        for _ in range(int(1.5 * 400)):  # through one autoreset
            action = (rng.random((3, 2)) < p_spike).astype(np.int8)
            native_out, sync_out = native.step(action), sync.step(action)
            for a, b in zip(native_out, sync_out, strict=True):
                assert data_equivalence(a, b, exact=True), f"step: native {a}\nsync   {b}"
            rewards += native_out[1].sum()
    assert rewards > 10  # the comparison covered many pairings and rewards
    with pytest.raises(ValueError, match="n1 and n2"):
        native.step(np.full((3, 2), 2))
    with pytest.raises(ValueError, match="SAME_STEP"):
        gym.make_vec("spikegym/DistalReward-v0", 2, vectorization_mode="vector_entry_point", autoreset_mode="NextStep")


def test_a_block_of_steps_equals_its_steps():
    """``step_block`` against the same spikes step by step (the same pairings, reward delays drawn in the same
    order, the same rewards and counters); ``scheduled`` says beforehand what the block delivers;
    ``lookahead_steps`` never reaches past the earliest reward delay or onto the episode's last step."""
    kwargs = dict(num_envs=3, duration_s=1.0, min_delay_ms=50, spread_ms=80, interval_ms=30)
    blocked, stepped = (
        gym.make_vec("spikegym/DistalReward-v0", vectorization_mode="vector_entry_point", **kwargs) for _ in range(2)
    )
    assert blocked.lookahead_steps() == 0  # before the first reset
    blocked.reset(seed=7)
    stepped.reset(seed=7)
    rng = np.random.default_rng(1)
    rewards = 0.0
    while (k := blocked.lookahead_steps()) > 0:
        assert k <= 50 and stepped._step + k <= 999
        k = int(rng.integers(1, k + 1))  # blocks of any length up to the lookahead
        spikes = (rng.random((3, k, 2)) < 0.2).astype(np.int8)
        observations, due = blocked.scheduled(k)
        assert observations.shape == (3, k, 0)
        obs, block_rewards, info = blocked.step_block(spikes)
        np.testing.assert_array_equal(block_rewards, due)
        for j in range(k):
            step_obs, step_rewards, terminated, truncated, step_info = stepped.step(spikes[:, j])
            np.testing.assert_array_equal(step_rewards, block_rewards[:, j])
            assert not terminated.any() and not truncated.any()
        assert data_equivalence(obs, step_obs, exact=True) and data_equivalence(info, step_info, exact=True)
        rewards += block_rewards.sum()
    assert blocked._step == stepped._step == 999  # the last step is left to step()
    assert all(g.random() == h.random() for g, h in zip(blocked._rngs, stepped._rngs, strict=True))
    assert rewards > 20 and info["pairings"].sum() > 20
    with pytest.raises(ValueError, match="not fixed"):
        blocked.scheduled(1)
    blocked.reset(seed=0)
    with pytest.raises(ValueError, match="not fixed"):
        blocked.step_block(np.zeros((3, 51, 2), np.int8))
    with pytest.raises(ValueError, match="n1 and n2"):
        blocked.step_block(np.full((3, 5, 2), 2))
