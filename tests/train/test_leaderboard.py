"""``python -m train leaderboard``: the spec, the entrants, one table from one command, resuming, the README block."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import SHORT_DNMS
from tests.train.test_cli import cli
from train.cli import UsageError
from train.leaderboard import SPEC, Criterion, entrants, load_spec, splice_readme


def test_the_shipped_spec_covers_every_registered_task():
    import gymnasium as gym

    spec = load_spec(SPEC)
    assert {t.task for t in spec.tasks} == {k for k in gym.registry if k.startswith("spikegym/")}
    for task in spec.tasks:
        assert task.episodes * task.episode_steps <= task.env_steps  # spiking agents never get more steps


def test_every_task_has_an_entrant_from_its_paper_and_ppo():
    spec = load_spec(SPEC)
    for task in spec.tasks:
        runs, cannot = entrants(spec, task)
        kinds = {e.kind for e in runs}
        assert kinds == {"spiking", "baseline"}, (task.task, cannot)
        assert "ppo" in {e.name for e in runs}
        assert all(reason for reason in cannot.values())


def test_episode_steps_bound_every_episode():
    import gymnasium as gym

    import envs  # noqa: F401

    for task in load_spec(SPEC).tasks:
        if task.episode_steps > 20_000:  # the hour-long tasks: their length is their duration_s in ms
            assert task.episode_steps == round(task.env_kwargs["duration_s"] * 1000)
            continue
        env = gym.make(task.task, **task.env_kwargs)
        env.reset(seed=0)
        env.action_space.seed(0)
        steps, done = 0, False
        while not done and steps <= task.episode_steps:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            steps, done = steps + 1, terminated or truncated
        env.close()
        assert steps <= task.episode_steps, task.task


def test_criterion_counts_episodes_beyond_the_threshold():
    errors = np.array([[2.0, 2.0, 0.5, 0.5, 0.5, 2.0], [2.0] * 6])
    assert Criterion(1.0, window=2, fraction=1.0).episodes_to(errors, lower_is_better=True).tolist()[0] == 4
    assert np.isnan(Criterion(1.0, window=2, fraction=1.0).episodes_to(errors, lower_is_better=True)[1])
    success = np.array([[0, 1, 1, 1]])
    assert Criterion(0.5, window=1, fraction=1.0).episodes_to(success, lower_is_better=False).tolist() == [2]


BUDGET = {"env_steps": 9, "episode_steps": 1}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tasks": {"spikegym/Nope-v0": {"env_steps": 10, "episode_steps": 1}}}, "not a registered task"),
        ({"tasks": {"spikegym/DNMS-v0": {**BUDGET, "env_steps": 0}}}, "env_steps must be a positive"),
        ({"tasks": {"spikegym/DNMS-v0": {**BUDGET, "agents": {"x": {}}}}}, "unknown agent"),
        ({"tasks": {"spikegym/DNMS-v0": {**BUDGET, "baselines": ["a2c"]}}}, "unknown baseline"),
        ({"tasks": {"spikegym/DNMS-v0": {**BUDGET, "budget": 1}}}, "unknown key"),
        ({"tasks": {"spikegym/DNMS-v0": {**BUDGET, "metric": "speed"}}}, "not recorded per episode"),
        ({"seed": 3, "tasks": {"spikegym/DNMS-v0": BUDGET}}, "unknown key"),
    ],
)
def test_bad_specs_get_clear_errors(change, message, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(change))
    with pytest.raises(UsageError, match=message):
        load_spec(path)


def test_one_command_runs_every_pairing_and_writes_the_table(tmp_path: Path):
    spec = {
        "seeds": 1,
        "score_episodes": 2,
        "tasks": {
            "spikegym/DNMS-v0": {
                "env_steps": 600,
                "episode_steps": 100,
                "env_kwargs": SHORT_DNMS,
                "criterion": {"threshold": 1.0, "window": 2, "fraction": 0.5},
                "baselines": {"ppo": {"n_steps": 100, "batch_size": 50}},
            }
        },
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- leaderboard:start -->\nold\n<!-- leaderboard:end -->\n\nafter\n")
    out, markdown = tmp_path / "runs", tmp_path / "docs" / "leaderboard.md"
    args = ["leaderboard", "--spec", str(tmp_path / "spec.yaml"), "--out", str(out), "--markdown", str(markdown)]
    cli(*args, "--readme", str(readme), "--quiet")
    text = markdown.read_text()
    for entrant in ("| miconi | spiking |", "| ppo | baseline |"):
        assert entrant in text
    assert "Cannot run this task: dastdp" in text and "goal (GOAL learns from info['target']" in text
    assert "episodes | wall s | device |" in text
    assert (tmp_path / "docs" / "leaderboard" / "DNMS-v0.png").exists()
    record = json.loads((out / "DNMS-v0" / "miconi" / "leaderboard.json").read_text())
    assert record["status"] == "done" and record["device"] == "cpu"
    summary = json.loads((out / "DNMS-v0" / "miconi" / "summary.json").read_text())
    assert summary["episodes_per_seed"] == 6 and summary["score"]["episodes_per_seed"] == 2
    spliced = readme.read_text()
    assert "old" not in spliced and "| ppo | baseline |" in spliced and spliced.endswith("after\n")
    assert "(docs/leaderboard/DNMS-v0.png)" in spliced  # figure links relative to the README
    before = (out / "DNMS-v0" / "ppo" / "leaderboard.json").stat().st_mtime_ns
    again = cli(*args)  # everything is there: nothing reruns, the same table comes back
    assert (out / "DNMS-v0" / "ppo" / "leaderboard.json").stat().st_mtime_ns == before, again.stderr
    assert markdown.read_text().split("in all.")[1] == text.split("in all.")[1]


def test_readme_without_markers_is_refused(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no block\n")
    with pytest.raises(UsageError, match="leaderboard:start"):
        splice_readme(readme, "table")
