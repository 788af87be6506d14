"""``python -m train baseline``: stable-baselines3 and sb3-contrib on any spikegym task, unchanged.

python -m train baseline --algo ppo --task spikegym/ArmReach-v0 --steps 200000 --seeds 3 --out runs/ppo-reach
python -m train baseline --algo recurrent_ppo --task spikegym/DNMS-v0 --steps 1e6 --out runs/rppo-dnms

The task is made from its registered id exactly as a spiking agent gets it (``gym.make(id, **env_kwargs)``, SB3's
``Monitor`` and ``DummyVecEnv``); the algorithm gets SB3's default hyperparameters unless ``--hyperparams`` says
otherwise. The one generic accommodation: a task with an empty observation (biofeedback, distal reward: the
network's own spikes are the action and nothing comes in) is seen through ``ConstantObservation``, one input
fixed at 1, since SB3's policies need at least one; the policy is then a learned bias, which is what any
memoryless policy there can be.

A baseline run directory holds what ``run`` writes, so ``plot``, ``eval`` and the leaderboard read both alike:
``metrics.csv`` (seed, episode, return, length, the task's episode metrics, and the learner's env steps so far),
``summary.json`` (the same keys, ``score`` from the evaluation protocol of ``train/evaluation.py`` on the task's
test seeds), ``models/seed<k>.zip`` (SB3's own save files: ``PPO.load(path)``) and ``logs/seed<k>/progress.csv``
(SB3's training log: losses, entropy, learning rate).
"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from tqdm.auto import tqdm

import envs  # noqa: F401  (registers the spikegym tasks)
from train.checkpoint import system_info
from train.config import ConfigRecord, field_problems
from train.evaluation import evaluate_predictor, evaluation_seeds, score_summary
from train.plots import metric_matrix
from train.tasks import task_profile

ALGORITHMS: dict[str, tuple[str, str, str]] = {
    "ppo": ("stable_baselines3", "PPO", "MlpPolicy"),
    "recurrent_ppo": ("sb3_contrib", "RecurrentPPO", "MlpLstmPolicy"),
    "sac": ("stable_baselines3", "SAC", "MlpPolicy"),
}
"""``--algo`` name -> (module, class, policy). RecurrentPPO (an LSTM policy) is the baseline for memory tasks
such as DNMS, whose answer depends on a stimulus 600 ms back; SAC needs a continuous (Box) action space."""

BASELINE_OUTPUTS = ("metrics.csv", "summary.json", "score.csv", "models", "logs", "config.yaml", "figures")


@dataclass
class BaselineConfig(ConfigRecord):
    """A stable-baselines3 run: which algorithm, which task, how many env steps, how many seeds."""

    algo: str = field(default="ppo", metadata={"help": f"algorithm: {', '.join(ALGORITHMS)}"})
    task: str = field(default="spikegym/DNMS-v0", metadata={"help": "Gymnasium id of the task"})
    steps: int = field(default=100_000, metadata={"help": "env steps of training per seed"})
    seeds: int = field(default=1, metadata={"help": "K independent models, seeds S .. S+K-1, trained in turn"})
    seed_offset: int = field(default=0, metadata={"help": "S, the first seed"})
    n_envs: int = field(default=1, metadata={"help": "env copies each model collects from (SB3's n_envs)"})
    env_kwargs: dict[str, Any] = field(default_factory=dict, metadata={"help": "JSON object passed to the env"})
    hyperparams: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": 'JSON object of the algorithm\'s arguments, e.g. {"n_steps": 256, "learning_rate": 1e-3}'},
    )
    score_episodes: int = field(
        default=10, metadata={"help": "test episodes per model scored after training (evaluation protocol); 0: none"}
    )
    device: str = field(default="cpu", metadata={"help": "torch device: cpu or cuda"})
    threads: int = field(default=0, metadata={"help": "torch CPU threads; 0: torch's default"})

    def __post_init__(self) -> None:
        problems = field_problems(
            self,
            positive=("steps", "seeds", "n_envs"),
            non_negative=("seed_offset", "score_episodes", "threads"),
            mappings=("env_kwargs", "hyperparams"),
            strings=("task", "device"),
        )
        if self.algo not in ALGORITHMS:
            problems.insert(0, f"unknown algo {self.algo!r}; choose one of {sorted(ALGORITHMS)}")
        if problems:
            raise ValueError("bad baseline configuration: " + "; ".join(problems))


def algorithm_class(config: BaselineConfig, action_space: spaces.Space) -> tuple[type, str]:
    """The SB3 class and policy name for ``config.algo``, after checking that it can act in ``action_space``."""
    module, name, policy = ALGORITHMS[config.algo]
    if config.algo == "sac" and not isinstance(action_space, spaces.Box):
        raise ValueError(f"SAC needs a continuous (Box) action space; {config.task} acts in {action_space}: use ppo")
    try:
        return getattr(importlib.import_module(module), name), policy
    except ImportError as exc:
        raise ValueError(f"--algo {config.algo} needs {module}: pip install 'spikegym[baselines]'") from exc


class ConstantObservation(gym.ObservationWrapper):
    """An empty observation seen as one constant input (1.0): SB3's policies need at least one feature."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = spaces.Box(1.0, 1.0, shape=(1,), dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        return np.ones(1, dtype=np.float32)


def observation_wrapper(observation_space: spaces.Space) -> type[gym.Wrapper] | None:
    """What a baseline sees a task through: ``ConstantObservation`` for an empty observation, else the task as is."""
    return ConstantObservation if observation_space.shape == (0,) else None


def task_spaces(task: str, env_kwargs: dict[str, Any]) -> tuple[spaces.Space, spaces.Space]:
    """``task``'s observation and action spaces under ``env_kwargs``."""
    try:
        env = gym.make(task, **env_kwargs)
    except TypeError as exc:
        raise ValueError(f"bad --env-kwargs for {task}: {exc}") from exc
    env.close()
    return env.observation_space, env.action_space


def episode_recorder(seed: int, metrics: tuple[str, ...], on_episode: Any, bar: tqdm) -> Any:
    """An SB3 callback: each finished episode (Monitor's ``info["episode"]``) as a metrics row, and the bar."""
    from stable_baselines3.common.callbacks import BaseCallback

    class EpisodeRecorder(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.episodes, self.counted = 0, 0

        def _on_step(self) -> bool:
            for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True):
                if done and "episode" in info:
                    row = {
                        "seed": seed,
                        "episode": self.episodes,
                        "return": float(info["episode"]["r"]),
                        "length": int(info["episode"]["l"]),
                        "timesteps": int(self.num_timesteps),
                    }
                    for key in metrics:
                        if key in info:
                            value = info[key]
                            row[key] = value.item() if isinstance(value, np.generic) else value
                    self.episodes += 1
                    on_episode(row)
            bar.update(self.num_timesteps - self.counted)
            self.counted = self.num_timesteps
            return True

    return EpisodeRecorder()


def train_baseline(config: BaselineConfig, out: Path, *, quiet: bool = False) -> dict[str, Any]:
    """Trains ``config.seeds`` models in turn on ``config.task``, scores each with the evaluation protocol and
    writes the run directory ``out``; returns the summary (also in ``out/summary.json``)."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import DummyVecEnv

    from train.cli import write_csv  # imported here: train.cli imports this module for `baseline`

    if config.task.split(":")[-1] not in gym.registry:
        raise ValueError(f"unknown task {config.task!r}; see `python -m train list`")
    if config.threads:
        torch.set_num_threads(config.threads)
    profile = task_profile(config.task)
    observation_space, action_space = task_spaces(config.task, config.env_kwargs)
    algorithm, policy = algorithm_class(config, action_space)
    wrapper = observation_wrapper(observation_space)

    columns = ["seed", "episode", "return", "length", *profile.episode_metrics, "timesteps"]
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "metrics.csv", [], columns)
    rows: list[dict[str, Any]] = []

    def on_episode(row: dict[str, Any]) -> None:
        rows.append(row)
        write_csv(out / "metrics.csv", [row], columns, append=True)

    (out / "models").mkdir(parents=True, exist_ok=True)
    score_rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    bar = tqdm(
        total=config.steps * config.seeds,
        unit="step",
        unit_scale=True,
        desc=f"{config.algo} on {config.task}",
        disable=quiet,
        dynamic_ncols=True,
    )
    try:
        for seed in config.seed_list:
            venv = make_vec_env(
                config.task,
                n_envs=config.n_envs,
                seed=seed,
                env_kwargs=config.env_kwargs,
                vec_env_cls=DummyVecEnv,
                wrapper_class=wrapper,
            )
            try:
                model = algorithm(policy, venv, seed=seed, device=config.device, verbose=0, **config.hyperparams)
            except TypeError as exc:
                raise ValueError(f"bad --hyperparams for {config.algo}: {exc}") from exc
            # SB3's own training log (losses, entropy, ...) in the run directory, not a fresh /tmp/SB3-* folder
            model.set_logger(configure(str(out / "logs" / f"seed{seed}"), ["csv"]))
            model.learn(config.steps, callback=episode_recorder(seed, profile.episode_metrics, on_episode, bar))
            venv.close()
            model.save(out / "models" / f"seed{seed}.zip")
            if config.score_episodes:
                seeds = [evaluation_seeds(config.task, config.score_episodes, trained_seed=seed)]
                score_rows += evaluate_predictor(
                    model, config.task, seeds, config.env_kwargs, labels=[seed], wrapper=wrapper
                )
    finally:
        bar.close()
    wall_s = time.perf_counter() - t0
    summary = summarize_baseline(config, rows, wall_s)
    if score_rows:
        score_columns = ["seed", "episode", "episode_seed", "return", "length", *profile.episode_metrics]
        write_csv(out / "score.csv", score_rows, score_columns)
        summary["score"] = score_summary(score_rows, profile)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def summarize_baseline(config: BaselineConfig, rows: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """``run``'s summary keys for a baseline run (episodes may differ between seeds: episode lengths vary)."""
    import stable_baselines3

    from train.cli import headline

    profile = task_profile(config.task)
    steps = config.steps * config.seeds
    summary: dict[str, Any] = {
        "config": {"kind": "baseline", **config.to_dict()},
        "episodes_per_seed": [sum(r["seed"] == s for r in rows) for s in config.seed_list],
        "seeds": config.seed_list,
        "wall_s": round(wall_s, 2),
        "env_steps_per_s": round(steps / wall_s, 1) if wall_s > 0 else None,
        "stable_baselines3": stable_baselines3.__version__,
        "system": system_info(),
    }
    if not rows:
        summary["mean_return_last_100"] = None
        return summary
    _, returns = metric_matrix(rows, "return")
    last_100 = [r[~np.isnan(r)][-100:].mean() for r in returns if (~np.isnan(r)).any()]
    summary["mean_return_last_100"] = round(float(np.mean(last_100)), 4)
    if profile.summary is not None:
        summary["headline"] = headline(rows, profile)
    return summary


def load_baseline(run_dir: str | Path, device: str = "cpu") -> tuple[BaselineConfig, dict[int, Any]]:
    """The config and the saved models (by seed) of a baseline run directory."""
    run_dir = Path(run_dir)
    try:
        values = json.loads((run_dir / "summary.json").read_text())["config"]
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{run_dir} holds no summary.json: is it a finished baseline run?") from exc
    values.pop("kind", None)
    config = BaselineConfig.from_dict(values)
    module, name, _ = ALGORITHMS[config.algo]
    algorithm = getattr(importlib.import_module(module), name)
    models = {seed: algorithm.load(run_dir / "models" / f"seed{seed}.zip", device=device) for seed in config.seed_list}
    return config, models


def evaluate_baseline(run_dir: str | Path, episodes: int, device: str = "cpu") -> list[dict[str, Any]]:
    """Scores every model of a baseline run on ``episodes`` of its task's test episodes (the protocol's rows)."""
    config, models = load_baseline(run_dir, device)
    wrapper = observation_wrapper(task_spaces(config.task, config.env_kwargs)[0])
    rows: list[dict[str, Any]] = []
    for seed, model in models.items():
        seeds = [evaluation_seeds(config.task, episodes, trained_seed=seed)]
        rows += evaluate_predictor(model, config.task, seeds, config.env_kwargs, labels=[seed], wrapper=wrapper)
    return rows
