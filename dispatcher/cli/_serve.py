"""`dispatcher serve -c CONFIG`: the OpenAI-compatible gateway (needs the `gateway` extra)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from dispatcher.cli.app import app
from dispatcher.errors import ConfigError


@app.command("serve")
def serve(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Registry file with models and agents.")
    ] = Path("dispatcher.yaml"),
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.", min=1, max=65535)] = 8000,
    runs_dir: Annotated[
        Path | None, typer.Option(envvar="DISPATCHER_RUNS_DIR", help="Where to write traces.")
    ] = None,
) -> None:
    """Serve POST /v1/chat/completions and GET /v1/models for any OpenAI client."""
    from dispatcher.gateway import create_app

    gateway = create_app(config, runs_dir=runs_dir)
    _check_port_free(host, port)
    import uvicorn

    typer.echo(
        f"dispatcher gateway: http://{host}:{port}/v1 (model dispatcher/auto; GET /v1/models)",
        err=True,
    )
    # No access log: one line per request costs more than the gateway's own work. On SIGTERM,
    # requests in flight get 10 s, then are cancelled (their traces say `cancelled`).
    uvicorn.run(
        gateway,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def _check_port_free(host: str, port: int) -> None:
    """A taken port is a user mistake: say so plainly instead of uvicorn's bind error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ConfigError(
            f"--host {host!r} is not an address of this machine", fix="use e.g. 127.0.0.1"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                fix="pick a free port with --port, or stop what is using this one",
            ) from None
