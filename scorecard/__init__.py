"""Streaming balanced scorecard: definition, aggregation, scoring and the live pipeline around them."""

__version__ = "0.1.0"
