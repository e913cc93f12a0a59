"""The Faust application that keeps the scorecard live (topics, agents, tables)."""
