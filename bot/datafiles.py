"""The data files the settings name, loaded: the advisor over the configured knowledge base
speaking for the configured clinic, and the care plan.

bot/compose.py, the composition root, builds the services from them (and the Telegram
application loads them first, so bad data files stop it before the database). Kept apart
from the composition root's imports of storage, scheduler and the core so that
``aftercare ask`` loads the advisor without them.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge import regexes
from knowledge.advisor import Advisor
from knowledge.loader import load_kb
from scheduler.careplan import CarePlan, load_careplan

if TYPE_CHECKING:
    from bot.config import Settings
    from knowledge.schema import KnowledgeBase

log = logging.getLogger(__name__)


def load_advisor(settings: Settings) -> Advisor:
    """The advisor over the configured knowledge base, speaking for the configured clinic
    (raises `knowledge.errors.KBError` naming file, line and reason for bad data files).
    With AFTERCARE_REGEX_CACHE_DIR set, the rules' compiled regular expressions are kept in
    that folder and reused by the next process (knowledge/regexes.py)."""
    if settings.regex_cache_dir is not None:
        regexes.use_store(ProgramFiles(settings.regex_cache_dir))
    return Advisor.load(settings.kb_path, settings.clinic())


class ProgramFiles:
    """A private folder of compiled regular-expression programs (knowledge/regexes.py), one
    file per pattern named by its hash, each written whole (a temporary file renamed). A
    folder another user owns or may write to is not used; a file that cannot be read or
    written is a pattern compiled as usual."""

    KEEP = 2000  # files at most; past that the older half goes (each pattern's is rewritten
    # when next needed): patterns change with the rules, and old ones are never read again

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._usable: bool | None = None
        self._pruned = False

    def get(self, key: str) -> bytes | None:
        if not self._private():
            return None
        try:
            return (self.folder / key).read_bytes()
        except OSError:
            return None

    def put(self, key: str, blob: bytes) -> None:
        if not self._private():
            return
        if not self._pruned:
            self._pruned = True
            self._prune()
        partial = self.folder / f".{key}.{os.getpid()}"
        try:
            partial.write_bytes(blob)
            os.replace(partial, self.folder / key)
        except OSError as exc:
            log.debug("compiled pattern not kept (%s)", type(exc).__name__)

    def _prune(self) -> None:
        """Past `KEEP` files, remove the least recently written ones down to half of it."""
        try:
            files = [(entry.stat().st_mtime, entry.path) for entry in os.scandir(self.folder)]
            if len(files) <= self.KEEP:
                return
            for _, path in sorted(files)[:len(files) - self.KEEP // 2]:
                os.remove(path)
        except OSError as exc:  # another process pruning too, say: nothing is lost
            log.debug("compiled patterns not pruned (%s)", type(exc).__name__)

    def _private(self) -> bool:
        """The folder exists (made if need be) and only this user can write to it."""
        if self._usable is None:
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                info = self.folder.stat()
                self._usable = (info.st_uid == os.getuid()
                                and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))
            except OSError:
                self._usable = False
            if not self._usable:
                log.warning("AFTERCARE_REGEX_CACHE_DIR %s is not a private folder of this "
                            "user: not used", self.folder)
        return self._usable


def load_plan(settings: Settings, kb: KnowledgeBase | None = None) -> CarePlan:
    """The configured care plan, its check-in texts quoting ``kb`` (default: the configured
    knowledge base); raises `KBError` for a bad file."""
    if kb is None and settings.kb_path is not None:
        kb = load_kb(settings.kb_path)
    return load_careplan(settings.careplan_path, kb)
