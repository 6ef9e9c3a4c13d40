"""The shipped translations: complete, valid, compiled, and in step with the code's strings.

Every folder under ``mfa_app/locale`` is a shipped locale and must pass every test here; the
languages the project promises must be among them. ``make messages`` (the Makefile) is how the
catalogs are refreshed: these tests run its ``makemessages`` into a copy and fail when it would
change a catalog, so a string marked in the code cannot ship untranslated.
"""

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mfa_app"
LOCALE = PACKAGE / "locale"
REQUIRED = [
    "ar",
    "de",
    "es",
    "fr",
    "he",
    "it",
    "ja",
    "ko",
    "nl",
    "pl",
    "pt_BR",
    "tr",
    "uk",
    "zh_Hans",
]
SHIPPED = sorted(p.parent.parent.name for p in LOCALE.glob("*/LC_MESSAGES/django.po"))
# No "djangojs": the scripts have no strings of their own (test below).
DOMAINS = ("django",)


def makemessages_options() -> list[str]:
    """The options ``make messages`` gives makemessages (one line in the Makefile)."""
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^MAKEMESSAGES_OPTIONS\s*:?=\s*(.*)$", makefile, re.MULTILINE)
    assert match, "the Makefile defines MAKEMESSAGES_OPTIONS"
    return match.group(1).split()


def po_path(locale: str, domain: str = "django") -> Path:
    return LOCALE / locale / "LC_MESSAGES" / f"{domain}.po"


def nplurals(catalog: polib.POFile) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", catalog.metadata.get("Plural-Forms", ""))
    assert match, "the header has Plural-Forms with nplurals"
    return int(match.group(1))


def key(entry: polib.POEntry) -> tuple[str, str, str]:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def untranslated(catalog: polib.POFile) -> list[str]:
    """The msgids of ``catalog`` with an empty translation (any plural form of it)."""
    forms = nplurals(catalog)
    missing = []
    for entry in catalog:
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            strings = [entry.msgstr_plural.get(i, "") for i in range(forms)]
            if len(entry.msgstr_plural) != forms or not all(s.strip() for s in strings):
                missing.append(entry.msgid)
        elif not entry.msgstr.strip():
            missing.append(entry.msgid)
    return missing


def compiled(path: Path) -> dict:
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]


def msgfmt(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("msgfmt")
    assert tool, "GNU gettext's msgfmt is installed (Debian: apt-get install gettext)"
    return subprocess.run([tool, *args], capture_output=True, text=True, check=False)


def test_the_promised_languages_are_shipped():
    assert set(REQUIRED) <= set(SHIPPED), sorted(set(REQUIRED) - set(SHIPPED))


def test_javascript_has_no_catalog_to_ship():
    # The scripts show only messages the page rendered (docs/translations.md): a djangojs
    # catalog would be an empty promise. Should one appear, the drift test must cover it.
    assert not list(LOCALE.glob("*/LC_MESSAGES/djangojs.po"))
    for script in (PACKAGE / "static").rglob("*.js"):
        assert not re.search(r"\b(n?gettext|interpolate|pgettext)\s*\(", script.read_text())


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_string_is_translated_in_every_plural_form(locale):
    missing = untranslated(polib.pofile(str(po_path(locale))))
    assert not missing, f"{locale}: {len(missing)} untranslated, e.g. {missing[:5]}"


@pytest.mark.parametrize("locale", SHIPPED)
def test_nothing_is_fuzzy(locale):
    catalog = polib.pofile(str(po_path(locale)))
    assert not catalog.metadata_is_fuzzy, f"{locale}: the header is marked fuzzy"
    fuzzy = [e.msgid for e in catalog if "fuzzy" in e.flags and not e.obsolete]
    assert not fuzzy, f"{locale}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


@pytest.mark.parametrize("locale", SHIPPED)
def test_msgfmt_check_passes(locale):
    # --check: the header, plural forms, and every python-format placeholder kept.
    result = msgfmt("--check", "--output-file=/dev/null", str(po_path(locale)))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("locale", SHIPPED)
def test_the_committed_mo_is_the_compiled_po(locale, tmp_path):
    committed = po_path(locale).with_suffix(".mo")
    assert committed.is_file(), f"{committed.relative_to(ROOT)} is missing: run `make messages`"
    fresh = tmp_path / "django.mo"
    result = msgfmt("--check-format", f"--output-file={fresh}", str(po_path(locale)))
    assert result.returncode == 0, result.stderr
    assert compiled(committed) == compiled(fresh), (
        f"{committed.relative_to(ROOT)} is older than its .po: run `make messages`"
    )


@pytest.fixture(scope="module")
def remade(tmp_path_factory) -> Path:
    """A copy of mfa_app whose catalogs ``make messages``'s makemessages has just updated."""
    return remake_catalogs(tmp_path_factory.mktemp("makemessages"))


def remake_catalogs(folder: Path) -> Path:
    """Copy mfa_app into ``folder``, run ``make messages``'s makemessages there; its locale."""
    copy = folder / "mfa_app"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    assert shutil.which("xgettext"), "GNU gettext is installed (Debian: apt-get install gettext)"
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", *makemessages_options()],
        cwd=copy,
        # As `make messages` runs it: no settings, the strings of mfa_app alone.
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return copy / "locale"


@pytest.mark.parametrize("locale", SHIPPED)
@pytest.mark.parametrize("domain", DOMAINS)
def test_makemessages_would_change_nothing(locale, domain, remade):
    committed = polib.pofile(str(po_path(locale, domain)))
    fresh = polib.pofile(str(remade / locale / "LC_MESSAGES" / f"{domain}.po"))
    ours = {key(e) for e in committed if not e.obsolete}
    theirs = {key(e) for e in fresh if not e.obsolete}
    assert not theirs - ours, f"new strings, run `make messages`: {sorted(theirs - ours)[:5]}"
    assert not ours - theirs, f"strings gone from the code: {sorted(ours - theirs)[:5]}"
    # Apart from the references and the date makemessages ran, the file stays as it was.
    for entry in committed:
        twin = fresh.find(entry.msgid, msgctxt=entry.msgctxt or False)
        if twin is not None and not entry.obsolete:
            assert (entry.msgstr, entry.msgstr_plural) == (twin.msgstr, twin.msgstr_plural)
            assert set(entry.flags) == set(twin.flags), entry.msgid
    for header in set(committed.metadata) | set(fresh.metadata):
        if header != "POT-Creation-Date":
            assert committed.metadata.get(header) == fresh.metadata.get(header), header
