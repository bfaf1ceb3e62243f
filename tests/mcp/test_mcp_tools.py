"""MCP servers' tools are our tools: validated, traced with their source, and safe when the
server dies."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from scenario import registry

from dispatcher import Agent, Dispatcher
from dispatcher.errors import ConfigError
from dispatcher.registry.agent_files import load_agent_file
from dispatcher.runner import RunResult
from dispatcher.testing import reply, tool_calls
from dispatcher.trace.events import ToolCallEvent

SERVER = Path(__file__).with_name("crashy_server.py")


def _agent(tmp_path: Path) -> Agent:
    return Agent(
        name="helper",
        description="Uses the crashy MCP server.",
        tier="weak",
        mcp_servers=[
            {
                "name": "crashy",
                "command": sys.executable,
                "args": [str(SERVER)],
                "env": {"CRASHY_LOG": "os.environ/CRASHY_LOG"},
                "timeout_s": 20,
            }
        ],
    )


@pytest.fixture
def crashy_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "calls.log"
    monkeypatch.setenv("CRASHY_LOG", str(log))
    return log


def _run(steps: list[object], tmp_path: Path) -> tuple[str | None, list[ToolCallEvent]]:
    reg, _, _ = registry([_agent(tmp_path)], small=steps)
    dispatcher = Dispatcher(reg, runs_dir=tmp_path / "runs")

    async def bounded() -> RunResult:
        with anyio.fail_after(60):  # a dead server must never hang the run
            return await dispatcher.run("use the server")

    result = anyio.run(bounded)
    calls = [e for e in result.events if isinstance(e, ToolCallEvent)]
    return result.answer, calls


def _delegate() -> object:
    return tool_calls(("helper", {"task": "use the server"}), agent="dispatcher")


def test_mcp_tool_calls_are_served_by_the_server_and_traced_with_their_source(
    tmp_path: Path, crashy_log: Path
) -> None:
    answer, calls = _run(
        [
            _delegate(),
            tool_calls(("crashy_add", {"a": 2, "b": 40}), agent="helper"),
            reply("42", agent="helper"),
            reply("42", agent="dispatcher"),
        ],
        tmp_path,
    )
    assert answer == "42"
    (call,) = calls
    assert call.ok and call.output == "42" and call.source == "mcp:crashy"
    assert crashy_log.read_text() == "add 2 40\n"


def test_invalid_arguments_are_refused_before_they_reach_the_server(
    tmp_path: Path, crashy_log: Path
) -> None:
    _, calls = _run(
        [
            _delegate(),
            tool_calls(("crashy_add", {"a": "two", "b": 40}), agent="helper"),
            reply("could not add", agent="helper"),
            reply("could not add", agent="dispatcher"),
        ],
        tmp_path,
    )
    (call,) = calls
    assert not call.ok and call.error_kind == "invalid_arguments"
    assert "a: 'two' is not of type 'integer'" in (call.error or "")
    assert not crashy_log.exists()  # the server never saw the call


def test_a_server_that_dies_mid_run_gives_a_clear_tool_error_not_a_hang(
    tmp_path: Path, crashy_log: Path
) -> None:
    answer, calls = _run(
        [
            _delegate(),
            tool_calls(("crashy_echo", {"text": "hi"}), agent="helper"),
            tool_calls(("crashy_die", {}), agent="helper"),
            tool_calls(("crashy_echo", {"text": "again"}), agent="helper"),
            reply("the server is gone", agent="helper"),
            reply("the server is gone", agent="dispatcher"),
        ],
        tmp_path,
    )
    assert answer == "the server is gone"
    echo, died, after = calls
    assert echo.ok and echo.output == "echo: hi"
    for call in (died, after):
        assert not call.ok
        assert "MCP server 'crashy' stopped" in (call.error or "")
        assert "cannot be used for the rest of this run" in (call.error or "")


def test_the_server_process_is_stopped_when_the_run_ends(tmp_path: Path, crashy_log: Path) -> None:
    _, calls = _run(
        [
            _delegate(),
            tool_calls(("crashy_pid", {}), agent="helper"),
            reply("done", agent="helper"),
            reply("done", agent="dispatcher"),
        ],
        tmp_path,
    )
    pid = int(calls[0].output)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_cancelled_run_stops_its_server(tmp_path: Path, crashy_log: Path) -> None:
    reg, _, _ = registry(
        [_agent(tmp_path)],
        small=[_delegate(), tool_calls(("crashy_slow", {}), agent="helper")],
    )
    dispatcher = Dispatcher(reg, runs_dir=tmp_path / "runs")

    async def cancel_when_the_tool_runs() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(dispatcher.run, "use the server")
            for _ in range(600):  # up to 30 s for the server to start and the tool to run
                if crashy_log.exists() and "pid" in crashy_log.read_text():
                    break
                await anyio.sleep(0.05)
            group.cancel_scope.cancel()

    anyio.run(cancel_when_the_tool_runs)
    pid = int(crashy_log.read_text().split()[1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    (trace,) = (tmp_path / "runs").glob("*.jsonl")
    assert '"status":"cancelled"' in trace.read_text().replace(" ", "")


def test_servers_inside_async_with_dispatcher_start_once_for_several_runs(
    tmp_path: Path, crashy_log: Path
) -> None:
    steps: list[object] = []
    for _ in range(2):
        steps += [
            _delegate(),
            tool_calls(("crashy_pid", {}), agent="helper"),
            reply("done", agent="helper"),
            reply("done", agent="dispatcher"),
        ]
    reg, _, _ = registry([_agent(tmp_path)], small=steps)
    dispatcher = Dispatcher(reg, runs_dir=tmp_path / "runs")

    async def main() -> list[str]:
        outputs = []
        async with dispatcher:
            for _ in range(2):
                result = await dispatcher.run("use the server")
                outputs += [e.output for e in result.events if isinstance(e, ToolCallEvent)]
        return outputs

    first, second = anyio.run(main)
    assert first == second  # one process served both runs
    with pytest.raises(ProcessLookupError):
        os.kill(int(first), 0)


def test_a_server_that_cannot_start_is_a_config_error(tmp_path: Path, crashy_log: Path) -> None:
    agent = Agent(
        name="helper",
        description="Uses a missing server.",
        tier="weak",
        mcp_servers=[{"name": "gone", "command": str(tmp_path / "no-such-binary")}],
    )
    reg, _, _ = registry([agent], small=[_delegate()])
    with pytest.raises(ConfigError, match="MCP server 'gone' could not be started"):
        Dispatcher(reg, runs_dir=tmp_path / "runs").run_sync("use the server")


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ({"name": "x", "command": "python", "env": {"TOKEN": "abc123"}}, "os.environ/NAME"),
        ({"name": "x"}, "exactly one of `command`"),
        ({"name": "x", "command": "a", "url": "http://h/mcp"}, "exactly one of `command`"),
        ({"name": "x", "url": "ftp://h"}, "http:// or https://"),
        ({"name": "x y", "command": "a"}, "invalid MCP server name"),
        ({"name": "x", "command": "a", "tools": []}, "Extra inputs"),
    ],
)
def test_server_configs_are_checked(server: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Agent(name="a", description="d", mcp_servers=[server])


def test_a_missing_env_variable_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRASHY_LOG", raising=False)
    reg, _, _ = registry([_agent(tmp_path)], small=[_delegate()])
    with pytest.raises(ConfigError, match="CRASHY_LOG is not set"):
        Dispatcher(reg, runs_dir=tmp_path / "runs").run_sync("use the server")


def test_agent_files_list_servers_that_run_in_the_files_folder(tmp_path: Path) -> None:
    path = tmp_path / "agents" / "a.yaml"
    path.parent.mkdir()
    path.write_text(
        "name: a\ndescription: d\nmcp_servers:\n"
        "  - {name: s, command: python, args: [srv.py], requires_approval: [drop]}\n"
    )
    (config,) = load_agent_file(path).mcp_configs
    assert config.cwd == str(path.parent.resolve())
    assert config.args == ("srv.py",) and config.requires_approval == ("drop",)


def test_an_http_server_that_does_not_answer_is_a_config_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a local port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agent = Agent(
        name="helper",
        description="Uses an HTTP server.",
        tier="weak",
        mcp_servers=[
            {"name": "remote", "url": f"http://127.0.0.1:{port}/mcp", "startup_timeout_s": 20}
        ],
    )
    reg, _, _ = registry([agent], small=[_delegate()])
    with pytest.raises(ConfigError, match="MCP server 'remote' could not be started") as raised:
        Dispatcher(reg, runs_dir=tmp_path / "runs").run_sync("use the server")
    assert "ExceptionGroup" not in str(raised.value)  # the real cause, not a task-group wrapper


def test_a_servers_requires_approval_list_gates_its_tools(tmp_path: Path, crashy_log: Path) -> None:
    agent = _agent(tmp_path)
    (config,) = agent.mcp_configs
    gated = Agent(
        name="helper",
        description="Uses the crashy MCP server.",
        tier="weak",
        mcp_servers=[config.model_copy(update={"requires_approval": ("add",)})],
    )
    reg, _, _ = registry(
        [gated],
        small=[
            _delegate(),
            tool_calls(("crashy_add", {"a": 1, "b": 2}), agent="helper"),
            tool_calls(("crashy_echo", {"text": "free"}), agent="helper"),
            reply("denied", agent="helper"),
            reply("denied", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg, runs_dir=tmp_path / "runs").run_sync("use the server")
    add, echo = [e for e in result.events if isinstance(e, ToolCallEvent)]
    assert add.error_kind == "denied" and not crashy_log.exists()
    assert echo.ok  # tools not listed run without asking


def test_agent_files_may_require_approval_for_their_tools(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\nname: a\ndescription: d\nrequires_approval: [files.delete]\n---\nHi\n")
    assert load_agent_file(path).requires_approval == ("files.delete",)
    path.write_text("---\nname: a\ndescription: d\nrequires_approval: files.delete\n---\nHi\n")
    with pytest.raises(ConfigError, match="requires_approval must be a list"):
        load_agent_file(path)


def test_a_token_an_mcp_server_echoes_never_reaches_the_trace_or_the_model(
    tmp_path: Path, crashy_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `env` values are the server's secrets (os.environ/NAME), but only the registry's model
    # keys were registered for redaction: a server that printed its token (an error message,
    # a debug tool) put it in the model's context and the trace.
    token = "mcp-server-token-5f2a9c7e1b"
    monkeypatch.setenv("MCP_TEST_TOKEN", token)
    agent = _agent(tmp_path)
    server = dict(
        agent.mcp_configs[0].model_dump(),
        env={
            "CRASHY_LOG": "os.environ/CRASHY_LOG",
            "API_TOKEN": "os.environ/MCP_TEST_TOKEN",
        },
    )
    leaky = Agent(
        name="helper", description="Uses a leaky server.", tier="weak", mcp_servers=[server]
    )
    reg, small, _ = registry(
        [leaky],
        small=[
            _delegate(),
            tool_calls(("crashy_show_env", {"name": "API_TOKEN"}), agent="helper"),
            reply("done", agent="helper"),
            reply("done", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg, runs_dir=tmp_path / "runs").run_sync("use the server")
    (call,) = [e for e in result.events if isinstance(e, ToolCallEvent)]
    assert call.ok and "[REDACTED]" in call.output
    assert result.trace_path is not None and token not in result.trace_path.read_text()
    assert all(token not in str(request.messages) for request in small.requests)


def test_two_server_tools_with_one_wire_name_are_a_config_error(tmp_path: Path) -> None:
    # 'get.item' and 'get_item' are both twins_get_item to the model: one would shadow the
    # other (a read routed to a delete) and providers refuse two tools of one name.
    agent = Agent(
        name="helper",
        description="Uses the twins server.",
        tier="weak",
        mcp_servers=[
            {
                "name": "twins",
                "command": sys.executable,
                "args": [str(SERVER.with_name("twin_names_server.py"))],
            }
        ],
    )
    reg, _, _ = registry([agent], small=[_delegate()])
    with pytest.raises(ConfigError, match="twins_get_item") as caught:
        Dispatcher(reg, runs_dir=tmp_path / "runs").run_sync("use the server")
    assert "get.item" in str(caught.value) and "rename" in str(caught.value.fix)
    assert "could not be started" not in str(caught.value)


def test_a_server_tool_with_the_wire_name_of_an_agent_tool_is_a_config_error(
    tmp_path: Path, crashy_log: Path
) -> None:
    from dispatcher import tool

    @tool(name="crashy_echo")
    def own_echo(text: str) -> str:
        """The agent's own echo."""
        return text

    agent = Agent(
        name="helper",
        description="Uses the crashy MCP server.",
        tier="weak",
        tools=[own_echo],
        mcp_servers=_agent(tmp_path).mcp_servers,
    )
    reg, _, _ = registry([agent], small=[_delegate()])
    with pytest.raises(ConfigError, match="crashy_echo"):
        Dispatcher(reg, runs_dir=tmp_path / "runs").run_sync("use the server")


def test_a_listed_tool_whose_name_is_too_long_says_so_not_invalid_schema() -> None:
    from types import SimpleNamespace

    from dispatcher.mcp._config import MCPServerConfig
    from dispatcher.mcp._hub import MCPConnection
    from dispatcher.mcp._tools import mcp_tool

    connection = MCPConnection(MCPServerConfig(name="files", command="x"))
    listed = SimpleNamespace(
        name="r" * 200, input_schema={"type": "object"}, description="d", title=None
    )
    with pytest.raises(ConfigError, match="name") as caught:
        mcp_tool(connection, listed)
    assert "schema" not in str(caught.value)
    assert "files" in str(caught.value) and caught.value.fix


@pytest.mark.parametrize("name", ["ad", "crashy.add"])
def test_a_servers_requires_approval_name_that_matches_no_tool_is_a_config_error(
    tmp_path: Path, crashy_log: Path, name: str
) -> None:
    # A typo (or the prefixed name) would leave the tool it meant running without asking.
    (config,) = _agent(tmp_path).mcp_configs
    gated = Agent(
        name="helper",
        description="Uses the crashy MCP server.",
        tier="weak",
        mcp_servers=[config.model_copy(update={"requires_approval": (name,)})],
    )
    reg, _, _ = registry([gated], small=[_delegate()])
    with pytest.raises(ConfigError, match="requires_approval") as caught:
        Dispatcher(reg, runs_dir=tmp_path / "runs").run_sync("use the server")
    assert repr(name) in str(caught.value) and "add" in str(caught.value.fix)
    assert not crashy_log.exists()


@pytest.mark.parametrize(
    "ref", ["#/$defs/missing", "https://example.com/schema.json", "other.json#/x"]
)
def test_a_listed_schema_with_a_ref_that_cannot_be_followed_is_a_config_error(ref: str) -> None:
    # Untrusted server output: such a schema made every call of the tool end the whole run
    # with jsonschema's internal referencing error.
    from types import SimpleNamespace

    from dispatcher.mcp._config import MCPServerConfig
    from dispatcher.mcp._hub import MCPConnection
    from dispatcher.mcp._tools import mcp_tool

    connection = MCPConnection(MCPServerConfig(name="files", command="x"))
    schema = {"type": "object", "properties": {"a": {"$ref": ref}}}
    listed = SimpleNamespace(name="read", input_schema=schema, description="d", title=None)
    with pytest.raises(ConfigError, match=r"\$ref") as caught:
        mcp_tool(connection, listed)
    assert "'read'" in str(caught.value) and caught.value.fix


def test_a_server_whose_tool_pages_never_end_is_a_config_error() -> None:
    # Untrusted: a server answering every page with the same next cursor looped (and grew its
    # list) until the startup timeout, which then blamed the server's start.
    from types import SimpleNamespace

    from dispatcher.mcp._hub import _list

    class Looping:
        async def list_tools(self, cursor: str | None = None) -> object:
            return SimpleNamespace(tools=[SimpleNamespace(name="t")], next_cursor="again")

    with pytest.raises(ConfigError, match="cursor"):
        anyio.run(_list, Looping(), "loopy")
