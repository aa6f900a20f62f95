"""How python-telegram-bot handlers reach the services: a typed ``context.bot_data``.

As in PTB's examples/contexttypesbot.py, the application is built with custom
`ContextTypes`; here ``bot_data`` is the `Services` of bot/compose.py instead of a dict of
string keys, so ``context.bot_data.patient.conversation`` is typed. PTB creates
``bot_data`` itself by calling the bot_data type with no arguments (``Application.__init__``),
so `context_types` gives it a subclass of `Services` whose no-argument construction carries
these services.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.compose import Services

AppContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def context_types(services: Services) -> ContextTypes[Any, dict[Any, Any], dict[Any, Any],
                                                       Services]:
    """Context types whose ``bot_data`` is `services`."""
    values = {f.name: getattr(services, f.name) for f in fields(services)}

    class AppServices(Services):
        """`Services` as PTB constructs ``bot_data``: with no arguments."""

        def __init__(self) -> None:
            super().__init__(**values)

    return ContextTypes(context=CallbackContext, bot_data=AppServices)


def services_of(app: AnyApplication) -> Services:
    """The services of an application built by bot/telegram/app.py."""
    services = app.bot_data
    if not isinstance(services, Services):
        raise TypeError("application not built by bot.telegram.app.build_application")
    return services
