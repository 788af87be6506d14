"""``python -m train leaderboard``: every task x every agent that can run it, beside stable-baselines3.

python -m train leaderboard --out runs/leaderboard --readme README.md     # run what is missing, write the tables
python -m train leaderboard --out runs/leaderboard --collect              # only collect runs already there

The spec (``train/leaderboard.yaml``, or ``--spec FILE``) fixes the protocol; per task:

* ``env_steps``: the training budget per seed, the same for every entrant. A stable-baselines3 model trains for
  exactly that many steps; a spiking agent for ``env_steps // episode_steps`` episodes, ``episode_steps`` being the
  task's longest episode, so it never gets more steps than the baseline (fewer where its episodes end early).
* ``env_kwargs``: the task's arguments for everyone (shorter sessions for hour-long tasks).
* ``metric``: the per-episode figure the table, the criterion and the curves use (default: the task's learning-curve
  metric: DNMS's error, a forward model's MSE, ``correct``; closed-loop tasks: ``is_success``).
* ``criterion``: when an entrant has learned: at least ``fraction`` of ``window`` consecutive training episodes
  with the metric beyond ``threshold`` (Miconi's "95 of 100 trials with error < 1").
* ``agents``: per-agent settings (``config``: a run preset whose rule parameters and env arguments are used;
  ``agent_config``, ``env_kwargs``: over them). Every registered agent that can be built for the task enters;
  the others are listed with the reason.
* ``baselines``: stable-baselines3 algorithms and their hyperparameters (default: PPO with SB3's defaults).
* ``score_episodes``: test episodes per seed, where the spec's number would take too long (hour-long tasks).

Every entrant is scored by the one protocol (``train/evaluation.py``): ``score_episodes`` test episodes per seed
through SB3's ``evaluate_policy``, deterministic, on the task's fixed test seeds. Each entrant's run directory
(``OUT/<task>/<entrant>/``, what ``run`` or ``baseline`` writes, plus ``leaderboard.json``: wall time, device)
is kept, so an interrupted leaderboard resumes and ``--collect`` rebuilds the tables from what is there.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm.auto import tqdm

from agents import AGENTS, make_agent
from train.baseline import ALGORITHMS, BASELINE_OUTPUTS, BaselineConfig, train_baseline
from train.cli import UsageError, make_env, prepare_out, run_experiment
from train.config import RunConfig, load_config_file
from train.plots import _save, plt, read_metrics
from train.tasks import task_profile, trials_to_criterion

SPEC = Path(__file__).parent / "leaderboard.yaml"
TASK_KEYS = ("env_steps", "episode_steps", "env_kwargs", "metric", "criterion", "agents", "baselines", "score_episodes")
README_START, README_END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"


# -- the spec --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Criterion:
    """Learned = at least ``fraction`` of ``window`` consecutive episodes with the curve metric beyond
    ``threshold`` (below it for errors, above it for returns and success)."""

    threshold: float
    window: int = 100
    fraction: float = 0.95

    def describe(self, metric: str, lower_is_better: bool) -> str:
        share = f"{round(self.fraction * self.window)} of {self.window}" if self.window > 1 else "one"
        return f"{share} consecutive episodes with {metric} {'<' if lower_is_better else '>'} {self.threshold:g}"

    def episodes_to(self, values: np.ndarray, lower_is_better: bool) -> np.ndarray:
        """Episodes (1-based) until the criterion is first met, per row of ``values`` (n_seeds, n_episodes);
        NaN where never met."""
        values = np.asarray(values, dtype=float)
        if lower_is_better:
            return trials_to_criterion(values, self.threshold, self.window, self.fraction)
        return trials_to_criterion(-values, -self.threshold, self.window, self.fraction)


@dataclass(frozen=True)
class TaskSpec:
    """One task of the leaderboard (see the module docstring)."""

    task: str
    env_steps: int
    episode_steps: int
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    criterion: Criterion | None = None
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    baselines: dict[str, dict[str, Any]] = field(default_factory=lambda: {"ppo": {}})
    score_episodes: int | None = None
    """Test episodes per seed for this task (default: the spec's)."""
    metric: str | None = None
    """The per-episode figure of the table, the criterion and the curves (default: the task's curve metric)."""

    @property
    def figure(self) -> tuple[str, bool]:
        """(metric, lower is better)."""
        profile = task_profile(self.task)
        metric = self.metric or profile.curve_metric
        return metric, profile.lower_is_better and metric == profile.curve_metric

    @property
    def episodes(self) -> int:
        return max(1, self.env_steps // self.episode_steps)

    @property
    def slug(self) -> str:
        return self.task.split("/")[-1]


@dataclass(frozen=True)
class Spec:
    """The whole leaderboard: shared settings and the tasks."""

    tasks: tuple[TaskSpec, ...]
    seeds: int = 2
    score_episodes: int = 10
    threads: int = 1
    device: str = "cpu"
    baseline_n_envs: int = 1
    source: str = ""


def load_spec(path: str | Path = SPEC) -> Spec:
    """Reads and checks a leaderboard spec; errors name the file, the task and the fix."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise UsageError(f"no leaderboard spec {path}") from exc
    if not isinstance(values, dict) or not isinstance(values.get("tasks"), dict) or not values["tasks"]:
        raise UsageError(f"{path}: a leaderboard spec maps `tasks:` (task id -> settings) and shared settings")
    shared = {k: values[k] for k in ("seeds", "score_episodes", "threads", "device", "baseline_n_envs") if k in values}
    unknown = sorted(set(values) - {"tasks", "description", *shared})
    if unknown:
        raise UsageError(f"{path}: unknown key(s) {unknown}")
    tasks = []
    for task, settings in values["tasks"].items():
        settings = dict(settings or {})
        where = f"{path}, {task}"
        if task not in _registered_tasks():
            raise UsageError(f"{where}: not a registered task; see `python -m train list`")
        unknown = sorted(set(settings) - set(TASK_KEYS))
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {unknown}")
        for key in ("env_steps", "episode_steps"):
            if not isinstance(settings.get(key), int) or settings[key] < 1:
                raise UsageError(f"{where}: {key} must be a positive integer, got {settings.get(key)!r}")
        baselines = settings.get("baselines", {"ppo": {}})
        if isinstance(baselines, list):
            baselines = {name: {} for name in baselines}
        for name in baselines:
            if name not in ALGORITHMS:
                raise UsageError(f"{where}: unknown baseline {name!r}; choose from {sorted(ALGORITHMS)}")
        for name in settings.get("agents") or {}:
            if name not in AGENTS:
                raise UsageError(f"{where}: unknown agent {name!r}; choose from {sorted(AGENTS)}")
        try:
            criterion = Criterion(**settings["criterion"]) if settings.get("criterion") else None
        except TypeError as exc:
            raise UsageError(f"{where}: criterion takes threshold, window and fraction ({exc})") from exc
        metric = settings.get("metric")
        if metric is not None and metric not in ("return", *task_profile(task).episode_metrics):
            known = ["return", *task_profile(task).episode_metrics]
            raise UsageError(f"{where}: metric {metric!r} is not recorded per episode; choose from {known}")
        tasks.append(
            TaskSpec(
                task=task,
                env_steps=settings["env_steps"],
                episode_steps=settings["episode_steps"],
                env_kwargs=dict(settings.get("env_kwargs") or {}),
                criterion=criterion,
                agents={k: dict(v or {}) for k, v in (settings.get("agents") or {}).items()},
                baselines={k: dict(v or {}) for k, v in baselines.items()},
                score_episodes=settings.get("score_episodes"),
                metric=settings.get("metric"),
            )
        )
    return Spec(tasks=tuple(tasks), source=str(path), **shared)


def _registered_tasks() -> set[str]:
    import gymnasium as gym

    return {k for k in gym.registry if k.startswith("spikegym/")}


# -- the entrants ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entrant:
    """One agent or baseline on one task, with the configuration it runs."""

    task: TaskSpec
    name: str
    config: RunConfig | BaselineConfig

    @property
    def kind(self) -> str:
        return "baseline" if isinstance(self.config, BaselineConfig) else "spiking"

    def directory(self, out: Path) -> Path:
        return out / self.task.slug / self.name


def spiking_config(spec: Spec, task: TaskSpec, agent: str) -> RunConfig:
    """The run of ``agent`` on ``task`` at the leaderboard's budget: a preset's rule parameters and env
    arguments when the spec names one, the task's env arguments, then the spec's own overrides."""
    settings = task.agents.get(agent, {})
    preset = load_config_file(settings["config"]) if settings.get("config") else {}
    return RunConfig(
        task=task.task,
        agent=agent,
        episodes=task.episodes,
        seeds=spec.seeds,
        env_kwargs={**preset.get("env_kwargs", {}), **task.env_kwargs, **settings.get("env_kwargs", {})},
        agent_config={**preset.get("agent_config", {}), **settings.get("agent_config", {})},
        device=spec.device,
        score_episodes=task.score_episodes or spec.score_episodes,
        threads=spec.threads,
        description=f"leaderboard: {agent} on {task.task}, {task.env_steps} env steps per seed",
    )


def try_steps(task: str, agent: str, config: RunConfig, steps: int = 3) -> None:
    """Builds ``agent`` for ``task`` and runs a few steps with learning on: raises what makes the pairing
    impossible (spaces, time steps, a missing teacher signal)."""
    env = make_env(task, 1, config.env_kwargs)
    try:
        network = make_agent(agent, env, seeds=[0], config=config.agent_config)
        obs, _ = env.reset(seed=0)
        episode_start = np.ones(1, dtype=bool)
        for _ in range(steps):
            action, _ = network.predict(obs, episode_start=episode_start)
            obs, reward, terminated, truncated, info = env.step(action)
            network.observe(reward, terminated, truncated, info)
            episode_start = terminated | truncated
    finally:
        env.close()


def entrants(spec: Spec, task: TaskSpec) -> tuple[list[Entrant], dict[str, str]]:
    """Every agent that can be built for ``task`` and every baseline of the spec; and why the others cannot."""
    out, cannot = [], {}
    for agent in sorted(AGENTS):
        config = spiking_config(spec, task, agent)
        try:
            try_steps(task.task, agent, config)
        except (TypeError, ValueError, KeyError, UsageError) as exc:
            cannot[agent] = str(exc).split("; ")[0].rstrip(".")
            continue
        out.append(Entrant(task, agent, config))
    for algo, settings in task.baselines.items():
        hyperparams = dict(settings)
        config = BaselineConfig(
            algo=algo,
            task=task.task,
            steps=task.env_steps,
            seeds=spec.seeds,
            n_envs=hyperparams.pop("n_envs", spec.baseline_n_envs),
            env_kwargs=dict(task.env_kwargs),
            hyperparams=hyperparams,
            score_episodes=task.score_episodes or spec.score_episodes,
            device=spec.device,
            threads=spec.threads,
        )
        out.append(Entrant(task, algo, config))
    return out, cannot


def run_entrant(entrant: Entrant, out: Path) -> dict[str, Any]:
    """Trains and scores one entrant into its directory; records the wall time and device (or the error)."""
    directory = entrant.directory(out)
    t0 = time.perf_counter()
    threads = entrant.config.threads or torch.get_num_threads()
    record: dict[str, Any] = {
        "kind": entrant.kind,
        "device": entrant.config.device,
        "cpu": f"{_cpu()}, {threads} thread(s)",
    }
    try:
        if isinstance(entrant.config, BaselineConfig):
            prepare_out(directory, BASELINE_OUTPUTS, force=True)
            train_baseline(entrant.config, directory, quiet=True)
        else:
            run_experiment(entrant.config, directory, force=True, quiet=True)
        record["status"] = "done"
    except Exception as exc:  # one entrant's failure is reported in the table; the others still run
        record.update(status="error", error=f"{type(exc).__name__}: {exc}")
    record["wall_s"] = round(time.perf_counter() - t0, 1)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "leaderboard.json").write_text(json.dumps(record, indent=2))
    return record


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def is_done(entrant: Entrant, out: Path) -> bool:
    """Whether the entrant's directory holds a finished run of this very configuration."""
    directory = entrant.directory(out)
    try:
        record = json.loads((directory / "leaderboard.json").read_text())
        summary = json.loads((directory / "summary.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    config = {k: v for k, v in summary.get("config", {}).items() if k != "kind"}
    return record.get("status") == "done" and config == entrant.config.to_dict()


# -- the results -----------------------------------------------------------------------------------------
def result_row(entrant: Entrant, out: Path) -> dict[str, Any]:
    """The leaderboard row of an entrant that ran: test score, test metric, steps to criterion, wall time."""
    directory = entrant.directory(out)
    record = json.loads((directory / "leaderboard.json").read_text())
    row: dict[str, Any] = {"entrant": entrant.name, "kind": entrant.kind, **record}
    if record.get("status") != "done":
        return row
    summary = json.loads((directory / "summary.json").read_text())
    score = summary.get("score", {})
    row["score"], row["score_sd"] = score.get("mean_return"), score.get("std_return")
    metric, lower_is_better = entrant.task.figure
    per_seed = [e.get(f"mean_{metric}") for e in score.get("per_seed", [])]
    row["test_metric"] = float(np.mean(per_seed)) if per_seed and None not in per_seed else None
    rows = read_metrics(directory / "metrics.csv")
    curves = learning_curves(rows, metric)
    row["env_steps"] = int(np.mean([steps[-1] for steps, _ in curves.values()])) if curves else 0
    row["episodes"] = int(np.mean([len(values) for _, values in curves.values()])) if curves else 0
    criterion = entrant.task.criterion
    if criterion is not None and curves:
        reached = []
        for steps, values in curves.values():
            episodes = criterion.episodes_to(values[None], lower_is_better)[0]
            reached.append(None if np.isnan(episodes) else int(steps[int(episodes) - 1]))
        row["steps_to_criterion"] = reached
    return row


def learning_curves(rows: list[dict[str, Any]], metric: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per seed: (env steps at each episode's end, the metric per episode), episodes in order."""
    curves = {}
    for seed in sorted({r["seed"] for r in rows}):
        mine = sorted((r for r in rows if r["seed"] == seed), key=lambda r: r["episode"])
        key = metric if mine and metric in mine[0] else "return"
        values = np.array([float(r[key]) for r in mine])
        steps = np.cumsum([int(r["length"]) for r in mine])
        curves[seed] = (steps, values)
    return curves


def plot_task(task: TaskSpec, entries: list[Entrant], out: Path, figure: Path) -> Path:
    """The entrants' learning curves on one task side by side: the curve metric against env steps per seed,
    each seed smoothed over a window of episodes, the median across seeds drawn."""
    metric, lower_is_better = task.figure
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    colours = plt.get_cmap("tab10")
    for k, entrant in enumerate(entries):
        directory = entrant.directory(out)
        if not (directory / "metrics.csv").exists():
            continue
        rows = read_metrics(directory / "metrics.csv")
        if not rows:
            continue
        curves = learning_curves(rows, metric)
        n = min(len(v) for _, v in curves.values())
        if n == 0:
            continue
        window = max(1, min(n // 10, task.criterion.window if task.criterion else 20))
        kernel = np.ones(window) / window
        steps = np.median([s[:n] for s, _ in curves.values()], axis=0)[window - 1 :]
        smooth = np.median([np.convolve(v[:n], kernel, mode="valid") for _, v in curves.values()], axis=0)
        style = "--" if entrant.kind == "baseline" else "-"
        ax.plot(steps, smooth, style, color=colours(k % 10), linewidth=2, label=f"{entrant.name} ({entrant.kind})")
    if task.criterion is not None:
        ax.axhline(task.criterion.threshold, color="#888888", linewidth=0.8, linestyle=":", label="criterion")
    ax.set_xlabel("env steps per seed")
    ax.set_ylabel(metric + (" (lower is better)" if lower_is_better else ""))
    ax.set_title(f"{task.task}: learning curves at {task.env_steps:,} env steps", fontsize=10)
    ax.grid(alpha=0.25)
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()
    return _save(fig, figure, figure)


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _criterion_cell(reached: list[int | None] | None) -> str:
    if reached is None:
        return "-"
    hits = [r for r in reached if r is not None]
    if not hits:
        return f"not reached (0/{len(reached)})"
    return f"{int(np.median(hits)):,} ({len(hits)}/{len(reached)})"


def markdown(spec: Spec, tables: list[tuple[TaskSpec, list[dict[str, Any]], dict[str, str]]], figures: str) -> str:
    """The leaderboard as Markdown: how it was made, then a table and a figure per task."""
    cpus = {r.get("cpu") for _, rows, _ in tables for r in rows if r.get("cpu")}
    total = sum(r.get("wall_s", 0.0) for _, rows, _ in tables for r in rows)
    lines = [
        f"Made by `python -m train leaderboard` from `{Path(spec.source).name}`: {spec.seeds} seeds per entrant, each "
        f"scored on {spec.score_episodes} test episodes per seed (unless a task says) by the evaluation protocol "
        "(SB3's `evaluate_policy`, deterministic, the task's fixed test seeds, disjoint from training). The budget is "
        "a task's env steps per seed, the same for every entrant: a baseline trains for that many (SB3 completes "
        "its last rollout, up to n_steps x n_envs more), a spiking agent for that many divided by the task's longest "
        "episode (so never more). Test return is the mean over seeds (+- the sd across seeds); the test metric is "
        "the task's own (error, MSE, success, correct); steps to "
        "criterion is the median over the seeds that reached it (how many did). "
        f"Machine: {', '.join(sorted(cpus)) or 'unknown'}; {_number(total / 60, 3)} min in all.",
        "",
    ]
    for task, rows, cannot in tables:
        metric, lower_is_better = task.figure
        criterion = task.criterion.describe(metric, lower_is_better) if task.criterion else "-"
        kwargs = f", env_kwargs `{json.dumps(task.env_kwargs)}`" if task.env_kwargs else ""
        lines += [
            f"#### {task.task}",
            "",
            f"Budget {task.env_steps:,} env steps per seed ({task.episodes:,} episodes of at most "
            f"{task.episode_steps:,} steps){kwargs}; {task.score_episodes or spec.score_episodes} test episodes per "
            f"seed; criterion: {criterion}.",
            "",
            f"| entrant | kind | test return | test {metric} | env steps to criterion (seeds) | "
            "episodes | wall s | device |",
            "|---|---|---|---|---|---|---|---|",
        ]
        done = [r for r in rows if r.get("status") == "done"]
        done.sort(key=lambda r: -(r["score"] if r.get("score") is not None else -np.inf))
        for r in done:
            sd = f" +- {_number(r['score_sd'], 2)}" if r.get("score_sd") is not None else ""
            lines.append(
                f"| {r['entrant']} | {r['kind']} | {_number(r.get('score'))}{sd} | {_number(r.get('test_metric'))} | "
                f"{_criterion_cell(r.get('steps_to_criterion'))} | {r.get('episodes', 0):,} | "
                f"{r['wall_s']:.0f} | {r['device']} |"
            )
        for r in rows:
            if r.get("status") != "done":
                lines.append(f"| {r['entrant']} | {r['kind']} | failed: {r.get('error', 'no result')} | | | | | |")
        lines.append("")
        if cannot:
            lines.append("Cannot run this task: " + "; ".join(f"{k} ({v})" for k, v in sorted(cannot.items())) + ".")
            lines.append("")
        lines += [f"![{task.task} learning curves]({figures}/{task.slug}.png)", ""]
    return "\n".join(lines)


def splice_readme(readme: Path, text: str) -> None:
    """Replaces what stands between the leaderboard markers in ``readme`` with ``text``."""
    content = readme.read_text()
    if README_START not in content or README_END not in content:
        raise UsageError(f"{readme} has no {README_START} ... {README_END} block to write the leaderboard into")
    head, rest = content.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{text}\n{README_END}{tail}")


# -- the command -----------------------------------------------------------------------------------------
def cmd_leaderboard(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    if args.only:
        unknown = sorted(set(args.only) - {t.task for t in spec.tasks})
        if unknown:
            raise UsageError(f"--only {unknown}: not in {spec.source}")
    out = Path(args.out)
    plan = [(task, *entrants(spec, task)) for task in spec.tasks]
    chosen = [e for _, es, _ in plan for e in es if not args.only or e.task.task in args.only]
    pending = [e for e in chosen if args.force or not is_done(e, out)]
    if args.collect:
        pending = []
    bar = tqdm(pending, unit="entrant", desc="leaderboard", disable=args.quiet, dynamic_ncols=True)
    for entrant in bar:
        bar.set_postfix_str(f"{entrant.name} on {entrant.task.slug}")
        record = run_entrant(entrant, out)
        if record["status"] != "done":
            tqdm.write(f"{entrant.name} on {entrant.task.task} failed: {record['error']}")
    markdown_path = Path(args.markdown) if args.markdown else out / "leaderboard.md"
    figures = Path(args.figures) if args.figures else markdown_path.parent / "leaderboard"
    tables = []
    for task, es, cannot in plan:
        ran = [e for e in es if (e.directory(out) / "leaderboard.json").exists()]
        plot_task(task, ran, out, figures / f"{task.slug}.png")
        tables.append((task, [result_row(e, out) for e in ran], cannot))
    relative = _relative(figures, markdown_path.parent)
    text = markdown(spec, tables, relative)
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text("# spikegym leaderboard\n\n" + text + "\n")
    print(f"leaderboard: {sum(len(rows) for _, rows, _ in tables)} entrants on {len(tables)} task(s); {markdown_path}")
    if args.readme:
        readme = Path(args.readme)
        splice_readme(readme, markdown(spec, tables, _relative(figures, readme.parent)))
        print(f"  and the tables in {readme}")
    return 0


def _relative(path: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def add_leaderboard_parser(subparsers: Any) -> None:
    lb = subparsers.add_parser(
        "leaderboard", help="every task x every agent that can run it, beside SB3, at a stated budget: one table"
    )
    lb.add_argument("--spec", default=str(SPEC), help="the leaderboard spec (default train/leaderboard.yaml)")
    lb.add_argument("--out", default="runs/leaderboard", help="where the entrants' run directories go")
    lb.add_argument("--markdown", help="the Markdown file to write (default OUT/leaderboard.md)")
    lb.add_argument("--figures", help="folder of the per-task figures (default: leaderboard/ beside the Markdown)")
    lb.add_argument("--readme", help="also write the tables between the leaderboard markers of this README")
    lb.add_argument("--only", nargs="+", help="run only these task ids (the tables still cover the whole spec)")
    lb.add_argument("--collect", action="store_true", help="run nothing: build the tables from the runs in OUT")
    lb.add_argument(
        "--force", action="store_true", help="rerun entrants that already finished (entrants that failed always rerun)"
    )
    lb.add_argument("--quiet", action="store_true", help="no progress bar")


__all__ = ["Criterion", "Entrant", "Spec", "TaskSpec", "cmd_leaderboard", "entrants", "load_spec"]
