"""Readers for AlgoPerf's prepared datasets and the streaming pipeline that feeds them.

The fastMRI and Criteo readers and the stream need the ``algoperf-data`` extra (grain,
h5py); the LibriSpeech and WMT readers need it too (grain, sentencepiece); the OGBG TFDS
reader needs only the base install (crc32c, in the extra, makes its checks fast). Nothing
imports them at module level elsewhere, so the base install and ``hpbench validate`` never
do.
"""
