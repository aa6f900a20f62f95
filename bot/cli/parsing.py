"""Types the sub-command modules share (for the type checker only: nothing here runs)."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    SubCommands = argparse._SubParsersAction[argparse.ArgumentParser]  # add_subparsers()
    DateType = Callable[[str], dt.date]  # an argparse ``type=`` reading YYYY-MM-DD
