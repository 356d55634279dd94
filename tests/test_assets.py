"""The front-end files: hashed names, a year's caching, compressed copies; pages with client data never cached."""

import gzip
import json
import re
import shutil

import brotli
import pytest
from flask import Flask, url_for

from portal import assets
from portal.documents.models import KIND_ICONS
from portal.nav import NAV

YEAR = 365 * 24 * 3600
TEXT = (".css", ".js", ".svg")


@pytest.fixture(scope="module")
def manifest():
    """The build of static/ (as `make assets` leaves it), made here when missing or out of date."""
    current = assets.load_manifest(assets.STATIC)
    if set(current) != set(assets.source_files()):
        assets.build(quiet=True)
        current = assets.load_manifest(assets.STATIC)
    assert set(current) == set(assets.source_files())
    return current


def cache_control(response):
    return {
        part.strip().split("=")[0]: part.strip().partition("=")[2]
        for part in response.headers.get("Cache-Control", "").split(",")
        if part.strip()
    }


def test_url_for_static_gives_every_file_its_content_hashed_name(app, manifest):
    with app.test_request_context():
        for name, hashed in manifest.items():
            url = url_for("static", filename=name)
            assert url == f"/static/{hashed}"
            data = (assets.STATIC / hashed).read_bytes()
            assert url.endswith(assets.hashed_name(name, data).rpartition("/")[2]), "the hash is of what is served"
    body = app.test_client().get("/login").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', body)
    assert links and all("/static/dist/" in link for link in links), links


@pytest.mark.parametrize("signed_in", [False, True])
def test_hashed_files_are_cached_for_a_year_and_sent_compressed(app, world, manifest, signed_in):
    browser = app.test_client(user=world.a_staff) if signed_in else app.test_client()
    for name, hashed in manifest.items():
        source = (assets.STATIC / hashed).read_bytes()
        plain = browser.get(f"/static/{hashed}", headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and plain.data == source
        cache = cache_control(plain)
        assert "public" in cache and "immutable" in cache and int(cache["max-age"]) >= YEAR, (name, cache)
        assert "no-store" not in plain.headers["Cache-Control"]
        assert plain.headers["X-Content-Type-Options"] == "nosniff"
        assert "Set-Cookie" not in plain.headers, "a shared cache may keep it"
        if not name.endswith(TEXT):
            continue
        assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
        for encoding, decompress in (("gzip", gzip.decompress), ("br", brotli.decompress)):
            packed = browser.get(f"/static/{hashed}", headers={"Accept-Encoding": encoding})
            assert packed.headers["Content-Encoding"] == encoding, name
            assert decompress(packed.data) == source and len(packed.data) < len(source)
            assert cache_control(packed) == cache
        # A browser that accepts both gets the smaller Brotli copy.
        both = browser.get(f"/static/{hashed}", headers={"Accept-Encoding": "gzip, deflate, br"})
        assert both.headers["Content-Encoding"] == "br"
    big = browser.get(f"/static/{manifest['vendor/bootstrap/bootstrap.min.css']}", headers={"Accept-Encoding": "br"})
    assert len(big.data) < 40 * 1024  # 232 KB as written


def test_a_hashed_name_that_was_never_built_is_not_found(app, manifest):
    browser = app.test_client()
    hashed = manifest["css/portal.css"]
    wrong = re.sub(r"\.[0-9a-f]{12}\.css$", ".0123456789ab.css", hashed)
    for path in (wrong, "dist/css/portal.css", "dist/css/missing.0123456789ab.css", "dist/css/portal"):
        response = browser.get(f"/static/{path}")
        assert response.status_code == 404, path
        assert "immutable" not in response.headers.get("Cache-Control", ""), path


def test_pages_and_data_of_a_signed_in_user_are_never_stored(app, world, manifest):
    for user in (world.a_staff, world.a_admin, world.manager):
        browser = app.test_client(user=user)
        for path, headers in (
            ("/", {}),
            ("/equipment/", {}),
            ("/tickets/", {}),
            ("/notifications/bell", {"HX-Request": "true"}),
            ("/equipment/export.csv", {}),
        ):
            response = browser.get(path, headers=headers)
            response.get_data()  # read to the end, as a browser does (the export is streamed)
            response.close()
            assert response.status_code == 200, (path, response.status_code)
            assert response.headers["Cache-Control"] == "no-store", (user.email, path)


def test_style_sheets_point_at_the_hashed_fonts(app, manifest):
    """The icon fonts are cached for a year too: the style sheet names them by their hashed names, which exist."""
    browser = app.test_client()
    for name, hashed in manifest.items():
        if not name.endswith(".css"):
            continue
        css = (assets.STATIC / hashed).read_text(encoding="utf-8")
        for url in re.findall(r"""url\(\s*["']?([^"')]+)""", css):
            if url.startswith("data:"):
                continue
            target = (assets.STATIC / hashed).parent / url
            served = browser.get("/static/" + target.resolve().relative_to(assets.STATIC).as_posix())
            assert served.status_code == 200 and "immutable" in served.headers["Cache-Control"], (name, url)
    icons = (assets.STATIC / manifest["vendor/bootstrap-icons/bootstrap-icons.min.css"]).read_text()
    assert re.findall(r'fonts/bootstrap-icons\.[0-9a-f]{12}\.woff2"', icons)


def test_every_icon_the_pages_show_is_in_the_cut_down_icon_font(manifest):
    """The icons are cut down to those in use: every one named in a template, the navigation, or a map of icons
    chosen at run time (a fault's clock, a notice's kind, a document's kind), so none shows as an empty box."""
    wanted = {item.icon for item in NAV} | set(KIND_ICONS.values())
    for path in (assets.ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        wanted |= set(re.findall(r"\bbi-([a-z0-9]+(?:-[a-z0-9]+)*)\b(?!\s*\{)", text))
        wanted |= set(re.findall(r"""\bicon=["']([a-z0-9-]+)["']""", text))
        for icons in re.findall(r"{%\s*set\s+\w*(?:ICONS|icons)\s*=\s*({.*?})\s*%}", text):
            wanted |= set(json.loads(icons).values())
    assert {"stopwatch", "dash-circle", "pc-display", "megaphone", "box-arrow-in-right", "bell"} <= wanted
    css = (assets.STATIC / manifest["vendor/bootstrap-icons/bootstrap-icons.min.css"]).read_text()
    kept = assets.icon_rules(css)
    full = assets.icon_rules((assets.STATIC / assets.ICONS_CSS).read_text())
    assert wanted <= set(full), "a name that is no icon of Bootstrap Icons"
    assert wanted <= set(kept), f"missing from static/dist/ (make assets): {sorted(wanted - set(kept))}"
    assert len(kept) < len(full) / 5
    from fontTools.ttLib import TTFont

    font = TTFont(assets.STATIC / manifest["vendor/bootstrap-icons/fonts/bootstrap-icons.woff2"])
    assert set(kept.values()) <= set(font.getBestCmap()), "each kept rule has its glyph"


def test_without_a_build_or_with_a_stale_one_the_plain_names_are_served(tmp_path):
    """A checkout where `make assets` has not run (or not since a file changed) still works: plain names, short
    caching, nothing pointing at a file that is not there."""
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "site.css").write_text("body { color: #123456 }\n" * 50)
    (static / "js").mkdir()
    (static / "js" / "site.js").write_text("console.log('hello');\n" * 50)

    def app_for():
        app = Flask(__name__, static_folder=str(static))
        assets.init_app(app)
        return app

    def urls(app):
        with app.test_request_context():
            return url_for("static", filename="css/site.css"), url_for("static", filename="js/site.js")

    app = app_for()
    assert urls(app) == ("/static/css/site.css", "/static/js/site.js")
    response = app.test_client().get("/static/css/site.css")
    assert response.status_code == 200 and "immutable" not in response.headers["Cache-Control"]

    assets.build(static=static, quiet=True)
    css, js = urls(app_for())
    assert re.fullmatch(r"/static/dist/css/site\.[0-9a-f]{12}\.css", css) and "/dist/js/site." in js
    assert "immutable" in app_for().test_client().get(css).headers["Cache-Control"]

    (static / "css" / "site.css").write_text("body { color: #654321 }\n")  # changed since the build
    css, js = urls(app_for())
    assert css == "/static/css/site.css" and "/dist/js/site." in js
    assert app_for().test_client().get(css).data == b"body { color: #654321 }\n"

    shutil.rmtree(static / "dist")
    assert urls(app_for()) == ("/static/css/site.css", "/static/js/site.js")


def test_the_build_is_the_same_on_every_host(tmp_path):
    """Several hosts build static/dist/ each: the same sources must give the same names (the cut-down fonts too)."""
    first = assets.build(static=shutil.copytree(assets.STATIC, tmp_path / "a", ignore=ignore_dist), quiet=True)
    second = assets.build(static=shutil.copytree(assets.STATIC, tmp_path / "b", ignore=ignore_dist), quiet=True)
    assert first["files"] == second["files"]


def ignore_dist(folder, names):
    return [name for name in names if name == assets.DIST_NAME or name.startswith(".")]
