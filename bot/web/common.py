"""What every page of the web desk shares: who is signed in, CSRF-checked forms, templates,
flash notices and safe redirects.

* `staff_of(request)`: the signed-in staff member, checked against the staff list on every
  request (someone removed from AFTERCARE_STAFF_IDS is out at their next click);
* `form_action`: wraps a POST handler: staff only, CSRF token required, form parsed;
* `page`: renders a template with the common context (user, CSRF token, notices).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.web.auth import CSRF_FIELD, csrf_ok, new_csrf_token
from bot.web.services import DeskServices

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).with_name("templates")
_env = Environment(loader=FileSystemLoader(TEMPLATES),
                   autoescape=select_autoescape(["html"], default=True),
                   trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class StaffUser:
    """The signed-in staff member."""

    telegram_id: int
    first_name: str


def services(request: Request) -> DeskServices:
    """The desk's services (set on the application's state)."""
    found: DeskServices = request.app.state.services
    return found


def staff_of(request: Request) -> StaffUser | None:
    """The signed-in user if they are (still) on the staff list."""
    uid = request.session.get("uid")
    if not isinstance(uid, int) or not services(request).settings.is_staff(uid):
        return None
    return StaffUser(uid, str(request.session.get("name") or ""))


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = new_csrf_token()
        request.session["csrf"] = token
    return token


def flash(request: Request, text: str, kind: str = "info") -> None:
    """A notice shown on the next page."""
    notes = list(request.session.get("flash") or [])
    notes.append([kind, text])
    request.session["flash"] = notes[-5:]


def page(request: Request, template: str, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """A full page (or a fragment) from `template`."""
    fragment = template.startswith("_")  # fragments leave the notices for the next page
    notes = [] if fragment else request.session.pop("flash", None) or []
    user = staff_of(request)
    body = _env.get_template(template).render(
        request=request, user=user, csrf=csrf_token(request), notes=notes,
        clinic=services(request).settings.clinic_name, demo=services(request).demo,
        path=request.url.path, **context)
    return HTMLResponse(body, status_code=status_code,
                        headers={"Cache-Control": "no-store"})


def refused(request: Request, message: str, status_code: int = 403) -> HTMLResponse:
    """A refusal page that says why."""
    return page(request, "refused.html", status_code=status_code, message=message)


def safe_next(value: object, default: str) -> str:
    """A local path to go back to (never another site)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") \
            and "\\" not in value:
        return value
    return default


def back(request: Request, form: FormData, default: str) -> RedirectResponse:
    """303 to the form's `next` (a local path) or `default`."""
    return RedirectResponse(safe_next(form.get("next"), default), status_code=303)


Handler = Callable[[Request, StaffUser, FormData], Awaitable[Response]]


def form_action(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint for staff with a valid CSRF token (otherwise 403, nothing done)."""

    async def endpoint(request: Request) -> Response:
        desk = services(request)
        uid = request.session.get("uid")
        user = staff_of(request)
        form = await request.form()
        if user is None:
            if isinstance(uid, int):
                log.warning("user %d (not staff) posted to %s", uid, request.url.path)
                return refused(request, desk.text("refused.not_staff", telegram_id=uid))
            return refused(request, desk.text("refused.signed_out"), 401)
        if not csrf_ok(request.session.get("csrf"), form.get(CSRF_FIELD)):
            log.warning("staff %d: form to %s without a valid CSRF token", user.telegram_id,
                        request.url.path)
            return refused(request, desk.text("refused.csrf"))
        return await handler(request, user, form)

    return endpoint


def staff_page(handler: Callable[[Request, StaffUser], Awaitable[Response]]
               ) -> Callable[[Request], Awaitable[Response]]:
    """A GET endpoint for staff; others go to the sign-in page (or are told they are not
    staff)."""

    async def endpoint(request: Request) -> Response:
        user = staff_of(request)
        if user is None:
            uid = request.session.get("uid")
            if isinstance(uid, int):
                return refused(request, services(request).text("refused.not_staff",
                                                               telegram_id=uid))
            return RedirectResponse("/login", status_code=303)
        return await handler(request, user)

    return endpoint
