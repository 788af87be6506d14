"""GOAL recurrent epochs per second: N = 150 and 500, one network and a batch, CPU (and CUDA when present).

One epoch is one T = 150-step episode of the trajectory task with learning on, as GOAL counts them (its own
PyTorch code runs about 6.5-10 recurrent epochs per second for N = 150 on this machine's CPU). Three ways:

* ``fast``: ``GOALAgent.train_episodes`` (whole episodes without an env; the same maths, tested equal);
* ``loop``: the real rollout loop through ``spikegym/Trajectory-v0`` (what ``python -m train run`` does);
* ``update``: ``online`` (W changes every step, GOAL's code) or ``episode`` (the same terms summed).

For a batch of B networks the figure is network-epochs per second (B x epochs / wall time).

    python benchmarks/goal_speed.py                                  # the default table, CPU, 1 thread
    python benchmarks/goal_speed.py --n-units 150 --batch 1 110 --epochs 50 --device cpu cuda

Prints a Markdown table (median [min-max] over repeats); --json FILE also writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import envs  # noqa: E402,F401
from agents import make_agent  # noqa: E402
from envs.trajectory import clock_inputs  # noqa: E402
from train.loop import rollout  # noqa: E402

T = 150


def network_epochs_per_s(
    n_units: int, batch: int, update: str, path: str, device: str, threads: int, epochs: int
) -> float:
    torch.set_num_threads(threads)
    config = {"n_units": n_units, "feedback_rank": "full", "update": update}
    if path == "fast":
        env = gym.make("spikegym/Trajectory-v0", n_steps=T)
        env.reset(seed=0)
        target = (env.unwrapped.trajectory / env.unwrapped.output_scale).astype(np.float32)
        agent = make_agent("goal", env, seeds=range(batch), device=device, config=config)
        agent.train_episodes(clock_inputs(5, T), target, 2)  # the teacher episode, readout, warm-up
        start = time.perf_counter()
        agent.train_episodes(clock_inputs(5, T), target, epochs)
    else:
        env = gym.make_vec("spikegym/Trajectory-v0", num_envs=batch, n_steps=T, trajectory_seed=0)
        agent = make_agent("goal", env, seeds=range(batch), device=device, config=config)
        rollout(env, agent, 3, seed=0)  # the teacher episode, readout, warm-up
        start = time.perf_counter()
        rollout(env, agent, epochs, seed=0)
    if device == "cuda":
        torch.cuda.synchronize()
    env.close()
    return batch * epochs / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n-units", type=int, nargs="+", default=[150, 500])
    p.add_argument("--batch", type=int, nargs="+", default=[1, 110])
    p.add_argument("--update", nargs="+", default=["online", "episode"], choices=["online", "episode"])
    p.add_argument("--path", nargs="+", default=["fast", "loop"], choices=["fast", "loop"])
    p.add_argument("--device", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=20, help="timed epochs per measurement (per network)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--json", help="also write the raw numbers here")
    args = p.parse_args(argv)

    rows = []
    print(
        f"GOAL epochs per second, T = {T}, {args.threads} CPU thread(s), {platform.processor() or platform.machine()}"
    )
    print("\n| N | B | update | path | device | network-epochs/s | epochs/s per network |")
    print("|---|---|---|---|---|---|---|")
    for device in args.device:
        for n in args.n_units:
            for batch in args.batch:
                for update in args.update:
                    for path in args.path:
                        if path == "loop" and batch > 16:
                            continue  # the loop's per-step overhead is measured at small B
                        epochs = max(2, args.epochs // (4 if batch > 16 else 1))
                        values = [
                            network_epochs_per_s(n, batch, update, path, device, args.threads, epochs)
                            for _ in range(args.repeats)
                        ]
                        med = statistics.median(values)
                        spread = f" [{min(values):.1f}-{max(values):.1f}]" if len(values) > 1 else ""
                        print(
                            f"| {n} | {batch} | {update} | {path} | {device} | {med:.1f}{spread} | {med / batch:.2f} |",
                            flush=True,
                        )
                        rows.append(
                            {
                                "n_units": n,
                                "batch": batch,
                                "update": update,
                                "path": path,
                                "device": device,
                                "network_epochs_per_s": values,
                            }
                        )
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
