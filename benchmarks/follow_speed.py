"""Wall seconds per simulated second of FOLLOW (Gilra & Gerstner 2017), beside Nengo on the same network.

spikegym's ``follow`` agent learns the van der Pol forward model (spikegym/VanDerPol-v0, its native vector env)
with N + N neurons, learning and error feedback on, through the real rollout loop, in two implementations of
the same arithmetic: the fused CPU kernel (``agents.core.nef_kernels``, the default on a CPU) and the torch
operations (``fused_cpu_step: false``, what CUDA runs). Both keep the weights as the exact low-rank product
``w = (nu e / R) M``. Nengo 4.1 (../shared/peers/nengo_follow.py, run from its own virtualenv) simulates the
same architecture with dense N x N weights and its PES rule.

    python benchmarks/follow_speed.py                                   # spikegym only
    python benchmarks/follow_speed.py --nengo-python /tmp/peers/bin/python --repeats 3

Prints a Markdown table (median [min-max] over repeats); --json FILE also writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import envs  # noqa: E402,F401
from agents import make_agent  # noqa: E402
from train.cli import make_env  # noqa: E402
from train.loop import rollout  # noqa: E402

PEER = ROOT.parent / "shared" / "peers" / "nengo_follow.py"


def spikegym_wall_per_sim_s(n: int, batch: int, sim_s: float, device: str, fused: bool) -> float:
    """One run of ``sim_s`` seconds (trials of 4 s; the first 0.5 s is not timed: kernel compile, warm-up)."""
    env = make_env("spikegym/VanDerPol-v0", batch, {"trial_ms": 500.0 * round(2 * sim_s), "clamp_ms": 0.0})
    config = {"n_input_neurons": n, "n_neurons": n, "fused_cpu_step": fused}
    learner = make_agent("follow", env, seeds=range(batch), device=device, config=config)
    warm = make_env("spikegym/VanDerPol-v0", batch, {"trial_ms": 500.0, "clamp_ms": 0.0})
    rollout(warm, learner, 1, seed=1)
    start = time.perf_counter()
    rollout(env, learner, 1, seed=0)
    if device == "cuda":
        torch.cuda.synchronize()
    env.close()
    return (time.perf_counter() - start) / (500.0 * round(2 * sim_s) / 1000.0)


def nengo_wall_per_sim_s(python: str, n: int, sim_s: float) -> float:
    out = subprocess.run(
        [python, str(PEER), "--N", str(n), "--sim", str(sim_s)],
        capture_output=True,
        text=True,
        check=True,
        timeout=7200,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["wall_per_sim_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 3000], help="neurons per ensemble")
    parser.add_argument("--sim", type=float, default=8.0, help="simulated seconds per spikegym run")
    parser.add_argument("--nengo-sim", type=float, default=2.0, help="simulated seconds per Nengo run")
    parser.add_argument("--batch", type=int, nargs="+", default=[1], help="networks per spikegym run")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu (both implementations) or cuda (torch operations)")
    parser.add_argument("--nengo-python", help="python of a virtualenv with nengo (see ../shared/peers)")
    parser.add_argument("--json", help="also write the raw numbers here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    implementations = (
        [("fused CPU kernel", True), ("torch operations", False)]
        if args.device == "cpu"
        else [("torch operations", False)]
    )
    runs: list[dict] = []
    for n in args.sizes:
        for batch in args.batch:
            for label, fused in implementations:
                times = [spikegym_wall_per_sim_s(n, batch, args.sim, args.device, fused) for _ in range(args.repeats)]
                runs.append({"name": f"spikegym follow, {label} ({args.device})", "n": n, "batch": batch, "t": times})
        if args.nengo_python:
            times = [nengo_wall_per_sim_s(args.nengo_python, n, args.nengo_sim) for _ in range(args.repeats)]
            runs.append({"name": "Nengo 4.1 reference backend", "n": n, "batch": 1, "t": times})

    nengo = {r["n"]: statistics.median(r["t"]) for r in runs if r["name"].startswith("Nengo")}
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s)")
    print("| implementation | N + N | B | wall s per simulated s | network-s per wall s | vs Nengo |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in runs:
        med = statistics.median(r["t"])
        spread = f" [{min(r['t']):.3f}-{max(r['t']):.3f}]" if len(r["t"]) > 1 else ""
        ratio = (
            f"{nengo[r['n']] * r['batch'] / med:.0f}x" if r["n"] in nengo and not r["name"].startswith("Nengo") else ""
        )
        size = f"{r['n']} + {r['n']}"
        print(f"| {r['name']} | {size} | {r['batch']} | {med:.3f}{spread} | {r['batch'] / med:.2f} | {ratio} |")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
