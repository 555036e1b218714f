"""Pure-Python oracle of one Loihi (lava bit-accurate) LIF step: Python ints, no numpy maths.

Deliberately naive, so that the Numba kernels have something obviously correct to match.
"""

from __future__ import annotations


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


def _splitmix(x: int) -> int:
    m = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & m
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


def run_oracle(image, steps: int) -> dict:
    """Run a compiled loihi image for `steps` steps with Python ints and dicts only.

    Same conventions as the Engine (see engine.py and kernels.run_steps), written the
    plain way: returns {"spikes": [(step, neuron)], "u0", "u1", "v": lists,
    "weights": {projection: [signed mantissas in IR order]}}.
    """
    spec = image.target
    net = image.network
    n = net.size
    ub = spec.decay_format.bits
    one = 1 << ub
    half = 1 << (spec.u_format.bits - 1)
    vmax = spec.v_format.max_int
    sh = spec.state_shift
    prm = [dict() for _ in range(n)]
    core_of = [0] * n
    syn = []                                    # [pre, post, chan, w, delay, proj, index]
    for core in image.cores:
        for slot, g in enumerate(core.neurons.tolist()):
            prm[g] = {k: int(v[slot]) for k, v in core.params.items()}
            core_of[g] = core.index
        m = core.memories
        for a, src in enumerate(m["axon_src"].tolist()):
            for s in range(int(m["axon_ptr"][a]), int(m["axon_ptr"][a + 1])):
                syn.append([src, int(core.neurons[m["syn_slot"][s]]), int(m["syn_chan"][s]),
                            int(m["syn_weight"][s]), int(m["syn_delay"][s]),
                            int(m["syn_proj"][s]), int(m["syn_index"][s])])
    names = [p.name for p in net.projections]
    off = net.offsets()
    rules = {}
    for name, par in image.data.get("stdp", {}).items():
        pr = net.projections[names.index(name)]
        rules[names.index(name)] = dict(
            par, sign=-1 if pr.receptor == "inhibitory" else 1,
            pre=range(off[pr.pre], off[pr.pre] + net.population(pr.pre).size),
            post=range(off[pr.post], off[pr.post] + net.population(pr.post).size))
    x_tr = {k: [0] * n for k in rules}
    y_tr = {k: [0] * n for k in rules}
    sources = {}
    for src in image.data["sources"].values():
        lo = src["offset"]
        if src["kind"] == "poisson":
            for i in range(len(src["p_spike"])):
                sources[lo + i] = ("p", float(src["p_spike"][i]), int(src["first"][i]),
                                   int(src["last"][i]), int(src["seed"][i]))
        else:
            ptr = src["ptr"]
            for i in range(len(ptr) - 1):
                sources[lo + i] = ("a", set(src["stamps"][ptr[i]:ptr[i + 1]].tolist()))
    u0, u1, v, refc = [0] * n, [0] * n, [prm[i].get("v0", 0) for i in range(n)], [0] * n
    pending: dict[int, list[list[int]]] = {}     # step -> [[a0, a1] per neuron]
    spikes = []
    frac = spec.stdp_frac_bits
    for k in range(steps):
        a = pending.pop(k, [[0, 0] for _ in range(n)])
        fired = []
        for i in range(n):
            p = prm[i]
            if p["model"] <= 1:
                new_u = []
                for c, u in ((0, u0[i]), (1, u1[i])):
                    du, we = p[f"du{c}"], p[f"wexp{c}"]
                    x = trunc_div_pow2(u * (one - (du + spec.du_offset)), ub)
                    scaled = a[i][c] * 2 ** we if we >= 0 else a[i][c] // 2 ** (-we)
                    new_u.append(wrap_register(x + scaled * 2 ** sh, half))
                u0[i], u1[i] = new_u
                if refc[i] > 0:
                    refc[i] -= 1
                    v[i] = 0
                    continue
                vi = trunc_div_pow2(v[i] * (one - p["dv"]), ub) + u0[i] + u1[i] \
                    + p["bias_mant"] * 2 ** p["bias_exp"]
                vi = max(-vmax, min(vmax, vi))
                if vi > p["vth"] * 2 ** sh:
                    vi = 0
                    refc[i] = p["refract"]
                    fired.append(i)
                v[i] = vi
            else:
                s = sources[i] if i in sources else ("a", set())
                if s[0] == "a":
                    if k + 1 in s[1]:
                        fired.append(i)
                elif s[2] <= k + 1 <= s[3]:
                    x = _splitmix(s[4] ^ _splitmix(k + 1))
                    if (x >> 11) / 2.0 ** 53 < s[1]:
                        fired.append(i)
        spikes += [(k, i) for i in fired]
        fired_set = set(fired)
        for sy in syn:
            if sy[0] in fired_set:
                slot = pending.setdefault(k + sy[4], [[0, 0] for _ in range(n)])
                slot[sy[1]][sy[2]] += sy[3]
        # learning engine
        for l, r in rules.items():
            for i in r["pre"]:
                x_tr[l][i] = (x_tr[l][i] * r["x_decay"] + 2048) >> 12
            for i in r["post"]:
                y_tr[l][i] = (y_tr[l][i] * r["y_decay"] + 2048) >> 12
        for sy in syn:
            l = sy[5]
            if l not in rules:
                continue
            r = rules[l]
            pre_f, post_f = sy[0] in fired_set, sy[1] in fired_set
            dw = (r["a_plus"] * x_tr[l][sy[0]] if post_f else 0) \
                - (r["a_minus"] * y_tr[l][sy[1]] if pre_f else 0)
            if pre_f or post_f:
                mag = r["sign"] * sy[3] + ((dw + (1 << frac >> 1)) >> frac)
                sy[3] = r["sign"] * max(r["w_lo"], min(r["w_hi"], mag))
        for l, r in rules.items():
            for i in fired:
                if i in r["pre"]:
                    x_tr[l][i] = min(x_tr[l][i] + r["impulse"], spec.trace_format.max_int)
                if i in r["post"]:
                    y_tr[l][i] = min(y_tr[l][i] + r["impulse"], spec.trace_format.max_int)
    weights = {name: [0] * net.projections[k].size for k, name in enumerate(names)}
    for sy in syn:
        weights[names[sy[5]]][sy[6]] = sy[3]
    return {"spikes": spikes, "u0": u0, "u1": u1, "v": v, "weights": weights}
