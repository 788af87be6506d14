"""Pygame drawing shared by spikegym's renderers: a canvas and time-series panels with epoch bands.

Tasks lay out their own frame (which panels, which traces, what the header says) and leave the drawing
to this module, so every trial task looks alike: time in ms on the x axis, the trial's epochs as
shaded bands with the current one highlighted, a cursor at the current time, traces with a legend.

pygame (the ``pygame-ce`` distribution) is imported only when a frame is first drawn, so envs without a
``render_mode`` never load it; with ``SDL_VIDEODRIVER=dummy`` everything here runs headless. The font is
pygame's bundled default font, so frames look the same on every machine.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pygame

__all__ = [
    "BACKGROUND",
    "INK",
    "MUTED",
    "Canvas",
    "Color",
    "Epoch",
    "Trace",
    "draw_panel",
    "draw_time_axis",
    "lighten",
]

Color = tuple[int, int, int]

BACKGROUND: Color = (250, 250, 248)
INK: Color = (33, 37, 41)
MUTED: Color = (120, 124, 130)
_GRID: Color = (222, 224, 228)
_PANEL: Color = (255, 255, 255)


def lighten(color: Color, amount: float) -> Color:
    """Mix ``color`` with white; ``amount`` = 0 keeps it, 1 gives white."""
    r, g, b = (round(c + (255 - c) * amount) for c in color)
    return (r, g, b)


@dataclass(frozen=True)
class Trace:
    """One time series in a panel: one value per step, NaN where there is nothing to draw.

    Args:
        label: legend text.
        values: shape ``(n,)``; sample ``i`` is drawn at time ``i * dt_ms``.
        color: RGB line colour.
        dashed: draw a dashed line (for targets and other references).
        fill: shade between the trace and zero (for on/off inputs).
    """

    label: str
    values: np.ndarray
    color: Color
    dashed: bool = False
    fill: bool = False


@dataclass(frozen=True)
class Epoch:
    """A named interval of the trial, drawn as a shaded band."""

    name: str
    start_ms: float
    end_ms: float
    color: Color


class Canvas:
    """A fixed-size pygame surface, shown in a window (``"human"``) or returned as an array (``"rgb_array"``).

    Call :meth:`begin` to get a cleared surface, draw on it, then :meth:`present`. The window, the clock
    and the fonts are created on first use; :meth:`close` releases them and may be called any number of
    times. A canvas pickles without its pygame objects (they are re-created on the next frame).

    Args:
        render_mode: ``"human"`` or ``"rgb_array"``.
        size: ``(width, height)`` in pixels.
        render_fps: frames per second the ``"human"`` window is paced at.
        caption: the window title.
    """

    def __init__(self, render_mode: str, size: tuple[int, int], render_fps: float, caption: str) -> None:
        if render_mode not in ("human", "rgb_array"):
            raise ValueError(f"Canvas render_mode must be 'human' or 'rgb_array', got {render_mode!r}.")
        self.render_mode = render_mode
        self.size = size
        self.render_fps = render_fps
        self.caption = caption
        self._surface: pygame.Surface | None = None
        self._window: pygame.Surface | None = None
        self._clock: pygame.time.Clock | None = None
        self._fonts: dict[int, pygame.font.Font] = {}

    def begin(self) -> pygame.Surface:
        """The drawing surface, cleared to the background colour."""
        pygame = _import_pygame()
        if self._surface is None:
            self._surface = pygame.Surface(self.size)
        if self.render_mode == "human" and self._window is None:
            pygame.display.init()
            pygame.display.set_caption(self.caption)
            self._window = pygame.display.set_mode(self.size)
            self._clock = pygame.time.Clock()
        self._surface.fill(BACKGROUND)
        return self._surface

    def font(self, size: int) -> pygame.font.Font:
        """pygame's bundled default font at ``size`` pixels (cached)."""
        if size not in self._fonts:
            pygame = _import_pygame()
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def text(
        self,
        text: str,
        pos: tuple[float, float],
        *,
        size: int = 20,
        color: Color = INK,
        anchor: str = "topleft",
    ) -> pygame.Rect:
        """Draw ``text`` with its ``anchor`` (a pygame.Rect point name) at ``pos``; returns its rect."""
        image = self.font(size).render(text, True, color)
        rect = image.get_rect(**{anchor: (round(pos[0]), round(pos[1]))})
        self.surface.blit(image, rect)
        return rect

    @property
    def surface(self) -> pygame.Surface:
        """The current drawing surface, not cleared (call :meth:`begin` first)."""
        if self._surface is None:
            raise RuntimeError("Canvas.begin() must be called before drawing.")
        return self._surface

    def present(self) -> np.ndarray | None:
        """Show the frame (``"human"``: returns ``None``) or return it as a uint8 ``(H, W, 3)`` array."""
        pygame = _import_pygame()
        surface = self.surface
        if self.render_mode == "rgb_array":
            return np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2))
        assert self._window is not None and self._clock is not None
        pygame.event.pump()  # keeps the window responsive; spikegym windows take no input
        self._window.blit(surface, (0, 0))
        pygame.display.flip()
        self._clock.tick(self.render_fps)
        return None

    def close(self) -> None:
        """Close the window, if any. Safe to call more than once."""
        if self._window is not None:
            _import_pygame().display.quit()
        self._surface = self._window = self._clock = None
        self._fonts = {}

    def __getstate__(self) -> dict[str, Any]:
        # pygame objects do not pickle; they are re-created on the next frame.
        state = self.__dict__.copy()
        state.update(_surface=None, _window=None, _clock=None, _fonts={})
        return state


def draw_panel(
    canvas: Canvas,
    rect: tuple[int, int, int, int],
    *,
    title: str,
    traces: Sequence[Trace],
    dt_ms: float,
    duration_ms: float,
    epochs: Sequence[Epoch],
    y_range: tuple[float, float],
    y_ticks: Sequence[float],
    current_ms: float | None = None,
    current_epoch: str | None = None,
    epoch_labels: bool = False,
) -> None:
    """Draw a time-series panel: epoch bands, grid, traces, cursor, frame, y ticks, title and legend.

    Args:
        canvas: where to draw (after :meth:`Canvas.begin`).
        rect: ``(left, top, width, height)`` of the plotting area in pixels; the title and legend go
            above it, the y tick labels to its left.
        title: panel title, drawn above the top-left corner.
        traces: the series, drawn in order (later ones on top); the legend lists them.
        dt_ms: time between two samples of a trace.
        duration_ms: the time the x axis spans (the whole trial, so the frame does not rescale).
        epochs: bands to shade; ``current_epoch`` is shaded darker.
        y_range: ``(low, high)`` of the y axis; values outside are clipped to the frame.
        y_ticks: y values that get a grid line and a label.
        current_ms: where to draw the time cursor, or ``None`` for none.
        current_epoch: the name of the epoch to highlight.
        epoch_labels: write the epoch names inside the top of the bands.
    """
    pygame = _import_pygame()
    surface = canvas.surface
    left, top, width, height = rect
    low, high = y_range

    def x_of(t_ms: np.ndarray | float) -> np.ndarray | float:
        return left + np.asarray(t_ms) / duration_ms * width

    def y_of(value: np.ndarray | float) -> np.ndarray | float:
        return top + height - (np.clip(value, low, high) - low) / (high - low) * height

    pygame.draw.rect(surface, _PANEL, rect)
    for epoch in epochs:
        x0, x1 = round(x_of(epoch.start_ms)), round(x_of(epoch.end_ms))
        shade = lighten(epoch.color, 0.35 if epoch.name == current_epoch else 0.72)
        pygame.draw.rect(surface, shade, (x0, top, x1 - x0, height))
        if epoch_labels:
            canvas.text(epoch.name, ((x0 + x1) / 2, top + 4), size=16, color=MUTED, anchor="midtop")
    for tick in y_ticks:
        y = round(y_of(tick))
        pygame.draw.line(surface, MUTED if tick == 0 else _GRID, (left, y), (left + width - 1, y))
        canvas.text(f"{tick:g}", (left - 8, y), size=16, color=MUTED, anchor="midright")

    for trace in traces:
        x = x_of(np.arange(len(trace.values)) * dt_ms)
        y = y_of(trace.values)
        for run in _finite_runs(np.asarray(trace.values, dtype=float)):
            points = np.column_stack((x[run], y[run])).round().astype(int).tolist()
            if trace.fill and len(points) > 1:
                baseline = round(y_of(0.0))
                polygon = [(points[0][0], baseline), *points, (points[-1][0], baseline)]
                pygame.draw.polygon(surface, lighten(trace.color, 0.55), polygon)
            if trace.dashed:
                _draw_dashed(surface, trace.color, points)
            elif len(points) > 1:
                pygame.draw.lines(surface, trace.color, False, points, 2)
            else:
                pygame.draw.circle(surface, trace.color, points[0], 2)

    if current_ms is not None:
        x = round(x_of(min(current_ms, duration_ms)))
        pygame.draw.line(surface, INK, (x, top), (x, top + height - 1), 1)
    pygame.draw.rect(surface, MUTED, rect, 1)

    canvas.text(title, (left, top - 6), size=20, anchor="bottomleft")
    legend_x = left + width
    for trace in reversed(traces):
        label = canvas.text(trace.label, (legend_x, top - 6), size=18, anchor="bottomright")
        y = label.centery
        pygame.draw.line(surface, trace.color, (label.left - 26, y), (label.left - 6, y), 3)
        legend_x = label.left - 40


def draw_time_axis(
    canvas: Canvas,
    rect: tuple[int, int, int, int],
    *,
    duration_ms: float,
    tick_ms: float,
    label: str = "time (ms)",
) -> None:
    """Tick labels every ``tick_ms`` under the plotting area ``rect`` (as given to :func:`draw_panel`)."""
    pygame = _import_pygame()
    surface = canvas.surface
    left, top, width, height = rect
    bottom = top + height
    for t_ms in np.arange(0.0, duration_ms + tick_ms / 2, tick_ms):
        x = round(left + t_ms / duration_ms * width)
        pygame.draw.line(surface, MUTED, (x, bottom), (x, bottom + 4))
        canvas.text(f"{t_ms:g}", (x, bottom + 6), size=16, color=MUTED, anchor="midtop")
    canvas.text(label, (left + width / 2, bottom + 24), size=18, color=MUTED, anchor="midtop")


def _finite_runs(values: np.ndarray) -> list[slice]:
    """The maximal runs of consecutive finite values, as slices (NaN marks a gap)."""
    finite = np.concatenate(([False], np.isfinite(values), [False]))
    edges = np.flatnonzero(np.diff(finite.astype(np.int8)))
    return [slice(start, stop) for start, stop in zip(edges[::2], edges[1::2], strict=True)]


def _draw_dashed(surface: pygame.Surface, color: Color, points: list[list[int]], dash_px: float = 7.0) -> None:
    """Draw a polyline as dashes of ``dash_px`` pixels, on and off, continuing across its vertices."""
    pygame = _import_pygame()
    travelled = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        start = 0.0
        while start < length:
            phase = (travelled + start) % (2 * dash_px)
            stop = min(length, start + (2 * dash_px - phase if phase >= dash_px else dash_px - phase))
            if phase < dash_px:
                a, b = start / length, stop / length
                pygame.draw.line(
                    surface,
                    color,
                    (x0 + a * (x1 - x0), y0 + a * (y1 - y0)),
                    (x0 + b * (x1 - x0), y0 + b * (y1 - y0)),
                    2,
                )
            start = stop
        travelled += length


def _import_pygame() -> Any:
    """Import pygame on first use, without its start-up banner on stdout."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError as error:
        raise ImportError(
            "rendering needs pygame: install the `pygame-ce` distribution (`pip install pygame-ce`)."
        ) from error
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame


class CanvasEnv:
    """``render()`` and ``close()`` for a single env drawn on a :class:`Canvas` (mix in before ``gym.Env``).

    The env calls :meth:`_init_rendering` in its constructor, sets ``self._started`` on its first
    ``reset()``, and implements ``_draw(canvas)``: draw the current state on the cleared canvas.
    """

    metadata: dict[str, Any]
    render_mode: str | None
    frame_size: tuple[int, int] = (960, 560)

    def _init_rendering(self, render_mode: str | None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}."
            )
        self.render_mode = render_mode
        self._canvas: Canvas | None = None
        self._started = False

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            import gymnasium as gym

            gym.logger.warn("render() called without a render_mode; make the env with render_mode='rgb_array'.")
            return None
        if not self._started:
            raise RuntimeError("nothing to render before the first reset(); call reset() first.")
        return self._render_frame() if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        if self._canvas is not None:
            self._canvas.close()
            self._canvas = None

    def _render_frame(self) -> np.ndarray | None:
        if self._canvas is None:
            self._canvas = Canvas(self.render_mode, self.frame_size, self.metadata["render_fps"], type(self).__name__)
        self._canvas.begin()
        self._draw(self._canvas)
        return self._canvas.present()

    def _draw(self, canvas: Canvas) -> None:
        raise NotImplementedError
