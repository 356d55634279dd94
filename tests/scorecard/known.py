"""The scorecard tests' small world with known answers (every expected figure counted by hand in
tests/scorecard/test_metrics.py), and their helpers."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import sqlalchemy as sa

from portal.auth.models import User
from portal.extensions import db
from portal.scorecard import metrics as M
from portal.scorecard.metrics import Period

UTC = UTC
NOW = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)  # Tuesday 20 October 2026, 10:00 in Shanghai
OCTOBER = Period("month", date(2026, 10, 1), date(2026, 11, 1))


def at(month, day, hour, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Known:
    """Client A: a 7×24 contract (stored policy: severity A answered in 15 minutes, the others the bids') at school
    S1, a working-hours contract W (09:00–17:00) at school S2; client B for what must never count."""

    def __init__(self, app, make):
        from portal.complaints import services as complaints
        from portal.contracts.models import Contract
        from portal.equipment.models import Equipment
        from portal.inspections import services as visits
        from portal.inspections.models import Visit
        from portal.orgs.models import Site
        from portal.renewals.models import QuoteLine, RenewalQuote
        from portal.sla.models import BID_TARGETS, CalendarDay, SlaPolicy, SlaTarget
        from portal.surveys.models import Survey
        from portal.tickets import services as tickets
        from portal.tickets.models import Ticket

        self.a = make.client()
        self.s1, self.s2 = make.site(self.a), make.site(self.a)
        self.b = make.client()
        self.b_site = make.site(self.b)
        self.contract_a = make.contract(self.a, renewal_ceiling=Decimal("2000.00"))
        self.contract_w = make.contract(self.a)
        self.contract_b = make.contract(self.b)
        self.model = model = make.model()
        self.a1 = make.unit(self.contract_a, self.s1, model, unit_price=Decimal("23800.00"))
        self.a1b = make.unit(self.contract_a, self.s1, model, unit_price=Decimal("10000.00"))
        self.w1 = make.unit(self.contract_w, self.s2, model)
        self.b1 = make.unit(self.contract_b, self.b_site, model)
        self.manager = make.user("vendor_manager")
        self.agent = make.user("vendor_agent")
        self.admin = make.user("client_admin", client=self.a)
        self.b_admin = make.user("client_admin", client=self.b)
        make.save(
            SlaPolicy(
                contract_id=self.contract_a.id,
                clock="24x7",
                day_starts=time(9),
                day_ends=time(17),
                targets=[
                    SlaTarget(severity=s, **{**BID_TARGETS, **({"response": 15} if s == "A" else {})}) for s in "ABCD"
                ],
            )
        )
        make.save(
            SlaPolicy(
                contract_id=self.contract_w.id,
                clock="working",
                day_starts=time(9),
                day_ends=time(17),
                targets=[SlaTarget(severity=s, **BID_TARGETS) for s in "ABCD"],
            )
        )
        # A day off on Wednesday 14 October: the third working day after Monday 12th is Friday 16th.
        make.save(CalendarDay(day=date(2026, 10, 14), kind="holiday", name_zh="测试假日", name_en="Test holiday"))

        with app.test_request_context():
            s = db.session
            admin, manager, agent = (s.get(User, u.id) for u in (self.admin, self.manager, self.agent))
            site1, site2 = s.get(Site, self.s1.id), s.get(Site, self.s2.id)
            a1, a1b, w1 = (s.get(Equipment, u.id) for u in (self.a1, self.a1b, self.w1))

            def file(site, unit, when, **kw):
                values = dict(
                    severity="B",
                    kind="unknown",
                    channel="portal",
                    title="屏幕不亮",
                    description="黑屏",
                    contact_name="张老师",
                    contact_phone="13800000000",
                )
                values.update(kw)
                return tickets.file_ticket(admin, site, unit, "" if unit else "未登记的投影仪", now=when, **values)

            def fix(ticket, when, parts=(), today=None, stopped=False):
                tickets.resolve(
                    ticket,
                    agent,
                    problem_kind="hardware",
                    cause="c",
                    solution="s",
                    loss="",
                    parts=[{"description": p} for p in parts],
                    work_stopped=stopped,
                    now=when,
                    today=today,
                )

            # T1: response 20 min, proposal 50 min (on site waived), fixed in 10 h; a part swapped Fri 16th.
            t1 = file(site1, a1, at(10, 12, 1))
            tickets.respond(t1, agent, "看", now=at(10, 12, 1, 20))
            tickets.propose(t1, agent, "远程", now=at(10, 12, 1, 50))
            fix(t1, at(10, 12, 11), parts=["主板"], today=date(2026, 10, 16))
            tickets.confirm(t1, admin, 5, "好", now=at(10, 13, 3))
            # T2: response 45 min (late), on site 100 min (proposal met there: late), fixed in 50 h (late), work
            # stopped: +60 days; a part swapped Tue 20th (due Mon 19th: late).
            t2 = file(site1, a1, at(10, 13, 1))
            tickets.respond(t2, agent, "看", now=at(10, 13, 1, 45))
            tickets.arrive(t2, agent, at(10, 13, 2, 40), now=at(10, 13, 2, 40))
            fix(t2, at(10, 15, 3), parts=["电源"], today=date(2026, 10, 20), stopped=True)
            tickets.confirm(t2, admin, 3, "一般", now=at(10, 16, 2))
            # T3: never answered. T4: filed 6 hours before now, never answered.
            t3 = file(site1, a1b, at(10, 14, 1))
            file(site1, a1b, at(10, 19, 20))
            # T5: answered, proposal, then waiting for the client: its resolution clock is paused.
            t5 = file(site1, a1b, at(10, 15, 1))
            tickets.respond(t5, agent, "看", now=at(10, 15, 1, 10))
            tickets.propose(t5, agent, "远程", now=at(10, 15, 1, 30))
            tickets.wait(t5, agent, "等待开门", now=at(10, 15, 3))
            # T6 (working hours): filed Friday 16:50 local; answered Monday 09:10 local, proposal 09:15: both in
            # time on the working-hours clock, but the response came more than 24 hours after filing.
            t6 = file(site2, w1, at(10, 16, 8, 50))
            tickets.respond(t6, agent, "看", now=at(10, 19, 1, 10))
            tickets.propose(t6, agent, "远程", now=at(10, 19, 1, 15))
            # T7: no registered unit (no contract), filed 30 Sep 16:30 UTC = 1 Oct 00:30 in Shanghai: October's.
            # Work stopped but no unit: no extension. Its part on Tue 6 Oct: the 3rd working day after Thu 1 Oct.
            t7 = file(site1, None, at(9, 30, 16, 30))
            tickets.respond(t7, agent, "看", now=at(9, 30, 16, 35))
            tickets.propose(t7, agent, "远程", now=at(9, 30, 16, 40))
            fix(t7, at(9, 30, 17, 30), parts=["线缆"], today=date(2026, 10, 6), stopped=True)
            # T8: 30 Sep 15:30 UTC = 23:30 in Shanghai: September's (a late response that must not count).
            t8 = file(site1, None, at(9, 30, 15, 30))
            tickets.respond(t8, agent, "看", now=at(9, 30, 16, 10))
            # Client B: a ticket never answered.
            tickets.file_ticket(
                s.get(User, self.b_admin.id),
                s.get(Site, self.b_site.id),
                s.get(Equipment, self.b1.id),
                "",
                now=at(10, 14, 1),
                severity="B",
                kind="unknown",
                channel="portal",
                title="x",
                description="x",
                contact_name="x",
                contact_phone="1",
            )
            # Replacements: a1 flagged on 15 Oct and replaced on 18 Oct; w1 flagged on 17 Oct, still due; a flag
            # in September that does not count.
            tickets.event(t1, None, "replacement_due", "hardware", at=at(10, 15, 0))
            a1.replacement_due_since = at(10, 15, 0)
            s.flush()
            tickets.record_replacement(a1, manager, "换新", now=at(10, 18, 0))
            tickets.event(t6, None, "replacement_due", "hardware", at=at(10, 17, 0))
            w1.replacement_due_since = at(10, 17, 0)
            tickets.event(t8, None, "replacement_due", "hardware", at=at(9, 29, 10))
            s.flush()
            self.tickets = {n: t.id for n, t in zip("1235678", (t1, t2, t3, t5, t6, t7, t8), strict=True)}
            self.t3_number = t3.number

            # Quotes (contract A: rate 8 %, ceiling 2,000 a year).
            def quote(number, issued, lines, years=1, status="issued"):
                q = RenewalQuote(
                    number=number,
                    client_id=self.a.id,
                    contract_id=self.contract_a.id,
                    years=years,
                    status=status,
                    issued_at=issued,
                    total=sum(amount for *_x, amount in lines),
                    lines=[
                        QuoteLine(
                            equipment_id=u.id,
                            contract_id=self.contract_a.id,
                            description="x",
                            basis=u.unit_price,
                            rate=r,
                            years=years,
                            amount=amount,
                        )
                        for u, r, amount in lines
                    ],
                )
                s.add(q)

            quote("Q1", at(10, 10, 4), [(a1, Decimal("0.08"), Decimal("1904.00"))])  # within
            quote("Q2", at(10, 11, 4), [(a1, Decimal("0.10"), Decimal("2380.00"))])  # rate above 8 %
            quote(
                "Q3",
                at(10, 12, 4),
                [(a1, Decimal("0.08"), Decimal("1904.00")), (a1b, Decimal("0.08"), Decimal("800.00"))],
            )  # 2,704 a year > 2,000
            quote("Q6", at(10, 13, 4), [(a1, Decimal("0.08"), Decimal("3808.00"))], years=2)  # 1,904 a year
            quote("Q4", at(9, 20, 4), [(a1, Decimal("0.10"), Decimal("2380.00"))])  # September's
            quote("Q5", None, [(a1, Decimal("0.10"), Decimal("2380.00"))], status="requested")  # not issued

            # Complaints (24 h to answer each round).
            def complaint(site, when):
                return complaints.file_complaint(
                    admin, site=site, ticket=None, category="attitude", description="慢", now=when
                )

            def answered(c, when):
                complaints.assign(c, manager, agent, now=when)
                complaints.answer(c, agent, "答复", now=when)

            c1 = complaint(site1, at(10, 12, 2))
            answered(c1, at(10, 12, 5))
            complaints.close(c1, admin, 5, "满意", now=at(10, 13, 2))
            c2 = complaint(site2, at(10, 13, 2))
            answered(c2, at(10, 14, 8))  # 30 hours: late
            complaints.close(c2, admin, 2, "勉强", now=at(10, 14, 10))
            c3 = complaint(None, at(10, 14, 2))
            answered(c3, at(10, 14, 4))
            complaints.reject(c3, admin, "不满意", now=at(10, 15, 2))  # round 2 due 16 Oct 02:00: past due now
            complaint(None, at(10, 19, 20))  # due 20 Oct 20:00: not yet
            complaint(None, at(9, 28, 2))  # September's, open and past due since 29 Sep

            # Visits.
            contract_a, contract_w = s.get(Contract, self.contract_a.id), s.get(Contract, self.contract_w.id)

            def visit(contract, site, kind, due, done=None, method="on_site"):
                v = visits.add_visit(contract, site, kind=kind, due_on=due)
                if done:
                    visits.record(
                        v,
                        agent,
                        done_on=done,
                        method=method,
                        engineers="张工",
                        hardware="正常",
                        software="正常",
                        risks="无",
                        recommendations="无",
                        results={},
                    )
                return v

            v1 = visit(contract_a, site1, "inspection", date(2026, 10, 15), date(2026, 10, 14))
            visits.sign(v1, admin, name="李", satisfaction=5, comment="", now=at(10, 16, 4))
            v2 = visit(contract_w, site2, "inspection", date(2026, 10, 15), date(2026, 10, 17))
            visits.sign(v2, admin, name="李", satisfaction=4, comment="", now=at(10, 18, 4))
            visit(contract_a, site1, "inspection", date(2026, 10, 10))  # missed
            visit(contract_a, site1, "inspection", date(2026, 10, 25))  # not yet due
            visit(contract_a, None, "phone_visit", date(2026, 10, 12), date(2026, 10, 12), method="phone")
            v6 = visit(contract_a, site1, "return_visit", date(2026, 10, 16), date(2026, 10, 16))
            visits.dispute(v6, admin, reason="不对", now=at(10, 17, 4))
            visit(contract_a, site1, "end_of_life", date(2026, 10, 30))  # not yet due
            v8 = visit(contract_a, site1, "inspection", date(2026, 9, 15), date(2026, 10, 2))
            visits.sign(v8, admin, name="李", satisfaction=2, comment="", now=at(10, 3, 4))
            visit(
                s.get(Contract, self.contract_b.id), s.get(Site, self.b_site.id), "inspection", date(2026, 10, 15)
            )  # client B's, missed
            s.flush()

            # Surveys.
            def survey(n, answered_at, rating, ticket=None, visit=None):
                subject = ticket or visit
                # The survey the close or the sign-off made (portal.surveys) gives way to one with known figures.
                made = Survey.ticket_id == ticket.id if ticket else Survey.visit_id == visit.id
                s.execute(sa.delete(Survey).where(made))
                s.add(
                    Survey(
                        token_hash=f"{n:064d}",
                        client_id=self.a.id,
                        site_id=subject.site_id,
                        contract_id=subject.contract_id,
                        ticket_id=ticket.id if ticket else None,
                        visit_id=visit.id if visit else None,
                        expires_at=at(12, 1, 0),
                        answered_at=answered_at,
                        rating=rating,
                    )
                )

            survey(1, at(10, 19, 0), 5, ticket=t1)
            survey(2, at(10, 18, 0), 4, visit=v1)
            survey(3, at(9, 30, 15), 1, ticket=t2)  # 23:00 on 30 Sep in Shanghai: September's
            survey(4, None, None, visit=v2)
            s.commit()
            assert s.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 9
            assert s.scalar(sa.select(sa.func.count()).select_from(Visit)) == 9
        # The service log: signed on 5 Oct, unsigned on 6 Oct, September's signed.
        make.service_log(
            self.contract_a, self.s1, work_date=date(2026, 10, 5), signed_at=at(10, 5, 10), signed_name="李"
        )
        make.service_log(self.contract_a, self.s1, work_date=date(2026, 10, 6))
        make.service_log(
            self.contract_a, self.s1, work_date=date(2026, 9, 30), signed_at=at(9, 30, 10), signed_name="李"
        )


def figures(row):
    return (row.met, row.value, row.measured, row.total, row.pending)


def card(app, scope, period=OCTOBER, now=NOW):
    with app.test_request_context():
        return M.scorecard(scope, period, now=now)
