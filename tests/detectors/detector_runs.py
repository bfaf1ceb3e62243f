"""Scripted steps and runs for detector tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.detectors import Detector, Step, Verdict, format_action
from dispatcher.trajectories import Trajectory


def step(
    index: int,
    tool: str,
    arguments: Mapping[str, Any] | None = None,
    observation: str = "",
    *,
    error: bool = False,
    signals: Mapping[str, Any] | None = None,
    text: str = "",
) -> Step:
    arguments = dict(arguments or {})
    return Step(
        index=index,
        action=format_action(tool, arguments),
        observation=observation,
        error=error,
        tool=tool,
        arguments=arguments,
        text=text,
        signals=dict(signals or {}),
    )


def message(index: int, text: str, reply: str = "") -> Step:
    """A text-only turn (no tool call)."""
    return Step(index=index, action=text, observation=reply, text=text)


def feed(detectors: Sequence[Detector], steps: Sequence[Step]) -> list[Verdict]:
    """Call every detector after every step, as the worker loop does; all verdicts in order."""
    seen: list[Step] = []
    verdicts: list[Verdict] = []
    for s in steps:
        seen.append(s)
        for detector in detectors:
            verdict = detector(seen)
            if verdict is not None:
                verdicts.append(verdict)
    return verdicts


def progressing_run(length: int = 30) -> list[Step]:
    """A healthy coding run: exploration, batch edits across files, incremental edits of one
    file, and test re-runs after each change with the failing count going down."""
    steps: list[Step] = []

    def add(*args: Any, **kwargs: Any) -> None:
        steps.append(step(len(steps), *args, **kwargs))

    add("list_files", {"path": "."}, "app.py\nmodels.py\nviews.py\ntests/")
    add("read_file", {"path": "app.py"}, "def main():\n    return run_server(port=8080)\n")
    add("read_file", {"path": "models.py"}, "class User:\n    name: str\n    email: str\n")
    failing = 6
    add(
        "run_tests",
        {},
        f"{failing} failed, 4 passed",
        error=True,
        signals={"tests_failed": failing, "tests_passed": 4, "state_changed": True},
    )
    round_ = 0
    while len(steps) < length - 1:
        round_ += 1
        # Batch edit: the same tool on several files with different content.
        for name in ("models.py", "views.py", "app.py"):
            if len(steps) >= length - 2:
                break
            add(
                "write_file",
                {
                    "path": name,
                    "content": f"# revision {round_} of {name}\nvalue_{round_} = {round_}\n",
                },
                f"Wrote {40 + round_} bytes to {name}",
                signals={"state_changed": True},
            )
        # Incremental edit of one file: same tool and path, different content.
        add(
            "patch_file",
            {"path": "models.py", "old_text": f"v{round_}", "new_text": f"v{round_ + 1}"},
            f"Patched models.py: replaced v{round_} with v{round_ + 1}",
            signals={"state_changed": True},
        )
        failing = max(0, failing - 1)
        add(
            "run_tests",
            {},
            f"{failing} failed, {10 - failing} passed in 0.{round_}s; test_case_{round_} fixed",
            error=failing > 0,
            signals={"tests_failed": failing, "tests_passed": 10 - failing, "state_changed": True},
        )
    add("submit", {}, "Submitted the change set for review.")
    return steps[:length]


def trajectory(run_id: str, group: str, success: bool, steps: Sequence[Step]) -> Trajectory:
    return Trajectory(id=run_id, group=group, success=success, steps=tuple(steps))
