"""Declarative trial structure for trial-based tasks (DNMS, conditioning, pattern classification).

A trial is an ordered sequence of named epochs ("stimulus1", "delay1", ...), each lasting a number of
milliseconds, simulated with a fixed time step ``dt_ms``. Tasks describe *what* happens in each epoch
(which input is on, what the target is) and :class:`TrialSchedule` answers *when*: how many steps an
epoch has, which steps belong to it, and which epoch a step is in. This is NeuroGym's ``TrialEnv``
idea of named periods, reduced to the part every spikegym trial task needs.

Example::

    >>> schedule = TrialSchedule({"cue": 100.0, "delay": 50.0, "go": 100.0}, dt_ms=2.0)
    >>> schedule.n_steps
    125
    >>> schedule.steps("delay")
    range(50, 75)
    >>> schedule.epoch_at(80)
    'go'
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = ["TrialSchedule"]

# Durations are user-facing floats in ms; allow for binary round-off (0.3 / 0.1 = 2.9999999999999996).
_STEP_TOLERANCE = 1e-9


class TrialSchedule:
    """Ordered, named epochs of a trial, discretised into steps of ``dt_ms`` milliseconds.

    Args:
        durations_ms: epoch name -> duration in ms, in trial order. Each duration must be a positive
            multiple of ``dt_ms``.
        dt_ms: duration of one step in ms (positive, finite).

    Attributes:
        epochs: the epoch names, in order.
        dt_ms: the step duration in ms.
        epoch_steps: the number of steps of each epoch, in order.
        n_steps: the number of steps of the whole trial.
        epoch_index: read-only int array of shape ``(n_steps,)``: the index into ``epochs`` of each step.

    Raises:
        ValueError: no epochs, a non-positive or non-finite ``dt_ms``, or a duration that is not a
            positive multiple of ``dt_ms`` (the message names the epoch and a duration that would fit).
    """

    def __init__(self, durations_ms: Mapping[str, float], dt_ms: float = 1.0) -> None:
        dt_ms = float(dt_ms)
        if not (math.isfinite(dt_ms) and dt_ms > 0):
            raise ValueError(f"dt_ms must be a positive finite number of milliseconds, got {dt_ms!r}.")
        if not durations_ms:
            raise ValueError("a TrialSchedule needs at least one epoch, got none.")

        epoch_steps = [_steps_of(name, duration, dt_ms) for name, duration in durations_ms.items()]

        self.epochs: tuple[str, ...] = tuple(durations_ms)
        self.dt_ms: float = dt_ms
        self.epoch_steps: tuple[int, ...] = tuple(epoch_steps)
        # _starts[k] is the first step of epoch k; _starts[-1] is the trial length.
        self._starts: tuple[int, ...] = (0, *np.cumsum(epoch_steps).tolist())
        self.n_steps: int = self._starts[-1]
        self.epoch_index: np.ndarray = np.repeat(np.arange(len(self.epochs)), self.epoch_steps)
        self.epoch_index.flags.writeable = False

    @classmethod
    def from_timing(
        cls,
        defaults_ms: Mapping[str, float],
        overrides_ms: Mapping[str, float] | None = None,
        dt_ms: float = 1.0,
    ) -> TrialSchedule:
        """Build a schedule from a task's default epoch durations, some of them overridden.

        This is how a task exposes a ``timing`` argument: the epoch order stays the task's own, the user
        changes only durations.

        Args:
            defaults_ms: the task's epochs and default durations in ms, in trial order.
            overrides_ms: a partial mapping epoch name -> duration in ms; ``None`` keeps the defaults.
            dt_ms: step duration in ms.

        Raises:
            ValueError: an override names an epoch the task does not have (the message lists the valid
                names), or a duration is invalid (see :class:`TrialSchedule`).
        """
        if overrides_ms is None:
            overrides_ms = {}
        if not isinstance(overrides_ms, Mapping):
            raise ValueError(
                "timing must be a mapping epoch name -> duration in ms, "
                f"e.g. {{{next(iter(defaults_ms))!r}: 100}}; got {overrides_ms!r}."
            )
        unknown = [name for name in overrides_ms if name not in defaults_ms]
        if unknown:
            raise ValueError(f"unknown epoch(s) {unknown} in timing; valid epoch names are {list(defaults_ms)}.")
        return cls({name: overrides_ms.get(name, default) for name, default in defaults_ms.items()}, dt_ms)

    @property
    def durations_ms(self) -> dict[str, float]:
        """Epoch name -> duration in ms (a copy, in trial order)."""
        return {name: steps * self.dt_ms for name, steps in zip(self.epochs, self.epoch_steps, strict=True)}

    @property
    def duration_ms(self) -> float:
        """Duration of the whole trial in ms."""
        return self.n_steps * self.dt_ms

    def steps(self, name: str) -> range:
        """The steps of epoch ``name`` (usable as a NumPy index and with ``in``)."""
        k = self._index_of(name)
        return range(self._starts[k], self._starts[k + 1])

    def epoch_at(self, step: int) -> str:
        """The name of the epoch that step ``step`` (0-based) belongs to."""
        if not 0 <= step < self.n_steps:
            raise IndexError(f"step {step} is outside the trial (0 <= step < {self.n_steps}).")
        return self.epochs[self.epoch_index[step]]

    def t_ms(self, step: int) -> float:
        """Start time of step ``step`` in ms from the trial start."""
        return step * self.dt_ms

    def bounds_ms(self) -> list[tuple[str, float, float]]:
        """``(name, start_ms, end_ms)`` of every epoch, in order (for plots and renderers)."""
        return [
            (name, self._starts[k] * self.dt_ms, self._starts[k + 1] * self.dt_ms) for k, name in enumerate(self.epochs)
        ]

    def _index_of(self, name: str) -> int:
        try:
            return self.epochs.index(name)
        except ValueError:
            raise KeyError(f"no epoch named {name!r}; epochs are {list(self.epochs)}.") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrialSchedule):
            return NotImplemented
        return (self.epochs, self.epoch_steps, self.dt_ms) == (other.epochs, other.epoch_steps, other.dt_ms)

    def __hash__(self) -> int:
        return hash((self.epochs, self.epoch_steps, self.dt_ms))

    def __repr__(self) -> str:
        epochs = ", ".join(f"{name!r}: {ms:g}" for name, ms in self.durations_ms.items())
        return f"TrialSchedule({{{epochs}}}, dt_ms={self.dt_ms:g})"


def _steps_of(name: str, duration_ms: float, dt_ms: float) -> int:
    """Number of steps of one epoch, or a ValueError that says which duration would fit."""
    try:
        duration_ms = float(duration_ms)
    except (TypeError, ValueError):
        raise ValueError(f"epoch {name!r}: duration must be a number of ms, got {duration_ms!r}.") from None
    n_steps = duration_ms / dt_ms
    rounded = round(n_steps) if math.isfinite(n_steps) else 0
    if rounded < 1 or abs(n_steps - rounded) > _STEP_TOLERANCE * max(1.0, n_steps):
        suggestion = max(1, rounded) * dt_ms
        raise ValueError(
            f"epoch {name!r} lasts {duration_ms!r} ms, which is not a positive multiple of dt_ms={dt_ms:g}; "
            f"use e.g. {suggestion:g} ms, or change dt_ms."
        )
    return rounded
