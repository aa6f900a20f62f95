"""`python -m bot.cli` runs the aftercare command."""

from bot.cli.main import console

console()
