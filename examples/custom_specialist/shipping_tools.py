"""The example's own tools, registered through the same seam as the built-ins."""

from __future__ import annotations

from typing import Literal

from dispatcher import Registry, ToolOutput, tool

ZONES = {"germany": "EU", "france": "EU", "spain": "EU", "usa": "NA", "canada": "NA"}
RATE_PER_KG = {"EU": 4.2, "NA": 7.5}
EXPRESS_FACTOR = 1.5


@tool(name="shipping.quote")
def quote(weight_kg: float, country: str, service: Literal["standard", "express"]) -> ToolOutput:
    """Price of shipping one parcel.

    Args:
        weight_kg: parcel weight in kilograms (0.1 to 30).
        country: destination country, e.g. "Germany".
        service: "standard" or "express" (1.5x the standard price).
    """
    zone = ZONES.get(country.strip().lower())
    if zone is None:
        known = ", ".join(sorted(c.title() for c in ZONES))
        message = f"Error: we do not ship to {country!r}. We ship to: {known}."
        return ToolOutput(message, is_error=True)
    if not 0.1 <= weight_kg <= 30:
        return ToolOutput("Error: weight must be between 0.1 and 30 kg.", is_error=True)
    base = round(weight_kg * RATE_PER_KG[zone], 2)
    total = round(base * (EXPRESS_FACTOR if service == "express" else 1.0), 2)
    return ToolOutput(
        f"zone {zone}: {weight_kg} kg x {RATE_PER_KG[zone]} EUR/kg = {base} EUR standard; "
        f"{service} total {total:.2f} EUR"
    )


@tool(name="shipping.returns_policy")
def returns_policy() -> str:
    """The shop's returns and refunds policy."""
    return "Returns within 30 days, unused, in original packaging. Refunds in 5 working days."


def register(registry: Registry) -> None:
    registry.register(quote)
    registry.register(returns_policy)
