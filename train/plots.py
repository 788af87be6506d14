"""Figures of a run directory: learning curves across seeds, and outputs against targets.

Files read (written by ``python -m train run``): ``metrics.csv``, ``summary.json`` and ``probes.npz``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
import numpy as np

from train.tasks import task_profile

BEFORE, AFTER, TARGET, INPUT = "#9aa5b1", "#d1495b", "#222222", "#3d5a80"


def _save(fig: plt.Figure, out: str | Path | None, default: Path, tight: bool = False) -> Path:
    """Writes ``fig`` to ``out`` (or ``default``), creating the folder, and closes it."""
    out = Path(out) if out else default
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return out


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a metrics CSV with numbers parsed."""
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            parsed: dict[str, Any] = {}
            for key, value in row.items():
                if value in ("True", "False"):  # booleans (e.g. `correct`) as 1 / 0
                    parsed[key] = int(value == "True")
                    continue
                try:
                    parsed[key] = int(value)
                except ValueError:
                    try:
                        parsed[key] = float(value)
                    except ValueError:
                        parsed[key] = value
            rows.append(parsed)
    return rows


def metric_matrix(rows: list[dict[str, Any]], metric: str) -> tuple[list[int], np.ndarray]:
    """(seeds, values (n_seeds, n_episodes)) of ``metric``, episodes in order; missing entries are NaN."""
    seeds = sorted({r["seed"] for r in rows})
    n_episodes = max(r["episode"] for r in rows) + 1
    out = np.full((len(seeds), n_episodes), np.nan)
    where = {s: i for i, s in enumerate(seeds)}
    for r in rows:
        out[where[r["seed"]], r["episode"]] = float(r[metric])
    return seeds, out


def plot_learning_curve(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Median and interquartile range across seeds of the task's curve metric, per episode."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    profile = task_profile(config.get("task", ""))
    rows = read_metrics(run_dir / "metrics.csv")
    metric = profile.curve_metric if profile.curve_metric in rows[0] else "return"
    seeds, values = metric_matrix(rows, metric)
    n = values.shape[1]
    episodes = np.arange(1, n + 1)
    # Trial types alternate (AA, AB, BA, BB...), so each seed is first averaged over a window that spans
    # whole cycles; the band is then the spread of those averages across seeds.
    window = max(1, min(100, 4 * max(1, n // 80), n))
    kernel = np.ones(window) / window
    smooth = np.array([np.convolve(v, kernel, mode="valid") for v in values])
    x = episodes[window - 1 :]
    q25, med, q75 = np.nanpercentile(smooth, [25, 50, 75], axis=0)

    fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
    ax.plot(
        episodes,
        np.nanmedian(values, axis=0),
        color="#9aa5b1",
        linewidth=0.4,
        alpha=0.6,
        label=f"median per {'trial' if metric == 'error' else 'episode'}",
    )
    ax.fill_between(x, q25, q75, color="#f2b5bd", linewidth=0, label="interquartile range across seeds")
    ax.plot(x, med, color=AFTER, linewidth=2, label=f"median over {len(seeds)} seed(s), {window}-episode mean")
    summary = json.loads((run_dir / "summary.json").read_text())
    crit = summary.get("headline", {}).get("trials_to_criterion", {})
    if crit.get("median") is not None:
        ax.axvline(
            crit["median"], color="#2a9d8f", linewidth=1.5, label=f"median trials to criterion: {crit['median']:.0f}"
        )
        for q in ("q25", "q75"):
            if crit.get(q) is not None:
                ax.axvline(crit[q], color="#2a9d8f", linewidth=1, linestyle=":")
    if metric == "error":
        ax.axhline(1.0, color="#888888", linewidth=0.8, linestyle="--")
        ax.set_ylim(0, 2)
    ax.set_xlim(1, max(2, episodes[-1]))
    ax.set_xlabel("trial" if metric == "error" else "episode")
    ax.set_ylabel(metric)
    ax.set_title(f"{config.get('agent', '')} on {config.get('task', '')}: learning curve")
    ax.legend(loc="upper right", frameon=False, fontsize=9)
    ax.grid(alpha=0.25)
    return _save(fig, out, run_dir / "figures" / "learning_curve.png")


def _is_spikes(actions: np.ndarray) -> bool:
    return np.issubdtype(actions.dtype, np.integer) or np.issubdtype(actions.dtype, np.bool_)


def plot_probes(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Network output against target for each probe episode (trial condition), before and after learning;
    for spiking outputs, a raster of the inputs and the output spikes before and after."""
    run_dir = Path(run_dir)
    data = np.load(run_dir / "probes.npz", allow_pickle=False)
    if _is_spikes(data["after_actions"]):
        return plot_spike_probes(run_dir, out)
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    figure = task_profile(config.get("task", "")).probe_figure
    if figure == "states":
        return plot_state_probes(run_dir, out)
    if figure == "control":
        return plot_control_probes(run_dir, out)
    names = [str(n) for n in data["names"]]
    dt_ms = float(data["dt_ms"])
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    cols = 2 if len(names) > 1 else 1
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(6 * cols, 2.8 * rows), squeeze=False, sharex=True, layout="constrained"
    )
    labelled: set[str] = set()
    for k, name in enumerate(names):
        ax = axes[k // cols, k % cols]
        obs = data["after_observations"][k]  # (T, n_in), the same stimulus before and after
        t = np.arange(obs.shape[0]) * dt_ms
        for channel in range(obs.shape[1]):
            on = obs[:, channel] > 0
            if on.any():
                label = f"input {chr(ord('A') + channel)}"
                ax.fill_between(
                    t,
                    -1.05,
                    1.05,
                    where=on,
                    color=f"C{channel}",
                    alpha=0.15,
                    linewidth=0,
                    label=None if label in labelled else label,
                )
                labelled.add(label)
        for d in range(data["after_actions"].shape[-1]):  # every output (GOAL's trajectories have several)
            first = k == 0 and d == 0
            ax.plot(
                t,
                data["before_actions"][k][:, d],
                color=BEFORE,
                linewidth=1.2,
                label="before learning" if first else None,
            )
            ax.plot(
                t, data["after_actions"][k][:, d], color=AFTER, linewidth=1.6, label="after learning" if first else None
            )
            ax.plot(
                t,
                data["after_targets"][k][:, d],
                color=TARGET,
                linewidth=2.2,
                linestyle="--",
                label="target" if first else None,
            )
        ax.set_ylim(-1.1, 1.1)
        ax.set_title(f"trial {name}", fontsize=10)
        ax.grid(alpha=0.2)
        if k % cols == 0:
            ax.set_ylabel("output r")
        if k // cols == rows - 1:
            ax.set_xlabel("time (ms)")
    fig.suptitle(
        f"{config.get('agent', '')} on {config.get('task', '')}: output vs target (no exploration noise)", fontsize=11
    )
    fig.legend(loc="outside lower center", ncol=5, frameon=False, fontsize=9)
    return _save(fig, out, run_dir / "figures" / "outputs.png", tight=True)


def plot_state_probes(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """A forward model's probe: each predicted state dimension against the reference, before and after learning
    (no feedback), and the input below; the MSE of each in the legend."""
    run_dir = Path(run_dir)
    data = np.load(run_dir / "probes.npz", allow_pickle=False)
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    dt_ms = float(data["dt_ms"])
    before, after = data["before_actions"][0], data["after_actions"][0]  # (T, D), the first probe episode
    target, inputs = data["after_targets"][0], data["after_observations"][0]
    n_dims = after.shape[1]
    t = np.arange(len(after)) * dt_ms / 1000.0
    continued = bool(config.get("continue_from"))  # then "before" is where the earlier run left the network
    first_label, last_label = (
        ("start of this run", "end of this run") if continued else ("before learning", "after learning")
    )
    fig, axes = plt.subplots(
        n_dims + 1, 1, figsize=(11, 1.9 * (n_dims + 1) + 0.6), sharex=True, squeeze=False, layout="constrained"
    )
    for d in range(n_dims):
        ax = axes[d, 0]
        mse_before = float(np.mean((before[:, d] - target[:, d]) ** 2))
        mse_after = float(np.mean((after[:, d] - target[:, d]) ** 2))
        ax.plot(t, target[:, d], color=TARGET, linewidth=2.0, linestyle="--", label="reference")
        ax.plot(t, before[:, d], color=BEFORE, linewidth=1.0, label=f"{first_label} (MSE {mse_before:.3g})")
        ax.plot(t, after[:, d], color=AFTER, linewidth=1.3, label=f"{last_label} (MSE {mse_after:.3g})")
        ax.set_ylabel(f"state {d + 1}\n(action units)", fontsize=9)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False, fontsize=8, ncol=3, borderaxespad=0.1)
        ax.grid(alpha=0.2)
    ax = axes[-1, 0]
    for k in range(inputs.shape[1]):
        ax.plot(t, inputs[:, k], color=f"C{k}", linewidth=1.0, label=f"input {k + 1}")
    ax.set_ylabel("input", fontsize=9)
    ax.set_xlabel("time (s)")
    ax.legend(loc="upper right", frameon=False, fontsize=8, ncol=inputs.shape[1])
    ax.grid(alpha=0.2)
    names = [str(n) for n in data["names"]]
    fig.suptitle(
        f"{config.get('agent', '')} on {config.get('task', '')}: prediction against reference ({names[0]})", fontsize=11
    )
    return _save(fig, out, run_dir / "figures" / "outputs.png", tight=True)


def plot_control_probes(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """A closed-loop probe episode before and after learning (the agent in control, plasticity off): each action
    dimension against the expert's action for the same state; the episodes may differ in length."""
    run_dir = Path(run_dir)
    data = np.load(run_dir / "probes.npz", allow_pickle=False)
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    dt_s = float(data["dt_ms"]) / 1000.0
    n_dims = data["after_actions"].shape[-1]
    fig, axes = plt.subplots(
        n_dims, 2, figsize=(12, 1.8 * n_dims + 0.8), sharex="col", sharey="row", squeeze=False, layout="constrained"
    )
    for col, (when, title) in enumerate((("before", "before learning"), ("after", "after learning"))):
        actions, targets = data[f"{when}_actions"][0], data[f"{when}_targets"][0]
        t = np.arange(len(actions)) * dt_s
        for d in range(n_dims):
            ax = axes[d, col]
            mse = float(np.nanmean((actions[:, d] - targets[:, d]) ** 2))
            ax.plot(t, targets[:, d], color=TARGET, linewidth=1.6, linestyle="--", label="expert (same state)")
            ax.plot(t, actions[:, d], color=AFTER if when == "after" else BEFORE, linewidth=1.2, label="agent")
            ax.set_title(f"{title}: action {d + 1} (MSE {mse:.3g}, {len(actions)} steps)", fontsize=9)
            ax.set_ylim(-1.1, 1.1)
            ax.grid(alpha=0.2)
            if d == 0 and col == 0:
                ax.legend(loc="upper right", frameon=False, fontsize=8, ncol=2)
        axes[-1, col].set_xlabel("time (s)")
    fig.suptitle(
        f"{config.get('agent', '')} on {config.get('task', '')}: the agent in control, against the expert", fontsize=11
    )
    return _save(fig, out, run_dir / "figures" / "outputs.png", tight=True)


def plot_evaluations(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """The task's curve metric in each evaluation (plasticity off), per seed and their median, against the
    learning time the agent reports (``learned_s``) or the training episodes before it."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    profile = task_profile(config.get("task", ""))
    rows = read_metrics(run_dir / "evaluations.csv")
    metric = profile.curve_metric if profile.curve_metric in rows[0] else "return"
    x_key = "learned_s" if "learned_s" in rows[0] else "after_episodes"
    if x_key == "learned_s":  # a run that continued another: its evaluations come first, as long as it is there
        rows = _continued_evaluations(config, rows)
    seeds = sorted({r["seed"] for r in rows})
    with_success = "is_success" in rows[0]  # closed-loop tasks: the success rate beside the return
    fig, axes = plt.subplots(
        1, 2 if with_success else 1, figsize=(13 if with_success else 8, 4.2), squeeze=False, layout="constrained"
    )
    ax = axes[0, 0]

    def per_evaluation(seed: int, key: str) -> tuple[np.ndarray, np.ndarray]:
        points: dict[float, list[float]] = {}
        for r in rows:
            if r["seed"] == seed and isinstance(r.get(key), int | float):
                points.setdefault(float(r[x_key]), []).append(float(r[key]))
        x = np.array(sorted(points))
        return x, np.array([np.mean(points[k]) for k in x])

    curves = []
    for seed in seeds:
        x, y = per_evaluation(seed, metric)
        ax.plot(
            x,
            y,
            color="#9aa5b1",
            linewidth=0.9,
            marker="o",
            markersize=3,
            label=profile.metric_labels.get(metric, metric) if seed == seeds[0] else None,
        )
        curves.append(y)
    # Other metrics where some rows have them (an earlier run of a chain may predate one).
    others = (
        [k for k in profile.other_curve_metrics if any(k in r for r in rows)] if metric == profile.curve_metric else []
    )
    for key, color in zip(others, ("#e76f51", "#6a4c93", "#2a9d8f"), strict=False):
        for seed in seeds:
            xs, ys = per_evaluation(seed, key)
            ax.plot(
                xs,
                ys,
                color=color,
                linewidth=0.9,
                marker="s",
                markersize=2.5,
                alpha=0.8,
                label=profile.metric_labels.get(key, key) if seed == seeds[0] else None,
            )
    if with_success:
        success_ax = axes[0, 1]
        for seed in seeds:
            xs, ys = per_evaluation(seed, "is_success")
            success_ax.plot(xs, 100 * ys, color=AFTER, linewidth=1.2, marker="o", markersize=3)
        success_ax.axhline(80, color="#2a9d8f", linestyle=":", linewidth=1.2, label="80%")
        success_ax.set_ylim(-3, 103)
        success_ax.set_xlabel("training episodes")
        success_ax.set_ylabel("successful episodes (%), evaluation")
        success_ax.legend(frameon=False, fontsize=9)
        success_ax.grid(alpha=0.25)
    if len(seeds) > 1 and len({len(c) for c in curves}) == 1:
        ax.plot(x, np.median(curves, axis=0), color=AFTER, linewidth=2, label=f"median over {len(seeds)} seeds")
    if len(seeds) > 1 or others:
        ax.legend(frameon=False, fontsize=9)
    if profile.lower_is_better and all(np.all(np.asarray(c) > 0) for c in curves):
        ax.set_yscale("log")
        first = float(np.median([c[0] for c in curves]))
        ax.axhline(first, color=BEFORE, linestyle="--", linewidth=1, label=f"first evaluation ({first:.3g})")
        ax.axhline(first / 10, color="#2a9d8f", linestyle=":", linewidth=1.2, label="10 times lower")
        ax.legend(frameon=False, fontsize=9)
    ax.set_xlabel("learning time (simulated s)" if x_key == "learned_s" else "training episodes")
    ax.set_ylabel("evaluation (plasticity off)" if others else f"{metric}, evaluation (plasticity off)")
    ax.grid(alpha=0.25, which="both")
    ax.set_title(f"{config.get('agent', '')} on {config.get('task', '')}: evaluations during training", fontsize=11)
    return _save(fig, out, run_dir / "figures" / "evaluations.png")


def _continued_evaluations(config: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` after the evaluations of the runs this one continued (``continue_from``, followed back while
    their directories exist), each earlier point kept only before this run's learning time begins."""
    seen: set[Path] = set()
    earlier_dir = config.get("continue_from")
    while earlier_dir:
        earlier = Path(earlier_dir)
        earlier = (earlier.parent if earlier.name == "checkpoint" else earlier).resolve()
        if earlier in seen or not (earlier / "evaluations.csv").exists() or not (earlier / "summary.json").exists():
            break
        seen.add(earlier)
        start = min(float(r["learned_s"]) for r in rows)
        previous = [r for r in read_metrics(earlier / "evaluations.csv") if float(r.get("learned_s", start)) < start]
        rows = previous + rows
        earlier_dir = json.loads((earlier / "summary.json").read_text()).get("config", {}).get("continue_from")
    return rows


def plot_spike_probes(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """One column per probe episode: the input raster, the hidden neurons' raster after learning (a liquid's, a
    recurrent network's, where the agent has them), then the output spikes before and after learning."""
    run_dir = Path(run_dir)
    data = np.load(run_dir / "probes.npz", allow_pickle=False)
    names = [str(n) for n in data["names"]]
    dt_ms = float(data["dt_ms"])
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    has_inputs = data["after_observations"].shape[-1] > 0  # tasks run on the network's own noise have none
    has_hidden = "after_hidden" in data
    ratios = [3] * has_inputs + [3] * has_hidden + [2]
    fig, axes = plt.subplots(
        len(ratios),
        len(names),
        figsize=(5.5 * len(names), 1.0 + 1.5 * sum(ratios) / 2),
        squeeze=False,
        sharex=True,
        layout="constrained",
        gridspec_kw={"height_ratios": ratios},
    )
    for k, name in enumerate(names):
        obs = data["after_observations"][k]
        if has_inputs:
            t_in, ch = np.nonzero(obs > 0)
            ax = axes[0, k]
            ax.scatter(t_in * dt_ms / 1000.0, ch, s=2, color=INPUT, linewidths=0)
            ax.set_ylabel("input channel" if k == 0 else "")
        if has_hidden:
            t_h, neuron = np.nonzero(data["after_hidden"][k])
            ax = axes[int(has_inputs), k]
            ax.scatter(t_h * dt_ms / 1000.0, neuron, s=1, color=TARGET, linewidths=0)
            ax.set_ylim(-0.5, data["after_hidden"].shape[-1] - 0.5)
            ax.set_ylabel("network neuron (after)" if k == 0 else "")
        axes[0, k].set_title(name, fontsize=10)
        ax = axes[-1, k]
        ticks, labels = [], []
        for row, (key, color, label) in enumerate(
            (("before_actions", BEFORE, "before"), ("after_actions", AFTER, "after"))
        ):
            spikes = data[key][k].reshape(len(data[key][k]), -1)
            t_out, unit = np.nonzero(spikes > 0)
            n_units = spikes.shape[1]
            ax.scatter(
                t_out * dt_ms / 1000.0, row * (n_units + 1) + unit, s=40 if n_units == 1 else 3, marker="|", color=color
            )
            ticks.append(row * (n_units + 1) + (n_units - 1) / 2)
            labels.append(f"{label}\n{len(t_out)} spikes")
        ax.set_yticks(ticks, labels, fontsize=8)
        ax.set_ylim(-1, 2 * (n_units + 1) - 1)
        ax.set_xlim(0, len(obs) * dt_ms / 1000.0)
        ax.set_xlabel("time (s)")
        ax.grid(alpha=0.2, axis="x")
    fig.suptitle(f"{config.get('agent', '')} on {config.get('task', '')}: inputs and output spikes", fontsize=11)
    return _save(fig, out, run_dir / "figures" / "outputs.png", tight=True)


def plot_condition_counts(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """The task's count (``TaskProfile.count_metric``: the readout's spikes) per test trial of each condition, at
    the first evaluation (before learning) and the last, all seeds pooled, each seed's mean a dot."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    profile = task_profile(config.get("task", ""))
    metric = profile.count_metric
    rows = read_metrics(run_dir / "evaluations.csv")
    (key,) = {k for option in profile.probe_options for k in option}
    names = {option[key]: name for option, name in zip(profile.probe_options, profile.probe_names, strict=True)}
    first, last = min(r["after_episodes"] for r in rows), max(r["after_episodes"] for r in rows)
    seeds = sorted({r["seed"] for r in rows})
    fig, ax = plt.subplots(figsize=(3.2 + 2.2 * len(names), 4.2), layout="constrained")
    ticks, labels = [], []
    for k, (condition, name) in enumerate(names.items()):
        for j, (when, color, label) in enumerate(((first, BEFORE, "before"), (last, AFTER, "after"))):
            chosen = [r for r in rows if r["after_episodes"] == when and r[key] == condition]
            x = 3 * k + j
            counts = [float(r[metric]) for r in chosen]
            if counts:
                ax.boxplot(
                    [counts],
                    positions=[x],
                    widths=0.6,
                    showfliers=False,
                    patch_artist=True,
                    boxprops={"facecolor": color, "alpha": 0.35, "edgecolor": color},
                    medianprops={"color": color},
                    whiskerprops={"color": color},
                    capprops={"color": color},
                )
            means = [np.mean([float(r[metric]) for r in chosen if r["seed"] == s]) for s in seeds]
            means = [m for m in means if np.isfinite(m)]
            ax.scatter(
                np.full(len(means), x) + np.linspace(-0.15, 0.15, len(means)),
                means,
                s=18,
                color=color,
                zorder=3,
                edgecolors="white",
                linewidths=0.5,
            )
            ticks.append(x)
            labels.append(f"{name}\n{label}")
    ax.set_xticks(ticks, labels, fontsize=9)
    ax.set_ylabel(f"{metric.replace('_', ' ')} per test trial")
    ax.grid(alpha=0.25, axis="y")
    ax.set_title(
        f"{config.get('agent', '')} on {config.get('task', '')}\nbefore learning and after {int(last)} trials "
        f"({len(seeds)} seeds; dots: seed means)",
        fontsize=10,
    )
    return _save(fig, out, run_dir / "figures" / "counts.png")


def plot_weights(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Histogram of the plastic weights before and after learning, all seeds pooled."""
    run_dir = Path(run_dir)
    data = np.load(run_dir / "probes.npz", allow_pickle=False)
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    before, after = data["before_weights"], data["after_weights"]
    before, after = before[np.isfinite(before)], after[np.isfinite(after)]
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    bins = np.linspace(min(before.min(), after.min()), max(before.max(), after.max()), 60)
    if bins[0] == bins[-1]:
        bins = np.linspace(bins[0] - 0.5, bins[0] + 0.5, 60)
    ax.hist(before, bins=bins, color=BEFORE, alpha=0.6, label=f"before (mean {before.mean():.3g})")
    ax.hist(after, bins=bins, color=AFTER, alpha=0.6, label=f"after (mean {after.mean():.3g})")
    ax.set_yscale("log")
    ax.set_xlabel("weight (as the agent reports it)")
    ax.set_ylabel("synapses")
    ax.legend(frameon=False, fontsize=9)
    ax.grid(alpha=0.25)
    ax.set_title(f"{config.get('agent', '')} on {config.get('task', '')}: plastic weights", fontsize=11)
    return _save(fig, out, run_dir / "figures" / "weights.png")


def plot_samples(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """The agent's sampled metrics against simulated time: one panel per metric, each seed and their median."""
    run_dir = Path(run_dir)
    rows = read_metrics(run_dir / "samples.csv")
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    names = [k for k in rows[0] if k not in ("t_s", "step", "seed")]
    seeds = sorted({r["seed"] for r in rows})
    minutes = max(r["t_s"] for r in rows) > 300
    fig, axes = plt.subplots(
        len(names), 1, figsize=(8, 2.4 * len(names)), sharex=True, squeeze=False, layout="constrained"
    )
    for ax, name in zip(axes[:, 0], names, strict=True):
        series = []
        for seed in seeds:
            mine = sorted((r for r in rows if r["seed"] == seed), key=lambda r: r["t_s"])
            t = np.array([r["t_s"] for r in mine]) / (60.0 if minutes else 1.0)
            y = np.array([r[name] for r in mine])
            ax.plot(t, y, color="#9aa5b1", linewidth=0.8, alpha=0.8)
            series.append(y)
        if len({len(y) for y in series}) == 1:
            ax.plot(
                t,
                np.median(np.stack(series), axis=0),
                color=AFTER,
                linewidth=2,
                label=f"median over {len(seeds)} seed(s)",
            )
            ax.legend(loc="best", frameon=False, fontsize=9)
        if name.endswith("_of_max"):
            ax.axhline(0.9, color="#2a9d8f", linestyle=":", linewidth=1)
            ax.set_ylim(-0.02, 1.05)
        ax.set_ylabel(name.replace("_", " "), fontsize=9)
        ax.grid(alpha=0.25)
    axes[-1, 0].set_xlabel("simulated time (min)" if minutes else "simulated time (s)")
    fig.suptitle(f"{config.get('agent', '')} on {config.get('task', '')}: what the rule learned", fontsize=11)
    return _save(fig, out, run_dir / "figures" / "samples.png")


def _goal_labels(config: dict[str, Any], seeds: list[int]) -> list[str]:
    """A label per network of a GOAL run: its feedback rank (LTTS for None) and tau*."""
    agent_config = config.get("agent_config", {})
    n = len(seeds)

    def per_network(name: str, default: Any) -> list[Any]:
        value = agent_config.get(name, default)
        return list(value) if isinstance(value, (list, tuple)) else [value] * n

    ranks = per_network("feedback_rank", None)
    tau_o = per_network("tau_o", 5.0)
    tau_star = [t if s is None else s for s, t in zip(per_network("target_timescale", None), tau_o, strict=True)]
    return [
        f"seed {seed}: {'LTTS' if r is None else f'R = {r}'}, tau* = {float(t):g}"
        for seed, r, t in zip(seeds, ranks, tau_star, strict=True)
    ]


def plot_goal_curves(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """GOAL (Capone et al. 2022) Fig. 2A-C: each network's MSE and spike error per recurrent epoch."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    seeds, mse = metric_matrix(read_metrics(run_dir / "metrics.csv"), "mse")
    labels = _goal_labels(config, seeds)
    samples = read_metrics(run_dir / "samples.csv") if (run_dir / "samples.csv").exists() else []
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained")
    epochs = np.arange(1, mse.shape[1])
    for i, label in enumerate(labels):
        color = f"C{i % 10}"
        axes[0].plot(epochs, mse[i, 1:], color=color, linewidth=0.9, label=label)
        mine = sorted((r for r in samples if r["seed"] == seeds[i]), key=lambda r: r["step"])
        errors = np.array([r["spike_error"] for r in mine], dtype=float)
        axes[1].plot(np.arange(len(errors)), errors, color=color, linewidth=0.9)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("MSE")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("spike error sum |z* - z|")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("recurrent epoch")
        ax.grid(alpha=0.25, which="both")
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle(f"goal on {config.get('task', '')}: MSE and spike error per epoch", fontsize=11)
    return _save(fig, out, run_dir / "figures" / "goal_curves.png")


def plot_regime_map(map_dir: str | Path, out: str | Path | None = None) -> Path:
    """GOAL (Capone et al. 2022) Fig. 2D-F: final MSE, final spike error and epochs to converge over (R, tau*);
    cells that did not converge are magenta."""
    from matplotlib.colors import LogNorm

    map_dir = Path(map_dir)
    summary = json.loads((map_dir / "summary.json").read_text())
    ranks, timescales = summary["ranks"], summary["timescales"]
    panels = [
        ("final MSE", np.array(summary["final_mse"], dtype=float)),
        ("final spike error (0 drawn as 1)", np.maximum(np.array(summary["final_spike_error"], dtype=float), 1.0)),
        (
            "epochs to converge",
            np.array([[np.nan if v is None else v for v in row] for row in summary["epochs_to_converge"]], float),
        ),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), layout="constrained")
    order = np.arange(len(ranks))[::-1]  # highest rank (and LTTS) on top, as in the paper
    for ax, (title, values) in zip(axes, panels, strict=True):
        shown = np.ma.masked_invalid(values[order])
        finite = shown.compressed()
        finite = finite[finite > 0]
        norm = LogNorm(vmin=finite.min(), vmax=finite.max()) if finite.size and finite.max() > finite.min() else None
        cmap = plt.get_cmap("viridis").copy()
        cmap.set_bad("#e040fb")
        image = ax.imshow(shown, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.9)
        ax.set_xticks(range(len(timescales)), [f"{t:g}" for t in timescales])
        ax.set_yticks(range(len(ranks)), [ranks[i] for i in order])
        ax.set_xlabel("tau* (steps)")
        ax.set_ylabel("feedback rank R")
        ax.set_title(title + (" (magenta: no convergence)" if title.startswith("epochs") else ""), fontsize=10)
    fig.suptitle(
        f"GOAL regime map: N = {summary['n_units']}, T = {summary['n_steps']}, O = {summary['n_outputs']}, "
        f"{summary['epochs_done']} epochs, {summary['networks']} networks in one batch ({summary['wall_s']:.0f} s)",
        fontsize=11,
    )
    return _save(fig, out, map_dir / "figures" / "regime_map.png")


def plot_goal_trajectories(study_dir: str | Path, out: str | Path | None = None) -> Path:
    """GOAL Fig. 2A-C over many trajectories (``python -m train goal-trajectories``): each rule's MSE and spike
    error per epoch (median and quartiles over the trajectories), and each network's final MSE against the MSE its
    untrained network had with the trained readout, beside the paper's 0.18-0.20."""
    study_dir = Path(study_dir)
    summary = json.loads((study_dir / "summary.json").read_text())
    with np.load(study_dir / "trajectories.npz") as data:
        mse, spike_error, start = data["mse"], data["spike_error"], data["readout_only_mse"]
    labels = summary["ranks"]
    kinds = {str(summary["n_units"]): "high rank, ", str(summary["n_outputs"]): "low rank, "}
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), layout="constrained")
    epochs = np.arange(1, mse.shape[2] + 1)
    tail = slice(max(0, mse.shape[2] - 100), mse.shape[2])
    for j, label in enumerate(labels):
        color, name = f"C{j}", "LTTS" if label == "LTTS" else f"{kinds.get(label, '')}R = {label}"
        for ax, values in ((axes[0], mse[:, j]), (axes[1], np.maximum(spike_error[:, j], 1.0))):
            low, mid, high = np.percentile(values, [25, 50, 75], axis=0)
            ax.fill_between(epochs, low, high, color=color, alpha=0.2, linewidth=0)
            ax.plot(epochs, mid, color=color, linewidth=1.0, label=name)
        if mse.shape[2]:
            axes[2].scatter(start[:, j], mse[:, j, tail].mean(axis=1), color=color, s=22, label=name)
    axes[0].set_ylabel("MSE (median and quartiles over trajectories)")
    axes[1].set_ylabel("spike error sum |z* - z| (0 drawn as 1)")
    for ax in axes[:2]:
        ax.set_xlabel("recurrent epoch")
        if not mse.shape[2]:
            ax.text(0.5, 0.5, "no recurrent epochs", ha="center", transform=ax.transAxes)
            continue
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(alpha=0.25, which="both")
    axes[0].legend(frameon=False, fontsize=8)
    axes[2].axvspan(0.18, 0.20, color="0.88", zorder=0, label="paper: readout-only 0.18-0.20")
    axes[2].set_xlabel("readout-only MSE (untrained network, trained readout)")
    if mse.shape[2]:
        for level, text in ((0.01, "paper: high rank ~0.01"), (0.03, "paper: low rank ~0.03")):
            axes[2].axhline(level, color="0.5", linestyle=":", linewidth=0.8)
            axes[2].annotate(text, (0.0, level), xycoords=("axes fraction", "data"), xytext=(4, 3),
                             textcoords="offset points", fontsize=7, color="0.35")  # fmt: skip
        axes[2].set_yscale("log")
        axes[2].set_ylabel("final MSE (mean of the last 100 epochs)")
    else:  # the teacher episodes only: how the readout-only MSE spreads over the trajectories
        axes[2].hist(start[:, 0], bins=20, color="C0", alpha=0.8)
        axes[2].set_ylabel("trajectories")
    axes[2].legend(frameon=False, fontsize=8)
    axes[2].grid(alpha=0.25, which="both")
    fig.suptitle(
        f"GOAL Fig. 2A-C on {len(summary['trajectories'])} trajectories: N = {summary['n_units']}, "
        f"T = {summary['n_steps']}, tau* = {summary['target_timescale']:g}, {summary['epochs_done']} epochs "
        f"({summary['networks']} networks in one batch, {summary['wall_s']:.0f} s)",
        fontsize=11,
    )
    return _save(fig, out, study_dir / "figures" / "goal_trajectories.png")


def plot_run(run_dir: str | Path) -> list[Path]:
    """Every figure a run directory supports (or the heat maps of a regime-map directory, or the curves of a
    goal-trajectories one)."""
    run_dir = Path(run_dir)
    if (run_dir / "map.npz").exists() and not (run_dir / "metrics.csv").exists():
        return [plot_regime_map(run_dir)]
    if (run_dir / "trajectories.npz").exists() and not (run_dir / "metrics.csv").exists():
        return [plot_goal_trajectories(run_dir)]
    if not (run_dir / "metrics.csv").exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no metrics.csv): run `python -m train run` first")
    written = [plot_learning_curve(run_dir)]
    if (run_dir / "probes.npz").exists():
        written.append(plot_probes(run_dir))
        with np.load(run_dir / "probes.npz") as data:
            has_weights = "before_weights" in data
        if has_weights:
            written.append(plot_weights(run_dir))
    if (run_dir / "samples.csv").exists():
        written.append(plot_samples(run_dir))
    if (run_dir / "evaluations.csv").exists() and len(read_metrics(run_dir / "evaluations.csv")) > 0:
        written.append(plot_evaluations(run_dir))
        profile = task_profile(json.loads((run_dir / "summary.json").read_text()).get("config", {}).get("task", ""))
        if profile.count_metric is not None:
            written.append(plot_condition_counts(run_dir))
    config = json.loads((run_dir / "summary.json").read_text()).get("config", {})
    if config.get("agent") == "goal":
        written.append(plot_goal_curves(run_dir))
    return written
