"""The evaluation protocol: SB3's evaluate_policy scores every spiking agent on fixed, disjoint test seeds."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents import AGENTS, make_agent
from train.cli import evaluate, make_env
from train.config import RunConfig
from train.evaluation import EVAL_SEED_BASE, evaluate_predictor, evaluation_seeds, score_summary
from train.tasks import task_profile

# One task per agent that the agent can run, with short episodes (and FOLLOW's ensembles small: the protocol,
# not the network, is under test).
AGENT_TASKS = {
    "miconi": ("spikegym/DNMS-v0", {}),
    "goal": ("spikegym/Trajectory-v0", {}),
    "goal-clone": ("spikegym/BipedalWalker-v0", {}),
    "follow": ("spikegym/VanDerPol-v0", {"trials_per_episode": 1}),
    "rstdp": ("spikegym/SpikePatterns-v0", {}),
    "dastdp": ("spikegym/Conditioning-v0", {}),
}
AGENT_CONFIGS = {"follow": {"n_input_neurons": 300, "n_neurons": 300}}


def test_every_agent_has_a_task_here():
    assert set(AGENT_TASKS) == set(AGENTS)


@pytest.mark.parametrize("name", sorted(AGENT_TASKS))
def test_evaluate_policy_scores_every_spiking_agent_and_leaves_it_as_it_was(name):
    task, env_kwargs = AGENT_TASKS[name]
    env = make_env(task, 2, env_kwargs)
    agent = make_agent(name, env, seeds=[3, 4], config=AGENT_CONFIGS.get(name))
    env.close()
    before = agent.state_dict()
    seeds = [evaluation_seeds(task, 2, trained_seed=s) for s in agent.seeds]
    rows = evaluate_predictor(agent, task, seeds, env_kwargs, labels=agent.seeds)
    assert [(r["seed"], r["episode"]) for r in rows] == [(3, 0), (3, 1), (4, 0), (4, 1)]
    assert all(np.isfinite(r["return"]) and r["length"] > 0 for r in rows)
    assert agent.training  # switched back on
    after = agent.state_dict()
    for key, value in before.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, after[key]), key
    summary = score_summary(rows, task_profile(task))
    assert summary["mean_return"] == pytest.approx(np.mean([r["return"] for r in rows]), abs=1e-3)
    assert [e["seed"] for e in summary["per_seed"]] == [3, 4]


def test_test_seeds_are_fixed_and_disjoint_from_training():
    assert evaluation_seeds("spikegym/DNMS-v0", 3) == [EVAL_SEED_BASE, EVAL_SEED_BASE + 1, EVAL_SEED_BASE + 2]
    assert evaluation_seeds("spikegym/BipedalWalker-v0", 20) == list(range(20))  # the expert's reported seeds
    assert evaluation_seeds("spikegym/Trajectory-v0", 2, trained_seed=7) == [7, 7]  # the trajectory is the seed
    with pytest.raises(ValueError, match="trained_seed"):
        evaluation_seeds("spikegym/Trajectory-v0", 2)
    with pytest.raises(ValueError, match="test episodes"):
        evaluation_seeds("spikegym/BipedalWalker-v0", 21)


def test_every_network_plays_the_same_test_episodes():
    rows = evaluate_predictor(_ZeroPolicy(2), "spikegym/DNMS-v0", [[EVAL_SEED_BASE, EVAL_SEED_BASE + 1]] * 2)
    by_network = [[r["return"] for r in rows if r["seed"] == i] for i in range(2)]
    assert by_network[0] == by_network[1]
    direct = []
    for seed in (EVAL_SEED_BASE, EVAL_SEED_BASE + 1):
        env = gym.make("spikegym/DNMS-v0")
        env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(np.zeros(1, dtype=np.float32))
            total, done = total + reward, terminated or truncated
        direct.append(total)
    assert by_network[0] == pytest.approx(direct)


def test_the_protocol_gives_the_rollout_loops_scores_on_the_same_episodes():
    task = "spikegym/ArmReach-v0"
    env = make_env(task, 2, {})
    agent = make_agent("miconi", env, seeds=[0, 1])
    env.close()
    profile = task_profile(task)
    looped = evaluate(agent, RunConfig(task=task, agent="miconi", seeds=2), 2, profile, 0)
    scored = evaluate_predictor(agent, task, [evaluation_seeds(task, 2)] * 2, labels=agent.seeds)
    key = lambda r: (r["seed"], r["episode"])  # noqa: E731
    assert [r["return"] for r in sorted(looped, key=key)] == pytest.approx([r["return"] for r in scored], rel=1e-6)


class _ZeroPolicy:
    """A PolicyPredictor acting 0 everywhere."""

    def __init__(self, n: int) -> None:
        self.n = n

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        return np.zeros((len(observation), 1), dtype=np.float32), state
