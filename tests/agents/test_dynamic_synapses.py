"""Markram et al. (1998) dynamic synapses against PCSIM's recursion, written out by hand."""

import math

import numpy as np
import pytest
import torch

from agents.core import DynamicSynapseParameters, dynamic_synapse_init, dynamic_synapse_spike


def pcsim_efficacies(spike_times_ms, U, D, F):
    """PCSIM's DYNAMIC_PSR_CHANGE, one synapse: the efficacy u r of each spike."""
    u, r, last, out = U, 1.0, None, []
    for t in spike_times_ms:
        if last is not None:
            isi = t - last
            r = 1 + (r * (1 - u) - 1) * math.exp(-isi / D)
            u = U + u * (1 - U) * math.exp(-isi / F)
        out.append(u * r)
        last = t
    return out


@pytest.mark.parametrize(("U", "D", "F"), [(0.5, 1100.0, 20.0), (0.05, 125.0, 1200.0), (0.32, 144.0, 60.0)])
def test_efficacies_follow_pcsims_recursion(U, D, F):
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.integers(5, 200, size=40)).astype(float)
    p = DynamicSynapseParameters(U=U, D_ms=D, F_ms=F)
    state = dynamic_synapse_init((1, 3), p, dtype=torch.float64)
    got = []
    for t in times:
        hit = torch.tensor([[True, False, True]])
        efficacy, state = dynamic_synapse_spike(state, hit, float(t), p)
        got.append(efficacy[0, 0].item())
        assert efficacy[0, 1] == 0 and efficacy[0, 0] == efficacy[0, 2]
    np.testing.assert_allclose(got, pcsim_efficacies(times, U, D, F), rtol=1e-12)
    assert state.u[0, 1] == U and state.r[0, 1] == 1  # a synapse never hit keeps its fresh state


def test_depressing_synapse_weakens_at_high_rates_and_recovers():
    p = DynamicSynapseParameters(U=0.5, D_ms=1100.0, F_ms=20.0)  # Legenstein's E -> E
    state = dynamic_synapse_init((1,), p)
    hit = torch.tensor([True])
    efficacies = []
    for k in range(10):  # 50 Hz
        e, state = dynamic_synapse_spike(state, hit, 20.0 * k, p)
        efficacies.append(e.item())
    assert efficacies[0] == pytest.approx(0.5) and efficacies[-1] < 0.25 * efficacies[0]
    e, state = dynamic_synapse_spike(state, hit, 20.0 * 9 + 10_000.0, p)  # 10 s later: recovered
    assert e.item() == pytest.approx(0.5, rel=0.02)
