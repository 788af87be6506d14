"""Fused CPU kernels (numba) for B networks of Izhikevich neurons with delayed synapses and STDP tags.

A 1-ms step of Izhikevich's 1000-neuron network written as torch operations is some 30 dispatches of a few
microseconds each (``nonzero``, ``index_put_``, the neuron's arithmetic term by term); these kernels do the
same float32 arithmetic, in the same order, in two compiled loops, in place on the (zero-copy) numpy views of
the agent's tensors:

* ``stdp_and_deliver``: the spikes of the last ms (``v >= v_peak``), their STDP tags (``stdp_update``), the
  trace set to 1 where they spiked, and their delayed input scheduled in the ring buffer (``deliver_spikes``);
* ``izhikevich_and_trace_step``: the input arriving now plus the background (``read_input``), the neurons'
  step (``izhikevich_step``), the traces' and the dopamine's decay (with ``flush_tiny_``'s zero below ``TINY``);
* ``run_block``: many ms of both, the weight update every 10 ms and each step's reward, for the rollout loop's
  blocks (``DASTDPAgent.predict_block``), one network per numba thread.

Each equals its torch counterpart to the bit (tested step for step, and a block against its steps). CUDA uses
the torch operations. If numba cannot be imported, ``AVAILABLE`` is False and the agents use the torch
operations everywhere.
"""

from __future__ import annotations

import numpy as np

from agents.core.kernels import AVAILABLE, inline, jit, jit_parallel, philox4x32, prange, uniform24
from agents.core.traces import TINY

__all__ = ["AVAILABLE", "background_into", "izhikevich_and_trace_step", "run_block", "stdp_and_deliver"]

_F32 = np.float32
_TINY = np.float32(TINY)  # the traces, tags and dopamine are set to 0 below it, as ``traces.flush_tiny_`` does


@jit
def _decayed(x: np.float32, decay: np.float32) -> np.float32:
    """``x decay``, or 0 if its magnitude is below ``TINY`` (``trace_decay`` then ``flush_tiny_``)."""
    y = x * decay
    return y if abs(y) >= _TINY else _F32(0.0)


@inline
def _current(word, amplitude):
    """``amplitude (U - 0.5)`` with U the top 24 bits of a Philox word times 2^-24."""
    return (uniform24(word) - _F32(0.5)) * amplitude


@jit
def _network_background(out: np.ndarray, key: np.ndarray, step: int, amplitude: np.float32) -> None:
    """One network's background current of ``step`` into ``out`` (N,): ``amplitude (U - 0.5)`` with U
    ``noise.counter_uniform(key, step, N)``, the same float32 operations."""
    n = out.shape[0]
    low, high = np.uint32(step & 0xFFFFFFFF), np.uint32((step >> 32) & 0xFFFFFFFF)
    k0, k1 = key[0], key[1]
    for q in range(n // 4):
        w0, w1, w2, w3 = philox4x32(np.uint32(q), low, high, np.uint32(0), k0, k1)
        out[4 * q] = _current(w0, amplitude)
        out[4 * q + 1] = _current(w1, amplitude)
        out[4 * q + 2] = _current(w2, amplitude)
        out[4 * q + 3] = _current(w3, amplitude)
    if n % 4:  # the last, partial quad
        q = n // 4
        w0, w1, w2, _ = philox4x32(np.uint32(q), low, high, np.uint32(0), k0, k1)
        out[4 * q] = _current(w0, amplitude)
        if n % 4 > 1:
            out[4 * q + 1] = _current(w1, amplitude)
        if n % 4 > 2:
            out[4 * q + 2] = _current(w2, amplitude)


@jit
def background_into(out: np.ndarray, keys: np.ndarray, step: int, amplitude: np.float32) -> None:
    """The background current of ``step`` for B networks, ``out`` (B, N), with their Philox ``keys`` (B, 2)
    uint32."""
    for b in range(out.shape[0]):
        _network_background(out[b], keys[b], step, amplitude)


@jit
def _network_spikes(v: np.ndarray, v_peak: np.float32, spikes: np.ndarray, spiking: np.ndarray) -> int:
    """One network's spikes of the last ms (``v >= v_peak``) into ``spikes`` (N,) and, in increasing order, the
    indices of the spiking neurons into ``spiking`` (N,); returns how many spiked."""
    count = 0
    for i in range(v.shape[0]):
        fired = v[i] >= v_peak
        spikes[i] = fired
        if fired:
            spiking[count] = i
            count += 1
    return count


@jit
def _network_tags_and_delivery(
    spiking: np.ndarray,
    count: int,
    trace: np.ndarray,
    tag: np.ndarray,
    post: np.ndarray,
    delay: np.ndarray,
    weight: np.ndarray,
    incoming: np.ndarray,
    incoming_mask: np.ndarray,
    buffer: np.ndarray,
    t_emitted: int,
    a_plus: np.float32,
    a_minus: np.float32,
    plastic: bool,
) -> None:
    """``stdp_and_deliver`` for one network, given its ``count`` spiking neurons ``spiking[:count]``."""
    m_out = post.shape[1]
    if plastic:
        for s in range(count):
            i = spiking[s]
            for k in range(incoming.shape[1]):
                if incoming_mask[i, k]:
                    synapse = incoming[i, k]
                    j = synapse // m_out
                    tag[j, synapse - j * m_out] += a_plus * trace[j]
        for s in range(count):
            i = spiking[s]
            for m in range(m_out):
                tag[i, m] -= a_minus * trace[post[i, m]]
    for s in range(count):
        trace[spiking[s]] = _F32(1.0)
    slots = buffer.shape[0]
    emitted = t_emitted % slots
    for s in range(count):
        j = spiking[s]
        for m in range(m_out):
            slot = emitted + delay[j, m]  # delays are in 0 .. D: one wrap at most
            if slot >= slots:
                slot -= slots
            buffer[slot, post[j, m]] += weight[j, m]


@jit
def stdp_and_deliver(
    v: np.ndarray,
    v_peak: np.float32,
    spikes: np.ndarray,
    trace: np.ndarray,
    tag: np.ndarray,
    post: np.ndarray,
    delay: np.ndarray,
    weight: np.ndarray,
    incoming: np.ndarray,
    incoming_mask: np.ndarray,
    buffer: np.ndarray,
    t_emitted: int,
    a_plus: np.float32,
    a_minus: np.float32,
    plastic: bool,
) -> None:
    """The last ms's spikes into ``spikes`` (B, N); if ``plastic``, their pairings into ``tag`` (B, N, M)
    with the traces read before the spikes set them (LTP ``tag_ji += A+ x_j`` for every synapse onto a spiking
    i, then LTD ``tag_im -= A- x_post(i, m)`` for every synapse of a spiking i); the traces set to 1 where
    spiking; and each spike's ``weight`` added to its targets' slots ``(t_emitted + delay) % (D + 1)`` of
    ``buffer`` (B, D + 1, N), in the order of ``deliver_spikes``."""
    spiking = np.empty(v.shape[1], dtype=np.int64)
    for b in range(v.shape[0]):
        count = _network_spikes(v[b], v_peak, spikes[b], spiking)
        if count:
            _network_tags_and_delivery(
                spiking, count, trace[b], tag[b], post[b], delay[b], weight[b], incoming[b], incoming_mask[b],
                buffer[b], t_emitted, a_plus, a_minus, plastic,
            )  # fmt: skip


@jit
def _network_neurons(
    v: np.ndarray,
    u: np.ndarray,
    drive: np.ndarray,
    noise: np.ndarray,
    add_noise: bool,
    a: np.ndarray,
    b_recovery: np.ndarray,
    c: np.ndarray,
    d: np.ndarray,
    v_peak: np.float32,
    trace: np.ndarray,
    trace_decay: np.float32,
) -> None:
    """``izhikevich_step`` of one network (N,) in place with the current ``drive + noise`` (if ``add_noise``:
    ``drive`` is the ring buffer's slot arriving now, cleared as it is read) or ``drive``; then the trace's decay.
    Branch-free in the neuron (the reset as a select) so that the loop runs in SIMD lanes; the same float32
    operations in the same order."""
    half, k2, k1, k0, zero = _F32(0.5), _F32(0.04), _F32(5.0), _F32(140.0), _F32(0.0)
    for i in range(v.shape[0]):
        if add_noise:
            current = drive[i] + noise[i]
            drive[i] = zero
        else:
            current = drive[i]
        fired = v[i] >= v_peak
        vi = c[i] if fired else v[i]
        ui = u[i] + d[i] if fired else u[i]
        vi = vi + half * ((k2 * vi + k1) * vi + k0 - ui + current)  # two 0.5-ms half-steps, as daspnet.m
        vi = vi + half * ((k2 * vi + k1) * vi + k0 - ui + current)
        u[i] = ui + a[i] * (b_recovery[i] * vi - ui)
        v[i] = vi
        trace[i] = _decayed(trace[i], trace_decay)


@jit
def izhikevich_and_trace_step(
    v: np.ndarray,
    u: np.ndarray,
    buffer: np.ndarray,
    slot: int,
    keys: np.ndarray,
    step: int,
    amplitude: np.float32,
    current: np.ndarray,
    read_buffer: bool,
    a: np.ndarray,
    b_recovery: np.ndarray,
    c: np.ndarray,
    d: np.ndarray,
    v_peak: np.float32,
    trace: np.ndarray,
    trace_decay: np.float32,
    dopamine: np.ndarray,
    dopamine_decay: np.float32,
) -> None:
    """``izhikevich_step`` in place on ``v``, ``u`` (B, N), then ``trace *= trace_decay`` and ``dopamine *=
    dopamine_decay`` (B,). The current is, if ``read_buffer``, the input arriving now plus the background,
    ``buffer[:, slot]`` plus the background current of ``step`` (``read_input`` then ``+``; the slot is cleared;
    ``background_into`` with the networks' ``keys`` and ``amplitude``), else ``current`` (B, N), which the caller
    made so (with the task's extra currents added)."""
    noise = np.empty(v.shape[1], dtype=np.float32)
    for b in range(v.shape[0]):
        if read_buffer:
            _network_background(noise, keys[b], step, amplitude)
        _network_neurons(
            v[b], u[b], buffer[b, slot] if read_buffer else current[b], noise, read_buffer, a, b_recovery, c, d,
            v_peak, trace[b], trace_decay,
        )  # fmt: skip
        dopamine[b] = _decayed(dopamine[b], dopamine_decay)


@jit
def _network_weight_update(
    weight: np.ndarray, tag: np.ndarray, n_excitatory: int, drive: np.float32, w_max: np.float32, tag_decay: np.float32
) -> None:
    """One network's ``s <- clip(s + drive c, 0, w_max)`` on the excitatory rows, then ``c <- tag_decay c`` on all
    rows, as flat loops over the contiguous (N, M) arrays."""
    w, c = weight.reshape(-1), tag.reshape(-1)
    zero = _F32(0.0)
    for s in range(n_excitatory * weight.shape[1]):
        w[s] = min(max(w[s] + drive * c[s], zero), w_max)
    for s in range(c.shape[0]):
        c[s] = _decayed(c[s], tag_decay)


@jit_parallel
def run_block(
    v: np.ndarray,
    u: np.ndarray,
    spikes: np.ndarray,
    trace: np.ndarray,
    tag: np.ndarray,
    post: np.ndarray,
    delay: np.ndarray,
    weight: np.ndarray,
    incoming: np.ndarray,
    incoming_mask: np.ndarray,
    buffer: np.ndarray,
    keys: np.ndarray,
    amplitude: np.float32,
    a: np.ndarray,
    b_recovery: np.ndarray,
    c: np.ndarray,
    d: np.ndarray,
    v_peak: np.float32,
    trace_decay: np.float32,
    dopamine: np.ndarray,
    dopamine_decay: np.float32,
    a_plus: np.float32,
    a_minus: np.float32,
    plastic: bool,
    t: int,
    n_excitatory: int,
    update_every: int,
    d_tonic: np.float32,
    w_max: np.float32,
    tag_decay: np.float32,
    reward_increment: np.float32,
    rewards: np.ndarray,
    watched: np.ndarray,
    actions: np.ndarray,
    stimulate: bool,
    observations: np.ndarray,
    groups: np.ndarray,
    pulse: np.float32,
    current: np.ndarray,
) -> None:
    """``rewards.shape[1]`` ms of the whole network, each as the agent's ``_act`` then ``_observe`` do it on the
    fused path: ``stdp_and_deliver``, ``izhikevich_and_trace_step`` (the background of the clock's step),
    the clock ``t`` advanced, every ``update_every`` ms (if ``plastic``) ``s <- clip(s + (d + d_tonic) c, 0, w_max)``
    on the excitatory rows and ``c <- tag_decay c`` on all, the watched neurons' spikes into ``actions`` (B, K, k),
    and (if ``plastic``) ``d += reward_increment * rewards[:, k]``: the reward of the step, after it.

    If ``stimulate`` (input_mode "stimulus"), the neurons' current is the arriving input plus the background, plus
    ``pulse`` into every neuron of ``groups[b, s]`` (B, S, G) for each stimulus s on in ``observations[b, k]``
    (> 0.5), added one stimulus after the other into the scratch ``current`` (B, N)."""
    n_batch, n = v.shape
    slots = buffer.shape[1]
    for b in prange(n_batch):  # the networks are independent: one thread each
        spiking = np.empty(n, dtype=np.int64)
        noise = np.empty(n, dtype=np.float32)
        vb, ub, spikes_b, trace_b, tag_b, weight_b, buffer_b, current_b = (
            v[b],
            u[b],
            spikes[b],
            trace[b],
            tag[b],
            weight[b],
            buffer[b],
            current[b],
        )
        post_b, delay_b, incoming_b, mask_b = post[b], delay[b], incoming[b], incoming_mask[b]
        clock = t
        for k in range(rewards.shape[1]):
            count = _network_spikes(vb, v_peak, spikes_b, spiking)
            if count:
                _network_tags_and_delivery(
                    spiking, count, trace_b, tag_b, post_b, delay_b, weight_b, incoming_b, mask_b, buffer_b,
                    clock - 1, a_plus, a_minus, plastic,
                )  # fmt: skip
            arriving = buffer_b[clock % slots]
            _network_background(noise, keys[b], clock, amplitude)
            if stimulate:
                for i in range(n):
                    current_b[i] = arriving[i] + noise[i]
                    arriving[i] = _F32(0.0)
                for s in range(observations.shape[2]):
                    if observations[b, k, s] > 0.5:
                        for g in range(groups.shape[2]):
                            current_b[groups[b, s, g]] += pulse
                _network_neurons(
                    vb, ub, current_b, noise, False, a, b_recovery, c, d, v_peak, trace_b,
                    trace_decay,
                )  # fmt: skip
            else:
                _network_neurons(
                    vb, ub, arriving, noise, True, a, b_recovery, c, d, v_peak, trace_b,
                    trace_decay,
                )  # fmt: skip
            dopamine[b] = _decayed(dopamine[b], dopamine_decay)
            clock += 1
            if plastic and clock % update_every == 0:
                _network_weight_update(weight_b, tag_b, n_excitatory, dopamine[b] + d_tonic, w_max, tag_decay)
            for i in range(watched.shape[1]):
                actions[b, k, i] = spikes_b[watched[b, i]]
            if plastic:
                dopamine[b] = dopamine[b] + reward_increment * rewards[b, k]
