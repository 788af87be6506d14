"""Sparse random connectivity with per-synapse delays, and event-driven spike delivery.

Fixed fan-out, as in Izhikevich's spnet.m / daspnet.m: each presynaptic neuron j has exactly M
synapses, stored row-major (pre-major) as ``post[b, j, m]``, ``delay_ms[b, j, m]`` and
``weight[b, j, m]``; synapse id ``s = j * M + m`` names synapse m of row j. Excitatory neurons
(0 .. N_e - 1) project anywhere, inhibitory neurons (N_e .. N - 1) onto excitatory neurons only.

Delivery is a ring buffer ``input[b, slot, i]`` of D + 1 slots: a spike of j at step t adds
``weight[b, j, m]`` to slot ``(t + delay_ms[b, j, m]) mod (D + 1)`` of neuron ``post[b, j, m]``,
touching only the spiking rows (``nonzero`` + ``index_put_(accumulate=True)``); step t reads and clears
slot ``t mod (D + 1)``. STDP also needs the reverse view, each postsynaptic neuron's incoming synapse
ids, which ``Connectivity.incoming`` holds padded to the largest in-degree (ELL format) with a mask.

Izhikevich E.M. (2006) Polychronization: computation with spikes. Neural Comput 18:245 (spnet.m).
Izhikevich E.M. (2007) Cereb Cortex 17:2443 (daspnet.m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from agents.core.noise import BatchGenerators


class Connectivity(NamedTuple):
    """Fixed-fan-out synapses of B networks of N neurons, M synapses per presynaptic neuron."""

    post: Tensor  # (B, N, M) long, target of synapse m of neuron j
    delay_ms: Tensor  # (B, N, M) long, conduction delay in steps of 1 ms, 1 .. D
    weight: Tensor  # (B, N, M) float
    incoming: Tensor  # (B, N, K) long, ids j * M + m of the synapses onto neuron i, padded with 0
    incoming_mask: Tensor  # (B, N, K) bool, which entries of ``incoming`` are real synapses


def incoming_index(post: Tensor, real: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The post-major (ELL) index of a (B, N, M) target table: ids of each neuron's incoming synapses.

    ``real`` (bool, like ``post``) leaves out padding entries of rows with fewer than M synapses.
    """
    batch, n, m = post.shape
    flat = post.reshape(batch, n * m)
    key = (flat + n * torch.arange(batch, device=post.device)[:, None]).flatten()  # (b, post) pairs
    if real is not None:
        key = torch.where(real.flatten(), key, batch * n)  # padding goes to a bucket past the last neuron
    order = torch.argsort(key, stable=True)  # synapses grouped by target, in increasing id within a group
    counts = torch.bincount(key, minlength=batch * n + 1)
    width = int(counts[: batch * n].max()) if batch * n else 0
    starts = torch.cumsum(counts, 0) - counts
    sorted_key = key[order]
    slot = torch.arange(key.numel(), device=post.device) - starts[sorted_key]
    keep = sorted_key < batch * n
    sorted_key, slot, order = sorted_key[keep], slot[keep], order[keep]
    incoming = torch.zeros(batch * n, width, dtype=torch.long, device=post.device)
    mask = torch.zeros(batch * n, width, dtype=torch.bool, device=post.device)
    incoming[sorted_key, slot] = order % (n * m)  # synapse id within its network
    mask[sorted_key, slot] = True
    return incoming.reshape(batch, n, width), mask.reshape(batch, n, width)


def fixed_fanout_connectivity(
    generators: BatchGenerators,
    n_excitatory: int,
    n_inhibitory: int,
    fan_out: int,
    max_delay_ms: int,
    weight_excitatory: float,
    weight_inhibitory: float,
    *,
    inhibitory_delay_ms: int | None = 1,
    dtype: torch.dtype = torch.float32,
) -> Connectivity:
    """Random fixed-fan-out connectivity, one independent draw per network (network b alone == in a batch).

    Targets: each row draws M distinct targets uniformly without replacement from its allowed set
    (all neurons but itself for excitatory rows, the N_e excitatory neurons for inhibitory rows; both
    as in Izhikevich's daspnet.m, which uses ``randperm``). Realised by giving every candidate target a
    U(0, 1) key (disallowed ones get key 2) and keeping the M smallest: an exchangeable ranking, hence a
    uniform M-subset. This costs one (N, N) draw per network at build time only.

    Delays: excitatory synapses get independent uniform integer delays in 1 .. D (spnet.m spreads them
    evenly, M / D per delay; uniform i.i.d. draws have the same mean); inhibitory synapses get
    ``inhibitory_delay_ms`` (1 ms in spnet.m), or uniform 1 .. D when it is None.

    Weights: ``weight_excitatory`` / ``weight_inhibitory`` (Izhikevich 2007: +1 / -1).
    """
    n = n_excitatory + n_inhibitory
    most = n - 1 if n_inhibitory == 0 else min(n - 1, n_excitatory)  # the smallest allowed target set
    if not 1 <= fan_out <= most:
        raise ValueError(f"fan_out must be in 1 .. {most} for {n_excitatory} + {n_inhibitory} neurons, got {fan_out}")
    device = generators.device
    keys = generators.uniform(n, n)  # (B, N pre, N post)
    disallowed = torch.eye(n, dtype=torch.bool, device=device)
    disallowed[n_excitatory:, n_excitatory:] = True  # inhibitory rows target excitatory neurons only
    keys = keys.masked_fill(disallowed, 2.0)
    post = torch.topk(keys, fan_out, dim=2, largest=False).indices
    post = torch.sort(post, dim=2).values  # row order carries no meaning; sorted rows read better
    uniform = generators.uniform(n, fan_out)
    delay = (uniform * max_delay_ms).long().clamp_(max=max_delay_ms - 1) + 1
    if inhibitory_delay_ms is not None:
        delay[:, n_excitatory:] = inhibitory_delay_ms
    weight = torch.full(post.shape, weight_excitatory, dtype=dtype, device=device)
    weight[:, n_excitatory:] = weight_inhibitory
    incoming, mask = incoming_index(post)
    return Connectivity(post=post, delay_ms=delay, weight=weight, incoming=incoming, incoming_mask=mask)


def delay_buffer_init(
    batch_size: int,
    n: int,
    max_delay_ms: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Tensor:
    """An empty ring buffer of pending input, (B, D + 1, N)."""
    return torch.zeros(batch_size, max_delay_ms + 1, n, dtype=dtype, device=device)


def deliver_spikes(buffer: Tensor, spikes: Tensor, conn: Connectivity, t: int) -> Tensor:
    """Schedules the synaptic input caused by this step's spikes (in place; returns ``buffer``).

    A spike of neuron j of network b at step t adds ``weight[b, j, m]`` to the input of neuron
    ``post[b, j, m]`` at step ``t + delay_ms[b, j, m]``. Only the spiking rows are touched.

    Args:
        buffer: (B, D + 1, N) ring buffer from ``delay_buffer_init``.
        spikes: (B, N) bool.
        conn: the connectivity (its delays must be in 1 .. D).
        t: the current step.
    """
    b, j = spikes.nonzero(as_tuple=True)
    if b.numel():
        slots = (t + conn.delay_ms[b, j]) % buffer.shape[1]  # (K, M)
        targets = conn.post[b, j]
        buffer.index_put_((b[:, None].expand_as(targets), slots, targets), conn.weight[b, j], accumulate=True)
    return buffer


def read_input(buffer: Tensor, t: int) -> Tensor:
    """The input arriving at step t, (B, N); its slot is cleared for reuse at t + D + 1."""
    slot = t % buffer.shape[1]
    arrived = buffer[:, slot].clone()
    buffer[:, slot] = 0.0
    return arrived


class DynamicSynapseState(NamedTuple):
    """Short-term plasticity state of a set of synapses (any shape S, batch first)."""

    u: Tensor  # utilisation (facilitation), in (0, 1]
    r: Tensor  # available resources (depression), in (0, 1]
    last_spike_ms: Tensor  # time of each synapse's last presynaptic spike; -inf before the first


@dataclass(frozen=True)
class DynamicSynapseParameters:
    """Markram, Wang & Tsodyks (1998) dynamic synapse: use U, depression and facilitation time constants.

    Legenstein et al. (2008) use U = 0.5, D = 1.1 s, F = 0.02 s for E -> E synapses (0.25 / 0.7 / 0.02 E -> I,
    0.05 / 0.125 / 1.2 I -> E, 0.32 / 0.144 / 0.06 I -> I), from Gupta, Wang & Markram (2000).
    """

    U: float = 0.5
    D_ms: float = 1100.0
    F_ms: float = 20.0


def dynamic_synapse_init(
    shape: tuple[int, ...],
    p: DynamicSynapseParameters,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> DynamicSynapseState:
    """Fresh synapses: u = U, r = 1, no spike yet (the first spike's efficacy is U)."""
    u = torch.full(shape, p.U, dtype=dtype, device=device)
    return DynamicSynapseState(u=u, r=torch.ones_like(u), last_spike_ms=torch.full_like(u, -math.inf))


def dynamic_synapse_spike(
    state: DynamicSynapseState, hit: Tensor, t_ms: float, p: DynamicSynapseParameters
) -> tuple[Tensor, DynamicSynapseState]:
    """Efficacies ``u r`` of the synapses ``hit`` by a presynaptic spike at ``t_ms``, and the new state.

    The recursion of Markram et al. (1998), in the order PCSIM/CSIM apply it at each spike after the first,
    with ``isi`` the time since the synapse's previous spike::

        r <- 1 + (r (1 - u) - 1) exp(-isi / D)        (with the previous u)
        u <- U + u (1 - U) exp(-isi / F)

    and the postsynaptic response grows by ``W u r``. Synapses not hit keep their state; their efficacy is 0.

    Args:
        state: the synapses' state.
        hit: bool, the state's shape: which synapses receive a spike now.
        t_ms: the current time.
    """
    isi = t_ms - state.last_spike_ms
    seen = hit & torch.isfinite(state.last_spike_ms)
    r_new = 1.0 + (state.r * (1.0 - state.u) - 1.0) * torch.exp(-isi / p.D_ms)
    u_new = p.U + state.u * (1.0 - p.U) * torch.exp(-isi / p.F_ms)
    r = torch.where(seen, r_new, state.r)
    u = torch.where(seen, u_new, state.u)
    last = torch.where(hit, torch.full_like(state.last_spike_ms, t_ms), state.last_spike_ms)
    efficacy = torch.where(hit, u * r, torch.zeros_like(u))
    return efficacy, DynamicSynapseState(u=u, r=r, last_spike_ms=last)


def dynamic_synapse_spike_rows(
    state: DynamicSynapseState, rows: tuple[Tensor, ...], t_ms: float, p: DynamicSynapseParameters
) -> Tensor:
    """Event-driven ``dynamic_synapse_spike``: every synapse of the state's ``rows`` (an index into its leading
    dimensions, e.g. (network, presynaptic neuron) of the neurons that spiked) receives a spike at ``t_ms``;
    their state is advanced in place, the others' is not touched. ``p`` holds the rows' parameters (floats, or
    tensors of the rows' shape). Returns the rows' efficacies ``u r``."""
    rows_state = DynamicSynapseState(*(x[rows] for x in state))
    efficacy, new = dynamic_synapse_spike(rows_state, torch.ones_like(rows_state.u, dtype=torch.bool), t_ms, p)
    for x, value in zip(state, new, strict=True):
        x[rows] = value
    return efficacy
