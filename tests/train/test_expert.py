"""train/expert.py: the PPO actor exported to NumPy acts exactly as stable-baselines3's deterministic policy."""

import numpy as np
import pytest

pytest.importorskip("Box2D", reason="needs the box2d extra")
pytest.importorskip("stable_baselines3")

from envs.experts import MLPPolicy
from train.expert import ENV_ID, episode_returns, export_actor


def test_exported_actor_equals_sb3_predict_and_round_trips(tmp_path):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    venv = VecNormalize(make_vec_env(ENV_ID, n_envs=2, seed=0))
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    actor = export_actor(model, venv, {"note": "test"})
    raw = np.stack([venv.get_original_obs()[0] for _ in range(1)])
    rng = np.random.default_rng(0)
    raw = np.concatenate([raw, raw + rng.normal(0, 0.3, (15, 24)).astype(np.float32)])
    expected, _ = model.predict(venv.normalize_obs(raw), deterministic=True)
    np.testing.assert_allclose(actor(raw), expected, atol=1e-5)
    actor.save(tmp_path / "actor.npz")
    loaded = MLPPolicy.load(tmp_path / "actor.npz")
    np.testing.assert_array_equal(loaded(raw), actor(raw))
    assert loaded.metadata == {"note": "test"}
    with pytest.raises(ValueError, match="size 24"):
        loaded(np.zeros(5))


def test_episode_returns_are_reproducible_per_seed():
    def still(obs):
        return np.zeros(4, dtype=np.float32)

    first = episode_returns(still, [0, 1])
    np.testing.assert_array_equal(first, episode_returns(still, [0, 1]))
