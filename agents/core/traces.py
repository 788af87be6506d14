"""Traces: running means and eligibility accumulators.

``running_mean`` is the low-pass trace Miconi uses to detrend activity,
``x_bar <- alpha x_bar + (1 - alpha) x``.

``OuterProductAccumulator`` keeps ``E[b] += sum_t outer(pre_t[b]**k, post_t[b]**k)`` exactly without an
N x N update per step: it stores the per-step factors in a (B, C, N) chunk and adds the whole chunk with
one batched matrix product, ``E += PRE^T @ POST``, when the chunk fills or the sum is read. Any rule
whose per-step eligibility increment factorises into a presynaptic and a postsynaptic term uses it
(Miconi's ``(r_j dx_i)^3 = r_j^3 dx_i^3``, node perturbation's ``r_j xi_i``).
"""

from __future__ import annotations

import torch
from torch import Tensor


def running_mean(mean: Tensor, x: Tensor, alpha: float) -> Tensor:
    """``alpha * mean + (1 - alpha) * x`` (a new tensor)."""
    return torch.lerp(x, mean, alpha)


class OuterProductAccumulator:
    """Exact, chunked sum of per-step outer products, one sum per network.

    Args:
        batch_size: B, the number of networks.
        n_pre, n_post: sizes of the presynaptic and postsynaptic factors.
        chunk: steps kept before they are folded into the sum with one ``baddbmm``.
        exponent: each factor is raised to this power before the product (Miconi's cube: 3), once per
            chunk instead of once per step.
    """

    def __init__(
        self,
        batch_size: int,
        n_pre: int,
        n_post: int,
        *,
        chunk: int = 250,
        exponent: int = 1,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        self.total = torch.zeros(batch_size, n_pre, n_post, dtype=dtype, device=device)
        self._pre = torch.zeros(batch_size, chunk, n_pre, dtype=dtype, device=device)
        self._post = torch.zeros(batch_size, chunk, n_post, dtype=dtype, device=device)
        self._filled = 0
        self.exponent = int(exponent)

    def add(self, pre: Tensor, post: Tensor) -> None:
        """Adds ``outer(pre[b]**k, post[b]**k)`` (k = exponent) for every network b.

        ``pre`` is (B, n_pre), ``post`` (B, n_post); both are copied, so views may be passed.
        """
        self._pre[:, self._filled].copy_(pre)
        self._post[:, self._filled].copy_(post)
        self._filled += 1
        if self._filled == self._pre.shape[1]:
            self.flush()

    def flush(self) -> None:
        """Folds the pending steps into ``total``."""
        if self._filled:
            pre, post = self._pre[:, : self._filled], self._post[:, : self._filled]
            if self.exponent != 1:
                pre, post = pre.pow(self.exponent), post.pow(self.exponent)
            self.total.baddbmm_(pre.transpose(1, 2), post)
            self._filled = 0

    def read(self) -> Tensor:
        """The exact sum so far, (B, n_pre, n_post)."""
        self.flush()
        return self.total

    def clear(self, mask: Tensor | None = None) -> None:
        """Zeroes the sum of the networks in ``mask`` (all if None), after folding pending steps."""
        self.flush()
        if mask is None:
            self.total.zero_()
        else:
            self.total[mask] = 0.0
