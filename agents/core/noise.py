"""Reproducible noise for B networks at once.

Every network draws from its own ``torch.Generator`` seeded with its own seed, so network b of a batch
sees exactly the numbers it would see alone: a run of K seeds batched as one computation gives the same
weights and trajectories as K separate runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


class BatchGenerators:
    """One ``torch.Generator`` per network.

    Args:
        seeds: one integer seed per network (B = len(seeds)).
        device: where the generators and the tensors they make live.
    """

    def __init__(self, seeds: Sequence[int], device: torch.device | str = "cpu") -> None:
        self.seeds = [int(s) for s in seeds]
        self.device = torch.device(device)
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in self.seeds]

    def __len__(self) -> int:
        return len(self.generators)

    def uniform(self, *shape: int, low: float = 0.0, high: float = 1.0, dtype=torch.float32) -> Tensor:
        """(B, *shape) samples of U(low, high), row b from network b's generator."""
        out = torch.empty(len(self), *shape, dtype=dtype, device=self.device)
        for row, g in zip(out, self.generators, strict=True):
            row.uniform_(low, high, generator=g)
        return out

    def uniform_into(self, out: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
        """``uniform`` drawn into ``out`` (B, ...) in place: the same samples, no new tensor."""
        for row, g in zip(out, self.generators, strict=True):
            row.uniform_(low, high, generator=g)
        return out

    def normal(self, *shape: int, dtype=torch.float32) -> Tensor:
        """(B, *shape) samples of N(0, 1), row b from network b's generator."""
        out = torch.empty(len(self), *shape, dtype=dtype, device=self.device)
        for row, g in zip(out, self.generators, strict=True):
            row.normal_(generator=g)
        return out

    def uniform_rows(self, index: Sequence[int], *shape: int, low: float = 0.0, high: float = 1.0) -> Tensor:
        """U(low, high) samples for the networks in ``index`` only, (len(index), *shape)."""
        out = torch.empty(len(index), *shape, device=self.device)
        for row, b in zip(out, index, strict=True):
            row.uniform_(low, high, generator=self.generators[b])
        return out

    def get_state(self) -> Tensor:
        """The generators' states stacked, (B, state_bytes) uint8 (for checkpoints)."""
        return torch.stack([g.get_state() for g in self.generators])

    def set_state(self, states: Tensor) -> None:
        if states.shape[0] != len(self):
            raise ValueError(f"got {states.shape[0]} generator states for {len(self)} networks")
        for g, s in zip(self.generators, states, strict=True):
            g.set_state(s.cpu().clone())  # a fresh tensor: set_state crashes on a view with a storage offset


def sparse_perturbations(uniform: Tensor, probability: float, amplitude: float) -> Tensor:
    """Miconi's exploratory perturbations from U(0, 1) samples, one per unit and step.

    A unit is perturbed with ``probability`` per step; a perturbation is uniform in
    [-amplitude, amplitude]. Given u < p, u / p is again U(0, 1), so one sample decides both whether
    and by how much: ``xi = amplitude * (2 u / p - 1)`` where ``u < p``, else 0.
    """
    hit = uniform < probability
    return torch.where(hit, amplitude * (2.0 * uniform / probability - 1.0), torch.zeros_like(uniform))
