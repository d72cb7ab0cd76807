"""The TOML config toolkit shared by specs, runner profiles and nightly files.

Modules: ``_toml`` (the parser), ``locate`` (line and column of every key), ``source``
(reading one file, ``extends`` paths, deep merge), ``bounds`` (size limits of untrusted
files), ``confine`` (where untrusted values may lead on disk), ``errors`` (problems as
``file:line:col: key: expected X, found Y`` and :class:`ConfigError`), ``values``
(typed checks that report instead of raising). No JAX import.
"""

from hpbench.config.errors import ConfigError, Problem
from hpbench.config.source import Document, read_document
from hpbench.config.values import Reporter

__all__ = ["ConfigError", "Document", "Problem", "Reporter", "read_document"]
