"""Where jobs run. Every backend calls :func:`hpbench.train.run_job` and nothing else.

Only ``local`` (in this process) exists so far; pool, Ray and Slurm come later.
"""

BACKENDS = ("local",)
