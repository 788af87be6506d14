"""GOAL's runs from the command line: the Fig. 2 preset (tiny budget), the regime map, their figures."""

import json

import gymnasium as gym
import numpy as np
import yaml

from agents import make_agent
from envs.trajectory import clock_inputs
from tests.train.test_cli import cli
from train.goal_map import RANKS, TIMESCALES, convergence


def test_the_map_grid_is_the_papers():
    assert RANKS == (3, 19, 35, 52, 68, 84, 101, 117, 133, 150, None)
    assert TIMESCALES == (1, 2, 3, 5, 8, 13, 22, 36, 60, 100)


def test_convergence_epoch_final_mse_and_non_convergence():
    epochs = np.arange(1, 201)
    falling = 0.01 + 0.09 * np.exp(-epochs / 20)  # from 0.1 toward 0.01
    flat = np.full(200, 0.09)
    final, converged, when = convergence(np.stack([falling, flat]), start=np.array([0.1, 0.1]), window=1)
    assert converged.tolist() == [True, False] and np.isnan(when[1])
    assert final[0] == falling[-10:].mean()
    # 10% of the way from the final value back to the start: 0.09 exp(-e/20) <= 0.1 (0.1 - final) ~ 0.009
    assert when[0] == np.flatnonzero(falling <= final[0] + 0.1 * (0.1 - final[0]))[0] + 1


def test_regime_map_command_writes_the_maps_and_heat_maps(tmp_path):
    out = tmp_path / "map"
    args = ["regime-map", "--out", str(out), "--epochs", "12", "--n-units", "20", "--n-steps", "30"]
    cli(*args, "--ranks", "3", "20", "ltts", "--timescales", "2", "8", "--threads", "1", "--quiet")
    data = np.load(out / "map.npz")
    assert data["mse"].shape == data["spike_error"].shape == (3, 2, 12)
    assert list(data["ranks"]) == ["3", "20", "LTTS"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["networks"] == 6 and summary["wall_s"] > 0 and len(summary["final_mse"]) == 3
    assert (out / "figures" / "regime_map.png").stat().st_size > 10_000
    again = cli(*args, check=False)
    assert again.returncode == 2 and "--force" in again.stderr
    cli("plot", str(out))


def test_goal_trajectories_command_trains_the_three_rules_on_each_trajectory(tmp_path):
    out = tmp_path / "study"
    args = ["goal-trajectories", "--out", str(out), "--epochs", "12", "--n-units", "20", "--n-steps", "30"]
    printed = cli(*args, "--trajectories", "3", "0-1", "--threads", "1", "--quiet").stdout
    assert "R = 20: final MSE median" in printed and "LTTS: final MSE median" in printed
    data = np.load(out / "trajectories.npz")
    assert data["mse"].shape == data["spike_error"].shape == (3, 3, 12)  # trajectories x rules x epochs
    assert data["trajectories"].tolist() == [3, 0, 1] and data["ranks"].tolist() == ["20", "3", "LTTS"]
    # every rule starts from the same network and readout on a trajectory: the same readout-only MSE
    assert np.all(data["readout_only_mse"] == data["readout_only_mse"][:, :1])
    assert len(set(data["readout_only_mse"][:, 0].tolist())) == 3  # and the trajectories differ
    summary = json.loads((out / "summary.json").read_text())
    assert summary["networks"] == 9 and set(summary["rules"]) == {"20", "3", "LTTS"}
    final = data["mse"][:, :, -12:].mean(axis=2)
    assert summary["rules"]["LTTS"]["final_mse_median"] == round(float(np.median(final[:, 2])), 5)
    assert summary["per_trajectory"][1]["trajectory"] == 0
    assert (out / "figures" / "goal_trajectories.png").stat().st_size > 10_000
    bad = cli("goal-trajectories", "--out", str(tmp_path / "x"), "--trajectories", "a-b", check=False)
    assert bad.returncode == 2 and "ranges like 0-9" in bad.stderr
    assert cli(*args, check=False).returncode == 2  # the study is there: --force to overwrite
    cli("plot", str(out))
    frozen = tmp_path / "frozen"  # GOAL's -Rlr 0: the recurrent weights stay at 0, every epoch the same
    cli(*args[:1], "--out", str(frozen), *args[3:], "--trajectories", "3", "--ranks", "20", "--recurrent-lr", "0",
        "--quiet")  # fmt: skip
    mse = np.load(frozen / "trajectories.npz")["mse"][0, 0]
    assert np.all(mse == mse[0]) and not np.all(data["mse"][0, 0] == data["mse"][0, 0, 0])
    assert json.loads((frozen / "summary.json").read_text())["recurrent_lr"] == 0.0


def test_network_k_of_the_figure_2_preset_is_the_studys_trajectory_k_with_its_rule():
    """``--config goal2022-fig2``'s network k (seed k, trajectory k, rule k mod 3) equals the trajectory study's."""
    from train.goal_map import train_batch, trajectory_targets

    targets, n_inputs = trajectory_targets([4], 3, 30)
    seen = {}

    def save(done, results, wall_s):
        seen.update(results)

    config = {"n_units": 20, "feedback_rank": [3], "tau_o": 4.6, "readout_epochs": 50}
    train_batch(targets, [4], config, n_inputs=n_inputs, epochs=3, device="cpu", desc="", quiet=True, save=save,
                save_every=0)  # fmt: skip
    env = gym.make_vec("spikegym/Trajectory-v0", num_envs=6, n_steps=30)
    env.reset(seed=0)
    agent = make_agent("goal", env, seeds=range(6), config={**config, "feedback_rank": [20, 3, None] * 2})
    result = agent.train_episodes(clock_inputs(n_inputs, 30), env.unwrapped.trajectory / 3.0, 3)
    assert result["mse"][4].tolist() == seen["mse"][0].tolist()


def test_the_figure_2_preset_runs_evaluates_on_its_trajectory_and_plots(tmp_path):
    out = tmp_path / "fig2"
    small = json.dumps({"preset": "ltts", "n_units": 30, "feedback_rank": [30, 3], "readout_epochs": 100})
    cli(
        "run", "--config", "goal2022-fig2", "--episodes", "4", "--seeds", "2", "--agent-config", small,
        "--env-kwargs", '{"n_steps": 40}', "--out", str(out), "--quiet",
    )  # fmt: skip
    resolved = yaml.safe_load((out / "config.yaml").read_text())["agent_config"]
    assert resolved["tau_o"] == 4.6 and resolved["n_units"] == 30  # --agent-config over the preset's, key by key
    headline = json.loads((out / "summary.json").read_text())["headline"]
    assert len(headline["mse_first_epoch"]) == 2 and len(headline["readout_only_mse"]) == 2
    assert (out / "metrics.csv").read_text().splitlines()[0] == "seed,episode,return,length,mse"
    probes = np.load(out / "probes.npz")
    assert probes["after_actions"].shape == (1, 40, 3) and probes["after_targets"].shape == (1, 40, 3)
    evaluated = cli("eval", str(out), "--episodes", "1")
    assert "mean_mse" in evaluated.stdout
    cli("plot", str(out))
    assert (out / "figures" / "goal_curves.png").stat().st_size > 10_000
