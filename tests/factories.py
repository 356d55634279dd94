"""``make_*`` helpers: each saves its object in its own application context and returns it detached,
with its columns loaded (ids, e-mails, tokens), ready for ``app.test_client(user=...)``."""

import io
import itertools
import json
from datetime import date
from decimal import Decimal

from werkzeug.datastructures import FileStorage

from portal.auth.models import User
from portal.catalog.models import EquipmentModel
from portal.contracts.models import Contract
from portal.documents.samples import pdf as pdf_bytes
from portal.equipment import warranty
from portal.equipment.models import Equipment, ImportBatch
from portal.extensions import db
from portal.orgs.models import Client, Site, TeamMember, Vendor

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def stored_file(filename, content_type, data):
    """The upload columns of a photo or attachment whose bytes (as given: not checked) are staged in the application's
    storage, kept when the row commits."""
    from portal.storage import stage

    stored = stage(io.BytesIO(data))
    return {
        "filename": filename,
        "content_type": content_type,
        "size": stored.size,
        "storage_key": stored.key,
        "sha256": stored.sha256,
    }


class Factory:
    def __init__(self, app):
        self.app = app

    def sign_in_session(self, user, address="192.0.2.1"):
        """An open sign-in session of ``user`` (on another device: its id is not in any test client's cookie)."""
        from portal.auth.models import SignInSession, new_token, token_digest

        return self.save(SignInSession(token_hash=token_digest(new_token()), user_id=user.id, address=address))

    def save(self, *objects):
        with self.app.app_context():
            db.session.add_all(objects)
            db.session.commit()
            for obj in objects:
                db.session.refresh(obj)
            db.session.expunge_all()
        return objects[0] if len(objects) == 1 else objects

    def vendor(self, **kw):
        vendor = Vendor(
            name_zh=kw.pop("name_zh", "测试供应商"),
            name_en=kw.pop("name_en", "Test Vendor"),
            hotline=kw.pop("hotline", "400-000-0000"),
            **kw,
        )
        return self.save(vendor)

    def team_member(self, vendor, **kw):
        n = next(_seq)
        return self.save(
            TeamMember(
                vendor_id=vendor.id,
                name=kw.pop("name", f"工程师{n}"),
                role_zh=kw.pop("role_zh", "技术工程师"),
                role_en=kw.pop("role_en", "Engineer"),
                phone=kw.pop("phone", "138 0000 0000"),
                **kw,
            )
        )

    def client(self, **kw):
        n = next(_seq)
        return self.save(Client(name_zh=kw.pop("name_zh", f"客户{n}"), name_en=kw.pop("name_en", f"Client {n}"), **kw))

    def site(self, client, **kw):
        n = next(_seq)
        return self.save(
            Site(
                client_id=client.id,
                name_zh=kw.pop("name_zh", f"学校{n}"),
                name_en=kw.pop("name_en", f"School {n}"),
                **kw,
            )
        )

    def user(self, role, client=None, site=None, password=None, **kw):
        n = next(_seq)
        user = User(
            email=kw.pop("email", f"user{n}@example.com"),
            name=kw.pop("name", f"用户{n}"),
            role=role,
            client_id=client.id if client else (site.client_id if site else None),
            site_id=site.id if site else None,
            **kw,
        )
        if password:
            user.set_password(password)
        return self.save(user)

    def contract(self, client, **kw):
        n = next(_seq)
        kw.setdefault("accepted_on", date(2025, 1, 15))
        return self.save(
            Contract(
                client_id=client.id,
                number=kw.pop("number", f"HT-{n:04d}"),
                title=kw.pop("title", f"项目{n}"),
                price=kw.pop("price", Decimal("100000.00")),
                warranty_months=kw.pop("warranty_months", 36),
                **kw,
            )
        )

    def model(self, **kw):
        n = next(_seq)
        return self.save(
            EquipmentModel(
                manufacturer=kw.pop("manufacturer", "希沃"),
                model_number=kw.pop("model_number", f"M{n}"),
                category=kw.pop("category", "touch"),
                name_zh=kw.pop("name_zh", f"平板{n}"),
                name_en=kw.pop("name_en", f"Panel {n}"),
                **kw,
            )
        )

    def unit(self, contract, site, model, **kw):
        n = next(_seq)
        unit = Equipment(
            client_id=contract.client_id,
            site_id=site.id,
            contract_id=contract.id,
            model_id=model.id,
            serial=kw.pop("serial", f"SN{n:06d}"),
            **kw,
        )
        start = unit.warranty_start or contract.accepted_on
        unit.warranty_end = warranty.warranty_end(
            start, unit.warranty_months or contract.warranty_months, unit.extension_days or 0
        )
        unit.covered_until = warranty.covered_until(unit.warranty_end, unit.renewed_until)
        return self.save(unit)

    def quote(self, client, units=(), status="requested", **kw):
        from portal.renewals.models import QuoteLine, RenewalQuote
        from portal.renewals.pricing import line_price

        n = next(_seq)
        lines = [
            QuoteLine(
                equipment_id=u.id,
                contract_id=u.contract_id,
                description=u.serial,
                basis=u.unit_price,
                rate=Decimal("0.08"),
                years=1,
                discount=Decimal(0),
                amount=line_price(u.unit_price, Decimal("0.08"), 1).amount,
            )
            for u in units
        ]
        return self.save(
            RenewalQuote(
                number=kw.pop("number", f"XB-2026-{n:04d}"),
                client_id=client.id,
                years=1,
                status=status,
                lines=lines,
                **kw,
            )
        )

    def line_of(self, quote):
        from portal.renewals.models import QuoteLine

        with self.app.app_context():
            return db.session.scalar(db.select(QuoteLine).where(QuoteLine.quote_id == quote.id).limit(1)).id

    def ticket(self, by, site, unit=None, now=None, photo=None, **kw):
        """A fault report filed through the service (numbered, clocks fixed), returned detached."""
        return self.tickets([(by, site, unit)], now=now, photo=photo, **kw)[0]

    def tickets(self, filings, now=None, photo=None, **kw):
        """Several fault reports, [(by, site, unit or None), …], filed in one go; each with ``photo`` (bytes)."""
        from portal.orgs.models import Site
        from portal.tickets import services
        from portal.types import utcnow

        values = dict(
            severity="B",
            kind="unknown",
            channel="portal",
            title="屏幕不亮",
            description="302教室屏幕黑屏",
            contact_name="张老师",
            contact_phone="13800000000",
        )
        values.update(kw)
        with self.app.test_request_context():

            def photos():  # each ticket its own file
                return [dict(stored_file("p.png", "image/png", photo), width=1, height=1)] if photo else []

            tickets = [
                services.file_ticket(
                    db.session.get(User, by.id),
                    db.session.get(Site, site.id),
                    db.session.get(Equipment, unit.id) if unit else None,
                    "" if unit else "未登记的投影仪",
                    now=now or utcnow(),
                    photos=photos(),
                    **values,
                )
                for by, site, unit in filings
            ]
            db.session.commit()
            for ticket in tickets:
                db.session.refresh(ticket)
                db.session.refresh(ticket, ["photos"])  # loaded before the session lets go of it
            db.session.expunge_all()
        return tickets

    def complaint(self, by, site=None, ticket=None, now=None, attachment=None, **kw):
        """A complaint filed through the service (numbered, due in 24 hours), returned detached."""
        from portal.complaints import services
        from portal.orgs.models import Site

        values = dict(category="response_time", description="工程师到场太慢")
        values.update(kw)
        with self.app.test_request_context():
            attachments = [stored_file("证明材料.PDF", "application/pdf", attachment)] if attachment else []
            complaint = services.file_complaint(
                db.session.get(User, by.id),
                site=db.session.get(Site, site.id) if site else None,
                ticket=ticket,
                attachments=attachments,
                now=now,
                **values,
            )
            db.session.commit()
            db.session.refresh(complaint)
            db.session.refresh(complaint, ["attachments"])
            db.session.expunge_all()
        return complaint

    def document(
        self,
        by,
        *,
        model=None,
        contract=None,
        filename="安装手册.pdf",
        data=None,
        kind="installation",
        language="zh",
        title_zh="安装手册",
        title_en="Installation manual",
        label="V1.0",
        withdrawn=False,
        now=None,
    ):
        """A document published through the service, its file in the test's storage folder; returned detached."""
        from portal.documents import services
        from portal.uploads import DOCUMENTS, check

        upload = FileStorage(io.BytesIO(data if data is not None else pdf_bytes(title_en)), filename=filename)
        with self.app.test_request_context():
            file = services.store(check(upload, DOCUMENTS, self.app.config["DOCUMENT_MAX_BYTES"]))
            document = services.publish(
                db.session.get(User, by.id),
                kind=kind,
                title_zh=title_zh,
                title_en=title_en,
                language=language,
                description="",
                model_id=model.id if model else None,
                contract_id=contract.id if contract else None,
                label=label,
                note="",
                file=file,
                now=now,
            )
            document.withdrawn = withdrawn
            db.session.commit()
            db.session.refresh(document)
            db.session.refresh(document, ["current"])  # loaded before the object leaves the session
            db.session.expunge_all()
        return document

    def version(self, document, by, *, filename="安装手册.pdf", data=None, label="V2.0", note="", now=None):
        from portal.documents import services
        from portal.documents.models import Document
        from portal.uploads import DOCUMENTS, check

        upload = FileStorage(io.BytesIO(data if data is not None else pdf_bytes(label)), filename=filename)
        with self.app.test_request_context():
            file = services.store(check(upload, DOCUMENTS, self.app.config["DOCUMENT_MAX_BYTES"]))
            version = services.add_version(
                db.session.get(Document, document.id),
                db.session.get(User, by.id),
                label=label,
                note=note,
                file=file,
                now=now,
            )
            db.session.commit()
            db.session.refresh(version)
            db.session.expunge_all()
        return version

    def visit(
        self, contract, site=None, *, kind="inspection", due_on=None, recorded_by=None, results=None, attachment=None
    ):
        """A scheduled visit; with ``recorded_by``, recorded (per-unit ``results`` {unit: (result, note)}) and
        waiting for the client's sign-off. Returned detached with its units and attachments."""
        from portal.inspections import services
        from portal.inspections.models import Visit

        with self.app.test_request_context():
            visit = services.add_visit(
                db.session.get(Contract, contract.id), site, kind=kind, due_on=due_on or date(2026, 3, 15)
            )
            if recorded_by is not None:
                attachments = [stored_file("巡检单.pdf", "application/pdf", attachment)] if attachment else []
                services.record(
                    visit,
                    db.session.get(User, recorded_by.id),
                    done_on=visit.due_on,
                    method="on_site",
                    engineers="张工",
                    hardware="正常",
                    software="正常",
                    risks="无",
                    recommendations="无",
                    results={u.id: r for u, r in (results or {}).items()},
                    attachments=attachments,
                )
            db.session.commit()
            visit = db.session.get(Visit, visit.id)
            for name in ("units", "attachments"):
                db.session.refresh(visit, [name])
            db.session.expunge_all()
        return visit

    def service_log(self, contract, site=None, *, work_date=None, **kw):
        from datetime import time

        from portal.inspections.models import ServiceLog

        values = dict(
            contract_id=contract.id,
            client_id=contract.client_id,
            site_id=site.id if site else None,
            work_date=work_date or date(2026, 3, 2),
            engineers="刘工",
            headcount=1,
            time_in=time(8, 30),
            time_out=time(17, 30),
            place="机房",
            work_done="巡视机房",
            result="正常",
        )
        values.update(kw)
        return self.save(ServiceLog(**values))

    def issued(self, by, kind="warranty_certificate", *, client, site=None, contract=None, data=None):
        """An issued document, done: its PDF kept in storage (any bytes will do) with their hash."""
        from portal import storage
        from portal.reports.models import IssuedDocument
        from portal.reports.services import next_number
        from portal.types import utcnow

        with self.app.app_context():
            unique = f"issued {kind} {client.id} {site.id if site else 0} {contract.id if contract else 0}"
            stored = storage.stage(io.BytesIO(data or pdf_bytes(unique)))
            doc = IssuedDocument(
                kind=kind,
                number=next_number(kind, 2026),
                client_id=client.id,
                site_id=site.id if site else None,
                contract_id=contract.id if contract else None,
                period_start=date(2026, 1, 1) if contract else None,
                period_end=date(2026, 12, 31) if contract else None,
                language="zh_Hans_CN",
                state="done",
                sha256=stored.sha256,
                size=stored.size,
                storage_key=stored.key,
                pages=1,
                issued_by_id=by.id,
                issuer_org_zh="测试供应商",
                issued_at=utcnow(),
            )
            db.session.add(doc)
            db.session.commit()
            db.session.refresh(doc)
            db.session.expunge_all()
        return doc

    def notification(self, user, ticket, kind="ticket.reply", read=False, **params):
        """A notification about ``ticket`` written straight into ``user``'s list (``tell`` picks the recipients)."""
        from portal.notify.models import Notification
        from portal.types import utcnow

        return self.save(
            Notification(
                user_id=user.id,
                kind=kind,
                subject_type="ticket",
                subject_id=ticket.id,
                client_id=ticket.client_id,
                site_id=ticket.site_id,
                params={"number": ticket.number, "author": "张工", **params},
                read_at=utcnow() if read else None,
            )
        )

    def batch(self, user, header, rows):
        return self.save(
            ImportBatch(
                user_id=user.id,
                filename="x.csv",
                row_count=len(rows),
                payload=json.dumps({"header": header, "rows": rows}),
            )
        )


class World:
    """Two clients (A with two sites, B with one) and a user of every role: the access tests' cast."""

    def __init__(self, make):
        self.make = make  # for a test that needs a row of its own (tests/test_access.py: a_copy)
        self.vendor = make.vendor()
        self.member = make.team_member(self.vendor)
        self.a = make.client(name_zh="甲教育局", name_en="Bureau A")
        self.a_site1 = make.site(self.a, name_zh="甲一中", name_en="A School 1")
        self.a_site2 = make.site(self.a, name_zh="甲二中", name_en="A School 2")
        self.b = make.client(name_zh="乙信息中心", name_en="Centre B")
        self.b_site = make.site(self.b, name_zh="乙机房", name_en="B Data Room")
        self.manager = make.user("vendor_manager", email="manager@test.example")
        self.agent = make.user("vendor_agent", email="agent@test.example")
        self.sysadmin = make.user("system_admin", email="sysadmin@test.example")
        self.secadmin = make.user("security_admin", email="secadmin@test.example")
        self.auditor = make.user("auditor", email="auditor@test.example")
        self.a_admin = make.user("client_admin", client=self.a, email="admin@a.example")
        self.a_staff = make.user("client_staff", client=self.a, email="staff@a.example")
        self.a_school = make.user("site_admin", client=self.a, site=self.a_site1, email="school@a.example")
        self.a_school2 = make.user("site_admin", client=self.a, site=self.a_site2, email="school2@a.example")
        self.b_admin = make.user("client_admin", client=self.b, email="admin@b.example")
        self.b_staff = make.user("client_staff", client=self.b, email="staff@b.example")
        # Equipment: a contract per client, units at both of A's schools and at B.
        self.model = make.model(manufacturer="希沃", model_number="F86EA")
        self.contract_a = make.contract(self.a, number="HT-A-1")
        self.contract_a2 = make.contract(self.a, number="HT-A-2")  # units at A's second school only
        self.contract_b = make.contract(self.b, number="HT-B-1")
        self.unit_a1 = make.unit(
            self.contract_a, self.a_site1, self.model, serial="A1-0001", unit_price=Decimal("23800.00")
        )
        self.unit_a2 = make.unit(self.contract_a2, self.a_site2, self.model, serial="A2-0001")
        self.unit_b = make.unit(
            self.contract_b, self.b_site, self.model, serial="B-0001", unit_price=Decimal("9900.00")
        )
        self.quote_a = make.quote(self.a, [self.unit_a1])
        self.quote_a_line = make.line_of(self.quote_a)
        self.quote_b = make.quote(self.b, [self.unit_b])
        from portal.renewals.models import SparePart
        from portal.sla.models import CalendarDay

        make.save(CalendarDay(day=date(2026, 10, 1), kind="holiday", name_zh="国庆节", name_en="National Day"))
        self.part = make.save(
            SparePart(name_zh="触控笔", name_en="Stylus", unit_price=Decimal("300.00"), market_price=Decimal("330.00"))
        )
        # A fault report at each school of A and at B, each with a photo (its bytes do not matter here).
        self.ticket_a, self.ticket_a2, self.ticket_b = make.tickets(
            [
                (self.a_school, self.a_site1, self.unit_a1),
                (self.a_school2, self.a_site2, self.unit_a2),
                (self.b_staff, self.b_site, self.unit_b),
            ],
            photo=b"\x89PNG\r\n\x1a\n",
        )
        self.photo_a, self.photo_a2, self.photo_b = (
            t.photos[0] for t in (self.ticket_a, self.ticket_a2, self.ticket_b)
        )
        pdf = b"%PDF-1.4 test"
        self.complaint_a = make.complaint(self.a_school, self.a_site1, attachment=pdf)
        self.complaint_a2 = make.complaint(self.a_school2, self.a_site2, attachment=pdf)
        self.complaint_b = make.complaint(self.b_staff, self.b_site, attachment=pdf)
        self.attachment_a, self.attachment_a2, self.attachment_b = (
            c.attachments[0] for c in (self.complaint_a, self.complaint_a2, self.complaint_b)
        )
        # Documents: a general one, one for each contract (A's second contract has units at A's second school only).
        self.doc_general = make.document(
            self.manager,
            title_zh="厂商授权函",
            title_en="Letter of authorisation",
            kind="authorisation",
            filename="授权书.pdf",
        )
        self.doc_a = make.document(
            self.manager,
            contract=self.contract_a,
            kind="technical_plan",
            title_zh="甲技术方案",
            title_en="A technical plan",
            filename="甲技术方案.pdf",
        )
        self.doc_a2 = make.document(
            self.manager,
            contract=self.contract_a2,
            kind="acceptance",
            title_zh="甲二验收报告",
            title_en="A2 acceptance report",
            filename="甲二验收报告.pdf",
        )
        self.doc_b = make.document(
            self.manager,
            contract=self.contract_b,
            kind="technical_plan",
            title_zh="乙技术方案",
            title_en="B technical plan",
            filename="乙技术方案.pdf",
        )
        self.version_a, self.version_a2, self.version_b = (d.current for d in (self.doc_a, self.doc_a2, self.doc_b))
        # Visits: one recorded at each school of A (an issue found on A's first unit) and at B; service logs.
        self.visit_a = make.visit(
            self.contract_a,
            self.a_site1,
            recorded_by=self.agent,
            results={self.unit_a1: ("issue", "触控失灵")},
            attachment=pdf,
        )
        self.visit_a2 = make.visit(self.contract_a2, self.a_site2, recorded_by=self.agent, attachment=pdf)
        self.visit_b = make.visit(self.contract_b, self.b_site, recorded_by=self.agent, attachment=pdf)
        self.visit_row_a, self.visit_row_a2 = self.visit_a.units[0], None
        self.visit_file_a, self.visit_file_a2, self.visit_file_b = (
            v.attachments[0] for v in (self.visit_a, self.visit_a2, self.visit_b)
        )
        self.log_a = make.service_log(self.contract_a, self.a_site1)
        self.log_a2 = make.service_log(self.contract_a2, self.a_site2)
        self.log_b = make.service_log(self.contract_b, self.b_site)
        # Issued documents: an evidence pack of A, a certificate of each school of A, one of B.
        self.pack_a = make.issued(self.manager, "evidence_pack", client=self.a, contract=self.contract_a)
        self.cert_a1 = make.issued(self.manager, client=self.a, site=self.a_site1)
        self.cert_a2 = make.issued(self.manager, client=self.a, site=self.a_site2)
        self.cert_b = make.issued(self.manager, client=self.b, site=self.b_site)
        # A preference of client B's administrator; a group robot (switched off: it takes part in no test's
        # filing), and a message to it that failed. The notifications are ``self.notes`` below.
        from portal.notify.models import Delivery, Preference, Robot

        make.save(Preference(user_id=self.b_admin.id, kind="quote.issued", mode="digest"))

        self.robot = make.save(
            Robot(
                name="值班群",
                platform="wecom",
                kinds="ticket.filed",
                webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=not-a-key",
                active=False,
            )
        )
        self.failed_delivery = make.save(
            Delivery(
                channel="wecom",
                robot_id=self.robot.id,
                kind="ticket.filed",
                subject_type="ticket",
                subject_id=self.ticket_a.id,
                params={"number": self.ticket_a.number, "severity": "B", "site": "甲一中", "title": "屏幕不亮"},
                state="failed",
                attempts=1,
                error="The worker stopped while sending; it may or may not have been delivered.",
            )
        )
        header, row = ["serial"], [["X"]]
        self.batches = {role: make.batch(user, header, row) for role, user in self.by_role().items()}
        self.b_batch = make.batch(self.b_admin, header, row)
        self.notes = {role: make.notification(user, self.ticket_a) for role, user in self.by_role().items()}
        self.b_note = make.notification(self.b_admin, self.ticket_b)

    def by_role(self):
        return {
            "vendor_manager": self.manager,
            "vendor_agent": self.agent,
            "client_admin": self.a_admin,
            "client_staff": self.a_staff,
            "site_admin": self.a_school,
            "system_admin": self.sysadmin,
            "security_admin": self.secadmin,
            "auditor": self.auditor,
        }
