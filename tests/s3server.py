"""moto's standalone S3 server in a subprocess, for tests that talk S3 over real HTTP.

Fixtures (import them into a test module, e.g.
``from tests.s3server import aws_env, s3_bucket, s3_server  # noqa: F401``):

- ``s3_server`` (session): one shared server; tests must not stop it.
- ``own_s3_server`` (function): a private server a test may ``stop()`` and ``restart()`` on the
  same port, to play a store outage.
- ``aws_env`` (function): dummy credentials and region in the environment, no endpoint variables,
  no ~/.aws files, so boto3 finds nothing of the developer's own.
- ``s3_bucket`` (function): a fresh bucket on ``s3_server``.

moto keeps its state in memory and its recorder cannot replay multipart uploads (upload ids
differ on replay), so ``stop(keep_data=True)`` copies every object to disk first and the next
``start()`` puts them back: a real outage does not lose stored objects either.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Test-only values; moto accepts any credentials.
DUMMY_ACCESS_KEY_ID = "testing-access-key"
DUMMY_SECRET_ACCESS_KEY = "testing-secret-key"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._snapshot: dict[str, dict[str, Path]] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        if self.running:
            return
        self.starts += 1
        log = (self.workdir / f"moto-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited ({self.process.returncode}): {self._log()}")
            if time.monotonic() > deadline:
                self.stop(keep_data=False)
                raise RuntimeError(f"moto server did not answer on {self.url}: {self._log()}")
            time.sleep(0.05)
        if self._snapshot is not None:
            self._restore()

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(f"{self.url}/moto-api/", timeout=0.5).close()
        except urllib.error.HTTPError:
            return True  # any HTTP answer means it is serving
        except OSError:
            return False
        return True

    def _log(self) -> str:
        return (self.workdir / f"moto-{self.starts}.log").read_text(errors="replace")[-2000:]

    def stop(self, *, keep_data: bool = True) -> None:
        if not self.running:
            return
        if keep_data:
            self._take_snapshot()
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port, keeping the stored objects."""
        self.stop(keep_data=True)
        self.start()

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=DUMMY_ACCESS_KEY_ID,
            aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
        )

    def create_bucket(self, name: str | None = None) -> str:
        name = name or f"govcrawl-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def read(self, bucket: str, key: str) -> bytes:
        body: bytes = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", ()))

    def _take_snapshot(self) -> None:
        client = self.client()
        folder = self.workdir / f"snapshot-{self.starts}"
        snapshot: dict[str, dict[str, Path]] = {}
        for i, bucket in enumerate(b["Name"] for b in client.list_buckets()["Buckets"]):
            snapshot[bucket] = {}
            for j, key in enumerate(self.keys(bucket)):
                path = folder / str(i) / str(j)
                path.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(bucket, key, str(path))
                snapshot[bucket][key] = path
        self._snapshot = snapshot

    def _restore(self) -> None:
        client = self.client()
        assert self._snapshot is not None
        for bucket, objects in self._snapshot.items():
            client.create_bucket(Bucket=bucket)
            for key, path in objects.items():
                client.upload_file(
                    str(path), bucket, key, ExtraArgs={"ChecksumAlgorithm": "SHA256"}
                )
        self._snapshot = None


@dataclass
class Bucket:
    server: MotoServer
    name: str

    def uri(self, prefix: str = "archive") -> str:
        return f"s3://{self.name}/{prefix}" if prefix else f"s3://{self.name}"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "GOVCRAWL_STORE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.stop(keep_data=False)


@pytest.fixture
def own_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto-own"))
    server.start()
    yield server
    server.stop(keep_data=False)


@pytest.fixture
def s3_bucket(s3_server: MotoServer, aws_env: None) -> Bucket:
    return Bucket(s3_server, s3_server.create_bucket())
