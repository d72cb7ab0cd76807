"""hpbench: declarative benchmarks of neural-network training algorithms, on JAX.

Importing :mod:`hpbench` is cheap: JAX is imported only by the modules that train or
compile (``hpbench.train``, ``hpbench.algorithms.build``, the workload models).
"""

__version__ = "0.1.0"
