"""The deployment files as shipped: the nginx site (deploy/nginx/portal.conf) passes ``nginx -t`` and, run by a real
nginx in front of a small HTTP server standing for gunicorn, forwards a request id and the proxy headers, serves
the built static files with a year's caching, sends a file the application hands over by X-Accel-Redirect while
refusing the same path asked for directly, and goes on when one of its two upstream hosts is down; gunicorn.conf.py
run by a real gunicorn (the multiprocess metrics folder emptied at start, a dead worker's live gauges removed,
SIGHUP reloads the workers); the systemd units pass ``systemd-analyze verify``.
"""

import datetime
import http.server
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "portal.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "portal.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def site(tmp_path, https_port, http_port, upstreams):
    """The shipped site file with this test's ports, certificate and folders: nothing else changed."""
    text = (ROOT / "deploy" / "nginx" / "portal.conf").read_text()
    text = text.replace("/etc/nginx/tls/", f"{tmp_path}/").replace("/var/log/nginx/", f"{tmp_path}/")
    text = text.replace("/opt/portal/current/static/", f"{tmp_path}/static/")
    text = text.replace("/var/lib/portal/files/", f"{tmp_path}/files/")
    text = re.sub(r"^\s*listen \[::\].*\n", "", text, flags=re.MULTILINE)
    text = text.replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    servers = iter(upstreams)
    text = re.sub(r"server 127\.0\.0\.1:800\d", lambda m: f"server 127.0.0.1:{next(servers)}", text)
    (tmp_path / "site.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(
        f"user root;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    include {tmp_path}/site.conf;\n}}\n"
    )
    self_signed(tmp_path)
    return tmp_path / "nginx.conf"


class Upstream(http.server.ThreadingHTTPServer):
    """Stands for gunicorn: answers what it was sent (path and headers) as JSON; /download hands a file to nginx."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/download":
                    self.send_response(200)
                    self.send_header("X-Accel-Redirect", "/protected-files/reports/a.txt")
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Disposition", 'attachment; filename="a.txt"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"path": self.path, "headers": dict(self.headers)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]


@needs_nginx
def test_the_shipped_site_passes_nginx_t(tmp_path):
    conf = site(tmp_path, free_port(), free_port(), [free_port(), free_port()])
    result = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@needs_nginx
def test_the_shipped_site_in_front_of_the_application(tmp_path):
    upstream = Upstream()
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    https_port, http_port = free_port(), free_port()
    # The first host is down (nobody on its port): nginx goes on to the second.
    conf = site(tmp_path, https_port, http_port, [free_port(), upstream.port])
    (tmp_path / "static" / "dist" / "css").mkdir(parents=True)
    (tmp_path / "static" / "dist" / "css" / "portal.0123456789ab.css").write_text("body{color:#123}\n" * 200)
    (tmp_path / "files" / "reports").mkdir(parents=True)
    (tmp_path / "files" / "reports" / "a.txt").write_text("the file's bytes\n")
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"], stderr=subprocess.PIPE, text=True
    )
    base, cert = f"https://127.0.0.1:{https_port}", str(tmp_path / "portal.crt")
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(base + "/healthz", verify=cert, timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "nginx did not start: "
                        + (
                            process.stderr.read()
                            if process.poll() is not None
                            else (tmp_path / "error.log").read_text()
                        )
                    )
                time.sleep(0.2)

        plain = requests.get(f"http://127.0.0.1:{http_port}/tickets/", allow_redirects=False, timeout=5)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")

        seen = [
            requests.get(
                base + "/tickets/?q=1", headers={"X-Request-ID": "from-the-client"}, verify=cert, timeout=10
            ).json()
            for _ in range(3)
        ]
        ids = [s["headers"]["X-Request-ID"] for s in seen]
        assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and len(set(ids)) == 3  # nginx's, one each
        headers = seen[0]["headers"]
        assert seen[0]["path"] == "/tickets/?q=1" and headers["X-Forwarded-Proto"] == "https"
        assert (
            headers["X-Forwarded-For"] == "127.0.0.1" and headers["Host"] == headers["X-Forwarded-Host"] == "127.0.0.1"
        )
        log = (tmp_path / "portal.access.log").read_text()
        assert all(f"rid={i}" in log for i in ids)

        static = requests.get(
            base + "/static/dist/css/portal.0123456789ab.css",
            verify=cert,
            timeout=5,
            headers={"Accept-Encoding": "gzip"},
        )
        assert static.status_code == 200 and "immutable" in static.headers["Cache-Control"]
        assert static.headers.get("Content-Encoding") == "gzip" and static.text.startswith("body{color:#123}")

        assert requests.get(base + "/protected-files/reports/a.txt", verify=cert, timeout=5).status_code == 404
        download = requests.get(base + "/download", verify=cert, timeout=5)
        assert download.status_code == 200 and download.text == "the file's bytes\n"
        assert download.headers["Content-Disposition"] == 'attachment; filename="a.txt"'
        assert requests.get(base + "/metrics", verify=cert, timeout=5).status_code == 404
    finally:
        process.send_signal(signal.SIGQUIT)
        process.wait(timeout=20)
        upstream.shutdown()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_verify(tmp_path):
    """Every directive known and well-formed; the paths of the installation made to exist here."""
    opt = tmp_path / "opt" / "portal" / "current" / "venv" / "bin"
    opt.mkdir(parents=True)
    for name in ("gunicorn", "flask"):
        (opt / name).write_text("#!/bin/sh\n")
        (opt / name).chmod(0o755)
    for unit in ("portal-web.service", "portal-worker.service"):
        text = (ROOT / "deploy" / "systemd" / unit).read_text().replace("/opt/portal", f"{tmp_path}/opt/portal")
        (tmp_path / unit).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / u) for u in ("portal-web.service", "portal-worker.service"))],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [line for line in result.stderr.splitlines() if "portal-" in line and "User=" not in line]
    assert not problems, result.stderr


def gunicorn(venv, cwd, env, log, conf="gunicorn.conf.py"):
    """gunicorn of ``venv`` serving ``app:app`` of ``cwd`` with the settings ``conf``, on a free port, once it answers
    /healthz: (process, base URL). Its log goes to the file ``log``."""
    port = free_port()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(Path(venv) / "bin" / "gunicorn"), "-c", str(conf), "app:app"],
            cwd=cwd,
            env={**env, "PORTAL_BIND": f"127.0.0.1:{port}"},
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(base + "/healthz", timeout=10).status_code == 200:
                return process, base
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("gunicorn did not start: " + Path(log).read_text()[-3000:])
        time.sleep(0.2)


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()


def workers_of(master):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True, check=False)
    return {int(p) for p in out.stdout.split()}


def wait_for(predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


TINY_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_gunicorn_conf_metrics_folder_and_reload(tmp_path):
    """The settings' hooks, with gunicorn serving a one-line application (the portal's own start is the same for
    them, and slower)."""
    (tmp_path / "app.py").write_text(TINY_APP)
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_999999.db").write_bytes(b"stale")  # a previous run's
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics), "WEB_CONCURRENCY": "2"}
    process, base = gunicorn(ROOT / ".venv", tmp_path, env, tmp_path / "gunicorn.log", ROOT / "gunicorn.conf.py")
    try:
        assert not (metrics / "counter_999999.db").exists()
        assert wait_for(lambda: len(workers_of(process.pid)) == 2)
        first = workers_of(process.pid)
        victim = min(first)
        live = metrics / f"gauge_livesum_{victim}.db"
        live.write_bytes(b"")
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: not live.exists()), "child_exit did not mark the dead worker"
        assert wait_for(lambda: len(workers_of(process.pid) - {victim}) == 2)

        before = workers_of(process.pid)
        process.send_signal(signal.SIGHUP)  # reload: new workers, the old ones stopped gracefully
        assert wait_for(lambda: len(workers_of(process.pid)) == 2 and not workers_of(process.pid) & before)
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
    finally:
        stop(process)


def test_the_compose_file_and_the_dockerfile_agree():
    """What can be checked without a Docker daemon: every build target is a stage, every service has a health check,
    the web server, the worker and nginx share the files volume (nginx read-only), no one runs as root."""
    import yaml

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, flags=re.MULTILINE))
    services = compose["services"]
    assert set(services) == {"portal", "worker", "postgres", "redis", "nginx"}
    for name, service in services.items():
        if "build" in service:
            assert service["build"]["target"] in stages, name
        assert service["healthcheck"]["test"], name
    assert services["worker"]["command"] == ["flask", "jobs", "worker"]
    assert services["worker"]["image"] == services["portal"]["image"]
    for name in ("portal", "worker"):
        assert "files:/var/lib/portal" in services[name]["volumes"]
    assert "files:/var/lib/portal:ro" in services["nginx"]["volumes"]
    final = dockerfile[dockerfile.index("AS portal") :]
    assert re.search(r"^USER portal$", final, flags=re.MULTILINE) and "/healthz" in final
    assert set(compose["volumes"]) >= {"files", "pgdata"}


def test_the_image_entrypoint_migrates_before_serving(tmp_path):
    """deploy/docker-entrypoint.sh with stand-in ``flask`` and ``gunicorn`` commands that record their calls."""
    calls = tmp_path / "calls"
    for name in ("flask", "gunicorn"):
        (tmp_path / name).write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\n')
        (tmp_path / name).chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    script = str(ROOT / "deploy" / "docker-entrypoint.sh")
    for args in ([], ["web"]):
        calls.write_text("")
        subprocess.run([script, *args], env=env, check=True)
        assert calls.read_text().splitlines() == ["flask db upgrade", "gunicorn -c gunicorn.conf.py app:app"]
    calls.write_text("")
    subprocess.run([script, "flask", "jobs", "worker"], env=env, check=True)
    assert calls.read_text().splitlines() == ["flask jobs worker"]
    # A failed migration starts no server.
    (tmp_path / "flask").write_text("#!/bin/sh\nexit 3\n")
    calls.write_text("")
    assert subprocess.run([script], env=env, check=False).returncode == 3 and calls.read_text() == ""
