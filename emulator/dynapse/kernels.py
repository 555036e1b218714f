"""Numba kernels of the DynapSE-style emulator: the analog dynamics at the sub-step h.

Per sub-step and neuron (the equations of Rockpool's DynapSim, read from its
documentation and source; our own code), with currents in A and times in s:
- DPI synapse of each type s, charged by the weighted events W (A) arriving now:
  isyn <- isyn exp(-h / tau_s) + (1 - exp(-t_pulse / tau_s)) max((Igain/Itau) W, Io),
  tau = (Ut / kappa) C / Itau;
- AHP (spike-frequency adaptation), charged by the neuron's spikes of the previous
  sub-step: iahp <- max(iahp exp(-h/tau_ahp) + f_ahp (Igain/Itau)_ahp Iw_ahp n_prev, Io);
- membrane, one forward-Euler step with the positive feedback of the previous Vmem:
  Ileak = Itau_mem + iahp, Iin = max(sum_s sign_s isyn_s - Ileak + Idc, Io) (0 -> Io
  while refractory), Iinf = (Igain/Itau)_mem (Iin - Ileak),
  f = Io exp(kappa^2/(kappa+1) Vmem/Ut) / Ileak (Imem + Igain_mem),
  dImem = Imem / (tau(Ileak) (Imem + Igain)) (Iinf + f - Imem (1 + iahp/Itau_mem)) h;
  Vmem = (Ut/kappa) ln(Imem / Io) (before the reset, as DynapSim keeps it);
- spikes: n = max(0, ceil(ln(Imem / Ispkthr))); a spiking neuron resets to Io and is
  refractory (input masked) for t_ref = Vth C_ref / Iref.
Input spikes act in the sub-step they arrive, neuron spikes one sub-step later (the
routing latency is far below h). `emulator.dynapse.oracle` is the plain-Python oracle.
"""

from __future__ import annotations

import math

import numpy as np

from ...hw.jit import njit

#: Circuit.consts: Io, Ut/kappa, kappa^2/(kappa+1)/Ut, C_mem, h (s)
IO, UT_K, KFB, C_MEM, H = 0, 1, 2, 3, 4


@njit
def substep(win, isyn, iahp, imem, vmem, timer, spk, fdis, fch, gr, sign, fdis_ahp,
            fch_ahp, ahp_w, itau_mem, igain_mem, idc, ispkthr, t_ref, consts, neurons):
    """One sub-step of the neurons listed in `neurons`; win[n, s] holds the weighted
    events (A) reaching neuron n's synapse type s now; spk[n] becomes its spike count."""
    io, ut_k, kfb, c_mem, h = consts[IO], consts[UT_K], consts[KFB], consts[C_MEM], consts[H]
    for n in neurons:
        i_exc = 0.0
        for s in range(isyn.shape[1]):
            inf = gr[n, s] * win[n, s]
            if inf < io:
                inf = io
            isyn[n, s] = fdis[n, s] * isyn[n, s] + fch[n, s] * inf
            i_exc += sign[n, s] * isyn[n, s]
        a = fdis_ahp[n] * iahp[n] + fch_ahp[n] * ahp_w[n] * spk[n]
        if a < io:
            a = io
        iahp[n] = a
        ileak = itau_mem[n] + a
        i_in = i_exc - ileak + idc[n]
        if timer[n] > 0.0:
            i_in = 0.0
        if i_in < io:
            i_in = io
        g = igain_mem[n]
        i_inf = g / itau_mem[n] * (i_in - ileak)
        im = imem[n]
        f_fb = io * math.exp(kfb * vmem[n]) / ileak * (im + g)
        tau = ut_k * c_mem / ileak
        im = im + h * im / (tau * (im + g)) * (i_inf + f_fb - im * (1.0 + a / itau_mem[n]))
        if im < io:
            im = io
        vmem[n] = ut_k * math.log(im / io)
        x = math.log(im / ispkthr[n])
        count = math.ceil(x) if x > 0.0 else 0.0
        t = timer[n] - h
        timer[n] = t if t > 0.0 else 0.0
        if count > 0.0:
            im = io
            timer[n] = t_ref[n]
            spk[n] = count
        else:
            spk[n] = 0.0
        imem[n] = im


@njit
def _spread(win, src, count, syn_ptr, syn_post, syn_type, syn_w):
    """Add `count` events of global neuron `src` to the synapses its CAM entries name;
    returns the synaptic events delivered."""
    for q in range(syn_ptr[src], syn_ptr[src + 1]):
        win[syn_post[q], syn_type[q]] += count * syn_w[q]
    return count * (syn_ptr[src + 1] - syn_ptr[src])


@njit
def run_window(k0, k1, nsub, ev_ptr, ev_src, syn_ptr, syn_post, syn_type, syn_w, neurons,
               win, isyn, iahp, imem, vmem, timer, spk, fdis, fch, gr, sign, fdis_ahp,
               fch_ahp, ahp_w, itau_mem, igain_mem, idc, ispkthr, t_ref, consts, rec_ids,
               rec_out, out_n, out_k, out_j, out_c, events):
    """Output steps k0.. until k1 or until the spike buffers (out_*) cannot hold another
    step; returns (step reached, spikes written). Source spikes of step k (CSR ev_ptr
    over k - k0) arrive in its first sub-step; imem of rec_ids is sampled at each step's
    start; events[0] counts synaptic events."""
    n_out = 0
    cap = len(out_n)
    for k in range(k0, k1):
        if n_out + nsub * len(neurons) > cap:
            return k, n_out
        for r in range(len(rec_ids)):
            rec_out[k - k0, r] = imem[rec_ids[r]]
        for j in range(nsub):
            win[:] = 0.0
            if j == 0:
                for e in range(ev_ptr[k - k0], ev_ptr[k - k0 + 1]):
                    events[0] += _spread(win, ev_src[e], 1.0, syn_ptr, syn_post, syn_type,
                                         syn_w)
            for n in neurons:
                if spk[n] > 0.0:
                    events[0] += _spread(win, n, spk[n], syn_ptr, syn_post, syn_type, syn_w)
            substep(win, isyn, iahp, imem, vmem, timer, spk, fdis, fch, gr, sign, fdis_ahp,
                    fch_ahp, ahp_w, itau_mem, igain_mem, idc, ispkthr, t_ref, consts, neurons)
            for n in neurons:
                if spk[n] > 0.0:
                    out_n[n_out], out_k[n_out], out_j[n_out] = n, k, j
                    out_c[n_out] = int(spk[n])
                    n_out += 1
    return k1, n_out
