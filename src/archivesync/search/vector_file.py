"""The meaning index's vectors as a file beside the database: a cache, never the truth.

Reading 100,000 vectors from SQLite costs a new process (every `archivesync search`) ~200 ms
of CPU; memory-mapping this file costs ~1 ms (bench/meaning.py measures both). `embed` writes
it (`<db>.meaning-vectors`) after every run; a search uses it only when its stamp (model,
passage count, last id, and a token every `embed` run that changes the table writes in the
database) is the database's, and otherwise reads SQLite as before. A missing, stale, short or
unreadable file is never an error, and a process that cannot write it (analysts' read-only
access) just reads SQLite. Litestream need not replicate it: `embed` makes it again.

Layout: a magic line, a little-endian uint32 length and a JSON header (stamp, rows,
dimensions), padded to 64 bytes; then passage ids (int64), scales (float32), kind codes
(uint8), padding to 64 bytes, and the int8 matrix, row after row.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import stat
from pathlib import Path

MAGIC = b"archivesync meaning vectors 1\n"
SUFFIX = ".meaning-vectors"
_ALIGN = 64


def file_for(db_path: str) -> Path | None:
    """The vector file of the database at `db_path` (None for an in-memory database)."""
    return Path(db_path + SUFFIX) if db_path else None


def _pad(n: int) -> int:
    return -n % _ALIGN


def _offsets(start: int, rows: int) -> tuple[int, int, int, int]:
    """Where ids, scales, kind codes and the matrix start, the header ending at `start`."""
    scales = start + 8 * rows
    codes = scales + 4 * rows
    return start, scales, codes, codes + rows + _pad(codes + rows)


def load(path: Path | None, stamp: tuple):
    """(ids, kind codes, scales, int8 matrix) memory-mapped from `path`, or None when the file
    is missing, unreadable, malformed or made for another state of the index than `stamp`."""
    import numpy as np

    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return None
            size = int.from_bytes(f.read(4), "little")
            if size > 4096:  # a few dozen bytes when written by us: never read a huge one
                return None
            header = json.loads(f.read(size))
            if header["stamp"] != list(stamp):
                return None
            rows, dims = int(header["rows"]), int(header["dims"])
            end = len(MAGIC) + 4 + size
            ids, scales, codes, matrix = _offsets(end + _pad(end), rows)
            if rows <= 0 or dims <= 0 or os.fstat(f.fileno()).st_size != matrix + rows * dims:
                return None
            view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (
        np.frombuffer(view, dtype="<i8", count=rows, offset=ids),
        np.frombuffer(view, dtype=np.uint8, count=rows, offset=codes),
        np.frombuffer(view, dtype="<f4", count=rows, offset=scales),
        np.frombuffer(view, dtype=np.int8, count=rows * dims, offset=matrix).reshape(rows, dims),
    )


def save(path: Path | None, stamp: tuple, ids, codes, scales, matrix) -> bool:
    """Write the file for `stamp` (whole, then renamed over the old one); False when it
    cannot be written (no right to write beside the database, disk full): searches then read
    SQLite."""
    import numpy as np

    if path is None or not len(ids):
        return False
    header = json.dumps({"stamp": list(stamp), "rows": len(ids), "dims": matrix.shape[1]})
    head = MAGIC + len(header).to_bytes(4, "little") + header.encode()
    head += b"\0" * _pad(len(head))
    import tempfile

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(head)
            f.write(np.ascontiguousarray(ids, dtype="<i8").tobytes())
            f.write(np.ascontiguousarray(scales, dtype="<f4").tobytes())
            f.write(np.ascontiguousarray(codes, dtype=np.uint8).tobytes())
            f.write(b"\0" * (_offsets(len(head), len(ids))[3] - len(head) - 13 * len(ids)))
            f.write(np.ascontiguousarray(matrix, dtype=np.int8).tobytes())
            f.flush()
            os.fsync(f.fileno())  # never a renamed file whose blocks are not on disk yet
        # Whoever may read the database may read its vectors (mkstemp makes it 0600).
        db_mode = stat.S_IMODE(os.stat(str(path)[: -len(SUFFIX)]).st_mode)
        os.chmod(tmp, db_mode & 0o666)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        return False
    finally:
        if tmp is not None:  # never a half-written file left behind, even on Ctrl-C
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
    return True
