"""What the natively batched spikegym envs share: ``SyncVectorEnv.reset``'s arguments, read and checked alike."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv


def num_envs_argument(num_envs: Any) -> int:
    """``num_envs`` checked: a positive integer."""
    if isinstance(num_envs, bool) or not isinstance(num_envs, numbers.Integral) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}.")
    return int(num_envs)


def autoreset_mode_argument(autoreset_mode: AutoresetMode | str) -> AutoresetMode:
    """``autoreset_mode`` as an AutoresetMode, from the enum or its value."""
    try:
        return AutoresetMode(autoreset_mode)
    except ValueError:
        raise ValueError(
            f"autoreset_mode must be an AutoresetMode or one of {[m.value for m in AutoresetMode]}, "
            f"got {autoreset_mode!r}."
        ) from None


def set_vector_arguments(
    env: VectorEnv, num_envs: Any, autoreset_mode: AutoresetMode | str, render_mode: str | None
) -> None:
    """Check and set the arguments every native vector env of any autoreset mode takes: ``num_envs``,
    ``autoreset_mode`` (also in the instance's ``metadata``) and ``render_mode`` (one of the class's
    ``metadata["render_modes"]``; where that is empty, the env does not render)."""
    name = type(env).__name__
    render_modes = type(env).metadata["render_modes"]
    if render_mode is not None and render_mode not in render_modes:
        if not render_modes:
            raise ValueError(f"{name} does not render; render one copy with gym.make(..., render_mode=...).")
        raise ValueError(
            f"{name} render_mode must be None or one of {render_modes}, got {render_mode!r}; "
            "for a window render one copy with gym.make(..., render_mode='human')."
        )
    env.num_envs = num_envs_argument(num_envs)
    env.autoreset_mode = autoreset_mode_argument(autoreset_mode)
    env.metadata = {**type(env).metadata, "autoreset_mode": env.autoreset_mode}
    env.render_mode = render_mode


def vector_arguments(name: str, num_envs: Any, autoreset_mode: AutoresetMode | str, render_mode: str | None) -> int:
    """The arguments every SAME_STEP-only, non-rendering native vector env checks alike; returns num_envs."""
    if autoreset_mode_argument(autoreset_mode) != AutoresetMode.SAME_STEP:
        raise ValueError(
            f"{name} supports autoreset_mode=AutoresetMode.SAME_STEP only; "
            "use gym.make_vec(..., vectorization_mode='sync') for the other modes."
        )
    if render_mode is not None:
        raise ValueError(f"{name} does not render; render one copy with gym.make(...).")
    return num_envs_argument(num_envs)


def reset_seeds(seed: int | Sequence[int | None] | None, num_envs: int) -> list[int | None]:
    """One seed per sub-env as ``SyncVectorEnv.reset`` gives them: None for all, ``seed + i``, or a list."""
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"seed is a list of length {len(seeds)}, but there are num_envs={num_envs} sub-envs.")
    return seeds


def reset_mask(mask: Any, num_envs: int) -> np.ndarray:
    """The ``reset_mask`` option validated as SyncVectorEnv validates it; None means all sub-envs."""
    if mask is None:
        return np.ones(num_envs, dtype=np.bool_)
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (num_envs,):
        raise ValueError(f"options['reset_mask'] must be a bool numpy array of shape ({num_envs},), got {mask!r}.")
    if not mask.any():
        raise ValueError("options['reset_mask'] must select at least one sub-env, got all False.")
    return mask


def reset_arguments(
    seed: int | Sequence[int | None] | None, options: dict[str, Any] | None, num_envs: int, name: str
) -> tuple[list[int | None], np.ndarray]:
    """Seeds and mask for an env whose only reset option is ``reset_mask``."""
    options = dict(options or {})
    mask = reset_mask(options.pop("reset_mask", None), num_envs)
    if options:
        raise ValueError(f"{name} takes no reset options besides reset_mask, got {sorted(options)}.")
    return reset_seeds(seed, num_envs), mask


class CopyGenerators:
    """One generator per sub-env, as each single env's ``np_random``: seeded by ``reset(seed=...)``, otherwise
    drawn from fresh entropy on first use."""

    def __init__(self, num_envs: int) -> None:
        self._rngs: list[np.random.Generator | None] = [None] * num_envs

    def seed(self, seeds: Sequence[int | None], mask: np.ndarray) -> None:
        """New generators for the sub-envs in ``mask`` that were given a seed."""
        for i in np.flatnonzero(mask):
            if seeds[i] is not None:
                self._rngs[i], _ = seeding.np_random(seeds[i])

    def __getitem__(self, i: int) -> np.random.Generator:
        rng = self._rngs[i]
        if rng is None:
            rng, _ = seeding.np_random()
            self._rngs[i] = rng
        return rng

    def all(self) -> tuple[np.random.Generator, ...]:
        return tuple(self[i] for i in range(len(self._rngs)))
