"""The shared core every rule is built from: neuron models, traces, noise.

Norse style: each model is a pure step function over an explicit state record (a ``NamedTuple`` of
batch-first tensors, leading dimension B = independent networks), with parameters in frozen dataclasses
carrying the paper's symbols and units. Rules in ``agents/<rule>.py`` compose these parts.
"""

from agents.core.neurons import RateState, rate_init, rate_step
from agents.core.noise import BatchGenerators, sparse_perturbations
from agents.core.traces import OuterProductAccumulator, running_mean

__all__ = [
    "BatchGenerators",
    "OuterProductAccumulator",
    "RateState",
    "rate_init",
    "rate_step",
    "running_mean",
    "sparse_perturbations",
]
