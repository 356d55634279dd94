"""Commands: ``flask create-admin`` (the first system administrator of a production portal), ``flask seed-demo``
(demo data, run by ``make run`` on an empty database; refused in production), ``flask demo-logins``, the
sweeps (``flask sweep``, or one kind: ``flask tickets-sweep``, ``flask quotes-expire``; see ``portal.sweeps``),
``flask counts check`` / ``flask counts rebuild`` (the maintained unit counts, see ``portal.equipment.tally``)."""

import os

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from .extensions import db

DEMO_PASSWORD = "portal-demo-2026"  # nosec B105  # the published demo password (README); demo accounts only
DEMO_ACCOUNTS = [
    ("manager@vendor.example.com", "vendor_manager", "全部客户 / all clients"),
    ("agent@vendor.example.com", "vendor_agent", "全部客户 / all clients"),
    ("admin@edu.example.com", "client_admin", "示范区教育局 / Demo District Education Bureau"),
    ("it@edu.example.com", "client_staff", "示范区教育局 / Demo District Education Bureau"),
    ("school1@edu.example.com", "site_admin", "示范区第一中学 / Demo District No. 1 Middle School"),
    ("admin@info.example.com", "client_admin", "示范市信息中心 / Demo City Information Centre"),
    # The three separated administrators (三权分立): none of them sees the business.
    ("sysadmin@vendor.example.com", "system_admin", "用户、客户、使用单位、设置 / users, clients, sites, settings"),
    ("security@vendor.example.com", "security_admin", "登录安全 / sign-in security"),
    ("auditor@vendor.example.com", "auditor", "审计日志 / audit trail"),
]


def print_logins():
    click.echo(f"\nDemo accounts (password: {DEMO_PASSWORD}):")
    for email, role, scope in DEMO_ACCOUNTS:
        click.echo(f"  {email:<30} {role:<15} {scope}")
    click.echo("")


def password_problems(password, user):
    """Why ``password`` is not good enough for ``user``: the security administrator's password policy (its defaults
    before anyone saved it), the same rules as every password form."""
    from flask_babel import force_locale

    from .auth.passwords import problems

    with force_locale("en"):  # as every other message of the commands
        return [str(reason) for reason in problems(password, user=user)]


def refuse_a_second_admin(force_another):
    """The command bootstraps a portal: once it has a system administrator, accounts are made in the portal."""
    from .auth.models import User
    from .roles import Role

    admins = db.session.scalar(sa.select(sa.func.count(User.id)).where(User.role == Role.SYSTEM_ADMIN.value))
    if admins and not force_another:
        raise click.ClickException(
            "A system administrator already exists: they create the other accounts in the portal. To add another "
            "one from the command line anyway (e.g. the only one has left), use --force-another."
        )


def create_admin(email, name, password, force_another=False):
    """The first system administrator (or, with ``force_another``, one more): the new user, or ClickException."""
    from .audit import record
    from .auth.models import User
    from .auth.services import normalise_email, normalise_password
    from .roles import Role

    refuse_a_second_admin(force_another)
    email, name, password = normalise_email(email), (name or "").strip(), normalise_password(password)
    if not email or "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise click.ClickException(f"Not an e-mail address: {email!r}.")
    if not name or len(name) > 100:
        raise click.ClickException("Give a name of 1 to 100 characters.")
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise click.ClickException(f"{email} already has an account.")
    user = User(email=email, name=name, role=Role.SYSTEM_ADMIN.value, phone="")
    problems = password_problems(password, user)
    if problems:
        raise click.ClickException("The password is refused: " + " ".join(problems))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record("user.created", target=user, user=user, how="create-admin")
    db.session.commit()
    return user


def init_app(app):
    @app.cli.command("create-admin")
    @click.option("--force-another", is_flag=True, help="Create one even though a system administrator exists.")
    def create_admin_command(force_another):
        """Create the first system administrator (系统管理员), who then creates every other account in the portal.
        Asks for the e-mail, the name and the password (twice, not shown), or takes them from PORTAL_ADMIN_EMAIL,
        PORTAL_ADMIN_NAME and PORTAL_ADMIN_PASSWORD (unset the password from the environment afterwards)."""
        refuse_a_second_admin(force_another)  # before asking anything
        email = os.environ.get("PORTAL_ADMIN_EMAIL") or click.prompt("E-mail")
        name = os.environ.get("PORTAL_ADMIN_NAME") or click.prompt("Name")
        password = os.environ.get("PORTAL_ADMIN_PASSWORD") or click.prompt(
            "Password", hide_input=True, confirmation_prompt="Repeat the password"
        )
        user = create_admin(email, name, password, force_another=force_another)
        click.echo(
            f"System administrator created: {user.email}. Sign in and create the other accounts; the "
            "security and audit administrators must be other people (三权分立)."
        )

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
    def seed_demo(if_empty):
        """Create the demo vendor, two clients with their sites, and the demo accounts (not in production: their
        password is published; ``make run`` sets PORTAL_ENV=development)."""
        from .auth.models import User
        from .demo import seed

        if current_app.config["PORTAL_ENV"] == "production":
            raise click.ClickException(
                "PORTAL_ENV is production: demo data is not added (its accounts have a published password and cannot "
                "sign in to a production portal). Create the first administrator with `flask create-admin`; for a "
                "demonstration, set PORTAL_ENV=development."
            )

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
        """Every frequent sweep, as the job worker runs them: record the SLA breaches that are due and warn of
        clocks at risk or faults with no response, close tickets resolved 7 days ago without confirmation, expire
        quotes past their validity and remind of those expiring, tell of overdue complaints, forget one-time form
        tokens older than 30 days. Idempotent, and safe to run on several hosts at once and while people use the
        portal: for cron instead of ``flask jobs worker`` (e.g. every minute), with ``flask jobs run inspections``
        daily and ``flask jobs run warranty`` monthly."""
        from .sweeps import run

        done = run()
        click.echo(
            "Swept: {breaches} tickets checked for breaches, {auto_closed} closed automatically, "
            "{expired_quotes} quotes expired, {forms_forgotten} old form tokens forgotten; notifications: "
            "{at_risk} at risk, {no_response} no response, {expiring_quotes} quotes expiring, "
            "{complaints_overdue} complaints overdue.".format(**done)
        )

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
    @click.option(
        "--clean",
        is_flag=True,
        help="Remove orphan files and stale staged uploads, and move into place a staged file whose "
        "version is saved. Never done without this option.",
    )
    def documents_check(clean):
        """Check storage against the rows that name files (document versions, issued PDFs, ticket photos, complaint
        and visit attachments) after a restore, a crash, or when moving storage: every row's file is there with the
        SHA-256 recorded at upload; no file is there that no row names (an orphan); no upload stayed staged (a
        worker killed mid-upload). Exits with 1 when a problem is left."""
        from .storage import audit, file_rows, repair, storage

        def versions():
            rows = file_rows(db.session)
            db.session.rollback()  # nothing written: no transaction (on SQLite, no write lock) while files are read
            return rows

        store = storage()
        checked, findings = audit(store, versions)
        texts = {
            "missing": "missing: {row} ({key})",
            "differs": "differs: {row} ({key}): not the file uploaded",
            "unkept": "not kept: {row} ({key}): its upload is still staged (--clean moves it into place)",
            "orphan": "orphan: {key}: no row names this file (--clean removes it)",
            "stale": "stale staged upload: {key}: a request that never finished (--clean removes it)",
        }
        left = 0
        for finding in findings:
            click.echo(texts[finding.problem].format(row=finding.row, key=finding.key))
            if clean and repair(store, finding):
                click.echo(f"  cleaned: {finding.key}")
            else:
                left += 1
        click.echo(
            f"Stored files checked: {checked}, problems: {len(findings)}" + (f", left: {left}." if clean else ".")
        )
        if left:
            raise SystemExit(1)

    @app.cli.command("backup")
    @click.option(
        "--output",
        type=click.Path(file_okay=False),
        default=None,
        help="The folder of the archives (default: PORTAL_BACKUP_DIR, else instance/backups).",
    )
    @click.option(
        "--gzip",
        is_flag=True,
        help="Compress the archive (.tar.gz; the documents are mostly PDFs and "
        "the dump is compressed already, so this gains little).",
    )
    @click.option(
        "--keep",
        type=click.IntRange(min=1),
        default=None,
        help="Then remove all but the newest N archives of the folder.",
    )
    @click.option(
        "--verify",
        "archive",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="Make no backup: check every SHA-256 of this archive against its manifest.",
    )
    def backup_command(output, gzip, keep, archive):
        """Back up the database and every stored file its rows name into one dated archive
        (portal-backup-YYYYMMDDTHHMMSSZ.tar) with a manifest of SHA-256 hashes, while the portal runs: PostgreSQL
        with pg_dump, SQLite with its online backup API. With --verify, check an archive instead."""
        from .backup import BackupError, backup, prune, verify

        try:
            if archive:
                manifest = verify(archive)
                click.echo(
                    f"OK {archive}: {len(manifest['members'])} members, every SHA-256 as in the manifest "
                    f"(made {manifest['created']}, revision {manifest['alembic_revision']})."
                )
                return
            output = output or current_app.config["BACKUP_DIR"]
            path, manifest = backup(output, gzip=gzip)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        counts = manifest["counts"]
        for warning in manifest["warnings"]:
            click.echo(f"warning: {warning}", err=True)
        click.echo(
            f"Backed up {counts['rows']} rows in {len(counts['tables'])} tables and {counts['files']} files "
            f"({counts['file_bytes']} bytes) to {path}."
        )
        for old in prune(output, keep) if keep else []:
            click.echo(f"Removed the older archive {old}.")

    @app.cli.command("restore")
    @click.argument("archive", type=click.Path(exists=True, dir_okay=False))
    @click.option(
        "--force",
        is_flag=True,
        help="Restore even though the database or storage is not empty (their contents are replaced).",
    )
    @click.option("--yes", is_flag=True, help="With --force: do not ask for confirmation.")
    def restore_command(archive, force, yes):
        """Restore an archive of `flask backup` into this installation's database and storage, which must be
        empty (a new host: no tables, or a migrated schema with no rows). Every SHA-256 is checked before anything
        is changed; then the stored files are checked against the restored rows, as `flask documents-check`
        does. Exits with 1 when a problem is left."""
        from .backup import BackupError, restore

        def confirm(what):
            if not yes:
                click.confirm(f"Replace {what}?", abort=True)

        try:
            done = restore(archive, force=force, confirm=confirm, echo=click.echo)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        manifest = done.manifest
        for table, archived, restored in done.differences:
            click.echo(f"PROBLEM {table}: {archived} rows in the archive, {restored} restored")
        for finding in done.findings:
            click.echo(f"PROBLEM {finding.problem}: {finding.row} ({finding.key})")
        click.echo(
            f"Restored {manifest['counts']['rows']} rows and {manifest['counts']['files']} files from "
            f"{archive} (made {manifest['created']}); stored files checked: {done.checked}, problems: "
            f"{len(done.findings)}."
        )
        if done.revision == "older":
            click.echo(
                f"The archive's database is at revision {manifest['alembic_revision']}, older than this "
                "code: run `flask db upgrade` now."
            )
        elif done.revision == "none":
            click.echo(
                "The archive's database has no Alembic revision: run `flask db stamp head` if its schema is "
                "this code's."
            )
        if done.differences or done.findings:
            raise SystemExit(1)

    @app.cli.command("storage-copy")
    @click.option(
        "--to",
        "target",
        type=click.Choice(["folder", "s3"]),
        required=True,
        help="Where to: the folder PORTAL_STORAGE_DIR, or the bucket of the PORTAL_S3_* settings.",
    )
    @click.option("--replace", is_flag=True, help="Copy files already there with the same size too.")
    def storage_copy(target, replace):
        """Copy every stored file from the configured storage (PORTAL_STORAGE) to the other one, under the same keys:
        to move from a folder to S3-compatible storage (or back). Safe to run again after an interruption, and while
        the portal runs; run it once more after stopping uploads, then set PORTAL_STORAGE to the target, restart, and
        run `flask documents-check`."""
        from .storage import copy, storage

        if target == current_app.config.get("STORAGE", "folder"):
            raise click.ClickException(f"PORTAL_STORAGE is already {target}: nothing to copy to.")
        copied = kept = 0
        for key, done in copy(storage(), storage(target), replace=replace):
            copied, kept = copied + done, kept + (not done)
            if done and copied % 100 == 0:
                click.echo(f"  {copied} copied, last {key}")
        click.echo(f"Files copied to {target}: {copied}; already there: {kept}.")

    @app.cli.command("uploads-scrub")
    def uploads_scrub():
        """Re-encode the photos and image attachments stored before uploads were re-encoded, without their EXIF
        (GPS position), XMP or comments. Images without metadata are left as they are: running it twice changes
        nothing."""
        import io

        from .complaints.models import ComplaintAttachment
        from .inspections.models import VisitAttachment
        from .storage import stage, storage
        from .tickets.models import TicketPhoto
        from .uploads import scrubbed

        store = storage()
        for model in (TicketPhoto, ComplaintAttachment, VisitAttachment):
            ids = db.session.scalars(
                sa.select(model.id).where(model.content_type.in_(["image/jpeg", "image/png"])).order_by(model.id)
            ).all()
            changed = 0
            for id_ in ids:
                item = db.session.get(model, id_)
                try:
                    with store.open(item.storage_key) as handle:
                        clean = scrubbed(handle.read())
                except FileNotFoundError:
                    click.echo(f"{model.__tablename__} {id_}: its file {item.storage_key} is missing (documents-check)")
                    clean = None
                old_key = item.storage_key
                if clean is not None:
                    stored = stage(io.BytesIO(clean[0]), store)  # a new file, kept with the row
                    item.storage_key, item.sha256, item.size = stored.key, stored.sha256, stored.size
                    if hasattr(item, "width"):
                        item.width, item.height = clean[1], clean[2]
                    changed += 1
                db.session.commit()
                if clean is not None:
                    store.delete(old_key)  # the file with the metadata, named by no row now
                db.session.expunge_all()  # one image in memory at a time
            click.echo(f"{model.__tablename__}: {len(ids)} images, {changed} re-encoded without their metadata.")

    counts = AppGroup(
        "counts",
        help="The maintained counts of units by warranty state (the home pages' and the "
        "warranty overview's): compare them with a recount, or recount and store them.",
    )
    app.cli.add_command(counts)

    @counts.command("check")
    def counts_check():
        """Compare the maintained counts with a recount of the units; exit 1 if any differ."""
        from .equipment.tally import differences, missing_triggers

        found, missing = differences(), missing_triggers(db.session.connection())
        db.session.rollback()
        for table, key, stored, recounted in found[:50]:
            click.echo(f"{table} {key}: kept {stored}, recounted {recounted}")
        if missing:
            click.echo(f"Triggers missing on equipment: {', '.join(missing)}")
        if found or missing:
            raise click.ClickException(
                f"{len(found)} counts differ from a recount, {len(missing)} triggers missing: "
                "run `flask counts rebuild`."
            )
        click.echo("The maintained counts agree with a recount.")

    @counts.command("rebuild")
    def counts_rebuild():
        """Recount the units by site, client and warranty dates and store the counts (in one transaction); install
        the triggers that keep them if any is missing."""
        from .equipment.tally import rebuild

        rows = rebuild()
        db.session.commit()
        click.echo(f"Counts rebuilt: {rows} rows.")

    @app.cli.command("demo-logins")
    def demo_logins():
        """Print the demo accounts and their password."""
        print_logins()
