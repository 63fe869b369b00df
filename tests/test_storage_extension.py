"""StorageExtension inside a real Scrapy crawl (a subprocess: the reactor cannot restart)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.extensions.storage import StorageExtension, StoreConfig
from govcrawl.store import read_manifest
from govcrawl.store.stores import LocalStore, MiB, S3Store
from tests.s3server import Bucket, aws_env, free_port, s3_bucket, s3_server  # noqa: F401

REPO = Path(__file__).resolve().parent.parent

# A quiet spider and a stand-in for the WARC stage that seals three files and announces them.
SCRIPT = r"""
import json, sys
from pathlib import Path

import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.signals import warc_sealed

archive, out, store, endpoint = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]


class SealingStandIn:
    @classmethod
    def from_crawler(cls, crawler):
        ext = cls()
        ext.crawler = crawler
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        return ext

    def opened(self, spider):
        (archive / "warc").mkdir(parents=True, exist_ok=True)
        (archive / "warc" / "left-from-last-run.warc.gz").write_bytes(b"old" * 100)
        for i in range(3):
            path = archive / "warc" / f"govcrawl-2026112804300000000{i}-0000{i}-test.warc.gz"
            path.write_bytes(bytes([65 + i]) * (1000 + i))
            self.crawler.signals.send_catch_log(warc_sealed, path=path)
        writing = "govcrawl-20261128043000000009-00009-test.warc.gz.open"
        (archive / "warc" / writing).write_bytes(b"x")


class Quiet(scrapy.Spider):
    name = "quiet"

    async def start(self):
        return
        yield


# The project's defaults, with only the storage extension and a stand-in that seals files.
settings = Settings()
settings.setmodule("crawler.settings")
settings.update({
    "EXTENSIONS": {
        "__main__.SealingStandIn": 100,
        "crawler.extensions.storage.StorageExtension": 200,
    },
    "DOWNLOADER_MIDDLEWARES": {},
    "ITEM_PIPELINES": {},
    "GOVCRAWL_ARCHIVE_DIR": str(archive),
    "GOVCRAWL_STORE": store,
    "GOVCRAWL_STORE_ENDPOINT_URL": endpoint,
    "GOVCRAWL_STORE_MAX_ATTEMPTS": 1,
    "LOG_LEVEL": "INFO",
})
process = CrawlerProcess(settings)
crawler = process.create_crawler(Quiet)
process.crawl(crawler)
process.start()
stats = crawler.stats.get_stats()
out.write_text(json.dumps({k: v for k, v in stats.items() if k.startswith("govcrawl/store/")}))
"""


def run_crawl(tmp_path: Path, store: str, endpoint: str) -> tuple[Path, dict, str]:
    script = tmp_path / "crawl.py"
    script.write_text(SCRIPT)
    archive, out = tmp_path / "archive", tmp_path / "stats.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, str(script), str(archive), str(out), store, endpoint],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return archive, json.loads(out.read_text()), proc.stderr


def test_crawl_ships_sealed_warcs_and_counts_them(
    tmp_path: Path,
    s3_bucket: Bucket,  # noqa: F811
) -> None:
    archive, stats, log = run_crawl(tmp_path, s3_bucket.uri("run"), s3_bucket.server.url)

    names = [f"govcrawl-2026112804300000000{i}-0000{i}-test.warc.gz" for i in range(3)]
    assert stats == {
        "govcrawl/store/uploaded": 4,  # three sealed now, one left from an earlier run
        "govcrawl/store/failed": 0,
        "govcrawl/store/bytes": 1000 + 1001 + 1002 + 300,
    }
    keys = s3_bucket.server.keys(s3_bucket.name)
    assert keys == sorted(
        [f"run/warc/{n}" for n in names] + ["run/warc/left-from-last-run.warc.gz"]
    )
    for i, name in enumerate(names):
        assert not (archive / "warc" / name).exists()
        data = s3_bucket.server.read(s3_bucket.name, f"run/warc/{name}")
        assert data == bytes([65 + i]) * (1000 + i)
    assert [p.name for p in (archive / "warc").iterdir()] == [
        "govcrawl-20261128043000000009-00009-test.warc.gz.open"
    ], "only the file still being written stays"
    objects = read_manifest_objects(archive)
    assert sorted(objects) == sorted(k.removeprefix("run/") for k in keys)
    assert "is failing" not in log


def test_crawl_with_a_dead_store_keeps_everything_and_warns_once(
    tmp_path: Path,
    aws_env: None,  # noqa: F811
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    archive, stats, log = run_crawl(tmp_path, "s3://nowhere/run", dead)

    assert stats["govcrawl/store/uploaded"] == 0
    assert stats["govcrawl/store/failed"] >= 4
    assert len(list((archive / "warc").glob("*.warc.gz"))) == 4
    assert read_manifest_objects(archive) == {}
    assert log.count("is failing") == 1, log[-3000:]


def read_manifest_objects(archive: Path) -> dict:
    from govcrawl.archive.layout import ArchiveLayout

    return read_manifest(ArchiveLayout(archive))["objects"]


# -- configuration -----------------------------------------------------------------------------


def project_settings(values: dict | None = None) -> Settings:
    """The project's defaults (crawler/settings.py) with ``values`` on top."""
    settings = Settings()
    settings.setmodule("crawler.settings")
    settings.update(values or {})
    return settings


def test_store_config_reads_settings_and_rejects_bad_sizes(
    monkeypatch: pytest.MonkeyPatch,
    aws_env: None,  # noqa: F811
) -> None:
    config = StoreConfig.from_settings(
        project_settings(
            {
                "GOVCRAWL_STORE": "s3://b/p",
                "GOVCRAWL_STORE_ENDPOINT_URL": "http://127.0.0.1:9",
                "GOVCRAWL_STORE_MULTIPART_THRESHOLD": str(20 * MiB),
                "GOVCRAWL_STORE_PART_SIZE": 6 * MiB,
            }
        )
    )
    assert (config.uri, config.endpoint_url) == ("s3://b/p", "http://127.0.0.1:9")
    assert (config.multipart_threshold, config.part_size) == (20 * MiB, 6 * MiB)
    store = config.open()
    assert isinstance(store, S3Store)
    assert (store.multipart_threshold, store.part_size) == (20 * MiB, 6 * MiB)
    assert store.endpoint_url == "http://127.0.0.1:9"

    monkeypatch.setenv("GOVCRAWL_STORE", "s3://from-env/x")
    assert StoreConfig.from_settings(project_settings()).uri == "s3://from-env/x"
    with pytest.raises(ValueError, match="PART_SIZE"):
        StoreConfig.from_settings(project_settings({"GOVCRAWL_STORE_PART_SIZE": 1024}))


@pytest.mark.parametrize("store", [None, "/tmp/somewhere", "file:///tmp/somewhere"])
def test_extension_is_off_without_a_remote_store(
    store: str | None,
    tmp_path: Path,
    aws_env: None,  # noqa: F811
) -> None:
    settings = {"GOVCRAWL_ARCHIVE_DIR": str(tmp_path / "archive")}
    if store:
        settings["GOVCRAWL_STORE"] = store
    with pytest.raises(NotConfigured):
        ours = {k: v for k, v in project_settings(settings).items() if k.startswith("GOVCRAWL_")}
        crawler = get_crawler(settings_dict=ours)
        StorageExtension.from_crawler(crawler)
    assert isinstance(StoreConfig(uri=store).open(), LocalStore)
