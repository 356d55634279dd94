"""Commands: ``flask seed-demo`` (demo data, run by ``make run`` on an empty database), ``flask demo-logins``, the
sweeps (``flask sweep``, or one kind: ``flask tickets-sweep``, ``flask quotes-expire``; see ``portal.sweeps``)."""
import click
import sqlalchemy as sa

from .extensions import db

DEMO_PASSWORD = "portal-demo-2026"
DEMO_ACCOUNTS = [
    ("manager@vendor.example.com", "vendor_manager", "全部客户 / all clients"),
    ("agent@vendor.example.com", "vendor_agent", "全部客户 / all clients"),
    ("admin@edu.example.com", "client_admin", "示范区教育局 / Demo District Education Bureau"),
    ("it@edu.example.com", "client_staff", "示范区教育局 / Demo District Education Bureau"),
    ("school1@edu.example.com", "site_admin", "示范区第一中学 / Demo District No. 1 Middle School"),
    ("admin@info.example.com", "client_admin", "示范市信息中心 / Demo City Information Centre"),
]


def print_logins():
    click.echo("\nDemo accounts (password: %s):" % DEMO_PASSWORD)
    for email, role, scope in DEMO_ACCOUNTS:
        click.echo(f"  {email:<30} {role:<15} {scope}")
    click.echo("")


def init_app(app):
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
    def seed_demo(if_empty):
        """Create the demo vendor, two clients with their sites, and the demo accounts."""
        from .auth.models import User
        from .demo import seed

        if if_empty and db.session.scalar(sa.select(sa.func.count(User.id))):
            click.echo("The database already has users: demo data not added.")
            return
        seed()
        db.session.commit()
        from .sweeps import run

        run()  # the breaches and the automatic closing the demo's past holds, on the timelines
        click.echo("Demo data created.")

    @app.cli.command("holidays-load")
    @click.option("--from-year", default=2020, show_default=True)
    def holidays_load(from_year):
        """Add China's official holidays and swapped working days from the chinesecalendar package."""
        from .sla.holidays import load_from_library

        added, years = load_from_library(from_year)
        db.session.commit()
        click.echo(f"Holiday calendar: {added} days added; confirmed years {years[0]}–{years[-1]}.")

    @app.cli.command("sweep")
    def sweep():
        """Every sweep: record the SLA breaches that are due, close tickets resolved 7 days ago without
        confirmation, expire quotes past their validity. Idempotent, and safe to run on several hosts at once and
        while people use the portal; run it from cron (e.g. every 5 minutes)."""
        from .sweeps import run

        done = run()
        click.echo("Swept: {breaches} tickets checked for breaches, {auto_closed} closed automatically, "
                   "{expired_quotes} quotes expired.".format(**done))

    @app.cli.command("tickets-sweep")
    def tickets_sweep():
        """Record SLA breaches that are due and close tickets resolved 7 days ago without confirmation (part of
        ``flask sweep``; kept for existing cron lines)."""
        from .tickets.services import close_unconfirmed, record_breaches

        checked, closed = record_breaches(), close_unconfirmed()
        click.echo(f"Tickets swept: {checked} checked for breaches, {closed} closed automatically.")

    @app.cli.command("quotes-expire")
    def quotes_expire():
        """Mark issued quotes past their validity as expired (part of ``flask sweep``)."""
        from .renewals.services import expire_quotes

        click.echo(f"Quotes expired: {expire_quotes()}.")

    @app.cli.command("documents-check")
    def documents_check():
        """Check that every document version's file is in storage with the SHA-256 recorded at upload (after a
        restore, or when moving storage to shared disk). Exits with 1 when a file is missing or differs."""
        import hashlib

        from .documents.models import DocumentVersion
        from .storage import storage

        store, problems, checked = storage(), 0, 0
        for version in db.session.scalars(sa.select(DocumentVersion).order_by(DocumentVersion.id)):
            checked += 1
            try:
                with store.open(version.storage_key) as handle:
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()
            except FileNotFoundError:
                problems += 1
                click.echo(f"missing: document {version.document_id} version {version.label} ({version.storage_key})")
                continue
            if digest != version.sha256:
                problems += 1
                click.echo(f"differs: document {version.document_id} version {version.label} ({version.storage_key})")
        click.echo(f"Document files checked: {checked}, problems: {problems}.")
        if problems:
            raise SystemExit(1)

    @app.cli.command("demo-logins")
    def demo_logins():
        """Print the demo accounts and their password."""
        print_logins()
