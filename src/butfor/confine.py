"""Keep a case file to its own folders.

A case file is something people email each other, so the paths it names
(``[data] files``, ``groups_files``, ``store``) may only lead into the case
file's folder, the project folder (the current working directory) or a folder
the user names with ``--allow-path``. Anything else is refused before it is
opened, and the refusal names the key and the line but never shows what the
file holds: reading ``/etc/passwd`` to complain about its header would leak it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from butfor.case import Case
from butfor.case_lines import find_line
from butfor.errors import CaseError


@dataclass(frozen=True)
class CasePaths:
    """The case's paths, resolved against its folder and checked."""

    files: list[Path]
    groups_files: list[str]  # LABEL=PATH, as ingest_files takes them
    store: Path | None


def allowed_roots(case_file: Path, allow: Sequence[Path] = ()) -> list[Path]:
    roots = [case_file.resolve().parent, Path.cwd().resolve(), *(Path(a).resolve() for a in allow)]
    return list(dict.fromkeys(roots))


def confine_case_paths(case: Case, case_file: Path, text: str,
                       allow: Sequence[Path] = ()) -> CasePaths:
    """Resolve every path the case names; CaseError for one outside the allowed folders."""
    roots = allowed_roots(case_file, allow)
    base = case_file.parent
    here, cwd = case_file.resolve().parent, Path.cwd().resolve()
    named = (f"the case file's folder ({here})" if here == cwd else
             f"the case file's folder ({here}), the current folder ({cwd})")

    def check(value: str, loc: tuple) -> Path:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base / path
        resolved = path.resolve()  # follows symlinks: a link out of the folder is refused too
        if not any(resolved.is_relative_to(r) for r in roots):
            raise CaseError(
                case_file,
                f"'{'.'.join(str(p) for p in loc)}' names {value!r}, which is outside "
                f"{named} and every --allow-path folder, so it was not opened",
                "move the file into one of those folders, or pass '--allow-path FOLDER' if you "
                "trust this case file",
                line=find_line(text, loc), column=str(loc[-1] if isinstance(loc[-1], str)
                                                      else loc[-2]))
        return path

    files = [check(f, ("data", "files", i)) for i, f in enumerate(case.data.files)]
    groups = [f"{label}={check(p, ('data', 'groups_files', label))}"
              for label, p in case.data.groups_files.items()]
    store = check(case.data.store, ("data", "store")) if case.data.store else None
    return CasePaths(files=files, groups_files=groups, store=store)
