"""Site profiles are data, validated on load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crawler.sites.profiles import SITES_DIR, ProfileError, ProfileRegistry
from crawler.sites.scope import Scope, registered_domain


def _dir_with(tmp_path: Path, name: str, text: str) -> Path:
    shutil.copy(SITES_DIR / "generic.toml", tmp_path / "generic.toml")
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_bundled_profiles_load_and_pick_hosts() -> None:
    registry = ProfileRegistry.load()
    assert registry.for_host("www.xam.gov.cn").name == "xam"
    assert registry.for_host("nmj.xam.gov.cn").name == "xam"
    assert registry.for_host("www.example.gov.cn").name == "generic"
    assert "http://www.xam.gov.cn/" in registry.default_seeds()


def test_site_profile_inherits_generic_keys() -> None:
    registry = ProfileRegistry.load()
    xam = registry.for_host("www.xam.gov.cn")
    assert xam.next_page_texts == registry.generic.next_page_texts
    assert xam.counters, "xam declares its click-counter endpoint"


@pytest.mark.parametrize(
    "text, message",
    [
        ('name = "x"\nhosts = ["a.gov.cn"]\nnot_a_key = 1\n', "unknown keys"),
        ('name = "x"\nskip_url_patterns = ["(unclosed"]\n', "bad regex"),
        ('name = "x"\nnav_keywords = [""]\n', "empty string"),
        (
            'name = "x"\n[[counters]]\nurl_template = "/c?id={id}"\nid_pattern = "id=(\\\\d+"\n',
            "bad regex",
        ),
        (
            'name = "x"\n[[counters]]\nurl_template = "/c"\nid_pattern = "x"\nextra = 1\n',
            "unknown keys",
        ),
        ('hosts = ["a.gov.cn"]\n', "missing key 'name'"),
        ('name = "x"\nhosts = "a.gov.cn"\n', "list of strings"),
    ],
)
def test_bad_profiles_are_rejected_with_the_file_name(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ProfileError, match=message) as err:
        ProfileRegistry.load(_dir_with(tmp_path, "bad.toml", text))
    assert "bad.toml" in str(err.value)


def test_scope_cleans_session_ids_and_skips_traps() -> None:
    registry = ProfileRegistry.load()
    scope = Scope.for_seeds(["http://www.xam.gov.cn/"], registry)
    generic = registry.generic
    assert scope.clean("http://www.xam.gov.cn/a/b.html;jsessionid=AB12?x=1&sid=9#top", generic) == (
        "http://www.xam.gov.cn/a/b.html?x=1"
    )
    assert (
        scope.clean("http://nmj.xam.gov.cn/p?sid=1&a=2", generic) == "http://nmj.xam.gov.cn/p?a=2"
    )
    assert scope.clean("http://www.xam-gov.com.cn/copy.html", generic) is None
    assert scope.clean("http://www.xam.gov.cn/xam/search/q?k=1", generic) is None
    assert scope.clean("http://www.xam.gov.cn/cal.html?month=2021-01", generic) is None
    assert scope.clean("http://www.xam.gov.cn/" + "a" * 600, generic) is None


def test_registered_domain_is_offline() -> None:
    assert registered_domain("gaj.xam.gov.cn") == "xam.gov.cn"
    assert registered_domain("www.kyqq.gov.cn:8080") == "kyqq.gov.cn"
    assert registered_domain("127.0.0.1") == "127.0.0.1"


def test_metadata_labels_are_profile_data(tmp_path: Path) -> None:
    """A site profile overrides single metadata label keys; the rest keep their defaults."""
    from govcrawl.extract.metadata import MetadataLabels, parse_metadata

    text = 'name = "x"\nhosts = ["*.x.gov.cn"]\n[metadata]\nsource = ["出\\\\s*处"]\n'
    registry = ProfileRegistry.load(_dir_with(tmp_path, "x.toml", text))
    labels = registry.for_host("www.x.gov.cn").metadata
    assert labels.source == ("出\\s*处",)
    assert labels.published == MetadataLabels().published
    html = (
        "<html><body><h1>某局2024年报</h1>"
        "<p>出处：某局办公室　发布日期：2025-01-20</p></body></html>"
    )
    assert parse_metadata(html, "http://www.x.gov.cn/a.html", labels).source == "某局办公室"
    assert parse_metadata(html, "http://www.x.gov.cn/a.html").source is None
    with pytest.raises(ProfileError, match="unknown metadata label keys"):
        ProfileRegistry.load(_dir_with(tmp_path, "x.toml", 'name = "x"\n[metadata]\nwho = ["a"]\n'))


def test_politeness_comes_from_profiles_unless_the_command_line_says(tmp_path: Path) -> None:
    """Each host's download slot gets its profile's delay and concurrency (Scrapy's
    DOWNLOAD_SLOTS); DOWNLOAD_DELAY / CONCURRENT_REQUESTS_PER_DOMAIN from the command line win."""
    from types import SimpleNamespace

    from scrapy import Request
    from scrapy.settings import Settings

    from crawler.middlewares.politeness import ProfilePolitenessMiddleware

    text = 'name = "x"\nhosts = ["*.x.gov.cn"]\ndownload_delay = 3.5\nconcurrency_per_host = 1\n'
    registry = ProfileRegistry.load(_dir_with(tmp_path, "x.toml", text))

    def middleware(**cmdline: object) -> tuple[ProfilePolitenessMiddleware, dict]:
        settings = Settings()
        settings.setmodule("crawler.settings")
        settings.update(cmdline, priority="cmdline")
        slots: dict = {}
        downloader = SimpleNamespace(
            per_slot_settings=slots, slots={}, get_slot_key=lambda r: r.url.split("/")[2]
        )
        crawler = SimpleNamespace(
            settings=settings,
            engine=SimpleNamespace(downloader=downloader),
            spider=SimpleNamespace(profiles=registry),
        )
        return ProfilePolitenessMiddleware.from_crawler(crawler), slots  # type: ignore[arg-type]

    mw, slots = middleware()
    for url in ("http://www.x.gov.cn/a", "http://www.x.gov.cn/b", "http://www.y.gov.cn/"):
        mw.process_request(Request(url))
    generic = registry.generic
    assert slots == {
        "www.x.gov.cn": {"delay": 3.5, "concurrency": 1},
        "www.y.gov.cn": {"delay": generic.download_delay, "concurrency": 2},
    }
    mw, slots = middleware(DOWNLOAD_DELAY=0)
    mw.process_request(Request("http://www.x.gov.cn/a"))
    assert slots == {"www.x.gov.cn": {"concurrency": 1}}
