"""Train the PPO expert that ``spikegym/BipedalWalker-v0`` ships, with stable-baselines3.

    python -m train expert --out envs/experts/bipedal_walker_ppo.npz            # 5M steps, ~1-2 h on 2 cores

PPO with the RL Zoo's hyperparameters for BipedalWalker-v3 (observations and rewards normalised, gamma 0.999,
GAE 0.95, clip 0.18, 10 epochs of minibatches of 64, 2048 steps per env per update) on 16 copies of the env.
Every ``--eval-every`` steps the deterministic actor is exported (:class:`envs.experts.MLPPolicy`) and scored on
20 validation seeds, each episode in a fresh env (the walker keeps its physics world across ``reset``); the best
export is kept and finally scored on the 20 report seeds 0-19, which the spiking clones are scored on too. The
``.npz`` records the command, the steps and both scores.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from envs.experts import MLPPolicy

ENV_ID = "BipedalWalker-v3"
VALIDATION_SEEDS = tuple(range(1000, 1020))
REPORT_SEEDS = tuple(range(20))

ZOO_HYPERPARAMETERS = dict(
    n_steps=2048,
    batch_size=64,
    gae_lambda=0.95,
    gamma=0.999,
    n_epochs=10,
    ent_coef=0.0,
    learning_rate=3e-4,
    clip_range=0.18,
)


def episode_returns(policy, seeds: Sequence[int], env_id: str = ENV_ID) -> np.ndarray:
    """The undiscounted return of ``policy`` (obs -> action) on one fresh env per seed."""
    returns = []
    for seed in seeds:
        env = gym.make(env_id)
        obs, _ = env.reset(seed=int(seed))
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += float(reward)
            done = terminated or truncated
        env.close()
        returns.append(total)
    return np.asarray(returns)


def export_actor(model, vec_normalize, metadata: dict) -> MLPPolicy:
    """The deterministic actor of an SB3 ``MlpPolicy`` (tanh layers, then the action net) and its normaliser."""
    policy = model.policy
    layers = [m for m in policy.mlp_extractor.policy_net if isinstance(m, torch.nn.Linear)]
    activations = [m for m in policy.mlp_extractor.policy_net if not isinstance(m, torch.nn.Linear)]
    if not all(isinstance(a, torch.nn.Tanh) for a in activations):
        raise ValueError("export_actor expects tanh activations (SB3's default for PPO's MlpPolicy)")
    layers.append(policy.action_net)
    space = model.action_space
    return MLPPolicy(
        [layer.weight.detach().cpu().numpy() for layer in layers],
        [layer.bias.detach().cpu().numpy() for layer in layers],
        vec_normalize.obs_rms.mean,
        vec_normalize.obs_rms.var,
        vec_normalize.clip_obs,
        space.low,
        space.high,
        metadata,
    )


def train_expert(
    out: Path,
    timesteps: int,
    n_envs: int,
    eval_every: int,
    seed: int,
    threads: int,
    command: str,
) -> dict:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(threads)
    venv = VecNormalize(make_vec_env(ENV_ID, n_envs=n_envs, seed=seed), gamma=ZOO_HYPERPARAMETERS["gamma"])
    model = PPO("MlpPolicy", venv, seed=seed, device="cpu", verbose=0, **ZOO_HYPERPARAMETERS)
    out.parent.mkdir(parents=True, exist_ok=True)
    history: list[list[float]] = []
    best: dict = {"validation_mean": -np.inf}
    started = time.time()

    class Evaluate(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_eval = eval_every

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_eval:
                self.next_eval += eval_every
                self.evaluate()
            return True

        def evaluate(self) -> None:
            actor = export_actor(model, venv, {})
            returns = episode_returns(actor, VALIDATION_SEEDS)
            history.append([self.num_timesteps, float(returns.mean())])
            line = (
                f"{self.num_timesteps:>9d} steps  {time.time() - started:7.0f} s  validation return "
                f"{returns.mean():7.1f} +- {returns.std():5.1f}  (min {returns.min():.1f})"
            )
            if returns.mean() > best["validation_mean"]:
                best.update(validation_mean=float(returns.mean()), steps=self.num_timesteps, actor=actor)
                actor.metadata = {"env_id": ENV_ID, "command": command, "selected_at_steps": self.num_timesteps}
                actor.save(out.with_name(out.stem + ".best-so-far.npz"))  # an interrupted run keeps its best
                line += "  best"
            print(line, flush=True)

    callback = Evaluate()
    model.learn(total_timesteps=timesteps, callback=callback, progress_bar=False)
    callback.evaluate()
    actor: MLPPolicy = best["actor"]
    report = episode_returns(actor, REPORT_SEEDS)
    actor.metadata = {
        "env_id": ENV_ID,
        "algorithm": "stable-baselines3 PPO, MlpPolicy (64, 64 tanh), deterministic actor",
        "hyperparameters": ZOO_HYPERPARAMETERS | {"n_envs": n_envs, "normalize": True, "seed": seed},
        "command": command,
        "timesteps_trained": int(timesteps),
        "selected_at_steps": int(best["steps"]),
        "validation_seeds": list(VALIDATION_SEEDS),
        "validation_mean_return": best["validation_mean"],
        "report_seeds": list(REPORT_SEEDS),
        "report_returns": [round(float(r), 2) for r in report],
        "report_mean_return": float(report.mean()),
        "report_std_return": float(report.std()),
        "validation_curve": history,
        "wall_s": round(time.time() - started, 1),
        "versions": {"stable_baselines3": __import__("stable_baselines3").__version__, "torch": torch.__version__},
    }
    actor.save(out)
    out.with_name(out.stem + ".best-so-far.npz").unlink(missing_ok=True)
    return actor.metadata


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train expert", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("envs/experts/bipedal_walker_ppo.npz"))
    parser.add_argument("--timesteps", type=float, default=5e6)
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--eval-every", type=float, default=2.5e5, help="steps between validation scores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    command = "python -m train expert " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    meta = train_expert(
        args.out, int(args.timesteps), args.n_envs, int(args.eval_every), args.seed, args.threads, command
    )
    print(json.dumps({k: meta[k] for k in ("selected_at_steps", "report_mean_return", "report_std_return")}))
    print(f"expert written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
