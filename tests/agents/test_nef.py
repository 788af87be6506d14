"""The NEF core: the LIF neuron fires at its rate curve, gains and biases place the tuning curves, decoders
read a represented value back."""

import math

import numpy as np
import pytest
import torch

from agents.core import BatchGenerators, nef_kernels
from agents.core.nef import decoded_rmse, ensemble_rates, nef_ensemble, solve_decoders
from agents.core.neurons import NEFLIFParameters, nef_lif_gain_bias, nef_lif_init, nef_lif_rate, nef_lif_step

LIF = NEFLIFParameters()


@pytest.mark.parametrize("dt_s", [0.001, 0.0002])
def test_the_lif_neuron_fires_at_its_rate_curve_whatever_the_step(dt_s):
    # 2-400 Hz: at 1 ms a 400-Hz neuron fires every 2.5 steps, so the refractory period must be resolved in-step.
    current = torch.tensor([[1.05, 1.5, 3.0, 10.0, 40.0, 150.0]], dtype=torch.float64)
    state = nef_lif_init(1, current.shape[1], dtype=torch.float64)
    seconds = 20.0
    count = torch.zeros_like(current)
    for _ in range(round(seconds / dt_s)):
        spikes, state = nef_lif_step(current, state, LIF, dt_s)
        count += spikes
    expected = nef_lif_rate(current, LIF)
    assert torch.allclose(count / seconds, expected, rtol=0.01, atol=0.1)
    assert float(expected[0, -1]) > 400  # the fastest neuron is above 400 Hz and still right


def test_below_threshold_a_neuron_is_silent_and_its_potential_stays_in_zero_to_one():
    current = torch.tensor([[-5.0, 0.0, 0.5, 0.999]], dtype=torch.float64)
    state = nef_lif_init(1, 4, dtype=torch.float64)
    for _ in range(2000):
        spikes, state = nef_lif_step(current, state, LIF, 0.001)
        assert not spikes.any()
    assert torch.allclose(state.v, current.clamp(min=0.0), atol=1e-12)  # v relaxes to J, floored at 0
    assert float(nef_lif_rate(current, LIF).abs().max()) == 0.0


def test_gain_and_bias_put_the_threshold_at_the_intercept_and_the_max_rate_at_one():
    max_rates = torch.tensor([200.0, 300.0, 400.0], dtype=torch.float64)
    intercepts = torch.tensor([-0.5, 0.0, 0.7], dtype=torch.float64)
    gain, bias = nef_lif_gain_bias(max_rates, intercepts, LIF)
    assert torch.allclose(gain * intercepts + bias, torch.ones(3, dtype=torch.float64))  # J = 1 at the intercept
    assert torch.allclose(nef_lif_rate(gain + bias, LIF), max_rates)
    with pytest.raises(ValueError, match="below 1 / tau_ref"):
        nef_lif_gain_bias(torch.tensor([600.0]), torch.tensor([0.0]), LIF)


def test_an_ensemble_is_heterogeneous_and_drawn_per_network():
    alone = nef_ensemble(BatchGenerators([3]), 200, 2, 5.0)
    batch = nef_ensemble(BatchGenerators([7, 3]), 200, 2, 5.0)
    assert torch.equal(alone.encoders[0], batch.encoders[1]) and torch.equal(alone.gain[0], batch.gain[1])
    assert torch.allclose(alone.encoders.norm(dim=-1), torch.ones(1, 200, dtype=torch.float64))
    assert 200 <= float(alone.max_rates.min()) and float(alone.max_rates.max()) <= 400
    assert -1 <= float(alone.intercepts.min()) and float(alone.intercepts.max()) <= 1
    rates = ensemble_rates(alone, alone.encoders * 5.0)  # each neuron at radius along its own encoder
    assert torch.allclose(rates[0].diagonal(), alone.max_rates[0])


def test_decoders_reconstruct_a_represented_value_from_rates():
    generators = BatchGenerators([0])
    ensemble = nef_ensemble(generators, 400, 2, 5.0)
    decoders = solve_decoders(ensemble, generators)
    assert float(decoded_rmse(ensemble, decoders)) < 0.01  # within 1% of the radius over the ball


def test_decoders_reconstruct_a_constant_input_from_spikes():
    """Spiking, filtered (tau_s = 20 ms) and decoded, a constant input comes back."""
    generators = BatchGenerators([1])
    ensemble = nef_ensemble(generators, 500, 2, 5.0)
    decoders = solve_decoders(ensemble, generators)[0]
    dt, a = 0.001, math.exp(-1.0 / 20.0)
    for x in ([2.0, -1.0], [0.0, 0.0], [-3.0, 3.5]):
        value = torch.tensor([x], dtype=torch.float64)
        current = (value @ ensemble.encoders[0].T) * ensemble.gain / ensemble.radius + ensemble.bias
        state = nef_lif_init(1, 500, dtype=torch.float64)
        trace = torch.zeros(1, 500, dtype=torch.float64)
        decoded = []
        for step in range(600):
            spikes, state = nef_lif_step(current, state, LIF, dt)
            trace = a * trace + (1 - a) * spikes / dt
            if step >= 200:
                decoded.append((trace @ decoders)[0])
        mean = torch.stack(decoded).mean(dim=0)
        assert torch.allclose(mean, value[0], atol=0.05 * ensemble.radius), (x, mean)


@pytest.mark.skipif(not nef_kernels.AVAILABLE, reason="numba is not installed")
def test_the_fused_kernel_steps_the_neurons_as_nef_lif_step_does():
    rng = np.random.default_rng(0)
    n, n_ff = 400, 150
    current = torch.as_tensor(rng.uniform(-2, 60, size=(1, n)))
    state = nef_lif_init(1, n, dtype=torch.float64)
    v, refractory = np.zeros((1, n)), np.zeros((1, n))
    encoders_in = np.zeros((1, n, 1))
    encoders_in[0, :n_ff, 0] = 1.0  # u = 0 below, so the current is the bias alone
    args = dict(
        u=np.zeros((1, 1)),
        feedback=np.zeros((1, 1)),
        recurrent_drive=np.zeros((1, 1)),
        trace=np.zeros((1, n)),
        input_encoders=encoders_in,
        output_encoders=np.zeros((1, n, 1)),
        bias=current.numpy().copy(),
        readout=np.zeros((1, 1, n)),
        clamp=np.zeros(1),
        prediction=np.zeros((1, 1)),
        spike_count=np.zeros(1),
    )
    for _ in range(300):
        _, state = nef_lif_step(current, state, LIF, 0.001)
        nef_kernels.population_step(
            args["u"], args["feedback"], args["recurrent_drive"], args["trace"], v, refractory, args["input_encoders"],
            args["output_encoders"], args["bias"], args["readout"], args["clamp"], args["prediction"],
            args["spike_count"], n_ff, 0.0, 0.001, LIF.tau_rc_s, LIF.tau_ref_s, 0.0, 0.0,
        )  # fmt: skip
        np.testing.assert_allclose(v, state.v.numpy(), atol=1e-12)
        np.testing.assert_allclose(refractory, state.refractory_s.numpy(), atol=1e-12)
