"""How the CLI decides tool calls that need approval: ask at the terminal, or a flag decides."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import anyio
import typer
from rich.console import Console
from rich.markup import escape

from dispatcher._model_json import loads_json
from dispatcher.approvals import Approval, ApprovalRequest, Approver, approve_all, deny_all
from dispatcher.cli._terminal import printable
from dispatcher.errors import ConfigError

__all__ = ["ApproveAll", "DenyAll", "cli_approver"]

ApproveAll = Annotated[
    bool,
    typer.Option("--approve-all", help="Approve every tool call that requires approval."),
]
DenyAll = Annotated[
    bool,
    typer.Option("--deny-all", help="Deny every tool call that requires approval."),
]


def cli_approver(approve: bool, deny: bool, console: Console) -> Approver:
    """`--approve-all`, `--deny-all`, else a prompt on the terminal (denied without one)."""
    if approve and deny:
        raise ConfigError(
            "--approve-all and --deny-all contradict each other", fix="pass at most one of them"
        )
    if approve:
        return approve_all
    if deny:
        return deny_all

    async def ask(request: ApprovalRequest) -> Approval:
        if not sys.stdin.isatty():
            return Approval.deny("no terminal to ask a human; run with --approve-all or --deny-all")
        # Abandoned at the approval timeout: a person who never answers must not hold the run.
        return await anyio.to_thread.run_sync(_prompt, request, console, abandon_on_cancel=True)

    return ask


def _prompt(request: ApprovalRequest, console: Console) -> Approval:
    arguments = printable(json.dumps(dict(request.arguments), ensure_ascii=False))
    console.print(
        f"[bold yellow]approval needed:[/] agent [cyan]{escape(request.agent)}[/] wants to call "
        f"[bold]{escape(request.tool)}[/] with {escape(arguments)}"
    )
    while True:
        answer = input("approve? [y]es / [n]o / [e]dit arguments: ").strip().lower()
        if answer in ("y", "yes"):
            return Approval.approve()
        if answer in ("n", "no"):
            reason = input("reason (optional): ").strip()
            return Approval.deny(reason)
        if answer in ("e", "edit"):
            raw = input("arguments as one JSON object: ")
            try:
                edited = loads_json(raw)
            except json.JSONDecodeError as exc:
                console.print(f"[red]not JSON:[/] {escape(exc.msg)}; try again")
                continue
            if isinstance(edited, dict):
                return Approval.edit(edited)
            console.print("[red]the arguments must be a JSON object[/]; try again")
