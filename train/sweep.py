"""``python -m train sweep``: seeds x hyperparameters, one trial per (setting, seed), in-process or on Ray Tune.

A grid file (YAML; ``--grid`` takes a path or the name of a grid shipped in ``train/sweeps/``)::

    task: spikegym/DNMS-v0            # any RunConfig field: the base every trial starts from
    agent: miconi                     # (--task / --agent on the command line override these two)
    episodes: 300
    score_episodes: 20
    agent_config: {preset: paper, learning_start_trials: 25}
    seeds: [0, 1]                     # one trial per seed and setting; each trial trains one network
    grid:                             # the settings: the cartesian product of these lists, in this order
      agent_config.learning_rate: [0.1, 0.5]
      agent_config.max_weight_change: [3.0e-4, 1.0e-3]
    metric: score.mean_return         # a dotted path into each trial's summary.json (the default)
    mode: max                         # max or min: which end of the metric is best

A grid key is a RunConfig field (``episodes``) or a dotted path into ``agent_config.`` or ``env_kwargs.``
(``env_kwargs.timing.delay1``). ``seed_offset`` and ``threads`` are the sweep's to set: a trial trains the one
network of its seed with one torch thread, so trials running side by side don't oversubscribe the cores. The
default metric, ``score.mean_return``, is the test score of train/evaluation.py and needs ``score_episodes`` > 0;
other choices are ``mean_return_last_100`` or a task's headline figure (``headline.final_error_last_100.median``,
with ``mode: min``). A metric of ``null`` (a criterion never reached) counts as no value. Every trial's run
configuration (its agent's parameters included) is checked before any trial starts.

Engines: ``local`` (the default) runs the trials one after another in this process; ``ray`` runs them as Ray Tune
trials, one CPU each, on a local Ray instance (``--cpus`` workers, default all cores) or on the cluster at
``--address`` (whose nodes must all reach OUT: a shared file system). Both run the same trial function, and every
table is built from the trial directories, so the engines' tables are the same. A trial that raises or whose
worker dies is reported as failed; the others keep their results. Rerunning a sweep into the same OUT skips the
trials already done (``--force`` reruns all of them).

Outputs under OUT:

- ``grid.yaml``: the grid as this sweep resolved it (itself a grid file); a rerun into OUT must use the same grid.
- ``trials/<name>/``: each trial's run directory, as ``python -m train run`` writes it, plus ``trial.json``
  (name, params, seed, status running|done|error, pid, hostname, start and end time, error and traceback).
- ``ray/``: Ray Tune's own experiment state (engine ray only).
- ``results.csv``: one row per trial (name, setting, seed, params, status, metric, wall_s, error).
- ``summary.md``: one row per setting: the metric's mean ± sd over seeds, trials done of all, the best marked;
  failed trials with their errors.
- ``best.yaml``: the best setting as a run config over all the sweep's seeds:
  ``python -m train run --config OUT/best.yaml --out runs/best``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import socket
import statistics
import sys
import time
import traceback
from copy import deepcopy
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml
from tqdm.auto import tqdm

from agents import agent_classes
from train.cli import ProgressCallback, UsageError, remove_outputs, run_experiment
from train.config import RunConfig

SWEEP_DIR = Path(__file__).parent / "sweeps"
"""The grid files shipped with spikegym (``--grid NAME``)."""

DEFAULT_METRIC = "score.mean_return"
MODES = ("max", "min")
SWEEP_KEYS = ("seeds", "grid", "metric", "mode")
"""Grid-file keys of the sweep itself; every other key is a RunConfig field of the base."""
RESERVED_FIELDS = {
    "seeds": "a list of seeds such as [0, 1, 2]: one trial per seed",
    "seed_offset": "the sweep sets it from `seeds`; list the seeds you want there",
    "threads": "every trial uses 1 torch thread so that trials side by side don't oversubscribe the cores",
}
"""RunConfig fields the sweep sets for each trial, and why a grid can't."""
DICT_FIELDS = ("agent_config", "env_kwargs")
"""RunConfig fields a dotted grid key may reach into."""
SWEEP_OUTPUTS = ("grid.yaml", "trials", "ray", "results.csv", "summary.md", "best.yaml")
"""Everything a sweep writes into OUT: cleared by ``--force``."""
REPORT_EVERY_S = 10.0
"""Least time between two progress reports of a Ray trial (the final report always goes)."""


# -- the grid --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grid:
    """A parsed grid file: the run config every trial starts from, the seeds, the values to try per key, and
    the summary.json metric (and its better end) that ranks the settings."""

    base: dict[str, Any]
    seeds: list[int]
    axes: dict[str, list[Any]]
    metric: str
    mode: str

    def settings(self) -> list[dict[str, Any]]:
        """Every combination of the axes' values (the first key varies slowest); one empty setting if none."""
        return [dict(zip(self.axes, values, strict=True)) for values in itertools.product(*self.axes.values())]

    def to_dict(self) -> dict[str, Any]:
        """The grid as a grid file's mapping (``grid.yaml``)."""
        return {**self.base, "seeds": self.seeds, "grid": self.axes, "metric": self.metric, "mode": self.mode}


@dataclass(frozen=True)
class Trial:
    """One setting trained with one seed: the run config it trains and where its setting sits in the grid."""

    name: str
    setting: int
    params: dict[str, Any]
    seed: int
    config: dict[str, Any]


def grid_path(name_or_path: str) -> Path:
    """A grid file's path, or the name of one shipped in ``train/sweeps/``."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = SWEEP_DIR / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    names = sorted(p.stem for p in SWEEP_DIR.glob("*.yaml"))
    raise FileNotFoundError(f"no grid file {name_or_path!r}: give a YAML file path or one of the shipped grids {names}")


def parse_grid(values: Any, source: str, *, task: str | None = None, agent: str | None = None) -> Grid:
    """Checks a grid file's mapping and returns it as a Grid; ``task``/``agent`` (from the command line)
    override the file's. Every mistake raises a UsageError that names the key and the fix."""
    if not isinstance(values, dict):
        raise UsageError(f"{source}: a grid file is a mapping of keys to values, got {type(values).__name__}")
    runnable = [f.name for f in fields(RunConfig) if f.name not in RESERVED_FIELDS]
    base = {k: v for k, v in values.items() if k not in SWEEP_KEYS}
    for key in base:
        if key in RESERVED_FIELDS:
            raise UsageError(f"{source}: remove {key!r}: {RESERVED_FIELDS[key]}")
        if key not in runnable:
            raise UsageError(f"{source}: unknown key {key!r}; valid keys: {sorted([*runnable, *SWEEP_KEYS])}")
    if task is not None:
        base["task"] = task
    if agent is not None:
        base["agent"] = agent
    for key, flag in (("task", "--task"), ("agent", "--agent")):
        if key not in base:
            raise UsageError(f"{source} names no {key}: add `{key}: ...` to it or pass {flag}")

    seeds = values.get("seeds", [0])
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    ):
        raise UsageError(f"{source}: seeds must be a non-empty list of non-negative integers such as [0, 1, 2]")
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"{source}: seeds {seeds} repeat a seed; list each seed once")

    axes = values.get("grid") or {}
    if not isinstance(axes, dict):
        raise UsageError(
            f"{source}: grid must map keys to lists of values, such as `agent_config.learning_rate: [0.1]`"
        )
    for key, options in axes.items():
        check_grid_key(key, runnable, source)
        if not isinstance(options, list) or not options:
            raise UsageError(f"{source}: grid key {key!r} needs a non-empty list of values, such as [0.1, 0.5]")
        for i, option in enumerate(options):
            if option in options[:i]:
                raise UsageError(f"{source}: grid key {key!r} lists {option!r} twice; list each value once")
            if isinstance(option, str) and looks_like_number(option):
                raise UsageError(
                    f"{source}: grid key {key!r} has the text {option!r}, not a number (YAML reads 1e-3 as text); "
                    "write it with a dot, such as 1.0e-3"
                )
    for a, b in itertools.permutations(axes, 2):
        if b.startswith(a + "."):
            raise UsageError(f"{source}: grid keys {a!r} and {b!r} both set {b}; keep one of them")

    metric = values.get("metric", DEFAULT_METRIC)
    if not isinstance(metric, str) or not metric or "" in metric.split("."):
        raise UsageError(f"{source}: metric must be a dotted path into summary.json such as {DEFAULT_METRIC!r}")
    mode = values.get("mode", "max")
    if mode not in MODES:
        raise UsageError(f"{source}: mode must be one of {list(MODES)} (which end of the metric is best), got {mode!r}")
    return Grid(base=base, seeds=list(seeds), axes=dict(axes), metric=metric, mode=mode)


def check_grid_key(key: Any, runnable: list[str], source: str) -> None:
    """A grid key is a RunConfig field or a dotted path into one of its mappings (``agent_config.eta``)."""
    if not isinstance(key, str):
        raise UsageError(f"{source}: grid key {key!r} is not a name")
    head, _, rest = key.partition(".")
    if key in RESERVED_FIELDS:
        raise UsageError(f"{source}: grid key {key!r} is the sweep's: {RESERVED_FIELDS[key]}")
    if rest and head in DICT_FIELDS and "" not in rest.split("."):
        return
    if not rest and key in runnable:
        return
    raise UsageError(
        f"{source}: grid key {key!r} is neither a RunConfig field ({', '.join(runnable)}) nor a dotted path "
        f"{' or '.join(f + '.NAME' for f in DICT_FIELDS)}"
    )


def looks_like_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def set_path(values: dict[str, Any], key: str, value: Any) -> None:
    """Sets ``values[a][b]...`` for the dotted ``key`` "a.b...", creating the mappings on the way."""
    *parents, last = key.split(".")
    target = values
    for i, part in enumerate(parents):
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise UsageError(f"grid key {key!r}: {'.'.join(parents[: i + 1])} is not a mapping in the base config")
    target[last] = deepcopy(value)


def setting_config(grid: Grid, params: dict[str, Any]) -> dict[str, Any]:
    """The base run config with one setting's values put in."""
    values = deepcopy(grid.base)
    for key, value in params.items():
        set_path(values, key, value)
    if values.get("continue_from"):  # trials may run in other directories (Ray Tune chdirs into its own)
        values["continue_from"] = str(Path(values["continue_from"]).resolve())
    return values


def trial_name(index: int, width: int, params: dict[str, Any], seed: int) -> str:
    """``03-learning_rate=0.5-max_weight_change=0.001-seed1``: the trial's index, its values and its seed."""
    parts = [f"{index:0{width}d}"]
    for key, value in params.items():
        text = json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)
        text = "".join(c if c.isalnum() or c in ".+_" else "_" for c in text)[:40]
        parts.append(f"{key.split('.')[-1]}={text}")
    return "-".join([*parts, f"seed{seed}"])


def make_trials(grid: Grid, source: str) -> list[Trial]:
    """Every (setting, seed) trial, each a checked RunConfig: one network (its seed), one torch thread."""
    settings = grid.settings()
    width = max(2, len(str(len(settings) * len(grid.seeds) - 1)))
    trials = []
    for setting, params in enumerate(settings):
        values = setting_config(grid, params)
        for seed in grid.seeds:
            name = trial_name(len(trials), width, params, seed)
            where = f"{source}, trial {name}"
            try:  # (parse_grid checked the keys: what is left to find is a bad value)
                config = RunConfig.from_dict({**values, "seeds": 1, "seed_offset": seed, "threads": 1})
            except ValueError as exc:
                raise UsageError(f"{where}: {exc}") from exc
            check_trial_config(config, grid.metric, where)
            trials.append(Trial(name, setting, params, seed, config.to_dict()))
    return trials


def check_trial_config(config: RunConfig, metric: str, where: str) -> None:
    """What a trial would find out only once running: an unknown task, agent or agent parameter, a bad value."""
    try:
        gym.spec(config.task.split(":")[-1])
    except gym.error.Error as exc:
        raise UsageError(f"{where}: {exc}") from exc
    try:
        agent_classes(config.agent)[1].from_dict(config.agent_config)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: bad agent_config: {exc}") from exc
    if metric.split(".")[0] == "score" and not config.score_episodes:
        raise UsageError(
            f"{where}: metric {metric!r} is the test score, which needs score_episodes > 0 in the grid file "
            "(such as `score_episodes: 20`); or rank by another metric, such as mean_return_last_100"
        )


# -- one trial -------------------------------------------------------------------------------------
def trial_dir(sweep_dir: Path, trial: Trial) -> Path:
    return sweep_dir / "trials" / trial.name


def read_record(sweep_dir: Path, trial: Trial) -> dict[str, Any] | None:
    """The trial's trial.json, or None if it never started."""
    path = trial_dir(sweep_dir, trial) / "trial.json"
    return json.loads(path.read_text()) if path.exists() else None


def write_record(sweep_dir: Path, trial: Trial, record: dict[str, Any]) -> None:
    """Writes trial.json whole (a reader never sees half a file)."""
    path = trial_dir(sweep_dir, trial) / "trial.json"
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=2))
    os.replace(partial, path)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def metric_value(summary: dict[str, Any], metric: str) -> float | None:
    """The number at the dotted path ``metric`` of a summary (None for null); a ValueError names the keys there."""
    value: Any = summary
    for i, part in enumerate(metric.split(".")):
        if not isinstance(value, dict) or part not in value:
            where = ".".join(metric.split(".")[:i]) or "summary.json"
            keys = sorted(value) if isinstance(value, dict) else []
            raise ValueError(f"metric {metric!r}: {where} has no {part!r} (it has {keys})")
        value = value[part]
    if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise ValueError(f"metric {metric!r} is {value!r}, not a number; choose a path to a number")
    return None if value is None or math.isnan(value) else float(value)


def run_trial(
    trial: Trial, sweep_dir: Path, metric: str, on_progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """Trains one trial into ``OUT/trials/<name>/`` and follows it in trial.json; returns its summary. A failure
    is recorded there (status error, the message and traceback) and raised again."""
    out = trial_dir(sweep_dir, trial)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    record = {
        "name": trial.name,
        "setting": trial.setting,
        "params": trial.params,
        "seed": trial.seed,
        "status": "running",
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "start_time": now(),
        "end_time": None,
        "wall_s": None,
        "error": None,
        "traceback": None,
    }
    write_record(sweep_dir, trial, record)
    try:
        # threads=1 in the trial's config: run_experiment sets torch.set_num_threads(1) in this process; force:
        # what a trial directory holds before its trial (re)starts is an unfinished attempt's output
        summary = run_experiment(
            RunConfig.from_dict(trial.config), out, force=True, quiet=True, on_progress=on_progress
        )
        metric_value(summary, metric)
    except BaseException as exc:  # an interrupt too: the trial did not finish
        record.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        raise
    else:
        record["status"] = "done"
    finally:
        record.update(end_time=now(), wall_s=round(time.monotonic() - started, 2))
        write_record(sweep_dir, trial, record)
    return summary


def is_done(sweep_dir: Path, trial: Trial) -> bool:
    record = read_record(sweep_dir, trial)
    return record is not None and record["status"] == "done" and (trial_dir(sweep_dir, trial) / "summary.json").exists()


# -- the engines -----------------------------------------------------------------------------------
def run_local(trials: list[Trial], sweep_dir: Path, metric: str, quiet: bool) -> None:
    """The trials one after another in this process; a failing trial is reported and the next one starts."""
    bar = tqdm(trials, unit="trial", desc="sweep", disable=quiet, dynamic_ncols=True)
    for trial in bar:
        show = show_progress(bar, trial)
        show(0, math.nan)
        try:
            run_trial(trial, sweep_dir, metric, on_progress=show)
        except Exception as exc:  # recorded in its trial.json; the sweep goes on
            if not quiet:
                bar.write(f"trial {trial.name} failed: {type(exc).__name__}: {exc}")


def show_progress(bar: tqdm, trial: Trial) -> ProgressCallback:
    """A progress callback that shows the running trial's episodes on the sweep's bar."""

    def show(done: int, _recent: float) -> None:
        bar.set_postfix_str(f"{trial.name}: {done}/{trial.config['episodes']} episodes", refresh=False)

    return show


def ray_trainable(config: dict[str, Any], *, trials: dict[str, Trial], sweep_dir: str, metric: str) -> None:
    """A Ray Tune function trainable: runs the trial named ``config["trial"]`` and reports its progress (at
    most every REPORT_EVERY_S) and, at the end, its metric to Tune."""
    from ray import tune

    trial = trials[config["trial"]]
    last = {"t": time.monotonic()}

    def report(done: int, recent: float) -> None:
        if time.monotonic() - last["t"] >= REPORT_EVERY_S:
            last["t"] = time.monotonic()
            tune.report({"episodes": done, "curve_median": recent})

    summary = run_trial(trial, Path(sweep_dir), metric, on_progress=report)
    tune.report({"episodes": trial.config["episodes"], "metric": metric_value(summary, metric)})


def run_ray(
    trials: list[Trial], sweep_dir: Path, metric: str, *, address: str | None, cpus: int | None, quiet: bool
) -> None:
    """The trials as Ray Tune trials, one CPU each, on a local Ray instance or the cluster at ``address``. A trial
    that raises or whose worker dies fails alone (no retries, no stopping the others)."""
    try:
        import ray
        from ray import tune
    except ImportError as exc:
        raise UsageError("--engine ray needs Ray Tune: pip install 'spikegym[ray]'") from exc
    by_name = {t.name: t for t in trials}

    class RecordFailures(tune.Callback):
        """Records a failed trial in its trial.json as Tune learns of it (a killed worker records nothing)."""

        def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            # Tune has just written the error to the trial's local error file (its copy in OUT/ray comes later)
            error_file = Path(trial.error_file) if trial.error_file else None
            text = error_file.read_text() if error_file is not None and error_file.exists() else ""
            record_failure(sweep_dir, by_name[trial.config["trial"]], text)

    started = not ray.is_initialized()
    if started and address:
        ray.init(address=address)
    elif started:
        ray.init(num_cpus=cpus or os.cpu_count(), include_dashboard=False)
    try:
        trainable = tune.with_parameters(ray_trainable, trials=by_name, sweep_dir=str(sweep_dir), metric=metric)
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space={"trial": tune.grid_search([t.name for t in trials])},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=cpus if address else None,
                trial_name_creator=ray_trial_name,
                trial_dirname_creator=ray_trial_name,
            ),
            run_config=tune.RunConfig(
                name=datetime.now().strftime("sweep-%Y%m%d-%H%M%S"),
                storage_path=str(sweep_dir / "ray"),
                failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
                verbose=0 if quiet else 1,
                callbacks=[RecordFailures()],
            ),
        )
        tuner.fit()  # the outcomes are in the trial directories
    finally:
        if started:
            ray.shutdown()


def ray_trial_name(trial: Any) -> str:
    """Tune's name (and directory name) for a trial: the sweep's own trial name."""
    return trial.config["trial"]


def record_failure(sweep_dir: Path, trial: Trial, error_text: str) -> None:
    """Marks a trial Ray reports as failed in its trial.json (``error_text``: Tune's error file), unless the trial
    recorded its own error there (a worker that was killed or died records nothing)."""
    record = read_record(sweep_dir, trial) or {
        "name": trial.name,
        "setting": trial.setting,
        "params": trial.params,
        "seed": trial.seed,
    }
    if record.get("status") == "error":
        return
    lines = [line for line in error_text.splitlines() if line.strip() and not line.startswith("Failure # ")]
    message = lines[0].strip() if lines else "the trial stopped without a result"
    record.update(status="error", error=f"Ray: {message}", traceback=error_text, end_time=now())
    trial_dir(sweep_dir, trial).mkdir(parents=True, exist_ok=True)
    write_record(sweep_dir, trial, record)


# -- the tables ------------------------------------------------------------------------------------
def collect(trials: list[Trial], sweep_dir: Path, metric: str) -> list[dict[str, Any]]:
    """One row per trial, read from its directory (trial.json, summary.json): whichever engine ran it."""
    rows = []
    for trial in trials:
        record = read_record(sweep_dir, trial) or {"status": "not run"}
        value = None
        if record["status"] == "done":
            value = metric_value(json.loads((trial_dir(sweep_dir, trial) / "summary.json").read_text()), metric)
        rows.append(
            {
                "name": trial.name,
                "setting": trial.setting,
                "seed": trial.seed,
                **trial.params,
                "status": record["status"],
                "metric": value,
                "wall_s": record.get("wall_s"),
                "error": record.get("error") or "",
            }
        )
    return rows


def write_results(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@dataclass(frozen=True)
class SettingResult:
    """One setting over its seeds: the metric's mean and sample sd over the trials done that have a value."""

    setting: int
    params: dict[str, Any]
    values: list[float]
    done: int
    total: int

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def sd(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    def shown(self) -> str:
        """``mean ± sd`` (the mean alone for one value, n/a for none)."""
        if self.mean is None:
            return "n/a"
        return f"{self.mean:.4f} ± {self.sd:.4f}" if len(self.values) > 1 else f"{self.mean:.4f}"


def by_setting(grid: Grid, rows: list[dict[str, Any]]) -> list[SettingResult]:
    results = []
    for setting, params in enumerate(grid.settings()):
        mine = [r for r in rows if r["setting"] == setting]
        values = [r["metric"] for r in mine if r["metric"] is not None]
        done = sum(r["status"] == "done" for r in mine)
        results.append(SettingResult(setting, params, values, done, len(mine)))
    return results


def best_setting(grid: Grid, results: list[SettingResult]) -> SettingResult | None:
    """The setting with the best mean (the first of equals); None if no setting has a value."""
    scored = [r for r in results if r.mean is not None]
    if not scored:
        return None
    pick = max if grid.mode == "max" else min
    return pick(scored, key=lambda r: r.mean)


def format_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def summary_table(grid: Grid, results: list[SettingResult], best: SettingResult | None) -> str:
    """The Markdown table of settings: values, metric mean ± sd over seeds, trials done, the best marked."""
    header = ["setting", *grid.axes, f"{grid.metric} (mean ± sd)", "done", "best"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        cells = [str(r.setting), *(format_value(v) for v in r.params.values()), r.shown(), f"{r.done}/{r.total}"]
        cells.append("**best**" if r is best else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_summary(path: Path, grid: Grid, source: str, table: str, rows: list[dict[str, Any]]) -> None:
    text = [
        f"# Sweep: {grid.base['agent']} on {grid.base['task']}",
        "",
        f"Grid {source}: metric `{grid.metric}` ({grid.mode} is best), mean ± sd over seeds {grid.seeds}.",
        "",
        table,
    ]
    failed = [r for r in rows if r["status"] != "done"]
    if failed:
        text += ["", "Trials without a result:", ""]
        text += [f"- `{r['name']}`: {r['status']}{': ' + r['error'] if r['error'] else ''}" for r in failed]
    path.write_text("\n".join(text) + "\n")


def write_best(path: Path, grid: Grid, source: str, best: SettingResult) -> dict[str, Any]:
    """The best setting as a run config file over all the sweep's seeds; returns the config."""
    values = setting_config(grid, best.params)
    values.update(
        seeds=len(grid.seeds),
        seed_offset=min(grid.seeds),
        description=f"best setting of the sweep {source} by {grid.metric} ({grid.mode}): "
        + (", ".join(f"{k}={format_value(v)}" for k, v in best.params.items()) or "the base config"),
    )
    config = RunConfig.from_dict(values).to_dict()
    note = (
        f"# {grid.metric} {best.shown()} over {len(best.values)} seed(s) in the sweep; the sweep's "
        f"seeds were {grid.seeds}, this run uses {min(grid.seeds)}..{min(grid.seeds) + len(grid.seeds) - 1}.\n"
    )
    path.write_text(note + yaml.safe_dump(config, sort_keys=False))
    return config


# -- the command -----------------------------------------------------------------------------------
def prepare_sweep_dir(sweep_dir: Path, grid: Grid, force: bool) -> None:
    """Creates OUT and writes grid.yaml. A rerun with the same grid resumes; with another grid it is refused
    unless ``force``, which (like ``force`` on its own) first removes everything a sweep writes into OUT."""
    saved = sweep_dir / "grid.yaml"
    existing = [name for name in SWEEP_OUTPUTS if (sweep_dir / name).exists()]
    if existing and not force and (not saved.exists() or yaml.safe_load(saved.read_text()) != grid.to_dict()):
        raise UsageError(
            f"{sweep_dir} already holds another sweep's results ({', '.join(existing)}); choose another --out, "
            "or add --force to replace them"
        )
    if force:
        remove_outputs(sweep_dir, SWEEP_OUTPUTS)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    saved.write_text(yaml.safe_dump(grid.to_dict(), sort_keys=False))


def cmd_sweep(args: argparse.Namespace) -> int:
    """Runs a sweep (see the module docstring) and prints its table and best setting; exit status 1 if no
    trial finished."""
    if args.engine == "local" and (args.address or args.cpus):
        raise UsageError("--address and --cpus are for --engine ray")
    if args.cpus is not None and args.cpus < 1:
        raise UsageError(f"--cpus must be a positive number of workers, got {args.cpus}")
    path = grid_path(args.grid)
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({exc})") from exc
    source = str(path)
    grid = parse_grid(values, source, task=args.task, agent=args.agent)
    trials = make_trials(grid, source)
    sweep_dir = Path(args.out).resolve()
    prepare_sweep_dir(sweep_dir, grid, args.force)

    todo = [t for t in trials if not is_done(sweep_dir, t)]
    print(
        f"sweep: {len(grid.settings())} setting(s) x {len(grid.seeds)} seed(s) = {len(trials)} trials "
        f"({len(trials) - len(todo)} already done in {sweep_dir}), engine {args.engine}"
    )
    started = time.monotonic()
    if todo and args.engine == "ray":
        run_ray(todo, sweep_dir, grid.metric, address=args.address, cpus=args.cpus, quiet=args.quiet)
    elif todo:
        run_local(todo, sweep_dir, grid.metric, args.quiet)

    rows = collect(trials, sweep_dir, grid.metric)
    write_results(sweep_dir / "results.csv", rows)
    results = by_setting(grid, rows)
    best = best_setting(grid, results)
    table = summary_table(grid, results, best)
    write_summary(sweep_dir / "summary.md", grid, source, table, rows)
    done = sum(r["status"] == "done" for r in rows)
    print(f"\n{done} of {len(trials)} trials done in {time.monotonic() - started:.0f} s; metric {grid.metric}\n")
    print(table)
    for r in rows:
        if r["status"] != "done":
            print(f"  {r['name']}: {r['status']}{': ' + r['error'] if r['error'] else ''}")
    if best is None:
        print(f"error: no trial has a value of {grid.metric}; see {sweep_dir / 'summary.md'}", file=sys.stderr)
        return 1
    write_best(sweep_dir / "best.yaml", grid, source, best)
    params = ", ".join(f"{k}={format_value(v)}" for k, v in best.params.items()) or "the base config"
    print(f"\nbest: {params}: {grid.metric} {best.shown()} over {len(best.values)} seed(s)")
    print(f"results in {sweep_dir}/ (results.csv, summary.md, best.yaml, trials/)")
    print(f"train it: python -m train run --config {sweep_dir / 'best.yaml'} --out runs/best")
    return 0


def add_sweep_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``sweep`` subcommand's arguments on the CLI's subparsers."""
    sw = subparsers.add_parser(
        "sweep", help="seeds x hyperparameters from a grid file, in-process or on Ray Tune (results per trial)"
    )
    sw.add_argument("--grid", required=True, help="a grid file (YAML; see train/sweep.py) or a name in train/sweeps/")
    sw.add_argument("--out", required=True, help="sweep directory (trials/, results.csv, summary.md, best.yaml)")
    sw.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local (default): trials one after another in this process; ray: Ray Tune trials, one CPU each",
    )
    sw.add_argument("--task", help="the task id (overrides the grid file's)")
    sw.add_argument("--agent", help="the agent name (overrides the grid file's)")
    sw.add_argument("--address", help="with --engine ray: the address of a running Ray cluster to use")
    sw.add_argument(
        "--cpus",
        type=int,
        help="with --engine ray: workers of the local Ray instance (default: all cores); with --address, the "
        "most trials at once",
    )
    sw.add_argument("--force", action="store_true", help="rerun every trial (replaces the sweep in --out)")
    sw.add_argument("--quiet", action="store_true", help="no progress display")
    return sw
