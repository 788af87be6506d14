"""Traces: running means and eligibility accumulators.

``running_mean`` is the low-pass trace Miconi uses to detrend activity,
``x_bar <- alpha x_bar + (1 - alpha) x``.

``OuterProductAccumulator`` keeps ``E[b] += sum_t outer(pre_t[b]**k, post_t[b]**k)`` exactly without an
N x N update per step: it stores the per-step factors in a (B, C, N) chunk and adds the whole chunk with
one batched matrix product, ``E += PRE^T @ POST``, when the chunk fills or the sum is read. Any rule
whose per-step eligibility increment factorises into a presynaptic and a postsynaptic term uses it
(Miconi's ``(r_j dx_i)^3 = r_j^3 dx_i^3``, node perturbation's ``r_j xi_i``).

Spike-based traces for STDP and reward-modulated STDP: exponential spike traces, the pairwise STDP
window realised online with pre- and postsynaptic traces over a sparse ``Connectivity``, and the
exponential (Izhikevich 2007) and alpha-shaped (Legenstein et al. 2008) eligibility traces.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from agents.core.synapses import Connectivity


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

    @property
    def room(self) -> int:
        """How many more steps the pending chunk takes before it is folded."""
        return self._pre.shape[1] - self._filled

    @property
    def buffers(self) -> tuple[Tensor, Tensor]:
        """The pending chunk's buffers, (B, C, n_pre) and (B, C, n_post), for a compiled step to write its factors
        into in place, in the rows ``free_rows`` gives."""
        return self._pre, self._post

    def free_rows(self, k: int) -> int:
        """The first of ``k`` free rows in ``buffers`` (``k <= room``); ``filled(k)`` then counts them in. The sum
        is the one ``add`` gives for the same rows, to the bit: the chunks fold at the same steps."""
        if not 0 < k <= self.room:
            raise ValueError(f"{k} rows asked for; the pending chunk has room for {self.room}")
        return self._filled

    def filled(self, k: int) -> None:
        """Counts in the ``k`` rows written after ``free_rows(k)``, folding the chunk when it is full."""
        self._filled += k
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


def decay_factor(tau_ms: float, dt_ms: float) -> float:
    """``exp(-dt / tau)``, the exact per-step decay of ``tau dx/dt = -x``.

    Izhikevich's (2007) factors are per-step decays: 0.95 per ms is tau = -1 / ln 0.95 = 19.5 ms
    (the paper's 20 ms); 0.99 per 10 ms is tau_c = -10 / ln 0.99 = 995 ms (the paper's 1 s).
    """
    return math.exp(-dt_ms / tau_ms)


def spike_trace_step(
    trace: Tensor, spikes: Tensor, decay: float, amplitude: float, mode: Literal["add", "set"] = "add"
) -> Tensor:
    """One step of an exponential spike trace, ``x <- x decay`` and then, at a spike, ``x <- x + A`` ("add",
    all-to-all pairing) or ``x <- A`` ("set", nearest-spike pairing; Izhikevich 2007 sets 0.1 at a spike
    and decays it by 0.95 per ms).

    For STDP read the trace *between* the decay and the spike (``stdp_update`` before this step's spikes
    are added): ``trace_decay`` and ``trace_spike`` are the two halves.
    """
    return trace_spike(trace_decay(trace, decay), spikes, amplitude, mode)


TINY = 2.0**-100
"""Below this magnitude ``flush_tiny_`` sets a trace to zero: far below anything a rule can resolve (an STDP
amplitude times it is still a normal float32), and far above float32's subnormal range (< 2^-126), where a CPU
takes some hundred times longer per operation. A trace that decays by 0.95 per ms reaches the subnormals some
1.7 s after its last spike, so most of a sparsely firing network's traces would be there."""


def flush_tiny_(x: Tensor, tiny: float = TINY) -> Tensor:
    """``x`` set to zero where ``|x| < tiny`` (in place; returns ``x``)."""
    return x.masked_fill_(x.abs() < tiny, 0.0)


def trace_decay(trace: Tensor, decay: float) -> Tensor:
    """``x decay`` (a new tensor)."""
    return trace * decay


def trace_spike(trace: Tensor, spikes: Tensor, amplitude: float, mode: Literal["add", "set"] = "add") -> Tensor:
    """The trace after this step's spikes: ``x + A s`` ("add") or ``A`` where spiking ("set")."""
    if mode == "add":
        return trace + amplitude * spikes.to(trace.dtype)
    if mode == "set":
        return torch.where(spikes, torch.full_like(trace, amplitude), trace)
    raise ValueError(f"mode must be 'add' or 'set', got {mode!r}")


def stdp_update(
    tag: Tensor,
    pre_trace: Tensor,
    post_trace: Tensor,
    spikes: Tensor,
    conn: Connectivity,
    a_plus: float,
    a_minus: float,
) -> Tensor:
    """Adds this step's pairwise STDP contributions to the synaptic tags (in place; returns ``tag``).

    With traces ``x_j = sum_{pre spikes} e^{-(t - t_j)/tau+}`` and ``y_i = sum_{post spikes}
    e^{-(t - t_i)/tau-}`` (``spike_trace_step`` with amplitude 1, read after the decay and before this
    step's spikes are added), the event-driven updates::

        post spike of i:  tag_ji += A+ x_j      (pre before post: LTP)
        pre spike of j:   tag_ji -= A- y_i      (post before pre: LTD)

    sum to the pairwise window ``W(dt) = A+ e^{-dt/tau+}`` for dt = t_post - t_pre > 0,
    ``-A- e^{dt/tau-}`` for dt < 0, and 0 for simultaneous spikes. Only the spiking neurons' synapses
    are touched (``nonzero`` + ``index_put_``); pre and post are the same population (recurrent
    network), the synapses are ``conn``'s. Pre events are taken at spike emission: with conduction
    delays the window is shifted by the delay relative to arrival-time STDP (spnet.m / daspnet.m pair
    at arrival; equal up to 1 ms for daspnet's D = 1).

    Args:
        tag: (B, N, M) per-synapse tag (synapse m of neuron j is ``tag[b, j, m]``).
        pre_trace, post_trace: (B, N) traces (the same tensor for symmetric traces).
        spikes: (B, N) bool spikes of this step.
        a_plus, a_minus: the window's amplitudes (multiply the trace amplitudes).
    """
    batch, n, m = tag.shape
    flat = tag.view(batch, n * m)
    b, i = spikes.nonzero(as_tuple=True)
    if b.numel():
        ids = conn.incoming[b, i]  # (K, width) synapse ids onto the spiking neurons
        pre = torch.div(ids, m, rounding_mode="floor")
        dw = a_plus * pre_trace[b[:, None], pre] * conn.incoming_mask[b, i]  # padding contributes 0
        flat.index_put_((b[:, None].expand_as(ids), ids), dw, accumulate=True)
        targets = conn.post[b, i]  # (K, M) the spiking neurons as presynaptic
        tag[b, i] -= a_minus * post_trace[b[:, None], targets]
    return tag


def eligibility_decay(tag: Tensor, decay: float) -> Tensor:
    """Exponential eligibility, ``tau_c dc/dt = -c + STDP(...)`` (Izhikevich 2007, tau_c = 1 s): the
    decay half, ``c <- c e^{-dt/tau_c}`` (in place; returns ``tag``); ``stdp_update`` adds the rest.

    daspnet.m decays by 0.99 once every 10 ms instead; ``decay_factor(995, 1)`` per ms gives the same
    factor at every 10-ms boundary and decays smoothly in between.
    """
    return tag.mul_(decay)


class AlphaState(NamedTuple):
    """Two cascaded exponential filters whose second stage is an alpha-kernel filter of the input."""

    y1: Tensor  # first stage, e^{-s/tau} response
    y2: Tensor  # second stage, (s/tau) e^{1 - s/tau} response (peak 1 at s = tau)


def alpha_init(
    shape: tuple[int, ...], *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> AlphaState:
    """Both stages at rest."""
    zeros = torch.zeros(shape, dtype=dtype, device=device)
    return AlphaState(y1=zeros, y2=zeros.clone())


def alpha_step(impulses: Tensor, state: AlphaState, dt_ms: float, tau_ms: float) -> AlphaState:
    """One exact step of the alpha-kernel filter ``y2 = f * x`` with ``f(s) = (s/tau) e^{1 - s/tau}``.

    An alpha kernel is two identical exponentials in cascade::

        tau y1' = -y1 + tau x,      tau y2' = -y2 + e y1

    (an impulse gives y1 = e^{-s/tau}, y2 = (e/tau) int_0^s e^{-(s-u)/tau} e^{-u/tau} du = f(s)).
    Over a step h with the input arriving as impulses at the step's end, the exact solution is, with
    lambda = e^{-h/tau}::

        y2 <- lambda (y2 + (e h / tau) y1),      y1 <- lambda y1 + x

    so an impulse at step 0 gives y2 at step k equal to f(k h) exactly. The kernel peaks at 1 at
    s = tau and integrates to e tau: scale by ``1 / (e tau)`` for unit area. Legenstein et al. (2008)
    filter the STDP pairings with it (tau_e = 0.4 s) to get the eligibility trace c(t).
    """
    decay = math.exp(-dt_ms / tau_ms)
    y2 = decay * (state.y2 + (math.e * dt_ms / tau_ms) * state.y1)
    y1 = decay * state.y1 + impulses
    return AlphaState(y1=y1, y2=y2)


class EventDrivenEligibility:
    """Alpha-kernel eligibility traces of S synapses per network and the weights they drive, ``dw/dt = eta c d``,
    advanced only where something happens (Legenstein et al. 2008 on a sparse recurrent network).

    Dense, every step would cost ``alpha_step`` on every synapse and ``w += eta c d dt`` on every synapse. But
    between two events of a synapse (a pairing of its pre or post neuron, or its weight being read) its trace
    evolves in closed form, ``y1_s = lambda^k y1``, ``y2_s = lambda^k (y2 + k a y1)`` (k = s - t0, lambda =
    e^{-dt/tau}, a = e dt / tau; see ``alpha_step``), so the weight change it accumulates,

        eta' sum_{s = t0+1}^{t} d_s y2_s = eta' lambda^{-t0} [y2 (A_t - A_t0) + a y1 ((B_t - B_t0) - t0 (A_t - A_t0))],

    needs only two running sums per network, ``A_t = sum_{s<=t} d_s lambda^s`` and ``B_t = sum_{s<=t} d_s s
    lambda^s``, their history kept for one epoch of ``epoch_steps`` (lambda^-epoch stays well inside float32),
    after which every synapse is brought up to date and the clock restarts. A synapse is brought up to date
    only when touched: the same weights as the dense update step for step, up to float round-off, except that
    the bounds [0, w_max] are applied when the synapse is touched (at each spike of its pre or post neuron,
    and at each epoch's end) instead of every step.

    An impulse x at step t (d_t not known yet) is folded in as if it were part of the state at t - 1:
    ``y1 += x / lambda``, ``y2 -= a x / lambda``, which gives the same y1_s, y2_s for every s >= t (y2_t does not
    depend on x_t).

    Protocol per step: ``tick()`` first; then ``pair`` and ``read`` (which bring synapses up to the previous
    step); ``reward(d)`` once the step's d is known (never calling it means d = 0). ``flush()`` between
    steps brings every synapse up to date (before reading all weights).

    Synapses are addressed by flat index ``b * S + s``.

    Args:
        weight: (B, S) contiguous view of the weights this rule changes (changed in place).
        upper: (B, S) upper bound per synapse (w_max where plastic; the weight itself where not).
        plastic: (B, S) bool: synapses whose weight changes (eligibility elsewhere is kept but not applied).
        tau_ms, dt_ms: the alpha kernel's time constant and the step.
        rate: eta' = eta dt, the weight change per unit of c d per step.
        epoch_steps: default: the steps over which lambda falls by e^-4.
    """

    def __init__(
        self,
        weight: Tensor,
        upper: Tensor,
        plastic: Tensor,
        tau_ms: float,
        dt_ms: float,
        rate: float,
        *,
        epoch_steps: int | None = None,
    ) -> None:
        self.weight, self.upper = weight, upper
        self.plastic = plastic.to(weight.dtype)
        self.y1 = torch.zeros_like(weight)
        self.y2 = torch.zeros_like(weight)
        self.last = torch.zeros(weight.shape, dtype=torch.long, device=weight.device)
        self.decay = math.exp(-dt_ms / tau_ms)
        self.a = math.e * dt_ms / tau_ms
        self.rate = float(rate)
        self.epoch_steps = int(epoch_steps or max(1, round(4 * tau_ms / dt_ms)))
        # the running sums and their coefficients in float64: (B_t - B_t0) - t0 (A_t - A_t0) cancels
        steps = torch.arange(self.epoch_steps + 1, dtype=torch.float64, device=weight.device)
        self._pow64 = self.decay**steps  # lambda^s
        self._inv_pow64 = self.decay ** (-steps)  # lambda^-s
        self._pow = self._pow64.to(weight.dtype)
        batch = weight.shape[0]
        self._row = torch.arange(batch, device=weight.device) * (self.epoch_steps + 1)
        self.A = torch.zeros(batch, self.epoch_steps + 1, dtype=torch.float64, device=weight.device)
        self.B = torch.zeros_like(self.A)
        self.now = 0  # steps since the epoch began; A[:, now] holds the current step's d

    def tick(self) -> None:
        """Starts a step (restarting the epoch when it is full)."""
        if self.now == self.epoch_steps:
            self.flush()
            self.last.zero_()
            self.A.zero_()
            self.B.zero_()
            self.now = 0
        self.now += 1
        self.A[:, self.now] = self.A[:, self.now - 1]
        self.B[:, self.now] = self.B[:, self.now - 1]

    def reward(self, d: Tensor) -> None:
        """This step's reward signal d, (B,)."""
        d = d.to(torch.float64)
        self.A[:, self.now] += d * self._pow64[self.now]
        self.B[:, self.now] += d * (self.now * self._pow64[self.now])

    def _catch_up(self, index: Tensor, through: int) -> None:
        """Brings the synapses at flat ``index`` (no repeats) up to step ``through``: weight change and trace."""
        S = self.weight.shape[1]
        t0 = self.last.view(-1).index_select(0, index)
        y1 = self.y1.view(-1).index_select(0, index)
        y2 = self.y2.view(-1).index_select(0, index)
        row = self._row.index_select(0, torch.div(index, S, rounding_mode="floor"))
        A, B = self.A.view(-1), self.B.view(-1)
        A0 = A.index_select(0, row + t0)
        dA = A.index_select(0, row + through) - A0
        dB = B.index_select(0, row + through) - B.index_select(0, row + t0)
        scale = self._inv_pow64.index_select(0, t0)
        coef_y2 = (scale * dA).to(y2.dtype)
        coef_y1 = (scale * (dB - t0 * dA)).to(y1.dtype)
        change = y2 * coef_y2 + self.a * y1 * coef_y1
        w = self.weight.view(-1).index_select(0, index)
        w = w + self.rate * change * self.plastic.view(-1).index_select(0, index)
        w = torch.minimum(w.clamp_(min=0.0), self.upper.view(-1).index_select(0, index))
        self.weight.view(-1).index_copy_(0, index, w)
        k = through - t0
        lam = self._pow.index_select(0, k)
        self.y2.view(-1).index_copy_(0, index, lam * (y2 + (self.a * k.to(y1.dtype)) * y1))
        self.y1.view(-1).index_copy_(0, index, lam * y1)
        self.last.view(-1).index_fill_(0, index, through)

    def pair(self, index: Tensor, x: Tensor) -> None:
        """Adds this step's STDP pairings ``x`` to the synapses at flat ``index`` (no repeats within a call)."""
        if index.numel() == 0:
            return
        self._catch_up(index, self.now - 1)
        self.y1.view(-1).index_add_(0, index, x / self.decay)
        self.y2.view(-1).index_add_(0, index, x * (-self.a / self.decay))

    def read(self, index: Tensor) -> Tensor:
        """Weights of the synapses at flat ``index`` (no repeats), up to date for use in this step."""
        self._catch_up(index, self.now - 1)
        return self.weight.view(-1).index_select(0, index)

    def flush(self) -> None:
        """Brings every synapse up to date (between steps: through the current step)."""
        self._catch_up(torch.arange(self.weight.numel(), device=self.weight.device), self.now)

    def state(self) -> dict[str, Tensor]:
        return {
            "y1": self.y1,
            "y2": self.y2,
            "last": self.last,
            "A": self.A,
            "B": self.B,
            "now": torch.tensor(self.now),
        }

    def load(self, state: dict[str, Tensor]) -> None:
        for key in ("y1", "y2", "last", "A", "B"):
            getattr(self, key).copy_(state[key])
        self.now = int(state["now"])
