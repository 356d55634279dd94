"""Retention: never fewer than 180 days; pruning only what an export covers; the chain verifies after pruning."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit import retention
from portal.extensions import db
from portal.types import utcnow

from ..conftest import make_app
from .helpers import last_seq, records, write


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["audit", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("days, kept", [(30, 180), (179, 180), (180, 180), (400, 400)])
def test_retention_is_never_below_180_days(days, kept):
    if days < 180:
        with pytest.warns(UserWarning, match="legal minimum"):
            app = make_app(AUDIT_RETENTION_DAYS=days)
    else:
        app = make_app(AUDIT_RETENTION_DAYS=days)
    assert app.config["AUDIT_RETENTION_DAYS"] == kept


def old_and_new(app):
    """40 records 200 days old, then 10 of today."""
    write(app, 40, at=utcnow() - timedelta(days=200), event="test.old")
    write(app, 10, event="test.new")


def test_prune_refuses_what_no_export_covers(app):
    old_and_new(app)
    code, output = run(app, "prune")
    assert code == 1 and "Not pruned" in output
    assert len(records(app)) == 50


def test_export_then_prune_then_the_chain_still_verifies(app, tmp_path):
    old_and_new(app)
    day = (utcnow() - timedelta(days=190)).date().isoformat()
    out = tmp_path / "archive.jsonl"
    code, output = run(app, "export", "--before", day, "--out", str(out))
    assert code == 0 and "Exported 40 records" in output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in lines] == list(range(1, 41)) and all(r["hash"] for r in lines)
    assert run(app, "verify", "--file", str(out))[0] == 0  # the archive verifies on its own

    code, output = run(app, "prune")
    assert code == 0 and "Pruned 40 records" in output, output
    remaining = records(app)
    assert remaining[0]["seq"] == 41 and not [r for r in remaining if r["event"] == "test.old"]
    pruned = [r for r in remaining if r["event"] == "audit.pruned"][0]
    assert pruned["data"]["last_seq"] == 40 and pruned["data"]["last_hash"] == lines[-1]["hash"]
    code, output = run(app, "verify")
    assert code == 0 and "intact" in output, output
    # Nothing older is left: a second prune does nothing, and the chain still verifies.
    assert run(app, "prune") == (0, "Pruned 0 records older than 180 days.\n")
    assert run(app, "verify")[0] == 0


def test_an_export_that_stops_short_does_not_let_prune_delete_more(app, tmp_path):
    old_and_new(app)
    write(app, 1)  # nothing
    with app.app_context():
        done = retention.export(tmp_path / "part.jsonl", upto_seq=20)
        retention.record_export("audit.exported", tmp_path / "part.jsonl", done)
        db.session.commit()
    assert run(app, "prune")[0] == 1


def test_csv_export_carries_the_hashes_and_verifies(app, tmp_path):
    old_and_new(app)
    out = tmp_path / "archive.csv"
    assert run(app, "export", "--before", "2099-01-01", "--out", str(out))[0] == 0
    assert out.read_text().splitlines()[0].startswith("seq,at,")
    assert run(app, "verify", "--file", str(out))[0] == 0
    text = out.read_text().replace("test.new", "test.NEW", 1)
    out.write_text(text)
    code, output = run(app, "verify", "--file", str(out))
    assert code == 1 and "changed" in output


def test_the_daily_job_archives_prunes_and_verifies(app, tmp_path):
    from portal.jobs import run_job

    old_and_new(app)
    app.config["AUDIT_ARCHIVE_DIR"] = str(tmp_path / "archive")
    with app.app_context():
        done = run_job("audit")
    assert done["archived"] == 40 and done["pruned"] == 40 and done["intact"]
    files = list((tmp_path / "archive").iterdir())
    assert len(files) == 1 and retention.verify_file(files[0]).count == 40
    events = [r["event"] for r in records(app)]
    assert events.count("audit.archived") == 1 and events.count("audit.pruned") == 1
    assert events[-1] == "audit.verified" and records(app)[-1]["result"] == "ok"
    assert run(app, "verify")[0] == 0
    # The next day: nothing more to archive.
    with app.app_context():
        assert run_job("audit")["archived"] == 0
    assert last_seq(app) > 50
    assert sa
