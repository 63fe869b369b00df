"""The replica portal server: an HTTP forward proxy (and origin server) for the replica hosts.

    python -m replica.server --port 0 [--round N] [--log FILE] [--scale K]

prints `READY http://127.0.0.1:<port>` on its first stdout line and serves until SIGTERM/SIGINT.
Clients reach the replica hosts through it as an `http_proxy` (absolute-form request lines,
routed by the URL's host) or directly (origin-form, routed by the Host header).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from replica.portal import Portal

logger = logging.getLogger(__name__)

LOGGED_HEADERS = ("If-None-Match", "If-Modified-Since", "User-Agent", "Accept-Encoding", "Referer")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections are closed after a minute
    server_version = "nginx"
    sys_version = ""
    server: _Server

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_POST(self) -> None:
        self._drain_body()
        self._simple(405, b"method not allowed")

    def do_CONNECT(self) -> None:
        # HTTPS tunnelling is not offered: the replica hosts are plain http.
        self._simple(501, b"CONNECT not supported")

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _simple(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, send_body: bool) -> None:
        target = self.path
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            host = parts.netloc
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
        else:
            host = self.headers.get("Host", "")
        headers = {k.lower(): v for k, v in self.headers.items()}
        resp = self.server.portal.respond(self.command, host, target, headers)
        name = host.lower().split(":")[0]
        active = self.server.enter(name)
        try:
            # Logged before answering, so a client that has its answer finds the entry.
            self.server.record(
                {
                    "time": time.time(),
                    "method": self.command,
                    "host": name,
                    "path": target,
                    "status": resp.status,
                    "headers": {h: self.headers[h] for h in LOGGED_HEADERS if h in self.headers},
                    # Requests of this host being served now, this one included.
                    "active": active,
                }
            )
            self._answer(resp, send_body)
        finally:
            self.server.leave(name)

    def _answer(self, resp: Any, send_body: bool) -> None:
        delay = resp.delay + self.server.latency
        if delay:
            time.sleep(delay)
        if resp.drop:
            self.close_connection = True
            return
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        if resp.status != 304:  # a 304 has no body and no length of its own
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if send_body and resp.body:
            self.wfile.write(resp.body[: resp.cut])
        if resp.cut is not None:
            self.close_connection = True

    def version_string(self) -> str:
        return "nginx"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], portal: Portal, log: IO[str] | None) -> None:
        super().__init__(addr, _Handler)
        self.portal = portal
        self.log = log
        self.request_log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self.active: dict[str, int] = {}
        self.latency = 0.0  # seconds added to every answer (concurrency tests)

    def enter(self, host: str) -> int:
        with self._log_lock:
            self.active[host] = self.active.get(host, 0) + 1
            return self.active[host]

    def leave(self, host: str) -> None:
        with self._log_lock:
            self.active[host] -= 1

    def record(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self.request_log.append(entry)
            if self.log is not None:
                self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
                self.log.flush()


class ReplicaServer:
    """The replica in a background thread.

    with ReplicaServer(round=1) as srv:
        proxies = {"http": srv.url}
    """

    def __init__(
        self,
        round: int = 1,
        log_path: str | Path | None = None,
        scale: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.latency = latency
        self.round = round
        self.scale = scale
        self.log_path = Path(log_path) if log_path else None
        self._bind = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log: IO[str] | None = None

    def start(self) -> int:
        portal = Portal(self.round, self.scale)
        if self.log_path is not None:
            self._log = self.log_path.open("a", encoding="utf-8")
        self._server = _Server(self._bind, portal, self._log)
        self._server.latency = self.latency
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="replica-server", daemon=True
        )
        self._thread.start()
        return self.port

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def request_log(self) -> list[dict[str, Any]]:
        if self._server is None:
            return []
        return self._server.request_log

    @property
    def portal(self) -> Portal:
        if self._server is None:
            raise RuntimeError("server not started")
        return self._server.portal

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ReplicaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m replica.server", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    ap.add_argument("--host", default="127.0.0.1", help="address to bind")
    ap.add_argument("--round", type=int, default=1, choices=(1, 2), help="site round (default 1)")
    ap.add_argument("--log", default=None, help="append JSON lines of requests to this file")
    ap.add_argument("--scale", type=int, default=1, help="multiply news/list pages (default 1)")
    ap.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to every answer (default 0)"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    srv = ReplicaServer(
        round=args.round,
        log_path=args.log,
        scale=args.scale,
        host=args.host,
        port=args.port,
        latency=args.latency,
    )
    srv.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"READY http://{args.host}:{srv.port}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
