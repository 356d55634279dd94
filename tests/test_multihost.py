"""Several hosts (deploy/multihost.py): two application hosts, each with its own gunicorn and job worker, behind nginx,
sharing PostgreSQL, Redis, SECRET_KEY and the files folder. A walk through the balancer only files a fault with a
photo, sees and downloads it, and is notified, with both hosts serving it; one host is then stopped mid-walk and the
other serves on, losing nothing.

Needs PostgreSQL (TEST_DATABASE_URL), Redis (TEST_REDIS_URL) and nginx: the PostgreSQL pass of .ci/run has all three
and sets PORTAL_REQUIRE_REDIS=1, which turns a missing Redis or nginx into a failure rather than a skip."""

import importlib.util
import io
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from PIL import Image

from portal.tickets.models import Kind
from portal.uploads import reencode

# deploy/ is a folder of files for operators, not a package: the script is loaded from its path.
SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "multihost.py"
_spec = importlib.util.spec_from_file_location("multihost", SCRIPT)
multihost = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(multihost)

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
REQUIRED = os.environ.get("PORTAL_REQUIRE_REDIS") == "1"
REDIS_DB = 5  # a Redis database of this test's own (the job tests use TEST_REDIS_URL's), emptied at its start
PASSWORD = "portal-demo-2026"  # nosec B105  # the demo accounts' published password
CLIENT, AGENT, MANAGER = "it@edu.example.com", "agent@vendor.example.com", "manager@vendor.example.com"
TIMEOUT = 30  # seconds for one request through the balancer, and for a worker to send an e-mail


def missing():
    """Why the walk cannot run here (empty when it can)."""
    why = []
    if not REDIS_URL:
        why.append("TEST_REDIS_URL is not set")
    if multihost.nginx_path() is None:
        why.append("nginx is not installed (apt-get install nginx)")
    return why


def setting_up():
    if not DATABASE_URL.startswith("postgresql"):
        pytest.skip("several hosts share a PostgreSQL database: TEST_DATABASE_URL is not a PostgreSQL URL")
    why = missing()
    if why and REQUIRED:
        pytest.fail("PORTAL_REQUIRE_REDIS=1 but " + "; ".join(why))
    if why:
        pytest.skip("; ".join(why))


def database_of_its_own():
    """TEST_DATABASE_URL's server, a database named after it with ``_hosts``: (admin engine, name, URL)."""
    url = sa.engine.make_url(DATABASE_URL)
    name = f"{url.database}_hosts"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    return admin, name, url.set(database=name).render_as_string(hide_password=False)


def redis_of_its_own():
    parts = urlsplit(REDIS_URL)
    return urlunsplit(parts._replace(path=f"/{REDIS_DB}"))


def jpeg():
    """A real small photo (a gradient, so that it is not trivially compressible)."""
    image = Image.new("RGB", (64, 48))
    image.putdata([(x * 4, y * 5, (x + y) * 2) for y in range(48) for x in range(64)])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class Walk:
    """One browser (one cookie jar) going through the balancer; every response it saw (redirects included) with the
    request id it carried and the host that served it."""

    def __init__(self, cluster):
        import requests

        self.cluster, self.browser, self.seen = cluster, requests.Session(), []

    def host_of(self, response):
        """The host that answered: the last address nginx tried (the earlier ones refused)."""
        return self.cluster.host_at(response.headers["X-Upstream"].split(",")[-1].strip())

    def request(self, method, path, **kwargs):
        response = self.browser.request(method, self.cluster.url + path, timeout=TIMEOUT, **kwargs)
        for each in [*response.history, response]:
            self.seen.append(
                (
                    each.headers.get("X-Request-ID"),
                    each.headers.get("X-Upstream"),
                    self.host_of(each),
                    each.request.method,
                    each.url,
                )
            )
        assert response.status_code == 200, (method, path, response.status_code, response.text[:500])
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    @staticmethod
    def token(page):
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)

    def sign_in(self, email):
        form = self.get("/login")
        page = self.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": self.token(form)})
        assert urlsplit(page.url).path != "/login", page.text[:500]
        assert email in self.get("/account/").text
        return page

    def sign_out(self):
        page = self.get("/account/")
        self.post("/logout", data={"csrf_token": self.token(page)})

    def file_fault(self, unit_id, title, photo):
        form = self.get(f"/tickets/new?unit={unit_id}")
        page = self.post(
            "/tickets/new",
            data={
                "csrf_token": self.token(form),
                "unit": unit_id,
                "severity": "C",
                "kind": Kind.UNKNOWN.value,
                "title": title,
                "description": "Filed through the balancer by tests/test_multihost.py.",
                "contact_name": "Multi Host",
                "contact_phone": "010-12345678",
                "channel": "portal",
            },
            files={"photos": ("fault.jpg", photo, "image/jpeg")},
        )
        ticket_id = int(re.fullmatch(r"/tickets/(\d+)", urlsplit(page.url).path).group(1))
        number = re.search(r"GZ-\d{4}-\d{5}", page.text).group(0)
        return ticket_id, number, page


def mails(cluster, ticket_id, recipient):
    """The e-mails about the ticket sent to ``recipient``, by host: the workers write them into their host's
    instance folder (no MAIL_SERVER), so the folder says which worker sent it."""
    found = {}
    for host in cluster.hosts:
        for path in sorted(host.mail.glob("*")):
            for message in path.read_text(errors="replace").split("\n" + "-" * 79 + "\n"):
                if f"To: {recipient}\n" in message and f"/tickets/{ticket_id}\n" in message:
                    found.setdefault(host.name, []).append(message)
    return found


def wait_for_mail(cluster, ticket_id, recipient):
    deadline = time.monotonic() + TIMEOUT
    while not (found := mails(cluster, ticket_id, recipient)):
        assert time.monotonic() < deadline, f"no e-mail about ticket {ticket_id} to {recipient}"
        time.sleep(0.3)
    return found


def test_two_hosts_behind_nginx_lose_nothing_when_one_stops(tmp_path):
    setting_up()
    admin, name, url = database_of_its_own()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    cluster = multihost.Cluster(url, redis_of_its_own(), tmp_path, flush_redis=True)
    try:
        cluster.start()
        # A host with another SECRET_KEY, outside the balancer: started now, asked at the end.
        other = cluster.add_host("other-key", secret_key="another-key-" + "x" * 40)
        walk(cluster, other)
    except BaseException:
        print(cluster.tails())
        raise
    finally:
        cluster.stop()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def walk(cluster, other):
    a, b = cluster.hosts[:2]
    photo = jpeg()
    stored, _, _ = reencode(io.BytesIO(photo), "jpeg", "fault.jpg")  # what the portal keeps: re-encoded, no EXIF
    walk = Walk(cluster)

    # A client's staff member files a fault with a photo, sees it listed and downloads the photo.
    walk.sign_in(CLIENT)
    unit_id = int(re.search(r'href="/equipment/(\d+)"', walk.get("/equipment/").text).group(1))
    first_id, first, page = walk.file_fault(unit_id, "Multihost: the projector stays black", photo)
    assert first in walk.get("/tickets/").text
    photo_path = re.search(rf"/tickets/{first_id}/photos/\d+", page.text).group(0)
    downloads = [walk.get(photo_path) for _ in range(2)]  # round robin: one from each host
    assert {walk.host_of(d) for d in downloads} == {a, b}
    assert all(d.content == stored for d in downloads)
    assert Image.open(io.BytesIO(downloads[0].content)).size == (64, 48)
    walk.sign_out()

    # The vendor's agent is told: in the portal, and by an e-mail a job worker sent.
    walk.sign_in(AGENT)
    assert first in walk.get("/notifications/").text
    assert sum(len(m) for m in wait_for_mail(cluster, first_id, AGENT).values()) == 1
    before = list(walk.seen)
    assert {host for _, _, host, _, _ in before} == {a, b}, "both hosts serve parts of the walk"

    # Host a stops (its gunicorn and its worker, SIGTERM, as systemd would); the same signed-in browser goes on.
    assert cluster.stop_host(a) == {"web": 0, "worker": 0}
    page = walk.get("/notifications/")
    assert urlsplit(page.url).path == "/notifications/" and first in page.text  # still signed in
    second_id, second, _ = walk.file_fault(unit_id, "Multihost: the second projector too", photo)
    after = walk.seen[len(before) :]
    assert {host for _, _, host, _, _ in after} == {b}
    walk.sign_out()

    # Nothing lost: the manager sees both faults and both notifications, and got both e-mails, the second from the
    # surviving host's worker; each e-mail once.
    walk.sign_in(MANAGER)
    listed = walk.get("/tickets/").text
    told = walk.get("/notifications/").text
    assert first in listed and second in listed and first in told and second in told
    assert sum(len(m) for m in wait_for_mail(cluster, first_id, MANAGER).values()) == 1
    assert {host: len(m) for host, m in wait_for_mail(cluster, second_id, MANAGER).items()} == {"b": 1}

    # The signed-in cookie is good on any host that has the same SECRET_KEY, and on none that has another.
    assert MANAGER in walk.browser.get(f"http://{b.address}/account/", timeout=TIMEOUT).text
    cluster.wait_healthy(f"http://{other.address}", time.monotonic() + 60, other)
    refused = walk.browser.get(f"http://{other.address}/account/", timeout=TIMEOUT)
    assert urlsplit(refused.url).path == "/login" and MANAGER not in refused.text

    # nginx's $request_id reached the application, which answered with it: every id the walk saw is in nginx's
    # access log, for the host that served it.
    logged = {request_id: upstream for request_id, upstream, _, _ in cluster.access_log()}
    for request_id, upstream, _, method, url in walk.seen:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id or ""), (method, url, request_id)
        assert logged.get(request_id) == upstream, (method, url, request_id)

    # One request's story, from nginx through the web worker to the job worker: the second fault's POST (its id
    # nginx's) woke host b's job worker, whose log lines of that task carry the same id.
    [filed] = [rid for rid, _, _, method, url in after if method == "POST" and urlsplit(url).path == "/tickets/new"]
    assert filed in logged
    deadline = time.monotonic() + TIMEOUT
    while not [line for line in b.log("worker").read_text(errors="replace").splitlines() if f"req={filed} " in line]:
        assert time.monotonic() < deadline, f"no line of host b's job worker carries the request id {filed}"
        time.sleep(0.3)
