"""Legenstein's reward-modulated STDP agent: the readout of simulation 4 and the recurrent network of simulation 1."""

import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents import make_agent
from agents.core import CondLIFState, alpha_init, alpha_step, cond_lif_init, cond_lif_step, trace_decay, trace_spike
from agents.core.noise import BatchGenerators
from agents.rstdp import RSTDPConfig, pairings, psp_peak_mV

SMALL_RECURRENT = {
    "preset": "legenstein2008-biofeedback",
    "n_neurons": 200,
    "connection_probability": 0.1,
    "warmup_ms": 0.0,
}


def readout(seeds=(0,), n_channels=20, **config):
    env = gym.make("spikegym/SpikePatterns-v0", n_channels=n_channels)
    return make_agent("rstdp", env, seeds=list(seeds), config=config), env


def recurrent(seeds=(0,), **config):
    env = gym.make("spikegym/Biofeedback-v0", n_watched=5, duration_s=1)
    return make_agent("rstdp", env, seeds=list(seeds), config={**SMALL_RECURRENT, **config})


def run(agent, n, obs=None, reward=0.0, seed_obs=0):
    rng = np.random.default_rng(seed_obs)
    B = agent.batch_size
    shape = agent.observation_space.shape
    actions = []
    for _ in range(n):
        o = (rng.random((B, *shape)) < 0.02).astype(np.float32) if obs is None else obs
        a, _ = agent.predict(o)
        actions.append(a)
        agent.observe(np.full(B, reward), np.zeros(B, bool), np.zeros(B, bool), {})
    return np.stack(actions)


def test_w_exc_gives_the_asked_psp_at_rest():
    cfg = RSTDPConfig(background_scale=0.0)
    p = cfg.neuron()
    assert psp_peak_mV(cfg.w_exc, p) == pytest.approx(cfg.psp_fraction * (cfg.v_th_mV - cfg.v_rest_mV))
    assert cfg.w_max == pytest.approx(2.5 * cfg.w_exc) and cfg.a_minus == pytest.approx(1.05 * cfg.a_plus)
    # the conductance-based neuron, no noise, one conductance jump of w_exc: its PSP peak (the driving force
    # shrinks as v rises, so a little below the current-based value)
    gens = BatchGenerators([0])
    state = cond_lif_init(1, 1, p, dtype=torch.float64)
    state = CondLIFState(*(x for x in state))
    peak, dt = -math.inf, 0.05
    for k in range(2000):
        g = torch.full((1, 1), cfg.w_exc if k == 0 else 0.0, dtype=torch.float64)
        _, state = cond_lif_step(g, 0.0, state, p, dt, gens, background_scale=0.0)
        peak = max(peak, state.v.item())
    assert peak - p.E_L_mV == pytest.approx(cfg.psp_fraction * 11.0, rel=0.05)


def test_the_patterns_preset_weighs_for_5_ms_synapses_that_decay_with_3_ms():
    """compsim4 computes w_exc for 5-ms synapses but leaves its readout's synapses at PCSIM's default of 3 ms."""
    cfg = RSTDPConfig.from_dict({"preset": "legenstein2008-patterns"})
    assert cfg.neuron().tau_e_ms == 3.0
    five = dataclasses.replace(cfg.neuron(), tau_e_ms=5.0)
    assert psp_peak_mV(cfg.w_exc, five) == pytest.approx(cfg.psp_fraction * (cfg.v_th_mV - cfg.v_rest_mV))
    assert psp_peak_mV(cfg.w_exc, cfg.neuron()) < 0.7 * psp_peak_mV(cfg.w_exc, five)
    with pytest.raises(ValueError, match="w_exc_tau_syn_ms"):
        RSTDPConfig(w_exc_tau_syn_ms=0.0)


@pytest.mark.parametrize("lag", [1, 5, 30, 60])
def test_the_pairings_are_the_stdp_window(lag):
    """One pre and one post spike ``lag`` ms apart, both orders: impulses A+ e^{-lag/tau+} and -A- e^{-lag/tau-}."""
    cfg = RSTDPConfig()
    decay = math.exp(-1.0 / cfg.tau_plus_ms)
    for pre_first in (True, False):
        x, y, total = torch.zeros(1, 1), torch.zeros(1, 1), 0.0
        for t in range(lag + 1):  # the agent's order: decay, pair, add the spikes
            pre = torch.tensor([[t == (0 if pre_first else lag)]])
            post = torch.tensor([[t == (lag if pre_first else 0)]])
            x, y = trace_decay(x, decay), trace_decay(y, decay)
            total += pairings(x, y, pre.float(), post.float(), cfg.a_plus, cfg.a_minus).item()
            x, y = trace_spike(x, pre, 1.0), trace_spike(y, post, 1.0)
        expected = cfg.a_plus * decay**lag if pre_first else -cfg.a_minus * decay**lag
        assert total == pytest.approx(expected, rel=1e-5)


def test_reward_times_eligibility_moves_weights_within_bounds_and_not_when_learning_is_off():
    agent, _ = readout()
    state = alpha_step(torch.ones(1, 20, 1), alpha_init((1, 20, 1)), 1.0, agent.config.tau_e_ms)
    agent.eligibility = alpha_step(0.0, state, 1.0, agent.config.tau_e_ms)  # c > 0 one step after the impulse
    agent.eligibility.y2[0, 10:] *= -1.0
    w0 = agent.weight.clone()
    agent.observe(np.array([1.0]), np.zeros(1, bool), np.zeros(1, bool), {})
    grew = agent.weight - w0
    assert torch.all(grew[0, :10] >= 0) and torch.all(grew[0, 10:] <= 0) and grew.abs().sum() > 0
    agent.eligibility.y2.fill_(1e6)
    agent.observe(np.array([1.0]), np.zeros(1, bool), np.zeros(1, bool), {})
    assert torch.allclose(agent.weight, torch.full_like(agent.weight, agent.config.w_max))
    agent.eval()
    agent.eligibility.y2.fill_(-1e6)
    agent.observe(np.array([1.0]), np.zeros(1, bool), np.zeros(1, bool), {})
    assert torch.allclose(agent.weight, torch.full_like(agent.weight, agent.config.w_max))


def test_reward_strengthens_the_inputs_whose_spikes_precede_the_readouts_and_punishment_weakens_them():
    """Channels 0-9 fire together every 40 ms and make the readout fire just after; channels 10-49 fire at
    random. A positive reward signal raises the synchronous group's weights relative to the others'; a
    negative one lowers them (the credit goes to the pre-before-post pairings)."""
    rng = np.random.default_rng(1)
    inputs = (rng.random((3000, 50)) < 0.005).astype(np.float32)
    inputs[::40, :10] = 1.0
    inputs[:, :10][np.arange(3000) % 40 != 0] = 0.0
    relative = {}
    for sign in (1.0, -1.0):
        agent, _ = readout(seeds=(3,), n_channels=50, learning_rate=100.0, psp_fraction=0.5, tau_syn_ms=5.0)
        w0 = agent.weight[0, :, 0].clone()
        fired = 0
        for obs in inputs:
            a, _ = agent.predict(obs)
            fired += int(a[0])
            agent.observe(np.array([sign]), np.zeros(1, bool), np.zeros(1, bool), {})
        assert fired > 20
        change = agent.weight[0, :, 0] - w0
        relative[sign] = (change[:10].mean() - change[10:].mean()).item()
    assert relative[1.0] > 0 > relative[-1.0]


def test_readout_alone_equals_readout_in_a_batch_and_checkpoints_round_trip():
    batch, _ = readout(seeds=(4, 5))
    alone, _ = readout(seeds=(5,))
    rng = np.random.default_rng(0)
    for _ in range(300):
        obs = (rng.random((2, 20)) < 0.05).astype(np.float32)
        a2, _ = batch.predict(obs)
        a1, _ = alone.predict(obs[1])
        assert a2[1] == a1[0]
        batch.observe(np.ones(2), np.zeros(2, bool), np.zeros(2, bool), {})
        alone.observe(np.ones(1), np.zeros(1, bool), np.zeros(1, bool), {})
    torch.testing.assert_close(batch.weight[1], alone.weight[0])
    state = batch.state_dict()
    copy, _ = readout(seeds=(4, 5))
    copy.load_state_dict(state)
    np.testing.assert_array_equal(run(batch, 200, seed_obs=2), run(copy, 200, seed_obs=2))
    torch.testing.assert_close(batch.weight, copy.weight, rtol=0, atol=0)


def test_recurrent_network_structure():
    agent = recurrent(seeds=(0, 1))
    cfg, n_e = agent.config, agent.n_e
    assert n_e == 160
    post, plastic, w = agent.conn.post, agent.plastic, agent.conn.weight
    rows = torch.arange(agent.n)[None, :, None]
    assert torch.all(post[plastic] < n_e) and torch.all(rows.expand_as(post)[plastic] < n_e)
    assert torch.allclose(w[plastic], torch.tensor(0.5 * cfg.w_max))
    # the reinforced (first watched) neuron: excitatory, from the low-noise half; the others distinct from it
    reinforced = agent.watched[:, 0]
    assert torch.all(reinforced < n_e)
    assert not agent.high_noise[torch.arange(2), reinforced].any()
    assert agent.high_noise.sum(1).tolist() == [100, 100]
    for b in range(2):
        assert len(set(agent.watched[b].tolist())) == 5
    # compsim1's wiring: probability p, times 0.4 onto the high-noise half (from every neuron), times 1.2 from
    # inhibitory onto excitatory and 0.8 from inhibitory onto inhibitory neurons; 1000 draws per network and type
    agent = recurrent(seeds=(0, 1), n_neurons=400)
    n, n_e, post, w = agent.n, agent.n_e, agent.conn.post, agent.conn.weight
    connected = torch.zeros(2, n, n).scatter_(2, post, (w > 0).float()) > 0  # (B, pre, post)
    exc = torch.arange(n) < n_e
    for pre_e, post_e, factor in ((True, True, 1.0), (True, False, 1.0), (False, True, 1.2), (False, False, 0.8)):
        for high, noise_factor in ((False, 1.0), (True, 0.4)):
            pre = exc if pre_e else ~exc
            to = (exc if post_e else ~exc)[None, :] & (agent.high_noise if high else ~agent.high_noise)
            pairs = pre[None, :, None] & to[:, None, :]
            measured = connected[pairs].float().mean().item()
            expected = 0.1 * noise_factor * factor
            assert measured == pytest.approx(expected, abs=4 * math.sqrt(expected / pairs.sum().item())), (
                pre_e,
                post_e,
                high,
            )


def test_the_inhibitory_weight_gives_1_4_times_the_excitatory_psp():
    """compsim1 weighs each synapse with its own driving force: w_inh's IPSP at rest is 1.4 times w_exc's EPSP,
    so w_inh = 1.4 x 70 mV / 5 mV x w_exc."""
    agent = recurrent()
    cfg, p = agent.config, agent.config.neuron()
    assert psp_peak_mV(cfg.w_inh, p, inhibitory=True) == pytest.approx(1.4 * psp_peak_mV(cfg.w_exc, p))
    assert cfg.w_inh == pytest.approx(1.4 * 70.0 / 5.0 * cfg.w_exc)
    pre_inhibitory = (torch.arange(agent.n) >= agent.n_e)[None, :, None].expand_as(agent.conn.weight)
    real = agent.conn.weight > 0
    assert torch.allclose(agent.conn.weight[real & pre_inhibitory], torch.tensor(cfg.w_inh))
    assert torch.allclose(agent.conn.weight[real & ~pre_inhibitory & ~agent.plastic], torch.tensor(cfg.w_exc))


def test_recurrent_alone_equals_in_a_batch_learns_and_checkpoints_round_trip():
    batch = recurrent(seeds=(7, 8), learning_rate=3000.0)
    alone = recurrent(seeds=(8,), learning_rate=3000.0)
    obs2, obs1 = np.zeros((2, 0), np.float32), np.zeros((1, 0), np.float32)
    for _ in range(400):
        a2, _ = batch.predict(obs2)
        a1, _ = alone.predict(obs1)
        np.testing.assert_array_equal(a2[1], a1[0])
        batch.observe(np.ones(2), np.zeros(2, bool), np.zeros(2, bool), {})
        alone.observe(np.ones(1), np.zeros(1, bool), np.zeros(1, bool), {})
    batch.eligibility.flush()
    alone.eligibility.flush()
    torch.testing.assert_close(batch.conn.weight[1], alone.conn.weight[0])
    assert not torch.allclose(batch.conn.weight[batch.plastic], torch.tensor(0.5 * batch.config.w_max))
    fixed = ~batch.plastic & (batch.conn.weight > 0)
    assert torch.all(batch.conn.weight[fixed] == recurrent(seeds=(7, 8)).conn.weight[fixed])
    assert torch.all((batch.conn.weight[batch.plastic] >= 0) & (batch.conn.weight[batch.plastic] <= batch.config.w_max))
    state = batch.state_dict()
    copy = recurrent(seeds=(7, 8), learning_rate=3000.0)
    copy.load_state_dict(state)
    np.testing.assert_array_equal(run(batch, 200, reward=1.0), run(copy, 200, reward=1.0))
    batch.eligibility.flush()
    copy.eligibility.flush()
    torch.testing.assert_close(batch.conn.weight, copy.conn.weight, rtol=0, atol=0)
    metrics = batch.metrics()
    assert set(metrics) == {
        "reinforced_input_weight_of_max",
        "other_weight_of_max",
        "reinforced_rate_hz",
        "excitatory_rate_hz",
        "inhibitory_rate_hz",
    }
    assert np.all(metrics["excitatory_rate_hz"] > 0) and batch.metrics()["excitatory_rate_hz"].tolist() == [0.0, 0.0]


def test_clear_errors():
    env = gym.make("spikegym/SpikePatterns-v0")
    with pytest.raises(ValueError, match="unknown R-STDP preset"):
        make_agent("rstdp", env, config={"preset": "nope"})
    with pytest.raises(ValueError, match="unknown R-STDP parameter"):
        make_agent("rstdp", env, config={"tau_e": 1})
    with pytest.raises(ValueError, match="network must be one of"):
        make_agent("rstdp", env, config={"network": "ring"})
    with pytest.raises(ValueError, match="observation must be empty"):
        make_agent("rstdp", env, config=SMALL_RECURRENT)
    with pytest.raises(ValueError, match="MultiBinary action"):
        make_agent("rstdp", gym.make("spikegym/DNMS-v0"))


def test_no_plasticity_during_the_warmup():
    agent = recurrent(learning_rate=3000.0, warmup_ms=300.0)
    w0 = agent.conn.weight.clone()
    run(agent, 300, reward=1.0)
    agent.eligibility.flush()
    assert torch.equal(agent.conn.weight, w0)
    run(agent, 300, reward=1.0)
    agent.eligibility.flush()
    assert not torch.equal(agent.conn.weight, w0)


@pytest.mark.slow
def test_biofeedback_raises_the_reinforced_neurons_rate_and_learning_off_does_not():
    """Two and a half minutes of computer simulation 1 with the shipped preset: the reinforced neuron's rate over
    the last 30 s is at least 1.5 times that over the first 30 s, the weights onto it rise and the population's
    rate stays within 20%; with plasticity off (the control) its rate does not rise."""
    env = gym.make("spikegym/Biofeedback-v0", duration_s=150)
    found = {}
    for name, learning in (("learning", True), ("control", False)):
        agent = make_agent("rstdp", env, seeds=[0], config={"preset": "legenstein2008-biofeedback"})
        agent.train(learning)
        obs, _ = env.reset(seed=0)
        windows, terminated, step = [], False, 0
        while not terminated:
            action, _ = agent.predict(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            agent.observe(reward, terminated, truncated, info)
            step += 1
            if step in (30_000, 120_000, 150_000):
                windows.append(agent.metrics())
        first, _, last = windows
        found[name] = {k: (float(first[k][0]), float(last[k][0])) for k in first}
    rate, population = found["learning"]["reinforced_rate_hz"], found["learning"]["excitatory_rate_hz"]
    assert rate[1] >= 1.5 * rate[0], found
    assert abs(population[1] / population[0] - 1.0) < 0.2, found
    weights = found["learning"]["reinforced_input_weight_of_max"]
    assert weights[1] > weights[0] + 0.03, found
    control = found["control"]["reinforced_rate_hz"]
    assert control[1] < 1.3 * control[0], found
