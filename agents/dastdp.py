"""Izhikevich's dopamine-modulated STDP: solving the distal reward problem.

Izhikevich E. M. (2007). Solving the distal reward problem through linkage of STDP and dopamine
signaling. Cerebral Cortex 17:2443-2452. doi:10.1093/cercor/bhl152 (model code: daspnet.m)

Network: N = 1000 Izhikevich neurons, 800 regular-spiking excitatory and 200 fast-spiking inhibitory,
M = 100 synapses per neuron (excitatory onto any neuron, inhibitory onto excitatory ones), weights +1 / -1,
1 ms conduction delay, and random background input ``I = 13 (U - 0.5)`` to every neuron every ms.

Each excitatory synapse j -> i carries an STDP tag c_ji and a weight s_ji::

    dc/dt = -c / tau_c + STDP(t_post - t_pre) delta(t - t_pre/post),   tau_c = 1 s
    ds/dt = c (d + d_tonic),   0 <= s <= 4
    dd/dt = -d / tau_d + 0.5 sum_k delta(t - t_reward,k),   tau_d = 0.2 s,   d_tonic = 0.002

with STDP traces set to 1 at a spike and decaying by 0.95 per ms, amplitudes A+ = 0.1 (pre before post)
and A- = 0.15 (post before pre). As in daspnet.m, s is updated every 10 ms, s <- clip(s + (d_tonic + d) c,
0, 4), and c <- 0.99 c then (0.99 per 10 ms ~ tau_c = 1 s). STDP is event-driven: only the synapses of the
neurons that spiked are touched.

The agent's action is the spikes of the neurons the experimenter watches: for the distal reward task, the
presynaptic and postsynaptic neurons n1, n2 of one excitatory synapse chosen at random, whose weight
starts at 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from agents.base import Agent
from agents.core import (
    BatchGenerators,
    Connectivity,
    DopamineParameters,
    IzhikevichState,
    delay_buffer_init,
    deliver_spikes,
    dopamine_step,
    eligibility_decay,
    fixed_fanout_connectivity,
    izhikevich_init,
    izhikevich_parameters,
    izhikevich_step,
    read_input,
    stdp_update,
    trace_decay,
    trace_spike,
)


@dataclass(frozen=True)
class DASTDPConfig:
    """Parameters of Izhikevich's network and rule (defaults: daspnet.m)."""

    n_excitatory: int = 800
    """N_e regular-spiking excitatory neurons (plastic outgoing synapses)."""
    n_inhibitory: int = 200
    """N_i fast-spiking inhibitory neurons."""
    fan_out: int = 100
    """M synapses per neuron."""
    max_delay_ms: int = 1
    """D, conduction delays are 1 .. D ms (daspnet.m: D = 1; spnet.m: 20)."""
    w_excitatory: float = 1.0
    """Initial excitatory weight."""
    w_inhibitory: float = -1.0
    """Inhibitory weight (fixed)."""
    w_max: float = 4.0
    """s_max: excitatory weights stay in [0, s_max]."""
    noise_amplitude: float = 13.0
    """Background input I = amplitude (U - 0.5) per neuron per ms."""
    trace_decay_per_ms: float = 0.95
    """STDP traces decay by this factor per ms (tau ~ 20 ms)."""
    a_plus: float = 0.1
    """A+, tag increment per unit pre trace at a post spike."""
    a_minus: float = 0.15
    """A-, tag decrement per unit post trace at a pre spike."""
    update_every_ms: int = 10
    """Weights take their tags every this many ms (daspnet.m: 10)."""
    tag_decay_per_update: float = 0.99
    """The tags decay by this factor at each weight update (0.99 per 10 ms: tau_c ~ 1 s)."""
    tau_d_ms: float = 200.0
    """tau_d, dopamine decay."""
    d_tonic: float = 0.002
    """Tonic dopamine."""
    reward_dopamine: float = 0.5
    """Dopamine released per unit of reward."""
    watch_reinforced_synapse: bool = True
    """Watch (act with) n1 and n2 of a random excitatory synapse whose weight starts at 0."""

    def __post_init__(self) -> None:
        bad = []
        if self.n_excitatory < 1 or self.n_inhibitory < 0 or self.fan_out < 1:
            bad.append("n_excitatory and fan_out must be >= 1, n_inhibitory >= 0")
        if self.fan_out >= self.n_excitatory:
            bad.append("fan_out must be smaller than n_excitatory")
        if self.max_delay_ms < 1 or self.update_every_ms < 1:
            bad.append("max_delay_ms and update_every_ms must be >= 1")
        if not 0 < self.trace_decay_per_ms < 1 or not 0 < self.tag_decay_per_update <= 1:
            bad.append("the decay factors must be in (0, 1)")
        if self.w_max <= 0:
            bad.append("w_max must be > 0")
        if bad:
            raise ValueError("DASTDPConfig: " + "; ".join(bad))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DASTDPConfig:
        values = dict(values)
        preset = values.pop("preset", "izhikevich2007")
        if preset not in PRESETS:
            raise ValueError(f"unknown DA-STDP preset {preset!r}; choose one of {sorted(PRESETS)}")
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown DA-STDP parameter(s) {unknown}; valid: {sorted(f.name for f in fields(cls))}")
        return replace(PRESETS[preset], **values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, DASTDPConfig] = {"izhikevich2007": DASTDPConfig()}


class DASTDPAgent(Agent):
    """B networks of Izhikevich neurons with dopamine-modulated STDP, one per seed, stepped as one computation.

    Args:
        observation_space, action_space: the single env's spaces; the action is ``MultiBinary(k)``, the
            spikes of k watched neurons (k = 2 for the distal reward task: n1 and n2).
        config: a ``DASTDPConfig`` (default: daspnet.m).
        seeds: one seed per network.
        device: "cpu" or "cuda".
        env_dt_ms: the env's step, which must be the model's 1 ms.
    """

    name: ClassVar[str] = "dastdp"
    needs_step_info: ClassVar[bool] = False
    unbatched_state: ClassVar[tuple[str, ...]] = ("t", "noise_pos")

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: DASTDPConfig | None = None,
        *,
        seeds: Sequence[int] = (0,),
        device: torch.device | str = "cpu",
        env_dt_ms: float | None = None,
    ) -> None:
        super().__init__(observation_space, action_space, seeds=seeds, device=device)
        self.config = cfg = config or DASTDPConfig()
        if not isinstance(action_space, spaces.MultiBinary) or len(action_space.shape) != 1:
            raise ValueError(
                f"the DA-STDP agent acts with the spikes of watched neurons: it needs a 1-D MultiBinary "
                f"action space, got {action_space}"
            )
        if env_dt_ms is not None and abs(env_dt_ms - 1.0) > 1e-9:
            raise ValueError(f"Izhikevich's network steps 1 ms at a time; the env's dt is {env_dt_ms} ms")
        B, dev = self.batch_size, self.device
        self.n = cfg.n_excitatory + cfg.n_inhibitory
        self.generators = BatchGenerators(self.seeds, dev)
        self.params = izhikevich_parameters(cfg.n_excitatory, cfg.n_inhibitory, device=dev)
        self.conn: Connectivity = fixed_fanout_connectivity(
            self.generators,
            cfg.n_excitatory,
            cfg.n_inhibitory,
            cfg.fan_out,
            cfg.max_delay_ms,
            cfg.w_excitatory,
            cfg.w_inhibitory,
        )
        self.watched = self._choose_watched(int(action_space.shape[0]))
        self.tag = torch.zeros_like(self.conn.weight)  # c, per synapse (B, N, M)
        self.dopamine_params = DopamineParameters(cfg.tau_d_ms, cfg.d_tonic, cfg.reward_dopamine)
        self._noise_chunk = 250
        self._noise = torch.zeros(B, self._noise_chunk, self.n, device=dev)
        self._noise_pos = self._noise_chunk
        self.t = 0  # ms since the networks were built (the delay ring buffer's clock)
        self.reset()

    def _choose_watched(self, k: int) -> Tensor:
        """(B, k) indices of the watched neurons: n1, n2 of a random excitatory synapse (its weight set to 0)."""
        cfg, B = self.config, self.batch_size
        if not cfg.watch_reinforced_synapse or k != 2:
            if k > self.n:
                raise ValueError(f"the env watches {k} neurons, the network has {self.n}")
            return torch.arange(k, device=self.device).expand(B, k).contiguous()
        draw = self.generators.uniform(2)
        n1 = (draw[:, 0] * cfg.n_excitatory).long().clamp_(max=cfg.n_excitatory - 1)
        syn = (draw[:, 1] * cfg.fan_out).long().clamp_(max=cfg.fan_out - 1)
        rows = torch.arange(B, device=self.device)
        n2 = self.conn.post[rows, n1, syn]
        self.conn.weight[rows, n1, syn] = 0.0
        self.reinforced = (n1, syn)
        return torch.stack([n1, n2], dim=1)

    # -- the network ---------------------------------------------------------------------------------
    def _background(self) -> Tensor:
        if self._noise_pos == self._noise_chunk:
            self._noise = self.config.noise_amplitude * (self.generators.uniform(self._noise_chunk, self.n) - 0.5)
            self._noise_pos = 0
        row = self._noise[:, self._noise_pos]
        self._noise_pos += 1
        return row

    def _act(self, obs: Tensor, deterministic: bool) -> Tensor:
        cfg, t = self.config, self.t
        spikes = self.state.v >= self.params.v_peak_mV  # emitted during the last ms (daspnet's `fired`)
        if self.training:
            stdp_update(self.tag, self.trace, self.trace, spikes, self.conn, cfg.a_plus, cfg.a_minus)
        self.trace = trace_spike(self.trace, spikes, 1.0, mode="set")
        deliver_spikes(self.buffer, spikes, self.conn, t - 1)  # emitted at t - 1: a 1-ms delay acts now
        current = read_input(self.buffer, t) + self._background()
        _, self.state = izhikevich_step(current, self.state, self.params)
        self.trace = trace_decay(self.trace, cfg.trace_decay_per_ms)
        self.dopamine = dopamine_step(self.dopamine, 0.0, self.dopamine_params, 1.0)
        self.t += 1
        if self.training and self.t % cfg.update_every_ms == 0:
            excitatory = slice(0, cfg.n_excitatory)
            drive = (self.dopamine + cfg.d_tonic)[:, None, None]
            w = self.conn.weight[:, excitatory]
            w.add_(drive * self.tag[:, excitatory]).clamp_(0.0, cfg.w_max)
            eligibility_decay(self.tag, cfg.tag_decay_per_update)
        return spikes.gather(1, self.watched).to(torch.int8)

    def _reset(self, mask: Tensor) -> None:
        fresh = izhikevich_init(self.batch_size, self.params)
        keep = ~mask[:, None]
        old = getattr(self, "state", fresh)
        self.state = IzhikevichState(*(torch.where(keep, o, f) for o, f in zip(old, fresh, strict=True)))
        if not hasattr(self, "trace"):
            self.trace = torch.zeros(self.batch_size, self.n, device=self.device)
            self.buffer = delay_buffer_init(self.batch_size, self.n, self.config.max_delay_ms, device=self.device)
            self.dopamine = torch.zeros(self.batch_size, device=self.device)
        self.trace[mask] = 0.0
        self.buffer[mask] = 0.0
        self.dopamine[mask] = 0.0
        self.tag[mask] = 0.0

    def _observe(
        self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, info: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        if self.training and reward.any():
            self.dopamine += self.dopamine_params.reward_increment * torch.as_tensor(
                reward, dtype=self.dtype, device=self.device
            )
        return {}

    # -- what the experiment measures ----------------------------------------------------------------
    @property
    def reinforced_weight(self) -> Tensor:
        """(B,) weight of the n1 -> n2 synapse of each network."""
        n1, syn = self.reinforced
        return self.conn.weight[torch.arange(self.batch_size, device=self.device), n1, syn]

    def excitatory_weights(self, exclude_reinforced: bool = True) -> Tensor:
        """(B, N_e * M) excitatory weights (the reinforced synapse left out as NaN)."""
        w = self.conn.weight[:, : self.config.n_excitatory].clone()
        if exclude_reinforced:
            n1, syn = self.reinforced
            w[torch.arange(self.batch_size, device=self.device), n1, syn] = math.nan
        return w.flatten(1)

    def metrics(self) -> dict[str, np.ndarray]:
        """The reinforced synapse's weight and the mean and 99th percentile of the other excitatory weights."""
        others = self.excitatory_weights()
        reinforced = self.reinforced_weight
        return {
            "reinforced_weight": reinforced.cpu().numpy(),
            "reinforced_weight_of_max": (reinforced / self.config.w_max).cpu().numpy(),
            "excitatory_weight_mean": torch.nanmean(others, dim=1).cpu().numpy(),
            "excitatory_weight_p99": torch.nanquantile(others, 0.99, dim=1).cpu().numpy(),
        }

    # -- checkpoints ---------------------------------------------------------------------------------
    def _state_tensors(self) -> dict[str, Tensor]:
        return {
            "post": self.conn.post,
            "delay_ms": self.conn.delay_ms,
            "weight": self.conn.weight,
            "incoming": self.conn.incoming,
            "incoming_mask": self.conn.incoming_mask,
            "watched": self.watched,
            "reinforced_n1": self.reinforced[0],
            "reinforced_syn": self.reinforced[1],
            "tag": self.tag,
            "v": self.state.v,
            "u": self.state.u,
            "trace": self.trace,
            "buffer": self.buffer,
            "dopamine": self.dopamine,
            "noise": self._noise,
            "generators": self.generators.get_state(),
            "t": torch.tensor(self.t),
            "noise_pos": torch.tensor(self._noise_pos),
        }

    def _load_tensors(self, tensors: Mapping[str, Tensor]) -> None:
        self.conn = Connectivity(
            *(tensors[k].clone() for k in ("post", "delay_ms", "weight", "incoming", "incoming_mask"))
        )
        self.watched = tensors["watched"].clone()
        self.reinforced = (tensors["reinforced_n1"].clone(), tensors["reinforced_syn"].clone())
        self.tag = tensors["tag"].clone()
        self.state = IzhikevichState(v=tensors["v"].clone(), u=tensors["u"].clone())
        self.trace, self.buffer = tensors["trace"].clone(), tensors["buffer"].clone()
        self.dopamine, self._noise = tensors["dopamine"].clone(), tensors["noise"].clone()
        self.generators.set_state(tensors["generators"])
        self.t, self._noise_pos = int(tensors["t"]), int(tensors["noise_pos"])

    def _state_extra(self) -> dict[str, Any]:
        return {"config": self.config.to_dict()}
