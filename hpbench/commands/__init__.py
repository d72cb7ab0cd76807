"""The commands of ``hpbench``, one module per group, each exposing ``COMMANDS = {name:
Command}``. They sit above the API (:mod:`hpbench.api`) and the packages it uses, none of
which imports a command module, so no import cycle goes through the CLI. No JAX import.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import attrs


@attrs.frozen
class Command:
    """A command (or a subcommand, which also carries its ``help`` line): ``add_arguments``
    fills its parser, ``main`` runs it and returns the exit code."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace], int]
    help: str = ""
