"""What every batch-first state shares: restarting some of the B networks while the others go on."""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import torch
from torch import Tensor

S = TypeVar("S", bound=NamedTuple)


def restart(old: S | None, fresh: S, mask: Tensor) -> S:
    """``fresh`` for the networks in ``mask`` (B,) bool and ``old`` for the others, field by field, for any
    NamedTuple of batch-first tensors (a neuron or synapse state); with no ``old`` yet, ``fresh``."""
    if old is None:
        return fresh
    fields = []
    for o, f in zip(old, fresh, strict=True):
        where = mask.reshape(-1, *([1] * (f.dim() - 1)))
        fields.append(torch.where(where, f, o))
    return type(fresh)(*fields)
