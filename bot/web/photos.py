"""Patients' photos on the web desk. Only Telegram's file id is stored, never the image: the
desk asks the Bot API for the file (getFile, then the download) when a staff member opens it,
and passes it on without keeping it. Without a bot token (the demo) there is nothing to show.
"""

from __future__ import annotations

import logging

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.web.common import StaffUser, page, services, staff_page

log = logging.getLogger(__name__)
MAX_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png", b"RIFF": "image/webp"}


def _media_type(content: bytes) -> str:
    for magic, media in TYPES.items():
        if content.startswith(magic):
            return media
    return "application/octet-stream"


@staff_page
async def photo(request: Request, user: StaffUser) -> Response:
    """One report photo, fetched from Telegram."""
    desk = services(request)
    found = await desk.views.photo(int(request.path_params["photo_id"]))
    token = desk.settings.token
    if found is None or not token or desk.demo:
        return page(request, "refused.html", status_code=404,
                    message=desk.text("refused.photo_elsewhere"))
    api = desk.settings.bot_api_url.rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=15) as http:
            answer = await http.post(f"{api}{token}/getFile", data={"file_id": found.file_id})
            path = answer.json().get("result", {}).get("file_path")
            if answer.status_code != 200 or not path:
                raise ValueError(f"getFile answered {answer.status_code}")
            content = await http.get(f"{desk.settings.base_file_url.rstrip('/')}{token}/{path}")
            content.raise_for_status()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("photo %d could not be fetched from Telegram: %s", found.id,
                    type(exc).__name__)
        return page(request, "refused.html", status_code=502,
                    message=desk.text("refused.photo_failed"))
    body = content.content[:MAX_BYTES]
    log.info("staff %d viewed photo %d of report %d", user.telegram_id, found.id,
             found.report_id)
    return Response(body, media_type=_media_type(body),
                    headers={"Cache-Control": "private, no-store",
                             "Content-Disposition": f'inline; filename="report-{found.report_id}'
                                                    f'-photo-{found.id}"'})


def routes() -> list[Route]:
    """The photo route."""
    return [Route("/photos/{photo_id:int}", photo)]
