"""One way to take a step, and every form counted once.

A step (a ticket responded to, a complaint closed, a quote accepted, a visit signed…) goes through ``take``: the
object is loaded in the user's scope with its row locked (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the
request already holds the write lock, see ``portal.database``), the version the page showed is compared with the
row's (``version_id_col``: optimistic locking), the move checks the state machine and records its event, and the
view commits once. Two people moving the same object from the same state: the first wins, the second is refused
with ``Stale`` (or the state machine's own ``Refused``) and keeps what they typed.

Every form also carries a one-time token (``form_token``, rendered by ``Form.hidden_tag()`` or the
``post_fields()`` macro). A signed-in user's POST claims its token in the request's own transaction, before the
view runs: the token is the primary key of ``form_submission``, so a second request with the same token (a double
click, a retry after a network error, a reload) waits for the first one's transaction and then lands on its
result instead of doing the work again. This is the ``Idempotency-Key`` idea of payment APIs, applied to forms.
"""

import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from .bounds import whole_number
from .extensions import db
from .i18n import _l
from .types import UTCDateTime, utcnow

TOKEN_FIELD = "form_token"  # nosec B105  # a form field's name
TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")
KEEP_DAYS = 30  # a form older than this is not recognised as sent twice (``forget``)


class Refused(Exception):
    """A step the object's state, the rules or the input do not allow; ``message`` says why."""

    status = 400

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class Stale(Refused):
    """The page the user acted on is out of date: someone else changed the object since it was shown."""

    status = 409

    def __init__(self, message=None):
        super().__init__(
            message
            or _l(
                "Someone else changed this since you opened it. It is shown below as it is "
                "now; what you typed is kept: check it and send it again."
            )
        )


# ---------------------------------------------------------------- a step


class HasVersion:
    """Mixin: a version counter that every UPDATE raises; an UPDATE made from an older version fails
    (SQLAlchemy's ``version_id_col``: "Configuring a Version Counter")."""

    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


def take(model, id_, user, move, *, version=None, options=()):
    """Load ``model`` #``id_`` in ``user``'s scope with its row locked (404 outside it), refuse a stale
    ``version``, apply ``move(obj)`` (which raises ``Refused`` when the state does not allow it) and flush.
    Returns the object; the caller commits. The result page of the step is the object's page, set by the view
    with ``land_on`` when it differs from where the form was posted."""
    query = (
        model.scoped(user, model.id == id_)
        .options(*options)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    )
    obj = db.session.scalar(query)
    if obj is None:
        abort(404)
    if version is not None and obj.version != version:
        raise Stale()
    with db.session.no_autoflush:  # one UPDATE of the object, so its version moves by one per step
        move(obj)
    try:
        db.session.flush()
    except StaleDataError:  # a writer this lock did not stop (none should remain): refused all the same
        raise Stale() from None
    return obj


def version_of(form):
    """The version a form carries (its hidden ``version`` field): None when the request did not send the field
    (not one of the portal's pages: no check), ``Stale`` when it is not a version (a page cannot have shown it)."""
    field = getattr(form, "version", None)
    if field is None or not field.raw_data:
        return None
    try:
        return whole_number(field.data, 1)
    except (TypeError, ValueError):
        raise Stale() from None


def kept_text(form):
    """What the user typed into a refused form, to show whatever the page now offers: [(label, text)]."""
    return [
        (field.label.text, field.data)
        for field in form
        if field.type in ("TextAreaField", "StringField") and field.data
    ]


# ---------------------------------------------------------------- every form once


def new_token():
    return secrets.token_urlsafe(24)


class Submission(db.Model):
    """A form that was sent: its one-time token, who sent it, when, and where its result is shown."""

    __tablename__ = "form_submission"

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    target: Mapped[str] = mapped_column(sa.String(500), default="")


def land_on(url):
    """Where a second sending of this form lands: the page showing the first one's result, saved with the first
    one's commit. Without it, the address the view redirects to is saved just after that commit (``settle``)."""
    submission = g.get("submission")
    if submission is not None:
        submission.target = url[:500]
        g.submission_landed = True


def default_target():
    """Until the view says where its result is (``land_on``): the address itself when it is also a page, else the
    page the form was on (a POST-only address, such as a step's, answers GET with 405)."""
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/") and not referrer.path.startswith("//"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("home.index")


def claim():
    """Before a signed-in user's POST runs: claim the form's token in the request's transaction, or answer with
    the first result if the token was used already. Without a token the request runs as it is."""
    if request.method != "POST" or not current_user.is_authenticated:
        return None
    token = request.form.get(TOKEN_FIELD) or next(  # a form with a prefix (several on one page) names it prefix-…
        (value for key, value in request.form.items() if key.endswith("-" + TOKEN_FIELD)), ""
    )
    if not TOKEN.fullmatch(token):
        return None
    earlier = db.session.get(Submission, token)
    if earlier is None:
        submission = Submission(token=token, user_id=current_user.id, at=utcnow(), target=default_target())
        try:
            with db.session.begin_nested():  # waits here for a first sending still under way (PostgreSQL)
                db.session.add(submission)
                db.session.flush()
        except sa.exc.IntegrityError:
            earlier = db.session.scalar(
                sa.select(Submission).where(Submission.token == token).execution_options(populate_existing=True)
            )
            if earlier is None:
                raise
        else:
            g.submission = submission
            return None
    return landed(earlier)


def landed(earlier):
    if earlier.user_id != current_user.id:  # a token is never shared; someone replays another's form
        abort(400)
    db.session.rollback()
    flash(_("Done: this form had already been sent, and it counts once."), "info")
    target = earlier.target
    if not target.startswith("/") or target.startswith(("//", "/\\")):  # only ever a page of this site
        target = url_for("home.index")
    return redirect(target, 303)


def _committed(session):
    if has_request_context() and g.get("submission") is not None:
        g.submission_committed, g.written_since_commit = True, False


def _flushed(session, context):
    if has_request_context() and g.get("submission_committed"):
        g.written_since_commit = True


def settle(response):
    """After a POST that claimed a token, committed and redirects: save where it redirected as the token's result
    (unless the view named it), in a transaction of its own; nothing else is pending by then."""
    if (
        g.get("submission") is None
        or not g.get("submission_committed")
        or g.get("submission_landed")
        or g.get("written_since_commit")
        or not 300 <= response.status_code < 400
        or not response.location
    ):
        return response
    target = urlsplit(response.location)
    try:
        db.session.execute(
            sa.update(Submission)
            .where(Submission.token == g.submission.token)
            .values(target=(target.path + (f"?{target.query}" if target.query else ""))[:500])
        )
        db.session.commit()
    except sa.exc.SQLAlchemyError:  # the work is saved; a second sending then lands on the form's page
        db.session.rollback()
    return response


def forget(now=None):
    """Tokens older than KEEP_DAYS are dropped (a periodic job); returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=KEEP_DAYS)
    return db.session.execute(sa.delete(Submission).where(Submission.at < cutoff)).rowcount


def init_app(app):
    app.before_request(claim)  # after the CSRF check and the sign-in gate, which were registered first
    app.after_request(settle)
    for name, listener in (("after_commit", _committed), ("after_flush", _flushed)):
        if not sa.event.contains(sa.orm.Session, name, listener):  # once per process, however many apps
            sa.event.listen(sa.orm.Session, name, listener)

    app.jinja_env.globals.update(new_form_token=new_token, form_token_field=TOKEN_FIELD)  # for post_fields()
