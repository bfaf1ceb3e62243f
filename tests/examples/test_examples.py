"""Every example runs offline from its cassette, end to end, with real tools."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatcher.cli.app import _register_subcommands, app
from dispatcher.trace.reader import read_trace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_register_subcommands()


def run_example(name: str, runs_dir: Path) -> tuple[dict[str, object], list[object]]:
    result = CliRunner().invoke(
        app, ["run", str(EXAMPLES / name), "--runs-dir", str(runs_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    events = read_trace(Path(payload["trace_path"]))
    return payload, events


def kinds(events: list[object]) -> set[str]:
    return {e.kind for e in events}  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["sql_report", "fix_failing_test"])
def test_workflow_examples_route_detect_escalate_and_save_money(name: str, tmp_path: Path) -> None:
    payload, events = run_example(name, tmp_path)
    assert {"route", "model_call", "tool_call", "detector", "escalation"} <= kinds(events)
    finished = events[-1]
    assert finished.kind == "run_finished" and finished.status == "ok"  # type: ignore[attr-defined]
    assert finished.cost_usd < finished.counterfactual_cost_usd  # type: ignore[attr-defined]
    assert payload["escalations"] and payload["escalations"][0]["outcome"] == "advised"  # type: ignore[index]


def test_sql_report_numbers_match_ground_truth_sql(tmp_path: Path) -> None:
    payload, _ = run_example("sql_report", tmp_path)
    answer = str(payload["answer"])
    database = EXAMPLES / "sql_report" / "data" / "chinook.sqlite"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        genres = connection.execute(
            """SELECT g.Name, ROUND(SUM(il.UnitPrice * il.Quantity), 2) FROM InvoiceLine il
               JOIN Invoice i USING (InvoiceId) JOIN Track t USING (TrackId)
               JOIN Genre g USING (GenreId) WHERE i.InvoiceDate LIKE '2024-%'
               GROUP BY g.GenreId ORDER BY 2 DESC LIMIT 3"""
        ).fetchall()
        ((agent, sales),) = connection.execute(
            """SELECT e.FirstName || ' ' || e.LastName, ROUND(SUM(i.Total), 2) FROM Invoice i
               JOIN Customer c USING (CustomerId) JOIN Employee e ON e.EmployeeId = c.SupportRepId
               WHERE i.InvoiceDate LIKE '2024-%' GROUP BY e.EmployeeId ORDER BY 2 DESC LIMIT 1"""
        ).fetchall()
    numbers = [float(n) for n in re.findall(r"\$(\d+(?:\.\d+)?)", answer)]
    for genre, revenue in genres:
        assert genre in answer
        assert revenue in numbers
    assert agent in answer and sales in numbers


def test_fix_failing_test_ends_with_a_real_passing_pytest_run(tmp_path: Path) -> None:
    _, events = run_example("fix_failing_test", tmp_path)
    test_runs = [e for e in events if e.kind == "tool_call" and e.tool == "workspace_run_tests"]  # type: ignore[attr-defined]
    assert test_runs[0].signals["tests_failed"] == 1  # type: ignore[attr-defined]
    assert test_runs[-1].ok and test_runs[-1].signals["tests_failed"] == 0  # type: ignore[attr-defined]
    assert test_runs[-1].signals["tests_passed"] == 5  # type: ignore[attr-defined]
    # The example folder itself is untouched: the run patched a copy.
    source = (EXAMPLES / "fix_failing_test" / "project" / "textstats" / "stats.py").read_text()
    assert "return ordered[mid]\n" in source and "mid - 1" not in source


def test_custom_specialist_is_registered_from_a_file_and_chosen(tmp_path: Path) -> None:
    payload, events = run_example("custom_specialist", tmp_path)
    assert "78.75" in str(payload["answer"])
    routes = [e for e in events if e.kind == "route"]
    assert routes[0].chosen == "shipping_quoter"  # type: ignore[attr-defined]
    assert "returns_policy" in routes[0].candidates  # type: ignore[attr-defined]
    tools = [e for e in events if e.kind == "tool_call"]
    assert tools[0].tool == "shipping_quote" and tools[0].ok  # type: ignore[attr-defined]


def test_agents_ls_shows_the_file_registered_agents() -> None:
    result = CliRunner().invoke(
        app,
        ["agents", "ls", "-c", str(EXAMPLES / "custom_specialist" / "dispatcher.yaml"), "--json"],
    )
    assert result.exit_code == 0, result.output
    names = {row["name"] for row in json.loads(result.stdout)}
    assert {"shipping_quoter", "returns_policy", "overwatch"} <= names


def test_a_folder_without_example_yaml_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(tmp_path)])
    assert result.exit_code != 0
