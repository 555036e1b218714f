"""A small PyNN network: Poisson input drives excitatory and inhibitory LIF neurons, with
STDP on the input synapses. Runs unchanged on any target:

    neurocosim run examples/demo.py                  # the float reference
    neurocosim run examples/demo.py --target loihi   # the Loihi-style emulator
    python examples/demo.py                          # plain PyNN, reference target
"""

import pyNN.neurocosim as sim

sim.setup(timestep=1.0, rng_seed=42)

rng = sim.NumpyRNG(seed=42)
cell = sim.IF_curr_exp(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-65.0,
                       v_reset=-65.0, v_thresh=-52.0, tau_refrac=2.0)
exc = sim.Population(80, cell, label="exc")
inh = sim.Population(20, cell, label="inh")
noise = sim.Population(50, sim.SpikeSourcePoisson(rate=20.0), label="input")
exc.initialize(v=sim.RandomDistribution("uniform", (-65.0, -55.0), rng=rng))
inh.initialize(v=sim.RandomDistribution("uniform", (-65.0, -55.0), rng=rng))

stdp = sim.STDPMechanism(
    timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                        A_plus=0.01, A_minus=0.012),
    weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
    weight=0.5, delay=1.0)
connect = sim.FixedProbabilityConnector(0.2, rng=rng)
inp = sim.Projection(noise, exc, connect, stdp, receptor_type="excitatory", label="input-exc")
sim.Projection(noise, inh, connect, sim.StaticSynapse(weight=0.5, delay=1.0),
               receptor_type="excitatory", label="input-inh")
sim.Projection(exc, inh, connect, sim.StaticSynapse(weight=0.3, delay=1.0),
               receptor_type="excitatory", label="exc-inh")
sim.Projection(inh, exc, connect, sim.StaticSynapse(weight=-0.6, delay=1.0),
               receptor_type="inhibitory", label="inh-exc")

exc.record(["spikes", "v"])
inh.record("spikes")
sim.run(1000.0)

for pop in (exc, inh):
    counts = pop.get_spike_counts()
    rate = sum(counts.values()) / pop.size
    print(f"{pop.label}: {rate:.1f} spikes/s per neuron")
w = inp.get("weight", format="array")
print(f"input->exc weights after STDP: mean {float(w[w == w].mean()):.3f} "
      f"(started at 0.500)")
sim.end()
