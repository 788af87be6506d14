"""Wall seconds per simulated second of the spiking networks, beside Brian2 on the same workload.

* DA-STDP (Izhikevich 2007): the 1000-neuron network (800 RS + 200 FS, 100 synapses each, delays 1-20 ms as
  in the Brian2 peer script ../shared/peers/brian2_izh_dastdp.py) on spikegym/DistalReward-v0, B networks
  batched as one computation: the fused kernels with the loop's 1-s blocks (the default: the task's rewards
  come 1-3 s late, so the loop hands the agent 1000 ms at a time), the fused kernels one ms per step, and the
  torch operations; Brian2 2.9 with its cython runtime and its C++ standalone device, run from its own
  virtualenv.
* R-STDP (Legenstein 2008, computer simulation 1): the 4000-neuron conductance-based network on
  spikegym/Biofeedback-v0 with event-driven eligibility traces.
* R-STDP (Legenstein 2008, computer simulation 5): the 540-neuron liquid and its readout on
  spikegym/SpokenDigits-v0, 2.5-s trials, B networks batched.

Everything runs through the real rollout loop, learning on, after a 1-s warm-up run of the same configuration
(numba's kernels compiled or loaded from its cache, which a short run would otherwise time). ``--threads``
sets torch's and numba's threads (the batched blocks run one network per numba thread).

    python benchmarks/spiking_speed.py                                  # spikegym only
    python benchmarks/spiking_speed.py --brian2-python /tmp/peers/bin/python --sim 10 --repeats 3

Prints a Markdown table (median [min-max] over repeats); --json FILE also writes the raw numbers.
Throughput is network-seconds simulated per wall second (B / wall-per-sim).
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

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import envs  # noqa: E402,F401
from agents import make_agent, set_threads  # noqa: E402
from train.cli import make_env  # noqa: E402
from train.loop import rollout  # noqa: E402

PEER = ROOT.parent / "shared" / "peers" / "brian2_izh_dastdp.py"


def spikegym_wall_per_sim_s(
    task: str,
    agent: str,
    config: dict,
    batch: int,
    sim_s: float,
    device: str,
    trials: bool = False,
    blocks: bool = True,
) -> float:
    """Wall seconds per simulated second of one rollout, learning on: one episode of ``sim_s`` or, for a trial
    task (``trials``), as many of its trials as fill ``sim_s``; ``blocks`` as ``rollout``'s."""
    env = make_env(task, batch, {} if trials else {"duration_s": sim_s})
    episodes = round(sim_s / env_duration_s(env)) if trials else 1
    learner = make_agent(agent, env, seeds=range(batch), device=device, config=config)
    start = time.perf_counter()
    rollout(env, learner, episodes, seed=0, blocks=blocks)
    if device == "cuda":
        torch.cuda.synchronize()
    env.close()
    return (time.perf_counter() - start) / (episodes * env_duration_s(env) if trials else sim_s)


class IdleAgent:
    """The least an agent can be for the rollout loop: no network, no spikes (the loop's and the env's cost)."""

    training = True

    def __init__(self, env) -> None:
        self.batch_size, self.seeds = env.num_envs, list(range(env.num_envs))
        self.action = np.zeros((env.num_envs, *env.single_action_space.shape), dtype=np.int8)

    def train(self, mode: bool = True) -> IdleAgent:
        return self

    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        return self.action, None

    def observe(self, *args) -> dict:
        return {}


def loop_floor_wall_per_sim_s(task: str, batch: int, sim_s: float) -> float:
    """Wall seconds per simulated second of one rollout of ``task`` with ``IdleAgent``."""
    env = make_env(task, batch, {"duration_s": sim_s})
    start = time.perf_counter()
    rollout(env, IdleAgent(env), 1, seed=0)
    env.close()
    return (time.perf_counter() - start) / sim_s


def env_duration_s(env) -> float:
    """A trial task's trial length in seconds."""
    return env.n_steps * env.dt_ms / 1000.0


def brian2_wall_per_sim_s(python: str, device: str, sim_s: float) -> float:
    out = subprocess.run(
        [python, str(PEER), "--sim", str(sim_s), "--device", device, "--upd-ms", "10"],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["wall_per_sim_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sim", type=float, default=10.0, help="simulated seconds per DA-STDP run")
    parser.add_argument("--biofeedback-sim", type=float, default=5.0, help="simulated seconds per R-STDP run")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 5], help="DA-STDP networks per run")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--brian2-python", help="python of a virtualenv with brian2 (see ../shared/peers)")
    parser.add_argument("--skip-biofeedback", action="store_true")
    parser.add_argument("--liquid-sim", type=float, default=5.0, help="simulated seconds of spoken-digit trials")
    parser.add_argument("--liquid-batch", type=int, default=5, help="liquid networks per run")
    parser.add_argument("--skip-liquid", action="store_true")
    parser.add_argument("--json", help="also write the raw numbers here")
    args = parser.parse_args()
    set_threads(args.threads)

    runs: list[tuple[str, int, list[float]]] = []
    for batch in args.batch:
        # the fused CPU kernels in blocks and one ms at a time, then torch's operations (CUDA's path)
        ways = [(True, True), (True, False), (False, False)] if args.device == "cpu" else [(False, True)]
        for fused, blocks in ways:
            config = {"preset": "izhikevich2007", "max_delay_ms": 20, "fused_cpu_step": fused}
            task = "spikegym/DistalReward-v0"
            spikegym_wall_per_sim_s(task, "dastdp", config, batch, 1.0, args.device, blocks=blocks)  # warm-up
            times = [
                spikegym_wall_per_sim_s(task, "dastdp", config, batch, args.sim, args.device, blocks=blocks)
                for _ in range(args.repeats)
            ]
            how = "torch operations" if not fused else "fused kernels, " + ("1-s blocks" if blocks else "1 ms per step")
            name = f"spikegym dastdp, 1000 Izhikevich neurons, {how} ({args.device}, {args.threads} thread)"
            runs.append((name, batch, times))
        times = [loop_floor_wall_per_sim_s("spikegym/DistalReward-v0", batch, args.sim) for _ in range(args.repeats)]
        runs.append(("the rollout loop and the env alone (an agent that does nothing)", batch, times))
    if args.brian2_python:
        for device in ("runtime", "cpp_standalone"):
            times = [brian2_wall_per_sim_s(args.brian2_python, device, args.sim) for _ in range(args.repeats)]
            runs.append((f"Brian2 2.9 {device}, same network", 1, times))
    if not args.skip_biofeedback:
        times = [
            spikegym_wall_per_sim_s(
                "spikegym/Biofeedback-v0",
                "rstdp",
                {"preset": "legenstein2008-biofeedback"},
                1,
                args.biofeedback_sim,
                args.device,
            )
            for _ in range(args.repeats)
        ]
        runs.append((f"spikegym rstdp, 4000 conductance LIF neurons ({args.device}, {args.threads} thread)", 1, times))

    if not args.skip_liquid:
        times = [
            spikegym_wall_per_sim_s(
                "spikegym/SpokenDigits-v0",
                "rstdp",
                {"preset": "legenstein2008-spoken-digits"},
                args.liquid_batch,
                args.liquid_sim,
                args.device,
                trials=True,
            )
            for _ in range(args.repeats)
        ]
        runs.append(
            (
                f"spikegym rstdp, 540-neuron liquid + readout ({args.device}, {args.threads} thread)",
                args.liquid_batch,
                times,
            )
        )

    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}")
    print("| implementation | B | wall s per simulated s | network-s per wall s |")
    print("|---|---:|---:|---:|")
    for name, batch, times in runs:
        med = statistics.median(times)
        spread = f" [{min(times):.3g}-{max(times):.3g}]" if len(times) > 1 else ""
        print(f"| {name} | {batch} | {med:.3g}{spread} | {batch / med:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps([{"name": n, "batch": b, "wall_per_sim_s": t} for n, b, t in runs]))


if __name__ == "__main__":
    main()
