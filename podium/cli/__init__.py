"""``podium ...``: the command-line app and every command module. The top floor: it calls
down into the layers below, and none of them imports it."""

from podium.cli.app import app, main

__all__ = ["app", "main"]
