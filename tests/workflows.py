"""Workflows the CLI tests load with --workflow."""

from __future__ import annotations

from podium.graphs import pipeline


def convert_with_approval():
    """One unit conversion (the example plugin expert) that a person must approve first."""
    return pipeline(("unit_convert", "Convert 10 km to mi"), approve={"unit_convert"})
