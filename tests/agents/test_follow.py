"""FOLLOW (Gilra & Gerstner 2017): the rule against its equation, the exact low-rank weights against the naive
N x N update, the switches of the test phases, the fused kernel against the torch path, checkpoints, learning."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import envs  # noqa: F401
from agents import make_agent
from agents.core import nef_kernels
from agents.core.neurons import nef_lif_init, nef_lif_step
from agents.follow import FollowAgent, FollowConfig
from train.loop import rollout

OBS = spaces.Box(-0.2, 0.2, shape=(2,), dtype=np.float32)
ACT = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
TINY = {"n_input_neurons": 40, "n_neurons": 30, "learning_rate": 2.0}


def tiny_agent(seeds=(0,), **overrides) -> FollowAgent:
    return FollowAgent(OBS, ACT, FollowConfig.from_dict({**TINY, **overrides}), seeds=seeds)


def drive(agent: FollowAgent, steps: int, seed: int = 0, clamp_every: int = 0):
    """Random inputs and targets (a slow random walk), optionally a clamp now and then; returns the actions."""
    rng = np.random.default_rng(seed)
    target = np.zeros((agent.batch_size, 2))
    actions = []
    for t in range(steps):
        u = rng.uniform(-0.2, 0.2, size=(agent.batch_size, 2)).astype(np.float32)
        action, _ = agent.predict(u if agent.batch_size > 1 else u[0])
        actions.append(np.array(action))
        target = np.clip(target + rng.normal(0, 0.02, size=target.shape), -0.8, 0.8)
        clamped = np.full(agent.batch_size, bool(clamp_every and (t // clamp_every) % 4 == 3))
        info = {"target": target.astype(np.float32), "clamped": clamped}
        if agent.batch_size == 1:
            info = {"target": info["target"][0], "clamped": bool(clamped[0])}
        agent.observe(
            np.zeros(agent.batch_size), np.zeros(agent.batch_size, bool), np.zeros(agent.batch_size, bool), info
        )
    return np.array(actions)


class NaiveFollow:
    """FOLLOW as the paper writes it: dense N x N_ff and N x N weights from 0, each changed every step by
    ``dw_ij = -eta dt / N_pre (nu_i e_i / R) . eps_w s_j``; the currents ``w s - k nu e . eps_fb / R + b``."""

    def __init__(self, agent: FollowAgent) -> None:
        cfg = agent.config
        self.agent, self.cfg = agent, cfg
        self.enc_in = agent.input_ensemble.scaled_encoders[0]  # (N_ff, D_in)
        self.enc_out = agent.output_ensemble.scaled_encoders[0]  # (N, D)
        self.b_in, self.b_out = agent.input_ensemble.bias[0], agent.output_ensemble.bias[0]
        self.dec = agent.decoders[0]
        self.w_ff = torch.zeros(cfg.n_neurons, cfg.n_input_neurons, dtype=torch.float64)
        self.w = torch.zeros(cfg.n_neurons, cfg.n_neurons, dtype=torch.float64)
        self.state = nef_lif_init(1, cfg.n_input_neurons + cfg.n_neurons, dtype=torch.float64)
        self.s = torch.zeros(cfg.n_input_neurons + cfg.n_neurons, dtype=torch.float64)
        self.pred = torch.zeros(2, dtype=torch.float64)
        self.ref, self.fb, self.err_w, self.err_rule = (np.zeros(2) for _ in range(4))
        self.clamp, self.clamped = 0.0, False
        a = lambda tau: math.exp(-cfg.dt_ms / tau) if tau > 0 else 0.0  # noqa: E731
        self.a_syn, self.a_ref, self.a_fb = a(cfg.synapse_ms), a(cfg.reference_synapse_ms), a(cfg.feedback_synapse_ms)
        self.a_err, self.a_rule, self.a_clamp = a(cfg.error_synapse_ms), a(cfg.rule_synapse_ms), a(cfg.clamp_synapse_ms)

    def predict(self, u: np.ndarray) -> np.ndarray:
        cfg, n_ff, dt = self.cfg, self.cfg.n_input_neurons, 0.001
        self.clamp = self.a_clamp * self.clamp + (1 - self.a_clamp) * cfg.clamp_current * self.clamped
        s_ff, s = self.s[:n_ff], self.s[n_ff:]
        j_ff = self.enc_in @ torch.as_tensor(u, dtype=torch.float64) + self.b_in
        fb = torch.as_tensor(self.fb)
        j = self.w_ff @ s_ff + self.w @ s - cfg.feedback_gain * (self.enc_out @ fb) + self.b_out
        current = torch.cat((j_ff, j))[None] + self.clamp
        spikes, self.state = nef_lif_step(current, self.state, self.agent.neuron, dt)
        spikes = spikes[0].to(torch.float64)
        self.s = self.a_syn * self.s + (1 - self.a_syn) / dt * spikes
        self.pred = self.a_syn * self.pred + (1 - self.a_syn) * (self.dec.T @ spikes[n_ff:]) / dt
        return (self.pred / cfg.output_radius).numpy()

    def observe(self, target: np.ndarray, clamped: bool) -> None:
        cfg, n_ff, dt = self.cfg, self.cfg.n_input_neurons, 0.001
        self.clamped = clamped
        self.ref = self.a_ref * self.ref + (1 - self.a_ref) * target * cfg.output_radius
        error = (self.pred.numpy() - self.ref) * (not clamped)
        self.fb = self.a_fb * self.fb + (1 - self.a_fb) * error
        self.err_w = self.a_err * self.err_w + (1 - self.a_err) * error
        self.err_rule = self.a_rule * self.err_rule + (1 - self.a_rule) * self.err_w * (not clamped)
        local = self.enc_out @ torch.as_tensor(self.err_rule)  # nu_i e_i . eps_w / R, per postsynaptic neuron
        self.w_ff -= cfg.learning_rate * dt / cfg.n_input_neurons * torch.outer(local, self.s[:n_ff])
        self.w -= cfg.learning_rate * dt / cfg.n_neurons * torch.outer(local, self.s[n_ff:])


def test_the_exact_low_rank_weights_equal_the_naive_per_step_update():
    agent = tiny_agent()
    naive = NaiveFollow(agent)
    rng = np.random.default_rng(3)
    target = np.zeros(2)
    for t in range(600):
        u = rng.uniform(-0.2, 0.2, size=2).astype(np.float32)
        action, _ = agent.predict(u)
        np.testing.assert_allclose(action, naive.predict(u), atol=1e-6)
        target = np.clip(target + rng.normal(0, 0.03, size=2), -0.8, 0.8)
        clamped = (t // 50) % 4 == 3
        agent.observe(0.0, False, False, {"target": target.astype(np.float32), "clamped": clamped})
        naive.observe(target.astype(np.float32).astype(np.float64), clamped)
    w_ff, w = agent.weights()
    assert float(naive.w.abs().max()) > 1e-3  # the weights did move
    torch.testing.assert_close(w_ff[0], naive.w_ff, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(w[0], naive.w, rtol=1e-9, atol=1e-12)
    assert torch.linalg.matrix_rank(w[0]) <= 2  # rank D: the weights live in the span of the encoders


def test_one_update_is_the_paper_equation():
    """dw_ij = -eta dt / N_pre (nu_i e_i / R) . eps_w s_j, for one step with a known error and traces."""
    agent = tiny_agent(learning_rate=0.5)
    agent.trace[0, :, 0] = torch.linspace(0.0, 50.0, agent.n_total, dtype=torch.float64)
    agent.rule_error[:] = 0.0
    agent.learning_error[0] = [0.3, -0.2]  # the rule's 1-ms filter takes (1 - a) of it this step
    w_ff0, w0 = (w.clone() for w in agent.weights())
    agent._learn(np.zeros((1, 2)))  # target 0 and prediction 0: no new error, only the filtered one acts
    a_rule = math.exp(-1.0)
    a_err = math.exp(-1.0 / 200.0)
    eps_w = (1 - a_rule) * a_err * np.array([0.3, -0.2])
    local = agent.output_ensemble.scaled_encoders[0] @ torch.as_tensor(eps_w)
    s = agent.trace[0, :, 0]
    n_ff, n = agent.config.n_input_neurons, agent.config.n_neurons
    w_ff1, w1 = agent.weights()
    torch.testing.assert_close(w_ff1[0] - w_ff0[0], -0.5 * 0.001 / n_ff * torch.outer(local, s[:n_ff]))
    torch.testing.assert_close(w1[0] - w0[0], -0.5 * 0.001 / n * torch.outer(local, s[n_ff:]))


def test_feedback_off_means_no_learning():
    agent = tiny_agent()
    agent.feedback = False  # a test phase while plasticity is on: the error reaches neither the neurons nor the rule
    drive(agent, 300)
    assert float(agent.M.abs().max()) == 0.0
    agent.feedback = None  # back to the default: on while training
    drive(agent, 300)
    assert float(agent.M.abs().max()) > 0.0
    learned = agent.M.clone()
    agent.eval()  # eval(): plasticity and feedback off
    assert not agent.feedback_on
    drive(agent, 300)
    assert torch.equal(agent.M, learned)


@pytest.mark.parametrize("fused", [True, False])
def test_frozen_recurrent_weights_stay_zero_while_the_feedforward_ones_learn(fused):
    if fused and not nef_kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    agent = tiny_agent(plastic_recurrent=False, fused_cpu_step=fused)
    drive(agent, 300)
    assert float(agent.M_ff.abs().max()) > 0.0
    assert float(agent.M_rec.abs().max()) == 0.0
    plastic = tiny_agent(fused_cpu_step=fused)  # the default: both learn
    drive(plastic, 300)
    assert float(plastic.M_rec.abs().max()) > 0.0


def test_input_gains_scale_the_observation_before_it_is_encoded():
    gained = tiny_agent(input_gains=[2.0, -0.5])
    plain = tiny_agent()  # the same seed: the same ensembles
    rng = np.random.default_rng(0)
    for _ in range(200):
        u = rng.uniform(-0.2, 0.2, 2).astype(np.float32)
        a, _ = gained.predict(u)
        b, _ = plain.predict((u.astype(np.float64) * [2.0, -0.5]).astype(np.float32))
        info = {"target": np.full(2, 0.3, np.float32)}
        gained.observe(0.0, False, False, info)
        plain.observe(0.0, False, False, info)
        np.testing.assert_allclose(a, b, atol=1e-6)
    torch.testing.assert_close(gained.M, plain.M, rtol=1e-5, atol=1e-9)


def test_the_clamp_silences_the_neurons_and_stops_the_error():
    agent = tiny_agent()
    rng = np.random.default_rng(0)
    for _ in range(500):
        agent.predict(rng.uniform(-0.2, 0.2, 2).astype(np.float32))
        agent.observe(0.0, False, False, {"target": np.full(2, 0.5, np.float32), "clamped": True})
    assert float(agent.trace.abs().max()) < 1e-6  # -100 into every neuron: no spikes, the 20-ms traces decayed
    assert np.abs(agent.feedback_error).max() < 1e-12 and np.abs(agent.rule_error).max() < 1e-12


@pytest.mark.skipif(not nef_kernels.AVAILABLE, reason="numba is not installed")
def test_the_fused_cpu_kernel_equals_the_torch_path():
    fused, plain = tiny_agent(seeds=(0, 1)), tiny_agent(seeds=(0, 1), fused_cpu_step=False)
    assert fused._fused and not plain._fused
    a, b = drive(fused, 500, clamp_every=40), drive(plain, 500, clamp_every=40)
    np.testing.assert_allclose(a, b, atol=1e-9)
    torch.testing.assert_close(fused.M, plain.M, rtol=1e-9, atol=1e-15)
    torch.testing.assert_close(fused.neurons.v, plain.neurons.v, rtol=0, atol=1e-9)


def test_a_network_alone_equals_the_same_network_in_a_batch():
    alone, batch = tiny_agent(seeds=(5,)), tiny_agent(seeds=(9, 5))
    rng = np.random.default_rng(1)
    for _ in range(300):
        u = rng.uniform(-0.2, 0.2, size=(2, 2)).astype(np.float32)
        target = rng.uniform(-0.5, 0.5, size=(2, 2)).astype(np.float32)
        a, _ = alone.predict(u[1])
        b, _ = batch.predict(u)
        np.testing.assert_allclose(a, b[1], atol=1e-12)
        alone.observe(0.0, False, False, {"target": target[1], "clamped": False})
        batch.observe(
            np.zeros(2), np.zeros(2, bool), np.zeros(2, bool), {"target": target, "clamped": np.zeros(2, bool)}
        )
    torch.testing.assert_close(alone.M[0], batch.M[1], rtol=0, atol=1e-15)


def test_a_checkpoint_reloads_to_identical_weights_and_next_actions():
    agent = tiny_agent(seeds=(0, 1))
    drive(agent, 200, clamp_every=30)
    state = agent.state_dict()
    twin = tiny_agent(seeds=(0, 1))
    twin.load_state_dict(state)
    assert twin.learned_steps == agent.learned_steps == 200
    torch.testing.assert_close(twin.M, agent.M, rtol=0, atol=0)
    np.testing.assert_array_equal(drive(twin, 50, seed=4), drive(agent, 50, seed=4))
    other = tiny_agent(seeds=(0, 1), max_rates_hz=(100.0, 200.0))
    with pytest.raises(ValueError, match="ensemble differs"):
        other.load_state_dict(state)


def test_the_learning_rate_schedule_follows_learning_time():
    config = FollowConfig(learning_rate=2e-3, learning_rate_schedule=((500.0, 0.04), (100.0, 0.01)))
    assert [config.learning_rate_at(t) for t in (0.0, 99.9, 100.0, 499.0, 500.0, 9e9)] == [
        2e-3, 2e-3, 0.01, 0.01, 0.04, 0.04,
    ]  # fmt: skip


def test_bad_configurations_say_what_to_fix():
    with pytest.raises(ValueError, match="unknown FOLLOW parameter"):
        FollowConfig.from_dict({"n_neuron": 10})
    with pytest.raises(ValueError, match="unknown FOLLOW preset"):
        FollowConfig.from_dict({"preset": "lorenz"})
    with pytest.raises(ValueError, match="max_rates_hz"):
        FollowConfig(max_rates_hz=(200.0, 600.0))
    with pytest.raises(ValueError, match="1-D Box action"):
        FollowAgent(OBS, spaces.Discrete(2), FollowConfig(**TINY))
    with pytest.raises(ValueError, match="input_gains has 3 entries for an observation of 2"):
        tiny_agent(input_gains=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="input_gains must be finite"):
        FollowConfig(input_gains=(1.0, float("nan")))
    agent = tiny_agent()
    agent.predict(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="info\\['target'\\]"):
        agent.observe(0.0, False, False, {})


def test_the_rule_learns_the_van_der_pol_forward_model_better_than_a_frozen_network():
    """With the error fed back, a learning network's prediction error falls below a frozen one's on the same trials:
    the weights take over what the feedback has to correct (200 + 200 neurons, 40 s of 4-s trials; the test-input
    figures without feedback take thousands of seconds, see the slow test and the README)."""
    env = gym.make_vec("spikegym/VanDerPol-v0", num_envs=2, vectorization_mode="vector_entry_point")
    config = {"n_input_neurons": 200, "n_neurons": 200, "learning_rate": 0.02}
    learner = make_agent("follow", env, seeds=[0, 1], config=config)
    frozen = make_agent("follow", env, seeds=[0, 1], config=config)
    frozen.eval().feedback = True  # plasticity off, the error still fed back
    learned = rollout(env, learner, 10, seed=0, metrics=("mse",))
    fixed = rollout(env, frozen, 10, seed=0, train=False, metrics=("mse",))
    last = lambda result: np.mean([e["mse"] for e in result.episodes if e["episode"] >= 7])  # noqa: E731
    assert last(learned) < 0.8 * last(fixed), (last(learned), last(fixed))  # measured: 0.093 against 0.127


def cycles(x: np.ndarray) -> int:
    """Oscillation cycles in ``x``: upward crossings of mean + std / 2 after a visit below mean - std / 2 (the
    hysteresis keeps the spiking noise from counting extra crossings)."""
    mean, threshold = x.mean(), 0.5 * x.std()
    count, high = 0, None
    for value in x:
        if value > mean + threshold:
            count += high is False
            high = True
        elif value < mean - threshold:
            high = False
    return count


@pytest.mark.slow
def test_paper_figure_2_after_1000_s_the_network_oscillates_like_the_van_der_pol_reference_without_feedback():
    """The run of ``--config gilra2017-vanderpol``: 3000 + 3000 neurons, 1000 s of learning with the README's recipe
    (eta x 20 after 500 s; about 5 min here), then its 16-s test input without feedback: the network runs the van
    der Pol limit cycle by itself, with the reference's amplitude and number of cycles within 10% (the MSE is
    another matter: the phase drifts; see the README). The error it sees while learning falls tenfold."""
    env = gym.make_vec("spikegym/VanDerPol-v0", num_envs=1, vectorization_mode="vector_entry_point")
    agent = make_agent(
        "follow", env, seeds=[0], config={"preset": "vanderpol", "learning_rate_schedule": [[500, 0.04]]}
    )
    samples = rollout(env, agent, 250, seed=0, sample_every=4000).samples  # one sample per 4-s trial, at its end
    assert agent.learned_s == pytest.approx(1000.0)
    assert samples[-1]["error_mse"] < 0.1 * samples[0]["error_mse"]  # Fig. 2D: the error with feedback on
    test = gym.make_vec(
        "spikegym/VanDerPol-v0", num_envs=1, vectorization_mode="vector_entry_point", input_protocol="test",
        trials_per_episode=4,
    )  # fmt: skip
    record = rollout(test, agent, 1, seed=1_000_000, train=False, record_steps=True).episodes[0]
    predicted, reference = record["actions"][:, 0], record["targets"][:, 0]
    assert cycles(predicted) == pytest.approx(cycles(reference), rel=0.1)  # measured: 17 against 16
    assert np.percentile(np.abs(predicted), 95) == pytest.approx(np.percentile(np.abs(reference), 95), rel=0.1)


def test_as_the_arm_reach_controller_the_rule_learns_from_the_expert_with_the_network_in_control():
    """Closed loop on a small budget (the config gilra2017-arm-reach with 300 + 300 neurons): 15 episodes with the
    network driving, its error against the expert's action fed back (k = 3); then 10 held-out targets with the
    feedback and plasticity off. The frozen network's hand hangs; the learner's moves to the targets (measured: mean
    return -115 against -39)."""
    from train.cli import make_env
    from train.config import load_config_file

    config = {**load_config_file("gilra2017-arm-reach")["agent_config"], "n_input_neurons": 300, "n_neurons": 300}

    def test_return(agent: FollowAgent) -> float:
        env = make_env("spikegym/ArmReach-v0", 1, {}, episode_seeds=range(1_000_000, 1_000_010))
        return float(np.mean([e["return"] for e in rollout(env, agent, 10, train=False).episodes]))

    train_env = gym.make("spikegym/ArmReach-v0", expert_control=0.0)
    frozen = make_agent("follow", train_env, seeds=[0], config=config)
    learner = make_agent("follow", train_env, seeds=[0], config=config)
    rollout(train_env, learner, 15, seed=0, train=True)
    frozen_return, learned_return = test_return(frozen), test_return(learner)
    assert learned_return > frozen_return + 30, (frozen_return, learned_return)
