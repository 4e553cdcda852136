"""Device choice, thread count and the start-of-run device line."""

from __future__ import annotations

import os

import torch


def resolve_device(name: str) -> torch.device:
    """``auto`` -> the first CUDA device when there is one, else CPU; otherwise as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from tune_flow.errors import UserInputError

        raise UserInputError(f"The value of `device` is {name!r}, but no CUDA device is visible.")
    return device


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def describe_device(device: torch.device) -> str:
    """One line: the device, the GPU's name when there is one, and CUDA_VISIBLE_DEVICES."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        name = torch.cuda.get_device_name(index)
        return f"device {device} ({name}), CUDA_VISIBLE_DEVICES={visible}"
    return f"device {device}, {torch.get_num_threads()} torch thread(s), CUDA_VISIBLE_DEVICES={visible}"
