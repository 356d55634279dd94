"""The periodic jobs, in the deployment's time zone (Asia/Shanghai unless PORTAL_TIMEZONE says otherwise). Each is
idempotent: what it records and whom it tells is kept once by the database, so a run twice (two workers, a retry,
``flask jobs run`` by hand) changes nothing the second time."""

from ..extensions import db
from . import periodic


@periodic("tickets", "every minute")
def tickets(now=None):
    """SLA clocks: record the breaches that are due (telling the managers), warn of clocks at risk, tell of faults
    with no response after 24 hours."""
    from ..notify import scheduled
    from ..tickets.services import record_breaches

    return {
        "breaches": record_breaches(now),
        "at_risk": scheduled.tickets_at_risk(now),
        "no_response": scheduled.tickets_without_response(now),
    }


@periodic("deliver", "every minute", lock_minutes=10)
def deliver(now=None):
    """Send the notifications that are due (e-mail, group robots), retrying those that failed."""
    from ..notify.delivery import deliver_due

    return deliver_due(now)


@periodic("quotes", "every hour", minute="0")
def quotes(now=None):
    """Renewal quotes: expire those past their validity; remind the client of those expiring within 7 days."""
    from .. import sweeps
    from ..notify import scheduled
    from ..renewals.services import expire_quotes

    return {"expired": expire_quotes(sweeps.local_today(now)), "expiring": scheduled.quotes_expiring(now)}


@periodic("auto-close", "every hour", minute="30")
def auto_close(now=None):
    """Close the faults resolved 7 days ago that the client neither confirmed nor reopened."""
    from ..tickets.services import close_unconfirmed

    return {"closed": close_unconfirmed(now)}


@periodic("complaints", "every 5 minutes", minute="*/5")
def complaints(now=None):
    """Tell the managers (and the group robots) of complaints whose answer is overdue."""
    from ..notify import scheduled

    return {"overdue": scheduled.complaints_overdue(now)}


@periodic("inspections", "daily at 08:00", lock_minutes=60, minute="0", hour="8")
def inspections(now=None):
    """Visits due within 7 days, overdue visits, visits waiting for sign-off, service log entries waiting for
    signature."""
    from ..notify import scheduled

    return {
        "due": scheduled.visits_due(now),
        "overdue": scheduled.visits_overdue(now),
        "signoff": scheduled.visits_waiting_signoff(now),
        "log_signature": scheduled.logs_waiting_signature(now),
    }


@periodic("digests", "daily at 08:00", lock_minutes=60, minute="0", hour="8")
def digests(now=None):
    """Send each user's daily digest of the notifications they chose to receive so."""
    from ..notify.delivery import send_digests

    return {"digests": send_digests(now)}


@periodic("warranty", "monthly, the 1st at 08:00", lock_minutes=120, minute="0", hour="8", day="1")
def warranty(now=None):
    """The monthly warranty digest: to each client administrator and school administrator, the units whose warranty
    ends within 90 and 30 days."""
    from ..notify import scheduled

    return {"told": scheduled.warranty_digest(now)}


@periodic("forget", "daily at 03:00", minute="0", hour="3")
def forget(now=None):
    """Forget the one-time form tokens older than 30 days."""
    from ..steps import forget as forget_tokens

    done = forget_tokens(now)
    db.session.commit()
    return {"forgotten": done}


@periodic("audit", "daily at 02:30", lock_minutes=120, minute="30", hour="2")
def audit(now=None):
    """The audit trail: archive the records older than the retention to PORTAL_AUDIT_ARCHIVE_DIR and prune them,
    then verify the chain (the auditor's page shows the result)."""
    from ..audit import retention

    done = retention.archive_and_prune(now)
    result = retention.verify_and_record()
    return {**done, "verified": result.count, "intact": result.ok}
