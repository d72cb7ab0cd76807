"""Searches, calibration and hyperparameter lists: the two papers' procedures, run from specs.

Modules: ``spaces`` (dimensions: log/linear ranges, choices, ``1 - beta``), ``sequences``
(scrambled Halton, random, grid unit points), ``settings`` (the checked ``[search]``,
``[select]``, ``[list]`` tables), ``points`` (a search's points), ``runs`` (training trials
and reading their step fractions), ``calibrate`` (the lr-free paper's Section 3.2),
``lists`` (the NAdamW-list paper's greedy lists), ``emit`` (specs and Markdown tables
written from the results), ``cli`` (``hpbench calibrate``, ``hpbench build-list``).
Importing this package imports neither numpy nor JAX.
"""
