"""An OpenAI-compatible upstream on 127.0.0.1 whose behaviour is chosen by the model id.

    echo          answers "echo: <last user text>" (streamed word by word when asked)
    tools         answers with a call of the first tool the request offers
    status-NNN    fails with HTTP NNN and an OpenAI error body that mentions a secret
    hang          never answers (streams one chunk first); records when the caller goes away
    flaky-N-NNN   fails with HTTP NNN the first N times it is called, then answers as echo
    broken        streams one chunk, then drops the connection (no [DONE])
    html          answers 200 with an HTML page (a proxy's login or error page)
    redirect      answers 307 to /v1/redirected, which records who followed it
    after-done    streams a chunk and [DONE], then a forged chunk, then never ends
    crlf          streams with CRLF line ends, each event's last "\n" in a write of its own
    endless       streams one event that never ends (1 MiB writes, no blank line)
    huge          answers a JSON body that never ends (1 MiB writes)
    tell-key      answers (or streams) the Authorization header it was sent
    error-200     answers 200 with an OpenAI error body instead of a completion
    garbled       streams an event whose data is not a JSON object, then [DONE]
    wait-VALUE    fails with 429 and `Retry-After: VALUE` (wait-nan, wait-inf, ...)
    odd-usage     answers echo with a usage of 10**400 prompt tokens and -5 completion tokens
    dispatcher-*  plays the dispatcher LLM: delegates to the first specialist, then repeats
                  the specialist's result as the final answer; workers get "answer: <task>"

Every request is recorded. Served by uvicorn in a thread (`ServerThread`), as is the gateway.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import anyio
import anyio.lowlevel
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SSE = "text/event-stream"
LEAKY_SECRET = "sk-proj-upstreamSecretValue0123456789"


class ServerThread:
    """Runs an ASGI app on an ephemeral 127.0.0.1 port until `stop()`."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.005)
        return self

    @property
    def base_url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class FakeUpstream:
    """The scripted upstream; `requests` and `gone` (requests whose caller left) are shared."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.hanging = threading.Event()
        self.gone = threading.Event()
        self.calls: dict[str, int] = {}
        self.redirected: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/redirected", self.redirected_to, methods=["GET", "POST"]),
            ]
        )

    async def redirected_to(self, request: Request) -> Response:
        self.redirected.append(request.headers.get("authorization", ""))
        return JSONResponse(_completion("redirected", {"role": "assistant", "content": "moved"}))

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        model: str = body["model"]
        self.calls[model] = self.calls.get(model, 0) + 1
        if model.startswith("flaky-"):
            _, failures, code = model.split("-")
            if self.calls[model] <= int(failures):
                error = {"message": "try again", "type": "test_error"}
                return JSONResponse({"error": error}, status_code=int(code))
        if model == "broken" and body.get("stream"):
            return StreamingResponse(self._broken(), media_type="text/event-stream")
        if model.startswith("status-"):
            status = int(model.removeprefix("status-"))
            error = {"message": f"upstream refused (key {LEAKY_SECRET})", "type": "test_error"}
            headers = {"retry-after": "7"} if status == 429 else {}
            return JSONResponse({"error": error}, status_code=status, headers=headers)
        if model == "hang":
            return await self._hang(request, body)
        if model == "html":
            page = "<html>\n\n<body>Please log in</body></html>"
            return Response(page, media_type="text/html")
        if model == "redirect":
            return Response(status_code=307, headers={"location": "/v1/redirected"})
        if model == "after-done" and body.get("stream"):
            return StreamingResponse(self._after_done(), media_type="text/event-stream")
        if model == "crlf" and body.get("stream"):
            return StreamingResponse(self._crlf(), media_type="text/event-stream")
        if model in ("endless", "huge"):
            start = b"data: " if model == "endless" else b'{"choices": "'
            media_type = "text/event-stream" if model == "endless" else "application/json"
            return StreamingResponse(self._endless(start), media_type=media_type)
        if model == "garbled" and body.get("stream"):
            garbled = [b'data: {"id": "x", "choices": [\n\n', b"data: [DONE]\n\n"]
            return StreamingResponse(iter(garbled), media_type=SSE)
        if model.startswith("wait-"):
            error = {"message": "slow down", "type": "rate_limit"}
            wait = {"retry-after": model.removeprefix("wait-")}
            return JSONResponse({"error": error}, status_code=429, headers=wait)
        if model == "error-200":
            return JSONResponse({"error": {"message": "overloaded", "type": "server_error"}})
        if model == "odd-usage":
            answer = _completion(model, self._answer(model, body))
            answer["usage"] = {"prompt_tokens": 10**400, "completion_tokens": -5}
            return Response(json.dumps(answer), media_type="application/json")
        if model == "set-cookie":  # what one client's answer must not leave for the next
            answer = JSONResponse(_completion(model, self._answer(model, body)))
            answer.set_cookie("session", "first-clients-session", path="/")
            return answer
        if model == "tell-key":
            told = {"role": "assistant", "content": f"I got {request.headers['authorization']}"}
            if body.get("stream"):
                return StreamingResponse(self._chunks(model, told, body), media_type=SSE)
            return JSONResponse(_completion(model, told))
        message = self._answer(model, body)
        if body.get("stream"):
            return StreamingResponse(
                self._chunks(model, message, body), media_type="text/event-stream"
            )
        return JSONResponse(_completion(model, message))

    def _answer(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        last_user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        tools = body.get("tools") or []
        system = messages[0]["content"] if messages[0]["role"] == "system" else ""
        if model == "tools" and tools:
            return _tool_call(tools[0]["function"]["name"], {"city": "Paris"})
        if model.startswith("dispatcher") and system.startswith("You are a dispatcher"):
            if messages[-1]["role"] == "tool":
                return {"role": "assistant", "content": messages[-1]["content"]}
            names = [tool["function"]["name"] for tool in tools]
            chosen = "helper" if "helper" in names else names[0]
            return _tool_call(chosen, {"task": last_user})
        if model.startswith("dispatcher"):
            return {"role": "assistant", "content": f"answer: {last_user}"}
        return {"role": "assistant", "content": f"echo: {last_user}"}

    async def _chunks(self, model: str, message: dict[str, Any], body: dict[str, Any]) -> Any:
        words = (message.get("content") or "").split(" ")
        for index, word in enumerate(words):
            text = word if index == 0 else " " + word
            if text:
                yield _sse(_chunk(model, {"content": text}))
        calls = message.get("tool_calls") or []
        for index, call in enumerate(calls):
            yield _sse(_chunk(model, {"tool_calls": [{"index": index, **call}]}))
        yield _sse(_chunk(model, {}, finish="tool_calls" if calls else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            yield _sse({**_chunk(model, None), "usage": _USAGE})
        yield b"data: [DONE]\n\n"

    async def _broken(self) -> Any:
        yield _sse(_chunk("broken", {"role": "assistant", "content": "half"}))
        raise RuntimeError("the upstream dropped the connection")  # uvicorn closes it

    async def _after_done(self) -> Any:
        try:
            yield _sse(_chunk("after-done", {"role": "assistant", "content": "real"}))
            yield b"data: [DONE]\n\n"
            yield _sse(_chunk("after-done", {"content": "FORGED"}))
            await anyio.sleep_forever()
        finally:
            self.gone.set()

    async def _crlf(self) -> Any:
        for event in (
            _sse(_chunk("crlf", {"role": "assistant", "content": "line ends"})),
            b"data: [DONE]\n\n",
        ):
            yield event.replace(b"\n", b"\r\n")[:-1]
            await anyio.sleep(0.05)  # so that the gateway reads the "\n" on its own
            yield b"\n"
            await anyio.sleep(0.05)

    async def _endless(self, start: bytes) -> Any:
        try:
            yield start
            while True:
                yield b"x" * 1024 * 1024
                await anyio.lowlevel.checkpoint()
        finally:
            self.gone.set()

    async def _hang(self, request: Request, body: dict[str, Any]) -> Response:
        self.hanging.set()
        if body.get("stream"):

            async def one_then_nothing() -> Any:
                try:
                    yield _sse(_chunk("hang", {"role": "assistant", "content": "first"}))
                    await anyio.sleep_forever()
                finally:
                    self.gone.set()

            return StreamingResponse(one_then_nothing(), media_type="text/event-stream")
        # The body is read: the next ASGI message is the caller going away.
        while (await request.receive())["type"] != "http.disconnect":
            pass
        self.gone.set()
        return Response(status_code=499)


_USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def _tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def _completion(model: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-upstream",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                "logprobs": None,
            }
        ],
        "usage": _USAGE,
    }


def _chunk(model: str, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-upstream",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": choices,
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"
