"""Issuing a document: the request (a row with its number, written by the POST), the rendering (by the job worker:
the data gathered, the HTML rendered in the requester's language, the PDF stored with its SHA-256), and the check of
a hash (``/verify``)."""

import hashlib
import io
import logging
import re
import time as clock
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import segno
import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_babel import force_locale, gettext
from sqlalchemy.orm import joinedload, selectinload

from .. import storage
from ..complaints.models import Complaint
from ..contracts.models import Contract
from ..equipment.models import Equipment
from ..extensions import db
from ..inspections.models import Visit
from ..orgs.models import Site, Vendor
from ..renewals.models import RenewalCoverage
from ..sequence import next_in_year
from ..tickets.models import Ticket
from ..types import utcnow
from . import pdf
from .models import IssuedCounter, IssuedDocument, Kind, State

log = logging.getLogger(__name__)
SHA256 = re.compile(r"[0-9a-f]{64}")
CLOCKS = ("response", "proposal", "on_site", "resolution")


def next_number(kind, year):
    return f"{Kind(kind).prefix}-{year}-{next_in_year(IssuedCounter, year):05d}"


def issuer_names(user):
    """The issuer's organisation in both languages: the vendor for its staff, else the school or the client."""
    org = Vendor.current() if user.is_vendor else user.organisation
    if org is None:
        return "", ""
    return org.name_zh, org.name_en or ""


def request_document(kind, user, *, client_id, language, site_id=None, contract_id=None, start=None, end=None):
    """The row of a document to issue (pending), numbered; the caller commits and then enqueues ``enqueue``."""
    now = utcnow()
    zh, en = issuer_names(user)
    doc = IssuedDocument(
        kind=Kind(kind).value,
        number=next_number(kind, now.year),
        client_id=client_id,
        site_id=site_id,
        contract_id=contract_id,
        period_start=start,
        period_end=end,
        language=language,
        issued_by_id=user.id,
        issuer_org_zh=zh,
        issuer_org_en=en,
        requested_at=now,
        state=State.PENDING.value,
    )
    db.session.add(doc)
    db.session.flush()
    return doc


def enqueue(doc_id):
    """Hand the rendering to the job worker; a queue that is down leaves the document pending (shown as such)."""
    from .jobs import render_issued_task

    try:
        render_issued_task(doc_id)
    except Exception:  # noqa: BLE001 - the request has committed; the page says it is still pending
        log.exception("Could not enqueue the rendering of issued document %s", doc_id)


# ---------------------------------------------------------------- the data


def utc_bounds(start, end_inclusive, zone):
    """The UTC moments [start, end] of local dates (the end day included)."""
    tz = ZoneInfo(zone)
    lo = datetime.combine(start, time(0), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(end_inclusive + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return lo, hi


@dataclass
class Clock:
    name: str
    due: datetime | None
    met: datetime | None
    waived: bool
    late: bool


def ticket_clocks(ticket, now):
    """The four clocks of a ticket: due, met, waived, late (met after its due time, still open past it, or
    recorded as breached)."""
    waived = set(filter(None, ticket.waived.split(",")))
    breached = set(filter(None, ticket.breached.split(",")))
    result = []
    for name in CLOCKS:
        due, met = getattr(ticket, f"{name}_due"), getattr(ticket, f"{name}_met")
        late = name in breached or (
            due is not None and (met > due if met else (now > due and name not in waived and ticket.is_open))
        )
        result.append(Clock(name, due, met, name in waived, bool(late)))
    return result


def scorecard_for(contract, start, end_inclusive):
    """The scorecard's rows from ``portal.scorecard.metrics`` (None while that module has no bodies)."""
    from ..scorecard import metrics

    try:
        return metrics.scorecard(
            metrics.Scope(client_id=contract.client_id, contract_id=contract.id),
            metrics.Period("custom", start, end_inclusive + timedelta(days=1)),
        )
    except NotImplementedError:
        return None


def evidence_data(doc, now):
    contract = db.session.get(Contract, doc.contract_id)
    zone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    lo, hi = utc_bounds(doc.period_start, doc.period_end, zone)
    tickets = db.session.scalars(
        sa.select(Ticket)
        .where(Ticket.contract_id == contract.id, Ticket.filed_at >= lo, Ticket.filed_at < hi)
        .options(joinedload(Ticket.site))
        .order_by(Ticket.filed_at, Ticket.id)
    ).all()
    visits = db.session.scalars(
        sa.select(Visit)
        .where(Visit.contract_id == contract.id, Visit.due_on >= doc.period_start, Visit.due_on <= doc.period_end)
        .options(joinedload(Visit.site))
        .order_by(Visit.due_on, Visit.id)
    ).all()
    # Complaints name no contract: those about this contract's tickets, and those of its schools (or of the
    # whole client) that name no ticket.
    contract_sites = sa.select(Equipment.site_id).where(Equipment.contract_id == contract.id)
    complaints = db.session.scalars(
        sa.select(Complaint)
        .outerjoin(Ticket, Complaint.ticket_id == Ticket.id)
        .where(
            Complaint.client_id == contract.client_id,
            Complaint.received_at >= lo,
            Complaint.received_at < hi,
            sa.or_(
                Ticket.contract_id == contract.id,
                sa.and_(
                    Complaint.ticket_id.is_(None),
                    sa.or_(Complaint.site_id.is_(None), Complaint.site_id.in_(contract_sites)),
                ),
            ),
        )
        .options(joinedload(Complaint.site))
        .order_by(Complaint.received_at, Complaint.id)
    ).all()
    ratings = ratings_of(contract, lo, hi, doc.period_start, doc.period_end)
    return dict(
        contract=contract,
        client=contract.client,
        tickets=[(t, ticket_clocks(t, now)) for t in tickets],
        visits=visits,
        complaints=complaints,
        ratings=ratings,
        late_clocks=sum(c.late for _t, cs in ((t, ticket_clocks(t, now)) for t in tickets) for c in cs),
        scorecard=scorecard_for(contract, doc.period_start, doc.period_end),
    )


def ratings_of(contract, lo, hi, start, end):
    """Every rating given in the period: (when, source, number, rating, comment), oldest first."""
    rows = []
    for t in db.session.scalars(
        sa.select(Ticket).where(
            Ticket.contract_id == contract.id, Ticket.rating.is_not(None), Ticket.closed_at >= lo, Ticket.closed_at < hi
        )
    ):
        rows.append((t.closed_at, "ticket", t.number, t.rating, t.rating_comment))
    for v in db.session.scalars(
        sa.select(Visit).where(
            Visit.contract_id == contract.id,
            Visit.satisfaction.is_not(None),
            Visit.signed_at >= lo,
            Visit.signed_at < hi,
        )
    ):
        rows.append((v.signed_at, "visit", v.kind_enum.label, v.satisfaction, v.sign_comment))
    try:
        from ..surveys.models import Survey
    except ImportError:  # pragma: no cover
        Survey = None
    if Survey is not None:
        for s in db.session.scalars(
            sa.select(Survey).where(
                Survey.contract_id == contract.id,
                Survey.rating.is_not(None),
                Survey.answered_at >= lo,
                Survey.answered_at < hi,
            )
        ):
            rows.append((s.answered_at, "survey", s.recipient_name, s.rating, s.comment))
    rows.sort(key=lambda r: r[0])
    return rows


def certificate_data(doc, now):
    site = db.session.get(Site, doc.site_id)
    units = db.session.scalars(
        sa.select(Equipment)
        .where(Equipment.site_id == site.id)
        .options(joinedload(Equipment.model), joinedload(Equipment.contract), selectinload(Equipment.extensions))
        .order_by(Equipment.contract_id, Equipment.model_id, Equipment.serial, Equipment.id)
    ).all()
    cover = {}
    if units:
        for c in db.session.scalars(
            sa.select(RenewalCoverage)
            .join(Equipment)
            .where(Equipment.site_id == site.id)
            .order_by(RenewalCoverage.starts_on)
        ):
            cover.setdefault(c.equipment_id, []).append(c)
    return dict(
        site=site,
        client=site.client,
        units=units,
        cover=cover,
        extension_count=sum(len(u.extensions) for u in units),
        extension_days=sum(e.days for u in units for e in u.extensions),
    )


# ---------------------------------------------------------------- rendering


def qr_data_uri(url):
    """The verify URL as a QR code, an SVG ``data:`` URI for an <img> (nothing inserted into the HTML as markup)."""
    return segno.make(url, error="m").svg_data_uri(scale=3, border=1)


def verify_url(doc):
    return url_for("verify.index", number=doc.number, _external=True)


def css_string(text):
    """``text`` as a CSS string literal (for ``content:`` in the page margins)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    text = text.replace("<", "\\3c ").replace(">", "\\3e ").replace("&", "\\26 ")
    return f'"{text}"'


def page_css(title, doc, now):
    """The style sheet of the page margins, built here (not in the template, where text would be escaped for HTML
    rather than for CSS): the title, the number, the generated time, "page X of Y" in the document's language."""
    from ..i18n import format_datetime

    page = gettext("Page %(page)s of %(pages)s", page="\x00", pages="\x01")
    before, _, rest = page.partition("\x00")
    middle, _, after = rest.partition("\x01")
    pages = " ".join(
        part
        for part in (
            css_string(before) if before else "",
            "counter(page)",
            css_string(middle) if middle else "",
            "counter(pages)",
            css_string(after) if after else "",
        )
        if part
    )
    generated = css_string(gettext("Generated %(time)s", time=format_datetime(now, "medium")))
    small = "font-size: 7.5pt; color: #555;"
    return (
        f"html {{ font-family: {css_string(pdf.FAMILY)}; }}\n"
        f"@page {{ @top-left {{ content: {css_string(title)}; {small} }} "
        f"@top-right {{ content: {css_string(doc.number)}; {small} }} "
        f"@bottom-left {{ content: {generated}; {small} }} "
        f"@bottom-right {{ content: {pages}; {small} }} }}\n"
        "@page :first { @top-left { content: none; } @top-right { content: none; } }"
    )


def render_html(doc, now=None):
    """The document's HTML in its language and the style sheet of its page margins (inside a request context: the
    worker makes one): (html, css)."""
    now = now or utcnow()
    with force_locale(doc.language):
        data = evidence_data(doc, now) if doc.kind == Kind.EVIDENCE_PACK.value else certificate_data(doc, now)
        url = verify_url(doc)
        if doc.kind == Kind.EVIDENCE_PACK.value:
            template, title = "reports/pdf/evidence.html", f"{gettext('Evidence pack')} · {data['contract'].number}"
        else:
            template, title = "reports/pdf/certificate.html", f"{gettext('Warranty certificate')} · {data['site'].name}"
        html = render_template(
            template, doc=doc, now=now, vendor=Vendor.current(), verify=url, qr=qr_data_uri(url), title=title, **data
        )
        return html, page_css(title, doc, now)


def render_issued(doc_id):
    """The worker's task: render the pending document ``doc_id``, keep its PDF and its hash. Nothing to do for a
    document that is not pending (a task run twice).

    The data are read and the HTML rendered in a read-only transaction (a GET request context: on SQLite a plain
    ``BEGIN``, no write lock), which ends before WeasyPrint runs (seconds to a minute for a large contract); only
    then does a short transaction write the result."""
    started = clock.perf_counter()
    try:
        with current_app.test_request_context(base_url=current_app.config["PORTAL_BASE_URL"]):
            doc = db.session.get(IssuedDocument, doc_id)
            if doc is None or doc.state != State.PENDING.value:
                db.session.rollback()
                return None
            html, css = render_html(doc)
            db.session.rollback()  # the reading ends here
            data, pages = pdf.render(html, css)
    except Exception as error:  # noqa: BLE001 - recorded on the row, shown on its page
        log.exception("issued document %s could not be rendered", doc_id)
        db.session.rollback()
        doc = db.session.get(IssuedDocument, doc_id)
        if doc is not None and doc.state == State.PENDING.value:
            doc.state, doc.error = State.FAILED.value, str(error)[:500]
            db.session.commit()
        return doc
    doc = db.session.get(IssuedDocument, doc_id, populate_existing=True)
    if doc is None or doc.state != State.PENDING.value:  # rendered meanwhile by another worker
        db.session.rollback()
        return doc
    stored = storage.stage(io.BytesIO(data))
    doc.storage_key, doc.sha256, doc.size, doc.pages = stored.key, stored.sha256, stored.size, pages
    doc.seconds = round(clock.perf_counter() - started, 2)
    doc.issued_at, doc.state = utcnow(), State.DONE.value
    db.session.commit()
    return doc


def digest(data):
    return hashlib.sha256(data).hexdigest()


def find_issued(sha256):
    """The issued document with this hash, or None (a malformed hash included)."""
    value = (sha256 or "").strip().lower()
    if not SHA256.fullmatch(value):
        return None
    return db.session.scalar(
        sa.select(IssuedDocument)
        .where(IssuedDocument.sha256 == value, IssuedDocument.state == State.DONE.value)
        .options(
            joinedload(IssuedDocument.client), joinedload(IssuedDocument.site), joinedload(IssuedDocument.contract)
        )
    )
