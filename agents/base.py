"""The one agent protocol every spikegym agent follows.

An agent holds B independent networks (seeds or hyper-parameter settings) as batch-first tensors and is
driven step by step by the rollout loop (or any Gymnasium / stable-baselines3 loop):

* ``predict(obs, state=None, episode_start=None, deterministic=False) -> (action, state)`` is
  stable-baselines3's ``PolicyPredictor``, so ``evaluate_policy`` scores a spiking agent exactly like PPO.
  ``episode_start`` (B,) resets the networks whose episode begins with this observation.
* ``observe(reward, terminated, truncated, info)`` delivers the learning signal of the step just taken.
* ``reset(mask=None)`` clears neuron state (never weights); ``train()`` / ``eval()`` switch plasticity;
  ``state_dict()`` / ``load_state_dict()`` round-trip everything, random generators included.

A single (non-vector) env is B = 1 with unbatched observations; a vector env of B copies feeds B networks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

STATE_FORMAT_VERSION = 1


@runtime_checkable
class PolicyPredictor(Protocol):
    """stable-baselines3's predictor protocol (``stable_baselines3.common.type_aliases``)."""

    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]: ...


def transition_info(info: Mapping[str, Any], done: np.ndarray, batched: bool) -> dict[str, np.ndarray]:
    """The info of the step just taken, as one array per key with a leading batch dimension.

    A single env's info (scalars) gets a batch dimension of 1. A vector env in SAME_STEP autoreset mode
    has already reset the sub-envs that finished: their step info sits in ``info["final_info"]``, which
    is used for those sub-envs. Float entries of sub-envs that did not report a key (Gymnasium's
    ``_key`` masks) are NaN, as a single env's missing key is.
    """
    if not batched:
        return {k: np.asarray(v)[None] for k, v in info.items() if not k.startswith("_")}

    def with_missing_as_nan(key: str, values: Any, masks: Mapping[str, Any]) -> np.ndarray:
        values = np.array(values)  # a copy: the env's arrays are never written to
        mask = masks.get(f"_{key}")
        if mask is not None and values.dtype.kind == "f":
            values[~np.asarray(mask, dtype=bool)] = np.nan  # sub-envs that did not report this key
        return values

    out = {k: with_missing_as_nan(k, v, info) for k, v in info.items() if not k.startswith(("_", "final_"))}
    final = info.get("final_info")
    if final is not None and np.any(done):
        for key, values in final.items():
            if key.startswith("_"):
                continue
            values = with_missing_as_nan(key, values, final)
            if key in out and out[key].shape == values.shape and out[key].dtype == values.dtype:
                out[key][done] = values[done]
            else:
                out[key] = (
                    np.where(done.reshape(-1, *[1] * (values.ndim - 1)), values, np.nan)
                    if values.dtype.kind == "f"
                    else values
                )
    return out


def config_from_preset(
    config_class: type, values: Mapping[str, Any], presets: Mapping[str, Any], default: str, rule: str
) -> Any:
    """A rule's frozen config: the preset named by ``values["preset"]`` (else ``default``) with the other
    ``values`` replacing its fields; unknown presets and parameters raise ``ValueError`` naming the valid ones."""
    values = dict(values)
    preset = values.pop("preset", default)
    if preset not in presets:
        raise ValueError(f"unknown {rule} preset {preset!r}; choose one of {sorted(presets)}")
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {rule} parameter(s) {unknown}; valid: {sorted(known)}")
    return dataclasses.replace(presets[preset], **values)


class Agent:
    """Base class: batching, validation, train/eval and checkpoint plumbing shared by all rules.

    Subclasses implement ``_act``, ``_reset``, ``_observe``, ``_state_tensors`` and ``_load_tensors``.

    Args:
        observation_space: the single env's observation space (a ``Box``).
        action_space: the single env's action space.
        seeds: one seed per network; B = len(seeds).
        device: torch device of all tensors ("cpu" or "cuda").
    """

    name: ClassVar[str] = "agent"
    needs_step_info: ClassVar[bool] = True
    """Whether ``_observe`` reads the info of every step (targets); if not, only at episode ends."""
    unbatched_state: ClassVar[tuple[str, ...]] = ()
    """State tensors without a leading batch dimension (shared by all networks)."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        *,
        seeds: Sequence[int] = (0,),
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if not isinstance(observation_space, spaces.Box):
            raise TypeError(f"{type(self).__name__} needs a Box observation space, got {observation_space}")
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise ValueError("seeds must name at least one network")
        self.observation_space = observation_space
        self.action_space = action_space
        self.seeds = seeds
        self.batch_size = len(seeds)
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was asked for but torch sees no CUDA device; use device='cpu'")
        self.dtype = dtype
        self.training = True
        self._batched = self.batch_size > 1

    # -- public protocol -------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Agent:
        """Plasticity on (``mode=True``) or off."""
        self.training = bool(mode)
        return self

    def eval(self) -> Agent:
        """Plasticity off: weights stay fixed, nothing is accumulated."""
        return self.train(False)

    def reset(self, mask: np.ndarray | Sequence[bool] | None = None) -> None:
        """Clears the neuron and trace state of the networks in ``mask`` (all if None); weights stay."""
        self._reset(self._mask(mask))

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """One network step per observation; returns the actions and ``state`` unchanged (SB3 protocol)."""
        obs = np.asarray(observation, dtype=np.float32)
        single_shape = self.observation_space.shape
        if obs.shape == single_shape and self.batch_size == 1:
            self._batched, obs = False, obs[None]
        elif obs.shape == (self.batch_size, *single_shape):
            self._batched = True
        else:
            raise ValueError(
                f"observation of shape {obs.shape} does not fit this agent: it has B = {self.batch_size} "
                f"network(s) and expects shape {(self.batch_size, *single_shape)}"
                + (f" or {single_shape}" if self.batch_size == 1 else "")
                + "; build the agent with one seed per env copy"
            )
        if not np.isfinite(obs).all():
            raise ValueError("observation contains NaN or inf")
        if episode_start is not None and np.any(episode_start):
            self._reset(self._mask(episode_start))
        # No autograd context is needed: no tensor of an agent requires grad (plasticity is explicit).
        action = self._act(torch.as_tensor(obs, device=self.device, dtype=self.dtype), deterministic)
        action = action.cpu().numpy()
        return (action if self._batched else action[0]), state

    def predict_block(
        self,
        observations: np.ndarray,
        rewards: np.ndarray,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> np.ndarray:
        """K steps at once where the env had fixed their observations and rewards before the block (the
        loop's blocks, see ``train.loop``): the same as ``predict`` then ``observe`` K times, with no episode
        ending inside the block and no step info. Agents whose step is cheap in a compiled loop override it.

        Args:
            observations: (B, K, *observation shape).
            rewards: (B, K), the reward of each of the K steps.
            episode_start: (B,) as in ``predict``, for the first step of the block.

        Returns:
            the K actions, (B, K, *action shape).
        """
        not_done = np.zeros(self.batch_size, dtype=bool)
        actions = []
        for k in range(rewards.shape[1]):
            action, _ = self.predict(
                observations[:, k], episode_start=episode_start if k == 0 else None, deterministic=deterministic
            )
            self.observe(rewards[:, k], not_done, not_done, {})
            actions.append(action)
        return np.stack(actions, axis=1)

    def _start_block(
        self, observations: Any, rewards: Any, episode_start: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """For an override of ``predict_block``: the block's observations as ``predict`` converts them (float32)
        and its rewards (float64), checked ((B, K, *observation shape) and (B, K), finite), after the reset of
        the networks whose episode starts with the block."""
        B, shape = self.batch_size, self.observation_space.shape
        observations = np.asarray(observations, dtype=np.float32)
        rewards = np.asarray(rewards, dtype=np.float64)
        if rewards.ndim != 2 or rewards.shape[0] != B or observations.shape != (*rewards.shape, *shape):
            raise ValueError(
                f"a block needs observations ({', '.join(('B', 'K', *map(str, shape)))}) and rewards (B, K) for "
                f"B = {B} network(s); got {observations.shape} and {rewards.shape}"
            )
        if not np.isfinite(rewards).all() or not np.isfinite(observations).all():
            raise ValueError("rewards or observations contain NaN or inf")
        if episode_start is not None and np.any(episode_start):
            self._reset(self._mask(episode_start))
        return observations, rewards

    def observe(self, reward: Any, terminated: Any, truncated: Any, info: Mapping[str, Any]) -> dict[str, Any]:
        """Delivers the outcome of the step just taken; returns what the rule did (metrics)."""
        B = self.batch_size
        reward = np.asarray(reward, dtype=np.float64).reshape(B)
        terminated = np.asarray(terminated, dtype=bool).reshape(B)
        truncated = np.asarray(truncated, dtype=bool).reshape(B)
        if not np.isfinite(reward).all():
            raise ValueError(f"reward contains NaN or inf: {reward}")
        done = terminated | truncated
        any_done = bool(done.any())
        step_info = transition_info(info, done, self._batched) if self.needs_step_info or any_done else {}
        return self._observe(reward, terminated, truncated, step_info)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, traces, neuron state, generator states."""
        return {
            "format_version": STATE_FORMAT_VERSION,
            "agent": self.name,
            "seeds": list(self.seeds),
            "training": self.training,
            "tensors": {k: v.detach().cpu().clone() for k, v in self._state_tensors().items()},
            "extra": self._state_extra(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("agent") != self.name:
            raise ValueError(f"this checkpoint holds a {state.get('agent')!r} agent, not {self.name!r}")
        if state.get("format_version") != STATE_FORMAT_VERSION:
            raise ValueError(
                f"checkpoint format {state.get('format_version')} is not this version's ({STATE_FORMAT_VERSION})"
            )
        if list(state["seeds"]) != self.seeds:
            raise ValueError(
                f"checkpoint has {len(state['seeds'])} networks (seeds {state['seeds']}), this agent "
                f"{self.batch_size} (seeds {self.seeds}): build the agent with the checkpoint's seeds"
            )
        own = self._state_tensors()
        tensors = state["tensors"]
        missing = set(own) - set(tensors)
        if missing:
            raise ValueError(f"checkpoint lacks {sorted(missing)}")
        for key, value in own.items():
            if tuple(tensors[key].shape) != tuple(value.shape):
                raise ValueError(
                    f"checkpoint tensor {key!r} has shape {tuple(tensors[key].shape)}, this agent "
                    f"{tuple(value.shape)}: the network sizes differ"
                )
        self._load_tensors({k: v.to(self.device) for k, v in tensors.items()})
        self._load_extra(state.get("extra", {}))
        self.training = bool(state.get("training", True))

    def metrics(self) -> dict[str, np.ndarray]:
        """Per-network numbers describing what the rule has learned (e.g. a reinforced weight), each (B,).

        The rollout loop samples them every ``sample_every`` steps; rules with nothing to report return {}.
        """
        return {}

    def plastic_weights(self) -> np.ndarray | None:
        """(B, n) the weights the rule changes, per network (NaN-padded where networks differ in count), for
        the before/after weight distribution; None for rules that do not say."""
        return None

    def hidden_spikes(self) -> np.ndarray | None:
        """(B, N) bool, the spikes of the networks' hidden neurons in the step just taken (a liquid's, a recurrent
        network's), which the rollout loop records for rasters; None for agents with none to show."""
        return None

    def select_networks(self, indices: Sequence[int]) -> dict[str, Any]:
        """A state dict holding only the networks ``indices`` (load it into an agent built with their seeds)."""
        state = self.state_dict()
        index = torch.as_tensor(list(indices), dtype=torch.long)
        state["seeds"] = [self.seeds[i] for i in indices]
        state["tensors"] = {
            k: (v if k in self.unbatched_state else v.index_select(0, index)) for k, v in state["tensors"].items()
        }
        state["extra"] = self._select_extra(state["extra"], list(indices))
        return state

    # -- helpers ---------------------------------------------------------------------------------
    def _mask(self, mask: np.ndarray | Sequence[bool] | Tensor | None) -> Tensor:
        if mask is None:
            return torch.ones(self.batch_size, dtype=torch.bool, device=self.device)
        mask = torch.as_tensor(np.asarray(mask, dtype=bool).reshape(-1), device=self.device)
        if mask.shape[0] != self.batch_size:
            raise ValueError(f"mask has {mask.shape[0]} entries for {self.batch_size} networks")
        return mask

    # -- for subclasses --------------------------------------------------------------------------
    def _act(self, obs: Tensor, deterministic: bool) -> Tensor:
        raise NotImplementedError

    def _reset(self, mask: Tensor) -> None:
        raise NotImplementedError

    def _observe(
        self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, info: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        raise NotImplementedError

    def _state_tensors(self) -> dict[str, Tensor]:
        raise NotImplementedError

    def _load_tensors(self, tensors: Mapping[str, Tensor]) -> None:
        raise NotImplementedError

    def _state_extra(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, extra: Mapping[str, Any]) -> None:
        return None

    def _select_extra(self, extra: dict[str, Any], indices: list[int]) -> dict[str, Any]:
        return extra
