"""Uploaded exports: size limit, type by content, stored under names we choose.

A user's file name is never used as a path: each file is stored as
``file-<n>.<kind>`` in the upload's own folder, and the name the user gave is
kept only as text to show. A name with a folder part (``../x.csv``, ``a/b``)
is refused outright, since it says the file is not what it claims to be; so
is a zip entry with one. The kind comes from the first bytes: CSV or JSON
lines (UTF-8 text, no NUL bytes), Parquet (``PAR1``) or a zip of those.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from butfor.errors import ButforError

_TEXT_SNIFF = 64 * 1024
KINDS = ("csv", "jsonl", "parquet")


class UploadError(ButforError):
    """An upload refused before any reader saw it (size, type, name)."""


@dataclass(frozen=True)
class Received:
    name: str  # as the user gave it; shown, never used as a path
    data: bytes


def check_name(name: str) -> str:
    clean = (name or "").strip()
    parts = clean.replace("\\", "/").split("/")
    if not clean or any(ord(c) < 32 for c in clean):
        raise UploadError("a file has no usable name; upload it under its own plain file name")
    if len(parts) > 1 or clean in (".", ".."):
        raise UploadError(f"the file name {clean!r} has a folder part; upload the file under its "
                          "own name, without folders or '..'")
    return clean


def sniff(name: str, data: bytes) -> str:
    """The kind of file by its content: csv, jsonl, parquet or zip; refuses anything else."""
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(b"PAR1"):
        return "parquet"
    head = data[:_TEXT_SNIFF]
    if b"\x00" in head:
        raise UploadError(f"{name}: is not a CSV, JSON lines, Parquet or zip file (it holds "
                          "binary data); upload the export as the platform gave it")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # a character cut at the sniff boundary is fine
            raise UploadError(f"{name}: is not UTF-8 text (byte {err.start + 1}); save it as "
                              "UTF-8 CSV and upload it again") from None
        text = head[:err.start].decode("utf-8-sig")
    if not text.strip():
        raise UploadError(f"{name}: the file is empty; upload the export with its rows")
    return "jsonl" if text.lstrip().startswith(("{", "[")) else "csv"


def unpack(received: list[Received], max_bytes: int) -> list[tuple[str, str, bytes]]:
    """(shown name, kind, bytes) of every data file, zips opened; refuses bad names and types."""
    out: list[tuple[str, str, bytes]] = []
    total = 0
    for item in received:
        name = check_name(item.name)
        kind = sniff(name, item.data)
        if kind != "zip":
            out.append((name, kind, item.data))
            total += len(item.data)
            continue
        try:
            archive = zipfile.ZipFile(io.BytesIO(item.data))
            entries = [e for e in archive.infolist() if not e.is_dir()]
        except zipfile.BadZipFile:
            raise UploadError(f"{name}: is not a readable zip file; upload the archive again "
                              "or its files one by one") from None
        for entry in entries:
            inner = entry.filename
            if inner.startswith("__MACOSX/") or Path(inner).name.startswith("."):
                continue  # the Finder's resource forks and dot files carry no data
            if inner.startswith("/") or ".." in inner.replace("\\", "/").split("/"):
                raise UploadError(f"{name}: the entry {inner!r} points outside the archive; "
                                  "upload an archive whose entries stay inside it")
            total += entry.file_size
            if total > max_bytes:
                raise UploadError(f"{name}: unpacked, the files are larger than the "
                                  f"{_mb(max_bytes)} limit; upload fewer or smaller files")
            data = archive.read(entry)
            shown = f"{name}/{inner}"
            inner_kind = sniff(shown, data)
            if inner_kind == "zip":
                raise UploadError(f"{shown}: a zip inside a zip is not read; unpack it and "
                                  "upload its files")
            out.append((shown, inner_kind, data))
    if not out:
        raise UploadError("no data files were uploaded; choose one or more export files")
    return out


def store_files(files: list[tuple[str, str, bytes]], folder: Path) -> list[dict]:
    """Write the files as file-<n>.<kind>; returns what the store keeps about each."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for n, (shown, kind, data) in enumerate(files, start=1):
        stored = f"file-{n}.{kind}"
        (folder / stored).write_bytes(data)
        kept.append({"name": shown, "stored": stored, "kind": kind, "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()})
    return kept


def shown_names(message: str, files: list[dict], prefix: str = "") -> str:
    """A reader's sentence with our stored paths replaced by the names the user gave."""
    for f in sorted(files, key=lambda f: -len(f["stored"])):
        for path in (f"{prefix}{f['stored']}", f["stored"]):
            message = message.replace(path, f["name"])
    return message


def field_of_upload_error(message: str) -> str:
    """The upload form's field a refusal is about: the option it refuses or asks for.

    A file no reader recognises also suggests --format, but its fault is the
    file's header, so that sentence stays beside the files.
    """
    for option in ("format", "timezone", "unit"):
        if message.startswith(f"--{option} '"):
            return option
    for option in ("timezone", "unit"):
        if f"pass --{option} " in message:
            return option
    return "files"


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g} MB"
