"""The spiking core against its equations: neurons, synapses, traces, modulators."""

import math

import pytest
import torch

from agents.core import (
    BatchGenerators,
    CondLIFParameters,
    DopamineParameters,
    LIFParameters,
    RewardKernelParameters,
    alpha_init,
    alpha_step,
    cond_lif_init,
    cond_lif_step,
    decay_factor,
    delay_buffer_init,
    deliver_spikes,
    dopamine_effective,
    dopamine_init,
    dopamine_step,
    eligibility_decay,
    fixed_fanout_connectivity,
    izhikevich_init,
    izhikevich_parameters,
    izhikevich_step,
    lif_init,
    lif_step,
    ou_step,
    read_input,
    reward_kernel,
    reward_kernel_init,
    reward_kernel_step,
    spike_trace_step,
    stdp_update,
    trace_decay,
    trace_spike,
)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- Izhikevich


def _izhikevich_reference(a, b, c, d, current, steps):
    """daspnet.m's loop in plain Python, one neuron."""
    v, u, times = -65.0, b * -65.0, []
    for t in range(steps):
        if v >= 30.0:
            times.append(t)
            v, u = c, u + d
        v += 0.5 * ((0.04 * v + 5) * v + 140 - u + current)
        v += 0.5 * ((0.04 * v + 5) * v + 140 - u + current)
        u += a * (b * v - u)
    return times


def _izhikevich_spike_times(params, current, steps):
    state = izhikevich_init(1, params)
    out = []
    for _ in range(steps):
        spikes, state = izhikevich_step(torch.full_like(state.v, current), state, params)
        out.append(spikes[0])
    return torch.stack(out)  # (T, N)


def test_regular_spiking_matches_the_daspnet_scheme_spike_for_spike():
    params = izhikevich_parameters(1, 1, dtype=torch.float64)
    raster = _izhikevich_spike_times(params, 10.0, 1000)
    rs = raster[:, 0].nonzero().flatten().tolist()
    assert rs == _izhikevich_reference(0.02, 0.2, -65.0, 8.0, 10.0, 1000)
    assert 5 <= len(rs) <= 40  # tonic spiking at a plausible rate (Izhikevich 2003 Fig. 2: ~10 Hz)
    # (the 1-ms scheme lets v overshoot 30 mV by varying amounts, so the intervals jitter by ~+-15%)
    assert torch.diff(torch.tensor(rs[2:])).float().std() < 10
    fs = raster[:, 1].nonzero().flatten().tolist()
    assert fs == _izhikevich_reference(0.1, 0.2, -65.0, 2.0, 10.0, 1000)
    assert len(fs) > 2 * len(rs)  # fast spiking fires faster for the same input


def test_izhikevich_reset_and_population_parameters():
    params = izhikevich_parameters()
    assert params.a.shape == (1000,)
    assert torch.all(params.a[:800] == 0.02) and torch.all(params.a[800:] == 0.1)
    assert torch.all(params.d[:800] == 8.0) and torch.all(params.d[800:] == 2.0)
    assert torch.all(params.b == 0.2) and torch.all(params.c_mV == -65.0)
    state = izhikevich_init(2, params)
    state = state._replace(v=torch.full_like(state.v, 35.0), u=torch.zeros_like(state.u))
    spikes, new = izhikevich_step(torch.zeros_like(state.v), state, params)
    assert spikes.all()
    # after the reset v = -65, u = d, then the regular integration of the step
    v = torch.tensor(-65.0)
    u = params.d
    for _ in range(2):
        v = v + 0.5 * ((0.04 * v + 5) * v + 140 - u)
    torch.testing.assert_close(new.v[0], v)
    torch.testing.assert_close(new.u[1], u + params.a * (0.2 * v - u))


# ---------------------------------------------------------------- current-based LIF


def test_lif_subthreshold_trajectory_is_exact():
    p = LIFParameters(v_th_mV=100.0)
    state = lif_init(2, 3, p, dtype=torch.float64)
    current = torch.tensor([[0.0, 0.05, 0.1], [0.02, 0.03, 0.04]], dtype=torch.float64)
    dt = 0.7
    for _ in range(40):
        spikes, state = lif_step(current, state, p, dt)
        assert not spikes.any()
    t = 40 * dt
    v_inf = p.v_rest_mV + p.R_m_MOhm * current
    expected = v_inf + (p.v_rest_mV - v_inf) * math.exp(-t / p.tau_m_ms)
    torch.testing.assert_close(state.v, expected)


def test_lif_refractory_period_and_analytic_f_i_curve():
    p = LIFParameters()
    dt = 0.1
    currents = torch.tensor([[0.12, 0.2, 0.5, 1.0]], dtype=torch.float64)
    state = lif_init(1, 4, p, dtype=torch.float64)
    raster = []
    for _ in range(5000):
        spikes, state = lif_step(currents, state, p, dt)
        raster.append(spikes[0])
    raster = torch.stack(raster)
    v_inf = p.v_rest_mV + p.R_m_MOhm * currents[0]
    for k in range(4):
        times = raster[:, k].nonzero().flatten()
        periods = torch.diff(times)
        # discrete-time period: t_ref / dt held steps + the first step at which v crosses threshold
        rise = p.tau_m_ms / dt * math.log((v_inf[k] - p.v_reset_mV) / (v_inf[k] - p.v_th_mV))
        assert torch.all(periods == round(p.t_ref_ms / dt) + math.ceil(rise - 1e-9))
        # and the continuous f-I curve within a step's quantisation
        f_analytic = 1.0 / (p.t_ref_ms + p.tau_m_ms * math.log((v_inf[k] - p.v_reset_mV) / (v_inf[k] - p.v_th_mV)))
        assert abs(1.0 / (periods.double().mean() * dt) - f_analytic) / f_analytic < 0.02
        assert periods.min() * dt > p.t_ref_ms  # never fires inside the refractory period
    below = LIFParameters()
    sub = torch.full((1, 1), (below.v_th_mV - below.v_rest_mV) / below.R_m_MOhm * 0.99)
    state = lif_init(1, 1, below)
    for _ in range(2000):
        spikes, state = lif_step(sub, state, below, 1.0)
        assert not spikes.any()


def test_lif_holds_reset_during_refractoriness():
    p = LIFParameters(t_ref_ms=2.0)
    state = lif_init(1, 1, p)._replace(v=torch.full((1, 1), -58.0))
    spikes, state = lif_step(torch.full((1, 1), 5.0), state, p, 0.5)
    assert spikes.all() and state.v.item() == p.v_reset_mV
    held = []
    for _ in range(4):
        spikes, state = lif_step(torch.full((1, 1), 5.0), state, p, 0.5)
        held.append(state.v.item())
    assert held == [p.v_reset_mV] * 4  # 2 ms / 0.5 ms = 4 steps held
    spikes, state = lif_step(torch.full((1, 1), 5.0), state, p, 0.5)
    assert state.v.item() > p.v_reset_mV


# ---------------------------------------------------------------- conductance-based LIF


def test_ou_stationary_mean_and_std():
    p = CondLIFParameters()
    gens = BatchGenerators([3])
    g = torch.full((1, 2000), p.g_i0_mean_uS, dtype=torch.float64)
    samples = []
    for t in range(600):
        g = ou_step(g, p.g_i0_mean_uS, p.g_i0_sigma_uS, p.tau_i0_ms, 0.5, gens.normal(2000, dtype=torch.float64))
        if t >= 100:
            samples.append(g)
    samples = torch.stack(samples)
    assert abs(samples.mean().item() - p.g_i0_mean_uS) < 0.03 * p.g_i0_sigma_uS * 10
    assert abs(samples.std().item() / p.g_i0_sigma_uS - 1) < 0.03
    # lag-1 autocorrelation e^{-dt/tau}
    x = samples - p.g_i0_mean_uS
    rho = (x[1:] * x[:-1]).mean() / (x * x).mean()
    assert abs(rho.item() - math.exp(-0.5 / p.tau_i0_ms)) < 0.01


def test_conductance_decay_and_background_firing():
    p = CondLIFParameters()
    dt = 0.1
    gens = BatchGenerators([0, 1])
    state = cond_lif_init(2, 500, p)
    zeros = torch.zeros_like(state.v)
    kick = torch.full_like(state.v, 0.01)
    _, state = cond_lif_step(kick, 2 * kick, state, p, dt, gens)
    for _ in range(99):
        _, state = cond_lif_step(zeros, zeros, state, p, dt, gens)
    torch.testing.assert_close(state.g_e_uS, torch.full_like(zeros, 0.01 * math.exp(-10.0 / p.tau_e_ms)))
    torch.testing.assert_close(state.g_i_uS, torch.full_like(zeros, 0.02 * math.exp(-10.0 / p.tau_i_ms)))
    spikes_total = 0
    steps = 10_000  # 1 s
    for _ in range(steps):
        spikes, state = cond_lif_step(zeros, zeros, state, p, dt, gens)
        spikes_total += int(spikes.sum())
    rate_hz = spikes_total / (2 * 500) / (steps * dt / 1000)
    assert 0.5 < rate_hz < 30.0  # background alone: a few Hz (Legenstein: ~5 Hz target)


def test_cond_lif_network_alone_equals_network_in_batch():
    p = CondLIFParameters()
    alone, batched = BatchGenerators([7]), BatchGenerators([2, 7])
    s1, s2 = cond_lif_init(1, 20, p), cond_lif_init(2, 20, p)
    for _ in range(200):
        _, s1 = cond_lif_step(torch.zeros(1, 20), torch.zeros(1, 20), s1, p, 0.1, alone)
        _, s2 = cond_lif_step(torch.zeros(2, 20), torch.zeros(2, 20), s2, p, 0.1, batched)
    torch.testing.assert_close(s2.v[1], s1.v[0])


# ---------------------------------------------------------------- synapses


def _small_network(seeds=(0, 1), n_exc=40, n_inh=10, fan_out=12, max_delay=5):
    return fixed_fanout_connectivity(
        BatchGenerators(list(seeds)), n_exc, n_inh, fan_out, max_delay, 1.0, -1.0, inhibitory_delay_ms=None
    )


def test_connectivity_statistics():
    conn = fixed_fanout_connectivity(BatchGenerators([0, 1]), 800, 200, 100, 20, 1.0, -1.0)
    batch, n, m = conn.post.shape
    assert (batch, n, m) == (2, 1000, 100)
    rows = torch.arange(n)[None, :, None]
    assert not torch.any(conn.post == rows)  # no self-connections
    assert torch.all(conn.post[:, 800:] < 800)  # inhibitory neurons target excitatory ones only
    assert torch.all(torch.diff(conn.post, dim=2) > 0)  # sorted, hence no duplicate targets: fan-out exactly M
    assert conn.delay_ms[:, :800].min() == 1 and conn.delay_ms[:, :800].max() == 20
    assert torch.all(conn.delay_ms[:, 800:] == 1)
    assert torch.all(conn.weight[:, :800] == 1.0) and torch.all(conn.weight[:, 800:] == -1.0)
    # inhibitory targets uniform over the excitatory neurons: mean in-degree from inhibitory rows = 200 * 100 / 800
    from_inh = torch.bincount(conn.post[0, 800:].flatten(), minlength=1000)
    assert from_inh[800:].sum() == 0 and abs(from_inh[:800].float().mean().item() - 25.0) < 1e-4
    with pytest.raises(ValueError, match="fan_out"):
        fixed_fanout_connectivity(BatchGenerators([0]), 8, 2, 9, 5, 1.0, -1.0)
    full = fixed_fanout_connectivity(BatchGenerators([0]), 8, 2, 8, 5, 1.0, -1.0)  # inhibitory rows: all of E
    assert torch.equal(full.post[0, 8:], torch.arange(8).expand(2, 8))


def test_reverse_index_is_consistent_with_the_forward_one():
    conn = _small_network()
    batch, n, m = conn.post.shape
    for b in range(batch):
        ids = conn.incoming[b][conn.incoming_mask[b]]
        assert sorted(ids.tolist()) == list(range(n * m))  # every synapse exactly once
        for i in range(n):
            mine = conn.incoming[b, i][conn.incoming_mask[b, i]]
            assert torch.all(conn.post[b].flatten()[mine] == i)
            assert mine.numel() == int((conn.post[b] == i).sum())


def test_a_spike_arrives_at_each_target_after_its_delay_with_its_weight():
    conn = _small_network()
    conn = conn._replace(weight=torch.rand(conn.weight.shape, generator=torch.Generator().manual_seed(0)))
    batch, n, _ = conn.post.shape
    buffer = delay_buffer_init(batch, n, 5)
    spikes = torch.zeros(batch, n, dtype=torch.bool)
    t0, j = 7, 3
    received = []
    for t in range(20):
        received.append(read_input(buffer, t))
        spikes.zero_()
        if t == t0:
            spikes[1, j] = True
        deliver_spikes(buffer, spikes, conn, t)
    received = torch.stack(received, 1)  # (B, T, N)
    expected = torch.zeros_like(received)
    expected[1].index_put_((t0 + conn.delay_ms[1, j], conn.post[1, j]), conn.weight[1, j], accumulate=True)
    torch.testing.assert_close(received, expected)


def test_delivery_equals_dense_reference_under_random_activity():
    conn = _small_network()
    batch, n, m = conn.post.shape
    gen = torch.Generator().manual_seed(1)
    buffer = delay_buffer_init(batch, n, 5, dtype=torch.float64)
    conn = conn._replace(weight=conn.weight.double())
    steps = 40
    raster = torch.rand(steps, batch, n, generator=gen) < 0.2
    got = []
    for t in range(steps):
        got.append(read_input(buffer, t))
        deliver_spikes(buffer, raster[t], conn, t)
    expected = torch.zeros(steps, batch, n, dtype=torch.float64)
    for t in range(steps):
        for b, j in raster[t].nonzero().tolist():
            for k in range(m):
                arrival = t + int(conn.delay_ms[b, j, k])
                if arrival < steps:
                    expected[arrival, b, conn.post[b, j, k]] += conn.weight[b, j, k]
    torch.testing.assert_close(torch.stack(got), expected)


def test_connectivity_alone_equals_connectivity_in_batch():
    alone, batched = _small_network(seeds=(5,)), _small_network(seeds=(2, 5))
    for field in ("post", "delay_ms", "weight"):
        assert torch.equal(getattr(batched, field)[1], getattr(alone, field)[0])
    k = alone.incoming.shape[2]
    assert torch.equal(batched.incoming_mask[1, :, :k], alone.incoming_mask[0])
    assert torch.equal(batched.incoming[1, :, :k][alone.incoming_mask[0]], alone.incoming[0][alone.incoming_mask[0]])


# ---------------------------------------------------------------- traces


def test_spike_trace_add_and_set():
    spikes = torch.tensor([[True, False]])
    x = torch.tensor([[0.05, 0.05]])
    torch.testing.assert_close(spike_trace_step(x, spikes, 0.95, 0.1, "add"), torch.tensor([[0.1475, 0.0475]]))
    torch.testing.assert_close(spike_trace_step(x, spikes, 0.95, 0.1, "set"), torch.tensor([[0.1, 0.0475]]))
    with pytest.raises(ValueError, match="mode"):
        trace_spike(x, spikes, 0.1, "max")
    assert abs(decay_factor(20.0, 1.0) - math.exp(-0.05)) < 1e-12
    assert abs(-1.0 / math.log(0.95) - 19.5) < 0.01  # Izhikevich's 0.95 per ms is tau = 19.5 ms


@pytest.mark.parametrize(
    ("tau_ms", "amplitude", "mode", "a_plus", "a_minus"),
    [(30.0, 1.0, "add", 1.0, 1.05), (-1.0 / math.log(0.95), 0.1, "set", 1.0, 1.5)],  # Legenstein; Izhikevich
)
def test_stdp_window_from_one_pairing_per_offset(tau_ms, amplitude, mode, a_plus, a_minus):
    base = _small_network(seeds=(0,))
    n = base.post.shape[1]
    offsets = torch.arange(-100, 101)  # t_post - t_pre, ms; one network per offset
    batch = offsets.numel()
    conn = base._replace(**{f: getattr(base, f).expand(batch, *getattr(base, f).shape[1:]) for f in base._fields})
    # a reciprocally connected pair pre <-> post: synapse m of pre, synapse m_back of post
    mutual = (base.post[0][base.post[0], :] == torch.arange(n)[:, None, None]).nonzero()  # (j, m, m_back)
    pre, m, m_back = mutual[0].tolist()
    post = int(conn.post[0, pre, m])
    t_pre, t_post = 120, 120 + offsets
    tag = torch.zeros(batch, n, conn.post.shape[2], dtype=torch.float64)
    x = torch.zeros(batch, n, dtype=torch.float64)
    decay = decay_factor(tau_ms, 1.0)
    rows = torch.arange(batch)
    for t in range(240):
        spikes = torch.zeros(batch, n, dtype=torch.bool)
        spikes[:, pre] = t == t_pre
        spikes[rows, post] |= t_post == t
        x = trace_decay(x, decay)
        stdp_update(tag, x, x, spikes, conn, a_plus * amplitude, a_minus * amplitude)
        x = trace_spike(x, spikes, 1.0, mode)
    dt = offsets.double()
    ltp = a_plus * amplitude * torch.exp(-dt.abs() / tau_ms)
    ltd = -a_minus * amplitude * torch.exp(-dt.abs() / tau_ms)
    expected = torch.where(dt > 0, ltp, torch.where(dt < 0, ltd, torch.zeros_like(dt)))
    torch.testing.assert_close(tag[:, pre, m], expected)
    torch.testing.assert_close(tag[:, post, m_back], expected.flip(0))  # the reverse synapse: mirrored window
    tag[:, pre, m] = 0.0
    tag[:, post, m_back] = 0.0
    assert torch.all(tag == 0)  # no other synapse pairs two spiking neurons


def test_exponential_eligibility_matches_izhikevich_every_ten_ms():
    c = torch.ones(1, 3)
    decay = decay_factor(-10.0 / math.log(0.99), 1.0)
    for _ in range(10):
        eligibility_decay(c, decay)
    torch.testing.assert_close(c, torch.full((1, 3), 0.99))


def test_alpha_filter_impulse_response_is_the_alpha_kernel():
    tau, dt = 400.0, 1.0
    state = alpha_init((1, 1), dtype=torch.float64)
    response = []
    for k in range(8000):
        state = alpha_step(torch.full((1, 1), 1.0 if k == 0 else 0.0, dtype=torch.float64), state, dt, tau)
        response.append(state.y2.item())
    response = torch.tensor(response, dtype=torch.float64)
    s = torch.arange(8000, dtype=torch.float64) * dt  # the impulse at step 0 is at s = 0
    torch.testing.assert_close(response, (s / tau) * torch.exp(1 - s / tau))
    assert int(response.argmax()) == 400 and abs(response.max().item() - 1.0) < 1e-12
    assert abs(response.sum().item() * dt / (math.e * tau) - 1.0) < 1e-3  # integral e tau (tail beyond 20 tau ~ 0)


# ---------------------------------------------------------------- modulators


def test_dopamine_decay_reward_and_tonic_level():
    p = DopamineParameters()
    d = dopamine_init(2, dtype=torch.float64)
    d = dopamine_step(d, torch.tensor([1.0, 0.0], dtype=torch.float64), p, 1.0)
    torch.testing.assert_close(d, torch.tensor([0.5, 0.0], dtype=torch.float64))
    for _ in range(200):
        d = dopamine_step(d, 0.0, p, 1.0)
    torch.testing.assert_close(d, torch.tensor([0.5 * math.exp(-1.0), 0.0], dtype=torch.float64))
    torch.testing.assert_close(dopamine_effective(d, p), d + 0.002)
    assert abs(math.exp(-1 / p.tau_d_ms) - 0.995) < 2e-5  # daspnet.m's per-ms factor


def test_reward_kernel_has_zero_area_positive_lobe_first_and_its_delay():
    p = RewardKernelParameters()
    s = torch.arange(0, 30_000, 0.5, dtype=torch.float64)
    eps = reward_kernel(s, p)
    assert torch.all(eps[s <= p.delay_ms] == 0) and eps[s > p.delay_ms][0] > 0
    assert int(eps.argmax()) < int(eps.argmin())
    lobe_area = (reward_kernel(s, RewardKernelParameters(tau_minus_ms=1e12)) * 0.5e-3).sum().item()
    assert abs(lobe_area - p.area) < 1e-6  # each lobe has area 0.005 (time in s)
    assert abs((eps * 0.5e-3).sum().item()) < 1e-8  # the kernel integrates to zero


def test_reward_kernel_online_equals_closed_form_and_is_batched():
    p = RewardKernelParameters()
    dt, steps = 1.0, 6000
    events = torch.zeros(steps, 3, dtype=torch.float64)
    events[10, 0] = 1.0
    events[10, 1], events[700, 1] = 1.0, 2.0  # two events then a double one
    state = reward_kernel_init(3, p, dt, dtype=torch.float64)
    signal = []
    for t in range(steps):
        d, state = reward_kernel_step(events[t], state, p, dt, t)
        signal.append(d)
    signal = torch.stack(signal)
    times = torch.arange(steps, dtype=torch.float64) * dt
    expected = torch.zeros_like(signal)
    for t0, b in events.nonzero().tolist():
        expected[:, b] += events[t0, b] * torch.where(times >= t0 * dt, reward_kernel(times - t0 * dt, p), 0.0)
    torch.testing.assert_close(signal, expected)
    assert torch.all(signal[: 10 + 201, 0] == 0) and signal[10 + 201, 0] > 0  # nothing before the 200-ms delay
    assert torch.all(signal[:, 2] == 0)
    with pytest.raises(ValueError, match="multiple"):
        reward_kernel_init(1, p, 0.3)


@pytest.mark.parametrize("epoch_steps", [None, 37])
def test_event_driven_eligibility_equals_the_dense_alpha_update(epoch_steps):
    """Pairings into an alpha filter and w += eta c d every step, dense, against the event-driven bookkeeping
    that touches a synapse only when it is paired or read (bounds far away, so no clipping)."""
    from agents.core import EventDrivenEligibility

    gen = torch.Generator().manual_seed(0)
    B, S, T, tau, rate = 2, 40, 400, 40.0, 0.7
    w0 = torch.rand(B, S, generator=gen, dtype=torch.float64) + 100.0
    dense_w, lazy_w = w0.clone(), w0.clone()
    lazy = EventDrivenEligibility(
        lazy_w, torch.full_like(w0, 1e9), torch.ones(B, S, dtype=torch.bool), tau, 1.0, rate, epoch_steps=epoch_steps
    )
    dense = alpha_init((B, S), dtype=torch.float64)
    for t in range(T):
        lazy.tick()
        hit = torch.rand(B * S, generator=gen) < 0.05
        x = torch.where(hit, torch.randn(B * S, generator=gen, dtype=torch.float64), 0.0)
        lazy.pair(hit.nonzero().flatten(), x[hit])
        read = (torch.rand(B * S, generator=gen) < 0.05).nonzero().flatten()
        torch.testing.assert_close(lazy.read(read), dense_w.flatten()[read], rtol=1e-8, atol=1e-6)
        dense = alpha_step(x.view(B, S), dense, 1.0, tau)
        d = torch.randn(B, generator=gen, dtype=torch.float64) * (t % 3 > 0)
        dense_w += rate * d[:, None] * dense.y2
        lazy.reward(d)
    lazy.flush()
    torch.testing.assert_close(lazy_w, dense_w, rtol=1e-8, atol=1e-6)
    torch.testing.assert_close(lazy.y2, dense.y2, rtol=1e-8, atol=1e-10)
    assert not torch.equal(lazy_w, w0)


def test_event_driven_eligibility_clips_to_bounds_and_leaves_fixed_synapses():
    from agents.core import EventDrivenEligibility

    w = torch.tensor([[0.5, 0.5, 0.5]])
    lazy = EventDrivenEligibility(
        w, torch.tensor([[1.0, 1.0, 0.5]]), torch.tensor([[True, True, False]]), 10.0, 1.0, 1.0
    )
    lazy.tick()
    lazy.pair(torch.tensor([0, 1, 2]), torch.tensor([10.0, -10.0, 10.0]))
    for _ in range(30):
        lazy.reward(torch.tensor([1.0]))
        lazy.tick()
    lazy.flush()
    assert w.tolist() == [[1.0, 0.0, 0.5]]
