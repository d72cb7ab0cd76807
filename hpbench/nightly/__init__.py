"""The nightly benchmark: a nightly file (``specs/nightly.toml``) lists reports, each a pool
of specs; every night trains them through the API, re-renders the reports and the site and
flags score regressions against the previous night.

Modules: ``file`` (the nightly file, checked with :mod:`hpbench.config`; what ``hpbench
validate`` imports), ``history`` (scores per night, regressions), ``site`` (the index
linking every report), ``run`` (the night), ``pr`` (the pull-request comment); the command
is :mod:`hpbench.cli.nightly`. Importing this
package loads only ``file``; training code is imported when a night trains.
"""

from hpbench.nightly.file import Nightly, ReportSpec, load_nightly

__all__ = ["Nightly", "ReportSpec", "load_nightly"]
