"""How the audit writes files: atomically, each with a size-and-checksum manifest.

Every file a pass writes gets a manifest beside it (``NAME.sum``: its size and
SHA-256), written just before the file takes its name, so a file present always
has one; a resumed audit trusts a file only when both agree, so a partition
truncated or damaged on disk is computed again instead of read.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    _record(tmp, path)
    os.replace(tmp, path)


def save_npz(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
    _record(tmp, path)
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def checksum(path: Path) -> dict:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"size": path.stat().st_size, "sha256": h.hexdigest()}


def _sum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sum")


def _record(written: Path, path: Path) -> None:
    """Record the size and checksum of ``written``, about to be renamed to ``path``."""
    write_text(_sum_path(path), json.dumps(checksum(written), sort_keys=True))


def intact(path: Path) -> bool:
    """``path`` exists and matches the size and checksum recorded when it was written."""
    path = Path(path)
    try:
        recorded = json.loads(_sum_path(path).read_text())
        if path.stat().st_size != recorded.get("size"):
            return False
        return checksum(path) == recorded
    except (OSError, ValueError):
        return False
