"""The replayed report page in headless Debian chromium: styles applied, counter filled by XHR.

Replay is non-framed (govcrawl/publish/replay.py), so the replay URL's DOM is the archived page's
own DOM and ``--dump-dom`` shows what its scripts did. The fixture's article.js records, on
``load``, the header's computed background colour, the banner image's natural width and the
counter XHR's status as attributes of <html>.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from govcrawl.publish import replay
from tests import warcfixtures as fx
from tests.chromium import CHROMIUM
from tests.chromium import chromium as run_chromium
from tests.test_replay import TS1, TS2, free_port, pywb_bin  # noqa: F401  (session fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium missing (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def server(pywb_bin, tmp_path_factory) -> Iterator[replay.ReplayServer]:  # noqa: F811
    archive = fx.make_archive(tmp_path_factory.mktemp("browser") / "archive")
    srv = replay.start_replay(archive.root, port=free_port(), index_interval=0)
    try:
        yield srv
    finally:
        srv.stop()


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_chromium(tmp_path, "--virtual-time-budget=5000", *args)


@pytest.mark.parametrize(("ts", "clicks"), [(TS1, fx.CLICKS_CRAWL1), (TS2, fx.CLICKS_CRAWL2)])
def test_dom_after_scripts_has_styles_image_and_click_count(server, tmp_path, ts, clicks):
    dom = chromium(tmp_path, "--dump-dom", server.replay_url(fx.PAGE_URL, ts)).stdout
    assert fx.BODY_MARKER in dom
    # The counter XHR went through wombat to the archived JSON of that crawl.
    assert f'<span id="hits">{clicks}</span>' in dom
    assert 'data-counter-status="200"' in dom
    # Stylesheet and image came from the archive (revisits resolved for TS2).
    r, g, b = fx.HEADER_RGB
    assert f'data-header-bg="rgb({r}, {g}, {b})"' in dom
    assert 'data-banner-width="64"' in dom
    assert 'id="govcrawl-replay-notice"' in dom


def test_screenshot_shows_styled_header(server, tmp_path):
    shot = tmp_path / "page.png"
    chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        server.replay_url(fx.PAGE_URL, TS1),
    )
    assert shot.exists()
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        width, height = rgb.size
        assert width == 1280
        # The 120px header band, right of the site name, is mostly the stylesheet's red.
        header_band = rgb.crop((width // 2, 10, width, 110)).getcolors(maxcolors=1 << 20)
        assert header_band is not None
        assert _close(max(header_band)[1], fx.HEADER_RGB)
        # Below it the page background is white (the rule applied to the header only): the
        # commonest colour of the band, whatever fonts the machine lays the text out with.
        band = rgb.crop((0, 200, width, 600)).getcolors(maxcolors=1 << 20)
        assert band is not None
        assert _close(max(band)[1], (255, 255, 255))
        # The banner image (solid yellow PNG) was drawn inside the header.
        header = [rgb.getpixel((x, y)) for x in range(0, 120) for y in range(0, 120)]
        assert any(_close(p, fx.BANNER_RGB) for p in header)


def _close(got: tuple[int, ...], want: tuple[int, ...], tol: int = 6) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(got[:3], want, strict=True))


def test_report_title_renders_as_text_not_boxes(server, tmp_path):
    """Chinese is drawn with real glyphs: printed to PDF, the page's text reads back. Without a
    CJK font (scripts/system-packages installs fonts-wqy-zenhei) chromium draws boxes, which
    a PDF holds as glyph 0 (``(cid:0)``), and the colour checks above would still pass."""
    import logging

    import pdfplumber

    pdf = tmp_path / "page.pdf"
    chromium(
        tmp_path,
        f"--print-to-pdf={pdf}",
        "--no-pdf-header-footer",
        server.replay_url(fx.PAGE_URL, TS1),
    )
    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # chromium's subset fonts lack a bbox
    with pdfplumber.open(pdf) as doc:
        text = "".join((page.extract_text() or "") for page in doc.pages)
    flat = "".join(text.split())
    assert "(cid:0)" not in text, text[:200]
    for phrase in ("兴安盟公安局", "政府信息公开工作", "年度报告"):
        assert phrase in flat, (phrase, text[:300])
