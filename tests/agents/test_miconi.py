"""Miconi's rule against the paper's equations, its batching, reproducibility and checkpoints."""

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents import make_agent
from agents.core import rate_kernels
from agents.miconi import ELIGIBILITY_RULES, PRESETS, MiconiAgent, MiconiConfig

OBS = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
ACT = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)


def small(**overrides) -> MiconiConfig:
    values = dict(n_units=12, bias_units=(1, 2, 3), perturbation_probability=0.05)
    values.update(overrides)
    return MiconiConfig(**values)


def stimulus(steps: int, batch: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((steps, batch, 2)) < 0.3).astype(np.float32)


def run_trial(agent: MiconiAgent, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
    actions = []
    for t, o in enumerate(obs):
        a, _ = agent.predict(o, episode_start=np.full(agent.batch_size, t == 0), deterministic=deterministic)
        actions.append(a)
    return np.stack(actions)


def test_eligibility_is_the_papers_supralinear_trace():
    """e_ij = sum_t (r_j(t-1) * (x_i(t) - x_bar_i(t-1)))^3, from step 3 of the trial on."""
    cfg = small()
    agent = MiconiAgent(OBS, ACT, cfg, seeds=[3])
    obs = stimulus(40, 1)
    r_prev, xbar = None, None
    naive = torch.zeros(cfg.n_units, cfg.n_units)
    for t, o in enumerate(obs):
        agent.predict(o, episode_start=np.array([t == 0]))
        if t == 0:
            r_prev, xbar = None, None
        x, r = agent.state.x[0].clone(), agent.state.r[0].clone()
        if t >= cfg.eligibility_start_step:
            naive += torch.outer(x - xbar, r_prev) ** 3  # (post i, pre j)
        # the agent's x_bar after this step, and r(t) for the next step
        xbar = agent.x_bar[0].clone()
        r_prev = r
        if t == 0:  # x_bar(t=0) follows from x0 (reset sets x_bar = x0) and x(0)
            pass
    torch.testing.assert_close(agent.eligibility.read()[0].T, naive, rtol=1e-4, atol=1e-10)


def test_end_of_trial_update_is_clipped_reward_deviation_times_eligibility():
    cfg = small(learning_start_trials=1, learning_rate=500.0, initial_baseline=-0.5, max_weight_change=1e-3)
    agent = MiconiAgent(OBS, ACT, cfg, seeds=[0, 1])
    run_trial(agent, stimulus(30, 2))
    W0, e = agent.W.clone(), agent.eligibility.read().clone()
    agent.observe(np.array([-0.9, -0.9]), np.array([True, True]), np.array([False, False]), {"condition": ["AB", "AB"]})
    torch.testing.assert_close(agent.W, W0)  # trial 0 < learning_start_trials: no change
    assert agent.baseline[0, 0] == pytest.approx(0.75 * -0.5 + 0.25 * -0.9)

    run_trial(agent, stimulus(30, 2, seed=1))
    W0, e = agent.W.clone(), agent.eligibility.read().clone()
    R_bar = agent.baseline[:, 0].copy()
    R = np.array([-0.2, -1.4])
    agent.observe(R, np.array([True, True]), np.array([False, False]), {"condition": np.array(["AB", "AB"])})
    N = cfg.n_units
    for b in range(2):
        scale = cfg.learning_rate * abs(R_bar[b]) * (R[b] - R_bar[b])
        expected = (scale * e[b]).clamp(-cfg.max_weight_change, cfg.max_weight_change)
        torch.testing.assert_close(agent.W[b, :N] - W0[b, :N], expected, rtol=1e-4, atol=1e-7)  # float32 ulp
        assert (expected.abs() == cfg.max_weight_change).any()  # the clip was exercised
        torch.testing.assert_close(agent.W[b, N:], W0[b, N:])  # input weights are not plastic
    assert agent.eligibility.read().abs().sum() == 0  # a trial's trace is spent


def test_baselines_are_kept_per_condition():
    agent = MiconiAgent(OBS, ACT, small(), seeds=[0])
    for condition, reward in (("AA", -1.0), ("AB", -0.2), ("AA", -1.0)):
        run_trial(agent, stimulus(5, 1)[:, 0])
        agent.observe(reward, True, False, {"condition": condition})
    assert agent.conditions == ["AA", "AB"]
    assert agent.baseline[0, 0] == pytest.approx(0.25 * -1.0 * 0.75 + 0.25 * -1.0)
    assert agent.baseline[0, 1] == pytest.approx(0.25 * -0.2)


def test_a_network_is_the_same_alone_or_in_a_batch():
    cfg = small(learning_start_trials=0)
    batched = MiconiAgent(OBS, ACT, cfg, seeds=[5, 6, 7])
    alone = MiconiAgent(OBS, ACT, cfg, seeds=[6])
    for trial in range(3):
        obs = stimulus(25, 1, seed=trial)
        a_alone = run_trial(alone, obs[:, 0])
        a_batch = run_trial(batched, np.repeat(obs, 3, axis=1))
        np.testing.assert_allclose(a_batch[:, 1], a_alone, rtol=1e-5, atol=1e-6)
        alone.observe(-0.5 - trial / 10, True, False, {})
        batched.observe(np.full(3, -0.5 - trial / 10), np.ones(3, bool), np.zeros(3, bool), {})
    torch.testing.assert_close(batched.W[1], alone.W[0])


def test_same_seed_same_weights_and_actions():
    runs = []
    for _ in range(2):
        agent = MiconiAgent(OBS, ACT, small(learning_start_trials=0), seeds=[11, 12])
        actions = [run_trial(agent, stimulus(20, 2, seed=k)) for k in range(2)]
        agent.observe(np.array([-0.3, -0.7]), np.ones(2, bool), np.zeros(2, bool), {})
        runs.append((np.stack(actions), agent.W.clone()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    torch.testing.assert_close(runs[0][1], runs[1][1], rtol=0, atol=0)


def test_state_dict_round_trip_gives_identical_next_actions():
    cfg = small(learning_start_trials=0)
    agent = MiconiAgent(OBS, ACT, cfg, seeds=[1, 2])
    run_trial(agent, stimulus(15, 2))
    agent.observe(np.array([-0.4, -0.8]), np.ones(2, bool), np.zeros(2, bool), {"condition": ["AA", "AA"]})
    run_trial(agent, stimulus(7, 2, seed=3))  # stop mid-trial: neuron state, traces and noise all matter
    state = agent.state_dict()
    clone = MiconiAgent(OBS, ACT, cfg, seeds=[1, 2])
    clone.load_state_dict(state)
    torch.testing.assert_close(clone.W, agent.W, rtol=0, atol=0)
    obs = stimulus(30, 2, seed=4)
    for o in obs:
        np.testing.assert_array_equal(clone.predict(o)[0], agent.predict(o)[0])
    torch.testing.assert_close(clone.eligibility.read(), agent.eligibility.read(), rtol=0, atol=0)


def test_select_networks_extracts_one_seed():
    cfg = small()
    agent = MiconiAgent(OBS, ACT, cfg, seeds=[4, 8])
    single = MiconiAgent(OBS, ACT, cfg, seeds=[8])
    single.load_state_dict(agent.select_networks([1]))
    torch.testing.assert_close(single.W[0], agent.W[1])


def test_annarchy_preset_is_sparse_without_self_connections():
    agent = MiconiAgent(OBS, ACT, PRESETS["annarchy"], seeds=[0])
    J = agent.J[0]
    density = (J != 0).float().mean().item()
    assert 0.08 < density < 0.12
    assert torch.all(torch.diagonal(J) == 0)
    assert J[J != 0].std().item() == pytest.approx(1.5 / np.sqrt(0.1 * 200), rel=0.1)


def test_paper_preset_weights():
    agent = MiconiAgent(OBS, ACT, MiconiConfig(), seeds=[0])
    assert agent.J[0].std().item() == pytest.approx(1.5 / np.sqrt(200), rel=0.05)
    assert torch.all(agent.W_in[0, 0] == 0)  # the output unit gets no external input in the C++ code
    assert agent.W_in.abs().max() <= 1


def test_deterministic_predict_has_no_perturbations():
    agent = MiconiAgent(OBS, ACT, small(perturbation_probability=1.0, initial_x_range=0.0), seeds=[0])
    obs = stimulus(20, 1)
    quiet = run_trial(agent, obs[:, 0], deterministic=True)
    again = run_trial(agent, obs[:, 0], deterministic=True)
    np.testing.assert_array_equal(quiet, again)
    noisy = run_trial(agent, obs[:, 0], deterministic=False)
    assert np.abs(noisy - quiet).max() > 0.1


def test_eval_mode_changes_nothing():
    agent = MiconiAgent(OBS, ACT, small(learning_start_trials=0), seeds=[0]).eval()
    W0 = agent.W.clone()
    run_trial(agent, stimulus(20, 1)[:, 0])
    agent.observe(-0.1, True, False, {})
    torch.testing.assert_close(agent.W, W0, rtol=0, atol=0)
    assert agent.trials_done[0] == 0


@pytest.mark.parametrize("fused", [True, False])
def test_node_perturbation_trace(fused):
    """e_ij = sum_t r_j(t-1) xi_i(t), xi the step's perturbations (``perturbations``: the seed's Philox numbers)."""
    cfg = small(
        eligibility="node_perturbation", perturbation_start_step=0, eligibility_start_step=0, fused_cpu_step=fused
    )
    agent = MiconiAgent(OBS, ACT, cfg, seeds=[2])
    agent.reset()
    naive = torch.zeros(cfg.n_units, cfg.n_units)
    for o in stimulus(30, 1)[:, 0]:
        r_prev = agent.state.r[0].clone()
        xi = agent.perturbations(agent.clock, 1)[0, 0]
        agent.predict(o)
        naive += torch.outer(r_prev, xi)
    assert naive.abs().sum() > 0
    torch.testing.assert_close(agent.eligibility.read()[0], naive, rtol=1e-4, atol=1e-6)


def test_perturbations_are_sparse_uniform_and_a_function_of_seed_and_step():
    cfg = small(n_units=200, bias_units=(1, 10, 11), perturbation_probability=0.003)
    agent = MiconiAgent(OBS, ACT, cfg, seeds=[4, 9])
    xi = agent.perturbations(0, 2000)
    hit = xi != 0
    assert hit.float().mean().item() == pytest.approx(0.003, rel=0.1)
    assert xi.abs().max() <= cfg.perturbation_amplitude and xi[hit].mean().abs() < 1.0
    torch.testing.assert_close(agent.perturbations(500, 10), xi[:, 500:510], rtol=0, atol=0)
    alone = MiconiAgent(OBS, ACT, cfg, seeds=[9])
    torch.testing.assert_close(alone.perturbations(0, 2000)[0], xi[1], rtol=0, atol=0)
    assert not torch.equal(xi[0], xi[1])


def test_the_kernel_and_the_torch_operations_agree_to_rounding():
    """The compiled step (CPU default) and the torch operations (CUDA's): the same perturbations, the same
    equations; their float32 sums differ in order only."""
    obs = stimulus(60, 3, seed=2)
    results = []
    for fused in (True, False):
        agent = MiconiAgent(OBS, ACT, small(learning_start_trials=0, fused_cpu_step=fused), seeds=[0, 1, 2])
        assert agent._fused is fused
        actions = run_trial(agent, obs)
        e = agent.eligibility.read().clone()
        agent.observe(np.array([-0.2, -0.6, -1.0]), np.ones(3, bool), np.zeros(3, bool), {})
        quiet = run_trial(agent, obs, deterministic=True)
        results.append((actions, e, agent.W.clone(), quiet))
    (a_k, e_k, W_k, q_k), (a_t, e_t, W_t, q_t) = results
    np.testing.assert_allclose(a_k, a_t, atol=2e-5)
    torch.testing.assert_close(e_k, e_t, rtol=1e-3, atol=1e-6)
    torch.testing.assert_close(W_k, W_t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(q_k, q_t, atol=2e-5)


@pytest.mark.parametrize("eligibility", ELIGIBILITY_RULES)
def test_a_block_equals_its_steps_to_the_bit(eligibility):
    """``predict_block`` (the loop's blocks) against ``predict`` step by step: actions, neuron state, eligibility
    (a block crossing the accumulator's chunks) and the weights after the trial's update, equal to the bit."""
    cfg = small(learning_start_trials=0, initial_baseline=-0.5, eligibility=eligibility)
    obs = stimulus(700, 2, seed=6)
    runs = []
    for blocked in (True, False):
        agent = MiconiAgent(OBS, ACT, cfg, seeds=[3, 8])
        start = np.ones(2, bool)
        if blocked:
            first = agent.predict_block(obs[:3].transpose(1, 0, 2), np.zeros((2, 3)), episode_start=start)
            rest = agent.predict_block(obs[3:699].transpose(1, 0, 2), np.zeros((2, 696)))
            actions = np.concatenate([first, rest], axis=1).transpose(1, 0, 2)
        else:
            actions = np.stack(
                [agent.predict(o, episode_start=start if t == 0 else None)[0] for t, o in enumerate(obs[:699])]
            )
        last, _ = agent.predict(obs[699])
        state = {k: v.clone() for k, v in agent.state_dict()["tensors"].items()}
        agent.observe(np.array([-0.3, -0.9]), np.ones(2, bool), np.zeros(2, bool), {})
        runs.append((actions, last, state, agent.W.clone()))
    (a_b, l_b, s_b, W_b), (a_s, l_s, s_s, W_s) = runs
    np.testing.assert_array_equal(a_b, a_s)
    np.testing.assert_array_equal(l_b, l_s)
    for key, value in s_s.items():
        assert torch.equal(s_b[key], value), key
    assert torch.equal(W_b, W_s) and not torch.equal(W_b, MiconiAgent(OBS, ACT, cfg, seeds=[3, 8]).W)


def test_a_block_with_substeps_acts_every_env_step():
    cfg = small(learning_start_trials=0)
    blocked = MiconiAgent(OBS, ACT, cfg, seeds=[1], env_dt_ms=2.0)
    stepped = MiconiAgent(OBS, ACT, cfg, seeds=[1], env_dt_ms=2.0)
    obs = stimulus(40, 1, seed=3)
    actions = blocked.predict_block(obs.transpose(1, 0, 2), np.zeros((1, 40)), episode_start=np.ones(1, bool))
    expected = run_trial(stepped, obs)
    np.testing.assert_array_equal(actions[0], expected[:, 0])
    assert blocked.clock == stepped.clock == 80


def test_block_rejects_bad_input():
    agent = MiconiAgent(OBS, ACT, small(), seeds=[0, 1])
    with pytest.raises(ValueError, match=r"observations \(B, K, 2\) and rewards \(B, K\)"):
        agent.predict_block(np.zeros((2, 5, 3), np.float32), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="NaN"):
        agent.predict_block(np.full((2, 5, 2), np.nan, np.float32), np.zeros((2, 5)))


def test_the_kernels_tanh_is_within_3e_8_of_the_exact_value():
    x = np.concatenate([np.linspace(-12, 12, 400_001), np.geomspace(1e-12, 1e-2, 1001)]).astype(np.float32)
    out = np.empty_like(x)
    rate_kernels.tanh_into(out, x)
    exact = np.tanh(x.astype(np.float64))
    assert np.abs(out - exact).max() <= 3e-8
    small_x = np.abs(x) < 1e-2
    assert np.all(np.abs(out[small_x] - exact[small_x]) <= 6e-8 * np.abs(exact[small_x]))
    assert np.all(np.abs(out) <= 1) and np.all(np.sign(out) == np.sign(x))


def test_clear_errors():
    with pytest.raises(ValueError, match="unknown Miconi parameter"):
        MiconiConfig.from_dict({"learning_rat": 0.1})
    with pytest.raises(ValueError, match="unknown Miconi preset"):
        MiconiConfig.from_dict({"preset": "nope"})
    with pytest.raises(ValueError, match="connection_probability"):
        MiconiConfig(connection_probability=0.0)
    with pytest.raises(ValueError, match="Box action space"):
        MiconiAgent(OBS, spaces.Discrete(2), small())
    agent = MiconiAgent(OBS, ACT, small(), seeds=[0, 1])
    with pytest.raises(ValueError, match="expects shape"):
        agent.predict(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        agent.predict(np.full((2, 2), np.nan, np.float32))
    with pytest.raises(ValueError, match="unknown agent"):
        make_agent("hebbian-magic", None)
    other = MiconiAgent(OBS, ACT, small(), seeds=[5])
    with pytest.raises(ValueError, match="seeds"):
        other.load_state_dict(agent.state_dict())


def test_dense_without_self_connections_masks_only_the_diagonal():
    agent = MiconiAgent(OBS, ACT, small(self_connections=False, learning_start_trials=0, learning_rate=50.0), seeds=[0])
    assert torch.all(torch.diagonal(agent.J[0]) == 0) and (agent.J[0] != 0).float().mean() > 0.9
    run_trial(agent, stimulus(30, 1)[:, 0])
    agent.observe(-0.5, True, False, {})
    run_trial(agent, stimulus(30, 1, seed=1)[:, 0])
    agent.observe(-0.1, True, False, {})
    assert torch.all(torch.diagonal(agent.J[0]) == 0)  # learning keeps absent synapses absent
