"""``python -m scorecard`` is the ``scorecard`` command (handy where the console script is not on PATH)."""

from scorecard.cli import main

main(prog_name="scorecard")
