"""The cortical column of a liquid state machine: neurons on a 3-D grid, wired with a probability that falls
with distance.

Maass W., Natschläger T., Markram H. (2002) Real-time computing without stable states: a new framework for
neural computation based on perturbations. Neural Comput 14(11):2531-2560. Legenstein, Pecevski & Maass (2008,
computer simulation 5) read spoken digits out of such a column of 15 x 6 x 6 neurons.

Neurons sit on the integer points of a ``nx x ny x nz`` grid (unit spacing); a fraction of them, chosen at
random, is excitatory. A synapse a -> b exists with probability::

    P(a -> b) = C_{type(a) type(b)} exp(-(D(a, b) / lambda)^2),     a != b

with D the Euclidean distance on the grid and, in Maass et al. (2002), lambda = 2 and C = 0.3 (E -> E),
0.2 (E -> I), 0.4 (I -> E), 0.1 (I -> I).
"""

from __future__ import annotations

import torch
from torch import Tensor

from agents.core.noise import BatchGenerators

MAASS2002_CONNECTION_PROBABILITY = (0.3, 0.2, 0.4, 0.1)
"""C of E -> E, E -> I, I -> E, I -> I (Maass, Natschläger & Markram 2002)."""


def grid_positions(shape: tuple[int, int, int], *, device: torch.device | str = "cpu") -> Tensor:
    """The (nx ny nz, 3) integer coordinates of the grid's points, x slowest."""
    axes = [torch.arange(n, dtype=torch.float32, device=device) for n in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)


def column_layout(
    shape: tuple[int, int, int], excitatory_fraction: float, generators: BatchGenerators
) -> tuple[Tensor, int]:
    """B columns' neuron positions, (B, N, 3), excitatory neurons first, and their number n_e.

    Each column draws which round(N f) of its grid points hold excitatory neurons (a random permutation of the
    points from its own generator); neuron k of column b sits at ``positions[b, k]``, so neurons 0 .. n_e - 1
    are the excitatory ones, at random places on the grid.
    """
    grid = grid_positions(shape, device=generators.device)
    n = grid.shape[0]
    n_e = round(n * excitatory_fraction)
    order = torch.argsort(generators.uniform(n), dim=1)
    return grid[order], n_e


def column_connection_probability(
    positions: Tensor, n_e: int, C: tuple[float, float, float, float], lam: float
) -> Tensor:
    """(B, N, N) probability of each synapse a -> b: ``C_type exp(-(D(a, b) / lambda)^2)``, 0 on the diagonal.

    Args:
        positions: (B, N, 3) neuron coordinates, the first ``n_e`` excitatory (``column_layout``).
        C: connection factors of E -> E, E -> I, I -> E, I -> I.
        lam: lambda, the length scale of the connections in grid units.
    """
    d2 = torch.cdist(positions, positions).square()
    exc = torch.arange(positions.shape[1], device=positions.device) < n_e
    c_ee, c_ei, c_ie, c_ii = C
    factor = torch.where(exc[:, None], torch.where(exc[None, :], c_ee, c_ei), torch.where(exc[None, :], c_ie, c_ii)).to(
        positions.dtype
    )
    prob = factor * torch.exp(-d2 / lam**2)
    prob.diagonal(dim1=1, dim2=2).zero_()
    return prob
