"""Searches, calibration and hyperparameter lists: the two papers' procedures, run from specs.

Modules: ``runs`` (training trials and reading their step fractions), ``calibrate`` (the
lr-free paper's Section 3.2), ``lists`` (the NAdamW-list paper's greedy lists), ``targets``
(target setting), ``emit`` (specs and Markdown tables written from the results). The spec
language's part (spaces, sequences, the ``[search]``/``[select]``/``[list]`` settings, a
search's points) is in :mod:`hpbench.spec`; the commands are :mod:`hpbench.cli.search`.
Importing this package imports neither numpy nor JAX.
"""
