"""``python -m train baseline``: stable-baselines3 on every registered task, unchanged, scored by the protocol."""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from tests.train.test_cli import cli
from train.baseline import BaselineConfig, load_baseline, train_baseline
from train.plots import read_metrics

TASKS = sorted(k for k in gym.registry if k.startswith("spikegym/"))
TINY_PPO = {"n_steps": 64, "batch_size": 32, "n_epochs": 1}


@pytest.mark.parametrize("task", TASKS)
def test_ppo_trains_on_every_registered_task_without_changes(task, tmp_path):
    config = BaselineConfig(task=task, steps=128, hyperparams=TINY_PPO, score_episodes=0)
    summary = train_baseline(config, tmp_path, quiet=True)
    assert summary["config"]["kind"] == "baseline"
    assert (tmp_path / "models" / "seed0.zip").exists()
    assert (tmp_path / "logs" / "seed0" / "progress.csv").read_text().strip()  # SB3's log, in the run directory
    _, models = load_baseline(tmp_path)
    env = gym.make(task)
    obs, _ = env.reset(seed=0)
    if env.observation_space.shape == (0,):  # the baseline sees an empty observation as one constant input
        obs = np.ones(1, dtype=np.float32)
    action, _ = models[0].predict(obs, deterministic=True)
    assert env.action_space.contains(action.astype(env.action_space.dtype))
    env.close()


def test_ppo_run_directory_reads_like_a_spiking_run(tmp_path):
    out = tmp_path / "ppo"
    cli(
        "baseline", "--algo", "ppo", "--task", "spikegym/DNMS-v0", "--steps", "2e3", "--seeds", "2",
        "--hyperparams", json.dumps({"n_steps": 500, "batch_size": 100}), "--score-episodes", "2",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    rows = read_metrics(out / "metrics.csv")
    assert {r["seed"] for r in rows} == {0, 1} and {r["length"] for r in rows} == {1000}
    assert all("error" in r and "timesteps" in r for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes_per_seed"] == [2, 2]
    assert summary["score"]["episodes_per_seed"] == 2 and summary["score"]["test_seeds"] == [1_000_000, 1_000_001]
    assert "trials_to_criterion" in summary["headline"]  # the task's own figures, as for a spiking run
    evaluated = cli("eval", str(out), "--episodes", "2", "--out", str(tmp_path / "again"))
    again = json.loads((tmp_path / "again" / "eval_summary.json").read_text())
    assert again["mean_return"] == summary["score"]["mean_return"], evaluated.stdout  # the saved models reload
    cli("plot", str(out))
    assert (out / "figures" / "learning_curve.png").exists()
    refused = cli("baseline", "--task", "spikegym/DNMS-v0", "--steps", "100", "--out", str(out), check=False)
    assert refused.returncode == 2 and "--force" in refused.stderr


def test_recurrent_ppo_and_sac(tmp_path):
    rppo = train_baseline(
        BaselineConfig(algo="recurrent_ppo", task="spikegym/DNMS-v0", steps=256, hyperparams={"n_steps": 128},
                       score_episodes=1),
        tmp_path / "rppo",
        quiet=True,
    )  # fmt: skip
    assert np.isfinite(rppo["score"]["mean_return"])
    sac = train_baseline(
        BaselineConfig(algo="sac", task="spikegym/ArmReach-v0", steps=64, hyperparams={"learning_starts": 16},
                       score_episodes=1),
        tmp_path / "sac",
        quiet=True,
    )  # fmt: skip
    assert np.isfinite(sac["score"]["mean_return"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "sac", "--task", "spikegym/SpikePatterns-v0"], "SAC needs a continuous"),
        (["--task", "spikegym/Nope-v0"], "unknown task"),
        (["--env-kwargs", '{"no_such_argument": 1}'], "bad --env-kwargs"),
        (["--hyperparams", '{"no_such_argument": 1}'], "bad --hyperparams"),
        (["--steps", "1.5"], "not a whole number"),
    ],
)
def test_bad_input_gets_a_clear_error(args, message, tmp_path: Path):
    proc = cli("baseline", "--steps", "64", *args, "--out", str(tmp_path / "x"), "--quiet", check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
