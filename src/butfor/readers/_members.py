"""Zips and folders of exports: each data file inside read by its own reader.

A platform often hands over a zip (YouTube Studio's advanced-mode export
holds ``Table data.csv``, ``Chart data.csv`` and ``Totals.csv``) and a user
may keep a folder of downloads. :func:`expand` turns every path given into
the data files to read, each with the name messages use
(``studio.zip:Totals.csv``), and says which files it left out and why: the
IngestReport accounts for every member.

Zip members are copied out under numbered names in a private temporary
folder, never under their own paths, so a member named ``../../x`` cannot
write outside it; total size and member count are bounded against zip bombs.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from butfor.errors import InputError

DATA_SUFFIXES = frozenset({".csv", ".json", ".jsonl", ".ndjson", ".parquet", ".zip"})
MAX_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 4 * 1024**3  # 4 GiB: larger than any export, smaller than a bomb
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Member:
    """One data file to read: where it is on disk and how messages name it."""

    path: Path
    label: str | None = None  # None: the path itself is the name
    container: str | None = None  # the zip or folder it came from

    @property
    def name(self) -> str:
        return self.label or str(self.path)


@dataclass
class Expansion:
    members: list[Member]
    skipped: list[str]  # one sentence per file left out


def is_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == _ZIP_MAGIC
    except OSError:
        return False


def expand(paths: list[Path], workdir: Path | None) -> Expansion:
    """The data files in ``paths``: plain files as given, zips and folders opened."""
    out = Expansion([], [])
    for path in paths:
        path = Path(path)
        if workdir is None:  # the caller found no zip or folder among them
            out.members.append(Member(path))
        elif path.is_dir():
            _folder(path, workdir, out)
        elif path.is_file() and is_zip(path):
            _zip(path, str(path), workdir, out, depth=0)
        else:
            out.members.append(Member(path))  # missing files fail when read, with a sentence
    return out


def _folder(folder: Path, workdir: Path, out: Expansion) -> None:
    files = sorted(p for p in folder.rglob("*")
                   if p.is_file() and not any(part.startswith(".")
                                              for part in p.relative_to(folder).parts))
    before = len(out.members)
    for p in files:
        if p.suffix.lower() not in DATA_SUFFIXES:
            out.skipped.append(f"{p}: left out, not a data file ({p.suffix or 'no suffix'})")
        elif is_zip(p):
            _zip(p, str(p), workdir, out, depth=0)
        else:
            out.members.append(Member(p, container=str(folder)))
    if len(out.members) == before:
        raise InputError(folder, "is a folder with no data files (CSV, JSON, Parquet or zip)",
                         "name the export files, or the folder that holds them")


def _zip(path: Path, shown: str, workdir: Path, out: Expansion, *, depth: int) -> None:
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise InputError(shown, f"is not a readable zip file ({err})",
                         "download or export it again") from None
    with archive:
        files = [i for i in infos if not i.is_dir()]
        if len(files) > MAX_MEMBERS or sum(i.file_size for i in files) > MAX_UNPACKED_BYTES:
            raise InputError(shown, f"unpacks to {len(files)} files and "
                             f"{sum(i.file_size for i in files):,} bytes, more than an export "
                             "holds", "unpack it yourself and name the data files")
        before = len(out.members)
        for info in sorted(files, key=lambda i: i.filename):
            name = info.filename
            label = f"{shown}:{name}"
            base = name.rsplit("/", 1)[-1]
            if name.startswith("__MACOSX/") or base.startswith("."):
                out.skipped.append(f"{label}: left out, a file the operating system added")
                continue
            suffix = Path(base).suffix.lower()
            if suffix not in DATA_SUFFIXES:
                out.skipped.append(f"{label}: left out, not a data file ({suffix or 'no suffix'})")
                continue
            target = workdir / f"m{len(list(workdir.iterdir()))}{suffix}"
            try:
                with archive.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
            # zipfile raises NotImplementedError for a compression method it does not support
            # (and RuntimeError for an encrypted member): the archive, not butfor, is the cause
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                    RuntimeError) as err:
                raise InputError(label, f"cannot be unpacked ({err})",
                                 "download or export the zip again") from None
            if suffix == ".zip" or is_zip(target):
                if depth >= 1:
                    raise InputError(label, "is a zip inside a zip inside a zip",
                                     "unpack the outer zips yourself")
                _zip(target, label, workdir, out, depth=depth + 1)
            else:
                out.members.append(Member(target, label=label, container=shown))
        if len(out.members) == before:
            raise InputError(shown, "is a zip with no data files (CSV, JSON or Parquet) in it",
                             "check it is the platform's export")
