"""A YouTube Data API v3 emulator for hermetic tests, demos and benchmarks.

``Emulator`` serves a ``Dataset`` over loopback HTTP with the real API's shapes, paging,
quota, errors and quirks; ``load_dataset`` reads one from JSON (the sample channel is
``data/sample_channel.json``) and ``synthetic_dataset`` generates one of any size.
"""

from . import oauth
from .dataset import Dataset, default_sample_path, load_dataset
from .server import DEMO_API_KEY, FAULT_KINDS, Emulator
from .synthetic import synthetic_dataset

__all__ = [
    "DEMO_API_KEY",
    "FAULT_KINDS",
    "Dataset",
    "Emulator",
    "default_sample_path",
    "load_dataset",
    "oauth",
    "synthetic_dataset",
]
