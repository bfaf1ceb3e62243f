"""`detectors calibrate` on data or options it cannot fit anything sensible from: a clear error
(exit 2), never a written config that alarms on every run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli


def _runs(tmp_path: Path, steps_of_successes: int, steps_of_failures: int = 8) -> Path:
    rows = []
    for i in range(20):
        success = i % 2 == 0
        n = steps_of_successes if success else steps_of_failures
        steps = [{"action": f"cmd{j % 3}", "observation": f"out {i} {j}"} for j in range(n)]
        rows.append({"id": f"r{i}", "group": f"g{i % 5}", "success": success, "steps": steps})
    data = tmp_path / "runs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


@pytest.mark.parametrize("failures", [0, 8], ids=["all-empty", "only-failures-have-steps"])
def test_successful_runs_too_short_to_score_are_a_data_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], failures: int
) -> None:
    # No successful run reaches the combined score's min_steps: its alarm threshold would rest
    # on no scores at all (it came out at 1e-6, an alarm at every step of every new run).
    config = tmp_path / "dispatcher.yaml"
    args = ["detectors", "calibrate", "--data", str(_runs(tmp_path, 0, failures))]
    result = run_cli([*args, "--config", str(config)], capsys)
    assert result.exit_code == 2, result.stdout
    assert "min_steps" in result.stderr and "successful run" in result.stderr
    assert not config.exists()


@pytest.mark.parametrize("l2", ["-1", "nan", "inf"])
def test_an_l2_penalty_that_is_not_a_finite_number_at_least_0_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], l2: str
) -> None:
    args = ["detectors", "calibrate", "--data", str(_runs(tmp_path, 8)), "--dry-run"]
    result = run_cli([*args, "--l2", l2], capsys)
    assert result.exit_code == 2
    assert "--l2" in result.stderr and "combined.bias" not in result.stderr


def test_group_by_repository_needs_swe_bench_instance_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Groups such as "g0" have no repository in them: grouping "by repository" would silently
    # group by task, and the printed CV would claim otherwise.
    args = ["detectors", "calibrate", "--data", str(_runs(tmp_path, 8)), "--dry-run"]
    result = run_cli([*args, "--group-by", "repository"], capsys)
    assert result.exit_code == 2
    assert "owner__repo-N" in result.stderr and "'g0'" in result.stderr
