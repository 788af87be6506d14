"""Spoken "one" and "two" as input spike trains: Lyon's passive ear, Ben's Spiker Algorithm and the shipped file.

The preprocessing of the liquid-state-machine digit work (Verstraeten, Schrauwen, Stroobandt & Van Campenhout
2005, "Isolated word recognition with the Liquid State Machine: a case study", Inf. Process. Lett. 95(6):521-528,
doi:10.1016/j.ipl.2005.05.019), which Legenstein, Pecevski & Maass (2008) reused for computer simulation 5,
applied to the 600 FSDD recordings of ``../shared/data/fsdd-one-two``:

1. **Cochlea.** Lyon's passive ear model (R. F. Lyon 1982, "A computational model of filtering, detection, and
   compression in the cochlea", Proc. IEEE ICASSP, 1282-1285; M. Slaney 1988, "Lyon's cochlear model", Apple
   Computer Technical Report #13) as Slaney's Auditory Toolbox implements it (Version 2, Interval Research
   Technical Report #1998-010: ``LyonPassiveEar.m``, ``DesignLyonFilters.m``, ``soscascade.c``, ``agc.c``,
   ``sosfilters.c``), see :func:`lyon_passive_ear`. At 8 kHz with the Toolbox's ear Q 8 and step factor 1/4 the
   cascade has 64 output channels (86 is the count at 16 kHz; the 22 channels above 4 kHz do not exist at
   8 kHz). Decimation by 8 gives one cochleagram frame per millisecond, the env's step.
2. **Spikes.** Each channel times a fixed gain, as a rate in spikes per ms, is encoded by Ben's Spiker
   Algorithm (B. Schrauwen & J. Van Campenhout 2003, "BSA, a fast and accurate spike train encoding scheme",
   Proc. IJCNN, 2825-2830, doi:10.1109/IJCNN.2003.1224019), see :func:`bsa_encode`.
3. **File.** The spikes of all recordings, their labels and the parameters go to ``envs/data/spoken_digits.npz``
   (:class:`SpokenDigits`), which ``spikegym/SpokenDigits-v0`` loads offline.

Regenerate the file (and the figure ``docs/spoken_digits_utterance.png``) from the recordings with::

    python -m envs.spoken_digits_data --recordings ../shared/data/fsdd-one-two/recordings \\
        --out envs/data/spoken_digits.npz --figure docs/spoken_digits_utterance.png --force

The compiled loops use numba (a spikegym dependency), imported on first use: loading the file needs NumPy only.
This implementation equals the ``lyon`` package's (PyPI ``lyon`` 1.0.0, a ctypes wrapper around the Toolbox's C
files) to 1e-13 relative on FSDD recordings; that package is not used because its ``py3-none-any`` wheel ships a
prebuilt x86-64 Linux library.

The recordings: Free Spoken Digit Dataset (FSDD), Zohar Jackson and contributors,
github.com/Jakobovski/free-spoken-digit-dataset, doi:10.5281/zenodo.1342401, CC BY-SA 4.0.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CREDIT",
    "DIGITS",
    "LICENSE",
    "Encoding",
    "SpokenDigits",
    "bsa_decode",
    "bsa_encode",
    "bsa_filter",
    "channel_frequencies",
    "cochleagram",
    "data_path",
    "design_lyon_filters",
    "encode",
    "load_spoken_digits",
    "lyon_passive_ear",
    "main",
    "plot_utterances",
    "preprocess",
    "read_wav",
]

DIGITS = (1, 2)
LICENSE = "CC BY-SA 4.0 (Creative Commons Attribution-ShareAlike 4.0 International)"
CREDIT = (
    'Spike trains of the spoken digits "one" and "two" of the Free Spoken Digit Dataset (FSDD): Zohar Jackson and '
    "contributors, speakers george, jackson, lucas, nicolas, theo and yweweler; "
    "https://github.com/Jakobovski/free-spoken-digit-dataset, doi:10.5281/zenodo.1342401; licensed CC BY-SA 4.0. "
    "Changed: transformed into spike trains by Lyon's passive ear model (Slaney's Auditory Toolbox) and Ben's "
    "Spiker Algorithm (envs/spoken_digits_data.py); this derived file is licensed CC BY-SA 4.0 too."
)
REGENERATE = (
    "python -m envs.spoken_digits_data --recordings ../shared/data/fsdd-one-two/recordings "
    "--out envs/data/spoken_digits.npz"
)
FORMAT_VERSION = 1
_FILE_NAME = re.compile(r"^(?P<digit>\d)_(?P<speaker>[a-z]+)_(?P<utterance>\d+)\.wav$")

# Lyon's model constants (DesignLyonFilters.m, from Apple TR #13): bandwidth corner Eb (Hz), the zero's offset
# above its pole in bandwidths, the zero's sharpness, the pre-emphasis corner (Hz).
_EAR_BREAK_HZ = 1000.0
_EAR_ZERO_OFFSET = 1.5
_EAR_SHARPNESS = 5.0
_EAR_PREEMPHASIS_HZ = 300.0
# The four AGC stages (LyonPassiveEar.m): time constants (s) and targets, slow to fast.
_AGC_TAUS_S = (0.64, 0.16, 0.04, 0.01)
_AGC_TARGETS = (0.0032, 0.0016, 0.0008, 0.0004)
_AGC_STATE_LIMIT = 0.9  # agc.c: 1 - EPS with EPS = 0.1


@dataclass(frozen=True)
class Encoding:
    """The preprocessing's parameters; the data file stores them and the tests re-encode with them."""

    sample_rate_hz: int = 8000
    """FSDD's sample rate; the recordings must have it."""
    ear_q: float = 8.0
    """Lyon's ear quality factor (the Toolbox's default): 8 gives the Toolbox's sharp filters."""
    step_factor: float = 0.25
    """Channel spacing in bandwidths (the Toolbox's default ear_q / 32, 25% overlap): 64 channels at 8 kHz."""
    decimation: int = 8
    """Output every 8th sample: 8 kHz / 8 = one cochleagram frame per ms, the env's ``dt_ms``."""
    tau_factor: float = 3.0
    """The decimation low-pass's time constant in output frames (the Toolbox's default): 3 ms."""
    bsa_taps: int = 32
    """Length of BSA's filter in frames (ms): a 32-ms raised cosine, summing to 1."""
    bsa_gain: float = 800.0
    """The cochleagram times this is the rate BSA encodes, in spikes per ms (an output of 1.25e-4 is 100 Hz)."""
    bsa_threshold: float = 0.5
    """BSA fires when a spike lowers the window's absolute error by more than this (half a spike's mass)."""

    @property
    def frame_ms(self) -> float:
        """Duration of one cochleagram frame, the time resolution of the spikes."""
        return 1000.0 * self.decimation / self.sample_rate_hz


def _compiled(function: Callable) -> Callable:
    """``function`` compiled by numba (``njit``, cached on disk) on its first call."""
    compiled: Callable | None = None

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        nonlocal compiled
        if compiled is None:
            import numba

            compiled = numba.njit(cache=True)(function)
        return compiled(*args)

    return call


def _second_order_filter(cf_hz: np.ndarray, q: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    """``[1, -2 rho cos(theta), rho^2]`` per row, a resonance at ``cf_hz`` of quality ``q`` (SecondOrderFilter.m):
    ``rho = exp(-pi cf / (q fs))``, ``theta = 2 pi (cf / fs) sqrt(1 - 1 / (4 q^2))``."""
    cft = np.asarray(cf_hz, dtype=np.float64) / sample_rate_hz
    q = np.asarray(q, dtype=np.float64)
    rho = np.exp(-np.pi * cft / q)
    theta = 2.0 * np.pi * cft * np.sqrt(1.0 - 1.0 / (4.0 * q**2))
    return np.stack([np.ones_like(rho), -2.0 * rho * np.cos(theta), rho**2], axis=-1)


def _with_gain(section: Sequence[float], gain: float, f_hz: float, sample_rate_hz: float) -> np.ndarray:
    """The section ``[a0 a1 a2 b1 b2]`` with its numerator scaled to gain ``gain`` at ``f_hz`` (SetGain.m)."""
    a0, a1, a2, b1, b2 = (float(v) for v in section)
    z = np.exp(2j * np.pi * f_hz / sample_rate_hz)
    response = abs((a2 + a1 * z + a0 * z * z) / (b2 + b1 * z + z * z))
    scale = gain / response
    return np.array([a0 * scale, a1 * scale, a2 * scale, b1, b2])


def design_lyon_filters(
    sample_rate_hz: float, ear_q: float = 8.0, step_factor: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The filters of Lyon's passive ear, as DesignLyonFilters.m designs them (Slaney 1988, 1998).

    Each row is a second-order section ``[a0 a1 a2 b1 b2]``,
    ``H(z) = (a0 + a1 z^-1 + a2 z^-2) / (1 + b1 z^-1 + b2 z^-2)``: two front filters (outer/middle-ear
    pre-emphasis with a 300-Hz corner, and a compensator with a zero at DC and Nyquist), then the cascade from
    the highest channel down. With ``EarBandwidth(f) = sqrt(f^2 + Eb^2) / ear_q`` (Eb = 1000 Hz), the top
    frequency ``f_top = fs/2 - EarBandwidth(fs/2) step (1.5 - 1)`` and channels spaced ``step_factor``
    bandwidths apart (s = step_factor, Q = ear_q), channel n (1-based) has its pole at

        f_n = ((f_top + sqrt(Eb^2 + f_top^2)) e^{-n s / Q} - Eb^2 e^{n s / Q} / (f_top + sqrt(Eb^2 + f_top^2))) / 2

    with quality ``f_n / EarBandwidth(f_n)``, a zero 1.5 step-bandwidths above it with quality 5 zero-CF /
    bandwidth, and a DC gain ``f_{n-1} / f_n``. Channels run down to where the pole quality falls to 1/2.

    Returns:
        ``(filters, center_freqs_hz)``: shape ``(n + 2, 5)`` and ``(n,)``, highest frequency first.
    """
    step = ear_q / 32.0 if step_factor is None else float(step_factor)
    eb = _EAR_BREAK_HZ
    top = sample_rate_hz / 2.0
    top = top - np.sqrt(top**2 + eb**2) / ear_q * step * _EAR_ZERO_OFFSET + np.sqrt(top**2 + eb**2) / ear_q * step
    low = eb / np.sqrt(4.0 * ear_q**2 - 1.0)
    n_channels = int(np.floor(ear_q * (np.arcsinh(top / eb) - np.arcsinh(low / eb)) / step))
    n = np.arange(1, n_channels + 1)
    big = top + np.sqrt(eb**2 + top**2)
    center = (-(np.exp(n * step / ear_q) * eb**2) / big + big / np.exp(n * step / ear_q)) / 2.0
    bandwidth = np.sqrt(center**2 + eb**2) / ear_q
    zero_cf = center + bandwidth * step * _EAR_ZERO_OFFSET
    zeros = _second_order_filter(zero_cf, _EAR_SHARPNESS * zero_cf / bandwidth, sample_rate_hz)
    pole_q = center / bandwidth
    poles = _second_order_filter(center, pole_q, sample_rate_hz)
    dc_gain = np.empty(n_channels)
    dc_gain[1:] = center[:-1] / center[1:]
    dc_gain[0] = dc_gain[1]
    cascade = [
        _with_gain([*z, p[1], p[2]], g, 0.0, sample_rate_hz) for z, p, g in zip(zeros, poles, dc_gain, strict=True)
    ]
    preemphasis = _with_gain(
        [0.0, 1.0, -np.exp(-2.0 * np.pi * _EAR_PREEMPHASIS_HZ / sample_rate_hz), 0.0, 0.0],
        1.0,
        sample_rate_hz / 4.0,
        sample_rate_hz,
    )
    top_poles = _second_order_filter(np.array([top]), np.array([pole_q[0]]), sample_rate_hz)[0]
    compensator = _with_gain([1.0, 0.0, -1.0, top_poles[1], top_poles[2]], 1.0, sample_rate_hz / 4.0, sample_rate_hz)
    return np.vstack([preemphasis, compensator, *cascade]), center


@_compiled
def _lyon_kernel(
    x: np.ndarray,
    filters: np.ndarray,
    decimation: int,
    agc_targets: np.ndarray,
    agc_epsilons: np.ndarray,
    decimation_filter: np.ndarray,
    differ: bool,
    agc: bool,
) -> np.ndarray:
    # LyonPassiveEar.m's loop, sample by sample; each block mirrors the Toolbox function named in its comment.
    n_filters = filters.shape[0]
    n_stages = agc_targets.shape[0]
    n_out = x.shape[0] // decimation
    sos1 = np.zeros(n_filters)
    sos2 = np.zeros(n_filters)
    agc_state = np.zeros((n_stages, n_filters))
    dec1 = np.zeros(n_filters)
    dec2 = np.zeros(n_filters)
    out = np.zeros(n_filters)
    y = np.zeros((n_out, n_filters))
    for frame in range(n_out):
        for j in range(decimation):
            signal = x[frame * decimation + j]
            for c in range(n_filters):  # soscascade.c (transposed direct form II), then half-wave rectify
                o = filters[c, 0] * signal + sos1[c]
                sos1[c] = filters[c, 1] * signal - filters[c, 3] * o + sos2[c]
                sos2[c] = filters[c, 2] * signal - filters[c, 4] * o
                out[c] = o if o > 0.0 else 0.0
                signal = o
            if j == 0:  # the Toolbox zeroes the two front channels at each block's first sample
                out[0] = 0.0
                out[1] = 0.0
            if agc:  # agc.c: each stage's gain 1 - state, the state smoothed across neighbouring channels
                for stage in range(n_stages):
                    epsilon = agc_epsilons[stage]
                    neighbours = (1.0 - epsilon) / 3.0
                    eps_over_target = epsilon / agc_targets[stage]
                    previous = agc_state[stage, 0]
                    for c in range(n_filters):
                        following = agc_state[stage, c + 1] if c + 1 < n_filters else agc_state[stage, c]
                        o = abs(out[c] * (1.0 - agc_state[stage, c]))
                        out[c] = o
                        f = o * eps_over_target + neighbours * (previous + agc_state[stage, c] + following)
                        previous = agc_state[stage, c]
                        agc_state[stage, c] = f if f < _AGC_STATE_LIMIT else _AGC_STATE_LIMIT
            if differ:  # output(c) = max(0, output(c-1) - output(c)): sharpens each channel's tuning
                for c in range(n_filters - 1, 0, -1):
                    d = out[c - 1] - out[c]
                    out[c] = d if d > 0.0 else 0.0
            if decimation > 1:  # sosfilters.c: one two-pole low-pass for all channels
                for c in range(n_filters):
                    signal = out[c]
                    o = decimation_filter[0] * signal + dec1[c]
                    dec1[c] = decimation_filter[1] * signal - decimation_filter[3] * o + dec2[c]
                    dec2[c] = decimation_filter[2] * signal - decimation_filter[4] * o
                    out[c] = o
        for c in range(n_filters):
            y[frame, c] = out[c]
    return y


def lyon_passive_ear(
    waveform: np.ndarray,
    sample_rate_hz: float,
    decimation: int = 1,
    *,
    ear_q: float = 8.0,
    step_factor: float | None = None,
    differ: bool = True,
    agc: bool = True,
    tau_factor: float = 3.0,
) -> np.ndarray:
    """Lyon's passive ear model (Lyon 1982), exactly as Slaney's Auditory Toolbox ``LyonPassiveEar.m``.

    Per input sample: the cascade of :func:`design_lyon_filters` (each channel's output feeds the next),
    half-wave rectification, four coupled automatic-gain-control stages (``agc.c``; stage k with
    ``epsilon_k = 1 - exp(-1 / (tau_k fs))``, tau = 0.64, 0.16, 0.04, 0.01 s, and target t_k = 0.0032,
    0.0016, 0.0008, 0.0004 maps ``y = |x (1 - s_c)|``, ``s_c <- min(0.9, y epsilon / t +
    (1 - epsilon)(s_{c-1} + s_c + s_{c+1}) / 3)``, an edge channel counting itself for its missing neighbour),
    the difference of neighbouring channels rectified (``differ``), and a two-pole low-pass with
    ``epsilon = 1 - exp(-1 / (tau_factor decimation))`` and unit DC gain before keeping every ``decimation``-th
    sample. The two front channels are dropped from the output.

    Args:
        waveform: the sound, one channel, any scale (the Toolbox uses -1..1).
        sample_rate_hz: its sample rate.
        decimation: keep every this many samples (trailing samples that do not fill a frame are dropped).
        ear_q, step_factor: the filters' quality and spacing (step_factor None: ear_q / 32).
        differ, agc: the Toolbox's switches for the two stages.
        tau_factor: the decimation low-pass's time constant in output frames.

    Returns:
        The cochleagram, shape ``(len(waveform) // decimation, n_channels)``, highest frequency first (the
        Toolbox's row order, transposed to time first).
    """
    x = np.ascontiguousarray(waveform, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"the waveform must be one channel (1-D), got shape {x.shape}")
    if int(decimation) != decimation or decimation < 1:
        raise ValueError(f"decimation must be a positive integer, got {decimation!r}")
    filters, _ = design_lyon_filters(sample_rate_hz, ear_q, step_factor)
    decimation = int(decimation)
    epsilon = 1.0 - np.exp(-1.0 / (decimation / sample_rate_hz * tau_factor) / sample_rate_hz)
    low_pass = _with_gain([0.0, 0.0, 1.0, -2.0 * (1.0 - epsilon), (1.0 - epsilon) ** 2], 1.0, 0.0, sample_rate_hz)
    agc_epsilons = np.array([1.0 - np.exp(-1.0 / tau / sample_rate_hz) for tau in _AGC_TAUS_S])
    y = _lyon_kernel(x, filters, decimation, np.array(_AGC_TARGETS), agc_epsilons, low_pass, bool(differ), bool(agc))
    return y[:, 2:]


def channel_frequencies(encoding: Encoding | None = None) -> np.ndarray:
    """Center frequency (Hz) of each cochleagram channel, lowest first (the order of :func:`cochleagram`)."""
    encoding = encoding or Encoding()
    _, center = design_lyon_filters(encoding.sample_rate_hz, encoding.ear_q, encoding.step_factor)
    return center[::-1].copy()


def cochleagram(waveform: np.ndarray, encoding: Encoding | None = None) -> np.ndarray:
    """The cochleagram of a recording at ``encoding.sample_rate_hz``: :func:`lyon_passive_ear` with the
    encoding's parameters, shape ``(n_frames, n_channels)``, one frame per ``encoding.frame_ms``, lowest channel
    first."""
    encoding = encoding or Encoding()
    y = lyon_passive_ear(
        waveform,
        encoding.sample_rate_hz,
        encoding.decimation,
        ear_q=encoding.ear_q,
        step_factor=encoding.step_factor,
        tau_factor=encoding.tau_factor,
    )
    return np.ascontiguousarray(y[:, ::-1])


def bsa_filter(taps: int) -> np.ndarray:
    """BSA's filter here: a raised cosine of ``taps`` samples, ``h(k) = sin^2(pi (k + 1/2) / taps)``, scaled to
    sum 1, so that one spike carries unit mass and a train at rate r (spikes per sample) decodes to level r."""
    if int(taps) != taps or taps < 1:
        raise ValueError(f"the BSA filter needs a positive number of taps, got {taps!r}")
    h = np.sin(np.pi * (np.arange(int(taps)) + 0.5) / taps) ** 2
    return h / h.sum()


@_compiled
def _bsa_kernel(signal: np.ndarray, fir: np.ndarray, threshold: float) -> np.ndarray:
    n_steps, n_channels = signal.shape
    residual = signal.copy()
    spikes = np.zeros((n_steps, n_channels), dtype=np.bool_)
    for c in range(n_channels):
        for t in range(n_steps):
            width = min(fir.shape[0], n_steps - t)
            error_with = 0.0
            error_without = 0.0
            for k in range(width):
                error_with += abs(residual[t + k, c] - fir[k])
                error_without += abs(residual[t + k, c])
            if error_with <= error_without - threshold:
                spikes[t, c] = True
                for k in range(width):
                    residual[t + k, c] -= fir[k]
    return spikes


def bsa_encode(signal: np.ndarray, fir: np.ndarray, threshold: float) -> np.ndarray:
    """Ben's Spiker Algorithm (Schrauwen & Van Campenhout 2003), channel by channel.

    For t = 0, 1, ...: with the errors over the filter's window (cut at the signal's end)

        e_spike = sum_k |s(t + k) - h(k)|,    e_none = sum_k |s(t + k)|,

    fire at t when ``e_spike <= e_none - threshold`` and then subtract the filter, ``s(t + k) -= h(k)``. The
    spikes decode by the same filter (:func:`bsa_decode`): a spike at t stands for ``h`` from t on, so spikes
    lead the features they encode by about half the filter's length.

    Args:
        signal: shape ``(n_steps, n_channels)``, the levels to encode (in spikes per step, for a filter of sum 1).
        fir: the filter ``h``, shape ``(taps,)``.
        threshold: the error reduction a spike must bring, in the signal's units.

    Returns:
        Bool spikes, shape ``(n_steps, n_channels)``.
    """
    s = np.ascontiguousarray(signal, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"BSA encodes a (n_steps, n_channels) signal, got shape {s.shape}")
    return _bsa_kernel(s, np.ascontiguousarray(fir, dtype=np.float64), float(threshold))


def bsa_decode(spikes: np.ndarray, fir: np.ndarray) -> np.ndarray:
    """The level a BSA spike train stands for: ``s_hat(t) = sum_{spikes t_f <= t} h(t - t_f)`` per channel."""
    spikes = np.asarray(spikes, dtype=np.float64)
    n_steps = spikes.shape[0]
    decoded = np.zeros((n_steps + len(fir) - 1, *spikes.shape[1:]))
    for k, h in enumerate(fir):
        decoded[k : k + n_steps] += h * spikes
    return decoded[:n_steps]


def encode(waveform: np.ndarray, encoding: Encoding | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """A recording's input spike trains: :func:`cochleagram` times ``bsa_gain``, encoded by :func:`bsa_encode`.

    Returns:
        ``(times_ms, channels, duration_ms)``: each spike's frame (ms from the recording's start) and channel
        (0 = lowest frequency), sorted by channel then time, and the number of frames.
    """
    encoding = encoding or Encoding()
    levels = cochleagram(waveform, encoding) * encoding.bsa_gain
    spikes = bsa_encode(levels, bsa_filter(encoding.bsa_taps), encoding.bsa_threshold)
    channels, times = np.nonzero(spikes.T)
    return times.astype(np.uint16), channels.astype(np.uint8), int(levels.shape[0])


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A mono 16-bit PCM WAV file as float64 in [-1, 1), and its sample rate (stdlib ``wave``)."""
    with wave.open(str(path), "rb") as f:
        if f.getnchannels() != 1 or f.getsampwidth() != 2 or f.getcomptype() != "NONE":
            raise ValueError(
                f"{path}: expected mono 16-bit PCM, got {f.getnchannels()} channel(s) of {8 * f.getsampwidth()} bit "
                f"({f.getcomptype()})"
            )
        frames = f.readframes(f.getnframes())
        rate = f.getframerate()
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0, rate


@dataclass(frozen=True)
class SpokenDigits:
    """Recordings as spike trains (what ``envs/data/spoken_digits.npz`` holds), in order of digit, speaker and
    utterance index. Recording r's spikes are ``spike_times_ms[o[r]:o[r+1]]`` and ``spike_channels[...]`` with
    ``o = spike_offsets``; times count frames (ms) from the recording's start, channel 0 is the lowest."""

    digit: np.ndarray
    """(R,) the spoken digit, 1 or 2."""
    speaker: np.ndarray
    """(R,) index into ``speaker_names``."""
    utterance: np.ndarray
    """(R,) FSDD's utterance index of the speaker and digit, 0-49."""
    duration_ms: np.ndarray
    """(R,) cochleagram frames of the recording."""
    spike_offsets: np.ndarray
    """(R + 1,) where each recording's spikes start and end."""
    spike_times_ms: np.ndarray
    """(S,) uint16 spike times."""
    spike_channels: np.ndarray
    """(S,) uint8 spike channels."""
    speaker_names: tuple[str, ...]
    """The speakers, alphabetically."""
    channel_cf_hz: np.ndarray
    """(C,) center frequency of each channel."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """The encoding's parameters, the credit and the license (JSON in the file)."""

    @property
    def n_recordings(self) -> int:
        return len(self.digit)

    @property
    def n_channels(self) -> int:
        return len(self.channel_cf_hz)

    @property
    def encoding(self) -> Encoding:
        return Encoding(**self.metadata["encoding"])

    def spikes(self, recording: int) -> tuple[np.ndarray, np.ndarray]:
        """``(times_ms, channels)`` of one recording."""
        start, stop = self.spike_offsets[recording], self.spike_offsets[recording + 1]
        return self.spike_times_ms[start:stop], self.spike_channels[start:stop]

    def find(self, digit: int, speaker: str, utterance: int) -> int:
        """The index of the recording ``{digit}_{speaker}_{utterance}.wav``."""
        if speaker not in self.speaker_names:
            raise ValueError(f"unknown speaker {speaker!r}; the speakers are {list(self.speaker_names)}")
        match = np.flatnonzero(
            (self.digit == digit) & (self.speaker == self.speaker_names.index(speaker)) & (self.utterance == utterance)
        )
        if match.size != 1:
            raise ValueError(f"no recording {digit}_{speaker}_{utterance}")
        return int(match[0])

    def save(self, path: str | Path) -> None:
        """Write a compressed ``.npz`` (no pickled objects)."""
        np.savez_compressed(
            path,
            digit=self.digit.astype(np.uint8),
            speaker=self.speaker.astype(np.uint8),
            utterance=self.utterance.astype(np.uint8),
            duration_ms=self.duration_ms.astype(np.uint16),
            spike_offsets=self.spike_offsets.astype(np.uint32),
            spike_times_ms=self.spike_times_ms.astype(np.uint16),
            spike_channels=self.spike_channels.astype(np.uint8),
            speaker_names=np.array(self.speaker_names),
            channel_cf_hz=self.channel_cf_hz.astype(np.float64),
            metadata=np.array(json.dumps(self.metadata, indent=1, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: str | Path) -> SpokenDigits:
        """Read a file written by :meth:`save`; arrays come back read-only."""
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        metadata = json.loads(str(arrays.pop("metadata")))
        if metadata.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{path} has format {metadata.get('format')!r}, this spikegym reads {FORMAT_VERSION}; "
                f"regenerate it: {REGENERATE} --force"
            )
        names = tuple(str(s) for s in arrays.pop("speaker_names"))
        for array in arrays.values():
            array.flags.writeable = False
        return cls(speaker_names=names, metadata=metadata, **arrays)


def data_path() -> Path:
    """Where the shipped spike trains are: ``envs/data/spoken_digits.npz`` inside the installed package."""
    return Path(str(resources.files("envs").joinpath("data", "spoken_digits.npz")))


@functools.cache
def load_spoken_digits() -> SpokenDigits:
    """The shipped spike trains (read once per process; no network)."""
    path = data_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"the spoken-digit spike trains {path} are missing; reinstall spikegym or regenerate them from the "
            f"FSDD recordings: {REGENERATE}"
        )
    return SpokenDigits.load(path)


def preprocess(recordings: str | Path, encoding: Encoding | None = None) -> SpokenDigits:
    """Encode every ``{digit}_{speaker}_{index}.wav`` of digit 1 or 2 in ``recordings``."""
    encoding = encoding or Encoding()
    folder = Path(recordings)
    entries = []
    for path in folder.glob("*.wav"):
        match = _FILE_NAME.match(path.name)
        if match and int(match["digit"]) in DIGITS:
            entries.append((int(match["digit"]), match["speaker"], int(match["utterance"]), path))
    if not entries:
        raise FileNotFoundError(
            f"no recordings named {{digit}}_{{speaker}}_{{index}}.wav of digit 1 or 2 in {folder}; point --recordings "
            "at ../shared/data/fsdd-one-two/recordings"
        )
    entries.sort(key=lambda e: e[:3])
    names = tuple(sorted({speaker for _, speaker, _, _ in entries}))
    times, channels, durations = [], [], []
    for _, _, _, path in entries:
        waveform, rate = read_wav(path)
        if rate != encoding.sample_rate_hz:
            raise ValueError(f"{path} is sampled at {rate} Hz; the encoding expects {encoding.sample_rate_hz} Hz")
        t, c, duration = encode(waveform, encoding)
        times.append(t)
        channels.append(c)
        durations.append(duration)
    return SpokenDigits(
        digit=np.array([e[0] for e in entries], dtype=np.uint8),
        speaker=np.array([names.index(e[1]) for e in entries], dtype=np.uint8),
        utterance=np.array([e[2] for e in entries], dtype=np.uint8),
        duration_ms=np.array(durations, dtype=np.uint16),
        spike_offsets=np.concatenate([[0], np.cumsum([len(t) for t in times])]).astype(np.uint32),
        spike_times_ms=np.concatenate(times),
        spike_channels=np.concatenate(channels),
        speaker_names=names,
        channel_cf_hz=channel_frequencies(encoding),
        metadata={
            "format": FORMAT_VERSION,
            "encoding": asdict(encoding),
            "credit": CREDIT,
            "license": LICENSE,
            "source": "Free Spoken Digit Dataset, digits 1 and 2 (../shared/data/fsdd-one-two/recordings)",
            "made_by": REGENERATE,
            "time_unit": f"{encoding.frame_ms:g} ms (one cochleagram frame) from the start of the recording",
            "channel_order": "ascending center frequency (channel_cf_hz)",
        },
    )


def plot_utterances(
    recordings: str | Path,
    path: str | Path,
    examples: Sequence[tuple[int, str, int]] = ((1, "jackson", 0), (2, "jackson", 0)),
    encoding: Encoding | None = None,
) -> None:
    """Figure: the cochleagram (top) and the BSA input raster (bottom) of each example ``(digit, speaker,
    utterance)``, side by side, written to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    encoding = encoding or Encoding()
    cf = channel_frequencies(encoding)
    ticks = [int(np.argmin(np.abs(cf - f))) for f in (100, 250, 500, 1000, 2000, 3500)]
    labels = [f"{cf[k]:.0f}" for k in ticks]
    fig, axes = plt.subplots(
        2, len(examples), figsize=(5.6 * len(examples), 6.6), squeeze=False, sharey=True, layout="constrained"
    )
    words = {1: "one", 2: "two"}
    for column, (digit, speaker, utterance) in enumerate(examples):
        waveform, _ = read_wav(Path(recordings) / f"{digit}_{speaker}_{utterance}.wav")
        levels = cochleagram(waveform, encoding)
        times, channels, duration = encode(waveform, encoding)
        top, bottom = axes[0, column], axes[1, column]
        image = top.imshow(
            levels.T * 1e4,
            aspect="auto",
            origin="lower",
            cmap="magma",
            extent=(0, duration * encoding.frame_ms, -0.5, len(cf) - 0.5),
        )
        top.set_title(f'"{words[digit]}" ({speaker}, utterance {utterance}): cochleagram')
        fig.colorbar(image, ax=axes[:, column], shrink=0.45, anchor=(0.0, 1.0), label="Lyon output (x1e-4)")
        bottom.scatter(times * encoding.frame_ms, channels, s=1.5, c="k", marker="|", linewidths=0.6)
        bottom.set_xlim(0, duration * encoding.frame_ms)
        bottom.set_ylim(-0.5, len(cf) - 0.5)
        bottom.set_title(f"BSA input spikes: {len(times)} in {duration} ms")
        bottom.set_xlabel("time (ms)")
        for ax in (top, bottom):
            ax.set_yticks(ticks, labels)
        if column == 0:
            top.set_ylabel("channel center frequency (Hz)")
            bottom.set_ylabel("channel center frequency (Hz)")
    fig.suptitle(
        "Spoken digits through Lyon's passive ear (64 channels, 1-ms frames) and Ben's Spiker Algorithm\n"
        "FSDD recordings (Jackson et al., CC BY-SA 4.0)",
        fontsize=11,
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _check_writable(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise SystemExit(f"{path} exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m envs.spoken_digits_data --recordings DIR [--out FILE] [--figure PNG] [--force]``."""
    parser = argparse.ArgumentParser(
        prog="python -m envs.spoken_digits_data",
        description="Encode the FSDD recordings of 'one' and 'two' into the spike trains of spikegym/SpokenDigits-v0.",
    )
    parser.add_argument("--recordings", required=True, type=Path, help="folder of {digit}_{speaker}_{index}.wav")
    parser.add_argument("--out", type=Path, help="the .npz to write (the shipped one: envs/data/spoken_digits.npz)")
    parser.add_argument("--figure", type=Path, help="also draw the cochleagram and raster of one 'one' and one 'two'")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    args = parser.parse_args(argv)
    if args.out is None and args.figure is None:
        parser.error("nothing to do: give --out FILE, --figure PNG or both")
    if args.out is not None:
        _check_writable(args.out, args.force)
        start = time.perf_counter()
        data = preprocess(args.recordings)
        elapsed = time.perf_counter() - start
        data.save(args.out)
        counts = np.diff(data.spike_offsets.astype(np.int64))
        print(
            f"{data.n_recordings} recordings, {data.n_channels} channels, {counts.sum()} spikes "
            f"({counts.mean():.0f} per recording) in {elapsed:.1f} s -> {args.out} "
            f"({args.out.stat().st_size / 1e6:.2f} MB)"
        )
    if args.figure is not None:
        _check_writable(args.figure, args.force)
        plot_utterances(args.recordings, args.figure)
        print(f"figure -> {args.figure}")


if __name__ == "__main__":
    main()
