"""GOAL's runs from the command line: the Fig. 2 preset (tiny budget), the regime map, their figures."""

import json

import numpy as np
import yaml

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
