"""Legenstein's computer simulation 5: the liquid (Maass et al. 2002's column) and its R-STDP readout."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents import make_agent
from agents.core import grid_positions
from agents.rstdp import PRESETS, RSTDPConfig

PRESET = "legenstein2008-spoken-digits"


def liquid(seeds=(0,), **config):
    env = gym.make("spikegym/SpokenDigits-v0", split="train")
    return make_agent("rstdp", env, seeds=list(seeds), config={"preset": PRESET, **config}), env


def random_input(agent, n, seed=0, reward=0.0):
    """n steps of 20-Hz Poisson input on every channel; the actions and the liquid's spikes."""
    rng = np.random.default_rng(seed)
    B, (n_in,) = agent.batch_size, agent.observation_space.shape
    actions, spikes = [], []
    for _ in range(n):
        a, _ = agent.predict((rng.random((B, n_in)) < 0.02).astype(np.float32))
        actions.append(a)
        spikes.append(agent.liquid_spikes.clone())
        agent.observe(np.full(B, reward), np.zeros(B, bool), np.zeros(B, bool), {})
    return np.stack(actions), torch.stack(spikes)


def test_the_preset_is_simulation_5():
    cfg = PRESETS[PRESET]
    assert cfg.network == "liquid"
    assert (cfg.mu, cfg.alpha_ltd, cfg.tau_plus_ms, cfg.tau_minus_ms, cfg.tau_e_ms) == (0.0008, 1.05, 30.0, 30.0, 400.0)
    assert tuple(cfg.liquid_shape) == (15, 6, 6) and cfg.liquid_lambda == 2.0
    assert tuple(cfg.liquid_connection_factors) == (0.3, 0.2, 0.4, 0.1)
    assert cfg.excitatory_fraction == 0.8
    with pytest.raises(ValueError, match="liquid_connection_factors"):
        RSTDPConfig(network="liquid", liquid_connection_factors=(0.3, 0.2, 0.4))


def test_the_column_is_a_15_by_6_by_6_grid_80_percent_excitatory_at_random_places():
    agent, _ = liquid(seeds=(0, 1))
    assert agent.n == 540 and agent.n_e == 432 and agent.n_pre == 432
    grid = grid_positions((15, 6, 6))
    for b in range(2):
        # every grid point holds exactly one neuron
        order = torch.argsort(agent.positions[b, :, 0] * 36 + agent.positions[b, :, 1] * 6 + agent.positions[b, :, 2])
        torch.testing.assert_close(agent.positions[b, order], grid)
    # the excitatory neurons are different random places in the two columns, spread over the whole column
    assert not torch.equal(agent.positions[0, :432], agent.positions[1, :432])
    x_inh = agent.positions[0, 432:, 0]
    assert x_inh.min() <= 2 and x_inh.max() >= 12
    assert tuple(agent.weight.shape) == (2, 432, 1)


def test_connections_follow_c_exp_minus_distance_over_lambda_squared():
    agent, _ = liquid(seeds=(0, 1, 2))
    pos = agent.positions.double()
    d2 = ((pos[:, :, None, :] - pos[:, None, :, :]) ** 2).sum(-1)
    connected = agent.liquid_weight > 0
    exc = torch.arange(540) < 432
    for (pre, post), C in zip(((1, 1), (1, 0), (0, 1), (0, 0)), (0.3, 0.2, 0.4, 0.1), strict=True):
        rows = exc if pre else ~exc
        cols = exc if post else ~exc
        block = (slice(None), rows.nonzero()[:, 0][:, None], cols.nonzero()[:, 0][None, :])
        p = C * torch.exp(-d2[block] / 4.0)
        if pre == post:
            p = p * (1 - torch.eye(p.shape[1], dtype=p.dtype))  # no autapses
        expected, std = p.sum().item(), (p * (1 - p)).sum().sqrt().item()
        measured = connected[block].sum().item()
        assert abs(measured - expected) < 4 * std, (pre, post, measured, expected)
        # and the fall-off with distance: neighbours at D = 1 and D = 2 connect with C e^{-1/4} and C e^{-1}
        for D in (1.0, 2.0):
            at = d2[block] == D * D
            fraction = connected[block][at].double().mean().item()
            n = at.sum().item()
            target = C * math.exp(-(D**2) / 4.0)
            assert abs(fraction - target) < 4 * math.sqrt(target * (1 - target) / n), (pre, post, D, fraction)
    assert not connected.diagonal(dim1=1, dim2=2).any()
    # the weights are the type's: E -> E w, E -> I 2 w, inhibitory rows carry the inhibitory weights
    w = agent.liquid_weight[0]
    ee = w[:432, :432][w[:432, :432] > 0]
    ei = w[:432, 432:][w[:432, 432:] > 0]
    torch.testing.assert_close(ei.unique(), 2 * ee.unique())
    # every input channel reaches about input_connection_probability of the liquid
    fraction = (agent.input_weight > 0).double().mean().item()
    assert abs(fraction - agent.config.input_connection_probability) < 0.01


def test_the_liquid_answers_an_utterance_and_is_silent_after_it():
    agent, env = liquid(seeds=(0,))
    agent.eval()
    obs, _ = env.reset(seed=0, options={"digit": 2, "index": 0})
    counts = []
    for _ in range(1500):
        agent.predict(obs)
        counts.append(agent.liquid_spikes.sum().item())
        obs, *_ = env.step(np.zeros(1, np.int8))
    counts = np.array(counts)
    assert counts[:400].sum() / 540 / 0.4 > 5.0  # Hz during the utterance
    assert counts[1000:].sum() / 540 / 0.5 < 1.0  # and quiet half a second after it


def test_liquid_alone_equals_in_a_batch_and_checkpoints_round_trip():
    batch, _ = liquid(seeds=(3, 4), learning_rate=3000.0)
    alone, _ = liquid(seeds=(4,), learning_rate=3000.0)
    a2, s2 = random_input(batch, 300, reward=1.0)
    rng = np.random.default_rng(0)
    a1, s1 = [], []
    for _ in range(300):
        obs = (rng.random((2, 64)) < 0.02).astype(np.float32)
        a, _ = alone.predict(obs[1])
        a1.append(a)
        s1.append(alone.liquid_spikes.clone())
        alone.observe(np.ones(1), np.zeros(1, bool), np.zeros(1, bool), {})
    assert s2.sum() > 0
    torch.testing.assert_close(s2[:, 1], torch.stack(s1)[:, 0], rtol=0, atol=0)
    np.testing.assert_array_equal(a2[:, 1, 0], np.stack(a1)[:, 0])
    torch.testing.assert_close(batch.weight[1], alone.weight[0], rtol=0, atol=0)
    assert not torch.equal(batch.weight, liquid(seeds=(3, 4))[0].weight)  # the reward moved the weights
    copy, _ = liquid(seeds=(3, 4), learning_rate=3000.0)
    copy.load_state_dict(batch.state_dict())
    a, s = random_input(batch, 200, seed=2, reward=1.0)
    a_copy, s_copy = random_input(copy, 200, seed=2, reward=1.0)
    np.testing.assert_array_equal(a, a_copy)
    torch.testing.assert_close(s, s_copy, rtol=0, atol=0)
    torch.testing.assert_close(batch.weight, copy.weight, rtol=0, atol=0)
    # a reset starts the liquid afresh and keeps the learned weights
    batch.reset(mask=np.array([True, False]))
    assert not batch.liquid_spikes[0].any()
    assert (batch.liquid_neurons.v[0] == batch.config.v_rest_mV).all()
    torch.testing.assert_close(batch.weight, copy.weight, rtol=0, atol=0)


def digit_trials(agent, env, recordings, seed):
    """Readout spikes in one trial per (digit, index) of ``recordings`` (one network)."""
    counts = []
    for k, (digit, index) in enumerate(recordings):
        obs, _ = env.reset(seed=seed + k, options={"digit": digit, "index": index})
        agent.reset()
        n, done = 0, False
        while not done:
            action, _ = agent.predict(obs)
            n += int(action[0])
            obs, reward, terminated, truncated, _ = env.step(action)
            agent.observe(np.array([reward]), np.array([terminated]), np.array([truncated]), {})
            done = terminated or truncated
        counts.append(n)
    return counts


def learning_margin(learning, trials, seed=0, learning_rate=None):
    """Mean spikes for "two" minus mean spikes for "one" of the readout (3 presentations each, learning off) after
    ``trials`` alternating trials of one "one" and one "two" of a speaker with short recordings (1.2-s trials),
    with plasticity on or off."""
    env = gym.make("spikegym/SpokenDigits-v0", split="all", speakers=["nicolas"], trial_ms=1200.0)
    config = {"preset": PRESET} if learning_rate is None else {"preset": PRESET, "learning_rate": learning_rate}
    agent = make_agent("rstdp", env, seeds=[seed], config=config)
    pair = [(1, 0), (2, 0)]
    agent.train(learning)
    digit_trials(agent, env, pair * (trials // 2), seed=100)
    agent.eval()
    counts = np.array(digit_trials(agent, env, pair * 3, seed=0)).reshape(3, 2)
    return counts[:, 1].mean() - counts[:, 0].mean()


def test_learning_separates_two_recordings_on_a_small_budget():
    # measured: "two" minus "one" = -2.0 spikes with plasticity off, -1.0 after 24 trials of R-STDP (~50 s)
    margin_on = learning_margin(True, 24, learning_rate=60.0)
    margin_off = learning_margin(False, 0)  # plasticity off: the weights stay the initial ones
    assert margin_on > margin_off + 0.5, (margin_on, margin_off)


def test_the_rollout_records_the_liquids_spikes_for_its_raster(tmp_path):
    from train.loop import rollout
    from train.plots import plot_spike_probes

    env = gym.make_vec("spikegym/SpokenDigits-v0", num_envs=2, vectorization_mode="vector_entry_point", trial_ms=1300)
    agent = make_agent("rstdp", env, seeds=[0, 1], config={"preset": PRESET, "liquid_shape": [3, 3, 3]})
    record = rollout(env, agent, 1, seed=0, train=False, record_steps=True, reset_options=[{"digit": 2}]).episodes[0]
    assert record["hidden"].shape == (1300, 27) and record["hidden"].dtype == bool
    assert record["hidden"][:400].any()  # the utterance drives the liquid
    assert np.array_equal(record["hidden"][-1], agent.hidden_spikes()[agent.seeds.index(record["seed"])])
    readout = make_agent("rstdp", env, seeds=[0, 1], config={"preset": "legenstein2008-patterns"})
    assert readout.hidden_spikes() is None  # the readout alone has no hidden neurons
    (tmp_path / "summary.json").write_text('{"config": {"agent": "rstdp", "task": "spikegym/SpokenDigits-v0"}}')
    steps = {f"{when}_{key}": record[key][None] for when in ("before", "after") for key in ("actions", "observations")}
    np.savez(
        tmp_path / "probes.npz",
        names=np.array(['"two"']),
        dt_ms=np.array(1.0),
        after_hidden=record["hidden"][None],
        **steps,
    )
    assert plot_spike_probes(tmp_path).stat().st_size > 10_000
