import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import envs  # noqa: F401
from agents import make_agent
from tests.conftest import SHORT_DNMS
from train.loop import rollout


def vector_env(n: int, **kwargs):
    return gym.make_vec(
        "spikegym/DNMS-v0",
        num_envs=n,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
        **SHORT_DNMS,
        **kwargs,
    )


def test_rollout_on_a_vector_env_records_every_episode_of_every_network():
    env = vector_env(3)
    agent = make_agent("miconi", env, seeds=[0, 1, 2], config={"n_units": 20, "bias_units": [1, 2, 3]})
    result = rollout(env, agent, 5, seed=0, metrics=("error", "condition"))
    assert len(result.episodes) == 15
    assert sorted({e["seed"] for e in result.episodes}) == [0, 1, 2]
    first = [e for e in result.episodes if e["seed"] == 0]
    assert [e["condition"] for e in first] == ["AA", "AB", "BA", "BB", "AA"]  # the paper's cycle
    assert all(e["length"] == 100 and e["return"] == pytest.approx(-e["error"]) for e in first)
    assert result.steps == 3 * 5 * 100


def test_rollout_on_a_single_env_matches_the_vector_env():
    kwargs = {"config": {"n_units": 20, "bias_units": [1, 2, 3]}}
    single = gym.make("spikegym/DNMS-v0", **SHORT_DNMS)
    a = rollout(single, make_agent("miconi", single, seeds=[4], **kwargs), 3, seed=0, metrics=("error",))
    venv = vector_env(1)
    b = rollout(venv, make_agent("miconi", venv, seeds=[4], **kwargs), 3, seed=0, metrics=("error",))
    assert [e["error"] for e in a.episodes] == pytest.approx([e["error"] for e in b.episodes], rel=1e-6)


def test_reset_options_record_steps_and_stopping():
    env = vector_env(2)
    agent = make_agent("miconi", env, seeds=[0, 1])
    options = [{"condition": c} for c in ("BB", "AB")]
    result = rollout(env, agent, 2, train=False, reset_options=options, record_steps=True, metrics=("condition",))
    assert [e["condition"] for e in result.episodes if e["seed"] == 0] == ["BB", "AB"]
    rec = result.episodes[0]
    assert rec["actions"].shape == (100, 1) and rec["observations"].shape == (100, 2)
    assert np.isnan(rec["targets"][:80]).all() and np.allclose(rec["targets"][80:], -0.98)
    stopped = rollout(env, agent, 10, callbacks=[lambda finished: False])
    assert stopped.stopped_early and len(stopped.episodes) == 2


def test_rollout_rejects_mismatched_batches_and_autoreset_modes():
    env = vector_env(2)
    agent = make_agent("miconi", env, seeds=[0, 1])
    with pytest.raises(ValueError, match="2 env copies for an agent of 1"):
        rollout(env, make_agent("miconi", gym.make("spikegym/DNMS-v0"), seeds=[0]), 1)
    next_step = gym.make_vec(
        "spikegym/DNMS-v0", num_envs=2, vectorization_mode="vector_entry_point", autoreset_mode=AutoresetMode.NEXT_STEP
    )
    with pytest.raises(ValueError, match="SAME_STEP"):
        rollout(next_step, agent, 1)


def test_same_seed_same_episodes_and_weights():
    runs = []
    for _ in range(2):
        env = vector_env(2)
        agent = make_agent("miconi", env, seeds=[7, 8], config={"learning_start_trials": 1})
        result = rollout(env, agent, 4, seed=3, metrics=("error",))
        runs.append(([e["return"] for e in result.episodes], agent.W.clone()))
    assert runs[0][0] == runs[1][0]
    assert (runs[0][1] == runs[1][1]).all()


def test_agent_metrics_are_sampled_every_n_steps_and_at_the_end():
    env = gym.make_vec(
        "spikegym/DistalReward-v0",
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        duration_s=0.05,
    )
    agent = make_agent("dastdp", env, seeds=[3, 4], config={"n_excitatory": 80, "n_inhibitory": 20, "fan_out": 10})
    result = rollout(env, agent, 1, seed=0, sample_every=20)
    assert [(r["step"], r["seed"]) for r in result.samples] == [(20, 3), (20, 4), (40, 3), (40, 4), (50, 3), (50, 4)]
    assert {"reinforced_weight", "excitatory_weight_mean", "excitatory_weight_p99"} <= set(result.samples[0])
    assert result.samples[0]["reinforced_weight"] == 0.0  # the reinforced synapse starts at 0


def test_blocks_are_the_same_rollout_as_single_steps():
    """Where the env fixes its next rewards (the distal reward task), the loop's blocks give the same episodes,
    samples and networks as one step at a time; with ``record_steps`` it steps singly."""
    from unittest import mock

    import torch

    from train.cli import make_env

    kwargs = {"duration_s": 2.0, "min_delay_ms": 30, "spread_ms": 60, "interval_ms": 400}
    config = {"n_excitatory": 80, "n_inhibitory": 20, "fan_out": 10, "max_delay_ms": 5}
    results = {}
    for blocks in (True, False):
        env = make_env("spikegym/DistalReward-v0", 2, kwargs)
        agent = make_agent("dastdp", env, seeds=[0, 1], config=config)
        with mock.patch.object(agent, "predict_block", wraps=agent.predict_block) as predict_block:
            result = rollout(env, agent, 2, seed=3, blocks=blocks, sample_every=250, metrics=("pairings", "rewards"))
        results[blocks] = (result, agent.state_dict()["tensors"], predict_block.call_count)
    (blocked, blocked_state, block_calls), (stepped, stepped_state, no_calls) = results[True], results[False]
    assert no_calls == 0 and block_calls >= 2 * 2000 // 30
    assert blocked.episodes == stepped.episodes and blocked.samples == stepped.samples
    assert blocked.steps == stepped.steps == 2 * 2 * 2000
    assert sum(e["rewards"] for e in blocked.episodes) > 0
    for key, value in stepped_state.items():
        assert torch.equal(blocked_state[key], value), key
    env = make_env("spikegym/DistalReward-v0", 2, kwargs)
    agent = make_agent("dastdp", env, seeds=[0, 1], config=config)
    agent.predict_block = None  # would fail if called
    recorded = rollout(env, agent, 1, seed=3, record_steps=True)
    assert recorded.episodes[0]["actions"].shape == (2000, 2)


def test_dnms_blocks_are_the_same_rollout_as_single_steps():
    """Miconi on DNMS: the loop hands the agent each trial's first n - 1 steps as one block (the env fixes their
    inputs and rewards); the episodes and the networks equal those of one step at a time, to the bit."""
    from unittest import mock

    import torch

    results = {}
    for blocks in (True, False):
        env = vector_env(2)
        agent = make_agent("miconi", env, seeds=[0, 1], config={"learning_start_trials": 2})
        with mock.patch.object(agent, "predict_block", wraps=agent.predict_block) as predict_block:
            result = rollout(env, agent, 6, seed=3, blocks=blocks, metrics=("error", "condition"))
        results[blocks] = (result, agent.state_dict()["tensors"], predict_block.call_count)
    (blocked, blocked_state, block_calls), (stepped, stepped_state, no_calls) = results[True], results[False]
    assert block_calls == 6 and no_calls == 0
    assert blocked.episodes == stepped.episodes and blocked.steps == stepped.steps
    for key, value in stepped_state.items():
        assert torch.equal(blocked_state[key], value), key
