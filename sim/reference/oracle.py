"""A slow, obviously correct per-step model of the reference engine, used only by tests.

Plain Python over one neuron and one synapse at a time, with event queues as dicts of
lists, following the conventions written in `engine.py`. It shares with the engine only
the closed-form propagators and rate functions of `build.py` (checked on their own
against a matrix exponential), the current-source waveforms of the IR and the input
spikes: the one stimulus (`hw.stimulus`, checked on its own against a loop over
`hw.rng`), window by window as the runner hands it to the engine.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from ...hw.ir import CurrentSource, Network
from ...hw.result import Result, Signal, Spikes
from ...hw.stimulus import Stimulus
from . import build as B
from . import layout as L


class _Neuron:
    def __init__(self, model: str, p: dict, dt: float):
        self.model, self.p, self.dt = model, p, dt
        self.v = p.get("v_rest", -65.0)
        self.ie = self.ii = self.ye = self.yi = 0.0   # current (nA) or conductance (uS)
        self.w = 0.0
        self.m = self.h = self.n = 0.0
        self.refractory = 0
        self.ref_steps = math.ceil(p.get("tau_refrac", 0.0) / dt - 1e-9)   # up, as NEST
        if model == "HH_cond_exp":
            self.ref_steps = int(round(L.HH_REFRACTORY / dt))
        if model in ("IF_curr_exp", "IF_curr_alpha", "IF_curr_delta", "IF_cond_exp",
                     "IF_cond_alpha", "EIF_cond_alpha_isfa_ista", "EIF_cond_exp_isfa_ista"):
            tse = p.get("tau_syn_E", p["tau_m"])
            tsi = p.get("tau_syn_I", p["tau_m"])
            self.P22, self.P20, self.PSE, self.P21E, self.P31E = (
                float(x) for x in B.propagators(p["cm"], p["tau_m"], tse, dt))
            _, _, self.PSI, self.P21I, self.P31I = (
                float(x) for x in B.propagators(p["cm"], p["tau_m"], tsi, dt))
        if model == "HH_cond_exp":
            self.PSE = math.exp(-dt / p["tau_syn_E"])
            self.PSI = math.exp(-dt / p["tau_syn_I"])

    # -- numerically integrated models ----------------------------------------------------
    def g(self, g0, y0, tau, s, alpha):
        return math.exp(-s / tau) * (g0 + math.e * y0 * s / tau) if alpha else \
            g0 * math.exp(-s / tau)

    def deriv(self, x, ge, gi, I, refractory):
        v, w, m, h, n = x
        p = self.p
        if self.model in ("IF_cond_exp", "IF_cond_alpha"):
            if refractory:
                return [0.0] * 5
            dv = (p["v_rest"] - v) / p["tau_m"] + (ge * (p["e_rev_E"] - v)
                                                   + gi * (p["e_rev_I"] - v) + I) / p["cm"]
            return [dv, 0.0, 0.0, 0.0, 0.0]
        if self.model.startswith("EIF"):
            if refractory:
                v, dv = p["v_reset"], 0.0
            else:
                dT = p["delta_T"]
                leak = p["v_rest"] - v + dT * math.exp((min(v, p["v_spike"]) - p["v_thresh"]) / dT)
                dv = leak / p["tau_m"] + (-w + ge * (p["e_rev_E"] - v)
                                          + gi * (p["e_rev_I"] - v) + I) / p["cm"]
            dw = (1e-3 * p["a"] * (v - p["v_rest"]) - w) / p["tau_w"]
            return [dv, dw, 0.0, 0.0, 0.0]
        am, bm, ah, bh, an, bn = _hh_rates(v - p["v_offset"])
        dv = (p["g_leak"] * (p["e_rev_leak"] - v) - p["gbar_Na"] * m**3 * h * (v - p["e_rev_Na"])
              - p["gbar_K"] * n**4 * (v - p["e_rev_K"]) + ge * (p["e_rev_E"] - v)
              + gi * (p["e_rev_I"] - v) + I) / p["cm"]
        return [dv, 0.0, am * (1 - m) - bm * m, ah * (1 - h) - bh * h, an * (1 - n) - bn * n]

    def rk4(self, I, refractory):
        alpha = self.model in ("IF_cond_alpha", "EIF_cond_alpha_isfa_ista")
        nsub = max(1, math.ceil(self.dt / L.RK4_MAX_STEP[L.MODEL_CODES[self.model]] - 1e-9))
        hs = self.dt / nsub
        te, ti = self.p["tau_syn_E"], self.p["tau_syn_I"]
        x = [self.v, self.w, self.m, self.h, self.n]
        for j in range(nsub):
            s = j * hs
            gs = [(self.g(self.ie, self.ye, te, t, alpha), self.g(self.ii, self.yi, ti, t, alpha))
                  for t in (s, s + hs / 2, s + hs)]
            k1 = self.deriv(x, *gs[0], I, refractory)
            k2 = self.deriv([a + hs / 2 * b for a, b in zip(x, k1)], *gs[1], I, refractory)
            k3 = self.deriv([a + hs / 2 * b for a, b in zip(x, k2)], *gs[1], I, refractory)
            k4 = self.deriv([a + hs * b for a, b in zip(x, k3)], *gs[2], I, refractory)
            x = [a + hs / 6 * (b1 + 2 * b2 + 2 * b3 + b4)
                 for a, b1, b2, b3, b4 in zip(x, k1, k2, k3, k4)]
        self.v, self.w, self.m, self.h, self.n = x

    def synapses_step(self, in_e, in_i, alpha):
        """Exact decay of the synaptic state over the step, then this step's input."""
        if alpha:
            ae = math.e * self.dt / self.p["tau_syn_E"]
            ai = math.e * self.dt / self.p["tau_syn_I"]
            self.ie = self.PSE * (self.ie + ae * self.ye)
            self.ii = self.PSI * (self.ii + ai * self.yi)
            self.ye = self.PSE * self.ye + in_e
            self.yi = self.PSI * self.yi + in_i
        else:
            self.ie = self.PSE * self.ie + in_e
            self.ii = self.PSI * self.ii + in_i

    # -- one step ---------------------------------------------------------------------------
    def step(self, in_e: float, in_i: float, I_stim: float) -> bool:
        """Advance one step with this step's arriving input; True if it spiked."""
        p, model = self.p, self.model
        if model in ("IF_curr_exp", "IF_curr_alpha"):
            alpha = model == "IF_curr_alpha"
            spiked = False
            if self.refractory > 0:
                self.refractory -= 1
            else:
                v = (p["v_rest"] + (self.v - p["v_rest"]) * self.P22 + self.ie * self.P21E
                     - self.ii * self.P21I + (p["i_offset"] + I_stim) * self.P20)
                if alpha:
                    v += self.ye * self.P31E - self.yi * self.P31I
                self.v = v
                if v >= p["v_thresh"]:
                    self.v, self.refractory, spiked = p["v_reset"], self.ref_steps, True
            self.synapses_step(in_e, in_i, alpha)
            return spiked
        if model == "IF_curr_delta":
            if self.refractory > 0:
                self.refractory -= 1
                return False
            self.v = (p["v_rest"] + (self.v - p["v_rest"]) * self.P22
                      + (p["i_offset"] + I_stim) * self.P20 + in_e - in_i)
            if self.v >= p["v_thresh"]:
                self.v, self.refractory = p["v_reset"], self.ref_steps
                return True
            return False
        if model in ("IF_cond_exp", "IF_cond_alpha", "EIF_cond_exp_isfa_ista",
                     "EIF_cond_alpha_isfa_ista"):
            eif = model.startswith("EIF")
            I = p["i_offset"] + I_stim
            spiked = False
            if self.refractory > 0:
                self.refractory -= 1
                if eif:
                    self.rk4(I, True)
                self.v = p["v_reset"]
            else:
                self.rk4(I, False)
                if self.v >= (p["v_spike"] if eif else p["v_thresh"]):
                    self.v, self.refractory, spiked = p["v_reset"], self.ref_steps, True
                    if eif:
                        self.w += p["b"]
            self.synapses_step(in_e, in_i, "alpha" in model)
            return spiked
        if model == "HH_cond_exp":
            before = self.v
            self.rk4(p["i_offset"] + I_stim, False)
            spiked = False
            if self.refractory > 0:
                self.refractory -= 1
            elif self.v > p["v_offset"] + 30.0 and before > self.v:
                self.refractory, spiked = self.ref_steps, True
            self.synapses_step(in_e, in_i, False)
            return spiked
        if model == "Izhikevich":
            v, u, dt = self.v, self.w, self.dt
            I = 1000.0 * (p["i_offset"] + I_stim)
            self.v = v + dt * (0.04 * v * v + 5 * v + 140 - u + I) + in_e - in_i
            self.w = u + dt * p["a"] * (p["b"] * v - u)
            if self.v >= L.IZHIKEVICH_THRESHOLD:
                self.v, self.w = p["c"], self.w + p["d"]
                return True
            return False
        raise AssertionError(model)


_STATE_ATTR = {"v": "v", "isyn_exc": "ie", "isyn_inh": "ii", "gsyn_exc": "ie",
               "gsyn_inh": "ii", "w": "w", "u": "w", "m": "m", "h": "h", "n": "n"}


class Oracle:
    """Per-step, per-neuron, per-synapse simulation of a Network; `run` continues."""

    def __init__(self, net: Network):
        self.net, self.dt, self.k = net, net.timestep, 0
        dt = self.dt
        offsets = net.offsets()
        self.neurons: list = []
        self.pop_of: list = []
        for pop in net.populations:
            for i in range(pop.size):
                p = {name: float(v[i]) for name, v in pop.params.items()}
                self.pop_of.append((pop.name, i))
                if pop.model.startswith("SpikeSource"):
                    self.neurons.append(None)
                    continue
                nrn = _Neuron(pop.model, p, dt)
                if pop.model == "Izhikevich":
                    nrn.v, nrn.w = -70.0, -14.0
                if pop.model == "HH_cond_exp":
                    nrn.v = -65.0
                for var, values in pop.initial.items():
                    setattr(nrn, _STATE_ATTR[var], float(values[i]))
                if pop.model == "HH_cond_exp":
                    am, bm, ah, bh, an, bn = (float(r) for r in B.hh_rates(nrn.v, p["v_offset"]))
                    nrn.m = nrn.m if "m" in pop.initial else am / (am + bm)
                    nrn.h = nrn.h if "h" in pop.initial else ah / (ah + bh)
                    nrn.n = nrn.n if "n" in pop.initial else an / (an + bn)
                self.neurons.append(nrn)
        self.stimulus = Stimulus(net, dt)
        # synapses: one dict each; outgoing lists per pre neuron
        self.synapses: list[dict] = []
        self.out: dict[int, list[int]] = defaultdict(list)
        self.incoming_stdp: dict[int, list[int]] = defaultdict(list)
        for pr in net.projections:
            rule = pr.plasticity.rule if pr.plasticity else None
            for s in range(pr.size):
                syn = dict(proj=pr.name, pre=offsets[pr.pre] + int(pr.pre_idx[s]),
                           post=offsets[pr.post] + int(pr.post_idx[s]),
                           inh=pr.receptor == "inhibitory", w=float(pr.weight[s]),
                           d=max(1, math.floor(pr.delay[s] / dt + 0.5 + 1e-9)), rule=rule,
                           x=1.0 if rule == "tsodyks_markram" else 0.0, t_pre=0, y=0.0, t_post=0)
                if rule:
                    syn.update({k: float(np.broadcast_to(v, (pr.size,))[s])
                                for k, v in pr.plasticity.params.items()})
                self.out[syn["pre"]].append(len(self.synapses))
                if rule in ("stdp_additive", "stdp_multiplicative"):
                    self.incoming_stdp[syn["post"]].append(len(self.synapses))
                self.synapses.append(syn)
        self.arrivals: dict[int, list[int]] = defaultdict(list)   # step -> synapse ids
        self.currents = [(offsets[c.population] + c.indices, c) for c in net.stimuli
                         if isinstance(c, CurrentSource)]
        self.spikes: list[tuple[int, int]] = []                   # (neuron, stamp)
        self.samples: dict[tuple[str, str], list] = defaultdict(list)
        self.recordings = [r for r in net.recordings if r.variable != "spikes"]
        self.last_sampled = -1

    def _send(self, j: int, e: int) -> None:
        """A spike of neuron j in step e (stamp e + 1)."""
        self.spikes.append((j, e + 1))
        for s in self.out[j]:
            self.arrivals[e + self.synapses[s]["d"]].append(s)
        a = e + 1
        for s in self.incoming_stdp[j]:
            syn = self.synapses[s]
            x = syn["x"] * math.exp(-(a - syn["t_pre"]) * self.dt / syn["tau_plus"])
            if syn["rule"] == "stdp_additive":
                syn["w"] += syn["A_plus"] * syn["w_max"] * x
            else:
                syn["w"] += syn["A_plus"] * (syn["w_max"] - syn["w"]) * x
            syn["w"] = min(max(syn["w"], syn["w_min"]), syn["w_max"])
            syn["y"] = syn["y"] * math.exp(-(a - syn["t_post"]) * self.dt / syn["tau_minus"]) + 1
            syn["t_post"] = a

    def _transmit(self, syn: dict, a: int) -> float:
        """The amount a pre spike arriving at stamp a delivers (after plasticity)."""
        rule = syn["rule"]
        if rule is None:
            return syn["w"]
        if rule == "tsodyks_markram":
            h = (a - syn["t_pre"]) * self.dt
            x, u, U = syn["x"], syn["y"], syn["U"]
            x = 1 + (x - x * u - 1) * (math.exp(-h / syn["tau_rec"]) if syn["tau_rec"] > 0 else 0)
            u = U + u * (1 - U) * (math.exp(-h / syn["tau_facil"]) if syn["tau_facil"] > 0 else 0)
            syn["x"], syn["y"], syn["t_pre"] = x, u, a
            return syn["w"] * u * x
        y = syn["y"] * math.exp(-(a - syn["t_post"]) * self.dt / syn["tau_minus"])
        x = syn["x"] * math.exp(-(a - syn["t_pre"]) * self.dt / syn["tau_plus"])
        if rule == "stdp_additive":
            syn["w"] -= syn["A_minus"] * syn["w_max"] * y
        else:
            syn["w"] -= syn["A_minus"] * (syn["w"] - syn["w_min"]) * y
        syn["w"] = min(max(syn["w"], syn["w_min"]), syn["w_max"])
        syn["x"], syn["t_pre"] = x + 1, a
        return syn["w"]

    def _sample(self, k: int) -> None:
        if k <= self.last_sampled:
            return
        self.last_sampled = k
        offsets = self.net.offsets()
        for rec in self.recordings:
            interval = rec.sampling_interval
            every = 1 if interval is None else int(round(interval / self.dt))
            if k % every == 0:
                attr = _STATE_ATTR[rec.variable]
                off = offsets[rec.population]
                self.samples[(rec.population, rec.variable)].append(
                    (k * self.dt, [getattr(self.neurons[off + i], attr)
                                   for i in np.unique(rec.indices)]))

    def _inputs(self, steps: int) -> dict[int, dict[int, int]]:
        """This run's input spikes: stamp -> {source neuron: how many spikes}."""
        win = self.stimulus.window(self.k, self.k + steps)
        out: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for j, s in zip(win.neuron.tolist(), win.stamp.tolist()):
            out[s][j] += 1
        return out

    def run(self, duration: float) -> None:
        steps = int(round(duration / self.dt))
        if not steps:
            return
        inputs = self._inputs(steps)
        for j, count in inputs.pop(0, {}).items():    # stamp 0: sent "in step -1"
            for _ in range(count):
                self._send(j, -1)
        for _ in range(steps):
            k = self.k
            self._sample(k)
            n = len(self.neurons)
            in_e, in_i = [0.0] * n, [0.0] * n
            for s in self.arrivals.pop(k, []):
                syn = self.synapses[s]
                amount = self._transmit(syn, k + 1)
                if syn["inh"]:
                    in_i[syn["post"]] += amount
                else:
                    in_e[syn["post"]] += amount
            I_stim = [0.0] * n
            for idx, src in self.currents:
                val = float(src.waveform(k, 1, self.dt)[0])
                for j in idx:
                    I_stim[j] += val
            fired = []
            sources = inputs.get(k + 1, {})
            for j, nrn in enumerate(self.neurons):
                if nrn is None:
                    fired += [j] * sources.get(j, 0)
                elif nrn.step(in_e[j], in_i[j], I_stim[j]):
                    fired.append(j)
            for j in fired:
                self._send(j, k)
            self.k += 1
        self._sample(self.k)

    def result(self) -> Result:
        res = Result(target="oracle", t_stop=self.k * self.dt, timestep=self.dt)
        offsets = self.net.offsets()
        for rec in self.net.recordings:
            if rec.variable == "spikes":
                off = offsets[rec.population]
                want = set((off + rec.indices).tolist())
                got = [(j - off, a * self.dt) for j, a in self.spikes if j in want]
                res.spikes[rec.population] = Spikes(np.array([g[0] for g in got], np.int64),
                                                    np.array([g[1] for g in got]))
        for (pop, var), rows in self.samples.items():
            rec = next(r for r in self.recordings if (r.population, r.variable) == (pop, var))
            res.signals.setdefault(pop, {})[var] = Signal(
                np.array([r[0] for r in rows]), np.unique(rec.indices),
                np.array([r[1] for r in rows]))
        for pr in self.net.projections:
            res.weights[pr.name] = np.array([s["w"] for s in self.synapses if s["proj"] == pr.name])
        return res


def _hh_rates(u: float) -> tuple[float, ...]:
    """Traub-Miles rates at u = v - v_offset (PyNN's HH_cond_exp), in plain math."""
    def xexp(x: float, s: float) -> float:
        return s * (1 - x / (2 * s)) if abs(x / s) < 1e-6 else x / math.expm1(x / s)
    return (0.32 * xexp(13 - u, 4.0), 0.28 * xexp(u - 40, 5.0),
            0.128 * math.exp((17 - u) / 18), 4.0 / (1 + math.exp((40 - u) / 5)),
            0.032 * xexp(15 - u, 5.0), 0.5 * math.exp((10 - u) / 40))
