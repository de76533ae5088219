"""``podium run``'s live progress: a table of the plan's steps on stderr, updated from the
run's events (and nothing at all when stderr is not a terminal or with ``--quiet``)."""

from __future__ import annotations

from typing import Any

from rich.live import Live
from rich.table import Table

from podium.cli.options import err


class RunProgress:
    """A live table of the plan's steps on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and err.is_terminal
        self.rows: dict[str, dict[str, Any]] = {}
        self.status = "starting"
        self.answer = ""  # the answer's sentences as they stream (each one final)
        self._live: Live | None = None

    def live(self) -> Any:
        if not self.enabled:
            import contextlib

            return contextlib.nullcontext()
        self._live = Live(self._render(), console=err, refresh_per_second=8, transient=False)
        return self._live

    def update(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        if kind == "plan":
            self.status = "running"
            for s in ev["plan"]["steps"]:
                self.rows[s["id"]] = {
                    "expert": s["expert"],
                    "input": s["input"],
                    "status": "waiting",
                    "confidence": "",
                    "ms": "",
                }
        elif kind == "step_started":
            self.rows.setdefault(ev["step_id"], {"expert": ev["expert"], "input": ev["input"]})
            self.rows[ev["step_id"]].update(status="running", input=ev["input"])
        elif kind == "step_finished":
            row = self.rows.setdefault(ev["step_id"], {"expert": ev["expert"], "input": ""})
            row.update(
                status=ev["status"],
                confidence=f"{ev.get('confidence', 0):.2f}",
                ms=f"{(ev.get('cost') or {}).get('ms', 0):.0f}",
            )
        elif kind == "token":
            self.status = "answering"
            self.answer += ev["text"]
        elif kind == "answer":
            self.status = "answered"
        elif kind == "run_finished":
            self.status = ev["status"]
        elif kind == "run_started":
            self.status = "planning"
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Table:
        caption = self.answer.strip() if self.status == "answering" else None
        table = Table(title=f"podium · {self.status}", caption=caption, expand=False)
        for col in ("step", "expert", "input", "status", "conf", "ms"):
            table.add_column(col)
        colors = {"ok": "green", "failed": "red", "skipped": "yellow", "running": "cyan"}
        for sid, row in self.rows.items():
            status = row.get("status", "")
            table.add_row(
                sid,
                row.get("expert", ""),
                str(row.get("input", ""))[:60],
                f"[{colors.get(status, 'white')}]{status}[/]",
                str(row.get("confidence", "")),
                str(row.get("ms", "")),
            )
        return table
