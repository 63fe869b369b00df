"""`govcrawl replay`: serve an archive with pywb (run as a subprocess from its own venv).

pywb 2.10 pins redis==2.10.6, which cannot live beside scrapy-redis, so scripts/setup-pywb puts it
in <repo>/.venv-pywb and this module starts its ``wayback`` command.

Choices (and why):
- Working directory ARCHIVE/replay/ with a generated config.yaml: one fixed collection
  ``govcrawl`` whose index is the archive's own ARCHIVE/indexes/index.cdxj and whose archive
  path is ARCHIVE/warc/. pywb opens the index file on every lookup, so replacing it (by rename)
  is picked up at once.
- Keeping in step with new crawls: a watcher thread in this process calls
  ``cdxj.index_archive`` every ``index_interval`` seconds, which indexes sealed WARCs the index
  does not name yet and merges them in. pywb's own ``--autoindex`` was not used: it decides
  what to index by comparing a WARC's mtime with its autoindex.cdxj's, so a WARC sealed (renamed
  from ``.open``) just after an autoindex pass, or copied with its old mtime, is never indexed;
  and it would keep a second index beside ARCHIVE/indexes/index.cdxj.
- Path replay, not proxy mode: URLs look like ``http://127.0.0.1:8080/govcrawl/<14-digit
  ts>/<url>`` and need no browser set-up.
- ``framed_replay: false``: the replay URL is the archived page itself, rewritten by pywb with
  wombat injected (so the page's counter XHR is served from the archive), which is what links,
  scripts and headless browsers expect. Frame mode would put pywb's banner in a top frame and the
  page in an iframe. Non-framed pywb shows no banner by default, so templates/custom_banner.html
  adds a small fixed notice with the capture time, appended after the page loaded so it never
  shifts the archived layout.
- Revisits: pywb resolves them itself from the index (same URL and payload digest, closest to
  WARC-Refers-To-Date), provided the original's WARC can be loaded (locally or from the store).
  304 answers (server-not-modified revisits) get no index line (pywb would replay them as an
  empty 304; see govcrawl/publish/cdxj.py), so replay at their time shows the nearest capture.
- WARCs uploaded to a store (S3) and let go locally: pywb's ``archive_paths`` is a list, tried
  in order per record: ARCHIVE/warc/ first (local WARCs are read from disk as before), then
  ``http://127.0.0.1:<port>/warc/``, a small range server (``WarcRangeServer``) running in this
  process. pywb asks it for ``Range: bytes=<offset>-<offset+length-1>`` of one record; it answers
  206 with a streaming ranged read through ``govcrawl.store.open_warc`` (a ranged GET on the
  store recorded in ARCHIVE/store.json for that WARC, with boto3's own credentials). Why not
  pywb's own ``s3://`` loader or presigned URLs: pywb's venv has no boto3, its S3 loader knows
  one bucket per path and no custom endpoint, and presigned URLs are per object and expire, so
  they would need a resolver of their own; the range server reuses the one S3 client govcrawl
  already configures (endpoint, retries, credential chain) and also covers a WARC uploaded and
  deleted locally while replay runs. It listens on 127.0.0.1 only, serves only the archive's
  sealed WARC names, and pywb is started with 127.0.0.1 in ``no_proxy`` so a ``http_proxy`` left
  in the environment by a crawl cannot capture these requests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from warcio.timeutils import iso_date_to_timestamp

from govcrawl.archive.layout import WARC_SUFFIX, ArchiveLayout
from govcrawl.extract import patterns
from govcrawl.publish.cdxj import as_layout, index_archive
from govcrawl.store import open_warc, read_manifest

logger = logging.getLogger(__name__)

COLLECTION = "govcrawl"
# The source checkout that scripts/setup-pywb fills.
REPO = Path(__file__).resolve().parents[2]
PYWB_ENV = "GOVCRAWL_PYWB_BIN"
SETUP_HINT = "run scripts/setup-pywb (it creates .venv-pywb with pywb==2.10.0)"

CUSTOM_BANNER = """<!-- govcrawl: non-framed replay notice (see govcrawl/publish/replay.py) -->
<script>
(function () {
  function show() {
    if (!document.body || document.getElementById("govcrawl-replay-notice")) { return; }
    var ts = (window.wbinfo && wbinfo.timestamp) || "";
    var when = ts.length >= 14 ? ts.slice(0, 4) + "-" + ts.slice(4, 6) + "-" + ts.slice(6, 8) +
      " " + ts.slice(8, 10) + ":" + ts.slice(10, 12) + ":" + ts.slice(12, 14) + " UTC" : ts;
    var note = document.createElement("div");
    note.id = "govcrawl-replay-notice";
    note.setAttribute("style", "position:fixed;right:0;bottom:0;z-index:2147483647;" +
      "background:rgba(32,32,32,.85);color:#fff;font:12px/1.6 sans-serif;padding:2px 8px;");
    note.textContent = "Archived copy (govcrawl) \\u00b7 captured " + when;
    document.body.appendChild(note);
  }
  window.addEventListener("load", show);
})();
</script>
"""


class PywbNotFound(FileNotFoundError):
    """pywb's ``wayback`` executable is not installed where govcrawl looks."""


def pywb_executable() -> Path:
    """$GOVCRAWL_PYWB_BIN, else <repo>/.venv-pywb/bin/wayback, else ``wayback`` on PATH."""
    configured = os.environ.get(PYWB_ENV)
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise PywbNotFound(f"{PYWB_ENV}={configured} is not an executable; {SETUP_HINT}")
    local = REPO / ".venv-pywb" / "bin" / "wayback"
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which("wayback")
    if found:
        return Path(found)
    raise PywbNotFound(f"pywb's `wayback` not found ({local} missing); {SETUP_HINT}")


def replay_dir(layout: ArchiveLayout | str | os.PathLike[str]) -> Path:
    return as_layout(layout).root / "replay"


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def prepare_collection(
    layout: ArchiveLayout | str | os.PathLike[str], warc_url: str | None = None
) -> Path:
    """Write ARCHIVE/replay/ (config.yaml, templates/) and bring the CDXJ index up to date.

    ``warc_url``: a ``WarcRangeServer`` URL (``http://127.0.0.1:<port>/warc/``) pywb tries when a
    WARC is not in ARCHIVE/warc/ (uploaded to the store). Returns the pywb working directory.
    Safe to call again; the files are regenerated.
    """
    layout = as_layout(layout)
    layout.warc_dir.mkdir(parents=True, exist_ok=True)
    index_path = index_archive(layout)
    work = replay_dir(layout)
    (work / "templates").mkdir(parents=True, exist_ok=True)
    archive_paths = [str(layout.warc_dir) + os.sep]
    if warc_url:
        archive_paths.append(warc_url)
    config: dict[str, Any] = {
        "collections": {
            COLLECTION: {
                "index_paths": str(index_path),
                # Tried in order for every record: the local file, else the range server.
                "archive_paths": archive_paths,
            }
        },
        "framed_replay": False,
        # Only the collection above: no auto-collections from a collections/ folder.
        "enable_auto_colls": False,
        "enable_memento": True,
    }
    rules = _fuzzy_rules()
    if rules is not None:
        _write_text_atomic(work / "rules.yaml", rules)
        config["rules_file"] = str(work / "rules.yaml")
    # JSON is valid YAML; it quotes paths safely.
    header = "# Written by govcrawl (govcrawl/publish/replay.py); see `govcrawl replay`.\n"
    _write_text_atomic(work / "config.yaml", header + json.dumps(config, indent=2) + "\n")
    _write_text_atomic(work / "templates" / "custom_banner.html", CUSTOM_BANNER)
    return work


# pywb's url_normalize rules apply to the archived URL and the one asked for alike: a counter
# archived as ``count.jsp?id=100`` is found for ``count.jsp?id=100&r=0.73`` (the page's own
# ``"&r=" + Math.random()``). pywb's defaults already drop ``_=<digits>`` (jQuery cache:false).
# The rules see SURT keys, whose query parameters are sorted (``count.jsp?_=176...&id=100``):
# a cache-buster before another parameter keeps its separator, a last one goes with its own.
_BUSTER = f"{patterns.CACHE_BUSTER_NAMES}={patterns.CACHE_BUSTER_VALUE}"
CACHE_BUSTER_RULE = f"""\
        # govcrawl: cache-busters counters add ("&r=" + Math.random(), "&t=" + a timestamp,
        # jQuery's "_=<ms>")
        - match: '([?&]){_BUSTER}&'
          replace: '\\1'

        - match: '[?&]{_BUSTER}$'
          replace: ''

"""


def _fuzzy_rules() -> str | None:
    """pywb's own rules.yaml with CACHE_BUSTER_RULE first among its url_normalize rules, or
    None (pywb's defaults) when pywb's rules cannot be read. A ``rules_file`` replaces pywb's
    rules whole, hence the copy."""
    try:
        python = pywb_executable().parent / "python"
        found = subprocess.run(
            [str(python), "-c", "import os, pywb; print(os.path.dirname(pywb.__file__))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        text = (Path(found.stdout.strip()) / "rules.yaml").read_text(encoding="utf-8")
    except (OSError, subprocess.SubprocessError, PywbNotFound) as exc:
        logger.warning("pywb's rules.yaml not found (%s): replay without cache-buster rules", exc)
        return None
    marker = "    url_normalize:\n"
    if marker not in text:
        return None
    return text.replace(marker, marker + CACHE_BUSTER_RULE, 1)


def _timestamp14(timestamp: str | dt.datetime | None) -> str | None:
    if timestamp is None or timestamp == "":
        return None
    if isinstance(timestamp, dt.datetime):
        if timestamp.tzinfo is not None:
            timestamp = timestamp.astimezone(dt.UTC).replace(tzinfo=None)
        return timestamp.strftime("%Y%m%d%H%M%S")
    text = str(timestamp)
    if text.isdigit():
        return text[:14]
    return iso_date_to_timestamp(text)


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    # The replay server is local: never send these requests through $http_proxy.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---------------------------------------------------------------------------------------------
# WARCs that live in the store, served to pywb by byte range

CHUNK = 1 << 20
_RANGE_RX = re.compile(r"bytes=(\d*)-(\d*)")


def _warc_size(layout: ArchiveLayout, name: str) -> int | None:
    """Size of a sealed WARC of the archive (local file, else as recorded in store.json)."""
    try:
        return layout.warc_path(name).stat().st_size
    except FileNotFoundError:
        pass
    entry = read_manifest(layout)["objects"].get(f"warc/{name}")
    return int(entry["size"]) if entry and "size" in entry else None


class _WarcRangeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: pywb's requests session reuses connections
    server: _WarcHTTPServer

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        layout = self.server.layout
        path = urllib.parse.urlsplit(self.path).path
        name = urllib.parse.unquote(path[len("/warc/") :]) if path.startswith("/warc/") else ""
        if not name.endswith(WARC_SUFFIX) or "/" in name or "\\" in name or name.startswith("."):
            self.send_error(404)
            return
        size = _warc_size(layout, name)
        if size is None:
            self.send_error(404)
            return
        start, end = 0, size - 1
        header = self.headers.get("Range")
        if header:
            m = _RANGE_RX.fullmatch(header.strip())
            if not m or not (m.group(1) or m.group(2)):
                self._unsatisfiable(size)
                return
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:  # bytes=-N: the last N bytes
                start = max(0, size - int(m.group(2)))
            if start > end or start >= size:
                self._unsatisfiable(size)
                return
        length = end - start + 1
        try:
            src = open_warc(layout, name, start, length) if body else None
        except FileNotFoundError:
            self.send_error(404)
            return
        except Exception as exc:  # the store failed: a gateway error, never a traceback
            logger.warning("cannot read %s from the store: %s", name, str(exc).splitlines()[0])
            self.send_error(502, "store read failed")
            return
        self.send_response(206 if header else 200)
        self.send_header("Content-Type", "application/warc")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        if header:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if src is None:
            return
        sent = 0
        try:
            with contextlib.closing(src):
                while sent < length and (chunk := src.read(min(CHUNK, length - sent))):
                    self.wfile.write(chunk)
                    sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # pywb needed only the start of the range (headers of a revisit)
        except Exception as exc:
            logger.warning("reading %s from the store failed: %s", name, str(exc).splitlines()[0])
        if sent < length:
            self.close_connection = True  # the body is short: the client must not reuse it

    def _unsatisfiable(self, size: int) -> None:
        self.send_response(416)
        self.send_header("Content-Range", f"bytes */{size}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("warc range server: " + format, *args)


class _WarcHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], layout: ArchiveLayout) -> None:
        self.layout = layout
        super().__init__(address, _WarcRangeHandler)


class WarcRangeServer:
    """The archive's sealed WARCs over HTTP with Range support, on 127.0.0.1, for pywb.

    ``GET /warc/<name>`` with ``Range: bytes=a-b`` answers 206 and streams those bytes through
    ``open_warc`` (the local file, else a ranged GET from the store); 404 for names that are not
    sealed WARCs of the archive, 502 when the store cannot be read.
    """

    def __init__(self, layout: ArchiveLayout | str | os.PathLike[str], host: str = "127.0.0.1"):
        self.layout = as_layout(layout)
        self._httpd = _WarcHTTPServer((host, 0), self.layout)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self.url = f"http://{host}:{self.port}/warc/"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="govcrawl-warc-range", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> WarcRangeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _with_local_no_proxy(env: dict[str, str]) -> dict[str, str]:
    """pywb loads store-backed WARCs from 127.0.0.1 with requests, which honours http_proxy:
    make sure those requests never go through a proxy left in the environment."""
    for var in ("no_proxy", "NO_PROXY"):
        entries = [e.strip() for e in env.get(var, "").split(",") if e.strip()]
        for host in ("127.0.0.1", "localhost"):
            if host not in entries:
                entries.append(host)
        env[var] = ",".join(entries)
    return env


class ReplayServer:
    """A running pywb ``wayback`` subprocess serving one archive."""

    def __init__(
        self,
        layout: ArchiveLayout,
        host: str,
        port: int,
        process: subprocess.Popen[bytes],
        log_path: Path,
        index_interval: float,
        warc_server: WarcRangeServer | None = None,
    ) -> None:
        self.layout = layout
        self.warc_server = warc_server
        self.host = host
        self.port = port
        self.process = process
        self.log_path = log_path
        self.base_url = f"http://{host}:{port}/"
        self.url = f"{self.base_url}{COLLECTION}/"
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        if index_interval > 0:
            self._watcher = threading.Thread(
                target=self._watch,
                args=(index_interval,),
                name="govcrawl-replay-index",
                daemon=True,
            )
            self._watcher.start()

    def replay_url(self, url: str, timestamp: str | dt.datetime | None = None) -> str:
        """``<server>/govcrawl/<14-digit ts>/<url>``; without a timestamp pywb picks the latest."""
        ts = _timestamp14(timestamp)
        return f"{self.url}{ts}/{url}" if ts else f"{self.url}{url}"

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                index_archive(self.layout)
            except Exception:  # keep serving; the next poll retries
                logger.exception("updating the replay index failed")

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        opener = _no_proxy_opener()
        while True:
            if not self.alive():
                raise RuntimeError(
                    f"pywb exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with opener.open(self.base_url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pywb did not answer on {self.base_url}:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=30)
        if self.warc_server is not None:
            self.warc_server.stop()
            self.warc_server = None

    def __enter__(self) -> ReplayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _check_port_free(host: str, port: int) -> None:
    # pywb keeps running without serving when its bind fails, and the readiness probe would
    # then talk to whoever holds the port: refuse up front.
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise RuntimeError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc}; choose another --port"
            ) from None


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM inside wait for its end (then KeyboardInterrupt): one arriving while
    Popen waits for pywb's exec would otherwise leave pywb running with nobody to stop it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda got, frame: caught.append(got))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            raise KeyboardInterrupt


def start_replay(
    layout: ArchiveLayout | str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    index_interval: float = 2.0,
    timeout: float = 30.0,
) -> ReplayServer:
    """Prepare ARCHIVE/replay/, start pywb there and wait until it answers.

    ``index_interval``: seconds between checks for newly sealed WARCs (0 disables the watcher).
    Raises PywbNotFound when pywb is not installed, RuntimeError when it does not come up (for
    instance because the port is taken; the message carries the end of ARCHIVE/replay/pywb.log).
    WARCs uploaded to the store are served to pywb by a ``WarcRangeServer`` in this process
    (see the module docstring); it stops with the returned server.
    """
    layout = as_layout(layout)
    wayback = pywb_executable()
    _check_port_free(host, port)
    warc_server = WarcRangeServer(layout)
    server: ReplayServer | None = None
    process: subprocess.Popen[bytes] | None = None
    try:
        work = prepare_collection(layout, warc_server.url)
        log_path = work / "pywb.log"
        env = {k: v for k, v in os.environ.items() if k != "PYWB_CONFIG_FILE"}
        env["PYTHONUNBUFFERED"] = "1"
        _with_local_no_proxy(env)
        with open(log_path, "ab") as log, _signals_deferred():
            process = subprocess.Popen(
                [str(wayback), "--port", str(port), "--bind", host, "--threads", "8"],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a terminal's Ctrl-C reaches govcrawl, which then stops pywb in
                # order.
                start_new_session=True,
            )
            server = ReplayServer(
                layout, host, port, process, log_path, index_interval, warc_server
            )
        server.wait_ready(timeout)
    except BaseException:  # Ctrl-C or SIGTERM while pywb starts: pywb goes too
        if server is not None:
            server.stop()
        else:
            if process is not None:
                process.kill()
                process.wait()
            warc_server.stop()
        raise
    logger.info("pywb serving %s at %s (pid %d)", layout.root, server.url, process.pid)
    return server


def serve_forever(
    layout: ArchiveLayout | str | os.PathLike[str],
    port: int = 8080,
    reports: Iterable[dict[str, Any]] = (),
    *,
    host: str = "127.0.0.1",
    out: IO[str] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); print the address and each report's URL.

    Prints ``replaying ARCHIVE at URL`` and then, per report record (url, fetched, title),
    ``<replay url>\\t<title>``. Raises RuntimeError if pywb dies on its own.
    """
    out = out or sys.stdout
    previous = None
    if threading.current_thread() is threading.main_thread():
        # Before pywb starts: a SIGTERM while it starts must stop it too (start_replay does).

        def _term(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _term)
    try:
        server = start_replay(layout, host=host, port=port)
    except KeyboardInterrupt:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        return
    try:
        print(f"replaying {server.layout.root} at {server.url}", file=out)
        for report in reports:
            if not report.get("url"):
                continue
            line = server.replay_url(report["url"], report.get("fetched") or report.get("ts"))
            title = report.get("title") or ""
            print(f"{line}\t{title}" if title else line, file=out)
        out.flush()
        code = server.process.wait()
        raise RuntimeError(f"pywb exited with code {code}:\n{server.log_tail()}")
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGTERM, previous)
