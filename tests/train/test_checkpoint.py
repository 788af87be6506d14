import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents import make_agent
from tests.conftest import SHORT_DNMS
from train.checkpoint import find_checkpoint, load_checkpoint, save_checkpoint
from train.loop import rollout


def test_checkpoint_reloads_to_identical_weights_and_next_actions(tmp_path):
    env = gym.make("spikegym/DNMS-v0", **SHORT_DNMS)
    config = {
        "task": "spikegym/DNMS-v0",
        "agent": "miconi",
        "env_kwargs": SHORT_DNMS,
        "agent_config": {"learning_start_trials": 0},
    }
    agent = make_agent("miconi", env, seeds=[3], config=config["agent_config"])
    rollout(env, agent, 4, seed=0)
    save_checkpoint(tmp_path / "checkpoint", agent, config)
    clone, saved_config = load_checkpoint(tmp_path)
    assert saved_config == config
    torch.testing.assert_close(clone.W, agent.W, rtol=0, atol=0)
    obs = np.array([1.0, 0.0], np.float32)
    for t in range(50):
        start = np.array([t == 0])
        np.testing.assert_array_equal(
            clone.predict(obs, episode_start=start)[0], agent.predict(obs, episode_start=start)[0]
        )


def test_saving_again_replaces_the_checkpoint_whole(tmp_path):
    env = gym.make("spikegym/DNMS-v0")
    agent = make_agent("miconi", env, seeds=[0])
    path = save_checkpoint(tmp_path / "ckpt", agent, {"task": "spikegym/DNMS-v0", "agent": "miconi"})
    agent.W += 1.0
    save_checkpoint(path, agent, {"task": "spikegym/DNMS-v0", "agent": "miconi"})
    assert not (tmp_path / "ckpt.tmp").exists()
    clone, _ = load_checkpoint(path)
    torch.testing.assert_close(clone.W, agent.W)
    assert (path / "system_info.txt").read_text().count("torch") == 1


def test_missing_checkpoint_says_what_is_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"state.pt and config.json"):
        find_checkpoint(tmp_path)
