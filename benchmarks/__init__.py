"""Performance benchmarks; ``python -m benchmarks`` (``just bench``) runs them all."""

#: AlgoPerf's eight workloads, the mini suite's (the benchmarks that run them all).
MINI_SUITE = (
    "criteo",
    "fastmri",
    "imagenet_resnet",
    "imagenet_vit",
    "librispeech_conformer",
    "librispeech_deepspeech",
    "ogbg",
    "wmt",
)
