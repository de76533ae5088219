"""An example plugin expert: exact unit conversion, found by Podium through its entry point.

Install it (``pip install -e examples/plugin``) and ``podium experts list`` shows
``unit_convert`` without any change to Podium.
"""

from __future__ import annotations

import re

from podium import ExpertResult, expert

# Factors to a base unit per dimension.
_UNITS = {
    "km": ("length", 1000.0),
    "m": ("length", 1.0),
    "cm": ("length", 0.01),
    "mi": ("length", 1609.344),
    "ft": ("length", 0.3048),
    "in": ("length", 0.0254),
    "kg": ("mass", 1.0),
    "g": ("mass", 0.001),
    "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
    "l": ("volume", 1.0),
    "ml": ("volume", 0.001),
    "gal": ("volume", 3.785411784),
}
_QUERY = re.compile(r"(-?\d+(?:\.\d+)?)\s*([a-z]+)\s+(?:to|in|into)\s+([a-z]+)", re.I)


@expert(examples=("Convert 12 km to mi", "How much is 3 lb in kg?"))
def unit_convert(request: str) -> ExpertResult:
    """Converts a quantity between units of length, mass or volume (km, mi, kg, lb, l, gal, ...)."""
    match = _QUERY.search(request)
    if not match:
        return ExpertResult.failure("no '<number> <unit> to <unit>' found in the request")
    value, src, dst = float(match.group(1)), match.group(2).lower(), match.group(3).lower()
    if src not in _UNITS or dst not in _UNITS:
        return ExpertResult.failure(f"unknown unit: {src if src not in _UNITS else dst}")
    (dim_a, fa), (dim_b, fb) = _UNITS[src], _UNITS[dst]
    if dim_a != dim_b:
        return ExpertResult.failure(f"cannot convert {dim_a} ({src}) to {dim_b} ({dst})")
    converted = value * fa / fb
    return ExpertResult(
        output={"value": round(converted, 6), "unit": dst},
        summary=f"{value:g} {src} = {converted:.4g} {dst}",
        confidence=1.0,
    )
