"""``python -m podium.cli``: the same as the ``podium`` command."""

from podium.cli.app import main

main()
