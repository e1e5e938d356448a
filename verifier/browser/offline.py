"""The service worker as served: ``static/sw.js`` with its cache version set to a digest of
every file it may cache (the app's static files, the shared modules, the page's template and
the catalogs). Any change to them is a new worker, so a phone that has the app offline fetches
the new files once and drops the old cache; nobody has to remember to bump a number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from .. import i18n, webui

HERE = Path(__file__).parent
#: The line of sw.js that carries its version (the default when served as a plain file).
VERSION_LINE = re.compile(rb'^const VERSION = "[^"\n]*";', re.MULTILINE)
FOLDERS = (HERE / "static", HERE / "templates", webui.STATIC, i18n.TRANSLATIONS)


def digest(folders: Iterable[Path]) -> str:
    """Hex SHA-256 (16 characters) over the names and bytes of every file in ``folders``
    (compiled catalogs and dot-files left out: they follow from the rest)."""
    hasher = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            if path.suffix in (".mo", ".pyc") or path.name.startswith("."):
                continue
            name = path.relative_to(folder).as_posix().encode()
            hasher.update(len(name).to_bytes(4, "big") + name)
            data = path.read_bytes()
            hasher.update(len(data).to_bytes(8, "big") + data)
    return hasher.hexdigest()[:16]


def worker_source(source: bytes, version: str) -> bytes:
    """``source`` (sw.js) with its ``VERSION`` set to ``version``. Raises ``ValueError`` when
    sw.js has no version line to set."""
    result, count = VERSION_LINE.subn(f'const VERSION = "{version}";'.encode(), source, count=1)
    if count != 1:
        raise ValueError("sw.js has no `const VERSION = \"…\";` line")
    return result


@cache
def served_worker() -> bytes:
    """sw.js as the blueprint serves it (computed once per process: files do not change
    under a running server)."""
    return worker_source((HERE / "static" / "sw.js").read_bytes(), digest(FOLDERS))
