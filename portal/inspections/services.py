"""Plans and their schedule, recording and signing visits, findings turned into fault reports, the service log,
and the calendar feed."""

import hashlib
import secrets

import sqlalchemy as sa

from ..equipment.models import Equipment
from ..equipment.models import Status as EquipmentStatus
from ..extensions import db
from ..i18n import _l
from ..notify import events as notify
from ..steps import Refused
from ..surveys import services as surveys
from ..tickets import services as tickets
from ..types import utcnow
from . import schedule
from .models import (
    SOON,
    CalendarFeed,
    InspectionPlan,
    ServiceLog,
    UnitResult,
    Visit,
    VisitAttachment,
    VisitStatus,
    VisitUnit,
)


class VisitRefused(Refused):
    """Refused: the message says why."""


def moment(now=None):
    return (now or utcnow()).replace(microsecond=0)


# ---------------------------------------------------------------- plans and the schedule


def plan_sites(plan):
    """The sites a plan's inspections visit: those chosen, or every site with units of the contract."""
    if plan.sites:
        return list(plan.sites)
    from ..orgs.models import Site

    ids = sa.select(Equipment.site_id).where(Equipment.contract_id == plan.contract_id).distinct()
    return db.session.scalars(sa.select(Site).where(Site.id.in_(ids)).order_by(Site.name_zh)).all()


def generate(plan, today):
    """(Re)build the plan's schedule: visits not yet recorded from today on are replaced by the plan's dates;
    recorded visits and past ones stay as they are. Returns the number of visits scheduled."""
    contract = plan.contract
    period = schedule.service_period(contract.accepted_on, contract.warranty_months)
    db.session.execute(
        sa.delete(Visit).where(
            Visit.plan_id == plan.id, Visit.status == VisitStatus.SCHEDULED.value, Visit.due_on >= today
        )
    )
    if period is None:
        return 0
    start, end = period
    kept = {(v.kind, v.site_id, v.due_on) for v in db.session.scalars(sa.select(Visit).where(Visit.plan_id == plan.id))}
    sites = plan_sites(plan)
    count = 0
    for due in schedule.plan_dates(
        frequency=plan.frequency,
        months=plan.month_list,
        phone_visits=plan.phone_visits,
        return_visits=plan.return_visits,
        end_of_life=plan.end_of_life,
        start=start,
        end=end,
    ):
        if due.due_on < today:
            continue
        for site_id in [s.id for s in sites] if due.kind in ("inspection", "end_of_life") else [None]:
            if (due.kind, site_id, due.due_on) in kept:
                continue
            db.session.add(
                Visit(
                    plan_id=plan.id,
                    contract_id=contract.id,
                    client_id=contract.client_id,
                    site_id=site_id,
                    kind=due.kind,
                    due_on=due.due_on,
                    window_start=due.window_start,
                    status=VisitStatus.SCHEDULED.value,
                )
            )
            count += 1
    db.session.flush()
    return count


def save_plan(contract, by, *, frequency, months, phone_visits, return_visits, end_of_life, sites, today):
    plan = db.session.scalar(sa.select(InspectionPlan).where(InspectionPlan.contract_id == contract.id))
    if plan is None:
        plan = InspectionPlan(contract=contract, client_id=contract.client_id)
        db.session.add(plan)
    plan.frequency, plan.months = frequency, ",".join(str(m) for m in sorted(months))
    plan.phone_visits, plan.return_visits, plan.end_of_life = phone_visits, return_visits, end_of_life
    plan.sites = list(sites)
    plan.updated_by_id, plan.updated_at = by.id, moment()
    db.session.flush()
    return plan, generate(plan, today)


def add_visit(contract, site, *, kind, due_on):
    """An extra visit outside the plan (an incident, a sensitive period, a request)."""
    visit = Visit(
        contract_id=contract.id,
        client_id=contract.client_id,
        site_id=site.id if site else None,
        kind=kind,
        due_on=due_on,
        window_start=due_on,
        status=VisitStatus.SCHEDULED.value,
    )
    db.session.add(visit)
    db.session.flush()
    return visit


# ---------------------------------------------------------------- recording and signing


def site_units(visit):
    """The units an inspection of the visit's site checks: the contract's units there, not retired or replaced."""
    if visit.site_id is None:
        return []
    return db.session.scalars(
        sa.select(Equipment)
        .where(
            Equipment.site_id == visit.site_id,
            Equipment.contract_id == visit.contract_id,
            Equipment.status.notin_([EquipmentStatus.RETIRED.value, EquipmentStatus.REPLACED.value]),
        )
        .order_by(Equipment.building, Equipment.room, Equipment.serial)
    ).all()


def record(
    visit,
    by,
    *,
    done_on,
    method,
    engineers,
    hardware,
    software,
    risks,
    recommendations,
    results,
    attachments=(),
    now=None,
):
    """Record (or amend, after a dispute) what the visit did. ``results`` maps unit ids to (result, note)."""
    if visit.status == VisitStatus.SIGNED.value:
        raise VisitRefused(_l("This visit is signed off by the client: it can no longer be changed."))
    now = moment(now)
    visit.done_on, visit.method, visit.engineers = done_on, method, engineers
    visit.hardware, visit.software, visit.risks, visit.recommendations = hardware, software, risks, recommendations
    visit.recorded_by_id, visit.recorded_at = by.id, now
    visit.status = VisitStatus.DONE.value
    existing = {vu.equipment_id: vu for vu in visit.units}
    for unit_id, (result, note) in results.items():
        row = existing.get(unit_id)
        if row is None:
            visit.units.append(VisitUnit(equipment_id=unit_id, result=result, note=note))
        else:
            row.result, row.note = result, note
    for item in attachments:
        visit.attachments.append(VisitAttachment(uploaded_at=now, **item))
    db.session.flush()
    notify.visit_recorded(visit, by)
    return visit


def sign(visit, by, *, name, satisfaction, comment, now=None):
    if visit.status not in (VisitStatus.DONE.value, VisitStatus.DISPUTED.value):
        raise VisitRefused(_l("Only a recorded visit can be signed off."))
    visit.status = VisitStatus.SIGNED.value
    visit.signed_name, visit.signed_by_id, visit.signed_at = name, by.id, moment(now)
    visit.satisfaction, visit.sign_comment = satisfaction, comment or ""
    surveys.for_visit(visit, by, visit.signed_at)


def add_log(by, **values):
    """A day of work in the service log: it waits for the client's signature, and the client is told."""
    entry = ServiceLog(recorded_by_id=by.id, recorded_at=moment(), **values)
    db.session.add(entry)
    db.session.flush()
    notify.log_recorded(entry, by)
    return entry


def sign_log(entry, by, name, now=None):
    """The client's project lead signs a day of the service log with their name; a signature is final."""
    if entry.signed_at is not None:
        raise VisitRefused(_l("This entry is already signed."))
    entry.signed_name, entry.signed_by_id, entry.signed_at = name, by.id, moment(now)


def dispute(visit, by, *, reason, now=None):
    if visit.status != VisitStatus.DONE.value:
        raise VisitRefused(_l("Only a recorded visit awaiting sign-off can be disputed."))
    visit.status = VisitStatus.DISPUTED.value
    visit.dispute_reason, visit.disputed_at = reason, moment(now)


def open_ticket(row, by, *, severity="C", now=None):
    """A finding of an inspection as a fault report in one step, linked both ways (the row keeps the ticket)."""
    if row.ticket_id:
        raise VisitRefused(_l("A fault report is already open for this finding."))
    if row.result != UnitResult.ISSUE.value:
        raise VisitRefused(_l("Only an issue found can become a fault report."))
    visit, unit = row.visit, row.unit
    when = visit.done_on.isoformat() if visit.done_on else ""
    ticket = tickets.file_ticket(
        by,
        unit.site,
        unit,
        severity=severity,
        kind="unknown",
        channel="on_site",
        title=str(_l("Found in the inspection of %(date)s", date=when))[:200],
        description=row.note or str(_l("Issue found during an inspection.")),
        contact_name=unit.site.contact_name or by.name,
        contact_phone=unit.site.contact_phone or "",
        now=now,
    )
    row.ticket_id = ticket.id
    return ticket


# ---------------------------------------------------------------- counts for the home pages


def counts(user, today):
    """(overdue, due within 30 days, awaiting the client's sign-off) visits in the user's scope, in one query."""

    def total(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    # Only the visits any of the three can count are read: scheduled ones due up to the end of "soon", and those
    # awaiting sign-off (index ranges on (status, due_on)), not every visit of the years planned ahead and behind.
    wanted = sa.or_(
        sa.and_(Visit.status == VisitStatus.SCHEDULED.value, Visit.due_on <= today + SOON),
        Visit.status == VisitStatus.DONE.value,
    )
    row = db.session.execute(
        Visit.scope(
            sa.select(
                total(Visit.overdue(today)), total(Visit.due_soon(today)), total(Visit.status == VisitStatus.DONE.value)
            ).where(wanted),
            user,
        )
    ).one()
    return dict(zip(("overdue", "soon", "to_sign"), row, strict=True))


def last_inspection(user):
    """The latest recorded on-site inspection in the user's scope (a school administrator's home page)."""
    from .models import DONE_STATES

    # A recorded visit has its date; asking for one lets PostgreSQL read an index on done_on backwards from the
    # latest (descending, it would put the scheduled visits' NULLs first).
    return db.session.scalar(
        Visit.scope(sa.select(Visit), user)
        .where(
            Visit.status.in_(DONE_STATES),
            Visit.kind.in_(["inspection", "end_of_life", "extra"]),
            Visit.done_on.is_not(None),
        )
        .order_by(Visit.done_on.desc(), Visit.id.desc())
        .limit(1)
    )


# ---------------------------------------------------------------- the calendar feed


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed(user):
    """A new secret address for the user's calendar; the old one stops working. Returns the token (shown once in
    the address; only its hash is stored)."""
    token = secrets.token_urlsafe(24)
    feed = db.session.get(CalendarFeed, user.id) or CalendarFeed(user_id=user.id)
    feed.token_hash, feed.created_at = token_hash(token), moment()
    db.session.add(feed)
    return token


def revoke_feed(user):
    db.session.execute(sa.delete(CalendarFeed).where(CalendarFeed.user_id == user.id))


def feed_user(token):
    from ..auth.models import User

    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token)))
    user = db.session.get(User, feed.user_id) if feed else None
    return user if user is not None and user.active else None
