"""Readers for AlgoPerf's prepared datasets and the streaming pipeline that feeds them.

Everything here needs the ``algoperf-data`` extra (grain, h5py); nothing imports it at
module level elsewhere, so the base install and ``hpbench validate`` never do.
"""
