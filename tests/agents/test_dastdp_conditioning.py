"""DA-STDP with an input pathway: spikes in (spikey's conditioning tasks) and stimulus groups (Izhikevich Fig. 2)."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import envs  # noqa: F401
from agents import make_agent
from agents.base import transition_info

FEEDFORWARD = {"preset": "spikey-conditioning"}


def agent_for(task="spikegym/Conditioning-v0", seeds=(0,), env_kwargs=None, **config):
    env = gym.make(task, **(env_kwargs or {}))
    return make_agent("dastdp", env, seeds=list(seeds), config={**FEEDFORWARD, **config})


def step(agent, inputs: np.ndarray, rewards=None):
    """One predict + observe per row of ``inputs`` ((T, B, n_inputs)); returns the actions (T, B, k)."""
    B = agent.batch_size
    actions = []
    for t, obs in enumerate(inputs):
        a, _ = agent.predict(obs.astype(np.float32))
        actions.append(a)
        reward = np.zeros(B) if rewards is None else rewards[t]
        agent.observe(reward, np.zeros(B, bool), np.zeros(B, bool), {})
    return np.stack(actions)


def test_the_feedforward_preset_is_100_inputs_onto_50_neurons_with_no_recurrence():
    agent = agent_for()
    assert agent.input_weight.shape == (1, 100, 50) and agent.n == 50 and agent.conn.weight.shape == (1, 50, 0)
    lo, hi = agent.config.input_weight_min, agent.config.input_weight_max
    assert lo <= agent.input_weight.min() and agent.input_weight.max() <= hi and agent.input_weight.std() > 0.1
    assert agent.metrics()["input_weight_mean"].shape == (1,)


@pytest.mark.parametrize("delay", [1, 2, 3])
def test_an_input_spike_reaches_every_excitatory_target_after_its_delay(delay):
    config = {"preset": "spikey-two-choice", "noise_amplitude": 0.0, "max_delay_ms": 3, "input_delay_ms": delay}
    task = "spikegym/TwoChoiceConditioning-v0"
    hit, control = agent_for(task, **config), agent_for(task, **config)
    hit.eval(), control.eval()
    inputs = np.zeros((6, 1, 100))
    inputs[0, 0, 7] = 1.0  # input neuron 7 spikes; the observation holds the spikes of the last ms
    moved = []
    for t in range(6):
        step(hit, inputs[t : t + 1])
        step(control, np.zeros((1, 1, 100)))
        moved.append((hit.state.v - control.state.v)[0])
    first = next(t for t, m in enumerate(moved) if m.any())
    assert first == delay - 1  # the spike of the last ms acts in the integration delay - 1 steps later
    assert bool((moved[first] > 0).all())  # every excitatory neuron is a target (a dense layer), depolarised
    w = hit.input_weight[0, 7]
    assert torch.corrcoef(torch.stack([w, moved[first]]))[0, 1] > 0.99  # in proportion to its weight


def test_competing_groups_inhibit_each_other_with_a_decaying_current():
    agent = agent_for("spikegym/TwoChoiceConditioning-v0", preset="spikey-two-choice", seeds=(0, 1))
    cfg = agent.config
    assert cfg.competing_groups == 2 and cfg.group_inhibition > 0
    spikes = torch.zeros(2, 60, dtype=torch.bool)
    spikes[0, [0, 5, 29]] = True  # network 0: three spikes in group A; network 1: one in group B
    spikes[1, 30] = True
    current = torch.zeros(2, 60)
    agent._inhibit_competitors(current, spikes)
    g = cfg.group_inhibition
    expected = torch.zeros(2, 60)
    expected[0, 30:], expected[1, :30] = -3 * g, -g  # the other group only, in proportion to the spikes
    torch.testing.assert_close(current, expected)
    for ms in range(1, 4):  # no more spikes: the current decays with group_inhibition_tau_ms
        current = torch.zeros(2, 60)
        agent._inhibit_competitors(current, torch.zeros_like(spikes))
        torch.testing.assert_close(current, expected * math.exp(-ms / cfg.group_inhibition_tau_ms))
    agent.reset(np.array([True, False]))
    assert agent.inhibitory_current[0].abs().sum() == 0 and agent.inhibitory_current[1].abs().sum() > 0
    with pytest.raises(ValueError, match="competing_groups"):
        agent_for(preset="spikey-two-choice", competing_groups=1)


def test_input_stdp_pre_before_post_tags_positively_and_post_before_pre_negatively():
    agent = agent_for(noise_amplitude=0.0)
    agent.input_tag.zero_()
    inputs = np.zeros((3, 1, 100))
    inputs[0, 0, 4] = 1.0  # input 4 spikes ...
    step(agent, inputs[:1])
    agent.state.v[0, 9] = 35.0  # ... and output neuron 9 one ms later
    step(agent, inputs[1:2])
    assert agent.input_tag[0, 4, 9].item() == pytest.approx(agent.config.a_plus * 0.95)
    assert torch.count_nonzero(agent.input_tag) == 1
    agent.input_tag.zero_()
    agent.state.v[0, 20] = 35.0  # output neuron 20 spikes ...
    step(agent, inputs[2:3])
    inputs[2, 0, 30] = 1.0  # ... and input 30 one ms later: tag -= A- * 0.95
    step(agent, inputs[2:3])
    assert agent.input_tag[0, 30, 20].item() == pytest.approx(-agent.config.a_minus * 0.95)


def test_input_weights_stay_within_0_and_w_max():
    agent = agent_for(seeds=(0, 1))
    agent.input_tag[0].fill_(1000.0)
    agent.input_tag[1].fill_(-1000.0)
    agent.dopamine.fill_(1.0)
    step(agent, np.zeros((10, 2, 100)))
    assert torch.all(agent.input_weight[0] == agent.config.w_max) and torch.all(agent.input_weight[1] == 0.0)


def test_learning_off_leaves_weights_and_tags_alone():
    agent = agent_for()
    w0 = agent.input_weight.clone()
    agent.eval()
    rng = np.random.default_rng(0)
    step(agent, rng.random((300, 1, 100)) < 0.2, rewards=np.ones((300, 1)))
    assert torch.equal(agent.input_weight, w0) and torch.count_nonzero(agent.input_tag) == 0
    assert agent.dopamine.item() == 0.0


def test_the_dopamine_baseline_tracks_the_mean_dopamine():
    agent = agent_for(dopamine_baseline_tau_s=0.5)
    rewards = np.zeros((3000, 1))
    rewards[::100] = 1.0  # 10 rewards per second of 0.5 each, decaying with tau_d = 0.2 s: mean d = 1
    step(agent, np.zeros((3000, 1, 100)), rewards=rewards)
    assert agent.dopamine_mean.item() == pytest.approx(1.0, abs=0.15)


def test_batched_networks_match_single_ones_and_checkpoints_continue_identically():
    rng = np.random.default_rng(1)
    inputs = (rng.random((400, 2, 100)) < 0.2).astype(np.float32)
    rewards = np.zeros((400, 2))
    rewards[99::100] = 1.0
    batched, alone = agent_for(seeds=(3, 4)), agent_for(seeds=(4,))
    a = step(batched, inputs, rewards)
    b = step(alone, inputs[:, 1:], rewards[:, 1:])
    np.testing.assert_array_equal(a[:, 1], b[:, 0])
    torch.testing.assert_close(batched.input_weight[1], alone.input_weight[0])
    clone = agent_for(seeds=(3, 4))
    clone.load_state_dict(batched.state_dict())
    np.testing.assert_array_equal(step(clone, inputs, rewards), step(batched, inputs, rewards))
    assert torch.equal(clone.input_weight, batched.input_weight) and torch.equal(clone.input_tag, batched.input_tag)
    assert torch.equal(clone.dopamine_mean, batched.dopamine_mean)


def test_a_stimulus_makes_its_whole_group_fire_within_the_ms():
    env = gym.make("spikegym/PavlovianConditioning-v0", n_watched=1000)
    agent = make_agent("dastdp", env, seeds=[0, 1], config={"preset": "izhikevich2007-pavlovian"})
    groups = agent.stimulus_groups
    assert groups.shape == (2, 100, 50) and bool((groups < 800).all())
    assert all(len(set(g.tolist())) == 50 for g in groups[0])
    agent.eval()
    obs = np.zeros((2, 100), np.float32)
    agent.predict(obs)
    obs[0, 5] = obs[1, 0] = 1.0
    agent.predict(obs)
    spikes, _ = agent.predict(np.zeros((2, 100), np.float32))
    for b, k in ((0, 5), (1, 0)):
        assert spikes[b, groups[b, k].numpy()].all()
    metrics = agent.metrics()
    assert {"stimulus1_weight_mean", "other_stimuli_weight_mean"} <= set(metrics)
    assert metrics["stimulus1_weight_mean"] == pytest.approx(1.0)


def test_stimulus_checkpoints_round_trip():
    env = gym.make("spikegym/PavlovianConditioning-v0", n_watched=160)
    config = {"preset": "izhikevich2007-pavlovian", "n_excitatory": 160, "n_inhibitory": 40, "fan_out": 20}
    config |= {"stimulus_group_size": 10}
    agent = make_agent("dastdp", env, seeds=[2], config=config)
    obs = np.zeros((300, 1, 100))
    obs[::50, 0, 0] = 1.0
    rewards = np.zeros((300, 1))
    rewards[20::50] = 1.0
    step(agent, obs, rewards)
    clone = make_agent("dastdp", env, seeds=[2], config=config)
    clone.load_state_dict(agent.state_dict())
    np.testing.assert_array_equal(step(clone, obs, rewards), step(agent, obs, rewards))
    assert torch.equal(clone.conn.weight, agent.conn.weight) and torch.equal(
        clone.stimulus_groups, agent.stimulus_groups
    )


def test_clear_errors_for_the_input_pathway():
    with pytest.raises(ValueError, match="input_mode"):
        agent_for(input_mode="rates")
    with pytest.raises(ValueError, match="input_delay_ms"):
        agent_for(input_delay_ms=2)  # max_delay_ms is 1
    with pytest.raises(ValueError, match="needs an input pathway"):
        agent_for(input_mode="none")


# -- learning on small fixed-seed budgets, against learning-off controls ------------------------------------------
REWARDED, UNREWARDED = [0, 3, 6, 9], [1, 2, 4, 5, 7, 8]


def conditioning(task: str, preset: str, seeds, **env_kwargs):
    venv = SyncVectorEnv([lambda: gym.make(task, **env_kwargs) for _ in seeds], autoreset_mode=AutoresetMode.SAME_STEP)
    return venv, make_agent("dastdp", venv, seeds=list(seeds), config={"preset": preset})


def play_episode(venv, agent, train: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One episode per network: mean output rate per state (B, n_states) and fraction of correct choices (B,)."""
    agent.train(train)
    B, n_states = agent.batch_size, venv.get_attr("n_states")[0]
    obs, _ = venv.reset(seed=seed)
    agent.reset()
    rates, counts, correct = np.zeros((B, n_states)), np.zeros((B, n_states)), np.zeros(B)
    done = np.zeros(B, bool)
    while not done.all():
        action, _ = agent.predict(obs)
        obs, reward, terminated, truncated, info = venv.step(action)
        agent.observe(reward, terminated, truncated, info)
        done |= terminated
        step = transition_info(info, terminated | truncated, batched=True)
        if "output_rate" in step:
            for b in np.flatnonzero(np.isfinite(step["output_rate"])):
                rates[b, step["state"][b]] += step["output_rate"][b]
                counts[b, step["state"][b]] += 1
                correct[b] += bool(step.get("correct", np.zeros(B, bool))[b])
    return rates / np.maximum(counts, 1), correct / counts.sum(axis=1)


def rewarded_over_unrewarded(rates: np.ndarray) -> np.ndarray:
    return rates[:, REWARDED].mean(axis=1) / rates[:, UNREWARDED].mean(axis=1)


def test_classical_conditioning_raises_the_rewarded_states_rates_and_learning_off_does_not():
    venv, agent = conditioning("spikegym/Conditioning-v0", "spikey-conditioning", seeds=[0])
    unlearned, _ = play_episode(venv, agent, False, seed=100)  # the same network before learning
    for episode in range(2):
        play_episode(venv, agent, True, seed=episode)
    learned, _ = play_episode(venv, agent, False, seed=100)
    assert rewarded_over_unrewarded(learned)[0] > 3.0
    assert 0.8 < rewarded_over_unrewarded(unlearned)[0] < 1.25


@pytest.mark.slow
def test_classical_conditioning_after_the_notebooks_5_episodes_is_5x_in_every_seed():
    venv, agent = conditioning("spikegym/Conditioning-v0", "spikey-conditioning", seeds=range(5))
    unlearned, _ = play_episode(venv, agent, False, seed=1000)
    for episode in range(5):
        play_episode(venv, agent, True, seed=10 * episode)
    learned, _ = play_episode(venv, agent, False, seed=2000)
    assert np.all(rewarded_over_unrewarded(learned) >= 5.0)
    assert np.all(np.abs(rewarded_over_unrewarded(unlearned) - 1.0) < 0.1)


@pytest.mark.slow
def test_two_choice_conditioning_beats_chance_and_the_learning_off_control():
    venv, agent = conditioning("spikegym/TwoChoiceConditioning-v0", "spikey-two-choice", seeds=[0, 1])
    _, unlearned = play_episode(venv, agent, False, seed=1000)
    for episode in range(20):
        play_episode(venv, agent, True, seed=10 * episode)
    _, learned = play_episode(venv, agent, False, seed=2000)
    assert np.all(learned >= 0.9) and np.all(learned >= unlearned + 0.3)


@pytest.mark.slow
def test_pavlovian_conditioning_strengthens_s1s_synapses_only_when_rewarded():
    """Two minutes of Izhikevich's Fig. 2: the weights out of S1's group pull ahead of the other groups'; with
    the same plasticity but no dopamine from the rewards (the control) they do not."""
    env = gym.make("spikegym/PavlovianConditioning-v0", duration_s=120)
    lead = {}
    for name, extra in (("rewarded", {}), ("control", {"reward_dopamine": 0.0})):
        agent = make_agent("dastdp", env, seeds=[0], config={"preset": "izhikevich2007-pavlovian", **extra})
        obs, _ = env.reset(seed=0)
        terminated = False
        while not terminated:
            action, _ = agent.predict(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            agent.observe(reward, terminated, truncated, info)
        groups = agent.metrics()
        lead[name] = float(groups["stimulus1_weight_mean"][0] - groups["other_stimuli_weight_mean"][0])
    assert lead["rewarded"] > 0.1 and abs(lead["control"]) < 0.03
