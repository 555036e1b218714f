"""The Vogels-Abbott CUBA network (4000 current-based LIF cells, 2 % connectivity) at the
1 ms timestep the chips run, in PyNN. Runs unchanged on any target; `compare` shows what
the chip's quantisation and mesh do to it:

    neurocosim run examples/cuba.py --target loihi
    neurocosim compare examples/cuba.py --targets reference,loihi,truenorth
    python examples/cuba.py [N]                       # plain PyNN, reference target

v_rest lies above threshold, so the network fires without input; weights are the
conductance-based benchmark's at -60 mV, as Brian2's CUBA example derives them.
"""

import sys

import pyNN.neurocosim as sim

n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 4000
sim.setup(timestep=1.0, rng_seed=2026)
rng = sim.NumpyRNG(seed=2026)
cell = sim.IF_curr_exp(cm=0.2, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, tau_refrac=5.0,
                       v_rest=-49.0, v_reset=-60.0, v_thresh=-50.0)
n_exc = int(round(0.8 * n))
exc = sim.Population(n_exc, cell, label="exc")
inh = sim.Population(n - n_exc, cell, label="inh")
for pop in (exc, inh):
    pop.initialize(v=sim.RandomDistribution("uniform", (-60.0, -50.0), rng=rng))
connect = sim.FixedProbabilityConnector(0.02, rng=rng)
w_exc = 0.27e-3 * 60.0          # nA: 0.27 nS x (0 mV - (-60 mV))
w_inh = -4.5e-3 * 20.0          # nA: 4.5 nS x (-80 mV - (-60 mV))
for pre, w, receptor in ((exc, w_exc, "excitatory"), (inh, w_inh, "inhibitory")):
    for post in (exc, inh):
        sim.Projection(pre, post, connect, sim.StaticSynapse(weight=w, delay=1.0),
                       receptor_type=receptor, label=f"{pre.label}-{post.label}")
exc.record("spikes")
inh.record("spikes")
sim.run(1000.0)
for pop in (exc, inh):
    rate = sum(pop.get_spike_counts().values()) / pop.size
    print(f"{pop.label}: {rate:.2f} spikes/s per neuron")
sim.end()
