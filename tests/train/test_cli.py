"""Every CLI command, run as a user runs it (subprocess, tiny budgets), and its errors."""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import SHORT_DNMS

ROOT = Path(__file__).resolve().parents[2]
SHORT = json.dumps(SHORT_DNMS)


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "train", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"`python -m train {' '.join(args)}` failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "dnms"
    cli(
        "run",
        "--task",
        "spikegym/DNMS-v0",
        "--agent",
        "miconi",
        "--episodes",
        "6",
        "--seeds",
        "2",
        "--seed-offset",
        "5",
        "--env-kwargs",
        SHORT,
        "--agent-config",
        '{"learning_start_trials": 2}',
        "--eval-every",
        "3",
        "--eval-episodes",
        "2",
        "--threads",
        "1",
        "--out",
        str(out),
        "--quiet",
    )
    return out


def test_run_writes_metrics_summary_checkpoint_and_config(run_dir):
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert rows[0] == "seed,episode,return,length,error,condition"
    assert len(rows) == 1 + 2 * 6
    assert {r.split(",")[0] for r in rows[1:]} == {"5", "6"}  # --seed-offset 5, --seeds 2
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["seeds"] == [5, 6] and summary["episodes_per_seed"] == 6
    assert "trials_to_criterion" in summary["headline"]
    assert (run_dir / "checkpoint" / "state.pt").exists()
    assert "learning_start_trials: 2" in (run_dir / "config.yaml").read_text()
    evals = (run_dir / "evaluations.csv").read_text().splitlines()
    assert len(evals) == 1 + 3 * 2 * 2  # 3 evaluations (before learning, after 3 and 6) x 2 seeds x 2 episodes
    probes = np.load(run_dir / "probes.npz")
    assert probes["before_actions"].shape == probes["after_actions"].shape == (4, 100, 1)


def test_run_refuses_to_overwrite_without_force(run_dir):
    proc = cli("run", "--episodes", "1", "--out", str(run_dir), "--env-kwargs", SHORT, check=False)
    assert proc.returncode == 2 and "--force" in proc.stderr


def test_eval_plot_and_render(run_dir, tmp_path):
    out = cli("eval", str(run_dir), "--episodes", "2")
    assert "seed 5" in out.stdout and (run_dir / "eval.csv").exists()
    summary = json.loads((run_dir / "eval_summary.json").read_text())
    assert set(summary["per_seed"]) == {"5", "6"}
    out = cli("plot", str(run_dir))
    for name in ("learning_curve.png", "outputs.png"):
        assert (run_dir / "figures" / name).stat().st_size > 10_000
    gif = tmp_path / "dnms.gif"
    cli("render", "--checkpoint", str(run_dir), "--network-seed", "6", "--out", str(gif), "--frame-every", "25")
    assert gif.stat().st_size > 1000
    cli("render", "--task", "spikegym/DNMS-v0", "--env-kwargs", SHORT)  # a window (dummy video driver)


def test_run_from_a_config_preset_with_overrides(tmp_path):
    out = tmp_path / "preset"
    cli(
        "run",
        "--config",
        "miconi2017",
        "--episodes",
        "2",
        "--seeds",
        "1",
        "--env-kwargs",
        SHORT,
        "--out",
        str(out),
        "--quiet",
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["agent_config"] == {"preset": "paper"}
    assert summary["config"]["episodes"] == 2
    cli("plot", str(out))  # a run shorter than the curve's smoothing window still plots
    assert (out / "figures" / "learning_curve.png").exists()


def test_a_spiking_experiment_samples_and_plots_what_the_rule_learned(tmp_path):
    out = tmp_path / "distal"
    small = json.dumps({"preset": "izhikevich2007", "n_excitatory": 80, "n_inhibitory": 20, "fan_out": 10})
    cli(
        "run",
        "--config",
        "izhikevich2007-distal-reward",
        "--seeds",
        "2",
        "--env-kwargs",
        '{"duration_s": 0.2}',
        "--agent-config",
        small,
        "--out",
        str(out),
        "--quiet",
    )
    assert (out / "samples.csv").read_text().startswith("t_s,step,seed,reinforced_weight")
    headline = json.loads((out / "summary.json").read_text())["headline"]
    assert headline["seconds_to_0.9_of_max"]["reached"] == 0 and len(headline["final_other_weights_p99"]) == 2
    cli("plot", str(out))
    assert (out / "figures" / "samples.png").stat().st_size > 10_000


def test_a_spike_pattern_run_reports_accuracy_and_plots_rasters_weights_and_counts(tmp_path):
    out = tmp_path / "patterns"
    small = {"n_channels": 20, "template_ms": 100, "onset_ms": 10, "trial_ms": 400, "reward_delay_ms": 50}
    cli(
        "run",
        "--config",
        "legenstein2008-patterns",
        "--episodes",
        "4",
        "--seeds",
        "2",
        "--eval-every",
        "4",
        "--eval-episodes",
        "3",
        "--env-kwargs",
        json.dumps(small),
        "--out",
        str(out),
        "--quiet",
    )
    headline = json.loads((out / "summary.json").read_text())["headline"]
    assert len(headline["last_100_correct"]["per_seed"]) == 2
    probes = np.load(out / "probes.npz")
    assert probes["before_weights"].shape == probes["after_weights"].shape == (2, 20)
    assert probes["after_actions"].shape == (2, 400, 1) and probes["after_observations"].shape == (2, 400, 20)
    cli("plot", str(out))
    for name in ("learning_curve", "outputs", "weights", "evaluations", "counts"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    evaluated = cli("eval", str(out / "checkpoint"), "--episodes", "2")
    assert "mean_correct" in evaluated.stdout


def test_a_forward_model_run_is_tested_without_feedback_and_continues_from_its_checkpoint(tmp_path):
    """FOLLOW on van der Pol (tiny): evaluations on the test input from before learning on, the learning time
    in them, the prediction plot; a second run continues the first's weights and learning time."""
    small = json.dumps({"preset": "vanderpol", "n_input_neurons": 60, "n_neurons": 60})
    trials = json.dumps({"trial_ms": 200, "clamp_ms": 50})
    first, second = tmp_path / "vdp", tmp_path / "vdp-more"
    common = ["--config", "gilra2017-vanderpol", "--agent-config", small, "--env-kwargs", trials, "--quiet"]
    cli("run", *common, "--episodes", "4", "--eval-every", "2", "--out", str(first))
    evals = read_rows(first / "evaluations.csv")
    assert [r["after_episodes"] for r in evals] == ["0", "2", "4"]
    assert [float(r["learned_s"]) for r in evals] == [0.0, 0.4, 0.8]
    assert [int(r["length"]) for r in evals] == [800] * 3  # the test protocol: 4 trials of 200 ms, no clamp
    assert all(0 < float(r["filtered_mse"]) for r in evals)  # also scored against the reference through 20 ms
    headline = json.loads((first / "summary.json").read_text())["headline"]
    assert len(headline["curves"][0]) == 3 and headline["test_mse_before"][0] > 0
    assert len(headline["test_filtered_mse_curves"][0]) == 3 and headline["test_filtered_mse_before"][0] > 0
    cli("plot", str(first))
    for name in ("outputs", "evaluations", "weights", "samples"):
        assert (first / "figures" / f"{name}.png").stat().st_size > 10_000
    cli("run", *common, "--episodes", "2", "--eval-every", "2", "--continue-from", str(first), "--out", str(second))
    assert [float(r["learned_s"]) for r in read_rows(second / "evaluations.csv")] == [0.8, 1.2]
    third = tmp_path / "vdp-more-again"  # without --config: the task, agent and settings of the run it continues
    cli("run", "--continue-from", str(second), "--quiet", "--out", str(third))
    assert [float(r["learned_s"]) for r in read_rows(third / "evaluations.csv")] == [1.2, 1.6]
    earlier, again = (yaml.safe_load((run / "config.yaml").read_text()) for run in (second, third))
    assert again == {**earlier, "continue_from": str(second)}
    proc = cli("run", *common, "--seeds", "2", "--continue-from", str(first), "--out", str(tmp_path / "x"), check=False)
    assert proc.returncode == 2 and "--continue-from" in proc.stderr and "seeds" in proc.stderr
    proc = cli("run", "--continue-from", str(tmp_path / "none"), "--out", str(tmp_path / "y"), check=False)
    assert proc.returncode == 2 and "no checkpoint at" in proc.stderr


def test_a_closed_loop_run_is_evaluated_on_fixed_seeded_episodes_and_renders_its_expert(tmp_path):
    """The GOAL clone on ArmReach (tiny): evaluations with the network in control on the task's fixed test
    seeds (the same targets every time), success rates in the summary, the control figure, an expert video."""
    out = tmp_path / "reach"
    small = json.dumps({"preset": "control", "n_units": 60})
    common = ["--task", "spikegym/ArmReach-v0", "--agent", "goal-clone", "--agent-config", small, "--quiet"]
    cli("run", *common, "--episodes", "2", "--eval-every", "2", "--eval-episodes", "3", "--out", str(out))
    evals = read_rows(out / "evaluations.csv")
    assert [r["after_episodes"] for r in evals] == ["0"] * 3 + ["2"] * 3
    assert {r["expert_in_control"] for r in evals} == {"False"}
    assert {r["is_success"] for r in evals} <= {"True", "False"}
    headline = json.loads((out / "summary.json").read_text())["headline"]
    assert len(headline["success_first_last_best"][0]) == 3 and len(headline["curves"][0]) == 2
    cli("plot", str(out))
    for name in ("outputs", "evaluations"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    cli("render", "--task", "spikegym/ArmReach-v0", "--expert", "--out", str(tmp_path / "reach.png"))
    assert (tmp_path / "reach.png").stat().st_size > 5_000
    assert "--timesteps" in cli("expert", "--help").stdout


def test_render_plays_a_checkpoint_as_it_is_scored(tmp_path):
    """FOLLOW on ArmReach (tiny): the rendered test episodes are those of the score, returns and lengths equal,
    so the video shows the agent as evaluated (its error feedback off, although the checkpoint saved it training)."""
    out = tmp_path / "reach-follow"
    small = json.dumps({"n_input_neurons": 60, "n_neurons": 60, "feedback_gain": 3.0, "learning_rate": 0.01})
    common = ["--task", "spikegym/ArmReach-v0", "--agent", "follow", "--agent-config", small, "--quiet"]
    cli("run", *common, "--episodes", "2", "--score-episodes", "2", "--out", str(out))
    scored = read_rows(out / "score.csv")
    shown = cli("render", "--checkpoint", str(out), "--episodes", "2", "--out", str(tmp_path / "reach.gif")).stdout
    played = re.findall(r"episode (\d) \(env seed (\d+)\): return (\S+), (\d+) steps", shown)
    assert [(r["episode_seed"], r["length"]) for r in scored] == [(seed, steps) for _, seed, _, steps in played]
    assert [float(r["return"]) for r in scored] == pytest.approx([float(p[2]) for p in played], rel=1e-5)


def test_seeded_episodes_are_the_same_for_every_copy_and_equal_a_fresh_envs():
    import gymnasium as gym

    from train.cli import make_env
    from train.loop import rollout

    class Still:
        """A stand-in agent: zero torque, two networks."""

        batch_size, seeds, training = 2, [0, 1], False

        def train(self, mode=True):
            return self

        def predict(self, obs, episode_start=None, deterministic=True):
            return np.zeros((2, 2), np.float32), None

        def observe(self, *args):
            return {}

    env = make_env("spikegym/ArmReach-v0", 2, {}, episode_seeds=[7, 8, 9])
    rows = rollout(env, Still(), 3, seed=None, train=False, metrics=("goal",)).episodes
    goals = {(r["seed"], r["episode"]): tuple(r["goal"]) for r in rows}
    single = gym.make("spikegym/ArmReach-v0")
    for k, seed in enumerate([7, 8, 9]):
        assert goals[(0, k)] == goals[(1, k)] == tuple(single.reset(seed=seed)[1]["goal"])


def read_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_list_names_tasks_agents_and_presets():
    out = cli("list").stdout
    assert "spikegym/DNMS-v0" in out and "miconi" in out and "miconi2017-annarchy" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--task", "spikegym/Nope-v0", "--out", "{tmp}/a"], "unknown task"),
        (["run", "--agent", "hebb", "--out", "{tmp}/b"], "unknown agent"),
        (["run", "--env-kwargs", "{bad json", "--out", "{tmp}/c"], "must be a JSON object"),
        (["run", "--env-kwargs", '{"timing": {"stimulus": 10}}', "--out", "{tmp}/d"], "stimulus"),
        (["run", "--agent-config", '{"learning_rat": 1}', "--out", "{tmp}/e"], "unknown Miconi parameter"),
        (["run", "--config", "{tmp}/bad.yaml", "--out", "{tmp}/f"], "unknown key"),
        (["run", "--config", "{tmp}/broken.yaml", "--out", "{tmp}/g"], "not valid YAML"),
        (["run", "--config", "no-such-preset", "--out", "{tmp}/h"], "presets"),
        (["run", "--episodes", "0", "--out", "{tmp}/i"], "episodes must be a positive integer"),
        (["eval", "{tmp}/nothing"], "no checkpoint"),
        (["render", "--task", "spikegym/DNMS-v0", "--out", "{tmp}/x.avi"], ".gif, .mp4 or .png"),
        (["render", "--task", "spikegym/DNMS-v0", "--expert", "--out", "{tmp}/x.gif"], "ships no expert"),
        (["plot", "{tmp}"], "not a run directory"),
    ],
)
def test_bad_input_gets_a_clear_error(tmp_path, args, message):
    (tmp_path / "bad.yaml").write_text("task: spikegym/DNMS-v0\nepisdoes: 10\n")
    (tmp_path / "broken.yaml").write_text("task: [unclosed\n")
    proc = cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_cli_command_in_the_readme_is_tested_here():
    readme = (ROOT / "README.md").read_text()
    used = set(re.findall(r"python -m train ([\w-]+)", readme))
    # regime-map, goal-trajectories: test_goal_map.py; baseline, leaderboard, sweep: their own test modules
    tested = {"run", "eval", "plot", "render", "list", "regime-map", "goal-trajectories", "expert", "baseline"}
    tested |= {"leaderboard", "sweep"}
    assert used and used <= tested, f"README shows commands without a test: {sorted(used - tested)}"


def test_force_clears_the_earlier_runs_files(tmp_path):
    out = tmp_path / "again"
    out.mkdir()
    (out / "metrics.csv").write_text("old\n")
    (out / "evaluations.csv").write_text("stale\n")
    (out / "notes.txt").write_text("mine\n")
    cli("run", "--episodes", "1", "--env-kwargs", SHORT, "--out", str(out), "--force", "--quiet")
    assert not (out / "evaluations.csv").exists()  # this run did not evaluate: no stale file is left
    assert (out / "notes.txt").read_text() == "mine\n"  # files run does not write are never touched
    assert (out / "metrics.csv").read_text().startswith("seed,episode")


def test_eval_takes_env_arguments_over_the_runs(run_dir, tmp_path):
    cli("eval", str(run_dir), "--episodes", "1", "--out", str(tmp_path / "run"))
    cli("eval", str(run_dir), "--episodes", "1", "--env-kwargs", '{"target": 0.5}', "--out", str(tmp_path / "a"))
    as_run, half = ([float(r["return"]) for r in csv.DictReader(open(tmp_path / d / "eval.csv"))] for d in ("run", "a"))
    assert as_run != half  # the same episodes with targets of +-0.5 instead of +-0.98
    proc = cli("eval", str(run_dir), "--env-kwargs", '{"nope": 1}', "--out", str(tmp_path / "b"), check=False)
    assert proc.returncode == 2 and "bad --env-kwargs" in proc.stderr


def test_keep_best_ends_the_run_with_the_agent_of_its_best_validation(tmp_path):
    """``--keep-best``: every evaluation also plays validation episodes (other seeds than the test ones); the
    checkpoint is the agent at the evaluation with the best validation figure, which it plays again exactly."""
    from train.checkpoint import load_checkpoint
    from train.cli import evaluate, run_experiment
    from train.config import RunConfig
    from train.tasks import VALIDATION_SEED_BASE, task_profile

    config = RunConfig(
        task="spikegym/ArmReach-v0",
        agent="goal-clone",
        episodes=2,
        seeds=2,
        agent_config={"preset": "control", "n_units": 60},
        eval_every=1,
        eval_episodes=2,
        keep_best=True,
        threads=1,
    )
    summary = run_experiment(config, tmp_path / "run", quiet=True)
    tests, checks = read_rows(tmp_path / "run" / "evaluations.csv"), read_rows(tmp_path / "run" / "validation.csv")
    assert [r["after_episodes"] for r in checks] == [r["after_episodes"] for r in tests]
    assert [r["return"] for r in checks] != [r["return"] for r in tests]  # other targets
    mean_return = {
        after: np.mean([float(r["return"]) for r in checks if r["after_episodes"] == after])
        for after in dict.fromkeys(r["after_episodes"] for r in checks)
    }
    assert len(set(mean_return.values())) > 1, "the networks must change between evaluations for this test"
    kept = summary["headline"]["kept_best"]
    assert str(kept["after_episodes"]) == max(mean_return, key=mean_return.get)
    assert kept["validation_mean_return"] == pytest.approx(max(mean_return.values()), abs=1e-4)
    agent, run_config = load_checkpoint(tmp_path / "run")
    replay = evaluate(
        agent,
        RunConfig.from_dict(run_config),
        2,
        task_profile(config.task),
        VALIDATION_SEED_BASE + kept["after_episodes"],
        validation=True,
    )
    played = [r for r in checks if int(r["after_episodes"]) == kept["after_episodes"]]
    assert [float(r["return"]) for r in played] == pytest.approx([r["return"] for r in replay], abs=1e-4)
    with pytest.raises(ValueError, match="keep_best chooses among the evaluations"):
        RunConfig(keep_best=True)
