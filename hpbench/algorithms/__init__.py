"""Training algorithms: metadata (no JAX) and builders of Optax transformations.

``hpbench.algorithms.registry`` describes every algorithm (hyperparameters, defaults,
ranges, which may vary inside a packed batch) and is safe to import anywhere;
``hpbench.algorithms.build`` imports JAX and Optax and turns a trial's hyperparameters and
relative schedule into an Optax transformation.
"""

from hpbench.algorithms.registry import ALGORITHMS, AlgorithmInfo, Hyperparameter, get_algorithm

__all__ = ["ALGORITHMS", "AlgorithmInfo", "Hyperparameter", "get_algorithm"]
