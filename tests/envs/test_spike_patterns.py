"""Legenstein's sim 4 task: the templates, the delayed alpha reward pulses, the classification score."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.spike_patterns import alpha_kernel


def run(env, spike_steps=(), seed=None, options=None):
    obs, info = env.reset(seed=seed, options=options)
    inputs, rewards, infos = [obs], [], []
    for t in range(env.unwrapped.n_steps):
        obs, reward, terminated, _, info = env.step(np.array([int(t in spike_steps)], np.int8))
        inputs.append(obs)
        rewards.append(reward)
        infos.append(info)
    assert terminated
    return np.array(inputs[:-1]), np.array(rewards), infos


def test_each_channel_fires_once_within_the_template_after_the_onset():
    env = gym.make("spikegym/SpikePatterns-v0")
    inputs, rewards, infos = run(env, seed=0)
    assert inputs.shape == (3000, 200) and (inputs.sum(0) == 1).all()
    times = np.argmax(inputs, axis=0)
    assert times.min() >= 50 and times.max() < 550
    assert infos[0]["template"] == 0 and (rewards == 0).all() and not infos[-1]["correct"]


def test_templates_alternate_are_fixed_and_differ():
    env = gym.make("spikegym/SpikePatterns-v0")
    a, _, ia = run(env, seed=0)
    b, _, ib = run(env)
    c, _, _ = run(env)
    assert ia[0]["template"] == 0 and ib[0]["template"] == 1
    assert (a == c).all() and not (a == b).all()


def test_a_readout_spike_pays_a_delayed_alpha_pulse_signed_by_the_template():
    env = gym.make("spikegym/SpikePatterns-v0")
    _, rewards, infos = run(env, spike_steps={100}, seed=0)
    expected = alpha_kernel((np.arange(3000) - 100 - 300) / 1000.0, 0.1)
    np.testing.assert_allclose(rewards, expected, atol=1e-12)
    assert rewards.argmax() == 500 and rewards.max() == pytest.approx(1.0)
    assert infos[-1]["output_spikes"] == 1 and infos[-1]["correct"]
    _, punished, infos = run(env, spike_steps={100, 200})  # template 1
    assert punished.min() < -1.0 and infos[-1]["correct"] is False


def test_forced_template_and_random_order_are_seeded():
    env = gym.make("spikegym/SpikePatterns-v0", template_order="random")
    first = [run(env, seed=s)[2][0]["template"] for s in range(8)]
    again = [run(env, seed=s)[2][0]["template"] for s in range(8)]
    assert first == again and set(first) == {0, 1}
    _, info = env.reset(options={"template": 1})
    assert info["template"] == 1
    with pytest.raises(ValueError, match="0 or 1"):
        env.reset(options={"template": 2})


def test_clear_errors_and_rendering():
    with pytest.raises(ValueError, match="template_order"):
        gym.make("spikegym/SpikePatterns-v0", template_order="sorted")
    env = gym.make("spikegym/SpikePatterns-v0", render_mode="rgb_array")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="readout's spike"):
        env.step(np.array([2]))
    for t in range(700):
        env.step(np.array([int(t % 97 == 0)]))
    frame = env.render()
    assert frame.shape == (560, 960, 3) and len(np.unique(frame.reshape(-1, 3), axis=0)) > 20
    env.close()


def assert_same(a, b, path="info"):
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, np.ndarray) and a.dtype == object:
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y, path)
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{path}: {a} != {b}"


@pytest.mark.parametrize("order", ["alternate", "random"])
def test_the_vector_env_equals_the_sync_vector_env_step_for_step(order):
    from gymnasium.vector import AutoresetMode

    kwargs = dict(n_channels=20, template_ms=200, trial_ms=700, template_order=order)
    native = gym.make_vec("spikegym/SpikePatterns-v0", num_envs=3, vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec(
        "spikegym/SpikePatterns-v0",
        num_envs=3,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        **kwargs,
    )
    assert type(native.unwrapped).__name__ == "SpikePatternsVectorEnv"
    rng = np.random.default_rng(0)
    for seed in (5, None):
        outs = [env.reset(seed=seed) for env in (native, sync)]
        assert_same(outs[0][0], outs[1][0], "obs")
        assert_same(outs[0][1], outs[1][1])
        for _ in range(int(2.5 * 700)):
            action = (rng.random((3, 1)) < 0.01).astype(np.int8)
            a, b = native.step(action), sync.step(action)
            for x, y, name in zip(a, b, ("obs", "reward", "terminated", "truncated", "info"), strict=True):
                assert_same(x, y, name)
