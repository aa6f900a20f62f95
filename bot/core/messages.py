"""Where the bot's own texts live: bot/core/messages.yaml (a clinic may name its own copy in
AFTERCARE_MESSAGES_PATH). bot/compose.py reads it into the one catalogue type,
`knowledge.catalogue.Catalogue`, which the advisor uses for knowledge/messages.yaml too:
``Catalogue.render(key, **values)`` fills in HTML-escaped values and the clinic's details.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED_MESSAGES = Path(__file__).with_name("messages.yaml")
