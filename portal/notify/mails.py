"""The e-mails: one per notification, and each user's daily digest. Each is written in its reader's language and
their site's time zone (``services.reader``), as plain text with an HTML alternative, and carries absolute links
(to the object, to the reader's preferences) built against ``PORTAL_BASE_URL``, since the worker has no request."""

from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import current_app, render_template, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_mailman import EmailMultiAlternatives

from .services import action, link, message, reader


@contextmanager
def absolute_links():
    """``url_for(…, _external=True)`` outside a request: links on the portal's public address (a path prefix
    behind a proxy included)."""
    with current_app.test_request_context(base_url=current_app.config["PORTAL_BASE_URL"]):
        yield


def preferences_url():
    return url_for("notify.preferences", _external=True)


def portal_name(vendor):
    name = _("After-sales service portal")
    return f"{vendor.name} · {name}" if vendor.name else name


def _one_line(text, limit=200):
    """A subject: one line (a header may not contain a line break), not too long."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compose(user, template, subject, delivery_id, **context):
    """The message to ``user`` from ``templates/notify/mail/<template>.txt`` and ``.html``, rendered in the active
    reader's language; its Message-ID names the delivery, so that a resent copy is recognisably the same mail."""
    from ..home.views import current_vendor

    vendor = current_vendor()
    context.update(
        user=user,
        subject=subject,
        portal=portal_name(vendor),
        preferences=preferences_url(),
        home=url_for("home.index", _external=True),
        lang="zh-CN" if get_locale().language == "zh" else "en",
    )
    mail = EmailMultiAlternatives(
        subject=_one_line(subject),
        body=render_template(f"notify/mail/{template}.txt", **context),
        to=[user.email],
        headers={
            "Auto-Submitted": "auto-generated",  # RFC 3834: no out-of-office replies to a robot
            "Message-ID": f"<delivery-{delivery_id}@{urlsplit(current_app.config['PORTAL_BASE_URL']).hostname}>",
        },
    )
    mail.attach_alternative(render_template(f"notify/mail/{template}.html", **context), "text/html")
    return mail


def notification_mail(delivery):
    """The e-mail of one notification: its message as the subject, the object's link, the time it happened."""
    note = delivery.notification
    with absolute_links(), reader(note.user):
        text = message(note.kind, note.params)
        return compose(
            note.user,
            "notification",
            text,
            delivery.id,
            text=text,
            note=note,
            url=link(note.subject_type, note.subject_id, external=True),
            action=action(note, note.user, external=True),
        )


def digest_mail(delivery, user, notes):
    """A user's daily digest: every notification they chose to receive that way, each with its link."""
    with absolute_links(), reader(user):
        items = [(message(n.kind, n.params), link(n.subject_type, n.subject_id, external=True), n) for n in notes]
        subject = ngettext(
            "Your daily digest: %(num)d notification", "Your daily digest: %(num)d notifications", len(items)
        )
        return compose(user, "digest", subject, delivery.id, items=items)
