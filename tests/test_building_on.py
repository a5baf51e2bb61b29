"""An application outside this repository builds on quartapp: pip install from a checkout, its
own blueprint, its own tests signed in through quartapp's pytest plugin."""

import os
import re
import shutil
import site
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from .serving import ROOT

# What docs/building-on.md shows, block by block: each fenced block whose first line is a
# comment naming a file of the project.
DOCUMENTED = ("pyproject.toml", "hello/__init__.py", "tests/test_hello.py")

# Beside it, what the page describes in words: a layout of the project's own, and a check that
# the tests ran against the installed copy.
EXTRA = {
    "hello/templates/base.html": """
        {% extends "quartapp/base.html" %}
        {% block site_name %}Hello{% endblock %}
    """,
    "tests/test_installed.py": """
        import quartapp


        def test_quartapp_is_the_installed_copy():
            assert "site-packages" in quartapp.__file__


        async def test_quartapp_pages_wear_the_projects_layout(client):
            page = await (await client.get("/signin")).get_data(as_text=True)
            assert "<title>Sign in · Hello</title>" in page
    """,
}


def documented_project() -> dict[str, str]:
    """The files of the documented example project, as docs/building-on.md shows them."""
    page = (ROOT / "docs" / "building-on.md").read_text()
    blocks = re.findall(r"^```[a-z]*\n# (\S+)\n(.*?)^```", page, re.MULTILINE | re.DOTALL)
    files = {name: text for name, text in blocks if name in DOCUMENTED}
    assert set(files) == set(DOCUMENTED), f"docs/building-on.md shows {sorted(files)} of {DOCUMENTED}"
    return files | EXTRA


# A sign-up with an address through the installed copy's own pages, its mail sent by SMTP.
SIGN_UP = """
import asyncio

import quartapp
from quartapp.testing import submit


async def main():
    app = quartapp.create_app()
    async with app.test_app():  # its shutdown waits for the mail being sent
        form = {"username": "alice", "password": "correct horse battery staple", "email": "alice@example.org"}
        response = await submit(app.test_client(), "/signup", form | {"confirm": form["password"]})
        assert response.status_code == 303, response.status_code


asyncio.run(main())
"""


# What a checkout holds that is not the project: never copied into the one installed.
LOCAL = (".git", ".venv", "build", "*.egg-info", "__pycache__", "instance", "test-artifacts", "results")


def pip(venv: Path, *args: str | Path) -> None:
    command = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def in_project(venv: Path, project: Path, *command: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run the venv's python in project; the environment keeps QUARTAPP_TEST_DATABASE_URL only."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("QUARTAPP_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    if "QUARTAPP_TEST_DATABASE_URL" in os.environ:
        env["QUARTAPP_TEST_DATABASE_URL"] = os.environ["QUARTAPP_TEST_DATABASE_URL"]
    env |= settings
    return subprocess.run(
        [venv / "bin" / "python", *command], cwd=project, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv with quartapp installed from this checkout (a built wheel, not a link to it).

    Its dependencies come from this test run's environment through a .pth line, so the test
    needs no downloads beyond the build backend; quartapp itself must be the installed copy.
    """
    venv = tmp_path_factory.mktemp("outside") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    (site_packages(venv) / "dependencies.pth").write_text("".join(f"{path}\n" for path in site.getsitepackages()))
    # From a copy: building in place would leave build/ in the checkout, and a stale build/ would be installed.
    checkout = shutil.copytree(ROOT, venv.parent / "quartapp", ignore=shutil.ignore_patterns(*LOCAL))
    pip(venv, "--no-deps", checkout)
    return venv


def site_packages(venv: Path) -> Path:
    [packages] = list((venv / "lib").glob("python3*/site-packages"))
    return packages


def write_project(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    return folder


def test_the_installed_copy_holds_every_file_of_the_package(venv):
    # Templates of every kind (mails are .txt), static files, migrations: left out of the wheel,
    # a file fails only when a page or a mail needs it.
    installed = site_packages(venv) / "quartapp"

    def files(root: Path) -> set[str]:
        return {
            str(path.relative_to(root))
            for path in root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        }

    assert files(installed) == files(ROOT / "quartapp")


def test_the_installed_copy_mails_a_verification_link(venv, tmp_path, mailbox):
    settings = {"QUARTAPP_INSTANCE_PATH": str(tmp_path / "instance"), "QUARTAPP_SMTP_URL": mailbox.url,
                "QUARTAPP_BASE_URL": "http://localhost:8000"}  # fmt: skip
    result = in_project(venv, tmp_path, "-m", "quart", "--app", "quartapp", "migrate", **settings)
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "sign_up.py").write_text(SIGN_UP)
    result = in_project(venv, tmp_path, "sign_up.py", **settings)
    assert result.returncode == 0, result.stdout + result.stderr
    [received] = mailbox.wait_blocking(1)
    assert received.recipients == ["alice@example.org"]
    assert received.message["Subject"] == "Verify your email address"
    assert received.link.startswith("http://localhost:8000/verify/")


def test_an_instance_folder_inside_the_virtualenv_is_warned_about(venv, tmp_path):
    result = in_project(venv, tmp_path, "-m", "quart", "--app", "quartapp", "migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is inside the virtualenv: recreating it deletes every account" in result.stderr
    assert f"{venv.resolve()}/var/quartapp-instance/quartapp.sqlite3: up to date" in result.stdout
    elsewhere = in_project(venv, tmp_path, "-m", "quart", "--app", "quartapp", "migrate",
                           QUARTAPP_INSTANCE_PATH=str(tmp_path / "instance"))  # fmt: skip
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "virtualenv" not in elsewhere.stderr


def test_the_documented_project_installs_and_passes_its_tests(venv, tmp_path):
    project = write_project(tmp_path / "hello", documented_project())
    pip(venv, "--no-deps", project)
    result = in_project(venv, project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_notes_example_passes_its_tests_and_migrates_its_table(venv, tmp_path):
    project = tmp_path / "notes"
    shutil.copytree(ROOT / "examples" / "notes", project, ignore=shutil.ignore_patterns(*LOCAL))
    pip(venv, "--no-deps", project)
    result = in_project(venv, project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout

    # `quart --app notes migrate`: quartapp's tables and the app's, one alembic history.
    instance = tmp_path / "instance"
    result = in_project(venv, project, "-m", "quart", "--app", "notes", "migrate", QUARTAPP_INSTANCE_PATH=str(instance))
    assert result.returncode == 0, result.stdout + result.stderr
    with closing(sqlite3.connect(instance / "quartapp.sqlite3")) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        heads = {version for (version,) in db.execute("SELECT version_num FROM alembic_version")}
    assert {"users", "auth_sessions", "notes", "alembic_version"} <= tables
    assert heads == {"notes_0001", newest_quartapp_revision()}


def newest_quartapp_revision() -> str:
    return max(
        path.name.partition("_")[0] for path in (ROOT / "quartapp" / "db" / "migrations" / "versions").glob("0*.py")
    )
