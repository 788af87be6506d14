"""agents/goal_clone.py: GOAL's rule with a target network beside the learner, in closed loop."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents import make_agent
from agents.goal_clone import GOALCloneAgent, GOALCloneConfig
from train.loop import rollout


class Teacher(gym.Env):
    """A smooth 3-d observation and an 'expert' action tanh(A obs) for it in info['target'] (for the obs acted on)."""

    observation_space = spaces.Box(-5.0, 5.0, (3,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    A = np.array([[1.0, -0.5, 0.3], [0.2, 0.8, -0.6]])

    def __init__(self, steps: int = 200):
        self.steps = steps

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.phase = self.np_random.uniform(0, 2 * np.pi, 3)
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        return np.sin(0.05 * self.t * np.array([1.0, 1.7, 2.3]) + self.phase).astype(np.float32) * 2

    def step(self, action):
        target = np.tanh(self.A @ self._obs()).astype(np.float32)
        reward = -float(np.mean((np.asarray(action) - target) ** 2))
        self.t += 1
        return self._obs(), reward, False, self.t >= self.steps, {"target": target}


SMALL = {"n_units": 200, "dt_ms": 1.0}


def action_mse(agent, episodes, train, seed=0):
    rows = rollout(Teacher(), agent, episodes, seed=seed, train=train).episodes
    return -np.mean([r["return"] / r["length"] for r in rows])


def test_the_clone_learns_the_experts_actions_and_beats_a_frozen_one():
    frozen = make_agent("goal-clone", Teacher(), seeds=[0], config=SMALL)
    learner = make_agent("goal-clone", Teacher(), seeds=[0], config=SMALL)
    action_mse(learner, 30, train=True)
    before, after = action_mse(frozen, 3, train=False, seed=100), action_mse(learner, 3, train=False, seed=100)
    assert after < 0.15 * before, (before, after)


def test_recurrent_learning_brings_the_spikes_towards_the_target_networks():
    def spike_errors(recurrent_lr):
        config = {**SMALL, "readout_lr": 0.0, "recurrent_lr": recurrent_lr}
        agent = make_agent("goal-clone", Teacher(), seeds=[3], config=config)
        errors = []
        for _ in range(12):
            rollout(Teacher(), agent, 1, seed=5, train=True)
            errors.append(float(agent.metrics()["spike_error"][0]))
        return np.array(errors), agent

    fixed, _ = spike_errors(0.0)
    learned, agent = spike_errors(1.0)
    assert float(agent.metrics()["recurrent_weight_abs_mean"][0]) > 0
    assert learned[-3:].mean() < 0.85 * fixed[-3:].mean(), (fixed, learned)


def test_evaluation_changes_nothing_and_checkpoints_round_trip_exactly():
    agent = make_agent("goal-clone", Teacher(), seeds=[1, 2], config=SMALL)
    env = gym.vector.SyncVectorEnv([Teacher, Teacher], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    rollout(env, agent, 2, seed=0, train=True)
    state = agent.state_dict()
    rollout(env, agent, 1, seed=9, train=False)
    for key in ("W", "W_out", "obs_mean", "obs_m2"):
        torch.testing.assert_close(getattr(agent, key), state["tensors"][key], rtol=0, atol=0)
    twin = make_agent("goal-clone", Teacher(), seeds=[1, 2], config=SMALL)
    twin.load_state_dict(state)
    agent.load_state_dict(state)
    a = rollout(env, agent, 1, seed=4, train=True, record_steps=True).episodes
    b = rollout(env, twin, 1, seed=4, train=True, record_steps=True).episodes
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["actions"], y["actions"])
    torch.testing.assert_close(agent.W, twin.W, rtol=0, atol=0)


def test_networks_with_different_seeds_differ_and_bad_input_is_refused():
    agent = make_agent("goal-clone", Teacher(), seeds=[0, 1], config=SMALL)
    assert not torch.equal(agent.W_in[0], agent.W_in[1])
    with pytest.raises(ValueError, match="feedback_rank"):
        GOALCloneAgent(Teacher.observation_space, Teacher.action_space, GOALCloneConfig(feedback_rank=1))
    with pytest.raises(ValueError, match="readout_lr"):
        GOALCloneConfig(readout_lr=3.0)
    with pytest.raises(ValueError, match="whole number"):
        GOALCloneAgent(Teacher.observation_space, Teacher.action_space, GOALCloneConfig(dt_ms=3.0), env_dt_ms=10.0)
    single = make_agent("goal-clone", Teacher(), seeds=[0], config=SMALL)
    single.predict(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="info\\['target'\\]"):
        single.observe(0.0, False, False, {})


def test_the_learning_rate_decay_settles_the_weights():
    def readout_change(decay_steps):
        config = {**SMALL, "learning_rate_decay_steps": decay_steps}
        agent = make_agent("goal-clone", Teacher(), seeds=[0], config=config)
        rollout(Teacher(), agent, 1, seed=0, train=True)
        before = agent.W_out.clone()
        rollout(Teacher(), agent, 1, seed=1, train=True)
        return float((agent.W_out - before).abs().sum())

    constant, decayed = readout_change(None), readout_change(20.0)  # after 200 steps: 1/11 of the rate
    assert 0 < decayed < 0.2 * constant
    with pytest.raises(ValueError, match="learning_rate_decay_steps"):
        GOALCloneConfig(learning_rate_decay_steps=0)


def test_on_arm_reach_the_clone_learns_to_reach_with_the_network_in_control():
    """Closed loop on a small budget: 30 episodes with the network driving and the expert labelling; then 20
    held-out targets, plasticity off. A frozen (untrained) clone reaches none."""
    import envs  # noqa: F401  (registers spikegym/*)
    from train.cli import make_env

    def test_success(agent):
        env = make_env("spikegym/ArmReach-v0", 1, {}, episode_seeds=range(1_000_000, 1_000_020))
        rows = rollout(env, agent, 20, train=False, metrics=("is_success",)).episodes
        return np.mean([r["is_success"] for r in rows]), np.mean([r["return"] for r in rows])

    config = {"preset": "control", "n_units": 300, "tau_o": 5.0}
    train_env = gym.make("spikegym/ArmReach-v0", expert_control=0.0)
    frozen = make_agent("goal-clone", train_env, seeds=[0], config=config)
    learner = make_agent("goal-clone", train_env, seeds=[0], config=config)
    rollout(train_env, learner, 30, seed=0, train=True)
    (frozen_success, frozen_return), (success, ret) = test_success(frozen), test_success(learner)
    assert frozen_success == 0 and success >= 0.3, (frozen_success, success)
    assert ret > frozen_return + 30, (frozen_return, ret)


def test_the_observation_standardisation_can_be_frozen_after_n_steps():
    agent = make_agent("goal-clone", Teacher(), seeds=[0], config={**SMALL, "standardise_steps": 50})
    rollout(Teacher(), agent, 1, seed=0, train=True)
    mean = agent.obs_mean.clone()
    rollout(Teacher(), agent, 1, seed=1, train=True)
    assert float(agent.obs_count[0]) == 50
    torch.testing.assert_close(agent.obs_mean, mean, rtol=0, atol=0)
    with pytest.raises(ValueError, match="standardise_steps"):
        GOALCloneConfig(standardise_steps=0)
