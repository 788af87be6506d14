"""The shipped config presets (train/configs/): each one is a run the CLI accepts as it stands."""

import gymnasium as gym
import pytest

import envs  # noqa: F401  (registers the tasks)
from agents import agent_classes
from train.config import RunConfig, load_config_file, preset_names


def test_the_presets_include_the_closed_loop_follow_controllers():
    assert {"gilra2017-acrobot", "gilra2017-arm-reach", "goal2022-arm-reach"} <= set(preset_names())


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_is_a_valid_run_with_a_valid_agent_config_and_env(name):
    config = RunConfig.from_dict(load_config_file(name), source=name)
    _, agent_config = agent_classes(config.agent)
    agent_config.from_dict(config.agent_config)  # unknown keys and bad values raise
    gym.make(config.task, **config.env_kwargs).close()
    assert config.description, f"{name} says what it reproduces"
