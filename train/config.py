"""Run configuration: one dataclass is the single source of config-file keys and CLI flags.

Precedence: the dataclass defaults, then a config file (``--config NAME`` from ``train/configs`` or a path),
then flags given on the command line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).parent / "configs"


class ConfigRecord:
    """What every run configuration dataclass (``RunConfig``, ``train.baseline.BaselineConfig``) shares: its
    seeds S .. S+K-1 (``seed_offset``, ``seeds``), a dict form, and construction from a dict that names unknown keys."""

    seeds: int
    seed_offset: int

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seed_offset, self.seed_offset + self.seeds))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> Any:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown}; valid keys: {sorted(known)}")
        return cls(**values)


def field_problems(
    config: Any,
    *,
    positive: tuple[str, ...] = (),
    non_negative: tuple[str, ...] = (),
    mappings: tuple[str, ...] = (),
    strings: tuple[str, ...] = (),
) -> list[str]:
    """What is wrong with ``config``'s fields: integers that must be positive or non-negative, mappings, strings."""
    problems = []
    for name in (*positive, *non_negative):
        value, least = getattr(config, name), 1 if name in positive else 0
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            kind = "a positive" if least else "a non-negative"
            problems.append(f"{name} must be {kind} integer, got {value!r}")
    for name in mappings:
        if not isinstance(getattr(config, name), dict):
            problems.append(f"{name} must be a mapping (a JSON object), got {getattr(config, name)!r}")
    for name in strings:
        if not isinstance(getattr(config, name), str):
            problems.append(f"{name} must be a string, got {getattr(config, name)!r}")
    return problems


@dataclass
class RunConfig(ConfigRecord):
    """A training run: which task, which agent, how long, how many seeds."""

    task: str = field(default="spikegym/DNMS-v0", metadata={"help": "Gymnasium id of the task"})
    agent: str = field(default="miconi", metadata={"help": "agent name (see `python -m train list`)"})
    episodes: int = field(default=1000, metadata={"help": "training episodes (trials) per seed"})
    seeds: int = field(default=1, metadata={"help": "K independent networks, batched as one computation"})
    seed_offset: int = field(default=0, metadata={"help": "S: the networks use seeds S .. S+K-1"})
    env_kwargs: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "JSON object passed to the env (over --config's, key by key)"}
    )
    agent_config: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": 'JSON object of rule parameters, e.g. {"preset": "annarchy"} (over --config\'s, key by key)'},
    )
    device: str = field(default="cpu", metadata={"help": "torch device: cpu or cuda"})
    eval_every: int = field(default=0, metadata={"help": "evaluate (plasticity off) every N episodes; 0: never"})
    eval_episodes: int = field(default=4, metadata={"help": "episodes per seed in each evaluation"})
    score_episodes: int = field(
        default=0,
        metadata={
            "help": "after training, score every network on this many of the task's test episodes with SB3's "
            "evaluate_policy (train/evaluation.py; written to score.csv and summary.json); 0: none"
        },
    )
    keep_best: bool = field(
        default=False,
        metadata={
            "help": "at each evaluation also play the task's validation episodes (disjoint from its test episodes) "
            "and end the run with the agent of the best mean validation figure, over all its networks (early "
            "stopping): the checkpoint, the probes and the score are of that agent; needs eval_every"
        },
    )
    checkpoint_every: int = field(default=0, metadata={"help": "save a checkpoint every N episodes; 0: at the end"})
    threads: int = field(default=0, metadata={"help": "CPU threads (torch's and numba's); 0: their defaults"})
    continue_from: str = field(
        default="",
        metadata={
            "help": "a run or checkpoint directory whose agent state (weights, learning time) this run continues; "
            "without --config the run's settings are that run's, each option given here over them"
        },
    )
    description: str = field(default="", metadata={"help": "what this run reproduces (free text)"})

    def __post_init__(self) -> None:
        problems = field_problems(
            self,
            positive=("episodes", "seeds"),
            non_negative=(
                "seed_offset",
                "eval_every",
                "eval_episodes",
                "score_episodes",
                "checkpoint_every",
                "threads",
            ),
            mappings=("env_kwargs", "agent_config"),
            strings=("task", "agent", "device", "description", "continue_from"),
        )
        if not isinstance(self.keep_best, bool):
            problems.append(f"keep_best must be true or false, got {self.keep_best!r}")
        elif self.keep_best and not self.eval_every:
            problems.append("keep_best chooses among the evaluations: give eval_every too")
        if problems:
            raise ValueError("bad run configuration: " + "; ".join(problems))


def preset_names() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def config_path(name_or_path: str) -> Path:
    """A preset name (``train/configs/<name>.yaml``) or a file path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml", ".json") and path.exists():
        return path
    preset = CONFIG_DIR / f"{name_or_path}.yaml"
    if preset.exists():
        return preset
    raise FileNotFoundError(f"no config {name_or_path!r}: give a YAML file path or one of the presets {preset_names()}")


def load_config_file(name_or_path: str) -> dict[str, Any]:
    path = config_path(name_or_path)
    try:
        values = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid YAML/JSON ({exc})") from exc
    if not isinstance(values, dict):
        raise ValueError(f"{path}: a config file must be a mapping of keys to values, got {type(values).__name__}")
    return values


def parse_json_object(text: str, flag: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{flag} must be a JSON object such as '{{\"key\": 1}}': {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{flag} must be a JSON object such as '{{\"key\": 1}}', got {text!r}")
    return value
