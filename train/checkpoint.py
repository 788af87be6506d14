"""Checkpoints: a directory that reloads to the identical agent.

Layout (stable-baselines3's idea, without pickled objects)::

    checkpoint/
      config.json       the run config (task, env kwargs, agent name and parameters, seeds)
      state.pt          torch.save of the agent's state dict: tensors, numbers, strings only
      version.txt       spikegym version that wrote it
      system_info.txt   Python, torch, numpy, gymnasium versions and the platform

A save goes to a temporary directory first and replaces the old checkpoint only when complete.
"""

from __future__ import annotations

import json
import platform
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents import Agent, make_agent


def spikegym_version() -> str:
    try:
        return version("spikegym")
    except PackageNotFoundError:
        return "unknown"


def system_info() -> dict[str, str]:
    return {
        "spikegym": spikegym_version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "cuda": str(torch.cuda.is_available()),
    }


def save_checkpoint(path: str | Path, agent: Agent, run_config: dict[str, Any]) -> Path:
    """Writes ``agent`` and the config that built it to the directory ``path``; returns it."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "config.json").write_text(json.dumps(run_config, indent=2, default=str))
    torch.save(agent.state_dict(), tmp / "state.pt")
    (tmp / "version.txt").write_text(spikegym_version() + "\n")
    (tmp / "system_info.txt").write_text("".join(f"- {k}: {v}\n" for k, v in system_info().items()))
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path


def find_checkpoint(path: str | Path) -> Path:
    """``path`` itself if it is a checkpoint directory, else ``path/checkpoint`` (a run directory)."""
    path = Path(path)
    for candidate in (path, path / "checkpoint"):
        if (candidate / "state.pt").exists() and (candidate / "config.json").exists():
            return candidate
    raise FileNotFoundError(f"no checkpoint at {path}: expected state.pt and config.json there or in checkpoint/")


def checkpoint_run_config(path: str | Path) -> dict[str, Any]:
    """The run config saved with the checkpoint at ``path`` (a checkpoint or run directory)."""
    return json.loads((find_checkpoint(path) / "config.json").read_text())


def load_checkpoint(path: str | Path, device: str | None = None) -> tuple[Agent, dict[str, Any]]:
    """Rebuilds the agent saved at ``path`` (a checkpoint or run directory); returns it and its run config."""
    import envs  # noqa: F401  (registers the tasks the config names)

    ckpt = find_checkpoint(path)
    run_config = checkpoint_run_config(ckpt)
    state = torch.load(ckpt / "state.pt", map_location="cpu", weights_only=True)
    env = gym.make(run_config["task"], **run_config.get("env_kwargs", {}))
    try:
        agent = make_agent(
            run_config["agent"],
            env,
            seeds=state["seeds"],
            device=device or run_config.get("device", "cpu"),
            config=state.get("extra", {}).get("config", run_config.get("agent_config", {})),
        )
    finally:
        env.close()
    agent.load_state_dict(state)
    return agent, run_config
