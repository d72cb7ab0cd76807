"""Workloads: data + model + loss + metric + target + step budget + batch size.

``hpbench.workloads.registry`` holds each workload's metadata without importing JAX;
``load_workload`` imports the workload's module and builds the runtime object that the
engine trains (see :class:`hpbench.workloads.base.Workload`).
"""

from hpbench.workloads.registry import (
    METRIC_DIRECTIONS,
    WORKLOADS,
    WorkloadInfo,
    get_workload,
    load_workload,
)

__all__ = ["METRIC_DIRECTIONS", "WORKLOADS", "WorkloadInfo", "get_workload", "load_workload"]
