"""DNMS trials per second with the Miconi agent, beside ANNarchy on the same workload.

Everything runs through the real rollout loop (native vector env, SAME_STEP, learning on), so the figure
is what `python -m train run` achieves. ANNarchy runs ../shared/peers/annarchy_miconi.py (the ANNarchy
tutorial's network: N = 200, sparse p = 0.1, eta = 0.5, one OpenMP thread) from its own virtualenv, before
and after spikegym's rows (the machine's speed drifts; the ratio uses the median of all its runs).

On a CPU the agent steps in its compiled kernel (``agents.core.rate_kernels``; "kernel" rows), each trial's
first 999 ms in one call; ``--paths kernel torch`` also times the torch operations (``fused_cpu_step: false``,
the path CUDA runs; "torch" rows). ``--threads`` sets torch's and numba's threads (``agents.set_threads``).

    python benchmarks/dnms_speed.py                                   # spikegym only
    python benchmarks/dnms_speed.py --annarchy-python /tmp/peers/bin/python --repeats 3
    python benchmarks/dnms_speed.py --batch 1 20 100 --threads 1 2 --device cpu cuda --paths kernel torch

Prints a Markdown table (median [min-max] over repeats); --json FILE also writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import torch
from gymnasium.vector import AutoresetMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import envs  # noqa: E402,F401
from agents import make_agent, set_threads  # noqa: E402
from train.loop import rollout  # noqa: E402

PEER = ROOT.parent / "shared" / "peers" / "annarchy_miconi.py"


def spikegym_trials_per_s(batch: int, preset: str, device: str, threads: int, trials: int, path: str) -> float:
    set_threads(threads)
    env = gym.make_vec(
        "spikegym/DNMS-v0",
        num_envs=batch,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    agent = make_agent(
        "miconi",
        env,
        seeds=range(batch),
        device=device,
        config={"preset": preset, "learning_start_trials": 0, "fused_cpu_step": path == "kernel"},
    )
    rollout(env, agent, 1, seed=0)  # warm-up: allocations, first chunk of noise
    start = time.perf_counter()
    result = rollout(env, agent, trials, seed=1)
    if device == "cuda":
        torch.cuda.synchronize()
    env.close()
    return len(result.episodes) / (time.perf_counter() - start)


def annarchy_trials_per_s(python: str, iters: int) -> float:
    out = subprocess.run(
        [python, str(PEER), "--iters", str(iters), "--threads", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["trials_per_s"])


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 20, 100], help="networks (seeds) per run")
    p.add_argument("--preset", nargs="+", default=["annarchy", "paper"], help="Miconi presets to time")
    p.add_argument("--device", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    p.add_argument("--paths", nargs="+", choices=["kernel", "torch"], default=["kernel"], help="CPU step paths")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="CPU threads (torch and numba)")
    p.add_argument("--seconds", type=float, default=10.0, help="target time per measurement")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--annarchy-python", help="python of a venv with ANNarchy (see ../shared/peers/README.md)")
    p.add_argument("--annarchy-iters", type=int, default=200, help="ANNarchy iterations (4 trials each)")
    p.add_argument("--json", help="also write the raw numbers to this file")
    args = p.parse_args()

    rows = []

    def time_annarchy() -> list[float]:
        values = [annarchy_trials_per_s(args.annarchy_python, args.annarchy_iters) for _ in range(args.repeats)]
        print(f"  ANNarchy: {spread(values)} trials/s", file=sys.stderr, flush=True)
        return values

    annarchy = time_annarchy() if args.annarchy_python else []
    for device in args.device:
        for path in args.paths if device == "cpu" else ["torch"]:
            for preset in args.preset:
                for batch in args.batch:
                    for threads in args.threads if device == "cpu" else [1]:
                        probe = spikegym_trials_per_s(batch, preset, device, threads, 1, path)
                        trials = max(1, round(args.seconds * probe / batch))
                        values = [
                            spikegym_trials_per_s(batch, preset, device, threads, trials, path)
                            for _ in range(args.repeats)
                        ]
                        rows.append(
                            {
                                "engine": f"spikegym ({path})",
                                "preset": preset,
                                "batch": batch,
                                "device": device,
                                "threads": threads,
                                "trials_per_s": values,
                            }
                        )
                        print(
                            f"  {path} {preset} B={batch} {device} threads={threads}: {spread(values)} trials/s",
                            file=sys.stderr,
                            flush=True,
                        )
    if args.annarchy_python:
        annarchy += time_annarchy()
        rows.insert(
            0,
            {
                "engine": "ANNarchy 5 (C++, 1 thread)",
                "preset": "annarchy",
                "batch": 1,
                "device": "cpu",
                "threads": 1,
                "trials_per_s": annarchy,
            },
        )

    print(f"\nDNMS trials per second (1000 steps of 1 ms each, learning on), median [min-max] of {args.repeats}")
    if annarchy:
        print(f"(ANNarchy: {len(annarchy)} runs, half before and half after spikegym's)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}\n")
    print("| engine | network | B (seeds) | device | threads | trials/s | vs ANNarchy |")
    print("|---|---|---|---|---|---|---|")
    base = statistics.median(annarchy) if annarchy else None
    for r in rows:
        network = "N=200, p=0.1 (ANNarchy)" if r["preset"] == "annarchy" else "N=200, dense (paper)"
        ratio = f"{statistics.median(r['trials_per_s']) / base:.2f}x" if base else "-"
        print(
            f"| {r['engine']} | {network} | {r['batch']} | {r['device']} | {r['threads']} | "
            f"{spread(r['trials_per_s'])} | {ratio} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
