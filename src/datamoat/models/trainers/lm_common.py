"""What both language-model trainers share: parameter checks, the device, and the settings report."""

from __future__ import annotations

from typing import Any

from datamoat.errors import DatamoatError


def check_number(kind: str, name: str, value: Any, *, low: float = 0.0, integer: bool = False,
                 optional: bool = True, inclusive: bool = False) -> None:
    """DatamoatError unless ``value`` is a number above ``low`` (at least ``low`` when
    ``inclusive``; a whole number when ``integer``; None allowed when ``optional``)."""
    if value is None and optional:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and integer:
        ok = isinstance(value, int)
    if ok:
        ok = value >= low if inclusive else value > low
    if not ok:
        what = "a whole number" if integer else "a number"
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise DatamoatError(f"trainer {kind!r}: {name}={value!r} must be {what} {bound}.")


def pick_device(kind: str, device: str | None) -> str:
    """``device``, or cuda when torch sees a GPU, else cpu (setting torch's CPU threads to the cores)."""
    from datamoat.models.trainers.encoder import configure_cpu_threads, default_device, require_torch

    torch = require_torch()
    if device is None:
        device = default_device()
    if not isinstance(device, str) or not (device == "cpu" or device.split(":")[0] == "cuda"):
        raise DatamoatError(f"trainer {kind!r}: device={device!r} is not allowed; use None, 'cpu' or 'cuda'.")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DatamoatError(f"trainer {kind!r}: device={device!r} was asked for but torch sees no GPU.")
    if device == "cpu":
        configure_cpu_threads()
    return device
