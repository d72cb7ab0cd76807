"""Training algorithms: one registry entry each (metadata, builder, packability).

``hpbench.algorithms.registry`` holds the entries and is safe to import anywhere (no JAX);
importing this package registers every algorithm of :mod:`hpbench.algorithms.catalog`.
``hpbench.algorithms.build`` imports JAX and Optax and turns a trial's hyperparameters and
relative schedule into an Optax transformation.
"""

from hpbench.algorithms import catalog  # noqa: F401  (registers every algorithm)
from hpbench.algorithms.registry import ALGORITHMS, AlgorithmInfo, Hyperparameter, get_algorithm

__all__ = ["ALGORITHMS", "AlgorithmInfo", "Hyperparameter", "get_algorithm"]
