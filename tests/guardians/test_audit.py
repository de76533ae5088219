"""The audit chain: every verdict recorded; an edited, removed or reordered record is found."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from podium.cli import app
from podium.guardians.audit import AuditLog


def _verdicts(n: int) -> list[dict]:
    return [
        {
            "guardian": "injection",
            "action": "block" if i % 2 else "allow",
            "category": "injection",
            "score": i / 10,
            "reason": f"verdict {i}",
            "model": "prompt-guardrail+minilm-head@test",
        }
        for i in range(n)
    ]


def test_an_untouched_chain_verifies(tmp_path):
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    log.append("run1", "in", _verdicts(3))
    log.append("run2", "out", _verdicts(2))
    report = log.verify()
    assert report.ok and report.records == 5
    assert [r["run_id"] for r in log.records()] == ["run1"] * 3 + ["run2"] * 2


def test_a_tampered_score_is_detected_at_that_record(tmp_path):
    path = tmp_path / "audit.sqlite"
    log = AuditLog(f"sqlite:///{path}")
    log.append("run1", "in", _verdicts(4))
    with sqlite3.connect(path) as conn:  # someone turns a block into an allow
        conn.execute("UPDATE guard_audit SET action='allow', score=0.0 WHERE id=2")
    report = log.verify()
    assert not report.ok
    assert report.record_id == 2
    assert "changed" in report.problem


def test_a_deleted_record_is_detected(tmp_path):
    path = tmp_path / "audit.sqlite"
    log = AuditLog(f"sqlite:///{path}")
    log.append("run1", "in", _verdicts(4))
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM guard_audit WHERE id=2")
    report = log.verify()
    assert not report.ok and report.record_id == 3
    assert "removed" in report.problem


def test_podium_audit_verify_exits_1_on_a_tampered_log(tmp_path):
    path = tmp_path / "audit.sqlite"
    log = AuditLog(f"sqlite:///{path}")
    log.append("run1", "in", _verdicts(2))
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--url", f"sqlite:///{path}"])
    assert ok.exit_code == 0, ok.output
    assert "intact: 2 records" in ok.output
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE guard_audit SET reason='nothing to see' WHERE id=1")
    bad = runner.invoke(app, ["audit", "verify", "--url", f"sqlite:///{path}"])
    assert bad.exit_code == 1
    assert "broken" in bad.output and "record 1" in bad.output
