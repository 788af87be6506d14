"""Shared set-up for the env tests: headless pygame, so render modes are tested without a display."""

import os

# Set before any env imports pygame: "human" mode then opens an invisible window.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
