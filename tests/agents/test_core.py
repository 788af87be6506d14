"""The shared core against its equations."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.core import (
    BatchGenerators,
    OuterProductAccumulator,
    izhikevich_kernels,
    kernels,
    rate_init,
    rate_step,
    running_mean,
)
from agents.core.noise import counter_uniform, philox4x32, philox_keys, sparse_perturbations


def test_rate_step_is_forward_euler_with_clamped_units():
    x0 = torch.tensor([[0.5, -0.2, 0.1, 0.0]])
    drive = torch.tensor([[1.0, 2.0, -3.0, 0.4]])
    index, value = torch.tensor([3]), torch.tensor([1.0])
    state = rate_step(drive, rate_init(x0, index, value), 1 / 30, index, value)
    expected = x0 + (drive - x0) / 30
    expected[0, 3] = 1.0
    torch.testing.assert_close(state.x, expected)
    torch.testing.assert_close(state.r, torch.tanh(expected))


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 3),
    n_pre=st.integers(1, 6),
    n_post=st.integers(1, 6),
    steps=st.integers(0, 23),
    chunk=st.integers(1, 8),
    exponent=st.sampled_from([1, 3]),
)
def test_accumulator_equals_the_sum_of_per_step_outer_products(batch, n_pre, n_post, steps, chunk, exponent):
    gen = torch.Generator().manual_seed(steps)
    pre = torch.randn(steps, batch, n_pre, generator=gen, dtype=torch.float64)
    post = torch.randn(steps, batch, n_post, generator=gen, dtype=torch.float64)
    acc = OuterProductAccumulator(batch, n_pre, n_post, chunk=chunk, exponent=exponent, dtype=torch.float64)
    naive = torch.zeros(batch, n_pre, n_post, dtype=torch.float64)
    for t in range(steps):
        acc.add(pre[t], post[t])
        naive += torch.einsum("bi,bj->bij", pre[t], post[t]) ** exponent
    torch.testing.assert_close(acc.read(), naive)


def test_accumulator_clear_only_touches_the_masked_networks():
    acc = OuterProductAccumulator(3, 2, 2, chunk=4)
    acc.add(torch.ones(3, 2), torch.ones(3, 2))
    acc.clear(torch.tensor([True, False, True]))
    total = acc.read()
    assert total[0].abs().sum() == 0 and total[2].abs().sum() == 0
    assert torch.all(total[1] == 1)


def test_running_mean():
    torch.testing.assert_close(running_mean(torch.tensor([1.0]), torch.tensor([3.0]), 0.25), torch.tensor([2.5]))


def test_each_network_draws_the_same_numbers_whatever_the_batch():
    alone = BatchGenerators([7]).uniform(5, 3)
    batched = BatchGenerators([1, 7, 9]).uniform(5, 3)
    torch.testing.assert_close(batched[1], alone[0])
    assert not torch.equal(batched[0], batched[1])


def test_generator_state_round_trip():
    gens = BatchGenerators([1, 2])
    gens.uniform(4)
    state = gens.get_state()
    first = gens.normal(6)
    gens.set_state(state)
    torch.testing.assert_close(gens.normal(6), first)
    with pytest.raises(ValueError, match="generator states"):
        BatchGenerators([1]).set_state(state)


@pytest.mark.parametrize(
    ("counter", "key", "expected"),
    [  # Random123's known-answer tests for philox4x32_10 (kat_vectors)
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_matches_random123s_known_answers(counter, key, expected):
    words = philox4x32(tuple(torch.tensor([c]) for c in counter), tuple(torch.tensor([k]) for k in key))
    assert tuple(int(w) for w in words) == expected


def test_rows_written_in_place_sum_as_add_does_to_the_bit():
    rng = torch.Generator().manual_seed(0)
    pre, post = torch.rand(2, 23, 5, generator=rng), torch.rand(2, 23, 4, generator=rng)
    added = OuterProductAccumulator(2, 5, 4, chunk=8, exponent=3)
    for t in range(23):
        added.add(pre[:, t], post[:, t])
    in_place = OuterProductAccumulator(2, 5, 4, chunk=8, exponent=3)
    t = 0
    for k in (3, 5, 1, 7, 7):  # pieces within the chunk's room, ending exactly at a fold and not
        k = min(k, in_place.room)
        pre_rows, post_rows = in_place.buffers
        first = in_place.free_rows(k)
        pre_rows[:, first : first + k], post_rows[:, first : first + k] = pre[:, t : t + k], post[:, t : t + k]
        in_place.filled(k)
        t += k
    assert t == 23
    assert torch.equal(in_place.read(), added.read())
    with pytest.raises(ValueError, match="room for"):
        in_place.free_rows(9)


@pytest.mark.parametrize("n", [1000, 1001, 1002, 1003])
def test_the_compiled_background_is_the_counter_uniforms_to_the_bit(n):
    keys = philox_keys([0, 3, 2**40 + 7])
    out = np.empty((3, n), dtype=np.float32)
    for step in (0, 17, 2**33 + 5):  # the clock's high word too
        izhikevich_kernels.background_into(out, keys.numpy().astype(np.uint32), step, np.float32(13.0))
        np.testing.assert_array_equal(out, ((counter_uniform(keys, step, n)[:, 0] - 0.5) * 13.0).numpy())


@pytest.mark.parametrize("n", [200, 201, 202, 203])
def test_the_kernels_counter_uniforms_are_noise_counter_uniform_to_the_bit(n):
    keys = philox_keys([0, 2**40 + 7])
    out = np.empty(n, dtype=np.float32)
    for step in (0, 17, 2**33 + 5):
        for stream in (0, 1):
            for b in range(2):
                kernels.counter_uniforms_into(out, keys.numpy().astype(np.uint32)[b], step, stream)
                np.testing.assert_array_equal(out, counter_uniform(keys, step, n, stream=stream)[b, 0].numpy())
    assert not torch.equal(counter_uniform(keys, 3, n, stream=1), counter_uniform(keys, 3, n))


def test_counter_uniforms_are_uniform_and_a_function_of_key_and_step_alone():
    keys = philox_keys([5, 9])
    u = counter_uniform(keys, 3, 200_000)[:, 0]
    assert u.dtype == torch.float32 and 0.0 <= float(u.min()) and float(u.max()) < 1.0
    assert abs(float(u.mean()) - 0.5) < 0.003 and abs(float(u.var()) - 1 / 12) < 0.001
    assert abs(float(torch.corrcoef(u)[0, 1])) < 0.01  # two networks' streams are unrelated
    assert torch.equal(counter_uniform(philox_keys([9]), 3, 200_000)[0, 0], u[1])  # whatever the batch
    several = counter_uniform(keys, 2, 100, steps=3)  # steps 2, 3, 4 at once: each as drawn alone
    assert several.shape == (2, 3, 100) and torch.equal(several[:, 1], u[:, :100])
    assert torch.equal(several[:, 2], counter_uniform(keys, 4, 100)[:, 0])
    assert not torch.equal(several[:, 2], u[:, :100])


def test_sparse_perturbations_rate_and_amplitude():
    u = torch.rand(200_000, generator=torch.Generator().manual_seed(0))
    xi = sparse_perturbations(u, probability=0.003, amplitude=16.0)
    hit = xi != 0
    assert 0.0025 < hit.float().mean() < 0.0035  # 3 Hz at dt = 1 ms
    assert xi.abs().max() <= 16.0
    values = xi[hit].numpy()
    assert abs(values.mean()) < 1.5 and values.std() == pytest.approx(16 / np.sqrt(3), rel=0.1)  # U(-16, 16)
