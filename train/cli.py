"""``python -m train``: run, eval, render and plot spiking agents on spikegym tasks.

python -m train run --task spikegym/DNMS-v0 --agent miconi --episodes 2000 --seeds 20 --out runs/dnms
python -m train run --config miconi2017 --out runs/miconi2017          # a paper preset
python -m train eval runs/dnms --episodes 40
python -m train render --checkpoint runs/dnms --out dnms.gif
python -m train render --task spikegym/BipedalWalker-v0 --expert --out walker.gif   # a task's shipped expert
python -m train plot runs/dnms
python -m train expert --out envs/experts/bipedal_walker_ppo.npz         # train BipedalWalker's PPO expert
python -m train regime-map --out runs/goal-map                           # GOAL's (R, tau*) map, Fig. 2D-F
python -m train goal-trajectories --out runs/goal-trajectories           # GOAL Fig. 2A-C over trajectories 0-9
python -m train sweep --grid miconi-dnms --engine ray --out runs/sweep   # seeds x hyperparameters (train/sweeps/)
python -m train baseline --algo recurrent_ppo --task spikegym/DNMS-v0 --steps 1e6 --out runs/rppo-dnms
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from gymnasium.vector import AutoresetMode
from tqdm.auto import tqdm

import envs  # noqa: F401  (registers the spikegym tasks)
from agents import AGENTS, Agent, env_dt_ms, make_agent, set_threads
from train.checkpoint import (
    checkpoint_run_config,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
    system_info,
)
from train.config import RunConfig, load_config_file, parse_json_object, preset_names
from train.evaluation import EVAL_SEED_BASE, SeededResets, evaluate_predictor, evaluation_seeds, score_summary
from train.loop import rollout
from train.plots import metric_matrix, plot_run
from train.tasks import VALIDATION_SEED_BASE, TaskProfile, task_profile

RESULT_FILES = ("metrics.csv", "summary.json", "checkpoint")
RUN_OUTPUTS = (
    *RESULT_FILES,
    "config.yaml",
    "evaluations.csv",
    "validation.csv",
    "probes.npz",
    "eval.csv",
    "eval_summary.json",
    "score.csv",
    "samples.csv",
    "figures",
)
"""Everything ``run`` (and ``eval``/``plot`` after it) writes into a run directory: cleared by ``--force``."""


class UsageError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


# -- building blocks -----------------------------------------------------------------------------------
def make_env(
    task: str,
    num_envs: int,
    env_kwargs: dict[str, Any],
    episode_seeds: Sequence[int] | None = None,
    **kwargs: Any,
) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``task`` as a SAME_STEP vector env (the task's native one when it has it);
    with ``episode_seeds``, Gymnasium's sync vector env of copies that each play those seeded episodes in turn."""
    if task.split(":")[-1] not in gym.registry:
        known = sorted(k for k in gym.registry if k.startswith("spikegym/"))
        raise UsageError(f"unknown task {task!r}; spikegym tasks: {known}")
    spec = gym.spec(task)
    try:
        if episode_seeds is not None:
            return gym.vector.SyncVectorEnv(
                [lambda: SeededResets(gym.make(task, **env_kwargs, **kwargs), episode_seeds)] * num_envs,
                autoreset_mode=AutoresetMode.SAME_STEP,
            )
        if spec.vector_entry_point is not None:  # the task's natively batched env takes the mode as a kwarg
            return gym.make_vec(
                task,
                num_envs=num_envs,
                vectorization_mode="vector_entry_point",
                autoreset_mode=AutoresetMode.SAME_STEP,
                **env_kwargs,
                **kwargs,
            )
        return gym.make_vec(
            task,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
            **env_kwargs,
            **kwargs,
        )
    except TypeError as exc:
        raise UsageError(f"bad --env-kwargs for {task}: {exc}") from exc


def build_agent(config: RunConfig, env: gym.vector.VectorEnv) -> Agent:
    if config.agent not in AGENTS:
        raise UsageError(f"unknown agent {config.agent!r}; available agents: {sorted(AGENTS)}")
    try:
        return make_agent(config.agent, env, seeds=config.seed_list, device=config.device, config=config.agent_config)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad agent configuration: {exc}") from exc


def probe(agent: Agent, config: RunConfig, profile: TaskProfile) -> dict[str, np.ndarray]:
    """One episode per probe condition with plasticity and exploration off (actions, targets, observations and
    the agent's hidden spikes where it has them, each step); the agent is left as it was."""
    saved = agent.state_dict()
    env = make_env(config.task, agent.batch_size, {**config.env_kwargs, **profile.probe_env_kwargs})
    try:
        result = rollout(
            env,
            agent,
            len(profile.probe_options),
            seed=config.seed_offset if profile.task_from_seed else EVAL_SEED_BASE + config.seed_offset,
            train=False,
            reset_options=list(profile.probe_options),
            record_steps=True,
        )
    finally:
        env.close()
        agent.load_state_dict(saved)
    first = [r for r in result.episodes if r["seed"] == agent.seeds[0]]
    first.sort(key=lambda r: r["episode"])
    kept = ("actions", "targets", "observations", "hidden")
    return {key: np.stack([r[key] for r in first]) for key in kept if key in first[0]}


def evaluate(
    agent: Agent, config: RunConfig, episodes: int, profile: TaskProfile, seed: int, *, validation: bool = False
) -> list[dict[str, Any]]:
    """``episodes`` episodes per network with plasticity and exploration off, on the task's evaluation env
    (``profile.eval_env_kwargs`` over the run's); each row also holds the agent's metrics before them. The agent
    is left as it was. ``validation``: the task's validation episodes (``profile.validation_seeds``, else those of
    ``seed``) instead of its test episodes."""
    if profile.task_from_seed:  # the trained task itself, not a new one
        seed = config.seed_offset
    learned = agent.metrics()
    saved = agent.state_dict()
    env_kwargs = {**config.env_kwargs, **profile.eval_env_kwargs}
    episode_seeds = None
    listed = profile.validation_seeds if validation else profile.eval_seeds
    if listed is not None:  # the task's own list of test (validation) episodes, the same for every network
        if episodes > len(listed):
            kind = "validated" if validation else "evaluated"
            raise UsageError(f"{config.task} is {kind} on at most {len(listed)} seeded episodes")
        episode_seeds, seed = list(listed[:episodes]), None
    env = make_env(config.task, agent.batch_size, env_kwargs, episode_seeds=episode_seeds)
    try:
        rows = rollout(env, agent, episodes, seed=seed, train=False, metrics=profile.episode_metrics).episodes
    finally:
        env.close()
        agent.load_state_dict(saved)
    index = {s: i for i, s in enumerate(agent.seeds)}
    return [{**{k: float(v[index[r["seed"]]]) for k, v in learned.items()}, **r} for r in rows]


def write_csv(path: Path, rows: list[dict[str, Any]], columns: Sequence[str], append: bool = False) -> None:
    new = not append or not path.exists()
    with open(path, "a" if append else "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerows(rows)


def continue_from(agent: Agent, path: str) -> None:
    """Loads the agent state saved at ``path`` (a run or checkpoint directory) into ``agent``, which was built
    from this run's config: its weights and what the rule counts (FOLLOW's learning time) carry on, as FOLLOW's
    ``continueTmax`` does, while the rule's parameters are this run's (a new learning rate, say)."""
    try:
        state = torch.load(find_checkpoint(path) / "state.pt", map_location="cpu", weights_only=True)
        agent.load_state_dict(state)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(f"--continue-from {path}: {exc}") from exc


def summarize(
    config: RunConfig, rows: list[dict[str, Any]], profile: TaskProfile, wall_s: float, steps: int
) -> dict[str, Any]:
    seeds, returns = metric_matrix(rows, "return")
    summary: dict[str, Any] = {
        "config": config.to_dict(),
        "episodes_per_seed": int(returns.shape[1]),
        "seeds": seeds,
        "wall_s": round(wall_s, 2),
        "episodes_per_s": round(returns.size / wall_s, 2) if wall_s > 0 else None,
        "env_steps_per_s": round(steps / wall_s, 1) if wall_s > 0 else None,
        "mean_return_last_100": round(float(np.nanmean(returns[:, -100:])), 4),
        "system": system_info(),
    }
    if profile.summary is not None:
        summary["headline"] = headline(rows, profile)
    return summary


def headline(rows: list[dict[str, Any]], profile: TaskProfile) -> dict[str, Any]:
    """The task's headline figures (``profile.summary``) from the per-episode rows of a run."""
    assert profile.summary is not None
    matrices = {
        m: metric_matrix(rows, m)[1]
        for m in profile.episode_metrics
        if all(m in r for r in rows) and isinstance(rows[0][m], (int, float))
    }
    return profile.summary(matrices)


# -- commands ------------------------------------------------------------------------------------------
def prepare_out(out: Path, outputs: Sequence[str], force: bool) -> None:
    """Creates ``out``; refuses to overwrite results there unless ``force``, which first removes every file a
    run writes (a rerun must not leave an earlier run's files beside its own)."""
    existing = [name for name in RESULT_FILES if (out / name).exists()]
    if existing and not force:
        raise UsageError(f"{out} already holds results ({', '.join(existing)}); choose another --out or add --force")
    if force:
        remove_outputs(out, outputs)
    out.mkdir(parents=True, exist_ok=True)


def remove_outputs(out: Path, outputs: Sequence[str]) -> None:
    """Deletes the files and folders ``outputs`` under ``out`` that exist."""
    for name in outputs:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def score(agent: Agent, config: RunConfig, profile: TaskProfile) -> dict[str, Any]:
    """The evaluation protocol's figures for every network of ``agent`` (``config.score_episodes`` test episodes
    each, through SB3's ``evaluate_policy``); the rows go to score.csv."""
    seeds = [evaluation_seeds(config.task, config.score_episodes, trained_seed=s) for s in agent.seeds]
    try:
        rows = evaluate_predictor(agent, config.task, seeds, config.env_kwargs, labels=agent.seeds, profile=profile)
    except ValueError as exc:
        raise UsageError(f"score_episodes: {exc}") from exc
    return {"rows": rows, **score_summary(rows, profile)}


ProgressCallback = Callable[[int, float], None]
"""Called as episodes finish with the episodes done per network and the median of the curve metric over the last
100 of each network (a sweep reports it to Ray Tune)."""


def cmd_run(args: argparse.Namespace) -> int:
    if args.config:
        values: dict[str, Any] = load_config_file(args.config)
    elif args.continue_from:  # the same task, agent and settings as the run it continues, unless given here
        try:
            values = checkpoint_run_config(args.continue_from)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(f"--continue-from {args.continue_from}: {exc}") from exc
    else:
        values = {}
    for f in fields(RunConfig):
        given = getattr(args, f.name, None)
        if given is None:
            continue
        if f.name in ("env_kwargs", "agent_config"):  # key by key over the config's: the rest of it still holds
            given = {**values.get(f.name, {}), **given}
        values[f.name] = given
    source = args.config or (f"--continue-from {args.continue_from}" if args.continue_from else "command line")
    config = RunConfig.from_dict(values, source=source)
    summary = run_experiment(config, Path(args.out), force=args.force, quiet=args.quiet)
    print_summary(summary, Path(args.out))
    return 0


LONG_EPISODE_MS = 100_000.0
"""Episodes at least this long (simulated) get a progress bar in simulated seconds rather than episodes."""


def run_experiment(
    config: RunConfig,
    out: Path,
    *,
    force: bool = False,
    quiet: bool = False,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Trains ``config``'s agent on its task and writes the run directory ``out`` (metrics.csv, summary.json,
    checkpoint/, probes.npz, and evaluations.csv, samples.csv, score.csv as configured); returns the summary."""
    prepare_out(out, RUN_OUTPUTS, force)
    if config.threads:
        set_threads(config.threads)
    profile = task_profile(config.task)
    env = make_env(config.task, config.seeds, config.env_kwargs)
    agent = build_agent(config, env)
    if config.continue_from:
        continue_from(agent, config.continue_from)
    (out / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))  # once it could be built
    before = probe(agent, config, profile)
    weights_before = agent.plastic_weights()
    columns = ["seed", "episode", "return", "length", *profile.episode_metrics]
    write_csv(out / "metrics.csv", [], columns)
    eval_columns = ["after_episodes", *columns, *agent.metrics()]
    evaluations: list[dict[str, Any]] = []
    best: dict[str, Any] = {}  # keep_best: the agent at its best validation so far

    def run_evaluation(done: int) -> None:
        offset = 0 if profile.fixed_eval_seed else done

        def played(seed: int, validation: bool = False) -> list[dict[str, Any]]:
            episodes = evaluate(agent, config, config.eval_episodes, profile, seed, validation=validation)
            return [{**r, "after_episodes": done} for r in episodes]

        rows = played(EVAL_SEED_BASE + offset)
        evaluations.extend(rows)
        write_csv(out / "evaluations.csv", rows, eval_columns, append=True)
        if config.keep_best:
            checked = played(VALIDATION_SEED_BASE + offset, validation=True)
            write_csv(out / "validation.csv", checked, eval_columns, append=True)
            value = float(np.mean([r[profile.curve_metric] for r in checked]))
            if not best or (value < best["value"] if profile.lower_is_better else value > best["value"]):
                best.update(after_episodes=done, value=value, state=copy.deepcopy(agent.state_dict()))

    if config.eval_every:
        write_csv(out / "evaluations.csv", [], eval_columns)
        if config.keep_best:
            write_csv(out / "validation.csv", [], eval_columns)
        run_evaluation(0)  # before learning
    rows: list[dict[str, Any]] = []
    dt_ms = env_dt_ms(env) or 1.0
    episode_steps = getattr(env, "n_steps", None)
    long_episodes = isinstance(episode_steps, int) and episode_steps * dt_ms >= LONG_EPISODE_MS
    bar = tqdm(  # long episodes (the hour-long spiking experiments) count simulated seconds, the others episodes
        total=config.episodes * episode_steps * dt_ms / 1000.0 if long_episodes else config.episodes,
        unit="s simulated" if long_episodes else "ep",
        desc=f"{config.agent} on {config.task}",
        disable=quiet,
        dynamic_ncols=True,
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s simulated [{elapsed}<{remaining}{postfix}]"
        if long_episodes
        else None,
    )
    state = {"done": 0, "shown_s": 0.0}

    def on_steps(step: int) -> None:
        simulated_s = step * dt_ms / 1000.0
        if simulated_s - state["shown_s"] >= 1.0:
            bar.update(simulated_s - state["shown_s"])
            state["shown_s"] = simulated_s

    def on_episodes(finished: list[dict[str, Any]]) -> None:
        rows.extend(finished)
        write_csv(out / "metrics.csv", finished, columns, append=True)
        done = min(r["episode"] for r in finished) + 1
        if done > state["done"]:
            if not long_episodes:
                bar.update(done - state["done"])
            state["done"] = done
            recent = [r[profile.curve_metric] for r in rows[-100 * config.seeds :]]
            bar.set_postfix({f"median {profile.curve_metric}": f"{np.median(recent):.3f}"})
            if on_progress is not None:
                on_progress(done, float(np.median(recent)))
            if config.eval_every and done % config.eval_every == 0:
                run_evaluation(done)
            if config.checkpoint_every and done % config.checkpoint_every == 0:
                save_checkpoint(out / "checkpoint", agent, config.to_dict())

    sample_every = round(profile.sample_every_s * 1000.0 / dt_ms) if profile.sample_every_s else 0
    try:
        result = rollout(
            env,
            agent,
            config.episodes,
            seed=config.seed_offset,
            train=True,
            metrics=profile.episode_metrics,
            callbacks=[on_episodes],
            sample_every=sample_every,
            on_steps=on_steps if long_episodes else None,
        )
    finally:
        bar.close()
        env.close()
    if best:  # the run ends with the agent of its best validation: it is what is saved, probed and scored
        agent.load_state_dict(best["state"])
    save_checkpoint(out / "checkpoint", agent, config.to_dict())
    after = probe(agent, config, profile)
    np.savez_compressed(
        out / "probes.npz",
        names=np.array(profile.probe_names),
        dt_ms=np.array(dt_ms),
        **{f"before_{k}": v for k, v in before.items()},
        **{f"after_{k}": v for k, v in after.items()},
        **(
            {}
            if weights_before is None
            else {"before_weights": weights_before, "after_weights": agent.plastic_weights()}
        ),
    )
    summary = summarize(config, rows, profile, result.wall_s, result.steps)
    if evaluations and profile.evaluation_summary is not None:
        summary.setdefault("headline", {}).update(profile.evaluation_summary(evaluations))
    if best:
        summary.setdefault("headline", {})["kept_best"] = kept_best_summary(best, evaluations, profile)
    if result.samples:
        samples = [{"t_s": r["step"] * dt_ms / 1000.0, **r} for r in result.samples]
        write_csv(out / "samples.csv", samples, list(samples[0]))
        if profile.sample_summary is not None:
            summary.setdefault("headline", {}).update(profile.sample_summary(samples))
    if config.score_episodes:
        scored = score(agent, config, profile)
        columns = ["seed", "episode", "episode_seed", "return", "length", *profile.episode_metrics]
        write_csv(out / "score.csv", scored.pop("rows"), columns)
        summary["score"] = scored
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def kept_best_summary(best: dict[str, Any], evaluations: list[dict[str, Any]], profile: TaskProfile) -> dict[str, Any]:
    """What ``keep_best`` kept: after how many episodes, its mean validation figure, and its test evaluation there
    (the mean of every evaluation metric over the networks' test episodes)."""
    tested = [r for r in evaluations if r["after_episodes"] == best["after_episodes"]]
    figures = {
        m: round(float(np.mean([float(r[m]) for r in tested])), 4)
        for m in ("return", *profile.episode_metrics)
        if tested and isinstance(tested[0].get(m), (int, float, bool))
    }
    return {
        "after_episodes": best["after_episodes"],
        f"validation_mean_{profile.curve_metric}": round(best["value"], 4),
        "test": figures,
    }


def print_summary(summary: dict[str, Any], out: Path) -> None:
    cfg = summary["config"]
    print(
        f"\n{cfg['agent']} on {cfg['task']}: {len(summary['seeds'])} seed(s) x {summary['episodes_per_seed']} "
        f"episodes in {summary['wall_s']:.1f} s ({summary['episodes_per_s']} episodes/s)"
    )
    for key, value in summary.get("headline", {}).items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "per_seed" or len(summary["seeds"]) <= 5}
        if isinstance(value, (dict, list)):
            print(f"  {key}: {value}")
    print(f"  results in {out}/ (metrics.csv, summary.json, checkpoint/, probes.npz)")


def cmd_eval(args: argparse.Namespace) -> int:
    if (Path(args.checkpoint) / "models").is_dir():
        return eval_baseline(args)
    agent, run_config = load_checkpoint(args.checkpoint, device=args.device)
    config = RunConfig.from_dict({**run_config, "env_kwargs": {**run_config["env_kwargs"], **args.env_kwargs}})
    profile = task_profile(config.task)
    episodes = evaluate(agent, config, args.episodes, profile, EVAL_SEED_BASE + args.seed)
    out = Path(args.out) if args.out else Path(args.checkpoint)
    if out.name == "checkpoint":
        out = out.parent
    out.mkdir(parents=True, exist_ok=True)
    columns = ["seed", "episode", "return", "length", *profile.episode_metrics]
    write_csv(out / "eval.csv", episodes, columns)
    per_seed = {}
    for seed in agent.seeds:
        mine = [e for e in episodes if e["seed"] == seed]
        per_seed[seed] = {"mean_return": float(np.mean([e["return"] for e in mine]))}
        for m in profile.episode_metrics:
            if mine and isinstance(mine[0].get(m), (int, float)):
                per_seed[seed][f"mean_{m}"] = float(np.mean([e[m] for e in mine]))
    summary = {
        "checkpoint": str(args.checkpoint),
        "episodes_per_seed": args.episodes,
        "per_seed": per_seed,
        "mean_return": float(np.mean([e["return"] for e in episodes])),
    }
    (out / "eval_summary.json").write_text(json.dumps(summary, indent=2))
    print(
        f"evaluated {len(agent.seeds)} network(s) x {args.episodes} episodes, plasticity off, deterministic "
        "actions (exploration noise off; a spiking network's background noise is part of the model and stays):"
    )
    for seed, stats in per_seed.items():
        print(f"  seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in stats.items()))
    print(f"  written to {out / 'eval.csv'} and {out / 'eval_summary.json'}")
    return 0


def eval_baseline(args: argparse.Namespace) -> int:
    """``eval`` of a baseline run: its saved SB3 models on the task's test episodes (the evaluation protocol)."""
    from train.baseline import evaluate_baseline

    rows = evaluate_baseline(args.checkpoint, args.episodes, device=args.device or "cpu")
    config = json.loads((Path(args.checkpoint) / "summary.json").read_text())["config"]
    profile = task_profile(config["task"])
    out = Path(args.out) if args.out else Path(args.checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "eval.csv", rows, ["seed", "episode", "episode_seed", "return", "length", *profile.episode_metrics])
    summary = {"checkpoint": str(args.checkpoint), **score_summary(rows, profile)}
    (out / "eval_summary.json").write_text(json.dumps(summary, indent=2))
    print(f"evaluated {len(summary['per_seed'])} {config['algo']} model(s) x {args.episodes} test episodes:")
    for entry in summary["per_seed"]:
        print(f"  seed {entry['seed']}: " + ", ".join(f"{k} {v}" for k, v in entry.items() if k != "seed"))
    print(f"  written to {out / 'eval.csv'} and {out / 'eval_summary.json'}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    if args.checkpoint:
        agent, run_config = load_checkpoint(args.checkpoint, device="cpu")
        task = run_config["task"]  # shown as it is evaluated (closed loop: the agent in control)
        env_kwargs = {**run_config.get("env_kwargs", {}), **task_profile(task).eval_env_kwargs}
        if agent.batch_size > 1:  # draw the network of the chosen seed alone
            index = agent.seeds.index(args.network_seed) if args.network_seed in agent.seeds else 0
            single, _ = load_checkpoint(args.checkpoint, device="cpu")
            state = single.select_networks([index])
            env = gym.make(task, **env_kwargs)
            agent = make_agent(run_config["agent"], env, seeds=state["seeds"], config=state["extra"].get("config"))
            env.close()
            agent.load_state_dict(state)
        agent.eval()  # as evaluated: plasticity, exploration and FOLLOW's error feedback off
    else:
        if not args.task:
            raise UsageError("render needs --checkpoint DIR (a trained agent) or --task ID (a random agent)")
        agent, task, env_kwargs = None, args.task, args.env_kwargs
    if args.expert and agent is not None:
        raise UsageError("--expert shows the task's expert: use it with --task, not --checkpoint")
    to_file = args.out is not None
    if to_file and Path(args.out).suffix.lower() not in (".gif", ".mp4", ".png"):
        raise UsageError(f"--out must end in .gif, .mp4 or .png (one frame), got {args.out}")
    if task.split(":")[-1] not in gym.registry:
        raise UsageError(f"unknown task {task!r}")
    env = gym.make(task, render_mode="rgb_array" if to_file else "human", **env_kwargs)
    frames = []
    try:
        for episode in range(args.episodes):
            seed = EVAL_SEED_BASE + args.seed + episode
            test_seeds = task_profile(task).eval_seeds
            if test_seeds is not None:  # the task's own test episodes: --seed k shows test episode k
                seed = test_seeds[(args.seed + episode) % len(test_seeds)]
            if agent is not None and task_profile(task).task_from_seed:
                seed = agent.seeds[0]  # the trajectory this network learned
            obs, info = env.reset(seed=seed)
            if args.expert and "expert_action" not in info:
                raise UsageError(f"{task} ships no expert (no info['expert_action']); closed-loop tasks do")
            start, done = True, False
            if to_file:
                frames.append(env.render())
            step, episode_return = 0, 0.0
            while not done:
                if args.expert:
                    action = info["expert_action"]
                elif agent is None:
                    action = env.action_space.sample()
                else:
                    action, _ = agent.predict(obs, episode_start=np.array([start]), deterministic=True)
                obs, reward, terminated, truncated, info = env.step(action)
                start, done = False, terminated or truncated
                step, episode_return = step + 1, episode_return + float(reward)
                if to_file and (step % args.frame_every == 0 or done):
                    frames.append(env.render())
            success = f", success {bool(info['is_success'])}" if "is_success" in info else ""
            print(f"episode {episode} (env seed {seed}): return {episode_return:.6g}, {step} steps{success}")
    finally:
        env.close()
    if to_file:
        write_video(Path(args.out), frames, fps=args.fps)
        print(f"wrote {len(frames)} frames to {args.out}")
    return 0


def write_video(path: Path, frames: list[np.ndarray], fps: int) -> None:
    """A .gif or .mp4 of ``frames``; a .png holds the middle frame only (a still for a README)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        from PIL import Image

        Image.fromarray(frames[len(frames) // 2]).save(path)
        return
    if path.suffix.lower() == ".gif":
        from PIL import Image

        images = [Image.fromarray(f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
        return
    try:
        import imageio.v2 as imageio
    except ImportError as exc:
        raise UsageError("writing .mp4 needs `pip install imageio imageio-ffmpeg`; or write a .gif") from exc
    imageio.mimwrite(path, frames, fps=fps)


def cmd_plot(args: argparse.Namespace) -> int:
    for path in plot_run(args.run_dir):
        print(f"wrote {path}")
    return 0


def cmd_regime_map(args: argparse.Namespace) -> int:
    from train.goal_map import RANKS, TIMESCALES, run_map
    from train.plots import plot_regime_map

    out = _goal_batch_out(args, "map.npz", "a regime map")
    summary = run_map(
        out,
        ranks=_ranks(args.ranks, RANKS),
        timescales=tuple(args.timescales) if args.timescales else TIMESCALES,
        seed=args.seed,
        **_goal_batch_options(args),
    )
    figure = plot_regime_map(out)
    print(
        f"\nregime map: {summary['networks']} networks x {summary['epochs']} epochs in {summary['wall_s']:.0f} s; "
        f"results in {out}/ (map.npz, summary.json), heat maps in {figure}"
    )
    return 0


def _goal_batch_out(args: argparse.Namespace, result: str, what: str) -> Path:
    """regime-map's and goal-trajectories' output folder (refused if it holds ``result`` without --force), with
    the threads set."""
    out = Path(args.out)
    if (out / result).exists() and not args.force:
        raise UsageError(f"{out} already holds {what}; choose another --out or add --force")
    if args.threads:
        set_threads(args.threads)
    return out


def _goal_batch_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``_add_goal_batch_arguments`` as run_map's and run_trajectories' keywords."""
    names = ("epochs", "n_units", "n_steps", "n_outputs", "update", "recurrent_lr", "device", "quiet")
    return {name: getattr(args, name) for name in names}


def _ranks(values: list[str] | None, default: Any) -> Any:
    if not values:
        return default
    try:
        return tuple(None if r.lower() == "ltts" else int(r) for r in values)
    except ValueError as exc:
        raise UsageError(f"--ranks takes integers and 'ltts', got {values}") from exc


def _integers(values: list[str]) -> list[int]:
    """'0-9' and '12' style items, in order, each once."""
    seen: list[int] = []
    for item in values:
        first, _, last = item.partition("-")
        try:
            span = range(int(first), int(last or first) + 1)
        except ValueError as exc:
            raise UsageError(f"--trajectories takes integers and ranges like 0-9, got {item!r}") from exc
        if not span:
            raise UsageError(f"--trajectories: empty range {item!r}")
        seen += [k for k in span if k not in seen]
    return seen


def cmd_goal_trajectories(args: argparse.Namespace) -> int:
    from train.goal_map import run_trajectories
    from train.plots import plot_goal_trajectories

    out = _goal_batch_out(args, "trajectories.npz", "a trajectory study")
    summary = run_trajectories(
        out,
        trajectories=_integers(args.trajectories),
        ranks=_ranks(args.ranks, None),
        target_timescale=args.tau,
        **_goal_batch_options(args),
    )
    figure = plot_goal_trajectories(out)
    print(f"\n{summary['networks']} networks x {summary['epochs']} epochs in {summary['wall_s']:.0f} s; "
          f"readout-only MSE median {summary['readout_only_mse_median']} (percentiles 10, 25, 75, 90: "
          f"{summary['readout_only_mse_percentiles_10_25_75_90']})")  # fmt: skip
    for label, rule in summary["rules"].items() if summary["epochs_done"] else ():
        name = "LTTS" if label == "LTTS" else f"R = {label}"
        print(
            f"  {name}: final MSE median {rule['final_mse_median']} (quartiles {rule['final_mse_quartiles']}), "
            f"<= 0.01 on {rule['final_mse_at_most_0.01']} of {len(summary['trajectories'])}; final spike error "
            f"median {rule['final_spike_error_median']}"
        )
    print(f"results in {out}/ (trajectories.npz, summary.json), curves in {figure}")
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from train.baseline import BASELINE_OUTPUTS, BaselineConfig, train_baseline

    values = {f.name: getattr(args, f.name) for f in fields(BaselineConfig) if getattr(args, f.name) is not None}
    config = BaselineConfig.from_dict(values)
    out = Path(args.out)
    prepare_out(out, BASELINE_OUTPUTS, args.force)
    (out / "config.yaml").write_text(yaml.safe_dump({"kind": "baseline", **config.to_dict()}, sort_keys=False))
    summary = train_baseline(config, out, quiet=args.quiet)
    print(
        f"\n{config.algo} on {config.task}: {config.seeds} seed(s) x {config.steps} steps in {summary['wall_s']:.1f} s "
        f"({summary['env_steps_per_s']} steps/s); episodes per seed {summary['episodes_per_seed']}; "
        f"mean return over the last 100 {summary['mean_return_last_100']}"
    )
    if "score" in summary:
        score = summary["score"]
        print(
            f"  test score ({score['episodes_per_seed']} test episodes per seed, {score['protocol']}): "
            f"{score['mean_return']} +- {score['std_return']}"
        )
    print(f"  results in {out}/ (metrics.csv, summary.json, score.csv, models/)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    print("tasks:  " + ", ".join(sorted(k for k in gym.registry if k.startswith("spikegym/"))))
    print("agents: " + ", ".join(sorted(AGENTS)))
    print("config presets (--config): " + ", ".join(preset_names()))
    return 0


# -- argument parsing ----------------------------------------------------------------------------------
def count(text: str) -> int:
    """An argparse type for a whole number, also written as 1e6 or 200_000."""
    try:
        value = float(text.replace("_", ""))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if value != int(value):
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    return int(value)


def json_argument(flag: str):
    """An argparse type parsing a JSON object, with the parse error as argparse's message."""

    def parse(text: str) -> dict[str, Any]:
        try:
            return parse_json_object(text, flag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parse.__name__ = "JSON object"
    return parse


def _add_goal_batch_arguments(parser: argparse.ArgumentParser, what: str, update: str) -> None:
    """The options regime-map and goal-trajectories share: the network, the budget, the update, the machine."""
    parser.add_argument("--epochs", type=int, default=10_000, help="recurrent epochs per network (default 10000)")
    parser.add_argument("--n-units", type=int, default=150, help="N (default 150)")
    parser.add_argument("--n-steps", type=int, default=150, help="T, steps per episode (default 150)")
    parser.add_argument("--n-outputs", type=int, default=3, help="O (default 3)")
    parser.add_argument(
        "--update",
        choices=("episode", "online"),
        default=update,
        help=f"episode (the update summed per episode, fast) or online (every step, as GOAL's code); default {update}",
    )
    parser.add_argument(
        "--recurrent-lr", type=float, help="eta_rec of every network, GOAL's -Rlr (default 5 / sqrt(N))"
    )
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (torch's and numba's); 0: their defaults")
    parser.add_argument("--force", action="store_true", help=f"overwrite {what} already in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train an agent on a task (writes metrics, summary, checkpoint, probes)")
    run.add_argument("--config", help=f"a preset name ({', '.join(preset_names())}) or a YAML file")
    run.add_argument("--out", required=True, help="run directory to write")
    run.add_argument("--force", action="store_true", help="overwrite results already in --out")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    for f in fields(RunConfig):
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "str": str}.get(str(f.type).split(" ")[0], str)
        if f.name in ("env_kwargs", "agent_config"):
            run.add_argument(flag, dest=f.name, type=json_argument(flag), help=f.metadata["help"])
        elif str(f.type) == "bool":
            run.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, help=f.metadata["help"])
        else:
            run.add_argument(flag, dest=f.name, type=kind, help=f"{f.metadata['help']} (default {f.default!r})")

    ev = sub.add_parser("eval", help="evaluate a checkpoint with plasticity off on fresh env seeds")
    ev.add_argument("checkpoint", help="a run directory or its checkpoint/ directory")
    ev.add_argument("--episodes", type=int, default=20, help="episodes per network")
    ev.add_argument("--seed", type=int, default=0, help="evaluation env seed offset")
    ev.add_argument("--device", default=None, help="torch device (default: the run's)")
    ev.add_argument("--out", default=None, help="directory for eval.csv (default: the run directory)")
    ev.add_argument(
        "--env-kwargs",
        type=json_argument("--env-kwargs"),
        default={},
        help='JSON object over the run\'s env arguments, e.g. \'{"split": "test"}\' for held-out data',
    )

    rn = sub.add_parser("render", help="show an episode in a window, or write it to a .gif/.mp4")
    rn.add_argument("--checkpoint", help="a trained run directory (its task and agent are used)")
    rn.add_argument("--task", help="a task id, to watch a random agent")
    rn.add_argument(
        "--env-kwargs",
        type=json_argument("--env-kwargs"),
        default={},
        help="JSON object passed to the env (with --task)",
    )
    rn.add_argument(
        "--expert",
        action="store_true",
        help="with --task: the task's shipped expert acts (closed-loop tasks: info['expert_action'])",
    )
    rn.add_argument(
        "--out", help="write frames to this .gif or .mp4 (or the middle frame to a .png) instead of opening a window"
    )
    rn.add_argument("--episodes", type=int, default=1)
    rn.add_argument("--seed", type=int, default=0, help="env seed offset (closed-loop tasks: the test episode's index)")
    rn.add_argument("--network-seed", type=int, default=None, help="which network of a batched run to show")
    rn.add_argument("--frame-every", type=int, default=20, help="env steps per video frame")
    rn.add_argument("--fps", type=int, default=25)

    pl = sub.add_parser("plot", help="learning curves and outputs against targets for a run directory")
    pl.add_argument("run_dir")

    bl = sub.add_parser("baseline", help="train stable-baselines3 (PPO, RecurrentPPO, SAC) on a task, unchanged")
    bl.add_argument("--out", required=True, help="run directory to write")
    bl.add_argument("--force", action="store_true", help="overwrite results already in --out")
    bl.add_argument("--quiet", action="store_true", help="no progress bar")
    from train.baseline import ALGORITHMS, BaselineConfig

    for f in fields(BaselineConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.name in ("env_kwargs", "hyperparams"):
            bl.add_argument(flag, dest=f.name, type=json_argument(flag), help=f.metadata["help"])
        elif f.name == "algo":
            bl.add_argument(flag, dest=f.name, choices=sorted(ALGORITHMS), help=f"{f.metadata['help']} (default ppo)")
        else:
            kind = count if f.type in ("int", int) else str
            bl.add_argument(flag, dest=f.name, type=kind, help=f"{f.metadata['help']} (default {f.default!r})")

    from train.leaderboard import add_leaderboard_parser  # imported here: train.leaderboard imports this module

    add_leaderboard_parser(sub)
    sub.add_parser("list", help="the registered tasks, agents and config presets")
    sub.add_parser("expert", help="train the PPO expert spikegym/BipedalWalker-v0 ships (see train/expert.py)")

    rm = sub.add_parser("regime-map", help="GOAL's map: rank R x target timescale tau*, one batch, three heat maps")
    rm.add_argument("--out", required=True, help="directory for map.npz, summary.json and figures/")
    rm.add_argument("--ranks", nargs="+", help="feedback ranks, 'ltts' for LTTS (default: the paper's 10 and LTTS)")
    rm.add_argument("--timescales", nargs="+", type=float, help="tau* in steps (default: the paper's 10, 1-100)")
    rm.add_argument("--seed", type=int, default=0, help="the trajectory's seed; networks get seed*10000 + cell")
    _add_goal_batch_arguments(rm, "a map", "episode")

    gt = sub.add_parser(
        "goal-trajectories", help="GOAL's Fig. 2A-C rules (high rank, low rank, LTTS) on many trajectories, one batch"
    )
    gt.add_argument("--out", required=True, help="directory for trajectories.npz, summary.json and figures/")
    gt.add_argument(
        "--trajectories", nargs="+", default=["0-9"], help="the trajectories' seeds: integers or ranges (default 0-9)"
    )
    gt.add_argument("--ranks", nargs="+", help="feedback ranks, 'ltts' for LTTS (default: N, O and LTTS)")
    gt.add_argument("--tau", type=float, default=4.6, help="tau* = tau_o in steps (default 4.6, the paper's panels)")
    _add_goal_batch_arguments(gt, "a study", "online")

    from train.sweep import add_sweep_parser  # imported here: train.sweep imports this module

    add_sweep_parser(sub)
    return p


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from train import leaderboard  # imported here: train.leaderboard imports this module

    return leaderboard.cmd_leaderboard(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from train import sweep  # imported here: train.sweep imports this module

    return sweep.cmd_sweep(args)


COMMANDS = {
    "run": cmd_run,
    "eval": cmd_eval,
    "render": cmd_render,
    "plot": cmd_plot,
    "list": cmd_list,
    "regime-map": cmd_regime_map,
    "goal-trajectories": cmd_goal_trajectories,
    "sweep": cmd_sweep,
    "baseline": cmd_baseline,
    "leaderboard": cmd_leaderboard,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["expert"]:  # its own options: python -m train expert --help
        from train.expert import main as expert_main

        return expert_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
