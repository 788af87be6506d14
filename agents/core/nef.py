"""Ensembles of the Neural Engineering Framework: heterogeneous LIF neurons that represent a vector.

An ensemble of N neurons represents a D-dimensional value x within a radius R (Eliasmith & Anderson 2003).
Neuron i has a unit encoder e_i (its preferred direction), a gain and a bias, and receives the current::

    J_i = gain_i (e_i . x) / R + bias_i

Gain and bias follow from a maximum rate (at x = R e_i) and an intercept (where along e_i the neuron starts to
fire), drawn at random per neuron: the ensemble is heterogeneous. What it represents is read out linearly from
its filtered spike trains with decoders d_i, found by regularised least squares on the neurons' rate curves at
sample points of the ball of radius R::

    x_hat = sum_i d_i (S_i * kappa)(t),    d = argmin sum_p |x_p - sum_i d_i a_i(x_p)|^2 + m sigma^2 |d|^2

with sigma = 0.1 max a (m sample points; Nengo's default ``LstsqL2``). The defaults are Nengo's: max rates
U(200, 400) Hz, intercepts U(-1, 1), encoders uniform on the sphere, max(750-2500, 2N) sample points.

``nef_ensemble`` draws B ensembles at once, each from its own network's generator.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from agents.core.neurons import NEFLIFParameters, nef_lif_gain_bias, nef_lif_rate
from agents.core.noise import BatchGenerators

NENGO_LIF = NEFLIFParameters()
"""Nengo's LIF neuron: tau_rc = 20 ms, tau_ref = 2 ms."""


class NEFEnsemble(NamedTuple):
    """B ensembles of N neurons representing D dimensions within ``radius`` (tensors batch first)."""

    encoders: Tensor  # (B, N, D) unit preferred directions
    gain: Tensor  # (B, N)
    bias: Tensor  # (B, N)
    max_rates: Tensor  # (B, N) Hz, at radius along the encoder
    intercepts: Tensor  # (B, N) in units of the radius
    radius: float

    @property
    def scaled_encoders(self) -> Tensor:
        """(B, N, D) ``gain e / R``: the current each neuron gets per unit of represented value."""
        return self.encoders * (self.gain / self.radius)[..., None]


def ball_points(generators: BatchGenerators, n: int, d: int, *, surface: bool, dtype=torch.float64) -> Tensor:
    """(B, n, d) points uniform on the unit sphere (``surface``) or in the unit ball, per network's generator."""
    points = generators.normal(n, d, dtype=dtype)
    points = points / points.norm(dim=-1, keepdim=True)
    if surface:
        return points
    return points * generators.uniform(n, 1, dtype=dtype) ** (1.0 / d)


def nef_ensemble(
    generators: BatchGenerators,
    n: int,
    d: int,
    radius: float,
    *,
    max_rates: tuple[float, float] = (200.0, 400.0),
    intercepts: tuple[float, float] = (-1.0, 1.0),
    neuron: NEFLIFParameters = NENGO_LIF,
) -> NEFEnsemble:
    """B heterogeneous ensembles (one per generator): encoders on the sphere, max rates and intercepts uniform.

    Drawn in float64 in a fixed order (encoders, max rates, intercepts), so network b's ensemble does not
    depend on the batch.
    """
    if n < 1 or d < 1 or not radius > 0:
        raise ValueError(
            f"an ensemble needs n >= 1 neurons, d >= 1 dimensions and a radius > 0, got {n}, {d}, {radius}"
        )
    encoders = ball_points(generators, n, d, surface=True)
    rates = generators.uniform(n, low=max_rates[0], high=max_rates[1], dtype=torch.float64)
    starts = generators.uniform(n, low=intercepts[0], high=intercepts[1], dtype=torch.float64)
    gain, bias = nef_lif_gain_bias(rates, starts, neuron)
    return NEFEnsemble(encoders, gain, bias, rates, starts, float(radius))


def default_eval_points(n_neurons: int, d: int) -> int:
    """Nengo's number of sample points for decoders: ``max(clip(500 d, 750, 2500), 2 N)``."""
    return max(min(max(500 * d, 750), 2500), 2 * n_neurons)


def ensemble_rates(ensemble: NEFEnsemble, x: Tensor, neuron: NEFLIFParameters = NENGO_LIF) -> Tensor:
    """(B, P, N) steady rates (Hz) of every neuron at represented values ``x`` (B, P, D)."""
    current = torch.bmm(x, ensemble.encoders.transpose(1, 2)) * (ensemble.gain / ensemble.radius)[:, None]
    return nef_lif_rate(current + ensemble.bias[:, None], neuron)


def solve_decoders(
    ensemble: NEFEnsemble,
    generators: BatchGenerators,
    *,
    n_points: int | None = None,
    regularisation: float = 0.1,
    neuron: NEFLIFParameters = NENGO_LIF,
) -> Tensor:
    """(B, N, D) decoders of the identity by regularised least squares (Nengo's ``LstsqL2``), float64.

    Sample points are uniform in the ball of the ensemble's radius; ``sigma = regularisation * max(rates)``
    per network and the normal equations ``(A^T A + m sigma^2 I) d = A^T X`` are solved by Cholesky.
    """
    B, N, D = ensemble.encoders.shape
    m = n_points or default_eval_points(N, D)
    points = ball_points(generators, m, D, surface=False) * ensemble.radius  # (B, m, D)
    decoders = []
    for b in range(B):  # one network at a time: the rate matrix is m x N (400 MB for N = 5000)
        one = NEFEnsemble(*(x[b : b + 1] for x in ensemble[:5]), ensemble.radius)
        rates = ensemble_rates(one, points[b : b + 1], neuron)[0]  # (m, N)
        sigma = regularisation * float(rates.max())
        gram = rates.T @ rates
        gram.diagonal().add_(m * sigma**2)
        decoders.append(torch.cholesky_solve(rates.T @ points[b], torch.linalg.cholesky(gram)))
        del rates, gram
    return torch.stack(decoders)


def decoded_rmse(ensemble: NEFEnsemble, decoders: Tensor, n_points: int = 1000, seed: int = 12345) -> Tensor:
    """(B,) RMS error of the decoded identity on fresh points in the ball, relative to the radius (a check)."""
    generators = BatchGenerators([seed] * ensemble.encoders.shape[0], ensemble.encoders.device)
    points = ball_points(generators, n_points, ensemble.encoders.shape[2], surface=False) * ensemble.radius
    decoded = torch.bmm(ensemble_rates(ensemble, points), decoders)
    return ((decoded - points) ** 2).mean(dim=(1, 2)).sqrt() / ensemble.radius


__all__ = [
    "NENGO_LIF",
    "NEFEnsemble",
    "ball_points",
    "decoded_rmse",
    "default_eval_points",
    "ensemble_rates",
    "nef_ensemble",
    "solve_decoders",
]
