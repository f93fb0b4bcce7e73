"""The `coach` command line: `main(argv)` parses, builds the composition root and runs one handler
(`coach.cli.entry`); the handlers live beside it, one module per group of commands."""

from coach.cli.entry import build_parser, main

__all__ = ["build_parser", "main"]
