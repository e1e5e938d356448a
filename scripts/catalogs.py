"""The gettext catalogs: find every string people read, and keep the translations in step.

    python scripts/catalogs.py update     # extract; add new strings to each .po (make catalogs)
    python scripts/catalogs.py compile    # .po -> .mo (bootstrap does this at install)
    python scripts/catalogs.py check      # what is missing or untranslated (tests/test_i18n.py)
    python scripts/catalogs.py merge-driver BASE OURS THEIRS   # git merge driver for *.po

Each package has its own catalog (``issuer/translations``, ``verifier/translations``): a
checkpoint installs the verifier alone. Strings are marked with ``_()``, ``gettext``,
``lazy_gettext``/``_l``, ``ngettext`` and ``N_`` (marked here, translated where shown) in
Python, ``_()`` and ``{% trans %}`` in templates, and ``_()`` in scripts. English is the
source language: the Chinese catalog must translate every entry.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
#: Catalog folders are named as Babel names the locale (zh_CN is zh_Hans_CN).
LOCALES = ("zh_Hans_CN",)
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}
#: Where each package's strings are, by extraction method.
SOURCES = {
    "issuer": [("**/static/vendor/**", "ignore"), ("**.py", "python"),
               ("web/templates/**.html", "jinja2"), ("web/static/**.js", "javascript")],
    "verifier": [("**/static/vendor/**", "ignore"), ("**.py", "python"),
                 ("**/templates/**.html", "jinja2"),
                 ("**/static/**.js", "javascript")],
}
_OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.do", "trimmed": "true"}}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")
#: Catalog headers carry this date, so that an update changes only the entries.
_CREATED = datetime(2026, 12, 4, tzinfo=UTC)
#: Pages and scripts whose words are checked for strings not marked for translation.
SHOWN = {"issuer": ["web/templates/**/*.html", "web/static/holder/*.js",
                    "web/static/staff/*.js"],
         "verifier": ["kiosk/templates/*.html", "kiosk/static/*.js", "static/*.js",
                      "static/verifier/*.js", "static/checkpoint/*.js",
                      "browser/templates/**/*.html",
                      # the app's scripts; its service worker (sw.js) shows no one anything
                      *(f"browser/static/{name}.js" for name in
                        ("anchorqr", "app", "judge", "camera", "plain", "state", "sync"))]}
#: A script line with this comment shows no one its strings (selectors, headers, keys).
NOT_SHOWN = "i18n: not shown"
_WORDS = re.compile(r"[A-Za-z]{2,}")
#: Strings in scripts that are code, not words: names, selectors, paths, MIME types.
_CODE = re.compile(r"^[a-z0-9_.:/#=\[\]\"'*, ()@$%+-]*$|^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$"
                   r"|^[A-Z][A-Za-z]+Error$")
#: Attributes whose values people read (or hear).
_READ_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description",
                    "aria-roledescription", "label"}


def po_path(package: str, locale: str) -> Path:
    return ROOT / package / "translations" / locale / "LC_MESSAGES" / "messages.po"


def extract(package: str) -> Catalog:
    """Every marked string of ``package``, with where it is used."""
    template = Catalog(project="healthcode", version="1", charset="utf-8",
                       creation_date=_CREATED, revision_date=_CREATED, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / package, SOURCES[package], options_map=_OPTIONS, keywords=KEYWORDS,
            comment_tags=["TRANSLATORS:"], strip_comment_tags=True):
        template.add(message, None, [(f"{package}/{filename}", lineno)],
                     auto_comments=comments, context=context)
    return template


def _read(path: Path, locale: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, include_lineno=False,
                 ignore_obsolete=True)


def update() -> None:
    for package in SOURCES:
        template = extract(package)
        for locale in LOCALES:
            path = po_path(package, locale)
            catalog = _read(path, locale) if path.exists() else Catalog(
                locale=locale, project="healthcode", version="1", fuzzy=False,
                creation_date=_CREATED, revision_date=_CREATED)
            catalog.update(template, no_fuzzy_matching=True)
            _write(path, catalog)
            print(f"{path.relative_to(ROOT)}: {len(catalog)} entries")


def compile_all() -> None:
    sys.path.insert(0, str(ROOT))
    from verifier.i18n import compile_catalogs
    for package in SOURCES:
        written = compile_catalogs(ROOT / package / "translations")
        print(f"{package}: {written} catalog(s) compiled")


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in _PLACEHOLDER.findall(text)}


def problems(package: str) -> list[str]:
    """What is wrong with ``package``'s catalogs: strings in the code that no catalog has,
    entries left untranslated or fuzzy, and translations whose placeholders differ."""
    found = []
    used = {(m.id, m.context) for m in extract(package) if m.id}
    for locale in LOCALES:
        path = po_path(package, locale)
        if not path.exists():
            return [f"{path.relative_to(ROOT)} is missing: run make catalogs"]
        catalog = _read(path, locale)
        # Plural ids are tuples, and pgettext's have a context: sort on the text.
        for msgid, context in sorted(used, key=lambda u: (str(u[0]), u[1] or "")):
            key = msgid if isinstance(msgid, str) else msgid[0]
            message = catalog.get(msgid, context=context)
            if message is None:
                found.append(f"{locale}: not in the catalog (run make catalogs): {key!r}")
                continue
            strings = message.string if isinstance(message.string, tuple | list) \
                else (message.string,)
            if message.fuzzy or not all(strings):
                found.append(f"{locale}: untranslated{' (fuzzy)' if message.fuzzy else ''}: "
                             f"{key!r}")
                continue
            for text in strings:
                if _placeholders(text) != _placeholders(key):
                    found.append(f"{locale}: placeholders differ in {key!r}: {text!r}")
    return found


class _Text(HTMLParser):
    """The words a template shows, its Jinja parts taken out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shown: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        values = dict(attrs)
        for name, value in attrs:
            if value and (name in _READ_ATTRIBUTES or (name == "value" and values.get("type")
                                                        in ("submit", "button", "reset"))
                          or (name == "content" and values.get("name") == "description")):
                self.shown.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.shown.append(data.strip())


def _template_words(source: str) -> list[str]:
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    source = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", "", source, flags=re.S)
    source = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", source, flags=re.S)
    parser = _Text()
    parser.feed(source)
    return [text for text in parser.shown if _WORDS.search(text)]


_REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^") | {""}


def _script_strings(source: str) -> list[tuple[int, str, bool]]:
    """``(line, text, marked)`` of each string literal in a script; ``marked``: the first
    argument of ``_()``. Comments and regular-expression literals are skipped."""
    found, i, n, last = [], 0, len(source), ""
    while i < n:
        ch = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i) % (n + 1) if "\n" in source[i:] else n
            continue
        if source.startswith("/*", i):
            i = source.index("*/", i) + 2
            continue
        if ch == "/" and last in _REGEX_BEFORE:
            i += 1
            in_class = False
            while i < n and (source[i] != "/" or in_class):
                if source[i] == "\\":
                    i += 1
                elif source[i] == "[":
                    in_class = True
                elif source[i] == "]":
                    in_class = False
                i += 1
            i += 1
            last = ")"
            continue
        if ch in "'\"`":
            start = i
            i += 1
            while i < n and source[i] != ch:
                i += 2 if source[i] == "\\" else 1
            text = source[start + 1:i]
            if ch == "`":
                text = re.sub(r"\$\{[^}]*\}", " ", text)
            before = source[:start].rstrip()
            marked = bool(re.search(r"(^|[^\w.$])_\($", before))
            found.append((source.count("\n", 0, start) + 1, text, marked))
            i += 1
            last = "x"
            continue
        if not ch.isspace():
            last = ch if not (ch.isalnum() or ch in "_$") else "x"
            if ch.isalnum() or ch in "_$":
                word = re.match(r"[\w$]+", source[i:]).group()
                # After a keyword such as `return`, a slash starts a regular expression.
                last = "" if word in ("return", "typeof", "case", "in", "of") else "x"
                i += len(word)
                continue
        i += 1
    return found


def unmarked(package: str) -> list[str]:
    """Words people read in ``package``'s pages and scripts that are not marked for
    translation."""
    found = []
    root = ROOT / package
    for pattern in SHOWN[package]:
        for path in sorted(root.glob(pattern)):
            name = path.relative_to(ROOT)
            source = path.read_text(encoding="utf-8")
            if path.suffix == ".html":
                found += [f"{name}: {text!r}" for text in _template_words(source)]
                continue
            lines = source.splitlines()
            for line, text, marked in _script_strings(source):
                if marked or not _WORDS.search(text) or _CODE.match(text) \
                        or NOT_SHOWN in lines[line - 1]:
                    continue
                found.append(f"{name}:{line}: {text!r}")
    return found


def merge_driver(base: str, ours: str, theirs: str) -> int:
    """Union of two branches' catalogs (git: merge.pocatalog.driver); each entry's
    translation from ours unless only theirs has one."""
    merged = _read(Path(ours), LOCALES[0])
    for message in _read(Path(theirs), LOCALES[0]):
        if not message.id:
            continue
        mine = merged.get(message.id, context=message.context)
        if mine is None:
            merged[message.id] = message
        elif not mine.string or mine.fuzzy:
            mine.string, mine.flags = message.string, message.flags
        if mine is not None:
            mine.locations = sorted(set(mine.locations) | set(message.locations))
    _write(Path(ours), merged)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update()
    elif argv[:1] == ["compile"]:
        compile_all()
    elif argv[:1] == ["check"]:
        issues = [f"{p}: {line}" for p in SOURCES for line in problems(p) + unmarked(p)]
        print("\n".join(issues) or "catalogs complete")
        return 1 if issues else 0
    elif argv[:1] == ["merge-driver"] and len(argv) == 4:
        return merge_driver(*argv[1:])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
