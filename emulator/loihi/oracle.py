"""Pure-Python oracle of one Loihi (lava bit-accurate) LIF step: Python ints, no numpy maths.

Deliberately naive, so that the Numba kernels have something obviously correct to match.
"""

from __future__ import annotations

from ...hw.layouts import loihi as L


def trunc_div_pow2(x: int, bits: int) -> int:
    """x / 2**bits rounded toward zero (lava: sign(x) * (|x| >> bits))."""
    q = abs(x) >> bits
    return -q if x < 0 else q


def wrap_register(x: int, half: int) -> int:
    """x modulo 2 * half into (-half, half], as the 24-bit u register keeps it: lava's
    single wrap wherever that wrap lands in range."""
    return (x + half - 1) % (2 * half) - (half - 1)


def lif_step_oracle(du, dv, vth, bias_mant, bias_exp, u, v, a_in, *, unity_bits=12,
                    du_offset=1, shift=6, state_bits=24):
    """Lists of ints in, (u, v, spikes) lists out; REFERENCE.md's five steps, in order."""
    one = 1 << unity_bits
    half = 1 << (state_bits - 1)
    vmax = half - 1
    out_u, out_v, out_s = [], [], []
    for i in range(len(u)):
        ui = trunc_div_pow2(int(u[i]) * (one - (int(du[i]) + du_offset)), unity_bits)
        ui += int(a_in[i]) * (1 << shift)
        if ui > half:
            ui -= 2 * half
        elif ui <= -half:
            ui += 2 * half
        bias = int(bias_mant[i]) * (1 << int(bias_exp[i]))
        vi = trunc_div_pow2(int(v[i]) * (one - int(dv[i])), unity_bits) + ui + bias
        vi = max(-vmax, min(vmax, vi))
        s = vi > int(vth[i]) * (1 << shift)
        out_u.append(ui)
        out_v.append(0 if s else vi)
        out_s.append(s)
    return out_u, out_v, out_s


def run_oracle(image, steps: int, inputs) -> dict:
    """Run a compiled loihi image for `steps` steps with Python ints and dicts only, fed
    `inputs` (hw.stimulus.InputSpikes of stamps 0..steps, one spike per neuron and stamp).

    Same conventions as the Engine (see engine.py and kernels.run_steps), written the
    plain way: returns {"spikes": [(step, neuron)], "u0", "u1", "v": lists,
    "weights": {projection: [signed mantissas in IR order]}}.
    """
    chip = _Chip(image)
    by_stamp: dict[int, list[int]] = {}
    for i, s in zip(inputs.neuron.tolist(), inputs.stamp.tolist()):
        by_stamp.setdefault(s, []).append(i)
    if by_stamp.get(0):                          # stamp 0: sent in step -1
        chip.send(-1, by_stamp[0])
    spikes = []
    for k in range(steps):
        fired = chip.update(k, set(by_stamp.get(k + 1, [])))
        spikes += [(k, i) for i in fired]
        chip.send(k, fired)
    names = [p.name for p in image.network.projections]
    weights = {name: [0] * image.network.projections[k].size for k, name in enumerate(names)}
    for sy in chip.syn:
        weights[names[sy[5]]][sy[6]] = sy[3]
    return {"spikes": spikes, "u0": chip.u0, "u1": chip.u1, "v": chip.v, "weights": weights}


class _Chip:
    """The whole chip's state in Python lists: compartments, synapses, delay queue,
    learning rules and traces."""

    def __init__(self, image) -> None:
        self.spec = image.target
        net = image.network
        n = self.n = net.size
        self.prm = [dict() for _ in range(n)]
        self.syn = []                           # [pre, post, chan, w, delay, proj, index]
        for core in image.cores:
            for slot, g in enumerate(core.neurons.tolist()):
                self.prm[g] = {k: int(v[slot]) for k, v in core.params.items()}
            m = core.memories
            for a, src in enumerate(m[L.AXON_SRC].tolist()):
                for s in range(int(m[L.AXON_PTR][a]), int(m[L.AXON_PTR][a + 1])):
                    self.syn.append([src, int(core.neurons[m[L.SYN_SLOT][s]])]
                                    + [int(m[key][s]) for key in L.SYNAPSE_MEMORIES[1:]])
        names = [p.name for p in net.projections]
        off = net.offsets()
        self.rules = {}
        for name, par in image.data.get(L.STDP, {}).items():
            pr = net.projections[names.index(name)]
            self.rules[names.index(name)] = dict(
                par, sign=-1 if pr.receptor == "inhibitory" else 1,
                pre=range(off[pr.pre], off[pr.pre] + net.population(pr.pre).size),
                post=range(off[pr.post], off[pr.post] + net.population(pr.post).size))
        self.x_tr = {k: [0] * n for k in self.rules}
        self.y_tr = {k: [0] * n for k in self.rules}
        self.u0, self.u1, self.refc = [0] * n, [0] * n, [0] * n
        self.v = [self.prm[i].get("v0", 0) for i in range(n)]
        self.pending: dict[int, list[list[int]]] = {}     # step -> [[a0, a1] per neuron]

    def update(self, k: int, inputs: set) -> list[int]:
        """Step k of every compartment (sources emit `inputs`); returns who fired."""
        spec = self.spec
        ub, sh = spec.decay_format.bits, spec.state_shift
        one, half = 1 << ub, 1 << (spec.u_format.bits - 1)
        vmax = spec.v_format.max_int
        a = self.pending.pop(k, [[0, 0] for _ in range(self.n)])
        fired = []
        for i in range(self.n):
            p = self.prm[i]
            if p["model"] >= L.FIRST_SOURCE_CODE:
                if i in inputs:
                    fired.append(i)
                continue
            new_u = []
            for c, u in ((0, self.u0[i]), (1, self.u1[i])):
                du, we = p[f"du{c}"], p[f"wexp{c}"]
                x = trunc_div_pow2(u * (one - (du + spec.du_offset)), ub)
                scaled = a[i][c] * 2 ** we if we >= 0 else a[i][c] // 2 ** (-we)
                new_u.append(wrap_register(x + scaled * 2 ** sh, half))
            self.u0[i], self.u1[i] = new_u
            if self.refc[i] > 0:
                self.refc[i] -= 1
                self.v[i] = 0
                continue
            vi = trunc_div_pow2(self.v[i] * (one - p["dv"]), ub) + self.u0[i] + self.u1[i] \
                + p["bias_mant"] * 2 ** p["bias_exp"]
            vi = max(-vmax, min(vmax, vi))
            if vi > p["vth"] * 2 ** sh:
                vi = 0
                self.refc[i] = p["refract"]
                fired.append(i)
            self.v[i] = vi
        return fired

    def send(self, k: int, fired: list[int]) -> None:
        """The spikes of step k: into the delay queue, then the learning engine."""
        fired_set = set(fired)
        for sy in self.syn:
            if sy[0] in fired_set:
                slot = self.pending.setdefault(k + sy[4], [[0, 0] for _ in range(self.n)])
                slot[sy[1]][sy[2]] += sy[3]
        if self.rules:
            self.learn(fired, fired_set)

    def learn(self, fired: list[int], fired_set: set) -> None:
        """Trace decay, pair-STDP on every synapse whose pre or post fired, impulses."""
        spec = self.spec
        frac, tb = spec.stdp_frac_bits, spec.trace_decay_format.frac_bits
        for l, r in self.rules.items():
            for i in r["pre"]:
                self.x_tr[l][i] = (self.x_tr[l][i] * r["x_decay"] + (1 << tb >> 1)) >> tb
            for i in r["post"]:
                self.y_tr[l][i] = (self.y_tr[l][i] * r["y_decay"] + (1 << tb >> 1)) >> tb
        for sy in self.syn:
            l = sy[5]
            if l not in self.rules:
                continue
            r = self.rules[l]
            pre_f, post_f = sy[0] in fired_set, sy[1] in fired_set
            dw = (r["a_plus"] * self.x_tr[l][sy[0]] if post_f else 0) \
                - (r["a_minus"] * self.y_tr[l][sy[1]] if pre_f else 0)
            if pre_f or post_f:
                mag = r["sign"] * sy[3] + ((dw + (1 << frac >> 1)) >> frac)
                sy[3] = r["sign"] * max(r["w_lo"], min(r["w_hi"], mag))
        top = spec.trace_format.max_int
        for l, r in self.rules.items():
            for i in fired:
                if i in r["pre"]:
                    self.x_tr[l][i] = min(self.x_tr[l][i] + r["impulse"], top)
                if i in r["post"]:
                    self.y_tr[l][i] = min(self.y_tr[l][i] + r["impulse"], top)
