"""The scorecard against a plain Python recount of every row on random data, per scope and per month."""

import random
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.scorecard import metrics as M
from portal.scorecard.metrics import Period, Scope

from .known import NOW, UTC, at, card


def random_world(app, make, seed, tickets=40):
    """Random clocks, ratings, complaints, visits, log entries and survey answers for one client (two sites, two
    contracts) and a little for another client, written straight into the tables; returns the client, its
    sites and contracts."""
    from portal.complaints.models import Complaint
    from portal.equipment.models import WarrantyExtension
    from portal.inspections.models import ServiceLog, Visit
    from portal.surveys.models import Survey
    from portal.tickets.models import Ticket

    rnd = random.Random(seed)
    client, other = make.client(), make.client()
    sites = [make.site(client), make.site(client)]
    other_site = make.site(other)
    contracts = [make.contract(client), make.contract(client)]
    other_contract = make.contract(other)
    model = make.model()
    units = [make.unit(contracts[i % 2], sites[i // 2], model) for i in range(4)]
    other_unit = make.unit(other_contract, other_site, model)
    staff = make.user("client_staff", client=client)
    other_staff = make.user("client_staff", client=other)
    filings = [(staff, sites[u // 2], units[u]) for u in (rnd.randrange(4) for _ in range(tickets))]
    filings += [(other_staff, other_site, other_unit)] * 3
    filed = make.tickets(filings, now=at(10, 1, 0))
    start = datetime(2026, 9, 1, tzinfo=UTC)
    with app.app_context():
        for ticket in filed:
            t = db.session.get(Ticket, ticket.id)
            t.filed_at = start + timedelta(minutes=rnd.randrange(0, 90 * 24 * 60, 7))
            waived, breached = [], []
            for name, minutes in (("response", 30), ("proposal", 60), ("on_site", 120), ("resolution", 2880)):
                due = t.filed_at + timedelta(minutes=minutes)
                if name == "resolution" and rnd.random() < 0.15:
                    due = None  # paused
                setattr(t, f"{name}_due", due)
                choice = rnd.random()
                met = None
                if choice < 0.5:
                    met = t.filed_at + timedelta(
                        minutes=rnd.choice([minutes - 5, minutes, minutes + 1, 1440, 1441, 3000])
                    )
                setattr(t, f"{name}_met", met)
                if rnd.random() < 0.15:
                    waived.append(name)
                if rnd.random() < 0.1:
                    breached.append(name)
            t.waived, t.breached = ",".join(waived), ",".join(breached)
            t.work_stopped = rnd.random() < 0.3
            if t.work_stopped and rnd.random() < 0.6:
                db.session.add(
                    WarrantyExtension(
                        equipment_id=t.equipment_id,
                        days=rnd.choice([60, 60, 30]),
                        reason="x",
                        cause_kind="ticket",
                        cause_id=t.id,
                    )
                )
            if rnd.random() < 0.5:
                t.closed_at = t.filed_at + timedelta(hours=rnd.randrange(1, 300))
                t.rating = rnd.choice([None, 1, 2, 3, 4, 5, 5])
        for n in range(30):
            site = rnd.choice([*sites, None])
            received = start + timedelta(minutes=rnd.randrange(0, 90 * 24 * 60, 11))
            status = rnd.choice(["new", "assigned", "answered", "reopened", "closed"])
            due = received + timedelta(hours=24) if status in ("new", "assigned", "reopened") else None
            db.session.add(
                Complaint(
                    number=f"TS-R{seed}-{n}",
                    client_id=client.id,
                    site_id=site.id if site else None,
                    category="other",
                    description="x",
                    status=status,
                    is_open=status != "closed",
                    round=1,
                    received_at=received,
                    due_at=due,
                    overdue_rounds=rnd.choice([0, 0, 1]),
                    closed_at=received + timedelta(days=2) if status == "closed" else None,
                    rating=rnd.choice([None, 2, 4, 5]) if status == "closed" else None,
                )
            )
        visits = []
        for _ in range(40):
            contract = rnd.choice(contracts)
            kind = rnd.choice(["inspection", "phone_visit", "return_visit", "end_of_life", "extra"])
            site = None if kind == "phone_visit" else rnd.choice(sites)
            due = date(2026, 9, 1) + timedelta(days=rnd.randrange(0, 90))
            status = rnd.choice(["scheduled", "done", "signed", "disputed"])
            done = due + timedelta(days=rnd.randrange(-5, 6)) if status != "scheduled" else None
            signed = datetime.combine(done, time(4), UTC) + timedelta(days=1) if status == "signed" else None
            visit = Visit(
                contract_id=contract.id,
                client_id=client.id,
                site_id=site.id if site else None,
                kind=kind,
                due_on=due,
                window_start=due,
                status=status,
                done_on=done,
                signed_at=signed,
                satisfaction=rnd.choice([None, 2, 4, 5]) if signed else None,
            )
            db.session.add(visit)
            visits.append(visit)
        for _ in range(20):
            db.session.add(
                ServiceLog(
                    contract_id=rnd.choice(contracts).id,
                    client_id=client.id,
                    site_id=rnd.choice(sites).id if rnd.random() < 0.7 else None,
                    work_date=date(2026, 9, 1) + timedelta(days=rnd.randrange(0, 90)),
                    engineers="x",
                    headcount=1,
                    time_in=time(8),
                    time_out=time(17),
                    place="x",
                    work_done="x",
                    signed_at=at(10, 1, 0) if rnd.random() < 0.5 else None,
                )
            )
        db.session.flush()
        for n, ticket in enumerate(filed[:20]):
            t = db.session.get(Ticket, ticket.id)
            db.session.execute(sa.delete(Survey).where(Survey.ticket_id == t.id))  # one its close made, if any
            answered = start + timedelta(minutes=rnd.randrange(0, 90 * 24 * 60)) if rnd.random() < 0.7 else None
            db.session.add(
                Survey(
                    token_hash=f"{seed:032d}{n:032d}",
                    client_id=t.client_id,
                    site_id=t.site_id,
                    contract_id=t.contract_id,
                    ticket_id=t.id,
                    expires_at=at(12, 31, 0),
                    answered_at=answered,
                    rating=rnd.randrange(1, 6) if answered else None,
                )
            )
        db.session.commit()
    return client, sites, contracts


def recount(app, scope, period, now):
    """Every row the recount covers, counted in Python over every row of every table."""
    from portal.complaints.models import Complaint
    from portal.equipment.models import WarrantyExtension
    from portal.inspections.models import ServiceLog, Visit
    from portal.surveys.models import Survey
    from portal.tickets.models import Ticket

    shanghai = M.ZoneInfo("Asia/Shanghai")
    lo, hi = (datetime.combine(day, time(0), shanghai) for day in (period.start, period.end))
    with app.app_context():

        def scoped(rows, contract=True):
            return [
                r
                for r in rows
                if r.client_id == scope.client_id
                and (scope.site_id is None or r.site_id == scope.site_id)
                and (not contract or scope.contract_id is None or r.contract_id == scope.contract_id)
            ]

        tickets = scoped(db.session.scalars(sa.select(Ticket)).all())
        extensions = {(e.cause_id, e.days) for e in db.session.scalars(sa.select(WarrantyExtension))}
        complaints = scoped(db.session.scalars(sa.select(Complaint)).all(), contract=False)
        visits = scoped(db.session.scalars(sa.select(Visit)).all())
        logs = scoped(db.session.scalars(sa.select(ServiceLog)).all())
        surveys = scoped(db.session.scalars(sa.select(Survey)).all())
    counts = {}
    filed = [t for t in tickets if lo <= t.filed_at < hi]
    for name in M.CLOCK_ROWS:
        met = broken = pending = 0
        for t in filed:
            due, done = getattr(t, f"{name}_due"), getattr(t, f"{name}_met")
            if name in t.waived.split(","):
                continue
            if name in t.breached.split(","):
                broken += 1
            elif done is not None:
                if due is None or done <= due:
                    met += 1
                else:
                    broken += 1
            elif due is not None and due < now:
                broken += 1
            else:
                pending += 1
        counts[name] = (met, met + broken, pending)
    late = sum(
        1
        for t in filed
        if (t.response_met is None and t.filed_at < now - timedelta(hours=24))
        or (t.response_met is not None and t.response_met - t.filed_at > timedelta(hours=24))
    )
    counts["no_response_24h"] = (late, len(filed))
    stopped = [t for t in filed if t.work_stopped]
    counts["extensions"] = (sum(1 for t in stopped if (t.id, 60) in extensions), len(stopped))
    received = [c for c in complaints if lo <= c.received_at < hi]
    late = [c for c in received if c.overdue_rounds or (c.due_at is not None and c.due_at < now)]
    in_time = [c for c in received if c not in late and c.due_at is None]
    counts["complaints_24h"] = (len(in_time), len(in_time) + len(late))
    closed = [c for c in received if c.status == "closed"]
    counts["complaints_satisfied"] = (sum(1 for c in closed if c.rating is None or c.rating >= 4), len(closed))
    today = now.astimezone(M.ZoneInfo("Asia/Shanghai")).date()
    for key, kind in M.VISIT_ROWS.items():
        due = [v for v in visits if v.kind == kind and period.start <= v.due_on < period.end]
        on_time = sum(1 for v in due if v.status != "scheduled" and v.done_on <= v.due_on)
        bad = sum(
            1
            for v in due
            if (v.status != "scheduled" and v.done_on > v.due_on) or (v.status == "scheduled" and v.due_on < today)
        )
        counts[key] = (on_time, on_time + bad)
    done = [v for v in visits if v.done_on is not None and period.start <= v.done_on < period.end]
    counts["visit_signoff"] = (sum(1 for v in done if v.status == "signed"), len(done))
    entries = [e for e in logs if period.start <= e.work_date < period.end]
    counts["service_log"] = (sum(1 for e in entries if e.signed_at is not None), len(entries))
    answers = [t.rating for t in tickets if t.rating is not None and t.closed_at and lo <= t.closed_at < hi]
    answers += [v.satisfaction for v in visits if v.satisfaction is not None and lo <= v.signed_at < hi]
    answers += [s.rating for s in surveys if s.rating is not None and lo <= s.answered_at < hi]
    counts["satisfaction"] = (sum(1 for a in answers if a >= 4), len(answers))
    return counts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scorecard_agrees_with_a_plain_recount(app, make, seed):
    client, sites, contracts = random_world(app, make, seed)
    periods = [Period("month", date(2026, m, 1), date(2026, m + 1, 1)) for m in (9, 10, 11)]
    periods.append(Period("custom", date(2026, 9, 10), date(2026, 11, 20)))
    for scope in (
        Scope(client.id),
        Scope(client.id, site_id=sites[0].id),
        Scope(client.id, contracts[1].id),
        Scope(client.id, contracts[0].id, sites[1].id),
    ):
        for period in periods:
            expected = recount(app, scope, period, NOW)
            sc = card(app, scope, period)
            for key, figures_ in expected.items():
                row = sc.row(key)
                if key == "no_response_24h":
                    assert (row.value, row.total) == figures_, (key, scope, period)
                elif key in M.CLOCK_ROWS:
                    assert (row.measured, row.total, row.pending) == figures_, (key, scope, period)
                else:
                    assert (row.measured, row.total) == figures_, (key, scope, period)
