"""`python -m bot.cli` runs the aftercare command."""

from bot.cli.main import main

raise SystemExit(main())
