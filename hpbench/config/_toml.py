"""The TOML parser: ``tomllib`` from Python 3.11 on, its backport ``tomli`` before."""

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["tomllib"]
