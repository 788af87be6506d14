"""Expert policies that ship with the closed-loop tasks, so apprenticeship learning needs no download.

A learned expert is stored as a small ``.npz`` file: the weights of a tanh multilayer perceptron (the actor of a
stable-baselines3 PPO policy, its deterministic action) and the running mean and variance of the observation
normaliser it was trained behind. :class:`MLPPolicy` evaluates it with NumPy only, on any machine, offline.
``python -m train expert`` (``train/expert.py``) trains one and writes the file with the command that made it.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["MLPPolicy", "expert_path"]


def expert_path(name: str) -> Path:
    """The shipped expert file ``envs/experts/<name>.npz``."""
    path = Path(str(resources.files(__name__) / f"{name}.npz"))
    if not path.exists():
        shipped = sorted(p.stem for p in path.parent.glob("*.npz"))
        raise FileNotFoundError(f"no shipped expert {name!r} ({path}); shipped experts: {shipped}")
    return path


class MLPPolicy:
    """A deterministic tanh-MLP policy: ``a = clip(W_L tanh(... tanh(W_1 z + b_1)) + b_L, low, high)``, with
    ``z = clip((obs - mean) / sqrt(var + 1e-8), -clip_obs, clip_obs)`` (stable-baselines3's VecNormalize)."""

    def __init__(
        self,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        obs_mean: np.ndarray,
        obs_var: np.ndarray,
        clip_obs: float,
        action_low: np.ndarray,
        action_high: np.ndarray,
        metadata: dict | None = None,
    ) -> None:
        if len(weights) != len(biases) or not weights:
            raise ValueError("an MLPPolicy needs one bias per weight matrix and at least one layer")
        self.weights = [np.asarray(w, dtype=np.float64) for w in weights]
        self.biases = [np.asarray(b, dtype=np.float64) for b in biases]
        self.obs_mean = np.asarray(obs_mean, dtype=np.float64)
        self.obs_std = np.sqrt(np.asarray(obs_var, dtype=np.float64) + 1e-8)
        self.clip_obs = float(clip_obs)
        self.action_low = np.asarray(action_low, dtype=np.float64)
        self.action_high = np.asarray(action_high, dtype=np.float64)
        self.metadata = dict(metadata or {})

    @property
    def obs_dim(self) -> int:
        return self.weights[0].shape[1]

    @property
    def action_dim(self) -> int:
        return self.weights[-1].shape[0]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """The action for one observation ``(obs_dim,)`` or a batch ``(B, obs_dim)``, as float32."""
        obs = np.asarray(obs, dtype=np.float64)
        if obs.shape[-1] != self.obs_dim:
            raise ValueError(f"this expert takes observations of size {self.obs_dim}, got shape {obs.shape}")
        h = np.clip((obs - self.obs_mean) / self.obs_std, -self.clip_obs, self.clip_obs)
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = np.tanh(h @ w.T + b)
        action = h @ self.weights[-1].T + self.biases[-1]
        return np.clip(action, self.action_low, self.action_high).astype(np.float32)

    def save(self, path: str | Path) -> None:
        arrays = {f"weight_{i}": w for i, w in enumerate(self.weights)}
        arrays |= {f"bias_{i}": b for i, b in enumerate(self.biases)}
        np.savez_compressed(
            path,
            **arrays,
            obs_mean=self.obs_mean,
            obs_var=self.obs_std**2 - 1e-8,
            clip_obs=np.float64(self.clip_obs),
            action_low=self.action_low,
            action_high=self.action_high,
            metadata=np.array(json.dumps(self.metadata)),
        )

    @classmethod
    def load(cls, path: str | Path) -> MLPPolicy:
        with np.load(path, allow_pickle=False) as f:
            layers = sum(1 for k in f.files if k.startswith("weight_"))
            return cls(
                [f[f"weight_{i}"] for i in range(layers)],
                [f[f"bias_{i}"] for i in range(layers)],
                f["obs_mean"],
                f["obs_var"],
                float(f["clip_obs"]),
                f["action_low"],
                f["action_high"],
                json.loads(str(f["metadata"])),
            )
