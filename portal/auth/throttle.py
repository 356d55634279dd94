"""The sign-in throttle: failed sign-ins counted in the database per source address and per account.

Why in the database: a counter in a worker's memory lets an attacker spread attempts over workers and hosts. Why a
delay rather than a lock: a lock is a weapon (anyone can keep a known user out by failing on their e-mail); a delay
only slows the guesser down. The address gets the long delay (up to ``LOGIN_ADDRESS_MAX_DELAY``); the account only a
short one (``LOGIN_ACCOUNT_MAX_DELAY``), so that an attacker failing on a victim's account from many addresses keeps
the victim out for that long at most.

After ``LOGIN_FREE_FAILURES`` failures within ``LOGIN_WINDOW`` of each other, the next attempt must wait
2^(failures − free) seconds after the last one (1, 2, 4 … up to the cap). A waiting attempt is refused at once,
without checking the password and without holding the worker.

Race-free: every attempt is *reserved* before the password is checked, counted as a failure in its own committed
transaction, while the rows are locked (an upsert takes the row lock on PostgreSQL and the write lock on SQLite,
address row first, then account row, always in that order). N parallel tries thus let through exactly the free ones;
a sign-in that succeeds gives its reservation back.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from .models import SignInThrottle

ADDRESS, ACCOUNT = "address", "account"


def address_key(remote_addr):
    """The address a throttle counts by: IPv4 as is, IPv6 by its /64 (one subscriber's network usually holds a whole
    /64, so counting single IPv6 addresses would give an attacker 2^64 fresh ones)."""
    text = (remote_addr or "").strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:254] or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def delay(failures, cap):
    """Seconds to wait after the last of ``failures`` counted failures (0 while they are free)."""
    free = current_app.config["LOGIN_FREE_FAILURES"]
    if failures < free:
        return 0
    return min(2 ** min(failures - free, 30), int(cap.total_seconds()))


@dataclass
class Reservation:
    """An attempt allowed by the throttle (``wait`` is 0) or refused (``wait``: seconds to wait)."""

    address: str
    account: str
    wait: int = 0


def _caps():
    return {
        ADDRESS: current_app.config["LOGIN_ADDRESS_MAX_DELAY"],
        ACCOUNT: current_app.config["LOGIN_ACCOUNT_MAX_DELAY"],
    }


def _lock(kind, key, now):
    """Make sure the row exists and lock it for this transaction: an upsert is a write, so it takes the row lock on
    PostgreSQL (a second upsert waits for our commit, then sees our count) and the database's write lock on SQLite."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(SignInThrottle).values(kind=kind, key=key, failures=0, last_at=now)
    statement = statement.on_conflict_do_update(index_elements=["kind", "key"], set_={"kind": statement.excluded.kind})
    db.session.execute(statement)


def reserve(address, account, now):
    """Count this attempt as a failure before the password is checked, or refuse it if it must wait. Commits: the
    reservation must be seen by every other worker before this one spends time on the password."""
    keys = {ADDRESS: address_key(address), ACCOUNT: (account or "")[:254]}
    window = current_app.config["LOGIN_WINDOW"]
    caps = _caps()
    for kind in (ADDRESS, ACCOUNT):  # always in this order: two attempts never wait for each other's second row
        _lock(kind, keys[kind], now)
    rows = {
        row.kind: row
        for row in db.session.scalars(
            sa.select(SignInThrottle)
            .where(
                sa.or_(*(sa.and_(SignInThrottle.kind == kind, SignInThrottle.key == key) for kind, key in keys.items()))
            )
            .execution_options(populate_existing=True)
        )
    }
    wait = 0
    for kind, row in rows.items():
        if row.last_at <= now - window:
            row.failures = 0  # the earlier failures are too old to count
        until = row.last_at + timedelta(seconds=delay(row.failures, caps[kind]))
        if row.failures >= current_app.config["LOGIN_FREE_FAILURES"] and until > now:
            wait = max(wait, math.ceil((until - now).total_seconds()))
    if not wait:
        for row in rows.values():
            row.failures += 1
            row.last_at = now
    db.session.commit()
    return Reservation(keys[ADDRESS], keys[ACCOUNT], wait)


def succeeded(reservation):
    """A sign-in with the right password: the account's count starts again; the address gives back only this
    attempt's reservation (it was not a failure), not the failures before it."""
    db.session.execute(
        sa.delete(SignInThrottle).where(SignInThrottle.kind == ACCOUNT, SignInThrottle.key == reservation.account)
    )
    db.session.execute(
        sa.update(SignInThrottle)
        .where(SignInThrottle.kind == ADDRESS, SignInThrottle.key == reservation.address, SignInThrottle.failures > 0)
        .values(failures=SignInThrottle.failures - 1)
    )


def prune(now):
    """Forget rows idle for longer than the window: they count for nothing any more (the audit trail keeps every
    failed sign-in)."""
    db.session.execute(
        sa.delete(SignInThrottle).where(SignInThrottle.last_at < now - current_app.config["LOGIN_WINDOW"])
    )


def wait_for(address, account, now):
    """Seconds the next attempt from ``address`` on ``account`` would have to wait (for tests and messages)."""
    keys = {ADDRESS: address_key(address), ACCOUNT: (account or "")[:254]}
    caps, wait = _caps(), 0
    for kind, key in keys.items():
        row = db.session.get(SignInThrottle, (kind, key))
        if row is None or row.last_at <= now - current_app.config["LOGIN_WINDOW"]:
            continue
        if row.failures >= current_app.config["LOGIN_FREE_FAILURES"]:
            until = row.last_at + timedelta(seconds=delay(row.failures, caps[kind]))
            wait = max(wait, max(0, math.ceil((until - now).total_seconds())))
    return wait


def slowed(kind, keys, now):
    """Of ``keys`` (e-mails or address keys), those whose next attempt must wait: key → seconds (one query)."""
    if not keys:
        return {}
    cap, free = _caps()[kind], current_app.config["LOGIN_FREE_FAILURES"]
    rows = db.session.scalars(
        sa.select(SignInThrottle).where(
            SignInThrottle.kind == kind,
            SignInThrottle.key.in_(list(keys)),
            SignInThrottle.failures >= free,
            SignInThrottle.last_at > now - current_app.config["LOGIN_WINDOW"],
        )
    )
    waits = {}
    for row in rows:
        until = row.last_at + timedelta(seconds=delay(row.failures, cap))
        if until > now:
            waits[row.key] = math.ceil((until - now).total_seconds())
    return waits


def slowed_addresses(now, limit=50):
    """The source addresses whose sign-ins are being slowed down now, the most failures first: (key, failures)."""
    rows = db.session.execute(
        sa.select(SignInThrottle.key, SignInThrottle.failures)
        .where(
            SignInThrottle.kind == ADDRESS,
            SignInThrottle.failures >= current_app.config["LOGIN_FREE_FAILURES"],
            SignInThrottle.last_at > now - current_app.config["LOGIN_WINDOW"],
        )
        .order_by(SignInThrottle.failures.desc(), SignInThrottle.key)
        .limit(limit)
    )
    return [(key, failures) for key, failures in rows]


def lift(kind, key):
    """The security administrator lifts the delay on an account or an address (e.g. a school's shared address after
    a class mistyped): its count starts again. Whether anything was lifted."""
    result = db.session.execute(sa.delete(SignInThrottle).where(SignInThrottle.kind == kind, SignInThrottle.key == key))
    return bool(result.rowcount)
