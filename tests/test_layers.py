"""Layers that import-linter cannot see: the offline commands run without Scrapy, and bench/
(scripts, not a package) imports neither the tests nor the replica's internals."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, CrawlResult, crawl_env

# Runs one `govcrawl` command in-process, then writes which of the crawl-only packages it loaded.
PROBE = """
import json, sys
from crawler.cli import main
out, argv = sys.argv[1], sys.argv[2:]
code = main(argv)
loaded = sorted({name.split(".")[0] for name in sys.modules} & {"scrapy", "twisted"})
with open(out, "w") as fh:
    json.dump({"code": code, "loaded": loaded}, fh)
"""


def _run(args: list[str], tmp: Path) -> tuple[dict, subprocess.CompletedProcess[str]]:
    probe_out = tmp / "probe.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(probe_out), *args],
        cwd=tmp, env=crawl_env(None), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(probe_out.read_text()), proc


@pytest.fixture(scope="module")
def archive(crawl_round1: CrawlResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the round-1 crawl (index writes into it)."""
    copy = tmp_path_factory.mktemp("layers") / "archive"
    shutil.copytree(crawl_round1.archive, copy)
    return copy


def test_offline_commands_never_import_scrapy(archive: Path, tmp_path: Path) -> None:
    with (archive / "reports.jsonl").open(encoding="utf-8") as fh:
        reports = [json.loads(line) for line in fh]
    page = REPO / "tests" / "fixtures" / "pages" / "xam_gaj_2021_full.html"
    commands = {
        "export": ["export", "--archive", str(archive), "-o", str(tmp_path / "r.jsonl")],
        "export csv": ["export", "--archive", str(archive), "--format", "csv",
                       "-o", str(tmp_path / "r.csv")],
        "coverage": ["coverage", "--archive", str(archive), "-o", str(tmp_path / "c.html"),
                     "--csv", str(tmp_path / "c.csv")],
        "history": ["history", reports[0]["url"], "--archive", str(archive)],
        "index": ["index", "--archive", str(archive)],
        "parse": ["parse", str(page)],
    }  # fmt: skip
    outputs = {}
    for name, args in commands.items():
        probe, proc = _run(args, tmp_path)
        assert probe == {"code": 0, "loaded": []}, (name, probe)
        outputs[name] = proc.stdout
    # Each command did its work, not an early exit.
    assert len((tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()) == len(reports)
    assert (tmp_path / "r.csv").stat().st_size > 0 and (tmp_path / "c.csv").stat().st_size > 0
    assert "<table" in (tmp_path / "c.html").read_text(encoding="utf-8")
    history = [json.loads(line) for line in outputs["history"].splitlines()]
    assert history and history[-1]["digest"] == reports[0]["digest"]
    assert (archive / "indexes" / "index.cdxj").stat().st_size > 0
    assert json.loads(outputs["parse"])["tables"]["section2"]["licensing"] == 307111


def test_the_probe_sees_scrapy_when_a_command_loads_it(tmp_path: Path) -> None:
    """The probe itself works: a crawl (of nothing reachable) does load Scrapy."""
    probe_out = tmp_path / "probe.json"
    subprocess.run(
        [sys.executable, "-c", PROBE, str(probe_out), "crawl", "--archive",
         str(tmp_path / "a"), "--max-pages", "1", "--set", "RETRY_ENABLED=False",
         "--set", "ROBOTSTXT_OBEY=False", "http://127.0.0.1:9/"],
        cwd=tmp_path, env=crawl_env(None), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "scrapy" in json.loads(probe_out.read_text())["loaded"]


# Modules of the replica that scripts may use: starting it, its ground truth, its generators.
REPLICA_PUBLIC = {"replica.process", "replica.expected", "replica.tables", "replica.attachments"}
PENDING: set[tuple[str, str]] = set()


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "bench").glob("*.py")))
def test_bench_imports_neither_tests_nor_replica_internals(script: str) -> None:
    tree = ast.parse((REPO / "bench" / script).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    pending = {name for where, name in PENDING if where == script}
    bad = set()
    for name in imported:
        top, *rest = name.split(".")
        if top == "tests" and not any(p == name or p.startswith(name + ".") for p in pending):
            bad.add(name)
        if top == "replica" and rest and f"replica.{rest[0]}" not in REPLICA_PUBLIC:
            bad.add(name)
    assert not bad, f"{script} imports {sorted(bad)}"
