"""The demo's past: last calendar year in full and this year up to a few weeks ago, so that every row of the
service scorecard (履约看板) shows something real for each contract, with promises kept and promises broken.

Everything is placed at fixed fractions of each period on working days at plausible local hours, and goes through
the same services the pages use (the clocks, breaches, warranty extensions and replacement flags are theirs), then
the moments the services stamp with the wall clock (quotes, extensions) are set back to when they happened. No
randomness but a seeded one for the survey tokens: two seeds of the same day write the same rows.

Per contract and period (HT-2023-017, the schools' contract, on a 7×24 clock; HT-2023-051, the government service
centre's offices, on a working-hours clock):
- faults met on every clock; one answered late, on site late and fixed by a spare unit lent in time, its part
  swapped after more than 3 working days; one paused waiting for the client; one that stopped work (+60 days);
  a unit failing three times with the same fault, flagged for replacement (replaced, or not yet);
  last year on the schools' contract, one fault left more than 24 hours without a response;
- renewal quotes at the contract's rate, above it, above the annual ceiling and capped at it;
- complaints answered in time, late, reopened and closed satisfied, and one still open;
- (in ``demo.seed_inspections``) visits done on time, late and missed, the end-of-life inspection, records signed
  and awaiting sign-off, and the resident service log, signed and unsigned;
- satisfaction: ticket ratings, visit sign-offs and answered surveys (one unanswered, one expired).
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from .extensions import db

SURVEY_DAYS = 30


def zone():
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def periods(today):
    """(start, end) of last calendar year and of this year up to three weeks ago (None if too short)."""
    last = (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    this_end = today - timedelta(days=21)
    this = (date(today.year, 1, 1), this_end) if (this_end - date(today.year, 1, 1)).days >= 28 else None
    return last, this


class Moments:
    """Local moments on working days at a fraction of a period."""

    def __init__(self, start, end, calendar):
        self.start, self.end, self.calendar, self.tz = start, end, calendar, zone()

    def day(self, fraction):
        day = self.start + timedelta(days=int((self.end - self.start).days * fraction))
        while not self.calendar.is_working_day(day) and day < self.end:
            day += timedelta(days=1)
        return day

    def at(self, fraction, hour, minute=0):
        return datetime.combine(self.day(fraction), time(hour, minute), self.tz).astimezone(UTC)

    def friday(self, fraction, hour, minute=0):
        """The last Friday on or before the fraction's day (a working day), at the local hour."""
        day = self.start + timedelta(days=int((self.end - self.start).days * fraction))
        while day.weekday() != 4 or not self.calendar.is_working_day(day):
            day -= timedelta(days=1)
        return datetime.combine(day, time(hour, minute), self.tz).astimezone(UTC)

    def next_working(self, moment, days, hour, minute=0):
        """``days`` working days after the moment's local day, at the local hour."""
        day = self.calendar.add_working_days(moment.astimezone(self.tz).date(), days)
        return datetime.combine(day, time(hour, minute), self.tz).astimezone(UTC)


def working_policy(contract):
    """The offices' contract: a working-hours clock (工作日 8:30–17:30), the bids' response and proposal times,
    on site within 4 working hours and fixed (or a spare lent) within two working days."""
    from .sla.models import Clock, Severity, SlaPolicy, SlaTarget

    db.session.add(
        SlaPolicy(
            contract_id=contract.id,
            clock=Clock.WORKING.value,
            day_starts=time(8, 30),
            day_ends=time(17, 30),
            targets=[
                SlaTarget(severity=s.value, response=30, proposal=60, on_site=240, resolution=18 * 60) for s in Severity
            ],
        )
    )
    db.session.flush()


def seed(edu, info, contracts, units, today):
    """The past's tickets, quotes and complaints (visits and the service log: ``demo.seed_inspections``)."""
    from .auth.models import User
    from .sla.holidays import business_calendar

    calendar = business_calendar()
    by_email = {u.email: u for u in db.session.scalars(sa.select(User))}
    people = {
        "agent": by_email["agent@vendor.example.com"],
        "manager": by_email["manager@vendor.example.com"],
        "edu": by_email["it@edu.example.com"],
        "edu_admin": by_email["admin@edu.example.com"],
        "info": by_email["admin@info.example.com"],
        "school": by_email["school1@edu.example.com"],
    }
    # Units the demo's current tickets do not touch: the schools' contract away from the first school (its
    # units' later ones), and the offices' contract.
    old, life = contracts["old"], contracts["life"]
    school_site = people["school"].site_id
    pools = {
        old.id: [
            u
            for u in units
            if u.contract_id == old.id
            and u.site_id != school_site
            and u.status == "in_service"
            and u.model.model_number in ("F86EA", "M730e")
        ][20:],
        life.id: [u for u in units if u.contract_id == life.id and u.model.model_number == "M730e"],
    }
    last, this = periods(today)
    for number, (start, end) in enumerate(p for p in (last, this) if p):
        moments = Moments(start, end, calendar)
        first = number == 0
        for contract, reporter in ((old, people["edu"]), (life, people["info"])):
            pool = pools[contract.id][number * 10 : number * 10 + 10]
            seed_tickets(contract, reporter, pool, people, moments, first)
        seed_quotes(edu, info, contracts, units, people, moments, first, today)
        seed_complaints(edu, info, people, moments, first)
    db.session.flush()


# ---------------------------------------------------------------- faults


def seed_tickets(contract, reporter, pool, people, m, last_year):
    from .tickets import services as t

    agent, manager = people["agent"], people["manager"]
    part = {"F86EA": "触控笔", "M730e": "电源适配器"}

    def file(unit, at, severity, title, description, kind="hardware", channel="portal"):
        return t.file_ticket(
            reporter,
            unit.site,
            unit,
            severity=severity,
            kind=kind,
            channel=channel,
            title=title,
            description=description,
            contact_name=reporter.name,
            contact_phone="0571-8888 6666",
            now=at,
            today=at.date(),
        )

    def later(at, **kw):
        return at + timedelta(**kw)

    # Every clock met: answered in 12 minutes, on site in 95, fixed the same day with a part.
    unit = pool[0]
    at = m.at(0.06, 10, 10)
    ok = file(unit, at, "B", "教室设备无法开机", "按电源键无反应，指示灯不亮。")
    t.respond(ok, agent, "初步判断为电源故障，工程师携带备件前往。", now=later(at, minutes=12))
    t.arrive(ok, agent, later(at, minutes=95), "到达现场。", now=later(at, minutes=95))
    t.resolve(
        ok,
        agent,
        problem_kind="hardware",
        cause="电源模块损坏。",
        solution="更换电源后开机正常。",
        loss="无",
        parts=[{"description": part[unit.model.model_number], "quantity": 1}],
        now=later(at, hours=4),
        today=later(at, hours=4).date(),
    )
    t.confirm(ok, reporter, 5, "处理及时。", now=later(at, days=1))

    # Handled remotely: response and proposal in time, on-site clock waived; closed after seven days unconfirmed.
    at = m.at(0.16, 14, 30)
    remote = file(pool[1], at, "C", "系统补丁安装失败", "自动更新反复失败，提示错误代码 0x80070002。", kind="software")
    t.respond(remote, agent, "请保持电脑开机，我们远程处理。", now=later(at, minutes=18))
    t.propose(remote, agent, "远程清理更新缓存后重新安装补丁。", now=later(at, minutes=45))
    t.resolve(
        remote,
        agent,
        problem_kind="software",
        cause="更新缓存损坏。",
        solution="清理缓存并重新安装补丁。",
        loss="无",
        now=later(at, hours=3),
        today=at.date(),
    )
    if last_year:
        t.auto_close(remote)
    else:
        t.confirm(remote, reporter, 4, "", now=later(at, hours=20))

    # Late: answered after 55 minutes, on site after almost 5 hours; a spare unit lent the next morning meets the
    # resolution clock; the part arrives a week later (more than 3 working days).
    unit = pool[2]
    at = m.at(0.27, 9, 40)
    late = file(unit, at, "A", "整机频繁死机", "使用十几分钟后死机，影响正常教学办公。", channel="phone")
    t.respond(late, agent, "已登记，安排工程师上门。", now=later(at, minutes=55))
    t.arrive(
        late, agent, later(at, hours=4, minutes=50), "到达现场，主板疑似故障。", now=later(at, hours=4, minutes=50)
    )
    spare_at = m.next_working(at, 1, 10, 30)
    t.lend_spare(late, agent, f"备用机 {unit.model.model_number} · SN BY-{unit.id:05d}", "原机返厂维修。", now=spare_at)
    back = m.next_working(at, 6, 15, 0)
    t.return_original(late, late.loans[0], agent, "原机维修完毕送回。", now=back)
    t.resolve(
        late,
        agent,
        problem_kind="hardware",
        cause="主板电容老化。",
        solution="返厂更换主板元件，原机送回。",
        loss="备用机期间使用正常。",
        parts=[{"description": "主板电容组件", "quantity": 1}],
        now=back,
        today=back.date(),
    )
    t.confirm(late, reporter, 2, "响应和到场都太慢。", now=later(back, days=1))

    if last_year and contract.number == "HT-2023-017":
        # Filed on a Friday evening by phone and answered only the next evening: more than 24 hours.
        at = m.friday(0.45, 18, 20)
        silent = file(
            pool[3],
            at,
            "C",
            "周末值班电脑无法登录",
            "值班室电脑提示域账号无法验证。",
            kind="configuration",
            channel="phone",
        )
        t.respond(silent, agent, "已收到，远程检查域控连接。", now=later(at, hours=24, minutes=45))
        t.propose(silent, agent, "重新加入域并同步时间。", now=later(at, hours=25))
        t.resolve(
            silent,
            agent,
            problem_kind="configuration",
            cause="系统时间偏差导致域认证失败。",
            solution="校正时间并重新加入域。",
            loss="值班室一天无法使用电脑。",
            now=later(at, hours=27),
            today=later(at, hours=27).date(),
        )
        t.confirm(silent, reporter, 1, "报修一天多才有人回复。", now=later(at, days=2))

    # Waiting for the client: the resolution clock paused three days, met in the end.
    at = m.at(0.55, 10, 0)
    waiting = file(pool[4], at, "B", "网络打印共享失效", "办公区多台电脑无法连接共享打印机。", kind="configuration")
    t.respond(waiting, agent, "需要核对交换机配置。", now=later(at, minutes=10))
    t.propose(waiting, agent, "在交换机上放通打印服务端口。", now=later(at, minutes=40))
    t.wait(waiting, agent, "请提供交换机管理口令或安排网管到场配合。", now=later(at, hours=2))
    resumed = m.next_working(at, 3, 9, 30)
    t.resume(waiting, agent, now=resumed, body="网管已提供口令。")
    t.resolve(
        waiting,
        agent,
        problem_kind="configuration",
        cause="交换机访问控制策略拦截打印端口。",
        solution="调整访问控制策略，打印恢复。",
        loss="无",
        now=later(resumed, hours=3),
        today=resumed.date(),
    )
    t.confirm(waiting, reporter, 4, "", now=later(resumed, days=1))

    # Stopped work and could not be fixed within the resolution clock: +60 days of warranty.
    unit = pool[5]
    at = m.at(0.71, 8, 50)
    stopped = file(unit, at, "A", "设备完全无法使用", "开机后屏幕无显示，课程和会议无法进行。")
    t.respond(stopped, agent, "安排工程师立即上门。", now=later(at, minutes=15))
    t.arrive(stopped, agent, later(at, minutes=100), now=later(at, minutes=100))
    done = m.next_working(at, 3, 11, 0)
    t.resolve(
        stopped,
        manager,
        problem_kind="hardware",
        cause="显示驱动板烧毁，备件需厂家调货。",
        solution="厂家调货更换驱动板。",
        loss="设备停用 3 个工作日。",
        work_stopped=True,
        now=done,
        today=done.date(),
    )
    from .equipment.models import WarrantyExtension

    db.session.execute(
        sa.update(WarrantyExtension)
        .where(WarrantyExtension.cause_kind == "ticket", WarrantyExtension.cause_id == stopped.id)
        .values(created_at=done)
    )
    t.confirm(stopped, reporter, 3, "停用时间较长。", now=later(done, days=1))

    # The same unit, the same hardware fault, three times: flagged for replacement at the third filing.
    unit = pool[6]
    for n, fraction in enumerate((0.1, 0.33, 0.62)):
        at = m.at(fraction, 13, 20)
        repeat = file(unit, at, "B", "画面间歇性花屏", "显示画面不定时出现花屏、条纹。")
        t.respond(repeat, agent, "远程检查显示设置。", now=later(at, minutes=20))
        t.propose(repeat, agent, "重新插拔并更换视频线。", now=later(at, minutes=45))
        t.resolve(
            repeat,
            agent,
            problem_kind="hardware",
            cause="显示接口接触不良。",
            solution="更换视频线。",
            loss="无",
            now=later(at, hours=20),
            today=later(at, hours=20).date(),
        )
        t.confirm(repeat, reporter, 4 if n < 2 else 2, "" if n < 2 else "同样的问题第三次了。", now=later(at, days=1))
    replaced_by = contract.number == "HT-2023-017" or not last_year
    if replaced_by and unit.replacement_due_since is not None:
        t.record_replacement(
            unit, manager, "已按承诺更换同品牌同型号新机。", now=unit.replacement_due_since + timedelta(days=9)
        )
    db.session.flush()


# ---------------------------------------------------------------- renewal quotes


def seed_quotes(edu, info, contracts, units, people, m, last_year, today):
    from decimal import Decimal

    from .renewals import services as q
    from .renewals.models import QuoteEvent

    manager, edu_admin, info_admin = people["manager"], people["edu_admin"], people["info"]
    old, life = contracts["old"], contracts["life"]
    cameras = [u for u in units if u.contract_id == old.id and u.model.model_number == "DS-2CD3T47"]
    offset = 0 if last_year else 8

    def dated(quote, requested, issued=None, decided=None):
        quote.requested_at, quote.issued_at, quote.decided_at = requested, issued, decided
        when = {
            "requested": requested,
            "issued": issued,
            "line_changed": issued,
            "accepted": decided,
            "declined": decided,
        }
        for e in db.session.scalars(sa.select(QuoteEvent).where(QuoteEvent.quote_id == quote.id)):
            e.at = when.get(e.action) or requested

    # At the contract's rate (8 %): issued, never decided (it expired).
    requested = m.at(0.2, 10, 0)
    issued = m.next_working(requested, 2, 15, 0)
    quote = q.request_quote(
        edu_admin, edu.id, 1, units=cameras[offset : offset + 4], note="校门摄像机续保询价。", today=requested.date()
    )
    q.issue(quote, manager, issued.date() + timedelta(days=30), "按合同费率 8% 报价。", today=issued.date())
    dated(quote, requested, issued)

    # Above the contract's rate (10 %): declined by the bureau.
    requested = m.at(0.5, 9, 30)
    issued = m.next_working(requested, 3, 16, 0)
    decided = m.next_working(issued, 2, 10, 0)
    quote = q.request_quote(edu_admin, edu.id, 1, units=cameras[offset + 4 : offset + 8], today=requested.date())
    for line in quote.lines:
        q.update_line(quote, line, manager, Decimal("0.1000"), Decimal(0), None)
    q.issue(quote, manager, issued.date() + timedelta(days=30), "含备件费用。", today=issued.date())
    q.decline(quote, edu_admin, "费率高于合同约定的 8%。", today=decided.date())
    dated(quote, requested, issued, decided)

    # The offices' whole contract: above the annual ceiling last year (declined); capped at it this year.
    requested = m.at(0.8, 10, 30)
    issued = m.next_working(requested, 2, 14, 0)
    quote = q.request_quote(info_admin, info.id, 1, contract=life, today=requested.date())
    if last_year:
        q.issue(quote, manager, issued.date() + timedelta(days=30), today=issued.date())
        decided = m.next_working(issued, 3, 11, 0)
        q.decline(quote, info_admin, "报价超过年度维护费最高限价。", today=decided.date())
        dated(quote, requested, issued, decided)
    else:
        q.update_line(quote, quote.lines[0], manager, life.renewal_rate, Decimal(0), life.renewal_ceiling)
        valid = max(issued.date() + timedelta(days=30), today + timedelta(days=20))
        q.issue(quote, manager, valid, "按年度维护费最高限价封顶。", today=issued.date())
        dated(quote, requested, issued)
    db.session.flush()


# ---------------------------------------------------------------- complaints


def seed_complaints(edu, info, people, m, last_year):
    from .complaints import services as c
    from .orgs.models import Site
    from .tickets.models import Ticket

    agent, manager = people["agent"], people["manager"]
    it, admin, info_admin = people["edu"], people["edu_admin"], people["info"]

    def later(at, **kw):
        return at + timedelta(**kw)

    def complaint(by, at, category, description, *, answer_after, text, site=None, ticket=None):
        item = c.file_complaint(by, site=site, ticket=ticket, category=category, description=description, now=at)
        c.assign(item, manager, agent, now=later(at, hours=1))
        c.answer(item, agent, text, now=later(at, hours=answer_after))
        return item

    site = db.session.get(Site, edu.sites[2].id)
    at = m.at(0.12, 9, 0)
    quick = complaint(
        it,
        at,
        "attitude",
        "工程师上门未按约定时间到达，也未提前告知。",
        answer_after=3,
        text="已核实并向学校致歉，今后上门前提前 1 小时电话确认。",
        site=site,
    )
    c.close(quick, it, 5, "答复及时。", now=later(at, days=1))

    silent = db.session.scalar(sa.select(Ticket).where(Ticket.title == "周末值班电脑无法登录")) if last_year else None
    at = later(silent.filed_at, hours=26) if silent else m.at(0.4, 16, 0)
    late = complaint(
        it,
        at,
        "response_time",
        "周末报修超过 24 小时无人回复。",
        ticket=silent,
        answer_after=30,
        text="周末值班人员漏接转派，已调整值班制度并增加短信提醒。",
        site=silent.site if silent else site,
    )
    c.close(late, it, 3, "答复晚了，但措施可以接受。", now=later(at, days=3))

    at = m.at(0.47, 10, 0)
    again = complaint(
        admin, at, "repair_quality", "同一故障多次维修仍未解决。", answer_after=6, text="已安排高级工程师复查。"
    )
    c.reject(again, admin, "复查后问题依旧，要求按合同更换。", now=later(at, days=1))
    c.assign(again, manager, manager, now=later(at, days=1, hours=1))
    c.answer(again, manager, "同意按合同无条件更换整机，一周内完成。", now=later(at, days=1, hours=8))
    c.close(again, admin, 4, "同意处理方案。", now=later(at, days=3))

    if last_year:  # answered in December, never closed by the bureau: still open
        at = m.at(0.93, 15, 0)
        complaint(
            admin,
            at,
            "billing",
            "年终结算单中的上门服务费与合同不符。",
            answer_after=5,
            text="已核对，上门服务费在质保期内不应收取，已撤销。",
        )

    at = m.at(0.6, 11, 0)
    billed = complaint(info_admin, at, "billing", "备件发票抬头有误。", answer_after=2, text="已重新开具发票。")
    c.close(billed, info_admin, 5, "", now=later(at, days=1))
    at = m.at(0.76, 9, 30)
    slow = complaint(
        info_admin,
        at,
        "response_time",
        "机房报修后迟迟没有工程师联系。",
        answer_after=28,
        text="已增加驻场人员，报修电话转接到驻场手机。",
    )
    c.close(slow, info_admin, 4, "", now=later(at, days=2))
    db.session.flush()


# ---------------------------------------------------------------- satisfaction surveys


def seed_surveys(now, today):
    """A survey for each closed fault of the past (to the reporter) and for every third signed-off visit, answered
    within a day mostly; the newest closed fault's still waiting, one of last year's expired unanswered."""
    from .inspections.models import Visit
    from .surveys import services as surveys
    from .surveys.models import Survey
    from .tickets.models import Ticket

    rng = random.Random(17)  # nosec B311  # repeatable demo data, not security
    ratings = [5, 5, 4, 5, 5, 4, 5, 5, 5, 3, 5, 4, 5, 5, 5, 4, 5, 5, 2, 5]
    comments = {5: "很满意。", 4: "", 3: "一般，希望响应再快些。", 2: "不满意，处理时间太长。", 1: "很不满意。"}
    tickets = db.session.scalars(
        sa.select(Ticket).where(Ticket.closed_at.is_not(None)).order_by(Ticket.closed_at)
    ).all()
    visits = db.session.scalars(sa.select(Visit).where(Visit.signed_at.is_not(None)).order_by(Visit.signed_at)).all()
    subjects = [("ticket", t, t.closed_at, t.contact_name, t.filed_by_id, t.contract_id) for t in tickets]
    subjects += [("visit", v, v.signed_at, v.signed_name, v.signed_by_id, v.contract_id) for v in visits[::3]]
    subjects.sort(key=lambda s: s[2])
    last_year = datetime(today.year - 1, 3, 1, tzinfo=UTC)  # one of last spring's, never answered
    expired_one = next((s[1] for s in subjects if s[2] >= last_year), None)
    waiting_one = next((s[1] for s in reversed(subjects) if s[0] == "ticket"), None)
    # Closing a fault and signing a visit off made their surveys already (portal.surveys): those are answered here;
    # a subject without one gets one, its token derived as the portal derives it (its link works).
    made = {
        ("ticket", v.ticket_id) if v.ticket_id else ("visit", v.visit_id): v
        for v in db.session.scalars(sa.select(Survey))
    }
    n = 0
    for kind, subject, created, name, user_id, contract_id in subjects:
        rng.getrandbits(128)  # the sequence of the answers below stays as it was
        survey = made.get((kind, subject.id))
        if survey is None:
            created = created.replace(microsecond=0)
            survey = Survey(
                token_hash=surveys.digest(surveys.token_for(kind, subject.id, created)),
                client_id=subject.client_id,
                site_id=subject.site_id,
                contract_id=contract_id,
                recipient_name=name or "",
                recipient_user_id=user_id,
                language="zh",
                created_at=created,
                expires_at=created + timedelta(days=SURVEY_DAYS),
                **{f"{kind}_id": subject.id},
            )
        if subject is not expired_one and subject is not waiting_one and created < now - timedelta(days=2):
            rating = ratings[n % len(ratings)]
            n += 1
            survey.answered_at = created + timedelta(hours=2 + n % 20)
            survey.rating, survey.comment = rating, comments[rating]
        db.session.add(survey)
    db.session.flush()
