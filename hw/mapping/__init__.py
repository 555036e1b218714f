"""Mapping a network onto a chip: partition neurons into cores, place cores on a mesh, route.

Shared by the chip targets (Loihi-style, TrueNorth-style). Plain numpy + networkx; the
functions take arrays, not target specs, so each target passes its own limits.
"""

from .partition import FanIn, fan_in, partition, synapse_pairs, unique_ints
from .progress import ProgressFn, Stage, StageTimes
from .placement import (core_traffic, hop_matrix, place, placement_cost, sequential_xy,
                        traffic_matrix)
from .quantize import decay_constant, split_mantissa_exponent
from .routing import (LINK_DIRECTIONS, RoutingTable, link_id, route_links, routing_table,
                      xy_route)

__all__ = ["FanIn", "fan_in", "partition", "synapse_pairs", "unique_ints", "core_traffic", "hop_matrix",
           "place", "placement_cost", "sequential_xy", "traffic_matrix", "decay_constant",
           "split_mantissa_exponent", "LINK_DIRECTIONS", "RoutingTable", "link_id",
           "route_links", "routing_table", "xy_route", "ProgressFn", "Stage", "StageTimes"]
