"""A small MCP server for the mcp_tools example: unit conversions, over stdio.

Written with the official SDK's server API; the dispatcher starts it when the unit_converter
agent first runs and stops it when the run ends. Try it alone: `python units_server.py`.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

# Metres (length) or kilograms (mass) per unit.
UNITS: dict[str, tuple[str, float]] = {
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "in": ("length", 0.0254),
    "ft": ("length", 0.3048),
    "mi": ("length", 1609.344),
    "g": ("mass", 0.001),
    "kg": ("mass", 1.0),
    "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
}

server = MCPServer("units")


@server.tool()
def convert(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a length or a mass between units (mm, cm, m, km, in, ft, mi, g, kg, lb, oz)."""
    try:
        from_kind, from_factor = UNITS[from_unit]
        to_kind, to_factor = UNITS[to_unit]
    except KeyError as exc:
        raise ValueError(f"unknown unit {exc.args[0]!r}; known: {', '.join(UNITS)}") from None
    if from_kind != to_kind:
        raise ValueError(f"cannot convert {from_kind} ({from_unit}) to {to_kind} ({to_unit})")
    result = value * from_factor / to_factor
    return f"{value:g} {from_unit} = {result:.4g} {to_unit}"


@server.tool()
def list_units() -> str:
    """The units convert() knows, grouped by quantity."""
    groups: dict[str, list[str]] = {}
    for unit, (kind, _) in UNITS.items():
        groups.setdefault(kind, []).append(unit)
    return "; ".join(f"{kind}: {', '.join(units)}" for kind, units in groups.items())


if __name__ == "__main__":
    server.run()  # stdio
