"""What each step of a ticket, complaint, quote or visit tells, and to whom: the service functions call these in
the transaction of the step itself. The time-driven kinds (at risk, breached, overdue, due, digests) are the jobs'.

Names and labels go into the params in both languages (``both``), so that each reader reads them in theirs.
"""

from ..auth.models import User
from ..extensions import db
from ..i18n import _l, format_date, money
from .services import both, client_admins, managers, moment, site_admins, tell, tell_robots, vendor_staff

ROBOT_SEVERITIES = ("A", "B")  # the faults the vendor's group robot hears about at once


def _reporter(ticket):
    """The client user who filed the fault (a fault the vendor filed for a caller has no one to tell: its contact
    is a name and a phone number, not an account)."""
    user = ticket.filed_by
    return [user] if user is not None and not user.is_vendor else []


def _ticket(ticket):
    return {"number": ticket.number}


def ticket_filed(ticket, by):
    params = dict(_ticket(ticket), severity=ticket.severity, site=both(lambda: ticket.site.name), title=ticket.title)
    tell("ticket.filed", ticket, vendor_staff(), by=by, **params)
    if ticket.severity in ROBOT_SEVERITIES:
        tell_robots("ticket.filed", ticket, **params)


def ticket_step(kind, ticket, by, **params):
    """A step of the vendor's that the reporter follows: responded, proposal, on site, waiting, resolved, spare."""
    tell(kind, ticket, _reporter(ticket), by=by, **_ticket(ticket), **params)


def ticket_reply(ticket, by):
    """A reply goes to the other side: the vendor's to the reporter, the client's to the assignee (or, with no
    one assigned yet, to the vendor's staff)."""
    assignee = db.session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    if by.is_vendor:
        users = _reporter(ticket)
    else:
        users = [assignee] if assignee is not None and assignee.active else vendor_staff()
    tell("ticket.reply", ticket, users, by=by, author=by.name, **_ticket(ticket))


def complaint_filed(complaint, by):
    params = {"number": complaint.number, "category": both(lambda: complaint.category_enum.label)}
    tell("complaint.filed", complaint, managers(), by=by, **params)
    tell_robots("complaint.filed", complaint, **params)


def complaint_routed(complaint, handler, by):
    tell("complaint.routed", complaint, [handler], by=by, number=complaint.number, due_at=moment(complaint.due_at))


def complaint_answered(complaint, by):
    tell("complaint.answered", complaint, [complaint.filed_by], by=by, number=complaint.number)


def quote_issued(quote, by):
    tell(
        "quote.issued",
        quote,
        client_admins(quote.client_id),
        by=by,
        number=quote.number,
        total=both(lambda: money(quote.total)),
        valid_on=moment(quote.valid_until),
    )


def quote_accepted(quote, by):
    tell("quote.accepted", quote, managers(), by=by, number=quote.number, client=both(lambda: quote.client.name))


def quote_declined(quote, by):
    tell(
        "quote.declined",
        quote,
        managers(),
        by=by,
        number=quote.number,
        client=both(lambda: quote.client.name),
        reason=quote.decline_reason,
    )


def _place(obj):
    """Where a visit or a day of work was: its school, or the client as a whole."""
    return both(lambda: obj.site.name if obj.site is not None else obj.client.name)


def visit_recorded(visit, by):
    """A recorded visit waits for the school administrator's sign-off (the client's administrators for a visit
    to the whole client)."""
    users = site_admins(visit.site_id) if visit.site_id else client_admins(visit.client_id)
    tell("visit.signoff", visit, users, by=by, visit=both(lambda: visit.kind_enum.label), site=_place(visit))


def log_recorded(entry, by):
    tell(
        "log.signature",
        entry,
        client_admins(entry.client_id),
        by=by,
        work_on=moment(entry.work_date),
        engineers=entry.engineers,
    )


def survey_invite(survey, user, subject):
    """The link to a satisfaction survey, for the client user it asks (a ticket's reporter, a visit's signer)."""
    if survey.ticket_id is not None:
        about = both(lambda: str(_l("fault report %(number)s", number=subject.number)))
    else:
        about = both(
            lambda: str(
                _l(
                    "%(visit)s of %(date)s",
                    visit=subject.kind_enum.label,
                    date=format_date(subject.done_on or subject.due_on, "medium"),
                )
            )
        )
    tell("survey.invite", survey, [user], about=about)
