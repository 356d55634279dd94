"""Group robots: the WeCom and DingTalk payloads (and DingTalk's signature, recomputed here) as a local HTTP server
records them; a platform's refusal (errcode ≠ 0) is retried; the manager's pages never show a saved webhook token
or secret, and escape what users typed."""

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.notify import delivery as outbox
from portal.notify.models import Delivery, Notification, Robot
from portal.notify.services import tell_robots
from portal.tickets.models import Ticket
from portal.types import utcnow

from ..factories import Factory

BASE = "https://portal.example.cn"
EN = {"Accept-Language": "en"}
KEY = "wecom-key-8d2f"
TOKEN = "ding-token-51ab"
SECRET = "SEC0123456789abcdef"


class Recorder:
    """A local HTTP server standing in for the platform: it records each request and answers ``answer``."""

    def __init__(self):
        self.requests, self.answer = [], {"errcode": 0, "errmsg": "ok"}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.requests.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
                data = json.dumps(recorder.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def platform():
    recorder = Recorder()
    yield recorder
    recorder.close()


@pytest.fixture
def setting(app):
    app.config["PORTAL_BASE_URL"] = BASE
    make = Factory(app)
    make.vendor(name_zh="华信服务", name_en="Huaxin Service")
    client = make.client()
    site = make.site(client, name_zh="一中", name_en="No.1 School")
    school = make.user("site_admin", site=site)
    manager = make.user("vendor_manager", locale="en")
    ticket = make.ticket(school, site, severity="A", title="**屏幕** [不亮](http://evil.example)\n# <font>x</font>")
    with app.app_context():  # filing told the staff already: each test posts, itself, what it checks
        db.session.execute(sa.delete(Delivery))
        db.session.execute(sa.delete(Notification))
        db.session.commit()
    return manager, ticket


def robot(app, **kw):
    return Factory(app).save(Robot(**{"name": "值班群", "kinds": "ticket.filed", "locale": "en", **kw}))


def file_fault(app, ticket_id):
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        made = tell_robots(
            "ticket.filed",
            ticket,
            key=f"filed:{ticket.id}",
            number=ticket.number,
            severity=ticket.severity,
            site={"zh": "一中", "en": "No.1 School"},
            title=ticket.title,
        )
        db.session.commit()
        return len(made)


def run(app, now=None):
    with app.app_context():
        return outbox.deliver_due(now=now)


def the_delivery(app):
    with app.app_context():
        return db.session.scalar(sa.select(Delivery))


def test_wecom_gets_documented_markdown_with_the_severity_a_link_and_neutral_user_values(app, setting, platform):
    _manager, ticket = setting
    robot(app, platform="wecom", webhook_url=f"{platform.url}/cgi-bin/webhook/send?key={KEY}")
    assert file_fault(app, ticket.id) == 1
    assert file_fault(app, ticket.id) == 0  # the same event twice: posted once
    assert run(app) == {"sent": 1, "retry": 0, "failed": 0}
    [(path, content_type, body)] = platform.requests
    assert path == f"/cgi-bin/webhook/send?key={KEY}" and content_type == "application/json"
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith(f"**Fault {ticket.number} filed (severity A) at No.1 School: ")
    assert "Severity: A · Critical" in content
    assert f"[Open in the portal]({BASE}/tickets/{ticket.id})" in content
    # What the user typed formats nothing: no bold, link, heading, tag or line of its own.
    assert "**屏幕**" not in content and "[不亮](http" not in content and "<font>" not in content
    assert "\n#" not in content and "＊＊屏幕＊＊ ［不亮］(http://evil.example) ＃ ＜font＞x＜/font＞" in content


def test_dingtalk_is_signed_as_documented_and_speaks_the_groups_language(app, setting, platform):
    _manager, ticket = setting
    robot(
        app,
        platform="dingtalk",
        webhook_url=f"{platform.url}/robot/send?access_token={TOKEN}",
        secret=SECRET,
        locale="zh_Hans_CN",
    )
    file_fault(app, ticket.id)
    before = int(time.time() * 1000)
    assert run(app)["sent"] == 1
    after = int(time.time() * 1000)
    [(path, _type, body)] = platform.requests
    url = urlsplit(path)
    query = parse_qs(url.query)
    assert url.path == "/robot/send" and query["access_token"] == [TOKEN]
    timestamp = query["timestamp"][0]
    assert before <= int(timestamp) <= after
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest())
    assert query["sign"] == [expected.decode()]  # URL-encoded: a bare "+" or "=" would not read back the same
    assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
    assert body["markdown"]["title"].startswith(f"新故障 {ticket.number}（A 级），一中")
    text = body["markdown"]["text"]
    assert "严重等级：A" in text and "标题：" in text
    assert f"({BASE}/tickets/{ticket.id})" in text and "华信服务" in text


def test_a_refusal_errcode_is_retried_and_the_error_never_shows_the_token(app, setting, platform):
    _manager, ticket = setting
    robot(app, platform="dingtalk", webhook_url=f"{platform.url}/robot/send?access_token={TOKEN}", secret=SECRET)
    file_fault(app, ticket.id)
    platform.answer = {"errcode": 310000, "errmsg": "sign not match"}
    now = utcnow()
    assert run(app, now) == {"sent": 0, "retry": 1, "failed": 0}
    waiting = the_delivery(app)
    assert waiting.state == "pending" and "310000" in waiting.error and "sign not match" in waiting.error
    platform.answer = {"errcode": 0, "errmsg": "ok"}
    assert run(app, now + timedelta(minutes=1)) == {"sent": 1, "retry": 0, "failed": 0}
    assert len(platform.requests) == 2


def test_an_unreachable_webhook_is_retried_without_its_token_in_the_error(app, setting, platform):
    _manager, ticket = setting
    platform.close()  # nothing listens there any more
    robot(app, platform="wecom", webhook_url=f"{platform.url}/cgi-bin/webhook/send?key={KEY}")
    file_fault(app, ticket.id)
    assert run(app)["retry"] == 1
    error = the_delivery(app).error
    assert error and KEY not in error and "127.0.0.1" in error


def test_the_manager_saves_a_robot_whose_secrets_never_show_again(app, setting, platform):
    manager, ticket = setting
    client = app.test_client(user=manager)
    new = client.get("/notifications/robots/new", headers=EN)
    assert new.status_code == 200 and "What it posts" in new.get_data(as_text=True)
    data = {
        "name": "<script>alert(1)</script>值班群",
        "platform": "dingtalk",
        "locale": "en",
        "webhook_url": f"{platform.url}/robot/send?access_token={TOKEN}",
        "secret": SECRET,
        "kinds": ["ticket.filed", "ticket.breached"],
        "client": "",
        "active": "y",
    }
    refused = client.post("/notifications/robots/new", data={**data, "webhook_url": "ftp://x", "kinds": []}, headers=EN)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "starting with https://" in body and "Choose what the robot posts." in body
    assert SECRET not in body
    assert client.post("/notifications/robots/new", data=data, headers=EN).status_code == 302
    with app.app_context():
        saved = db.session.scalar(sa.select(Robot))
    assert saved.secret == SECRET and saved.kind_list == ["ticket.filed", "ticket.breached"]
    pages = [client.get(url, headers=EN) for url in ("/notifications/robots", f"/notifications/robots/{saved.id}/edit")]
    assert client.post(f"/notifications/robots/{saved.id}/test").status_code == 302
    platform.answer = {"errcode": 300001, "errmsg": f"token {TOKEN} is invalid"}  # a platform that echoes it
    run(app)
    pages.append(client.get("/notifications/deliveries", headers=EN))
    edit = client.post(
        f"/notifications/robots/{saved.id}/edit",
        data={**data, "webhook_url": "", "secret": "", "name": "值班群"},
        headers=EN,
    )
    assert edit.status_code == 302
    pages.append(client.get("/notifications/robots", headers=EN))
    for page in pages:
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert TOKEN not in text and SECRET not in text and "access_token" not in text
    assert "127.0.0.1" in pages[0].get_data(as_text=True)  # the host only
    assert "&lt;script&gt;alert(1)&lt;/script&gt;值班群" in pages[0].get_data(as_text=True)
    assert "<script>alert(1)" not in pages[0].get_data(as_text=True)
    assert "Saved: leave empty to keep it." in pages[1].get_data(as_text=True)
    assert "<code>127.0.0.1</code>" in pages[1].get_data(as_text=True)
    with app.app_context():
        kept = db.session.get(Robot, saved.id)
    assert kept.webhook_url == data["webhook_url"] and kept.secret == SECRET and kept.name == "值班群"


def test_a_ticket_title_with_markup_is_escaped_on_the_deliveries_page(app, setting, platform):
    manager, ticket = setting
    robot(app, platform="wecom", webhook_url=f"{platform.url}/send?key={KEY}")
    file_fault(app, ticket.id)
    with app.app_context():
        db.session.execute(sa.update(Delivery).values(state="failed", error="<b>boom</b>"))
        db.session.commit()
    page = app.test_client(user=manager).get("/notifications/deliveries", headers=EN).get_data(as_text=True)
    assert "&lt;font&gt;x&lt;/font&gt;" in page and "<font>x</font>" not in page
    assert "&lt;b&gt;boom&lt;/b&gt;" in page and "<b>boom</b>" not in page


def test_removing_a_robot_removes_its_messages(app, setting, platform):
    manager, ticket = setting
    saved = robot(app, platform="wecom", webhook_url=f"{platform.url}/send?key={KEY}")
    file_fault(app, ticket.id)
    client = app.test_client(user=manager)
    assert client.post(f"/notifications/robots/{saved.id}/delete").status_code == 302
    assert client.post(f"/notifications/robots/{saved.id}/delete").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0
    assert run(app)["sent"] == 0 and platform.requests == []
