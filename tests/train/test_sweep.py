"""``python -m train sweep``: the grid file's checks, tiny local sweeps through the CLI (tables, best config,
a failing trial, resuming), and the same sweeps on a local Ray instance (skipped without the ``ray`` extra)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHORT_DNMS
from train.cli import UsageError, main
from train.config import RunConfig, load_config_file
from train.sweep import SWEEP_DIR, Grid, grid_path, make_trials, parse_grid

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "task": "spikegym/DNMS-v0",
    "agent": "miconi",
    "episodes": 4,
    "score_episodes": 2,
    "env_kwargs": {**SHORT_DNMS},
    "agent_config": {"learning_start_trials": 2},
    "seeds": [0, 1],
    "grid": {"agent_config.learning_rate": [0.1, 0.5]},
}
"""A 2 settings x 2 seeds sweep of 4 short DNMS trials each: about a second in-process."""


def write_grid(path: Path, values: dict) -> Path:
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


def sweep(grid: Path, out: Path, *args: str) -> int:
    return main(["sweep", "--grid", str(grid), "--out", str(out), "--quiet", *args])


def read_results(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def record(out: Path, name: str) -> dict:
    return json.loads((out / "trials" / name / "trial.json").read_text())


def ray_sweep(grid: Path, out: Path, log: Path) -> subprocess.Popen:
    """``python -m train sweep --engine ray`` on a local Ray instance of 2 CPUs, started as a user starts it (in
    the background, its output going to ``log``)."""
    args = ["sweep", "--engine", "ray", "--cpus", "2", "--grid", str(grid), "--out", str(out), "--quiet"]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "OMP_NUM_THREADS": "1"}
    with open(log, "w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "train", *args], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )


# -- the grid file ---------------------------------------------------------------------------------
def test_grid_expands_to_one_trial_per_setting_and_seed():
    values = {**TINY, "grid": {"agent_config.learning_rate": [0.1, 0.5], "env_kwargs.timing.delay1": [10, 30]}}
    grid = parse_grid(values, "test")
    trials = make_trials(grid, "test")
    assert len(trials) == 2 * 2 * 2
    assert [t.name for t in trials[:3]] == [
        "00-learning_rate=0.1-delay1=10-seed0",
        "01-learning_rate=0.1-delay1=10-seed1",
        "02-learning_rate=0.1-delay1=30-seed0",
    ]
    last = trials[-1]
    assert last.params == {"agent_config.learning_rate": 0.5, "env_kwargs.timing.delay1": 30}
    assert (last.config["seeds"], last.config["seed_offset"], last.config["threads"]) == (1, 1, 1)
    assert last.config["agent_config"] == {"learning_start_trials": 2, "learning_rate": 0.5}
    assert last.config["env_kwargs"]["timing"] == {**SHORT_DNMS["timing"], "delay1": 30}  # the rest of the base kept
    assert TINY["env_kwargs"]["timing"]["delay1"] == 20  # and the base itself untouched


def test_command_line_task_and_agent_override_the_file():
    grid = parse_grid({**TINY, "task": "spikegym/Nope-v0"}, "test", task="spikegym/DNMS-v0", agent="miconi")
    assert grid.base["task"] == "spikegym/DNMS-v0"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"episode": 4}, "unknown key 'episode'"),
        ({"seed_offset": 3}, "remove 'seed_offset'"),
        ({"threads": 2}, "remove 'threads'"),
        ({"seeds": 3}, "seeds must be a non-empty list"),
        ({"seeds": []}, "seeds must be a non-empty list"),
        ({"seeds": [0, 0]}, "repeat a seed"),
        ({"grid": [0.1, 0.5]}, "grid must map keys to lists"),
        ({"grid": {"learning_rate": [0.1]}}, "grid key 'learning_rate' is neither a RunConfig field"),
        ({"grid": {"agent_config.": [0.1]}}, "is neither a RunConfig field"),
        ({"grid": {"seeds": [1, 2]}}, "grid key 'seeds' is the sweep's"),
        ({"grid": {"agent_config.learning_rate": []}}, "needs a non-empty list"),
        ({"grid": {"agent_config.learning_rate": 0.1}}, "needs a non-empty list"),
        ({"grid": {"agent_config.learning_rate": [0.1, 0.1]}}, "lists 0.1 twice"),
        ({"grid": {"agent_config.learning_rate": ["1e-3"]}}, "write it with a dot"),
        ({"grid": {"env_kwargs.timing": [{}], "env_kwargs.timing.delay1": [10]}}, "keep one of them"),
        ({"mode": "maximum"}, "mode must be one of ['max', 'min']"),
        ({"metric": "score..mean_return"}, "metric must be a dotted path"),
    ],
)
def test_grid_file_mistakes_name_the_fix(change, message):
    with pytest.raises(UsageError, match="^test: .*" + message.replace("[", r"\[").replace("]", r"\]")):
        parse_grid({**TINY, **change}, "test")


def test_grid_needs_a_task_and_an_agent():
    values = {k: v for k, v in TINY.items() if k != "agent"}
    with pytest.raises(UsageError, match=r"names no agent: add `agent: \.\.\.` to it or pass --agent"):
        parse_grid(values, "test")
    assert parse_grid(values, "test", agent="miconi").base["agent"] == "miconi"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grid": {"episodes": [4, 0]}}, "trial 01-episodes=0-seed0: bad run configuration: episodes must be"),
        ({"grid": {"agent_config.learning_rat": [0.1]}}, "bad agent_config: unknown Miconi parameter"),
        ({"grid": {"agent_config.learning_rate": [0.1, -1.0]}}, "learning_rate and max_weight_change must be >= 0"),
        ({"task": "spikegym/Nope-v0"}, "Nope"),
        ({"score_episodes": 0}, "needs score_episodes > 0 in the grid file"),
    ],
)
def test_every_trial_is_checked_before_any_starts(change, message):
    grid = parse_grid({**TINY, "seeds": [0], **change}, "test")
    with pytest.raises(UsageError, match=message):
        make_trials(grid, "test")


def test_the_shipped_example_is_a_valid_eight_trial_sweep():
    path = grid_path("miconi-dnms")
    assert path == SWEEP_DIR / "miconi-dnms.yaml"
    grid = parse_grid(yaml.safe_load(path.read_text()), str(path))
    assert isinstance(grid, Grid) and grid.metric == "score.mean_return"
    assert len(make_trials(grid, str(path))) == 8
    with pytest.raises(FileNotFoundError, match="miconi-dnms"):
        grid_path("no-such-grid")


# -- local sweeps through the CLI ------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny sweep run once with the local engine: (its grid file, its OUT)."""
    root = tmp_path_factory.mktemp("sweep")
    grid = write_grid(root / "grid.yaml", TINY)
    out = root / "out"
    assert sweep(grid, out) == 0
    return grid, out


def test_local_sweep_writes_trials_results_summary_and_best(local_sweep):
    _, out = local_sweep
    rows = read_results(out)
    assert [r["name"] for r in rows] == [
        "00-learning_rate=0.1-seed0",
        "01-learning_rate=0.1-seed1",
        "02-learning_rate=0.5-seed0",
        "03-learning_rate=0.5-seed1",
    ]
    assert list(rows[0]) == [
        "name",
        "setting",
        "seed",
        "agent_config.learning_rate",
        "status",
        "metric",
        "wall_s",
        "error",
    ]
    assert all(r["status"] == "done" and r["metric"] for r in rows)
    for r in rows:
        trial = out / "trials" / r["name"]
        summary = json.loads((trial / "summary.json").read_text())
        assert float(r["metric"]) == summary["score"]["mean_return"]
        assert summary["config"]["seed_offset"] == int(r["seed"]) and summary["config"]["threads"] == 1
        info = record(out, r["name"])
        assert info["status"] == "done" and info["pid"] == os.getpid() and info["end_time"] >= info["start_time"]

    text = (out / "summary.md").read_text()
    assert "| setting | agent_config.learning_rate | score.mean_return (mean ± sd) | done | best |" in text
    assert text.count("| 2/2 |") == 2 and text.count("**best**") == 1

    best = load_config_file(str(out / "best.yaml"))
    config = RunConfig.from_dict(best)
    assert (config.seeds, config.seed_offset, config.threads) == (2, 0, 0)
    means = {}
    for r in rows:
        means.setdefault(float(r["agent_config.learning_rate"]), []).append(float(r["metric"]))
    assert config.agent_config["learning_rate"] == max(means, key=lambda k: sum(means[k]))
    assert config.env_kwargs == TINY["env_kwargs"] and config.score_episodes == 2


def test_best_yaml_runs_with_train_run(local_sweep, tmp_path):
    _, out = local_sweep
    assert main(["run", "--config", str(out / "best.yaml"), "--episodes", "2", "--out", str(tmp_path), "--quiet"]) == 0
    assert json.loads((tmp_path / "summary.json").read_text())["seeds"] == [0, 1]


def test_a_rerun_skips_the_trials_already_done(local_sweep, tmp_path, capsys):
    grid, done = local_sweep
    out = tmp_path / "out"
    assert sweep(grid, out) == 0
    capsys.readouterr()
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("trials/*/summary.json")}
    (out / "trials" / "02-learning_rate=0.5-seed0" / "summary.json").unlink()  # as if it had been interrupted

    assert sweep(grid, out) == 0
    assert "(3 already done in" in capsys.readouterr().out
    for path, stamp in stamps.items():
        assert (path.stat().st_mtime_ns == stamp) == ("02-" not in str(path))
    assert [r["metric"] for r in read_results(out)] == [r["metric"] for r in read_results(done)]

    assert sweep(grid, out, "--force") == 0
    assert "(0 already done in" in capsys.readouterr().out
    assert all(path.stat().st_mtime_ns != stamp for path, stamp in stamps.items())


def test_another_grid_into_the_same_out_is_refused(local_sweep, tmp_path, capsys):
    _, out = local_sweep
    other = write_grid(tmp_path / "other.yaml", {**TINY, "episodes": 5})
    assert sweep(other, out) == 2
    assert "already holds another sweep's results" in capsys.readouterr().err
    assert yaml.safe_load((out / "grid.yaml").read_text())["episodes"] == 4


def test_a_failing_trial_is_reported_and_the_others_kept(tmp_path, capsys):
    # a target of 2.0 passes the configuration checks but the DNMS env rejects it when the trial builds it
    grid = write_grid(tmp_path / "grid.yaml", {**TINY, "seeds": [0], "grid": {"env_kwargs.target": [0.9, 2.0, 1.0]}})
    assert sweep(grid, tmp_path / "out") == 0
    printed = capsys.readouterr().out
    rows = read_results(tmp_path / "out")
    assert [r["status"] for r in rows] == ["done", "error", "done"]
    assert rows[0]["metric"] and not rows[1]["metric"] and rows[2]["metric"]
    assert "target must be a number in (0, 1]" in rows[1]["error"]
    failed = record(tmp_path / "out", rows[1]["name"])
    assert failed["status"] == "error" and "Traceback" in failed["traceback"]
    assert "01-target=2.0-seed0`: error: ValueError: target must be" in (tmp_path / "out" / "summary.md").read_text()
    assert "01-target=2.0-seed0: error" in printed


def test_a_sweep_where_every_trial_fails_exits_nonzero(tmp_path, capsys):
    grid = write_grid(tmp_path / "grid.yaml", {**TINY, "seeds": [0], "grid": {"env_kwargs.target": [2.0]}})
    assert sweep(grid, tmp_path / "out") == 1
    assert "no trial has a value of score.mean_return" in capsys.readouterr().err
    assert not (tmp_path / "out" / "best.yaml").exists()


def test_command_line_mistakes(tmp_path, capsys, monkeypatch):
    grid = write_grid(tmp_path / "grid.yaml", TINY)
    assert sweep(grid, tmp_path / "out", "--address", "auto") == 2
    assert "--address and --cpus are for --engine ray" in capsys.readouterr().err
    assert sweep(tmp_path / "missing.yaml", tmp_path / "out") == 2
    assert "no grid file" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as without the extra: `import ray` fails
    assert sweep(grid, tmp_path / "out", "--engine", "ray") == 2
    assert "pip install 'spikegym[ray]'" in capsys.readouterr().err


# -- the ray engine --------------------------------------------------------------------------------
def test_ray_sweep_gives_the_local_sweeps_results(local_sweep, tmp_path):
    pytest.importorskip("ray")
    grid, local_out = local_sweep
    out = tmp_path / "out"
    proc = ray_sweep(grid, out, log=tmp_path / "log.txt")
    assert proc.wait(timeout=300) == 0, (tmp_path / "log.txt").read_text()
    columns = ("name", "setting", "seed", "agent_config.learning_rate", "status", "metric", "error")
    assert [[r[c] for c in columns] for r in read_results(out)] == [
        [r[c] for c in columns] for r in read_results(local_out)
    ]
    assert (out / "summary.md").read_text() == (local_out / "summary.md").read_text()
    assert any((out / "ray").iterdir())  # Tune's own experiment state
    assert all(record(out, r["name"])["pid"] != proc.pid for r in read_results(out))  # ran in Ray's workers


def test_ray_trials_that_raise_or_are_killed_fail_alone(tmp_path):
    pytest.importorskip("ray")
    # trial 00 trains far longer than the others, so that it is still running when its worker is killed;
    # the DNMS env rejects a target of 2.0, so that trials 01 and 03 raise as they start
    grid = {**TINY, "seeds": [0], "grid": {"episodes": [3000, 4], "env_kwargs.target": [0.9, 2.0]}}
    out = tmp_path / "out"
    proc = ray_sweep(write_grid(tmp_path / "grid.yaml", grid), out, log=tmp_path / "log.txt")
    long_trial = out / "trials" / "00-episodes=3000-target=0.9-seed0"
    deadline = time.monotonic() + 120
    while not ((long_trial / "metrics.csv").exists() and len((long_trial / "metrics.csv").read_text().split()) > 3):
        assert proc.poll() is None and time.monotonic() < deadline, "the long trial never got going"
        time.sleep(0.2)
    pid = record(out, long_trial.name)["pid"]
    assert pid != proc.pid  # a Ray worker's
    os.kill(pid, signal.SIGKILL)

    assert proc.wait(timeout=300) == 0, (tmp_path / "log.txt").read_text()
    rows = read_results(out)
    assert [r["status"] for r in rows] == ["error", "error", "done", "error"]
    assert [bool(r["metric"]) for r in rows] == [False, False, True, False]
    killed, raised = record(out, rows[0]["name"]), record(out, rows[1]["name"])
    assert killed["status"] == "error" and killed["error"].startswith("Ray: The actor died unexpectedly")
    assert raised["error"].startswith("ValueError: target must be") and "Traceback" in raised["traceback"]
    summary = (out / "summary.md").read_text()
    assert f"`{rows[0]['name']}`: error: Ray: The actor died unexpectedly" in summary
    assert f"`{rows[3]['name']}`: error: ValueError: target must be" in summary
    assert load_config_file(str(out / "best.yaml"))["episodes"] == 4
