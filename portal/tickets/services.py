"""A fault report's life, and its clocks. Views call these and commit once; every refusal says why.

new → responded → in progress (remote) / on site → resolved → closed, with "waiting for the client" (the
resolution clock paused) and "reopened" (the client is not satisfied) on the way. Every step is a TicketEvent;
every clock met late, or not met in time, is recorded as breached for good.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from .. import sweeps
from ..equipment import warranty
from ..equipment.models import Equipment, WarrantyExtension
from ..equipment.models import Status as UnitStatus
from ..equipment.services import extend_warranty
from ..equipment.warranty import STOPPED_WORK_DAYS, WarrantyState
from ..extensions import db
from ..i18n import _l
from ..notify import events as notify
from ..roles import VENDOR
from ..sequence import next_in_year
from ..sla.calendar import WorkingHours
from ..sla.holidays import business_calendar
from ..sla.models import Clock, default_policy
from ..sla.services import policy_for
from ..steps import Refused
from ..surveys import services as surveys
from ..types import utcnow
from . import clocks
from .clocks import ClockState
from .models import (
    AUTO_CLOSE_DAYS,
    CLOCKS,
    OPEN,
    TRANSITIONS,
    Coverage,
    Kind,
    ReplacedPart,
    SpareLoan,
    Status,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketPhoto,
)

REPAIRS_BEFORE_REPLACEMENT = 2  # the same fault after two resolved repairs: replaced unconditionally


class TicketRefused(Refused):
    """A step the ticket's state, or the rules, do not allow; ``message`` says why, in the user's language."""


def moment(now=None):
    """The time of a step, to the second: the timeline and the clocks agree to the second."""
    return (now or utcnow()).replace(microsecond=0)


def next_number(year):
    return f"GZ-{year}-{next_in_year(TicketCounter, year):05d}"


def event(ticket, user, action, body="", internal=False, at=None):
    # Set from the event's side: appending to ticket.events would load the whole timeline first.
    entry = TicketEvent(
        ticket=ticket,
        user_id=user.id if user else None,
        action=action,
        body=(body or "")[:10000],
        internal=internal,
        at=at or moment(),
    )
    db.session.add(entry)
    return entry


def move(ticket, to):
    to = Status(to)
    if to not in TRANSITIONS[ticket.status_enum]:
        raise TicketRefused(
            _l("This ticket is “%(state)s”: it cannot become “%(to)s”.", state=ticket.status_enum.label, to=to.label)
        )
    ticket.status = to.value
    ticket.is_open = to in OPEN


# ---------------------------------------------------------------- clocks


def zone(ticket):
    return ZoneInfo(ticket.timezone)


def hours_of(ticket):
    return WorkingHours(ticket.day_starts, ticket.day_ends)


def calendar_for(ticket):
    """The holiday calendar, loaded only for working-hours clocks (a 7×24 clock does not need it)."""
    return business_calendar() if ticket.clock == Clock.WORKING.value else None


def apply_policy(ticket):
    """Copy the contract's SLA (clock, hours, minutes for the ticket's severity) onto the ticket: due times are
    fixed at filing and do not move when the policy is edited later."""
    policy = policy_for(ticket.contract_id) if ticket.contract_id else default_policy(None)
    target = policy.target(ticket.severity)
    ticket.clock, ticket.day_starts, ticket.day_ends = policy.clock, policy.day_starts, policy.day_ends
    for name in CLOCKS:
        setattr(ticket, f"{name}_minutes", getattr(target, name))


def schedule(ticket, calendar=None):
    """(Re)compute every due time: response, proposal and on-site from filing; resolution from filing (or the
    last reopening) plus the time spent waiting for the client (to the second). None while the ticket waits."""
    calendar = calendar or calendar_for(ticket)
    tz, hours = zone(ticket), hours_of(ticket)
    for name in CLOCKS:
        start = ticket.resolution_from if name == "resolution" else ticket.filed_at
        paused = ticket.paused_seconds if name == "resolution" else 0
        plan = clocks.schedule(
            start.astimezone(tz),
            getattr(ticket, f"{name}_minutes"),
            ticket.clock,
            calendar,
            hours,
            paused_seconds=paused,
        )
        setattr(ticket, f"{name}_due", plan.due)
        setattr(ticket, f"{name}_risk", plan.risk)
    if ticket.paused_at is not None:
        ticket.resolution_due = ticket.resolution_risk = None


def _names(csv):
    return [n for n in csv.split(",") if n]


def _add(csv, name):
    names = _names(csv)
    return ",".join(names + [name]) if name not in names else csv


def clock_state(ticket, name, now):
    return clocks.state(
        getattr(ticket, f"{name}_due"),
        getattr(ticket, f"{name}_risk"),
        getattr(ticket, f"{name}_met"),
        now,
        paused=name == "resolution" and ticket.paused_at is not None,
        waived=name in _names(ticket.waived),
    )


def loan_risk(loan):
    """When a loan's "original back" clock turns at risk (a quarter of its time left)."""
    return loan.lent_at + (loan.return_due - loan.lent_at) * (1 - clocks.RISK_SHARE)


def loan_state(loan, now):
    return clocks.state(loan.return_due, loan_risk(loan), loan.returned_at, now)


def clock_rows(ticket, now):
    """Each of the four clocks for display: (name, due, met, state)."""
    return [
        (name, getattr(ticket, f"{name}_due"), getattr(ticket, f"{name}_met"), clock_state(ticket, name, now))
        for name in CLOCKS
    ]


def refresh(ticket):
    """Derive the queue's columns: the nearest unmet due time, when it turns at risk, and when the breach sweep
    must next look at the ticket (the earliest due time not yet recorded as breached)."""
    pending = []
    if ticket.is_open:
        waived = _names(ticket.waived)
        for name in CLOCKS:
            due = getattr(ticket, f"{name}_due")
            if due is not None and getattr(ticket, f"{name}_met") is None and name not in waived:
                pending.append((due, getattr(ticket, f"{name}_risk"), name))
    loan = ticket.open_loan
    if loan is not None:
        pending.append((loan.return_due, loan_risk(loan), "return"))
    if not pending:
        ticket.next_due = ticket.next_risk = ticket.watch_at = None
        return
    due, risk, _ = min(pending)
    ticket.next_due, ticket.next_risk = due, risk
    breached = _names(ticket.breached)
    unrecorded = [d for d, _r, name in pending if name not in breached]
    ticket.watch_at = min(unrecorded) if unrecorded else None


def once(ticket, action, key, body="", at=None):
    """An event that happens at most once in a ticket's life (a breach, the automatic closing), whoever records
    it: a sweep or a user's step. The database keeps it unique by its key; a second copy is not inserted."""
    if ticket.id is None:
        db.session.flush()
    # The ticket's row first, then the event's key: a step and a sweep recording the same breach lock in the same
    # order (PostgreSQL), so one waits for the other instead of each waiting for the other. The sweep holds it already.
    db.session.execute(sa.select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
    return sweeps.insert_once(
        TicketEvent,
        ("ticket_id", "key"),
        ticket_id=ticket.id,
        key=key,
        action=action,
        body=body,
        at=at or moment(),
        internal=False,
        user_id=None,
    )


def record_breach(ticket, name, at=None):
    if name in _names(ticket.breached):
        return
    ticket.breached = _add(ticket.breached, name)
    if once(ticket, "breach", f"breach:{name}", name, at=at):
        from ..notify.scheduled import breached

        breached(ticket, name, at)


def check_breaches(ticket, now):
    for name in CLOCKS:
        if ticket.is_open and clock_state(ticket, name, now) is ClockState.BREACHED:
            record_breach(ticket, name, at=getattr(ticket, f"{name}_due"))
    loan = ticket.open_loan
    if loan is not None and loan_state(loan, now) is ClockState.BREACHED:
        record_breach(ticket, "return", at=loan.return_due)
    refresh(ticket)


def meet(ticket, name, at):
    """Mark a clock met at ``at`` (once); met late, the breach is recorded."""
    if getattr(ticket, f"{name}_met") is not None:
        return
    setattr(ticket, f"{name}_met", at)
    due = getattr(ticket, f"{name}_due")
    if due is not None and at > due and name not in _names(ticket.waived):
        record_breach(ticket, name, at=due)


def record_breaches(now=None, batch=None):
    """Record every breach that is due: the tickets whose earliest unrecorded due time has passed. A sweep (see
    ``portal.sweeps``): run from cron or the job worker, never by a page. Returns how many tickets it looked at."""
    now = moment(now)
    query = sa.select(Ticket).where(Ticket.watch_at < now).options(selectinload(Ticket.loans))
    return sweeps.in_batches(
        query, Ticket, Ticket.watch_at, lambda ticket: check_breaches(ticket, now), batch or sweeps.BATCH
    )


def close_unconfirmed(now=None, batch=None):
    """Close the tickets resolved 7 days ago that the client neither confirmed nor reopened (a sweep, as above).
    Each is closed at the moment the 7 days ran out, as the pages already show it. Returns how many it closed."""
    now = moment(now)
    query = sa.select(Ticket).where(
        Ticket.status == Status.RESOLVED.value, Ticket.resolved_at <= now - timedelta(days=AUTO_CLOSE_DAYS)
    )
    return sweeps.in_batches(query, Ticket, Ticket.resolved_at, auto_close, batch or sweeps.BATCH)


def auto_close(ticket):
    at = ticket.auto_close_at
    move(ticket, Status.CLOSED)
    ticket.closed_at, ticket.auto_closed = at, True
    once(ticket, "auto_closed", "auto_closed", at=at)
    surveys.for_ticket(ticket, at)  # made as of the closing, as the pages show it (the sweep may come later)


# ---------------------------------------------------------------- filing


def coverage_of(unit, today, expiring_days):
    if unit is None:
        return Coverage.UNREGISTERED
    state = unit.warranty_state(today, expiring_days)
    return {
        WarrantyState.IN_WARRANTY: Coverage.IN_WARRANTY,
        WarrantyState.EXPIRING: Coverage.IN_WARRANTY,
        WarrantyState.RENEWED: Coverage.RENEWED,
        WarrantyState.EXPIRED: Coverage.EXPIRED,
        WarrantyState.PENDING: Coverage.PENDING,
    }[state]


def file_ticket(
    by,
    site,
    unit=None,
    equipment_text="",
    *,
    severity,
    kind,
    channel,
    title,
    description,
    contact_name,
    contact_phone,
    photos=(),
    now=None,
    today=None,
):
    """A new fault report: numbered, its coverage recorded, its four clocks fixed from this moment (to the second)."""
    now = moment(now)
    if unit is None and not equipment_text:
        raise TicketRefused(_l("Choose the unit, or describe the equipment if it is not registered."))
    if unit is not None and unit.site_id != site.id:
        raise TicketRefused(_l("This unit is not at the chosen site."))
    ticket = Ticket(
        number=next_number(now.astimezone(ZoneInfo(site.timezone)).year),
        client_id=site.client_id,
        site_id=site.id,
        equipment_id=unit.id if unit else None,
        equipment_text="" if unit else equipment_text,
        contract_id=unit.contract_id if unit else None,
        severity=severity,
        kind=kind,
        channel=channel,
        title=title,
        description=description,
        contact_name=contact_name,
        contact_phone=contact_phone,
        coverage=coverage_of(unit, today or now.date(), current_app.config["WARRANTY_EXPIRING_DAYS"]).value,
        status=Status.NEW.value,
        is_open=True,
        filed_by_id=by.id,
        filed_at=now,
        resolution_from=now,
        timezone=site.timezone,
        paused_seconds=0,
        waived="",
        breached="",
    )
    apply_policy(ticket)
    schedule(ticket)
    refresh(ticket)
    for photo in photos:
        ticket.photos.append(TicketPhoto(uploaded_by_id=by.id, uploaded_at=now, **photo))
    event(ticket, by, "filed", at=now)
    db.session.add(ticket)
    db.session.flush()
    if unit is not None and kind != Kind.UNKNOWN.value:
        check_replacement(ticket, unit, kind, by, now)
    notify.ticket_filed(ticket, by)
    return ticket


# ---------------------------------------------------------------- the vendor's steps


def respond(ticket, by, opinion, now=None):
    """The substantive response, with the initial handling opinion (初步处理意见): meets the response clock."""
    now = moment(now)
    move(ticket, Status.RESPONDED)
    meet(ticket, "response", now)
    if ticket.assignee_id is None:
        ticket.assignee_id = by.id
    event(ticket, by, "responded", opinion, at=now)
    refresh(ticket)
    notify.ticket_step("ticket.responded", ticket, by)


def propose(ticket, by, proposal, now=None):
    """The solution proposal; work goes on remotely. Meets the proposal clock; while the fault is handled
    remotely no visit is needed, so an on-site clock not yet run out is waived (a visit is still recorded)."""
    now = moment(now)
    end_wait(ticket, by, now)
    move(ticket, Status.IN_PROGRESS)
    meet(ticket, "proposal", now)
    if ticket.on_site_met is None and clock_state(ticket, "on_site", now) is not ClockState.BREACHED:
        ticket.waived = _add(ticket.waived, "on_site")
    event(ticket, by, "proposal", proposal, at=now)
    refresh(ticket)
    notify.ticket_step("ticket.proposal", ticket, by)


def arrive(ticket, by, at, note="", scanned=False, now=None):
    """The engineer is on site, at ``at`` (the moment the unit's QR label was scanned, or now)."""
    now, at = moment(now), at.replace(microsecond=0)
    if at > now:
        raise TicketRefused(_l("The arrival cannot be in the future."))
    end_wait(ticket, by, now)
    move(ticket, Status.ON_SITE)
    meet(ticket, "on_site", at)
    meet(ticket, "proposal", at)  # the engineer on site gives the solution proposal there
    event(ticket, by, "on_site_scan" if scanned else "on_site", note, at=now)
    refresh(ticket)
    notify.ticket_step("ticket.on_site", ticket, by)


def wait(ticket, by, reason, now=None):
    """Waiting for the client (access to the room, a password, a decision): the resolution clock pauses."""
    now = moment(now)
    previous = ticket.status
    move(ticket, Status.WAITING)
    ticket.resume_to, ticket.paused_at = previous, now
    ticket.resolution_due = ticket.resolution_risk = None
    event(ticket, by, "waiting", reason, at=now)
    refresh(ticket)
    notify.ticket_step("ticket.waiting", ticket, by, reason=reason)


def end_wait(ticket, by, now):
    """A step that ends a wait for the client (a proposal, an arrival) resumes the clock first."""
    if ticket.status_enum is Status.WAITING:
        resume(ticket, by, now)


def resume(ticket, by, now=None, body=""):
    """The wait is over: the time spent waiting (on the policy's clock, to the second: working seconds on a
    working-hours clock) pushes the resolution due time out."""
    now = moment(now)
    if ticket.status_enum is not Status.WAITING:
        raise TicketRefused(
            _l("This ticket is “%(state)s”: it is not waiting for the client.", state=ticket.status_enum.label)
        )
    move(ticket, Status(ticket.resume_to or Status.RESPONDED.value))
    calendar = calendar_for(ticket)
    tz = zone(ticket)
    ticket.paused_seconds += clocks.seconds_between(
        ticket.paused_at.astimezone(tz), now.astimezone(tz), ticket.clock, calendar, hours_of(ticket)
    )
    ticket.paused_at, ticket.resume_to = None, None
    schedule(ticket, calendar)
    event(ticket, by, "resumed", body, at=now)
    refresh(ticket)


def resolve(ticket, by, *, problem_kind, cause, solution, loss, parts=(), work_stopped=False, now=None, today=None):
    """The closure report: kind of problem, cause, solution, parts replaced, the loss caused. Meets the
    resolution clock (if a spare unit did not already); clocks not needed any more are waived."""
    now = moment(now)
    today = today or now.date()
    if ticket.open_loan is not None:
        raise TicketRefused(_l("A spare unit is still on loan: record the original's return before resolving."))
    move(ticket, Status.RESOLVED)
    if ticket.resolution_met is None:
        meet(ticket, "resolution", now)
        ticket.resolution_met_by = "fix"
    for name in ("proposal", "on_site"):
        if getattr(ticket, f"{name}_met") is None and name not in _names(ticket.breached):
            if clock_state(ticket, name, now) is ClockState.BREACHED:
                record_breach(ticket, name, at=getattr(ticket, f"{name}_due"))
            else:
                ticket.waived = _add(ticket.waived, name)
    ticket.resolved_at, ticket.problem_kind = now, problem_kind
    ticket.cause, ticket.solution, ticket.loss = cause, solution, loss or ""
    ticket.work_stopped = bool(work_stopped)
    unit = ticket.equipment
    event(ticket, by, "resolved", solution, at=now)
    refresh(ticket)
    db.session.flush()
    notify.ticket_step("ticket.resolved", ticket, by)
    if unit is not None:
        apply_warranty_effects(ticket, unit, by)  # first: a part swapped in now carries the extended warranty
    for part in parts:
        ticket.parts.append(
            ReplacedPart(
                part_id=part.get("part_id"),
                description=part["description"],
                quantity=part.get("quantity") or 1,
                replaced_on=today,
                covered_until=warranty.part_coverage_end(unit.warranty_end if unit else None, today),
            )
        )
    if unit is not None and problem_kind != Kind.UNKNOWN.value:
        check_replacement(ticket, unit, problem_kind, by, now)


def apply_warranty_effects(ticket, unit, by):
    """+60 days on the unit for a fault that could not be resolved and stopped work: marked so by the manager,
    or a severity A or B fault whose resolution clock was breached. Once per ticket."""
    stopped = ticket.work_stopped or (ticket.severity in ("A", "B") and "resolution" in _names(ticket.breached))
    if not stopped:
        return None
    done = db.session.scalar(
        sa.select(WarrantyExtension.id).where(
            WarrantyExtension.cause_kind == "ticket", WarrantyExtension.cause_id == ticket.id
        )
    )
    if done is not None:
        return None
    extension = extend_warranty(unit, STOPPED_WORK_DAYS, ticket.number, by=by, cause_kind="ticket", cause_id=ticket.id)
    event(ticket, by, "extended", str(STOPPED_WORK_DAYS))
    return extension


def check_replacement(ticket, unit, kind, by, now):
    """The same unit failing with the same kind of fault after two resolved repairs (since any replacement
    already recorded) is flagged "replacement due" (无条件更换) until the vendor records the replacement."""
    if unit.replacement_due_since is not None:
        return False
    earlier = (
        sa.select(sa.func.count())
        .select_from(Ticket)
        .where(
            Ticket.equipment_id == unit.id,
            Ticket.id != ticket.id,
            Ticket.problem_kind == kind,
            Ticket.status.in_([Status.RESOLVED.value, Status.CLOSED.value]),
        )
    )
    if unit.replacement_recorded_at is not None:
        earlier = earlier.where(Ticket.resolved_at > unit.replacement_recorded_at)
    if db.session.scalar(earlier) < REPAIRS_BEFORE_REPLACEMENT:
        return False
    unit.replacement_due_since, unit.replacement_ticket_id = now, ticket.id
    event(ticket, by, "replacement_due", kind, at=now)
    return True


def record_replacement(unit, by, note, now=None):
    unit.replacement_due_since, unit.replacement_ticket_id = None, None
    unit.replacement_recorded_at, unit.replacement_note = moment(now), note or ""
    db.session.flush()


def lend_spare(ticket, by, spare, note="", now=None):
    """A spare unit (备机) is installed: it meets the resolution clock (the bids: fixed in 48 hours, or a spare
    lent until it is) and starts the clock for bringing the repaired original back."""
    now = moment(now)
    if not ticket.is_open or ticket.status_enum is Status.NEW:
        raise TicketRefused(_l("A spare unit can be lent once the ticket is answered and until it is resolved."))
    if ticket.open_loan is not None:
        raise TicketRefused(_l("A spare unit is already on loan for this ticket."))
    days = current_app.config["SPARE_RETURN_DAYS"]
    ticket.loans.append(SpareLoan(spare=spare, note=note or "", lent_at=now, return_due=now + timedelta(days=days)))
    if ticket.resolution_met is None:
        meet(ticket, "resolution", now)
        ticket.resolution_met_by = "spare"
    if ticket.equipment is not None:
        ticket.equipment.status = UnitStatus.SPARE_ON_LOAN.value
    event(ticket, by, "spare_lent", spare, at=now)
    refresh(ticket)
    notify.ticket_step("ticket.spare_lent", ticket, by, spare=spare)


def return_original(ticket, loan, by, note="", now=None):
    now = moment(now)
    if loan.returned_at is not None:
        raise TicketRefused(_l("The original unit is already back."))
    loan.returned_at = now
    if loan.returned_at > loan.return_due:
        record_breach(ticket, "return", at=loan.return_due)
    if ticket.equipment is not None:
        ticket.equipment.status = UnitStatus.IN_SERVICE.value
    event(ticket, by, "original_back", note, at=now)
    refresh(ticket)


def assign(ticket, by, assignee, now=None):
    if assignee is not None and (assignee.role not in VENDOR or not assignee.active):
        raise TicketRefused(_l("Tickets are assigned to the vendor's active staff only."))
    if ticket.status_enum_at(moment(now)) is Status.CLOSED:
        raise TicketRefused(_l("This ticket is closed."))
    if ticket.assignee_id == (assignee.id if assignee else None):
        return  # saved again as it was: nothing happened, nothing on the timeline or the report
    ticket.assignee_id = assignee.id if assignee else None
    event(ticket, by, "assigned", assignee.name if assignee else "")


def change_severity(ticket, by, severity, reason, now=None):
    """A new severity: every due time is recomputed from filing under the new level's targets; the change and
    its reason are on the timeline. Clocks already met stay met."""
    now = moment(now)
    if not ticket.is_open:
        raise TicketRefused(_l("The severity of a resolved or closed ticket no longer changes."))
    if severity == ticket.severity:
        raise TicketRefused(_l("The ticket already has this severity."))
    old = ticket.severity
    ticket.severity = severity
    apply_policy(ticket)
    schedule(ticket)
    event(ticket, by, "severity", f"{old} → {severity}: {reason}", at=now)
    check_breaches(ticket, now)


def set_coverage(ticket, by, excluded, note, today, expiring_days):
    """Mark the repair excluded from the warranty (e.g. human damage: billable), or back to the unit's state."""
    if excluded:
        ticket.coverage, ticket.coverage_note = Coverage.EXCLUDED.value, note or ""
    else:
        ticket.coverage, ticket.coverage_note = coverage_of(ticket.equipment, today, expiring_days).value, ""
    event(ticket, by, "excluded" if excluded else "included", note if excluded else "")


def reply(ticket, by, body, now=None):
    """A reply the client sees. The client answering a ticket that waits for them resumes its clock."""
    now = moment(now)
    if ticket.status_enum_at(now) is Status.CLOSED:
        raise TicketRefused(_l("This ticket is closed: file a new fault report if the problem is back."))
    event(ticket, by, "reply", body, at=now)
    if ticket.status_enum is Status.WAITING and not by.is_vendor:
        resume(ticket, by, now)
    notify.ticket_reply(ticket, by)


def note(ticket, by, body, now=None):
    """An internal note: the vendor's staff only ever see it."""
    event(ticket, by, "note", body, internal=True, at=now)


# ---------------------------------------------------------------- the client's steps


def refuse_if_closed_by_itself(ticket, now):
    """A resolved ticket left unconfirmed for 7 days is closed, even before the sweep has recorded it."""
    if ticket.closed_automatically(now):
        raise TicketRefused(
            _l(
                "This ticket closed by itself: the fix was not confirmed within 7 days of the "
                "resolution. File a new fault report if the problem is back."
            )
        )


def confirm(ticket, by, rating, comment, now=None):
    now = moment(now)
    refuse_if_closed_by_itself(ticket, now)
    move(ticket, Status.CLOSED)
    ticket.closed_at, ticket.rating, ticket.rating_comment = now, rating, comment or ""
    event(ticket, by, "closed", comment, at=now)
    surveys.for_ticket(ticket, now)


def reopen(ticket, by, reason, now=None):
    """Not fixed after all: the ticket is open again, with a fresh resolution clock from now."""
    now = moment(now)
    refuse_if_closed_by_itself(ticket, now)
    move(ticket, Status.REOPENED)
    if ticket.resolution_met_by == "fix":
        ticket.resolution_met, ticket.resolution_met_by = None, None
    ticket.resolved_at, ticket.resolution_from, ticket.paused_seconds = None, now, 0
    schedule(ticket)
    event(ticket, by, "reopened", reason, at=now)
    refresh(ticket)


def open_tickets_of(unit_ids):
    return sa.select(Ticket).where(Ticket.equipment_id.in_(unit_ids), Ticket.is_open.is_(True))


def unit_of(ticket):
    return db.session.get(Equipment, ticket.equipment_id) if ticket.equipment_id else None
