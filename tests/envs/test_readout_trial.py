"""What the readout trial tasks (sims 4 and 5) share: the vector envs' arguments come from the single envs."""

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from envs.readout_trial import task_arguments
from envs.spike_patterns import SpikePatternsEnv, SpikePatternsVectorEnv
from envs.spoken_digits import SpokenDigitsEnv, SpokenDigitsVectorEnv


@pytest.mark.parametrize(
    ("single", "vector", "name"),
    [
        (SpikePatternsEnv, SpikePatternsVectorEnv, "SpikePatterns"),
        (SpokenDigitsEnv, SpokenDigitsVectorEnv, "SpokenDigits"),
    ],
)
def test_the_vector_env_takes_the_single_envs_arguments_and_says_what_it_cannot_do(single, vector, name):
    assert task_arguments(single)["dt_ms"] == 1.0 and "render_mode" not in task_arguments(single)
    one, many = single(), vector(2)
    assert (many.n_channels, many.n_steps, many.dt) == (one.n_channels, one.n_steps, one.dt)
    assert many.single_observation_space == one.observation_space
    assert many.single_action_space == one.action_space
    np.testing.assert_array_equal(many._task.pulse, one._task.pulse)
    with pytest.raises(TypeError, match=rf"unknown {name} argument\(s\) \['bogus'\]"):
        vector(2, bogus=1)
    with pytest.raises(ValueError, match="SAME_STEP only"):
        vector(2, autoreset_mode=AutoresetMode.NEXT_STEP)
    with pytest.raises(ValueError, match="does not render"):
        vector(2, render_mode="rgb_array")
    with pytest.raises(RuntimeError, match=rf"{vector.__name__}\.step\(\) called before reset"):
        many.step(np.zeros((2, 1), np.int8))
    with pytest.raises(RuntimeError, match=rf"{single.__name__}\.step\(\) called before reset"):
        one.step(np.array([0]))
