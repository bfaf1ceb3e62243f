"""The thinnest relay this stack allows, as the benchmark's floor: uvicorn + raw ASGI + aiohttp.

No routing, no validation, no trace, no error mapping: the request body goes upstream, the
answer's bytes come back. What `dispatcher serve` adds over this is the gateway's own cost;
what this adds over the upstream is the cost of any Python relay on the machine.

    python benchmarks/_bare_relay.py PORT UPSTREAM_URL
"""

from __future__ import annotations

import sys
from typing import Any

import aiohttp
import uvicorn

_session: aiohttp.ClientSession | None = None
_upstream = ""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _session
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                assert _session is not None
                await _session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert _session is not None
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {"content-type": "application/json"}
    async with _session.post(f"{_upstream}/v1/chat/completions", data=body, headers=headers) as up:
        kind = up.headers.get("content-type", "application/json").encode()
        await send(
            {
                "type": "http.response.start",
                "status": up.status,
                "headers": [(b"content-type", kind)],
            }
        )
        async for chunk in up.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


if __name__ == "__main__":
    _upstream = sys.argv[2]
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
