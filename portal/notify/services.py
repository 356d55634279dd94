"""Telling people: ``tell()`` writes the notifications (and their deliveries) of one event in the caller's
transaction, so that what is committed is told and nothing is told about what was rolled back.

Recipients are chosen by the rules of each kind (the helpers below) and then filtered by the same scoping rules as
every page: a user hears only about objects they may open, a school administrator only about their school.
"""

from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date, format_datetime
from flask import current_app, g, has_request_context, url_for
from flask_babel import force_locale, get_locale, gettext
from sqlalchemy.exc import IntegrityError

from ..auth.models import User
from ..extensions import db
from ..i18n import DEFAULT, LANGUAGES
from ..roles import Role
from ..types import utcnow
from .kinds import CLOCK_NAMES, KINDS
from .models import Delivery, Mode, Notification, Preference, Robot

# What each kind of object is called in a notification, and the page that shows it.
SUBJECTS = {
    "Ticket": ("ticket", "tickets.show", "ticket_id"),
    "Complaint": ("complaint", "complaints.show", "complaint_id"),
    "RenewalQuote": ("quote", "renewals.show", "quote_id"),
    "Visit": ("visit", "inspections.show", "visit_id"),
    "ServiceLog": ("service_log", "inspections.log", None),
    "Survey": ("survey", "surveys.answer", None),  # the link carries the survey's token: see ``link``
}
LINKS = {name: (endpoint, arg) for name, endpoint, arg in SUBJECTS.values()}
LINKS["warranty"] = ("warranty.index", None)


# --- who -------------------------------------------------------------------------------------------------------


def _active(*criteria):
    return db.session.scalars(sa.select(User).where(User.active.is_(True), *criteria).order_by(User.id)).all()


def vendor_staff():
    """The on-duty staff: the vendor's managers and agents."""
    return _active(User.role.in_([Role.VENDOR_MANAGER.value, Role.VENDOR_AGENT.value]))


def managers():
    return _active(User.role == Role.VENDOR_MANAGER.value)


def client_admins(client_id):
    return _active(User.role == Role.CLIENT_ADMIN.value, User.client_id == client_id)


def site_admins(site_id):
    return _active(User.role == Role.SITE_ADMIN.value, User.site_id == site_id) if site_id else []


def site_users(client_id, site_id):
    """A school's users: its administrators, and the client's IT staff (who serve every school)."""
    return _active(
        User.client_id == client_id,
        sa.or_(
            sa.and_(User.role == Role.SITE_ADMIN.value, User.site_id == site_id) if site_id else sa.false(),
            User.role == Role.CLIENT_STAFF.value,
        ),
    )


def may_see(user, client_id, site_id):
    """The scoping rule of ``ClientScoped.scope``, for one user and one object: vendor staff see every client; a
    client's users their client; a school administrator their school only (not the whole client's objects)."""
    if user.is_vendor:
        return True
    if client_id is None or user.client_id != client_id:
        return False
    return user.site_id is None or user.site_id == site_id


# --- telling ---------------------------------------------------------------------------------------------------


def subject_of(obj):
    """(subject type, id, client id, site id) of an object, or of ``("warranty", client_id, site_id)``."""
    if isinstance(obj, tuple):
        kind, client_id, site_id = obj
        return kind, None, client_id, site_id
    name, _endpoint, _arg = SUBJECTS[type(obj).__name__]
    return name, obj.id, obj.client_id, getattr(obj, "site_id", None)


def mode_of(user, kind):
    if KINDS[kind].mandatory:
        return Mode.INSTANT
    chosen = db.session.get(Preference, (user.id, kind))
    return Mode(chosen.mode) if chosen else Mode.INSTANT


def tell(kind, subject, users, *, by=None, key=None, **params):
    """Tell ``users`` (those of them who may see ``subject``, other than ``by``) about ``subject``: one
    notification each, and an e-mail delivery for those who want it at once. With ``key``, each user is told at
    most once (a sweep run twice, or on two workers at once, tells nobody twice). Returns the notifications."""
    spec = KINDS[kind]
    subject_type, subject_id, client_id, site_id = subject_of(subject)
    made, seen = [], set()
    for user in users:
        if user is None or user.id in seen or not user.active or (by is not None and user.id == by.id):
            continue
        seen.add(user.id)
        if not user.is_business or not may_see(user, client_id, site_id):  # administrators hear of no business
            continue
        mode = mode_of(user, kind)
        if mode is Mode.OFF:
            continue
        note = Notification(
            user_id=user.id,
            kind=spec.name,
            subject_type=subject_type,
            subject_id=subject_id,
            client_id=client_id,
            site_id=site_id,
            params=params,
            key=key,
            digest_due=mode is Mode.DIGEST,
        )
        if not _add_once(note, keyed=key is not None):
            continue
        if mode is Mode.INSTANT and user.email:
            db.session.add(
                Delivery(
                    channel="email",
                    notification_id=note.id,
                    kind=spec.name,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    params={},
                )
            )
        made.append(note)
    if made:
        db.session.info["notify_kick"] = True
    return made


def tell_robots(kind, subject, *, key=None, **params):
    """Post ``subject`` to the active group robots that take ``kind``: the vendor's own groups, and the groups of
    the subject's client. With ``key``, each robot posts it at most once."""
    spec = KINDS[kind]
    assert spec.robot, kind  # nosec B101  # a programming error (a kind not meant for robots), caught by the tests
    subject_type, subject_id, client_id, _site_id = subject_of(subject)
    robots = db.session.scalars(
        sa.select(Robot).where(Robot.active.is_(True), sa.or_(Robot.client_id.is_(None), Robot.client_id == client_id))
    ).all()
    made = []
    for robot in robots:
        if kind not in robot.kind_list:
            continue
        delivery = Delivery(
            channel=robot.platform,
            robot_id=robot.id,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            params=params,
            key=key,
        )
        if _add_once(delivery, keyed=key is not None):
            made.append(delivery)
    if made:
        db.session.info["notify_kick"] = True
    return made


def _add_once(row, keyed):
    """Add ``row``; a keyed row that is already there (or being inserted by a concurrent transaction) is skipped."""
    if not keyed:
        db.session.add(row)
        db.session.flush()
        return True
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True


# --- reading ---------------------------------------------------------------------------------------------------


@contextmanager
def reader(user):
    """Render for ``user``: in their saved language and their site's time zone (outside a request too)."""
    locale = user.locale if user.locale in LANGUAGES.values() else DEFAULT
    zone = user.site.timezone if user.site is not None else current_app.config["BABEL_DEFAULT_TIMEZONE"]
    from flask_babel import _get_current_context

    with force_locale(locale):
        ctx = _get_current_context()
        before = getattr(ctx, "babel_tzinfo", None)
        ctx.babel_tzinfo = ZoneInfo(zone)
        try:
            yield
        finally:
            if before is None:
                vars(ctx).pop("babel_tzinfo", None)
            else:
                ctx.babel_tzinfo = before


def _value(name, value):
    """One param as the reader reads it (in the active locale and time zone)."""
    from flask_babel import get_timezone

    locale = get_locale() or DEFAULT
    if isinstance(value, dict):  # {"zh": …, "en": …}: a name or label in both languages
        return value.get("zh" if locale.language == "zh" else "en") or value.get("zh") or ""
    if value is None:
        return ""
    if name.endswith("_at"):
        return format_datetime(
            datetime.fromisoformat(value),
            "short" if locale.language == "en" else "medium",
            tzinfo=get_timezone(),
            locale=locale,
        )
    if name.endswith("_on"):
        return format_date(date.fromisoformat(value), "medium", locale=locale)
    if name == "clock":
        return gettext(CLOCK_NAMES.get(value, value))
    return value


def message(kind, params):
    """The notification's text (plain, not markup: templates escape it) in the active language."""
    values = {name: _value(name, value) for name, value in (params or {}).items()}
    try:
        return gettext(KINDS[kind].message, **values)
    except (KeyError, ValueError, TypeError):  # a message whose params changed since the row was written
        return str(KINDS[kind].label)


def link(subject_type, subject_id, external=False):
    if subject_type == "survey":  # the public page of the survey, its token rebuilt from the row (surveys.services)
        from ..surveys import services as surveys
        from ..surveys.models import Survey

        preloaded = g.get("preloaded_surveys", {}) if has_request_context() else {}
        survey = preloaded.get(subject_id) or (db.session.get(Survey, subject_id) if subject_id is not None else None)
        return (
            surveys.url_of(survey, external=external)
            if survey is not None
            else url_for("home.index", _external=external)
        )
    endpoint, arg = LINKS[subject_type]
    kwargs = {arg: subject_id} if arg and subject_id is not None else {}
    return url_for(endpoint, _external=external, **kwargs)


def preload_links(notes):
    """Load at once what the links of ``notes`` need (a survey's link carries its token, made from its row): the
    links then find their rows in the session, one query for a page of notifications, not one each."""
    ids = [n.subject_id for n in notes if n.subject_type == "survey" and n.subject_id is not None]
    if ids:
        from ..surveys.models import Survey

        g.preloaded_surveys = {s.id: s for s in db.session.scalars(sa.select(Survey).where(Survey.id.in_(ids)))}


def action(note, user, external=False):
    """A second link a notification may carry, (label, url), or None: the warranty digest starts a renewal request
    for the units expiring soon, for the users who may ask for one (a client's administrators and IT staff)."""
    if note.kind == "warranty.digest" and user.role in (Role.CLIENT_ADMIN.value, Role.CLIENT_STAFF.value):
        return (
            gettext("Ask for a renewal quote for the units expiring soon"),
            url_for("renewals.request_quote", state="expiring", _external=external),
        )
    return None


def both(render):
    """``{"zh": …, "en": …}``: a value rendered in each language (a label, a bilingual name)."""
    out = {}
    for code, locale in LANGUAGES.items():
        with force_locale(locale):
            out[code] = str(render())
    return out


def moment(value):
    """A datetime (in UTC, whatever zone it was computed in) or a date, as ISO 8601 for a notification's params."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat() if isinstance(value, date) else value


def mine(user):
    """The user's notifications that they may still see: ``may_see`` in SQL. A user moved to another school (or
    client) since keeps no window on the old one's objects through their notifications, nor their e-mails."""
    criteria = [Notification.user_id == user.id]
    if not user.is_vendor:
        criteria.append(Notification.client_id == user.client_id)
        if user.site_id is not None:
            criteria.append(Notification.site_id == user.site_id)
    return sa.and_(*criteria)


def unread_count(user):
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(mine(user), Notification.read_at.is_(None))
    )


def mark_read(user, ids=None):
    """Mark the user's notifications (``ids``, or all) read. Only the user's own rows are touched."""
    query = sa.update(Notification).where(mine(user), Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    return db.session.execute(query.values(read_at=utcnow())).rowcount
