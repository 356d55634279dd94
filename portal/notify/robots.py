"""Group robots: a message to a WeCom (企业微信) or DingTalk (钉钉) group, in the group's language, in each
platform's documented markdown.

- WeCom group robot (群机器人配置说明, https://developer.work.weixin.qq.com/document/path/91770): POST
  ``{"msgtype": "markdown", "markdown": {"content": …}}`` (at most 4096 bytes) to the webhook
  (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``); the answer ``{"errcode": 0, "errmsg": "ok"}``.
- DingTalk custom robot (自定义机器人, https://open.dingtalk.com/document/robots/custom-robot-access and its
  security settings, https://open.dingtalk.com/document/robots/customize-robot-security-settings): POST
  ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``; with 加签 (a secret starting with ``SEC``) the
  URL also carries ``timestamp`` (ms) and ``sign`` = urlencode(base64(HMAC-SHA256(key=secret,
  msg=f"{timestamp}\\n{secret}"))); the answer has ``errcode`` 0 when the message was taken.

Any other answer (HTTP error, ``errcode`` not 0, no answer within ``ROBOT_TIMEOUT``) is a failed try, retried.
"""

import base64
import hashlib
import hmac
import re
import time
from types import SimpleNamespace
from urllib.parse import parse_qsl, quote_plus, urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..tickets.models import Ticket
from .kinds import N_
from .mails import absolute_links, portal_name
from .models import Platform
from .services import link, message, reader

TEST = "robot.test"  # the kind of the manager's test message (not a notification kind)
TEST_MESSAGE = N_("A test message from the portal: this group will receive its notifications.")
WECOM_MAX_BYTES = 4096

# Characters that mean something in either platform's markdown (or in WeCom's <font>/<@id> tags), replaced by
# their full-width twins: a user's value (a fault's title, a school's name) reads the same and formats nothing.
NEUTRAL = str.maketrans(
    {
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "#": "＃",
        "~": "～",
        "|": "｜",
        "!": "！",
        "\\": "＼",
    }
)


class RobotError(Exception):
    """A failed try, described without the webhook's token or the signing secret."""


def neutral(text):
    """``text`` on one line, its markdown control characters made inert."""
    return " ".join(str(text).split()).translate(NEUTRAL)


def neutral_params(params):
    """The values a message is written with, each made inert (moments, dates and clock names are the portal's)."""

    def inert(name, value):
        if name.endswith(("_at", "_on")) or name == "clock" or not isinstance(value, (str, dict)):
            return value
        return {k: neutral(v) for k, v in value.items()} if isinstance(value, dict) else neutral(value)

    return {name: inert(name, value) for name, value in (params or {}).items()}


def sign(secret, timestamp):
    """DingTalk's signature of a request: urlencode(base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")))."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def signed_url(url, secret):
    """A DingTalk webhook with this moment's signature (DingTalk refuses one more than an hour old)."""
    timestamp = int(time.time() * 1000)
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={sign(secret, timestamp)}"


def _lines(delivery):
    """The message, its detail lines and the object's link, in the active language; what users typed is inert."""
    if delivery.kind == TEST:
        return _(TEST_MESSAGE), None, []
    text = " ".join(message(delivery.kind, neutral_params(delivery.params)).split())
    extra = []
    if delivery.subject_type == "ticket" and delivery.subject_id is not None:
        ticket = db.session.get(Ticket, delivery.subject_id)
        if ticket is not None:
            extra.append(_("Severity: %(severity)s", severity=ticket.severity_label))
            extra.append(_("Title: %(title)s", title=neutral(ticket.title)))
    return text, link(delivery.subject_type, delivery.subject_id, external=True), extra


def compose(robot, delivery):
    """The request body for ``robot`` telling ``delivery``, in the robot's language (and the portal's time zone)."""
    from ..home.views import current_vendor

    group = SimpleNamespace(locale=robot.locale, site=None)  # a group reads like a user of no particular site
    with absolute_links(), reader(group):
        head, url, details = _lines(delivery)
        portal = neutral(portal_name(current_vendor()))
        opener = f"[{neutral(_('Open in the portal'))}]({url})" if url else ""
    quotes = [f"> {line}" for line in details]
    if robot.platform == Platform.WECOM:
        lines = [f"**{head}**", *quotes, opener, f'<font color="comment">{portal}</font>']
        return {"msgtype": "markdown", "markdown": {"content": _fit("\n".join(line for line in lines if line))}}
    body = "\n\n".join(line for line in [f"#### {head}", *quotes, opener, portal] if line)  # DingTalk: blank lines
    return {"msgtype": "markdown", "markdown": {"title": head[:60], "text": body}}


def _fit(text, limit=WECOM_MAX_BYTES):
    data = text.encode()
    return text if len(data) <= limit else data[: limit - 3].decode(errors="ignore") + "…"


def redact(text, url, secret=""):  # nosec B107  # no secret to redact by default
    """An error's text without the webhook's query (WeCom's key, DingTalk's access token and signature), wherever
    it appears, nor the secret: the deliveries page shows it."""
    text = text.replace(url, urlsplit(url).hostname or "")
    for value in [secret, *(v for _k, v in parse_qsl(urlsplit(url).query))]:
        if len(value) >= 4:
            text = text.replace(value, "…")
    return re.sub(r"\?[^\s'\"]*", "?…", text)


def post(platform, url, secret, body):
    """Send ``body`` (signed, for a DingTalk robot with a secret); a ``RobotError`` unless the platform answers
    ``errcode`` 0."""
    target = signed_url(url, secret) if platform == Platform.DINGTALK and secret else url
    try:
        response = requests.post(target, json=body, timeout=current_app.config["ROBOT_TIMEOUT"])  # nosec B113  # the timeout is ROBOT_TIMEOUT from the configuration
        response.raise_for_status()
        answer = response.json()
    except (requests.RequestException, ValueError) as error:
        raise RobotError(redact(f"{type(error).__name__}: {error}", target, secret)) from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        code, text = (answer.get("errcode"), answer.get("errmsg", "")) if isinstance(answer, dict) else (None, "")
        raise RobotError(redact(f"errcode {code}: {text}", target, secret))
