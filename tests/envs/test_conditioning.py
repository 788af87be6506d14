"""The spikey conditioning tasks: input groups, rewards per game step, two-choice scoring."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401

SMALL = {"ticks_per_step": 50, "game_steps": 6}


def run(env, policy, seed=0):
    obs, info = env.reset(seed=seed)
    log = []
    done = False
    while not done:
        obs_before, info_before = obs, info
        obs, reward, terminated, truncated, info = env.step(policy(obs_before, info_before))
        log.append((obs_before, reward, info))
        done = terminated or truncated
    return log


def test_only_the_current_states_group_fires_at_the_input_rate():
    env = gym.make("spikegym/Conditioning-v0", ticks_per_step=2000, game_steps=2)
    log = run(env, lambda obs, info: np.zeros(50, np.int8))
    inputs = np.array([o for o, _, _ in log[:2000]])
    state = log[0][2]["state"]
    groups = np.arange(100) % 10
    assert inputs[:, groups != state].sum() == 0
    assert inputs[:, groups == state].mean() == pytest.approx(0.2, abs=0.02)


def test_reward_at_the_end_of_each_game_step_by_state_only():
    env = gym.make("spikegym/Conditioning-v0", **SMALL)
    log = run(env, lambda obs, info: np.ones(50, np.int8))
    assert len(log) == 6 * 50
    for k, (_, reward, info) in enumerate(log):
        if k % 50 == 49:
            assert reward == (1.0 if info["state"] in (0, 3, 6, 9) else 0.0)
            assert info["output_rate"] == 1.0
        else:
            assert reward == 0.0 and "output_rate" not in info
    states = [info["state"] for _, _, info in log[49::50]]
    assert len(set(states)) > 1  # a new state each game step


def test_two_choice_rewards_the_stated_target_group():
    env = gym.make("spikegym/TwoChoiceConditioning-v0", **SMALL)
    fire_a = np.r_[np.ones(30), np.zeros(30)].astype(np.int8)
    fire_b = fire_a[::-1].copy()

    def correct(obs, info):
        return fire_a if info["state"] in (2, 3, 6, 8) else fire_b

    ends = [(r, i) for k, (_, r, i) in enumerate(run(env, correct)) if k % 50 == 49]
    assert all(r == 1.0 and i["correct"] for r, i in ends)
    wrong = [
        (r, i)
        for k, (_, r, i) in enumerate(run(env, lambda o, i: fire_b if i["state"] in (2, 3, 6, 8) else fire_a))
        if k % 50 == 49
    ]
    assert all(r == 0.0 and not i["correct"] for r, i in wrong)
    silent = [i for k, (_, _, i) in enumerate(run(env, lambda o, i: np.zeros(60, np.int8))) if k % 50 == 49]
    assert all(i["choice"] == -1 and not i["correct"] for i in silent)  # a tie is no choice


def test_same_seed_same_episode_and_forced_state():
    a = run(gym.make("spikegym/Conditioning-v0", **SMALL), lambda o, i: np.zeros(50, np.int8), seed=3)
    b = run(gym.make("spikegym/Conditioning-v0", **SMALL), lambda o, i: np.zeros(50, np.int8), seed=3)
    assert all((x[0] == y[0]).all() and x[2] == y[2] for x, y in zip(a, b, strict=True))
    env = gym.make("spikegym/Conditioning-v0", **SMALL)
    _, info = env.reset(seed=0, options={"state": 7})
    assert info["state"] == 7


@pytest.mark.parametrize(
    ("kwargs", "action", "message"),
    [
        ({}, np.zeros(49), "expected shape"),
        ({}, np.full(50, 2), "spikes, 0 or 1"),
        ({"input_rate": 1.5}, None, "input_rate"),
        ({"rewarded_states": (12,)}, None, "rewarded_states"),
    ],
)
def test_clear_errors(kwargs, action, message):
    with pytest.raises(ValueError, match=message):
        env = gym.make("spikegym/Conditioning-v0", **kwargs)
        env.reset(seed=0)
        env.step(action)
    with pytest.raises(ValueError, match="n_outputs must be even"):
        gym.make("spikegym/TwoChoiceConditioning-v0", n_outputs=7)


def test_rgb_frame_shows_something():
    env = gym.make("spikegym/TwoChoiceConditioning-v0", render_mode="rgb_array", **SMALL)
    run(env, lambda o, i: (np.arange(60) % 7 == 0).astype(np.int8))
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (560, 960, 3)
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 20
    env.close()
    env.close()
