"""Reproducible noise for B networks at once.

Every network draws from its own ``torch.Generator`` seeded with its own seed, so network b of a batch
sees exactly the numbers it would see alone: a run of K seeds batched as one computation gives the same
weights and trajectories as K separate runs.

``counter_uniform`` is the stateless kind, for noise drawn every ms: the uniforms of step t are a function of
the network's key and t (Philox4x32-10, Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"),
so a compiled kernel can make them where it uses them, on any thread, in any order, and a checkpoint needs
only the clock. ``izhikevich_kernels`` computes the same numbers to the bit.
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


PHILOX_MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
PHILOX_WEYL = (0x9E3779B9, 0xBB67AE85)
_LOW32 = 0xFFFFFFFF


def philox_keys(seeds: Sequence[int], device: torch.device | str = "cpu") -> Tensor:
    """(B, 2) int64: network b's Philox key, its seed's low and high 32 bits."""
    return torch.tensor([[s & _LOW32, (s >> 32) & _LOW32] for s in map(int, seeds)], dtype=torch.int64, device=device)


def _mulhilo(multiplier: int, x: Tensor) -> tuple[Tensor, Tensor]:
    """The high and low 32 bits of ``multiplier * x`` for 32-bit unsigned values held in int64, by 16-bit
    halves of ``x`` (no product leaves int64's range)."""
    low, high = multiplier * (x & 0xFFFF), multiplier * (x >> 16)
    return (high + (low >> 16)) >> 16, (low + ((high & 0xFFFF) << 16)) & _LOW32


def philox4x32(counter: tuple[Tensor, Tensor, Tensor, Tensor], key: tuple[Tensor, Tensor], rounds: int = 10):
    """Philox4x32 (Random123's ``philox4x32_R``) of 32-bit words held in int64 tensors that broadcast together:
    returns the four output words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + PHILOX_WEYL[0]) & _LOW32, (k1 + PHILOX_WEYL[1]) & _LOW32
        hi0, lo0 = _mulhilo(PHILOX_MULTIPLIERS[0], c0)
        hi1, lo1 = _mulhilo(PHILOX_MULTIPLIERS[1], c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def counter_uniform(keys: Tensor, start: int, n: int, steps: int = 1, stream: int = 0) -> Tensor:
    """(B, steps, n) float32 uniforms in [0, 1) of the steps ``start``, ..., ``start + steps - 1`` for the
    networks' Philox ``keys`` (B, 2): value i of step t is word i % 4 of Philox4x32-10 at counter (i // 4, t's
    low and high 32 bits, ``stream``), its top 24 bits times 2^-24 (every value exact in float32). Different
    ``stream`` numbers give independent numbers for the same key and step (one per use of the noise)."""
    step = torch.arange(start, start + steps, dtype=torch.int64, device=keys.device)[:, None]  # (steps, 1)
    quad = torch.arange((n + 3) // 4, dtype=torch.int64, device=keys.device)[None]  # (1, quads)
    key = (keys[:, :1, None], keys[:, 1:, None])  # (B, 1, 1) each
    words = philox4x32((quad, step & _LOW32, (step >> 32) & _LOW32, torch.full_like(quad, stream)), key)
    bits = torch.stack(torch.broadcast_tensors(*words), dim=3).flatten(2)[:, :, :n]  # value 4q + w: word w of q
    return (bits >> 8).to(torch.float32) * 2.0**-24


def sparse_perturbations(uniform: Tensor, probability: float, amplitude: float) -> Tensor:
    """Miconi's exploratory perturbations from U(0, 1) samples, one per unit and step.

    A unit is perturbed with ``probability`` per step; a perturbation is uniform in
    [-amplitude, amplitude]. Given u < p, u / p is again U(0, 1), so one sample decides both whether
    and by how much: ``xi = amplitude * (2 u / p - 1)`` where ``u < p``, else 0.
    """
    hit = uniform < probability
    return torch.where(hit, amplitude * (2.0 * uniform / probability - 1.0), torch.zeros_like(uniform))
