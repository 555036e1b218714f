"""Behavioural Verilog of an SFQ netlist, generated from the cells' transition tables
(`hw.layouts.sfq`, which the pulse simulator sim.sfq reads too).

A pulse is a 1 fs high level on a wire; a cell acts on `posedge`. Each cell kind becomes
one module (`timescale 1ps/1fs): per input an `always` block that checks the row's
separation constraints against the last pulse times, changes state and schedules each
firing with a non-blocking `#delay` assignment. Every firing delay is a `real` parameter set
per instance to the cell's delay in whole femtoseconds (variability included), so the
simulated times equal the Python engine's exactly. A violation at a "drop" cell loses the
pulse (as in Python); elsewhere it prints "SFQ VIOLATION" and counts in `violations`.
A stochastic synapse reads its pass/block decisions from the parameter bit vector DECISIONS
(bit k decides the k-th pulse; an exhausted vector prints an error and blocks).

Top level: primary input k is port `in_k`, probe j is port `probe_j` (names in comments).
"""

from __future__ import annotations

import numpy as np

from ...hw.errors import NetworkError
from ...hw.layouts.sfq import ANY, CellType, Netlist, cell_types, delay_scales, scaled
from ...hw.targets.sfq import SfqSpec

_TOL = "0.0005"  # ps: half a femtosecond, the comparison tolerance on real times


def _ps(fs: int) -> str:
    return f"{fs // 1000}.{fs % 1000:03d}"


def _wire(w: "int | None") -> str:
    return "1'b0" if w is None else f"w{w}"


def module_name(ct: CellType) -> str:
    return f"sfq_{ct.name}"


def cell_module(ct: CellType) -> str:
    """One module for a cell kind; firing delays are parameters D<row>_<output>."""
    params = [f"parameter real D{k}_{ct.outputs[o]} = {_ps(d)}"
              for k, r in enumerate(ct.transitions) for o, d in r.firing]
    stoch = any(r.stochastic for r in ct.transitions)
    if stoch:
        params += ["parameter integer NB = 1", "parameter [NB-1:0] DECISIONS = 0"]
    ports = [f"input wire {i}" for i in ct.inputs] + [f"output reg {o}" for o in ct.outputs]
    lines = ["`timescale 1ps/1fs",
             f"module {module_name(ct)} #(" + ", ".join(params) + ") (" + ", ".join(ports)
             + ");" if params else f"module {module_name(ct)} (" + ", ".join(ports) + ");"]
    lines += [f"  integer state = {ct.initial};", "  integer violations = 0;",
              "  integer dropped = 0;", "  real t;", "  real last_any = -1.0e30;"]
    lines += [f"  real last_{i} = -1.0e30;" for i in ct.inputs]
    if stoch:
        lines.append("  integer k = 0;")
    lines += [f"  initial {o} = 1'b0;" for o in ct.outputs]
    for ti, inp in enumerate(ct.inputs):
        lines.append(f"  always @(posedge {inp}) begin : on_{inp}")
        lines.append("    t = $realtime;")
        lines.append("    case (state)")
        for s in range(len(ct.states)):
            k = ct.table[s][ti]
            r = ct.transitions[k]
            lines.append(f"      {s}: begin  // {ct.states[s]} --{inp}--> {ct.states[r.dest]}")
            checks = [f"(t - {'last_any' if x == ANY else 'last_' + ct.inputs[x]}"
                      f" < {_ps(m)} - {_TOL})" for x, m in r.after]
            body = "        "
            if checks:
                cond = " || ".join(checks)
                lines.append(f"{body}if ({cond}) begin")
                if ct.policy == "drop":
                    lines.append(f"{body}  dropped = dropped + 1;")
                else:
                    lines.append(f'{body}  $display("SFQ VIOLATION %m: {inp} at %0.3f ps", t);')
                    lines.append(f"{body}  violations = violations + 1;")
                lines.append(f"{body}  disable on_{inp};")
                lines.append(f"{body}end")
            lines.append(f"{body}last_{inp} = t; last_any = t; state = {r.dest};")
            fire = [f"{ct.outputs[o]} <= #(D{k}_{ct.outputs[o]}) 1'b1; "
                    f"{ct.outputs[o]} <= #(D{k}_{ct.outputs[o]} + 0.001) 1'b0;"
                    for o, _ in r.firing]
            if r.stochastic:
                lines.append(f"{body}if (k >= NB) begin")
                lines.append(f'{body}  $display("SFQ ERROR %m: decisions used up at %0.3f ps", t);')
                lines.append(f"{body}  violations = violations + 1;")
                lines.append(f"{body}end else if (DECISIONS[k]) begin")
                lines += [f"{body}  {f}" for f in fire]
                lines.append(f"{body}end")
                lines.append(f"{body}k = k + 1;")
            else:
                lines += [f"{body}{f}" for f in fire]
            lines.append("      end")
        lines.append("    endcase")
        lines.append("  end")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def export_verilog(netlist: Netlist, spec: SfqSpec | None = None, *,
                   decisions: dict | None = None, seed: int = 0,
                   top: str = "sfq_top") -> str:
    """Verilog source (cell modules + top) of `netlist`; `decisions` {synapse cell name or
    index: bits} as for `Simulator`, `seed` for the same delay variability."""
    spec = spec or SfqSpec()
    types = cell_types(netlist, spec)
    scales = delay_scales(netlist, spec, seed)
    bits: dict[int, np.ndarray] = {}
    for key, b in (decisions or {}).items():
        c = netlist.cell_index(key) if isinstance(key, str) else int(key)
        bits[c] = np.asarray(b, dtype=bool)
    out_wire: dict[tuple[int, int], int] = {}
    in_wire: dict[tuple[int, int], int] = {}
    for w in range(netlist.n_wires):
        if netlist.wire_src[w] >= 0:
            out_wire[(int(netlist.wire_src[w]), int(netlist.wire_src_port[w]))] = w
        if netlist.wire_dst[w] >= 0:
            in_wire[(int(netlist.wire_dst[w]), int(netlist.wire_dst_port[w]))] = w
    mods = {}
    for ct in types:
        mods.setdefault(module_name(ct), ct)
    src = [cell_module(ct) for ct in mods.values()]
    ports = ([f"input wire in_{k}" for k in range(len(netlist.input_names))]
             + [f"output wire probe_{j}" for j in range(len(netlist.probe_names))])
    body = ["`timescale 1ps/1fs", f"module {top} (" + ", ".join(ports) + ");"]
    body += [f"  wire w{w};" for w in range(netlist.n_wires)]
    for k, (name, w) in enumerate(zip(netlist.input_names, netlist.input_wires)):
        body.append(f"  assign w{w} = in_{k};  // input {name}")
    for j, (name, w) in enumerate(zip(netlist.probe_names, netlist.probe_wires)):
        body.append(f"  assign probe_{j} = w{w};  // probe {name}")
    for c, ct in enumerate(types):
        params = [f".D{k}_{ct.outputs[o]}({_ps(scaled(d, float(scales[c])))})"
                  for k, r in enumerate(ct.transitions) for o, d in r.firing]
        if any(r.stochastic for r in ct.transitions):
            if c not in bits:
                raise NetworkError(f"synapse {netlist.cell_names[c]!r} has no pre-drawn "
                                   "decisions; the Verilog model needs them for every synapse")
            b = bits[c]
            nb = max(len(b), 1)
            vec = "".join("1" if x else "0" for x in b[::-1]) or "0"
            params += [f".NB({nb})", f".DECISIONS({nb}'b{vec})"]
        conns = [f".{p}({_wire(in_wire.get((c, i)))})" for i, p in enumerate(ct.inputs)]
        conns += [f".{p}(w{out_wire[(c, o)]})" for o, p in enumerate(ct.outputs)]
        ptxt = f" #({', '.join(params)})" if params else ""
        body.append(f"  {module_name(ct)}{ptxt} c{c} ({', '.join(conns)});  "
                    f"// {netlist.cell_names[c]}")
    body.append("endmodule")
    return "".join(src) + "\n".join(body) + "\n"
