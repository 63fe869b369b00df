"""The wheel: what it ships (the product, its profiles and schemas; never the replica or the
tests), that it runs once installed, and that the offline demo needs a source checkout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from replica import expected
from tests.conftest import REPO, crawl_env

# Built from a copy of the tree: setuptools writes build/ and *.egg-info next to the sources.
_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


def _not_sources(directory: str, names: list[str]) -> set[str]:
    """Build output, caches and the default archive (only the top-level one: govcrawl/archive
    is a package)."""
    skip = set(_NOT_SOURCES(directory, names))
    return skip | ({"archive"} if Path(directory) == REPO else set())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel` of this checkout, offline: no index, the venv's own setuptools."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=_not_sources)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", str(tmp / "dist"), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (built,) = (tmp / "dist").glob("govcrawl-*.whl")
    return built


def test_wheel_holds_the_product_and_its_data_not_the_replica(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"crawler", "pipelines", "govcrawl"}
    for package in ("crawler", "pipelines", "govcrawl"):
        tree = {p.relative_to(REPO).as_posix() for p in (REPO / package).rglob("*.py")}
        assert tree <= set(names), sorted(tree - set(names))
    data = {
        *(p.relative_to(REPO).as_posix() for p in (REPO / "crawler" / "sites").glob("*.toml")),
        *(p.relative_to(REPO).as_posix() for p in (REPO / "govcrawl" / "schema").glob("*.json")),
    }
    assert len(data) >= 4 and data <= set(names), sorted(data - set(names))
    assert not [n for n in names if n.startswith(("replica/", "tests/", "bench/"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "govcrawl = crawler.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def _outside_checkout_env() -> dict[str, str]:
    env = crawl_env(None)
    env.pop("PYTHONPATH")
    return env


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel; the pinned dependencies come from this venv's
    site-packages, added as a plain path (so its editable install of the checkout stays off)."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # Without PYTHONPATH: pip must not take the checkout (or its egg-info) for an installed copy.
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)],
        env=_outside_checkout_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return venv


def test_installed_wheel_runs_from_its_own_files(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json, crawler, govcrawl\n"
        "from crawler.sites.profiles import load_profiles\n"
        "from govcrawl.extract.tables import tables_schema\n"
        "generic, sites = load_profiles()\n"
        "print(json.dumps([crawler.__file__, govcrawl.__file__, len(sites),"
        " tables_schema()['type']]))\n"
    )
    proc = subprocess.run(
        [str(installed / "bin" / "python"), "-c", probe],
        cwd=tmp_path, env=_outside_checkout_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    crawler_file, govcrawl_file, n_sites, schema_type = json.loads(proc.stdout)
    assert crawler_file.startswith(str(installed)) and govcrawl_file.startswith(str(installed))
    assert n_sites == len(list((REPO / "crawler" / "sites").glob("*.toml"))) - 1  # + generic
    assert schema_type == "object"
    page = REPO / "tests" / "fixtures" / "pages" / "xam_gaj_2021_full.html"
    parsed = subprocess.run(
        [str(installed / "bin" / "govcrawl"), "parse", str(page)],
        cwd=tmp_path, env=_outside_checkout_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert parsed.returncode == 0, parsed.stderr
    assert json.loads(parsed.stdout)["tables"]["section2"]["licensing"] == 307111


def test_demo_from_an_installed_wheel_says_it_needs_a_checkout(
    installed: Path, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [str(installed / "bin" / "govcrawl"), "demo", "--archive", str(tmp_path / "archive")],
        cwd=tmp_path, env=_outside_checkout_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("govcrawl: ")
    assert "source checkout" in proc.stderr
    assert not (tmp_path / "archive").exists()


def test_demo_from_a_checkout_crawls_the_replica(tmp_path: Path) -> None:
    """README's main command offline: `govcrawl demo` starts the checkout's replica itself,
    from any working directory."""
    archive = tmp_path / "archive"
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "demo", "--archive", str(archive)],
        cwd=tmp_path, env=crawl_env(None), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    want = {r["url"] for r in expected.expected_reports(1)}
    with (archive / "reports.jsonl").open(encoding="utf-8") as fh:
        got = {json.loads(line)["url"] for line in fh}
    assert got == want
    assert proc.stdout.splitlines()[-1] == (
        f"govcrawl: {len(want)} reports in {archive / 'reports.jsonl'}"
    )
