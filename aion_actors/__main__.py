"""`python -m aion_actors`: the same as the `aion-actors` command."""

from aion_actors.cli import main

raise SystemExit(main())
