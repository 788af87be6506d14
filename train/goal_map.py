"""GOAL's regime map (Capone et al. 2022, Fig. 2D-F): feedback rank R x target timescale tau_* in one batch.

``python -m train regime-map --out runs/goal-map`` trains one GOAL network per (R, tau_*) cell, all as one
batched computation on the same trajectory, with GOAL's defaults (N = 150, T = 150, O = 3, 10,000 recurrent
epochs), and writes ``map.npz`` (every epoch's MSE and spike error per cell), ``summary.json`` (final MSE,
final spike error, epochs to converge per cell, wall time) and ``figures/regime_map.png`` (the three heat maps).

As in GOAL's ``scan``, tau_* is also the readout's time constant (``tau_o = tau_*``). Each cell's network has
its own seed (its own random matrices); the trajectory is drawn from ``--seed``.

``python -m train goal-trajectories --out runs/goal-trajectories`` trains Fig. 2A-C's three rules (R = N, R = O,
LTTS at tau_* = 4.6) on many trajectories at once (``run_trajectories``): how the paper's figures spread over
the trajectories the task draws.

Convergence: a run converges if its final MSE (mean of the last 5% of epochs) is below half the MSE of the
untrained network with the trained readout; its convergence time is the first epoch at which the 10-epoch
running mean of the MSE comes within 10% of the way from that final value to the starting one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm

import envs  # noqa: F401  (registers the tasks)
from agents import make_agent
from envs.trajectory import clock_inputs
from train.checkpoint import system_info

RANKS: tuple[int | None, ...] = (3, 19, 35, 52, 68, 84, 101, 117, 133, 150, None)
"""The paper's ranks; None is LTTS (diagonal feedback)."""
TIMESCALES: tuple[float, ...] = (1, 2, 3, 5, 8, 13, 22, 36, 60, 100)
"""The paper's target timescales tau_*, in steps."""


def convergence(mse: np.ndarray, start: np.ndarray, window: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final MSE (mean of the last 5% of epochs), whether each run converged, and its convergence epoch.

    Args:
        mse: (cells, epochs) MSE per recurrent epoch.
        start: (cells,) MSE of the untrained network with the trained readout.

    Returns:
        ``final`` (cells,), ``converged`` (cells,) bool, ``epochs`` (cells,) float: the first (1-based) epoch
        at which the ``window``-epoch running mean is at most ``final + 0.1 (start - final)``; NaN where the
        run did not converge (final MSE not below half of ``start``).
    """
    n_epochs = mse.shape[1]
    tail = max(1, n_epochs // 20)
    final = mse[:, -tail:].mean(axis=1)
    converged = final < 0.5 * start
    window = min(window, n_epochs)
    kernel = np.ones(window) / window
    epochs = np.full(len(mse), np.nan)
    for i, row in enumerate(mse):
        if not converged[i]:
            continue
        running = np.convolve(row, kernel, mode="valid")  # running[k] covers epochs k+1 .. k+window
        hits = np.flatnonzero(running <= final[i] + 0.1 * (start[i] - final[i]))
        if hits.size:
            epochs[i] = hits[0] + window
    return final, converged, epochs


def trajectory_targets(seeds: Sequence[int], n_outputs: int, n_steps: int) -> tuple[np.ndarray, int]:
    """The env's trajectories of these seeds as desired actions (S, T, O), and its number of clock inputs."""
    env = gym.make("spikegym/Trajectory-v0", n_outputs=n_outputs, n_steps=n_steps)
    targets = []
    for seed in seeds:
        env.reset(seed=int(seed))
        targets.append(env.unwrapped.trajectory / env.unwrapped.output_scale)
    n_inputs = env.observation_space.shape[0]
    env.close()
    return np.stack(targets).astype(np.float32), n_inputs


def train_batch(
    targets: np.ndarray,
    seeds: Sequence[int],
    config: dict[str, Any],
    *,
    n_inputs: int,
    epochs: int,
    device: str,
    desc: str,
    quiet: bool,
    save: Callable[[int, dict[str, np.ndarray], float], None],
    save_every: int,
) -> None:
    """B GOAL networks (one per row of ``targets`` (B, T, O), seeds and config lists per network) as one batch on
    the fast path: the teacher episode, then ``epochs`` recurrent epochs without autograd. ``save(done, results,
    wall_s)`` gets every ``save_every`` epochs and at the end: ``mse`` and ``spike_error`` (B, done) and the
    teacher episode's ``readout_mse``, ``readout_only_mse`` and ``readout_only_spike_error`` (B,)."""
    env = gym.make("spikegym/Trajectory-v0", n_outputs=targets.shape[2], n_steps=targets.shape[1])
    agent = make_agent("goal", env, seeds=list(seeds), device=device, config=config)
    env.close()
    results = {
        "mse": np.full((len(seeds), epochs), np.nan),
        "spike_error": np.full((len(seeds), epochs), np.nan),
    }
    bar = tqdm(total=epochs, unit="epoch", desc=desc, disable=quiet)
    start_time = time.perf_counter()

    def on_epoch(epoch: int, values: dict[str, np.ndarray]) -> None:
        results["mse"][:, epoch], results["spike_error"][:, epoch] = values["mse"], values["spike_error"]
        bar.update(1)
        if (epoch + 1) % 50 == 0:
            bar.set_postfix({"median MSE": f"{np.median(values['mse']):.4f}"})
        if save_every and (epoch + 1) % save_every == 0 and epoch + 1 < epochs:
            save(epoch + 1, results, time.perf_counter() - start_time)

    clock = clock_inputs(n_inputs, targets.shape[1])
    teacher = agent.train_episodes(clock, targets, 0)  # the teacher episode: targets, readout, feedback
    results.update({key: np.asarray(value) for key, value in teacher.items() if key not in results})
    with torch.no_grad():
        agent.train_episodes(clock, targets, epochs, callback=on_epoch)
    bar.close()
    save(epochs, results, time.perf_counter() - start_time)


def run_map(
    out: str | Path,
    *,
    epochs: int = 10_000,
    ranks: Sequence[int | None] = RANKS,
    timescales: Sequence[float] = TIMESCALES,
    n_units: int = 150,
    n_steps: int = 150,
    n_outputs: int = 3,
    seed: int = 0,
    update: str = "episode",
    recurrent_lr: float | None = None,
    device: str = "cpu",
    save_every: int = 500,
    quiet: bool = False,
) -> dict[str, Any]:
    """Trains every (R, tau_*) cell as one batch; writes map.npz and summary.json into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target, n_inputs = trajectory_targets([seed], n_outputs, n_steps)
    cells = [(r, float(tau)) for r in ranks for tau in timescales]
    config = {
        "n_units": n_units,
        "feedback_rank": [r for r, _ in cells],
        "tau_o": [tau for _, tau in cells],  # GOAL's scan: the readout filter is tau_*
        "update": update,
        "recurrent_lr": recurrent_lr,
    }
    shape = (len(ranks), len(timescales))
    rank_labels = np.array([rank_label(r) for r in ranks])
    summary: dict[str, Any] = {}

    def save(done: int, results: dict[str, np.ndarray], wall_s: float) -> None:
        mse, spike_error = results["mse"][:, :done], results["spike_error"][:, :done]
        np.savez_compressed(
            out / "map.npz",
            ranks=rank_labels,
            timescales=np.asarray(timescales, dtype=float),
            mse=mse.reshape(*shape, done),
            spike_error=spike_error.reshape(*shape, done),
            readout_only_mse=results["readout_only_mse"].reshape(shape),
            readout_only_spike_error=results["readout_only_spike_error"].reshape(shape),
            readout_limit_mse=results["readout_mse"].reshape(shape),
        )
        final, converged, conv_epochs = convergence(mse, results["readout_only_mse"])
        tail = max(1, done // 20)
        summary.update(
            {
                "epochs_done": done,
                "epochs": epochs,
                "wall_s": round(wall_s, 1),
                "networks": len(cells),
                "n_units": n_units,
                "n_steps": n_steps,
                "n_outputs": n_outputs,
                "seed": seed,
                "update": update,
                "recurrent_lr": recurrent_lr,
                "device": device,
                "ranks": rank_labels.tolist(),
                "timescales": list(timescales),
                "final_mse": final.reshape(shape).round(5).tolist(),
                "final_spike_error": spike_error[:, done - tail : done].mean(axis=1).reshape(shape).round(1).tolist(),
                "converged": converged.reshape(shape).tolist(),
                "epochs_to_converge": [
                    [None if np.isnan(v) else int(v) for v in row] for row in conv_epochs.reshape(shape)
                ],
                "readout_only_mse": results["readout_only_mse"].reshape(shape).round(4).tolist(),
                "system": system_info(),
            }
        )
        (out / "summary.json").write_text(json.dumps(summary, indent=1))

    train_batch(
        np.repeat(target, len(cells), axis=0),
        [seed * 10_000 + i for i in range(len(cells))],
        config,
        n_inputs=n_inputs,
        epochs=epochs,
        device=device,
        desc=f"regime map ({len(cells)} networks)",
        quiet=quiet,
        save=save,
        save_every=save_every,
    )
    return summary


def run_trajectories(
    out: str | Path,
    *,
    trajectories: Sequence[int] = tuple(range(10)),
    ranks: Sequence[int | None] | None = None,
    target_timescale: float = 4.6,
    epochs: int = 10_000,
    n_units: int = 150,
    n_steps: int = 150,
    n_outputs: int = 3,
    update: str = "online",
    recurrent_lr: float | None = None,
    device: str = "cpu",
    save_every: int = 500,
    quiet: bool = False,
) -> dict[str, Any]:
    """Fig. 2A-C's rules (default R = N, R = O and LTTS, tau_* = tau_o = 4.6) on many trajectories, one batch.

    Network (k, R) learns trajectory k (the env's seed k) with seed k, whatever its rule, so the rules start
    from the same network and readout on each trajectory, and ``--config goal2022-fig2``'s network k is this
    study's (k, its rule). Writes ``trajectories.npz`` (every epoch, (S, rules, epochs)) and ``summary.json``:
    per trajectory and rule the readout-only MSE, the MSE of epoch 1, 500 and the last 100, the spike error
    before and over the last 100 epochs; per rule their medians and quartiles over the trajectories.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ranks = (n_units, n_outputs, None) if ranks is None else tuple(ranks)
    targets, n_inputs = trajectory_targets(trajectories, n_outputs, n_steps)
    S, R = len(trajectories), len(ranks)
    config = {
        "n_units": n_units,
        "feedback_rank": [r for _ in trajectories for r in ranks],
        "tau_o": float(target_timescale),
        "update": update,
        "recurrent_lr": recurrent_lr,
    }
    labels = [rank_label(r) for r in ranks]
    summary: dict[str, Any] = {}

    def save(done: int, results: dict[str, np.ndarray], wall_s: float) -> None:
        grid = {key: value.reshape(S, R, *value.shape[1:]) for key, value in results.items()}
        mse, spike_error = grid["mse"][..., :done], grid["spike_error"][..., :done]
        np.savez_compressed(
            out / "trajectories.npz",
            trajectories=np.asarray(trajectories),
            ranks=np.array(labels),
            mse=mse,
            spike_error=spike_error,
            readout_only_mse=grid["readout_only_mse"],
            readout_only_spike_error=grid["readout_only_spike_error"],
            readout_limit_mse=grid["readout_mse"],
        )
        start = grid["readout_only_mse"][:, 0]  # the same for every rule on a trajectory
        tail = slice(max(0, done - 100), done)
        final_mse = mse[..., tail].mean(axis=-1) if done else np.full((S, R), np.nan)
        final_spikes = spike_error[..., tail].mean(axis=-1) if done else np.full((S, R), np.nan)

        def at_epoch(values: np.ndarray, epoch: int) -> np.ndarray:
            return values[..., epoch - 1] if done >= epoch else np.full(values.shape[:-1], np.nan)

        per_rule = {
            label: {
                "final_mse_median": _rounded(np.median(final_mse[:, j]), 5),
                "final_mse_quartiles": [_rounded(q, 5) for q in np.percentile(final_mse[:, j], [25, 75])],
                "final_mse_at_most_0.01": int((final_mse[:, j] <= 0.01).sum()),
                "final_mse_at_most_0.03": int((final_mse[:, j] <= 0.03).sum()),
                "final_spike_error_median": _rounded(np.median(final_spikes[:, j]), 1),
                "final_spike_error_at_most_150": int((final_spikes[:, j] <= 150).sum()),
                "mse_epoch_500_median": _rounded(np.median(at_epoch(mse[:, j], 500)), 5),
            }
            for j, label in enumerate(labels)
        }
        summary.update(
            {
                "epochs_done": done,
                "epochs": epochs,
                "wall_s": round(wall_s, 1),
                "networks": S * R,
                "n_units": n_units,
                "n_steps": n_steps,
                "n_outputs": n_outputs,
                "target_timescale": target_timescale,
                "update": update,
                "recurrent_lr": recurrent_lr,
                "device": device,
                "trajectories": [int(k) for k in trajectories],
                "ranks": labels,
                "readout_only_mse": start.round(4).tolist(),
                "readout_only_mse_median": _rounded(np.median(start), 4),
                "readout_only_mse_percentiles_10_25_75_90": np.percentile(start, [10, 25, 75, 90]).round(4).tolist(),
                "rules": per_rule,
                "per_trajectory": [
                    {
                        "trajectory": int(k),
                        "readout_only_mse": _rounded(start[i], 4),
                        "readout_only_spike_error": _rounded(grid["readout_only_spike_error"][i, 0], 1),
                        **{
                            label: {
                                "mse_epoch_1": _rounded(at_epoch(mse[i, j], 1), 5),
                                "mse_epoch_500": _rounded(at_epoch(mse[i, j], 500), 5),
                                "final_mse": _rounded(final_mse[i, j], 5),
                                "final_spike_error": _rounded(final_spikes[i, j], 1),
                            }
                            for j, label in enumerate(labels)
                        },
                    }
                    for i, k in enumerate(trajectories)
                ],
                "system": system_info(),
            }
        )
        (out / "summary.json").write_text(json.dumps(summary, indent=1))

    train_batch(
        np.repeat(targets, R, axis=0),
        [int(k) for k in trajectories for _ in ranks],
        config,
        n_inputs=n_inputs,
        epochs=epochs,
        device=device,
        desc=f"{S} trajectories x {R} rules",
        quiet=quiet,
        save=save,
        save_every=save_every,
    )
    return summary


def _rounded(value: Any, digits: int) -> float | None:
    """A float for JSON, None where it is NaN (no epochs yet)."""
    value = float(value)
    return None if np.isnan(value) else round(value, digits)


def rank_label(rank: int | None) -> str:
    """'LTTS' for the diagonal feedback, else the rank."""
    return "LTTS" if rank is None else str(rank)
