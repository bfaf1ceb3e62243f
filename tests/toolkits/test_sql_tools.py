"""The SQL tools as a model sees them: names, schemas, output format, caps, error classes."""

from __future__ import annotations

from pathlib import Path

import pytest
from dispatcher_tools.sql import SqlToolkit

from dispatcher.errors import ConfigError
from dispatcher.tools.tool import ToolContext

CONTEXT = ToolContext(run_id="run-1", agent="sql_analyst", call_id="call-1")


def test_tools_have_dotted_names_and_argument_schemas(sql: SqlToolkit) -> None:
    tools = {t.name: t for t in sql.tools()}
    assert list(tools) == ["sql.list_tables", "sql.describe_table", "sql.run_query"]
    assert tools["sql.run_query"].parameters["required"] == ["query"]
    assert tools["sql.describe_table"].parameters["required"] == ["table"]
    assert tools["sql.run_query"].wire_name == "sql_run_query"


@pytest.mark.anyio
async def test_run_query_through_the_tool_seam(sql: SqlToolkit) -> None:
    run_query = next(t for t in sql.tools() if t.name == "sql.run_query")
    output = await run_query.invoke(
        {"query": "SELECT GenreId, Name FROM Genre WHERE GenreId <= 2 ORDER BY GenreId"}, CONTEXT
    )
    assert output.content == "GenreId\tName\n1\tRock\n2\tJazz\n(2 rows)"
    assert not output.is_error
    assert output.signals["rows"] == 2
    assert output.signals["truncated"] is False
    assert len(output.signals["rows_hash"]) == 12


def test_rows_hash_tells_results_apart(sql: SqlToolkit) -> None:
    first = sql.execute("SELECT Name FROM Genre WHERE GenreId = 1").signals["rows_hash"]
    again = sql.execute("SELECT Name FROM Genre WHERE GenreId = 1").signals["rows_hash"]
    other = sql.execute("SELECT Name FROM Genre WHERE GenreId = 2").signals["rows_hash"]
    assert first == again != other


def test_row_cap_clamps_and_reports_truncation(chinook: Path) -> None:
    result = SqlToolkit(chinook, max_rows=5).execute("SELECT TrackId FROM Track ORDER BY TrackId")
    assert result.rows == tuple((i,) for i in range(1, 6))
    assert result.truncated and result.signals["truncated"] is True
    assert "5 rows shown" in result.text and "truncated" in result.text


def test_a_limit_inside_the_query_still_applies(sql: SqlToolkit) -> None:
    result = sql.execute("SELECT TrackId FROM Track ORDER BY TrackId DESC LIMIT 3")
    assert result.rows == ((3503,), (3502,), (3501,))
    assert not result.truncated


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("WITH x AS (SELECT 1 AS a UNION ALL SELECT 2) SELECT a FROM x", ((1,), (2,))),
        ("VALUES (1), (2)", ((1,), (2,))),
        ("-- leading comment\nSELECT 1 AS a, 2 AS b -- trailing comment", ((1, 2),)),
    ],
)
def test_with_values_and_comments_survive_the_limit_clamp(
    sql: SqlToolkit, query: str, rows: tuple[tuple[int, ...], ...]
) -> None:
    assert sql.execute(query).rows == rows


def test_byte_cap_bounds_the_output(chinook: Path) -> None:
    result = SqlToolkit(chinook, max_bytes=400).execute("SELECT Name, Composer FROM Track")
    assert len(result.text.encode()) <= 400
    assert result.truncated
    assert result.text.splitlines()[0] == "Name\tComposer"


def test_values_are_rendered_compactly(sql: SqlToolkit) -> None:
    result = sql.execute("SELECT 0.99 * 3 AS f, NULL AS n, x'0102' AS b, 'a\tb' AS t")
    assert result.text.splitlines()[1] == "2.97\tNULL\t<blob 2 bytes>\ta\\tb"


@pytest.mark.parametrize(
    ("query", "error_class", "hint"),
    [
        ("SELEC Name FROM Genre", "syntax", "syntax error"),
        ("SELECT Name FROM Genre WHERE", "syntax", "incomplete input"),
        ("SELECT Name FROM Genres", "unknown_table", "Tables in this database: Album"),
        ("SELECT Title FROM Genre", "unknown_column", "Call sql_describe_table"),
        ("DELETE FROM Genre", "denied", "read-only"),
        ("SELECT 1; SELECT 2", "multiple_statements", "one SQL statement"),
        ("", "syntax", "empty"),
        ("SELECT abs(-9223372036854775808)", "other", "integer overflow"),
    ],
)
def test_errors_are_classified_with_a_hint(
    sql: SqlToolkit, query: str, error_class: str, hint: str
) -> None:
    result = sql.execute(query)
    assert result.error_class == error_class
    assert hint in result.text
    output = result.to_output()
    assert output.is_error and output.signals == {"sql_error": error_class}


@pytest.mark.anyio
async def test_list_tables_shows_names_and_columns(sql: SqlToolkit) -> None:
    output = await sql.list_tables()
    assert output.content.splitlines()[0] == "11 tables and views:"
    assert "Album: AlbumId, Title, ArtistId" in output.content
    assert output.signals == {"tables": 11}


@pytest.mark.anyio
async def test_describe_table_has_columns_keys_and_count_but_no_rows(sql: SqlToolkit) -> None:
    output = await sql.describe_table("album")  # names match case-insensitively
    assert output.content.splitlines() == [
        "table Album (347 rows)",
        "  AlbumId INTEGER PRIMARY KEY NOT NULL",
        "  Title NVARCHAR(160) NOT NULL",
        "  ArtistId INTEGER NOT NULL -> Artist.ArtistId",
    ]
    assert "For Those About To Rock" not in output.content


@pytest.mark.anyio
async def test_describe_table_shows_sample_rows_only_when_enabled(chinook: Path) -> None:
    output = await SqlToolkit(chinook, sample_rows=True).describe_table("Album")
    assert "sample rows:" in output.content
    assert "For Those About To Rock We Salute You" in output.content


@pytest.mark.anyio
async def test_describe_unknown_table_lists_the_tables(sql: SqlToolkit) -> None:
    output = await sql.describe_table("Albums")
    assert output.is_error
    assert output.signals == {"sql_error": "unknown_table"}
    assert "Album, Artist, Customer" in output.content


def test_missing_or_invalid_database_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="database"):
        SqlToolkit(tmp_path / "missing.sqlite")
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    with pytest.raises(ConfigError, match="not a SQLite database"):
        SqlToolkit(not_sqlite)


def test_bad_limits_are_config_errors(chinook: Path) -> None:
    with pytest.raises(ConfigError, match="max_rows"):
        SqlToolkit(chinook, max_rows=0)
    with pytest.raises(ConfigError, match="time_limit_s"):
        SqlToolkit(chinook, time_limit_s=0)
