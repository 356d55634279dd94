"""The front-end files, built once and then cached by browsers for a year.

``python -m portal.assets`` (run by ``make run``/``make serve``/``make test`` after the npm packages are copied into
static/vendor/) writes static/dist/ (git-ignored):

- every file under static/ under a content-hashed name (``css/portal.css`` → ``dist/css/portal.3f2a9c1d0b7e.css``),
  so that it can be cached for a year and never asked for again: a changed file gets a new name;
- inside style sheets, ``url(...)`` references to other files rewritten to their hashed names (the icon fonts);
- Bootstrap Icons cut down to the icons the portal uses (found in templates/, portal/ and static/): the style sheet
  keeps only their rules and the fonts only their glyphs (fontTools' subsetter), ~220 KB → a few KB;
- a gzip and a Brotli copy of each text file beside it (``.gz``, ``.br``), which WhiteNoise (or nginx's
  ``gzip_static``) sends to a browser that accepts them;
- ``manifest.json``: each file's name → its hashed name, with the hash of the source it was built from.

At start the application reads the manifest (``init_app``): ``url_for('static', filename=...)`` gives the hashed
name of a file whose source has not changed since the build, and the plain name otherwise (or when there is no
build at all: the portal works unbuilt, only without the long caching). WhiteNoise serves both names, the hashed
ones with ``Cache-Control: public, max-age=31536000, immutable``, before the request reaches Flask.
"""

import hashlib
import json
import logging
import os
import posixpath
import re
import shutil
import sys
from pathlib import Path

from .config import ROOT  # the checkout, or PORTAL_HOME

STATIC = ROOT / "static"
DIST_NAME = "dist"
MANIFEST_NAME = "manifest.json"
HASH_LENGTH = 12
ONE_YEAR = 365 * 24 * 3600
# The files cut down to the icons used, and where the icons' names are looked for.
ICONS_CSS = "vendor/bootstrap-icons/bootstrap-icons.min.css"
ICON_SOURCES = (
    ("templates", (".html", ".txt")),
    ("portal", (".py",)),
    ("static/js", (".js",)),
    ("static/css", (".css",)),
)
# Not for browsers: the PDFs' font (portal/reports/pdf.py, ~20 MB of TTF) is read from here, never served built.
PRIVATE = ("vendor/fonts/",)
COMPRESS = (".css", ".js", ".svg", ".json", ".txt", ".html", ".map")

log = logging.getLogger(__name__)
HASHED = re.compile(rf"\.[0-9a-f]{{{HASH_LENGTH}}}\.[A-Za-z0-9]+$")
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
ICON_RULE = re.compile(r'\.bi-([a-z0-9-]+)::before\{content:"\\([0-9a-f]+)"\}')


def digest(data):
    return hashlib.sha256(data).hexdigest()


def hashed_name(name, data):
    base, ext = posixpath.splitext(name)
    return f"{base}.{digest(data)[:HASH_LENGTH]}{ext}"


# ------------------------------------------------------------------------------------------ the icons in use


def icon_names_used(root=ROOT, known=None):
    """Every Bootstrap icon the portal may show: ``bi-NAME`` anywhere in the templates, the code, the scripts and
    styles, and any quoted string that is an icon's name (``icon="send"`` in a template, ``"tools"`` in a map of
    icons in Python), since many are chosen at run time (``bi-{{ icon }}``). ``known`` limits the names to real
    icons; a few extra glyphs cost little, a missing one would show nothing."""
    found = set()
    for folder, suffixes in ICON_SOURCES:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in suffixes or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            found.update(re.findall(r"\bbi-([a-z0-9]+(?:-[a-z0-9]+)*)", text))
            found.update(re.findall(r"""["']([a-z0-9]+(?:-[a-z0-9]+)*)["']""", text))
    return found if known is None else found & set(known)


def icon_rules(css):
    """{name: code point} of every icon in Bootstrap Icons' style sheet."""
    return {name: int(code, 16) for name, code in ICON_RULE.findall(css)}


def subset_icons(css, fonts, used):
    """The style sheet with only the used icons' rules, and each font (``{name: bytes}``) with only their glyphs."""
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # the subsetter's notes on the fonts' tables
    keep = {name: code for name, code in icon_rules(css).items() if name in used}
    if not keep:  # a style sheet written otherwise than we know: keep it whole rather than lose every icon
        return css, fonts
    new_css = ICON_RULE.sub(lambda rule: rule.group(0) if rule.group(1) in keep else "", css)
    new_fonts = {}
    for name, data in fonts.items():
        font = TTFont(io.BytesIO(data), recalcTimestamp=False)  # the same input, the same bytes (and name)
        flavor = "woff2" if name.endswith(".woff2") else "woff"
        options = subset.Options()
        options.flavor = flavor
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(keep.values()))
        subsetter.subset(font)
        out = io.BytesIO()
        font.flavor = flavor
        font.save(out)
        new_fonts[name] = out.getvalue()
    return new_css, new_fonts


# ------------------------------------------------------------------------------------------------ the build


def source_files(static=STATIC):
    """The static files by their name under static/ (``css/portal.css``), without the build and compressed copies."""
    files = {}
    for path in sorted(static.rglob("*")):
        rel = path.relative_to(static).as_posix()
        if not path.is_file() or rel.startswith((f"{DIST_NAME}/", ".", *PRIVATE)) or path.suffix in (".gz", ".br"):
            continue
        files[rel] = path
    return files


def rewrite_css(name, css, hashed):
    """``url(...)`` references to files of the build, relative to the style sheet, pointed at their hashed names
    (relative to the hashed style sheet, which lies in the same folder under dist/)."""
    folder = posixpath.dirname(name)
    built_folder = posixpath.join(DIST_NAME, folder)

    def replace(match):
        quote, url = match.group(1), match.group(2)
        if re.match(r"^([a-z]+:|/|#)", url, re.I):
            return match.group(0)
        target = posixpath.normpath(posixpath.join(folder, re.split(r"[?#]", url, maxsplit=1)[0]))
        if target not in hashed:
            return match.group(0)
        return f"url({quote}{posixpath.relpath(hashed[target], built_folder)}{quote})"

    return CSS_URL.sub(replace, css)


def build(static=STATIC, root=ROOT, quiet=False):
    """Write static/dist/ afresh (in a temporary folder first, then swapped in) and return the manifest."""
    from whitenoise.compress import Compressor

    sources = source_files(static)
    contents = {name: path.read_bytes() for name, path in sources.items()}
    source_hashes = {name: digest(data) for name, data in contents.items()}

    if ICONS_CSS in contents:  # Bootstrap Icons, only the icons in use
        css = contents[ICONS_CSS].decode("utf-8")
        used = icon_names_used(root, known=icon_rules(css))
        folder = posixpath.dirname(ICONS_CSS)
        fonts = {}
        for _quote, url in CSS_URL.findall(css):
            font = posixpath.normpath(posixpath.join(folder, url.split("?")[0]))
            if font in contents:
                fonts[font] = contents[font]
        css, fonts = subset_icons(css, fonts, used)
        contents[ICONS_CSS] = css.encode("utf-8")
        contents.update(fonts)
        if not quiet:
            print(f"Bootstrap Icons: {len(used)} icons kept")

    # Files that reference no other first (fonts, scripts…), then the style sheets that reference them.
    hashed = {}
    outputs = {}
    for name in sorted(contents, key=lambda n: (n.endswith(".css"), n)):
        data = contents[name]
        if name.endswith(".css"):
            data = rewrite_css(name, data.decode("utf-8"), hashed).encode("utf-8")
        hashed[name] = f"{DIST_NAME}/{hashed_name(name, data)}"
        outputs[hashed[name]] = data

    dist = static / DIST_NAME
    temporary = static / f".{DIST_NAME}.new"
    shutil.rmtree(temporary, ignore_errors=True)
    compressor = Compressor(extensions=(), quiet=True)
    for rel, data in outputs.items():
        path = temporary / rel[len(DIST_NAME) + 1 :]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if path.suffix in COMPRESS:
            compressor.compress(str(path))
    manifest = {"files": hashed, "sources": source_hashes}
    (temporary / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    old = static / f".{DIST_NAME}.old"
    shutil.rmtree(old, ignore_errors=True)
    if dist.exists():
        dist.rename(old)
    temporary.rename(dist)
    shutil.rmtree(old, ignore_errors=True)
    if not quiet:
        total = sum(len(d) for d in outputs.values())
        print(f"static/{DIST_NAME}/: {len(outputs)} files ({total // 1024} KB before compression) and {MANIFEST_NAME}")
    return manifest


# ---------------------------------------------------------------------------------------------- the application


_source_digests = {}  # (path, mtime, size) → digest: each application created re-reads no unchanged file


def _current_digest(path):
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _source_digests:
        _source_digests[key] = digest(path.read_bytes())
    return _source_digests[key]


def load_manifest(static):
    """{name: hashed name} for the files whose build is current: the source unchanged and the built file there."""
    try:
        manifest = json.loads((static / DIST_NAME / MANIFEST_NAME).read_text(encoding="utf-8"))
        files, sources = manifest["files"], manifest["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    current = {}
    stale = []
    for name, hashed in files.items():
        if (
            sources.get(name) is not None
            and _current_digest(static / name) == sources[name]
            and (static / hashed).is_file()
        ):
            current[name] = hashed
        else:
            stale.append(name)
    if stale:
        log.warning(
            "static/%s is older than %s: served under plain names until `make assets` (%s)",
            DIST_NAME,
            ", ".join(stale[:3]) + ("…" if len(stale) > 3 else ""),
            "python -m portal.assets",
        )
    return current


def is_immutable(path, url):
    """A file of the build, whose name changes with its content: cached for a year, never revalidated."""
    return f"/{DIST_NAME}/" in url and bool(HASHED.search(url))


def init_app(app, headers=None):
    """Serve static/ through WhiteNoise (compressed copies, a year's caching for hashed names), and make
    ``url_for('static', filename=...)`` give the hashed names of the manifest."""
    from whitenoise import WhiteNoise

    static = Path(app.static_folder)
    manifest = load_manifest(static)
    app.extensions["portal.assets"] = manifest

    def add_headers(h, path, url):
        for name, value in (headers or {}).items():
            h.setdefault(name, value)

    app.wsgi_app = WhiteNoise(
        app.wsgi_app,
        root=str(static),
        prefix=app.static_url_path.strip("/") + "/",
        max_age=60,
        immutable_file_test=is_immutable,
        add_headers_function=add_headers,
    )

    @app.url_defaults
    def hashed_static(endpoint, values):
        if endpoint == "static" and manifest:
            name = values.get("filename")
            if name in manifest:
                values["filename"] = manifest[name]


def main(argv=None):
    build(quiet="-q" in (argv if argv is not None else sys.argv[1:]))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
