"""Readers of the data layouts AlgoPerf's dataset_setup.py writes."""
