"""Knowledge gaps: the questions the bot abstained on or only suggested for, grouped by
similarity (the staff desk's `group_questions`, rapidfuzz) with their counts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.desk import group_questions, normalise
from bot.web.common import StaffUser, page, services, staff_page


@staff_page
async def gaps_page(request: Request, user: StaffUser) -> Response:
    """Unanswered questions, grouped."""
    desk = services(request)
    seen: set[tuple[int, str]] = set()
    texts = []
    for patient_id, text in await desk.views.unanswered_questions():
        key = (patient_id, normalise(text))
        if key not in seen:
            seen.add(key)
            texts.append(text)
    groups = group_questions(texts)
    return page(request, "gaps.html", groups=groups[:100], entries=[])


def routes() -> list[Route]:
    """The knowledge-gaps pages."""
    return [Route("/gaps", gaps_page)]
