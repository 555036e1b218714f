"""The points of a sweep: grid or seeded random sampling of the axes, each with a stable key.

The key is a hash of the point's parameters only, so a resumed (or re-ordered) sweep
recognises the points it has already run; the point id is its position in sampling order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import Axis, SweepConfig, _plain, tidy


@dataclass(frozen=True)
class Point:
    """One configuration: `params` are spec-field overrides, in axis order."""

    point_id: int
    key: str
    params: dict[str, Any]


def point_key(params: dict[str, Any]) -> str:
    """A stable 16-hex-digit hash of the parameters (order of keys does not matter)."""
    text = json.dumps(_plain(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _draw(axis: Axis, rng: np.random.Generator) -> Any:
    if axis.values is not None:
        return axis.values[int(rng.integers(len(axis.values)))]
    if axis.integer:
        if axis.log:
            v = math.exp(rng.uniform(math.log(axis.low), math.log(axis.high + 1)))
            return int(min(math.floor(v), axis.high))
        return int(rng.integers(axis.low, axis.high + 1))
    if axis.log:
        return tidy(math.exp(rng.uniform(math.log(axis.low), math.log(axis.high))))
    return tidy(rng.uniform(axis.low, axis.high))


def expand_points(config: SweepConfig) -> list[Point]:
    """Every point of the sweep, in sampling order, duplicates (same key) dropped.

    A sweep without axes is the one point of the base configuration.
    """
    axes = config.axes
    if config.sampling == "grid":
        combos = itertools.product(*(ax.values for ax in axes))
        raw = [dict(zip((ax.name for ax in axes), combo)) for combo in combos]
    else:
        rng = np.random.default_rng(config.seed)
        raw = [{ax.name: _draw(ax, rng) for ax in axes} for _ in range(config.samples)]
    points, seen = [], set()
    for params in raw:
        key = point_key(params)
        if key in seen:
            continue
        seen.add(key)
        points.append(Point(len(points), key, params))
    return points
