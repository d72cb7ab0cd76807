"""Command modules that sit above the API (:mod:`hpbench.api`): the packages the API uses
import none of them, so a command calling the API makes no import cycle. No JAX import.
"""
