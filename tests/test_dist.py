"""The offline archive (``make dist``), installed as an intranet machine would: unpacked, install.sh run with no
network at all (a user and network namespace of its own, ``unshare -rn``; where that is refused, pip with no index
and every proxy pointed at a closed port), then the installed portal served by its own gunicorn: the sign-in page
in both languages, a static file of the build, and the first system administrator signing in.

A minute or two (the archive, then a virtualenv of every runtime wheel): runs with PORTAL_TEST_DIST=1 on SQLite (the
SQLite pass of .ci/run sets it); PORTAL_DIST_ARCHIVE reuses an archive already built.
"""

import json
import os
import re
import subprocess
import tarfile
import tomllib
from pathlib import Path

import pytest
import requests

from .conftest import DATABASE_URL
from .test_deploy import free_port, gunicorn, stop

ROOT = Path(__file__).resolve().parent.parent
ENABLED = os.environ.get("PORTAL_TEST_DIST") == "1" and DATABASE_URL.startswith("sqlite")
pytestmark = [
    pytest.mark.dist,
    pytest.mark.skipif(not ENABLED, reason="the offline install: PORTAL_TEST_DIST=1 runs it (on SQLite)"),
]
ADMIN = {
    "PORTAL_ADMIN_EMAIL": "root@bureau.example.cn",
    "PORTAL_ADMIN_NAME": "First Admin",
    "PORTAL_ADMIN_PASSWORD": "Quiet-Harbour-7391-lantern",
}


def isolated():
    """The command prefix that takes the network away: a namespace with none (not even loopback), if allowed here."""
    try:
        subprocess.run(["unshare", "-rn", "true"], check=True, capture_output=True, timeout=30)
        return ["unshare", "-rn"]
    except (OSError, subprocess.SubprocessError):
        return []


def offline_env(home, **extra):
    """A bare environment: none of this machine's pip settings (its index mirror, find-links), proxies that go
    nowhere, so that even without a namespace any attempt to reach an index fails."""
    closed = f"http://127.0.0.1:{free_port()}"
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": "",
        "PIP_CONFIG_FILE": os.devnull,
        "http_proxy": closed,
        "https_proxy": closed,
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "no_proxy": "",
        **extra,
    }


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    given = os.environ.get("PORTAL_DIST_ARCHIVE")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        ["make", "--no-print-directory", "dist", f"DIST_DIR={out}"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
    )
    (built,) = out.glob("portal-*-py311-*.tar.gz")
    return built


@pytest.fixture(scope="module")
def installed(archive, tmp_path_factory):
    """The archive unpacked and installed offline: (prefix, env file, the unpacked folder)."""
    base = tmp_path_factory.mktemp("target")
    with tarfile.open(archive) as tar:
        tar.extractall(base, filter="data")
    (unpacked,) = base.glob("portal-*")
    prefix, data, env_file = base / "opt", base / "data", base / "etc" / "portal.env"
    result = subprocess.run(
        [
            *isolated(),
            str(unpacked / "install.sh"),
            "--prefix",
            str(prefix),
            "--data",
            str(data),
            "--env-file",
            str(env_file),
            "--user",
            "",
        ],
        check=False,
        env=offline_env(base, **ADMIN),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "System administrator created: root@bureau.example.cn" in result.stdout
    return prefix, env_file, unpacked


def settings(env_file):
    values = {}
    for line in env_file.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
    return values


@pytest.fixture(scope="module")
def server(installed):
    """The installed portal on its own gunicorn (gunicorn.conf.py from the archive), as the systemd unit runs it."""
    prefix, env_file, _ = installed
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(prefix),
        "LANG": "C.UTF-8",
        **settings(env_file),
        "WEB_CONCURRENCY": "2",
        "PORTAL_INSECURE_COOKIES": "1",
    }
    current = prefix / "current"
    process, base = gunicorn(current / "venv", current, env, prefix / "gunicorn.log")
    yield base
    stop(process)


def test_the_archive_holds_the_runtime_wheels_only_and_its_sums(archive, installed):
    _, _, unpacked = installed
    wheels = {re.split(r"-\d", p.name, maxsplit=1)[0].lower().replace("_", "-") for p in unpacked.glob("wheels/*.whl")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev = {re.split(r"[<>=\[ ;]", name, maxsplit=1)[0].lower() for name in project["optional-dependencies"]["dev"]}
    assert "portal" in wheels and "flask" in wheels and "gunicorn" in wheels
    assert not dev & wheels, f"dev packages in the archive: {dev & wheels}"
    for needed in (
        "app.py",
        "gunicorn.conf.py",
        "install.sh",
        "MANIFEST",
        "static/dist/manifest.json",
        "static/vendor/fonts/NotoSansSC_400Regular.ttf",
        "translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
        "migrations/env.py",
        "templates/auth/login.html",
        "deploy/systemd/portal-web.service",
    ):
        assert (unpacked / needed).is_file(), needed
    assert not list(unpacked.rglob("node_modules"))
    summed = {line.split("  ", 1)[1] for line in (unpacked / "SHA256SUMS").read_text().splitlines()}
    files = {p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*") if p.is_file()}
    assert files - summed == {"SHA256SUMS"}


def test_the_installed_venv_is_the_wheels_and_nothing_from_the_checkout(installed):
    prefix, env_file, _ = installed
    python = prefix / "current" / "venv" / "bin" / "python"
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": os.devnull},
    ).stdout
    names = {p["name"].lower() for p in json.loads(listed)}
    assert {"portal", "flask", "weasyprint"} <= names and not {"pytest", "playwright", "moto"} & names
    # The package comes from the wheel (site-packages), the templates and fonts from PORTAL_HOME.
    probe = (
        "import portal, portal.config as c; from portal.reports.pdf import font_faces; font_faces(); "
        "print(portal.__file__); print(c.ROOT)"
    )
    env = {"PATH": "/usr/bin:/bin", **settings(env_file)}
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True, env=env, cwd="/"
    ).stdout.split()
    assert "site-packages" in out[0] and not out[0].startswith(str(ROOT))
    assert Path(out[1]) == (prefix / "current").resolve()


def test_the_install_had_no_network(installed, server):
    """The namespace install.sh ran in reaches nothing, not even this machine's own server."""
    prefix, _, _ = installed
    prefix_cmd = isolated()
    if not prefix_cmd:
        pytest.skip("unshare -rn is refused here: the install ran with no index and dead proxies instead")
    python = str(prefix / "current" / "venv" / "bin" / "python")
    reach = ["-c", f"import urllib.request; urllib.request.urlopen({server + '/healthz'!r}, timeout=5)"]
    assert subprocess.run([python, *reach], check=False, capture_output=True).returncode == 0
    assert subprocess.run([*prefix_cmd, python, *reach], check=False, capture_output=True).returncode != 0


def test_the_installed_portal_serves_and_its_administrator_signs_in(server):
    browser = requests.Session()
    zh = browser.get(server + "/login", headers={"Accept-Language": "zh-CN"}, timeout=30)
    assert zh.status_code == 200 and "登录" in zh.text  # the compiled catalogue
    page = browser.get(server + "/login?lang=en", timeout=30)
    assert page.status_code == 200 and "Sign in" in page.text

    css = re.search(r'href="(/static/dist/[^"]+\.[0-9a-f]{12}\.css)"', page.text)
    assert css, "no static file of the build on the sign-in page"
    static = browser.get(server + css.group(1), timeout=30)
    assert static.status_code == 200 and "immutable" in static.headers["Cache-Control"]
    assert static.headers["Content-Type"].startswith("text/css")

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    wrong = browser.post(
        server + "/login",
        data={"email": ADMIN["PORTAL_ADMIN_EMAIL"], "password": "not-it", "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert wrong.status_code == 200  # the form again, with its message
    signed = browser.post(
        server + "/login",
        data={"email": ADMIN["PORTAL_ADMIN_EMAIL"], "password": ADMIN["PORTAL_ADMIN_PASSWORD"], "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert signed.status_code == 302, signed.text[:500]
    # Signed in: a system administrator's first page is the second factor's enrolment (the password policy's
    # default for administrators), with their name in the header; the same page refuses a browser not signed in.
    home = browser.get(server + "/", timeout=30)
    assert home.status_code == 200 and home.url == server + "/account/two-factor"
    assert ADMIN["PORTAL_ADMIN_NAME"] in home.text
    anonymous = requests.get(server + "/account/two-factor", allow_redirects=False, timeout=30)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_an_upgrade_keeps_the_settings_and_makes_no_second_administrator(installed, tmp_path):
    prefix, env_file, unpacked = installed
    before = env_file.read_text()
    data = Path(settings(env_file)["PORTAL_STORAGE_DIR"]).parent
    result = subprocess.run(
        [
            *isolated(),
            str(unpacked / "install.sh"),
            "--prefix",
            str(prefix),
            "--data",
            str(data),
            "--env-file",
            str(env_file),
            "--user",
            "",
            "--upgrade",
        ],
        check=False,
        env=offline_env(tmp_path, **ADMIN),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert env_file.read_text() == before and "create-admin" not in result.stdout
    assert "Migrating the database" in result.stdout and (prefix / "current").resolve().name == unpacked.name[7:]
    assert "installed there already" in result.stdout  # the same archive again: nothing rebuilt


def test_a_changed_file_stops_the_install(installed, tmp_path):
    """SHA256SUMS is checked before anything is installed: one byte changed, and nothing happens."""
    _, _, unpacked = installed
    template = unpacked / "templates" / "auth" / "login.html"
    original = template.read_bytes()
    template.write_bytes(original + b" ")
    try:
        result = subprocess.run(
            [
                str(unpacked / "install.sh"),
                "--prefix",
                str(tmp_path / "opt"),
                "--data",
                str(tmp_path / "data"),
                "--env-file",
                str(tmp_path / "portal.env"),
                "--user",
                "",
            ],
            check=False,
            env=offline_env(tmp_path),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        template.write_bytes(original)
    assert result.returncode != 0 and "templates/auth/login.html: FAILED" in result.stdout
    assert not (tmp_path / "opt").exists() and not (tmp_path / "portal.env").exists()
