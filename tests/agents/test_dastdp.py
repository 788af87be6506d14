"""Izhikevich's DA-STDP agent against daspnet.m's mechanics."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents import make_agent

SMALL = {"n_excitatory": 80, "n_inhibitory": 20, "fan_out": 10}


def agent_for(seeds=(0,), **config):
    env = gym.make("spikegym/DistalReward-v0", duration_s=1)
    return make_agent("dastdp", env, seeds=list(seeds), config={**SMALL, **config})


def step(agent, n: int, reward: float = 0.0):
    obs = np.zeros((agent.batch_size, 0), np.float32)
    actions = []
    for _ in range(n):
        a, _ = agent.predict(obs)
        actions.append(a)
        agent.observe(
            np.full(agent.batch_size, reward), np.zeros(agent.batch_size, bool), np.zeros(agent.batch_size, bool), {}
        )
    return np.stack(actions)


def test_the_reinforced_synapse_starts_at_zero_and_its_neurons_are_watched():
    agent = agent_for(seeds=(0, 1, 2))
    n1, syn = agent.reinforced
    rows = torch.arange(3)
    assert torch.all(agent.reinforced_weight == 0)
    assert torch.equal(agent.watched[:, 0], n1) and torch.equal(agent.watched[:, 1], agent.conn.post[rows, n1, syn])
    assert torch.all(n1 < SMALL["n_excitatory"])
    weights = agent.excitatory_weights()
    assert torch.isnan(weights).sum() == 3 and torch.nanmean(weights) == 1.0


def test_a_reward_releases_dopamine_that_decays_with_tau_d():
    agent = agent_for()
    step(agent, 1, reward=1.0)
    released = agent.dopamine.item()
    assert released == pytest.approx(0.5)
    step(agent, 200)
    assert agent.dopamine.item() == pytest.approx(0.5 * math.exp(-1.0), rel=1e-4)


def test_weights_take_dopamine_times_tag_every_10_ms_and_stay_in_bounds():
    agent = agent_for(noise_amplitude=0.0)  # silent network: no spikes, so no STDP changes the tags
    step(agent, 1)
    agent.tag.zero_()
    agent.tag[0, 0, :] = 1.0
    agent.tag[0, 1, :] = -100.0
    agent.dopamine.fill_(1.0)
    w0 = agent.conn.weight[0, 0].clone()
    step(agent, 9)  # t = 10 ms: one update, after nine dopamine decays
    d = math.exp(-9 / 200)
    expected = (w0 + (d + 0.002) * 1.0).clamp(0, 4)
    torch.testing.assert_close(agent.conn.weight[0, 0], expected)
    assert torch.all(agent.conn.weight[0, 1] == 0.0)  # clipped at 0
    assert torch.allclose(agent.tag[0, 0], torch.full_like(agent.tag[0, 0], 0.99))  # tags decay at the update
    agent.tag[0, 0, :] = 1000.0
    step(agent, 10)
    assert torch.all(agent.conn.weight[0, 0] == 4.0)  # clipped at s_max
    assert torch.all(agent.conn.weight[0, SMALL["n_excitatory"] :] == -1.0)  # inhibitory weights are fixed


@pytest.mark.parametrize("how", ["torch operations", "fused steps", "fused block"])
def test_traces_tags_and_dopamine_decaying_below_tiny_become_zero(how):
    """Not subnormal floats, which a CPU handles some hundred times slower (``traces.flush_tiny_``)."""
    from agents.core.traces import TINY

    for start, zero in ((1.01 * TINY, True), (1e-20, False)):
        agent = agent_for(noise_amplitude=0.0, fused_cpu_step=how != "torch operations")  # silent: decays alone
        agent.trace.fill_(start)
        agent.tag.fill_(start)
        agent.dopamine.fill_(start)
        if how == "fused block":  # ten decays of the traces and the dopamine, one of the tags
            agent.predict_block(np.zeros((1, 10, 0), np.float32), np.zeros((1, 10)))
        else:
            step(agent, 10)
        for x in (agent.trace, agent.tag, agent.dopamine):
            assert bool((x == 0).all()) is zero
            assert not ((x != 0) & (x.abs() < TINY)).any()


def test_pre_before_post_spikes_tag_the_synapse_positively():
    agent = agent_for(noise_amplitude=0.0)
    j = 0
    i = int(agent.conn.post[0, j, 3])
    agent.tag.zero_()
    agent.state.v[0, j] = 35.0  # j spikes (detected at the start of the next step)
    step(agent, 1)
    agent.state.v[0, i] = 35.0  # i spikes 1 ms later
    step(agent, 1)
    assert agent.tag[0, j, 3].item() == pytest.approx(0.1 * 0.95)


def test_a_network_is_the_same_alone_or_in_a_batch_and_checkpoints_round_trip():
    batched, alone = agent_for(seeds=(4, 5)), agent_for(seeds=(5,))
    a = step(batched, 300, reward=0.0)
    b = step(alone, 300, reward=0.0)
    np.testing.assert_array_equal(a[:, 1], b[:, 0])
    torch.testing.assert_close(batched.conn.weight[1], alone.conn.weight[0])
    clone = agent_for(seeds=(4, 5))
    clone.load_state_dict(batched.state_dict())
    np.testing.assert_array_equal(step(clone, 200, reward=1.0), step(batched, 200, reward=1.0))


def test_clear_errors():
    with pytest.raises(ValueError, match="unknown DA-STDP parameter"):
        agent_for(fan_outt=3)
    with pytest.raises(ValueError, match="MultiBinary"):
        make_agent("dastdp", gym.make("spikegym/DNMS-v0"), seeds=[0])


def test_plastic_weights_are_the_excitatory_ones():
    agent = agent_for(seeds=(0, 1))
    weights = agent.plastic_weights()
    assert weights.shape == (2, SMALL["n_excitatory"] * SMALL["fan_out"])
    assert np.count_nonzero(weights == 0.0, axis=1).tolist() == [1, 1]  # the reinforced synapse starts at 0


@pytest.mark.parametrize(
    ("task", "config"),
    [
        ("spikegym/DistalReward-v0", {"preset": "izhikevich2007", **SMALL}),
        ("spikegym/PavlovianConditioning-v0", {"preset": "izhikevich2007-pavlovian"}),  # it watches 800 neurons
        ("spikegym/TwoChoiceConditioning-v0", {"preset": "spikey-two-choice", "fan_out": 10}),
    ],
)
def test_the_fused_cpu_kernels_equal_the_torch_operations_to_the_bit(task, config):
    """The compiled step (spikes, tags, delivery, neurons, traces, dopamine) against the torch operations on the
    same networks and the same env episodes, rewards and task inputs included (stimulus pulses, input spikes
    and their STDP, the competing groups' inhibition)."""
    from train.cli import make_env
    from train.loop import rollout

    kwargs = {"duration_s": 0.6} if "Distal" in task or "Pavlovian" in task else {"game_steps": 10}
    final = {}
    for fused in (True, False):
        env = make_env(task, 2, kwargs)
        agent = make_agent("dastdp", env, seeds=[3, 4], config={**config, "fused_cpu_step": fused})
        assert agent._fused is fused
        rollout(env, agent, 1, seed=0)
        final[fused] = agent.state_dict()["tensors"]
    assert final[True].keys() == final[False].keys()
    for key, value in final[False].items():
        assert torch.equal(final[True][key], value), key


@pytest.mark.parametrize("training", [True, False])
def test_a_block_equals_its_steps_to_the_bit(training):
    """``predict_block`` (the compiled block: K ms in one call, the background drawn inside) against K calls
    of ``predict`` and ``observe`` with the same rewards, on two networks, across weight updates."""
    agents = [agent_for(seeds=(3, 4), preset="izhikevich2007", max_delay_ms=5, **SMALL) for _ in range(2)]
    K = 1613  # not a multiple of the 10-ms weight update
    rewards = np.zeros((2, K))
    rewards[0, [5, 40, 41, 300]] = 1.0
    rewards[1, [100, 1612]] = [2.0, 1.0]
    obs = np.zeros((2, K, 0), np.float32)
    for agent in agents:
        agent.train(training)
        agent.predict_block(obs[:, :7], np.zeros((2, 7)))  # the blocks need not start at an update
    block = agents[0].predict_block(obs, rewards)
    assert agents[0]._fused and block.shape == (2, K, 2) and block.dtype == np.int8
    single = []
    for k in range(K):
        action, _ = agents[1].predict(obs[:, k])
        agents[1].observe(rewards[:, k], np.zeros(2, bool), np.zeros(2, bool), {})
        single.append(action)
    np.testing.assert_array_equal(block, np.stack(single, axis=1))
    first, second = agents[0].state_dict()["tensors"], agents[1].state_dict()["tensors"]
    for key, value in second.items():
        assert torch.equal(first[key], value), key
    assert agents[0].t == agents[1].t == K + 7
    assert block.any()  # the comparison saw spikes of the watched neurons
    if training:  # and the rewards moved the weights
        assert not torch.equal(first["weight"], agent_for(seeds=(3, 4), max_delay_ms=5).conn.weight)
    with pytest.raises(ValueError, match="rewards"):
        agents[0].predict_block(obs, rewards[:1])


def test_a_block_of_an_agent_without_the_compiled_block_is_its_steps():
    """The protocol's default ``predict_block`` (here the torch operations) is predict then observe per step."""
    agents = [agent_for(seeds=(1,), fused_cpu_step=False) for _ in range(2)]
    rewards = np.zeros((1, 40))
    rewards[0, 12] = 1.0
    block = agents[0].predict_block(np.zeros((1, 40, 0), np.float32), rewards)
    single = np.stack([step(agents[1], 1, reward=r)[0] for r in rewards[0]], axis=1)
    np.testing.assert_array_equal(block, single)
    assert torch.equal(agents[0].dopamine, agents[1].dopamine) and agents[0].dopamine.item() > 0


def test_a_block_of_stimulus_pulses_equals_its_steps_to_the_bit():
    """``predict_block`` with input_mode "stimulus" (Izhikevich's Fig. 2: a pulse into the stimulus's group)
    against ``predict`` and ``observe`` step by step, a reward after one of the stimuli."""
    env = gym.make("spikegym/PavlovianConditioning-v0", n_stimuli=4, n_watched=80, duration_s=1)
    config = {"preset": "izhikevich2007-pavlovian", **SMALL, "stimulus_group_size": 10}
    agents = [make_agent("dastdp", env, seeds=[5, 6], config=config) for _ in range(2)]
    K = 300
    observations = np.zeros((2, K, 4), np.float32)
    observations[0, [10, 120, 250], [0, 2, 0]] = 1.0
    observations[1, [60, 61], [3, 1]] = 1.0
    rewards = np.zeros((2, K))
    rewards[0, 200] = 1.0
    block = agents[0].predict_block(observations, rewards)
    single = []
    for k in range(K):
        action, _ = agents[1].predict(observations[:, k])
        agents[1].observe(rewards[:, k], np.zeros(2, bool), np.zeros(2, bool), {})
        single.append(action)
    np.testing.assert_array_equal(block, np.stack(single, axis=1))
    assert block.shape == (2, K, 80) and block[0, 11].sum() >= 10  # the pulse made its group fire
    first, second = agents[0].state_dict()["tensors"], agents[1].state_dict()["tensors"]
    for key, value in second.items():
        assert torch.equal(first[key], value), key
