"""The notifications that time alone causes: clocks at risk, faults with no response, overdue complaints, quotes
about to expire, visits due, overdue or waiting for sign-off, service logs waiting for signature, and the monthly
warranty digest. The periodic jobs (``portal.jobs.schedule``) and ``flask sweep`` call these.

Each works like the sweeps (``portal.sweeps``): its rows in small batches, each batch committed; and each tells
with a key, so a run twice, or on two workers at once, tells nobody twice (the database keeps one notification per
user and key). Each returns how many notifications it wrote.
"""

from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from .. import sweeps
from ..auth.models import User
from ..complaints.models import Complaint
from ..equipment.models import Equipment
from ..extensions import db
from ..inspections.models import ServiceLog, Visit, VisitStatus
from ..renewals.models import QuoteStatus, RenewalQuote
from ..roles import Role
from ..tickets.models import CLOCKS, Ticket
from ..tickets.services import moment as to_second
from ..types import utcnow
from .models import Notification, Robot
from .services import both, client_admins, managers, moment, site_admins, site_users, tell, tell_robots, vendor_staff

NO_RESPONSE = timedelta(hours=24)  # the bids' liability promise: no response in 24 hours
CATCH_UP = timedelta(days=7)  # how far back a sweep looks for what it has not told yet (a worker stopped that long)
QUOTE_WARNING = timedelta(days=7)
VISIT_WARNING = timedelta(days=7)
SIGNOFF_AFTER = timedelta(days=1)
LOOK_BACK = timedelta(days=30)  # daily reminders: older backlogs are not told again on a first run
WARRANTY_SOON, WARRANTY_SOONER = 90, 30


def names(obj):
    """A bilingual name (a client, a site) as a param: each reader gets theirs."""
    return {"zh": obj.name_zh, "en": obj.name_en or obj.name_zh}


# ---------------------------------------------------------------- faults


def per_transaction(name, load):
    """``load()`` once per transaction: a sweep recording hundreds of breaches asks who the managers are once."""
    cache = db.session.info.setdefault("scheduled", {})
    if name not in cache:
        cache[name] = load()
    return cache[name]


@sa.event.listens_for(sa.orm.Session, "after_commit")
@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _forget(session, *_args):
    session.info.pop("scheduled", None)


def breached(ticket, clock, due):
    """A breach was just recorded (once, by a sweep or a late step): tell the managers and the group robots. A
    breach older than the catch-up window (a first run after an upgrade, on years of tickets) is recorded on the
    timeline, but told to nobody: it is news to no one."""
    if due is not None and due < utcnow() - CATCH_UP:
        return
    params = dict(number=ticket.number, clock=clock, due_at=moment(due))
    key = f"breached:{clock}:{ticket.id}"
    tell("ticket.breached", ticket, per_transaction("managers", managers), key=key, **params)
    if per_transaction("robots", lambda: db.session.scalar(sa.select(Robot.id).where(Robot.active.is_(True)).limit(1))):
        tell_robots("ticket.breached", ticket, key=key, **params)


def _waived(ticket):
    return [name for name in ticket.waived.split(",") if name]


def tickets_at_risk(now=None):
    """Warn the assignee (everyone on duty if nobody is assigned) when a clock passes its risk time, once per clock
    and due time: a clock moved by a pause warns again."""
    now = to_second(now)
    windows = [
        sa.and_(
            getattr(Ticket, f"{name}_met").is_(None),
            getattr(Ticket, f"{name}_risk") <= now,
            getattr(Ticket, f"{name}_due") > now,
        )
        for name in CLOCKS
    ]
    query = (
        sa.select(Ticket)
        .where(Ticket.is_open.is_(True), Ticket.next_risk <= now, sa.or_(*windows))
        .options(selectinload(Ticket.assignee))
    )
    staff, made = [], []

    def warn(ticket):
        at_risk = {}
        for name in CLOCKS:
            due, risk = getattr(ticket, f"{name}_due"), getattr(ticket, f"{name}_risk")
            if (
                getattr(ticket, f"{name}_met") is not None
                or name in _waived(ticket)
                or due is None
                or not risk <= now < due
            ):
                continue
            at_risk[f"at_risk:{name}:{ticket.id}:{moment(due)}"] = (name, due)
        # A clock stays at risk for a while, and this runs every minute: the warnings already given are found in
        # one indexed query (the key leads the unique index), not tried again one by one.
        told = set(db.session.scalars(sa.select(Notification.key).where(Notification.key.in_(at_risk))))
        for key, (name, due) in at_risk.items():
            if key in told:
                continue
            assignee = ticket.assignee
            if assignee is not None and assignee.active:
                users = [assignee]
            else:
                staff[:] = staff or vendor_staff()
                users = staff
            made.append(
                len(
                    tell("ticket.at_risk", ticket, users, key=key, number=ticket.number, clock=name, due_at=moment(due))
                )
            )

    sweeps.in_batches(query, Ticket, Ticket.filed_at, warn)
    return sum(made)


def tickets_without_response(now=None):
    """Tell the managers, the client's administrators and the group robots of a fault with no response 24 hours
    after it was filed (once per fault)."""
    now = to_second(now)
    query = sa.select(Ticket).where(
        Ticket.is_open.is_(True),
        Ticket.filed_at <= now - NO_RESPONSE,
        Ticket.filed_at > now - NO_RESPONSE - CATCH_UP,
        Ticket.response_met.is_(None),
    )
    bosses, admins, made = [], {}, []

    def tell_of(ticket):
        bosses[:] = bosses or managers()
        if ticket.client_id not in admins:
            admins[ticket.client_id] = client_admins(ticket.client_id)
        key, params = f"no_response:{ticket.id}", dict(number=ticket.number, filed_at=moment(ticket.filed_at))
        made.append(len(tell("ticket.no_response", ticket, bosses + admins[ticket.client_id], key=key, **params)))
        tell_robots("ticket.no_response", ticket, key=key, **params)

    sweeps.in_batches(query, Ticket, Ticket.filed_at, tell_of)
    return sum(made)


# ---------------------------------------------------------------- complaints and quotes


def complaints_overdue(now=None):
    """Tell the managers and the group robots of a complaint whose answer is overdue, once per round."""
    now = to_second(now)
    query = sa.select(Complaint).where(
        Complaint.is_open.is_(True), Complaint.due_at < now, Complaint.due_at > now - CATCH_UP
    )
    bosses, made = [], []

    def tell_of(complaint):
        bosses[:] = bosses or managers()
        key = f"complaint.overdue:{complaint.id}:{complaint.round}"
        params = dict(number=complaint.number, due_at=moment(complaint.due_at))
        made.append(len(tell("complaint.overdue", complaint, bosses, key=key, **params)))
        tell_robots("complaint.overdue", complaint, key=key, **params)

    sweeps.in_batches(query, Complaint, Complaint.due_at, tell_of)
    return sum(made)


def quotes_expiring(now=None):
    """Remind the client's administrators of an issued quote they have not answered that expires within 7 days."""
    today = sweeps.local_today(now)
    query = sa.select(RenewalQuote).where(
        RenewalQuote.status == QuoteStatus.ISSUED.value,
        RenewalQuote.valid_until >= today,
        RenewalQuote.valid_until <= today + QUOTE_WARNING,
    )
    made = []

    def tell_of(quote):
        made.append(
            len(
                tell(
                    "quote.expiring",
                    quote,
                    client_admins(quote.client_id),
                    key=f"quote.expiring:{quote.id}",
                    number=quote.number,
                    valid_on=moment(quote.valid_until),
                )
            )
        )

    sweeps.in_batches(query, RenewalQuote, RenewalQuote.valid_until, tell_of)
    return sum(made)


# ---------------------------------------------------------------- inspections and the service log


def _visit_params(visit):
    return dict(
        visit=both(lambda: visit.kind_enum.label), site=names(visit.site or visit.client), due_on=moment(visit.due_on)
    )


def visits_due(now=None):
    """A visit due within 7 days: to the school's users (the client's administrators for a visit of the whole
    client) and to the vendor's agents; once per visit and due date."""
    today = sweeps.local_today(now)
    query = (
        sa.select(Visit)
        .where(
            Visit.status == VisitStatus.SCHEDULED.value, Visit.due_on >= today, Visit.due_on <= today + VISIT_WARNING
        )
        .options(selectinload(Visit.site), selectinload(Visit.client))
    )
    agents, made = [], []

    def tell_of(visit):
        agents[:] = agents or [user for user in vendor_staff() if user.role == Role.VENDOR_AGENT.value]
        school = site_users(visit.client_id, visit.site_id) if visit.site_id else client_admins(visit.client_id)
        made.append(
            len(
                tell(
                    "visit.due",
                    visit,
                    school + agents,
                    key=f"visit.due:{visit.id}:{visit.due_on}",
                    **_visit_params(visit),
                )
            )
        )

    sweeps.in_batches(query, Visit, Visit.due_on, tell_of)
    return sum(made)


def visits_overdue(now=None):
    """A visit past its due date and not recorded: to the managers, once per visit and due date."""
    today = sweeps.local_today(now)
    query = (
        sa.select(Visit)
        .where(Visit.overdue(today), Visit.due_on >= today - LOOK_BACK)
        .options(selectinload(Visit.site), selectinload(Visit.client))
    )
    bosses, made = [], []

    def tell_of(visit):
        bosses[:] = bosses or managers()
        made.append(
            len(
                tell(
                    "visit.overdue",
                    visit,
                    bosses,
                    key=f"visit.overdue:{visit.id}:{visit.due_on}",
                    **_visit_params(visit),
                )
            )
        )

    sweeps.in_batches(query, Visit, Visit.due_on, tell_of)
    return sum(made)


def visits_waiting_signoff(now=None):
    """A visit recorded more than a day ago and not signed off: remind the school's administrator (the client's,
    for a visit of the whole client, or a school without one), once per recording."""
    now = to_second(now)
    query = (
        sa.select(Visit)
        .where(
            Visit.status == VisitStatus.DONE.value,
            Visit.recorded_at <= now - SIGNOFF_AFTER,
            Visit.recorded_at > now - LOOK_BACK,
        )
        .options(selectinload(Visit.site), selectinload(Visit.client))
    )
    made = []

    def tell_of(visit):
        users = site_admins(visit.site_id) or client_admins(visit.client_id)
        made.append(
            len(
                tell(
                    "visit.signoff",
                    visit,
                    users,
                    key=f"visit.signoff:{visit.id}:{moment(visit.recorded_at)}",
                    **_visit_params(visit),
                )
            )
        )

    sweeps.in_batches(query, Visit, Visit.recorded_at, tell_of)
    return sum(made)


def logs_waiting_signature(now=None):
    """Service log entries not signed: one reminder to the client's administrators per client and working day."""
    today = sweeps.local_today(now)
    logs = db.session.scalars(
        sa.select(ServiceLog)
        .where(ServiceLog.signed_at.is_(None), ServiceLog.work_date >= today - LOOK_BACK, ServiceLog.work_date <= today)
        .order_by(ServiceLog.client_id, ServiceLog.work_date, ServiceLog.id)
    ).all()
    days = defaultdict(list)
    for entry in logs:
        days[entry.client_id, entry.work_date].append(entry)
    admins, made = {}, 0
    for (client_id, work_date), entries in days.items():
        if client_id not in admins:
            admins[client_id] = client_admins(client_id)
        engineers = "、".join(dict.fromkeys(entry.engineers for entry in entries if entry.engineers))
        made += len(
            tell(
                "log.signature",
                entries[0],
                admins[client_id],
                key=f"log.signature:{client_id}:{work_date}",
                work_on=moment(work_date),
                engineers=engineers,
            )
        )
        db.session.commit()
    db.session.commit()
    return made


# ---------------------------------------------------------------- warranty


def warranty_digest(now=None):
    """The month's warranty digest: to each client administrator, the client's units whose warranty (or renewal)
    ends within 90 days and within 30 days; to each school administrator, their school's. Counted in SQL, grouped;
    recipients with nothing ending are skipped. Once per user and month."""
    today = sweeps.local_today(now)
    soon, sooner = today + timedelta(days=WARRANTY_SOON), today + timedelta(days=WARRANTY_SOONER)
    ending = (Equipment.covered_until >= today, Equipment.covered_until <= soon)
    counts = (sa.func.count(), sa.func.sum(sa.case((Equipment.covered_until <= sooner, 1), else_=0)))
    by_client = {
        client_id: (n90, int(n30 or 0))
        for client_id, n90, n30 in db.session.execute(
            sa.select(Equipment.client_id, *counts).where(*ending).group_by(Equipment.client_id)
        )
    }
    by_site = {
        (client_id, site_id): (n90, int(n30 or 0))
        for client_id, site_id, n90, n30 in db.session.execute(
            sa.select(Equipment.client_id, Equipment.site_id, *counts)
            .where(*ending)
            .group_by(Equipment.client_id, Equipment.site_id)
        )
    }
    key = f"warranty.digest:{today:%Y-%m}"
    made = 0
    admins = (
        db.session.scalars(
            sa.select(User)
            .where(User.active.is_(True), User.role == Role.CLIENT_ADMIN.value, User.client_id.in_(by_client))
            .order_by(User.id)
        ).all()
        if by_client
        else []
    )
    for user in admins:
        n90, n30 = by_client[user.client_id]
        made += len(
            tell("warranty.digest", ("warranty", user.client_id, None), [user], key=key, count_90=n90, count_30=n30)
        )
    schools = (
        db.session.scalars(
            sa.select(User)
            .where(
                User.active.is_(True), User.role == Role.SITE_ADMIN.value, User.site_id.in_([s for _c, s in by_site])
            )
            .order_by(User.id)
        ).all()
        if by_site
        else []
    )
    for user in schools:
        if (user.client_id, user.site_id) not in by_site:
            continue
        n90, n30 = by_site[user.client_id, user.site_id]
        made += len(
            tell(
                "warranty.digest",
                ("warranty", user.client_id, user.site_id),
                [user],
                key=key,
                count_90=n90,
                count_30=n30,
            )
        )
    db.session.commit()
    return made
