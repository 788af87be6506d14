"""Fused CPU kernels (numba) for B networks of Izhikevich neurons with delayed synapses and STDP tags.

A 1-ms step of Izhikevich's 1000-neuron network written as torch operations is some 30 dispatches of a few
microseconds each (``nonzero``, ``index_put_``, the neuron's arithmetic term by term); these kernels do the
same float32 arithmetic, in the same order, in two compiled loops, in place on the (zero-copy) numpy views of
the agent's tensors:

* ``stdp_and_deliver``: the spikes of the last ms (``v >= v_peak``), their STDP tags (``stdp_update``), the
  trace set to 1 where they spiked, and their delayed input scheduled in the ring buffer (``deliver_spikes``);
* ``izhikevich_and_trace_step``: the input arriving now plus the background (``read_input``), the neurons'
  step (``izhikevich_step``), the traces' and the dopamine's decay;
* ``run_block``: many ms of both, the weight update every 10 ms and each step's reward, for the rollout loop's
  blocks (``DASTDPAgent.predict_block``), one network per numba thread.

Each equals its torch counterpart to the bit (tested step for step, and a block against its steps). CUDA uses
the torch operations. If numba cannot be imported, ``AVAILABLE`` is False and the agents use the torch
operations everywhere.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba ships with spikegym; this guards exotic platforms
    numba = None

AVAILABLE = numba is not None
prange = numba.prange if AVAILABLE else range

_F32 = np.float32


def _jit(function):
    return numba.njit(cache=True, boundscheck=False)(function) if AVAILABLE else function


def _jit_parallel(function):
    """Compiled with its ``prange`` loop spread over numba's threads (``numba.set_num_threads``)."""
    return numba.njit(cache=True, boundscheck=False, parallel=True)(function) if AVAILABLE else function


@_jit
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
    n_batch, n = v.shape
    m_out = post.shape[2]
    k_in = incoming.shape[2]
    slots = buffer.shape[1]
    for b in range(n_batch):
        any_spike = False
        for i in range(n):
            fired = v[b, i] >= v_peak
            spikes[b, i] = fired
            any_spike = any_spike or fired
        if not any_spike:
            continue
        if plastic:
            for i in range(n):
                if spikes[b, i]:
                    for k in range(k_in):
                        if incoming_mask[b, i, k]:
                            synapse = incoming[b, i, k]
                            j = synapse // m_out
                            m = synapse - j * m_out
                            tag[b, j, m] += a_plus * trace[b, j]
            for i in range(n):
                if spikes[b, i]:
                    for m in range(m_out):
                        tag[b, i, m] -= a_minus * trace[b, post[b, i, m]]
        for i in range(n):
            if spikes[b, i]:
                trace[b, i] = _F32(1.0)
        for j in range(n):
            if spikes[b, j]:
                for m in range(m_out):
                    slot = (t_emitted + delay[b, j, m]) % slots
                    buffer[b, slot, post[b, j, m]] += weight[b, j, m]


@_jit
def izhikevich_and_trace_step(
    v: np.ndarray,
    u: np.ndarray,
    buffer: np.ndarray,
    slot: int,
    noise: np.ndarray,
    noise_pos: int,
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
    ``buffer[:, slot] + noise[:, noise_pos]`` (``read_input`` then ``+``; the slot is cleared), else ``current``
    (B, N), which the caller made so (with the task's extra currents added)."""
    n_batch, n = v.shape
    half, k2, k1, k0 = _F32(0.5), _F32(0.04), _F32(5.0), _F32(140.0)
    for b in range(n_batch):
        for i in range(n):
            if read_buffer:
                drive = buffer[b, slot, i] + noise[b, noise_pos, i]
                buffer[b, slot, i] = _F32(0.0)
            else:
                drive = current[b, i]
            vi = v[b, i]
            ui = u[b, i]
            if vi >= v_peak:
                vi = c[i]
                ui = ui + d[i]
            for _ in range(2):  # two 0.5-ms half-steps, as daspnet.m
                vi = vi + half * ((k2 * vi + k1) * vi + k0 - ui + drive)
            ui = ui + a[i] * (b_recovery[i] * vi - ui)
            v[b, i] = vi
            u[b, i] = ui
            trace[b, i] = trace[b, i] * trace_decay
        dopamine[b] = dopamine[b] * dopamine_decay


@_jit_parallel
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
    noise: np.ndarray,
    noise_pos: int,
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
    fused path: ``stdp_and_deliver``, ``izhikevich_and_trace_step`` on the background ``noise[:, noise_pos + k]``,
    the clock ``t`` advanced, every ``update_every`` ms (if ``plastic``) ``s <- clip(s + (d + d_tonic) c, 0, w_max)``
    on the excitatory rows and ``c <- tag_decay c`` on all, the watched neurons' spikes into ``actions`` (B, K, k),
    and (if ``plastic``) ``d += reward_increment * rewards[:, k]``: the reward of the step, after it.

    If ``stimulate`` (input_mode "stimulus"), the neurons' current is the arriving input plus the background, plus
    ``pulse`` into every neuron of ``groups[b, s]`` (B, S, G) for each stimulus s on in ``observations[b, k]``
    (> 0.5), added one stimulus after the other into the scratch ``current`` (B, N)."""
    n_batch = v.shape[0]
    m_out = weight.shape[2]
    for b in prange(n_batch):  # the networks are independent: one thread each
        one = slice(b, b + 1)
        clock = t
        for k in range(rewards.shape[1]):
            stdp_and_deliver(
                v[one], v_peak, spikes[one], trace[one], tag[one], post[one], delay[one], weight[one],
                incoming[one], incoming_mask[one], buffer[one], clock - 1, a_plus, a_minus, plastic,
            )  # fmt: skip
            slot = clock % buffer.shape[1]
            if stimulate:
                for i in range(v.shape[1]):
                    current[b, i] = buffer[b, slot, i] + noise[b, noise_pos + k, i]
                    buffer[b, slot, i] = _F32(0.0)
                for s in range(observations.shape[2]):
                    if observations[b, k, s] > 0.5:
                        for g in range(groups.shape[2]):
                            current[b, groups[b, s, g]] += pulse
            izhikevich_and_trace_step(
                v[one], u[one], buffer[one], slot, noise[one], noise_pos + k, current[one], not stimulate, a,
                b_recovery, c, d, v_peak, trace[one], trace_decay, dopamine[one], dopamine_decay,
            )  # fmt: skip
            clock += 1
            if plastic and clock % update_every == 0:
                drive = dopamine[b] + d_tonic
                for j in range(n_excitatory):
                    for m in range(m_out):
                        w = weight[b, j, m] + drive * tag[b, j, m]
                        weight[b, j, m] = min(max(w, _F32(0.0)), w_max)
                for j in range(tag.shape[1]):
                    for m in range(m_out):
                        tag[b, j, m] = tag[b, j, m] * tag_decay
            for i in range(watched.shape[1]):
                actions[b, k, i] = spikes[b, watched[b, i]]
            if plastic:
                dopamine[b] = dopamine[b] + reward_increment * rewards[b, k]
