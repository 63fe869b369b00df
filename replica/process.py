"""The replica portal in a child process: what tests, benchmarks and the demo start.

    with ReplicaProcess(round=1, log_path=tmp / "requests.jsonl") as replica:
        env["http_proxy"] = replica.url
        ...
        replica.requests()  # the request log, one dict per request

Runs `python -m replica.server --port 0` from the checkout and waits for its `READY <url>`
line. A child process, not a thread: a crawl in the same process would share one GIL with the
server, and a Twisted reactor cannot restart, so crawls run as processes anyway. Imports only the
standard library, so starting the portal costs its user nothing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parent.parent


class ReplicaProcess:
    """`python -m replica.server` as a child process; `url` is its proxy address."""

    def __init__(
        self,
        round: int = 1,
        scale: int = 1,
        log_path: str | Path | None = None,
        python: str = sys.executable,
        latency: float = 0.0,
    ) -> None:
        self.latency = latency
        self.round = round
        self.scale = scale
        self.log_path = Path(log_path) if log_path is not None else None
        self.python = python
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        """Start the server; returns its URL (`http://127.0.0.1:<port>`).

        Raises RuntimeError when the server exits before it is ready.
        """
        cmd = [self.python, "-m", "replica.server", "--port", "0"]
        cmd += ["--round", str(self.round), "--scale", str(self.scale)]
        if self.latency:
            cmd += ["--latency", str(self.latency)]
        if self.log_path is not None:
            cmd += ["--log", str(self.log_path)]
        self.process = subprocess.Popen(cmd, cwd=CHECKOUT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"the replica portal did not start: {line!r}")
        self.url = line.split(" ", 1)[1]
        return self.url

    def requests(self) -> list[dict[str, Any]]:
        """The request log so far (README "Request log lines"); needs `log_path`."""
        if self.log_path is None:
            raise RuntimeError("started without log_path: no request log")
        if not self.log_path.exists():
            return []
        with self.log_path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; safe to call twice."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> ReplicaProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
