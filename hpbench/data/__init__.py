"""Readers for AlgoPerf's prepared datasets and the streaming pipeline that feeds them.

The fastMRI and Criteo readers and the stream need the ``algoperf-data`` extra (grain,
h5py); the LibriSpeech and WMT readers need it too (grain, sentencepiece); the OGBG TFDS
reader needs only the base install (crc32c, in the extra, makes its checks fast). Nothing
imports the readers at module level elsewhere, and ``stream`` imports grain only when it
streams (``hpbench.workloads.base`` takes its ``HostRows`` type), so the base install and
``hpbench validate`` never need the extra.
"""
