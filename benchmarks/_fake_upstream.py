"""A fast OpenAI-compatible upstream for load tests: fixed latency, canned answers.

Raw asyncio (uvloop when installed), HTTP/1.1 keep-alive: at a few hundred requests a second
it must not be the bottleneck of the thing it measures. After `latency_s` it answers
POST .../chat/completions with one JSON completion, or (`"stream": true`) with `chunks`
`chat.completion.chunk` events, the usage chunk when asked for, then `data: [DONE]`.

    python benchmarks/_fake_upstream.py PORT [--latency 0.2] [--chunks 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re

_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_STREAM = re.compile(rb'"stream"\s*:\s*true')
_USAGE = re.compile(rb'"include_usage"\s*:\s*true')
USAGE = {"prompt_tokens": 12, "completion_tokens": 20, "total_tokens": 32}


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event(payload: dict[str, object]) -> bytes:
    return _chunked(b"data: " + json.dumps(payload).encode() + b"\n\n")


def canned(chunks: int) -> tuple[bytes, list[bytes], bytes]:
    """The JSON answer, the stream's writes (head, chunks, tail) and the usage event."""
    completion = json.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1,
            "model": "fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " ".join(["word"] * chunks)},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": USAGE,
        }
    ).encode()
    json_answer = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(completion), completion)
    )
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": "fake"}
    writes = [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    ]
    for index in range(chunks):
        delta = {"content": "word" if index == 0 else " word"}
        choice = {"index": 0, "delta": delta, "finish_reason": None}
        writes.append(_event({**base, "choices": [choice]}))
    stop = {"index": 0, "delta": {}, "finish_reason": "stop"}
    writes.append(_event({**base, "choices": [stop]}))
    usage = _event({**base, "choices": [], "usage": USAGE})
    return json_answer, writes, usage


class _Connection(asyncio.Protocol):
    def __init__(self, latency_s: float, answers: tuple[bytes, list[bytes], bytes]) -> None:
        self.latency_s = latency_s
        self.answers = answers
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            match = _LENGTH.search(self.buffer, 0, end + 2)
            length = int(match.group(1)) if match else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            stream = bool(_STREAM.search(body))
            usage = bool(_USAGE.search(body))
            asyncio.get_running_loop().call_later(self.latency_s, self._answer, stream, usage)

    def _answer(self, stream: bool, usage: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        json_answer, writes, usage_event = self.answers
        if not stream:
            transport.write(json_answer)
            return
        for part in writes:
            transport.write(part)
        if usage:
            transport.write(usage_event)
        transport.write(_chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, latency_s: float, chunks: int) -> None:
    answers = canned(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(latency_s, answers), "127.0.0.1", port, backlog=4096
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--chunks", type=int, default=20)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.port, args.latency, args.chunks))


if __name__ == "__main__":
    main()
