"""Every registered spikegym task passes Gymnasium's and stable-baselines3's env checkers without a warning."""

import importlib
import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs

SPIKEGYM_SPECS = sorted(
    (spec for spec in gym.registry.values() if spec.id.startswith(f"{envs.NAMESPACE}/")),
    key=lambda spec: spec.id,
)


def test_the_registry_holds_spikegym_tasks():
    assert "spikegym/DNMS-v0" in {spec.id for spec in SPIKEGYM_SPECS}


@pytest.fixture
def all_gymnasium_warnings(monkeypatch):
    """Record every warning, including Gymnasium logger warnings a user's log level would hide."""
    monkeypatch.setattr(gym.logger, "min_level", gym.logger.WARN)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


@pytest.mark.parametrize("spec", SPIKEGYM_SPECS, ids=lambda spec: spec.id)
def test_gymnasium_check_env_passes_without_warnings(spec, all_gymnasium_warnings):
    env = spec.make()
    # check_env also re-makes the env in every render mode (headless, see conftest) and closes it twice.
    check_env(env.unwrapped)
    env.close()
    assert [str(w.message) for w in all_gymnasium_warnings] == []


@pytest.mark.parametrize("spec", SPIKEGYM_SPECS, ids=lambda spec: spec.id)
def test_stable_baselines3_check_env_passes_without_warnings(spec, all_gymnasium_warnings):
    env = spec.make()
    sb3_check_env(env.unwrapped, warn=True)
    env.close()
    assert [str(w.message) for w in all_gymnasium_warnings] == []


def test_importing_envs_again_or_reloading_it_registers_nothing_twice(all_gymnasium_warnings):
    before = {spec.id: spec.entry_point for spec in SPIKEGYM_SPECS}

    importlib.import_module("envs")
    importlib.reload(envs)

    after = {spec.id: spec.entry_point for spec in gym.registry.values() if spec.id.startswith("spikegym/")}
    assert after == before
    assert [str(w.message) for w in all_gymnasium_warnings] == []


def test_make_with_module_prefix_imports_envs_itself():
    env = gym.make("envs:spikegym/DNMS-v0")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    env.close()


@pytest.mark.parametrize("env_id", ["spikegym/NoSuchTask-v0", "spikegym/DNMS-v9"])
def test_unknown_id_raises_gymnasiums_error(env_id):
    with pytest.raises(gym.error.Error):
        gym.make(env_id)
