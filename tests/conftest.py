"""Shared test set-up: headless pygame, one torch thread (tests run beside each other on 2 cores)."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import torch

torch.set_num_threads(1)

# Short DNMS trials (100 steps) keep end-to-end tests fast; the task logic is the same.
SHORT_DNMS = {"timing": {"stimulus1": 20, "delay1": 20, "stimulus2": 20, "delay2": 20, "response": 20}}
