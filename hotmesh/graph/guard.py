"""Where a manifest may read from: the ``$ref`` root, regular files only, a size limit.

A manifest can come from someone else (an upload, an API, a tenant), so a
``$ref`` is a file read on their behalf. It may name only a regular file
inside the reference root, reached without leaving the root through ``..``
or a symlink; URLs, absolute paths and special files (``/proc``, devices,
FIFOs, sockets) are refused before anything is opened.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

# A scheme such as ``http:``, ``file:`` or ``data:`` (one letter would be a
# Windows drive, which is an absolute path and refused as such).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
# Kernel and device trees: their "regular" files can be endless or secret.
_SPECIAL_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))


@dataclass(frozen=True)
class ManifestLimits:
    """How much loading a manifest may read and expand (see docs/reference/manifest.md).

    The defaults are far above any real manifest (the largest upstream
    manifest has a few thousand nodes) and still stop a hostile one in well
    under a second.
    """

    max_file_bytes: int = 4 * 1024 * 1024
    """Largest manifest file, top or referenced, in bytes."""
    max_nodes: int = 50_000
    """Most values (mappings, lists and scalars) after YAML aliases and ``$ref``s expand."""
    max_scalar_chars: int = 8 * 1024 * 1024
    """Most characters in all scalars together after expansion."""
    max_branches: int = 1_000
    """Most transitions out of one activity (checked when the manifest compiles):
    a step runs its children's first legs, so a fan-out of thousands held the
    event loop for minutes."""


DEFAULT_LIMITS = ManifestLimits()


class Refused(Exception):
    """A file read that the rules above forbid; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def ref_target(rel: str, base: Path, root: Path | None) -> Path:
    """The resolved file ``rel`` names from folder ``base``, if the root allows it.

    ``root`` None means the manifest came as text without ``base_dir=``: it
    may reference nothing outside itself.
    """
    if _URL.match(rel):
        raise Refused("URLs are not followed; only files inside the reference root")
    if os.path.isabs(rel) or rel.startswith("~"):
        raise Refused("an absolute path; references are relative to the manifest")
    if root is None:
        raise Refused(
            "a manifest given as text has no file references; "
            "pass base_dir= (and ref_root= to widen it) to allow them"
        )
    written = Path(os.path.normpath(base / rel))
    if not _inside(written, root):
        raise Refused(
            f"it leaves the reference root {root} (use ref_root= to widen it)"
        )
    target = written.resolve()
    if not _inside(target, root):
        raise Refused(f"a symlink leads out of the reference root {root} (to {target})")
    return target


def read_text(path: Path, limits: ManifestLimits) -> str:
    """Read a manifest file: a regular file of at most ``max_file_bytes``.

    The kind of file is checked with ``stat`` before it is opened (opening a
    FIFO blocks until a writer comes), and again on the open descriptor, so a
    file swapped in between is refused too.
    """
    resolved = path.resolve()
    if any(_inside(resolved, tree) for tree in _SPECIAL_TREES):
        raise Refused(
            f"{resolved} is a special file (/proc, /sys and /dev are never read)"
        )
    try:
        info = os.stat(resolved)
    except OSError as exc:
        raise Refused(exc.strerror or str(exc)) from None
    _check_kind(info, limits)
    try:
        fd = os.open(
            resolved, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        )
    except OSError as exc:
        raise Refused(exc.strerror or str(exc)) from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise Refused("the file changed while it was being opened")
        _check_kind(opened, limits)
        data = handle.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        raise Refused(_too_big(limits))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _check_kind(info: os.stat_result, limits: ManifestLimits) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise Refused("a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "a special file"
        )
        raise Refused(f"{kind}, not a regular file")
    if info.st_size > limits.max_file_bytes:
        raise Refused(_too_big(limits))


def _too_big(limits: ManifestLimits) -> str:
    return (
        f"larger than {limits.max_file_bytes:,} bytes (ManifestLimits.max_file_bytes)"
    )
