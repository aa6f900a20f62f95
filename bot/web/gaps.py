"""Knowledge gaps: the questions the bot abstained on or only suggested for, grouped by
similarity (the staff desk's `group_questions`, rapidfuzz) with their counts, and how staff
turn a group into answers: "add these as example questions to entry X" or "write a new
entry". Both are stored as the clinic's overrides (storage/kb_overrides.py) after the same
validation as ``aftercare kb check`` (its messages shown on the page when refused), are
answered at once (every bot replica reloads within seconds) and export as one YAML file for
the clinic's own knowledge-base folder.
"""

from __future__ import annotations

import logging
import re

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.core.clinic_kb import ClinicKnowledge
from bot.core.desk import group_questions, normalise
from bot.web.common import StaffUser, flash, form_action, page, services, staff_page
from bot.web.services import DeskServices
from knowledge.overrides import ENTRY, OVERRIDES_NAME, QUESTIONS, Override

log = logging.getLogger(__name__)
MAX_GROUPS = 60
MAX_QUESTIONS = 20
_ID = re.compile(r"[^a-z0-9_]+")


def knowledge_of(desk: DeskServices) -> ClinicKnowledge:
    """The desk's `ClinicKnowledge` (bot/compose.py built it)."""
    return desk.knowledge


async def current(desk: DeskServices) -> ClinicKnowledge:
    """The knowledge base with the stored overrides, refreshed; the desk answers from it (a
    rebuild is swapped into the advisor the conversation and the desk answer through)."""
    knowledge = desk.knowledge
    await knowledge.refresh()
    return knowledge


async def _render(request: Request, problems: list[str] | None = None,
                  status_code: int = 200, form: FormData | None = None) -> Response:
    desk = services(request)
    knowledge = await current(desk)
    seen: set[tuple[int, str]] = set()
    texts = []
    for patient_id, text in await desk.views.unanswered_questions():
        key = (patient_id, normalise(text))
        if key not in seen:
            seen.add(key)
            texts.append(text)
    advisor = knowledge.advisor
    groups = [g for g in group_questions(texts)
              if advisor.ask(g.example).kind not in ("answered", "escalated")][:MAX_GROUPS]
    _, rows = await knowledge.store.all()
    entries = sorted(advisor.kb.entries, key=lambda e: e.title.lower())
    return page(request, "gaps.html", status_code=status_code, groups=groups, entries=entries,
                overrides=rows, problems=problems or [],
                stored_problems=[str(p) for p in knowledge.problems],
                form=form, file_name=OVERRIDES_NAME)


@staff_page
async def gaps_page(request: Request, user: StaffUser) -> Response:
    """Unanswered questions, grouped, with the forms that answer them."""
    return await _render(request)


def _questions(form: FormData) -> list[str]:
    picked = [str(q).strip() for q in form.getlist("questions")]
    typed = str(form.get("more", "")).splitlines()
    out = list(dict.fromkeys(q for q in [*picked, *(t.strip() for t in typed)] if q))
    return [q[:300] for q in out][:MAX_QUESTIONS]


async def _save(request: Request, user: StaffUser, form: FormData,
                candidate: Override) -> Response:
    desk = services(request)
    knowledge = await current(desk)
    problems = await knowledge.check(candidate)
    if problems:
        log.info("staff %d: knowledge-base addition refused (%d problems)", user.telegram_id,
                 len(problems))
        return await _render(request, [str(p) for p in problems], 400, form)
    await knowledge.store.add(candidate.kind, candidate.entry_id, candidate.body,
                              user.telegram_id, desk.now())
    await current(desk)
    log.info("staff %d added %s override for %s", user.telegram_id, candidate.kind,
             candidate.entry_id)
    flash(request, desk.text("notice.override_saved"), "ok")
    return RedirectResponse("/gaps", status_code=303)


@form_action
async def add_questions(request: Request, user: StaffUser, form: FormData) -> Response:
    """"Add these as example questions to entry X"."""
    entry_id = str(form.get("entry_id", "")).strip()[:100]
    return await _save(request, user, form,
                       Override(QUESTIONS, entry_id, {"questions": _questions(form)}))


@form_action
async def add_entry(request: Request, user: StaffUser, form: FormData) -> Response:
    """"Write a new entry"."""
    entry_id = str(form.get("id", "")).strip()[:100]
    body: dict[str, object] = {"id": entry_id, "title": str(form.get("title", "")).strip(),
                               "questions": _questions(form),
                               "answer": str(form.get("answer", "")).strip()[:4000]}
    if form.get("handoff"):
        body["handoff"] = True
    return await _save(request, user, form, Override(ENTRY, entry_id, body))


@form_action
async def remove_override(request: Request, user: StaffUser, form: FormData) -> Response:
    """Take one of the clinic's additions back."""
    desk = services(request)
    knowledge = knowledge_of(desk)
    if await knowledge.store.remove(int(request.path_params["override_id"]), desk.now()):
        log.info("staff %d removed override %s", user.telegram_id,
                 request.path_params["override_id"])
        await current(desk)
    return RedirectResponse("/gaps", status_code=303)


@staff_page
async def export(request: Request, user: StaffUser) -> Response:
    """The overrides as one YAML knowledge-base file."""
    text = await knowledge_of(services(request)).export()
    return Response(text, media_type="application/yaml; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{OVERRIDES_NAME}"',
        "Cache-Control": "no-store"})


def suggested_id(text: str) -> str:
    """An entry id from a question ("Is gua sha ok?" -> "gua_sha_ok")."""
    from bot.core.desk import content_words

    return _ID.sub("_", content_words(text).lower()).strip("_")[:40] or "new_entry"


def routes() -> list[Route]:
    """The knowledge-gaps pages."""
    return [
        Route("/gaps", gaps_page),
        Route("/gaps/questions", add_questions, methods=["POST"]),
        Route("/gaps/entry", add_entry, methods=["POST"]),
        Route("/gaps/overrides/{override_id:int}/remove", remove_override, methods=["POST"]),
        Route("/gaps/overrides.yaml", export),
    ]
