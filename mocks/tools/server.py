"""The MCP server and its three tools: ``calculator``, ``weather`` and ``notes``.

Tool names and argument schemas are a contract other components (the reference agent backend, the
load scripts) depend on; change them only together. A tool refuses bad input by raising
``ToolError``: the caller gets ``isError: true`` with a message saying what to fix.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from mocks.tools.calculator import CalculatorError, evaluate
from mocks.tools.instrumentation import FaultInjection
from mocks.tools.notes import LIST_LIMIT, Note, NotesError, NoteStore
from mocks.tools.weather_client import WeatherClient, WeatherError, WeatherReport

SERVER_NAME = "chaos-harness-tools"
TOOL_NAMES = ("calculator", "weather", "notes")


class Calculation(BaseModel):
    """Structured output of ``calculator``."""

    expression: str
    result: int | float


class NoteOut(BaseModel):
    """One note as the ``notes`` tool returns it."""

    id: int
    text: str
    created_at: str

    @classmethod
    def of(cls, note: Note) -> NoteOut:
        return cls(id=note.id, text=note.text, created_at=note.created_at)


class NotesOutput(BaseModel):
    """Structured output of ``notes``: ``note`` for add/get, ``notes`` (most recent) for list."""

    action: Literal["add", "list", "get"]
    note: NoteOut | None = None
    notes: list[NoteOut] | None = None
    total: int


def _result(text: str, structured: BaseModel) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=structured.model_dump(mode="json"))


def build_server(store: NoteStore, weather_api: WeatherClient, faults: FaultInjection) -> MCPServer:
    """An ``MCPServer`` with the three tools; ``faults`` wraps every tool call."""
    server: MCPServer = MCPServer(
        SERVER_NAME,
        version="1.0",
        instructions="Stand-in MCP tools for resilience tests: calculator, weather, notes.",
        extensions=[faults],
        subscriptions=False,
        log_level="WARNING",
    )

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False))
    def calculator(
        expression: Annotated[str, Field(description="Arithmetic such as '2+3*4' or '(1.5-2)**3 // 7'")],
    ) -> Annotated[CallToolResult, Calculation]:
        """Evaluate arithmetic: numbers, + - * / // % **, parentheses and unary minus."""
        try:
            value = evaluate(expression)
        except CalculatorError as error:
            raise ToolError(str(error)) from None
        return _result(f"{expression.strip()} = {value}", Calculation(expression=expression, result=value))

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    async def weather(
        city: Annotated[str, Field(description="City name, e.g. 'Paris'")], ctx: Context,
    ) -> Annotated[CallToolResult, WeatherReport]:
        """Current weather in a city, from the weather HTTP API."""
        test_id = ctx.headers.get("x-test-id") if ctx.headers else None
        try:
            report = await weather_api.current(city, test_id=test_id)
        except WeatherError as error:
            raise ToolError(str(error)) from None
        text = (f"{report.city}: {report.temperature_c} °C, {report.condition}, "
                f"humidity {report.humidity}% (observed {report.observed_at})")
        return _result(text, report)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    def notes(
        action: Annotated[Literal["add", "list", "get"], Field(description="add a note, list notes, get one")],
        text: Annotated[str | None, Field(description="The note's text (for add)")] = None,
        note_id: Annotated[int | None, Field(description="The note's id (for get)")] = None,
    ) -> Annotated[CallToolResult, NotesOutput]:
        """Keep short notes in memory: add returns the new id, list the most recent, get one by id."""
        try:
            if action == "add":
                note = store.add(text)
                return _result(f"added note {note.id}",
                               NotesOutput(action="add", note=NoteOut.of(note), total=len(store)))
            if action == "get":
                note = store.get(note_id)
                return _result(f"note {note.id}: {note.text}",
                               NotesOutput(action="get", note=NoteOut.of(note), total=len(store)))
            recent = store.recent(LIST_LIMIT)
            lines = [f"{len(store)} notes; the {len(recent)} most recent:"]
            lines += [f"{note.id}: {note.text}" for note in recent]
            return _result("\n".join(lines), NotesOutput(action="list", notes=[NoteOut.of(n) for n in recent],
                                                         total=len(store)))
        except NotesError as error:
            raise ToolError(str(error)) from None

    return server
