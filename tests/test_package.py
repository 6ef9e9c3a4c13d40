"""The distribution: what ``python -m build`` makes, and a site that installs only the wheel.

The sdist and wheel are built from a copy of the source tree (the build's own isolated
environment, as a release would), checked with ``twine check``, and the wheel is installed into
a fresh virtualenv. Its dependencies come from this interpreter's site-packages as a plain path,
which Python adds without running the ``.pth`` files there, so this checkout's editable install
is not seen: the ``mfa_app`` that a minimal generated site runs ``manage.py check`` with is the
wheel's.
"""

import email
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.package

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mfa_app"
# What the copy leaves out: environments, caches, earlier builds, test artefacts.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".tox",
    "*.egg-info",
    "build",
    "dist",
    "__pycache__",
    ".*_cache",
    "screenshots",
    "db.sqlite3",
    ".pgdata",
)


def run(*command, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source") / "mfa-app"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, source)
    return out


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    (path,) = dist.glob("*.whl")
    return path


@pytest.fixture(scope="module")
def wheel_files(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def packaged(folder: str, pattern: str = "*") -> set[str]:
    """The files of ``mfa_app/<folder>`` in the source tree, as wheel paths."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (PACKAGE / folder).rglob(pattern)
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_twine_check_passes(dist):
    assert sorted(p.suffix for p in dist.iterdir()) == [".gz", ".whl"]
    assert "PASSED" in run(sys.executable, "-m", "twine", "check", "--strict", *dist.iterdir())


def test_the_wheel_carries_templates_static_catalogs_and_types(wheel_files):
    assert "mfa_app/py.typed" in wheel_files
    assert packaged("templates") <= wheel_files
    assert packaged("static") <= wheel_files
    catalogs = packaged("locale", "*.po")
    assert catalogs <= wheel_files
    compiled = {path.removesuffix(".po") + ".mo" for path in catalogs}
    assert compiled <= wheel_files, f"not compiled: {sorted(compiled - wheel_files)[:3]}"
    assert not [name for name in wheel_files if name.startswith(("tests/", "example_project/"))]


def test_the_metadata_names_the_licence_and_the_project(wheel, wheel_files):
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in wheel_files if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_string(archive.read(metadata).decode())
        (licence,) = [n for n in wheel_files if n.endswith(".dist-info/licenses/LICENSE")]
        assert "BSD 3-Clause License" in archive.read(licence).decode()
    assert meta["License-Expression"] == "BSD-3-Clause"
    classifiers = meta.get_all("Classifier")
    for wanted in (
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Operating System :: OS Independent",
        "Topic :: Security",
        "Typing :: Typed",
    ):
        assert wanted in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the expression says it
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert set(urls) >= {"Homepage", "Documentation", "Changelog", "Issues"}
    assert all(u.startswith("https://github.com/mfa-app/mfa-app") for u in urls.values())
    # Links in the description that the package index could not follow.
    description = meta.get_payload()
    assert (
        "](docs/" not in description
        and "](https://github.com/mfa-app/mfa-app/blob/main/docs/" in description
    )


SETTINGS = """
    from pathlib import Path

    BASE_DIR = Path(__file__).resolve().parent
    SECRET_KEY = "a-minimal-site-that-only-runs-manage-py-check-0123456789"
    DEBUG = False
    ALLOWED_HOSTS = ["localhost"]
    INSTALLED_APPS = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
        "django_otp",
        "mfa_app",
    ]
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "mfa_app.middleware.MFAMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    ROOT_URLCONF = "urls"
    TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]
            },
        }
    ]
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 10},
        }
    }
    STATIC_URL = "/static/"
    USE_I18N = True
    USE_TZ = True
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    MFA_SMS_BACKEND = "mfa_app.senders.console.ConsoleBackend"
    MFA_ENCRYPTION_KEYS = ["axAWkFGBqN71sZRIZJxRZH7wwTCMFbFxVvlRc3JKYc8="]
"""
URLS = """
    from django.contrib import admin
    from django.urls import include, path

    urlpatterns = [path("admin/", admin.site.urls), path("mfa/", include("mfa_app.urls"))]
"""
MANAGE = """
    import os
    import sys

    from django.core.management import execute_from_command_line

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    execute_from_command_line(sys.argv)
"""


def test_a_site_with_only_the_wheel_installed_passes_manage_py_check(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site_packages = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    # Django and the other dependencies, from this interpreter (no download, no .pth run).
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel)

    site = tmp_path / "site"
    site.mkdir()
    for name, text in (("settings.py", SETTINGS), ("urls.py", URLS), ("manage.py", MANAGE)):
        (site / name).write_text(textwrap.dedent(text))
    where = run(python, "-c", "import mfa_app; print(mfa_app.__file__)", cwd=site)
    assert where.startswith(str(site_packages)), where
    checked = run(python, "manage.py", "check", cwd=site)
    # Not even a warning: the site is set up as the README says.
    assert "System check identified no issues" in checked, checked
    # The templates and catalogs come with it: a page renders, in a shipped language too.
    rendered = run(
        python,
        "-c",
        textwrap.dedent(
            """
            import django, os
            os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
            django.setup()
            from django.template.loader import render_to_string
            from django.utils import translation
            with translation.override("ar"):
                print(render_to_string("mfa_app/layout.html"))
            """
        ),
        cwd=site,
    )
    assert '<html lang="ar" dir="rtl">' in rendered
