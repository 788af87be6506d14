"""GOAL's regime map (Capone et al. 2022, Fig. 2D-F): feedback rank R x target timescale tau_* in one batch.

``python -m train regime-map --out runs/goal-map`` trains one GOAL network per (R, tau_*) cell, all as one
batched computation on the same trajectory, with GOAL's defaults (N = 150, T = 150, O = 3, 10,000 recurrent
epochs), and writes ``map.npz`` (every epoch's MSE and spike error per cell), ``summary.json`` (final MSE,
final spike error, epochs to converge per cell, wall time) and ``figures/regime_map.png`` (the three heat maps).

As in GOAL's ``scan``, tau_* is also the readout's time constant (``tau_o = tau_*``). Each cell's network has
its own seed (its own random matrices); the trajectory is drawn from ``--seed``.

Convergence: a run converges if its final MSE (mean of the last 5% of epochs) is below half the MSE of the
untrained network with the trained readout; its convergence time is the first epoch at which the 10-epoch
running mean of the MSE comes within 10% of the way from that final value to the starting one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
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
    device: str = "cpu",
    save_every: int = 500,
    quiet: bool = False,
) -> dict[str, Any]:
    """Trains every (R, tau_*) cell as one batch; writes map.npz and summary.json into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = gym.make("spikegym/Trajectory-v0", n_outputs=n_outputs, n_steps=n_steps)
    env.reset(seed=seed)
    target = env.unwrapped.trajectory / env.unwrapped.output_scale
    cells = [(r, float(tau)) for r in ranks for tau in timescales]
    config = {
        "n_units": n_units,
        "feedback_rank": [r for r, _ in cells],
        "tau_o": [tau for _, tau in cells],  # GOAL's scan: the readout filter is tau_*
        "update": update,
    }
    agent = make_agent("goal", env, seeds=[seed * 10_000 + i for i in range(len(cells))], device=device, config=config)
    env.close()
    shape = (len(ranks), len(timescales))
    mse = np.full((len(cells), epochs), np.nan)
    spike_error = np.full((len(cells), epochs), np.nan)
    bar = tqdm(total=epochs, unit="epoch", desc=f"regime map ({len(cells)} networks)", disable=quiet)
    start_time = time.perf_counter()
    summary: dict[str, Any] = {}

    def save(done: int, wall_s: float) -> None:
        rank_labels = np.array(["LTTS" if r is None else str(r) for r in ranks])
        np.savez_compressed(
            out / "map.npz",
            ranks=rank_labels,
            timescales=np.asarray(timescales, dtype=float),
            mse=mse[:, :done].reshape(*shape, done),
            spike_error=spike_error[:, :done].reshape(*shape, done),
            readout_only_mse=result["readout_only_mse"].reshape(shape),
            readout_only_spike_error=result["readout_only_spike_error"].reshape(shape),
            readout_limit_mse=result["readout_mse"].reshape(shape),
        )
        final, converged, conv_epochs = convergence(mse[:, :done], result["readout_only_mse"])
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
                "device": device,
                "ranks": rank_labels.tolist(),
                "timescales": list(timescales),
                "final_mse": final.reshape(shape).round(5).tolist(),
                "final_spike_error": spike_error[:, done - tail : done].mean(axis=1).reshape(shape).round(1).tolist(),
                "converged": converged.reshape(shape).tolist(),
                "epochs_to_converge": [
                    [None if np.isnan(v) else int(v) for v in row] for row in conv_epochs.reshape(shape)
                ],
                "readout_only_mse": result["readout_only_mse"].reshape(shape).round(4).tolist(),
                "system": system_info(),
            }
        )
        (out / "summary.json").write_text(json.dumps(summary, indent=1))

    def on_epoch(epoch: int, values: dict[str, np.ndarray]) -> None:
        mse[:, epoch], spike_error[:, epoch] = values["mse"], values["spike_error"]
        bar.update(1)
        if (epoch + 1) % 50 == 0:
            bar.set_postfix({"median MSE": f"{np.median(values['mse']):.4f}"})
        if save_every and (epoch + 1) % save_every == 0 and epoch + 1 < epochs:
            save(epoch + 1, time.perf_counter() - start_time)

    clock = clock_inputs(env.observation_space.shape[0], n_steps)
    result = agent.train_episodes(clock, target, 0)  # the teacher episode: targets, readout, feedback
    with torch.no_grad():
        agent.train_episodes(clock, target, epochs, callback=on_epoch)
    bar.close()
    save(epochs, time.perf_counter() - start_time)
    return summary
