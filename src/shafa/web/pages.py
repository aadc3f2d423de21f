"""The shell's pages: the layout, the language switch, the landing and sign-in pages.

Every page is rendered on the server in the visitor's language (web.i18n); HTMX, served from
/static, adds partial updates where later pages need them. Responses carry a strict Content
Security Policy: no inline script or style, nothing from other origins.
"""

from functools import cache
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from shafa.web.i18n import LANGUAGE_COOKIE, LANGUAGES, choose_language, translations

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# The packages whose templates/ the pages render: the shell's own, then each context's.
TEMPLATE_PACKAGES = (
    "shafa.web",
    "shafa.security",
    "shafa.registries.citizens",
    "shafa.registries.mpi",
)
# A year: the language is a preference, not a secret.
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)


@cache
def _environment(language: str) -> Environment:
    """One Jinja2 environment a language, its gettext bound once (rendering never awaits)."""
    environment = Environment(
        loader=ChoiceLoader([PackageLoader(package, "templates") for package in TEMPLATE_PACKAGES]),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return environment


def language_of(request: Request) -> str:
    """The visitor's language: ?lang=, else the remembered choice, else Azerbaijani."""
    return choose_language(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE))


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A page in the visitor's language, with the security headers every page carries."""
    language = language_of(request)
    html = (
        _environment(language)
        .get_template(template)
        .render(
            {
                "request": request,
                "lang": language,
                "languages": LANGUAGES,
                # the page the language switch comes back to; a page may pass its query too
                "path": request.url.path,
            }
            | values
        )
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") == language:
        _remember_language(response, request, language)
    return response


def _remember_language(response: Response, request: Request, language: str) -> None:
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def local_path(target: str | None) -> str:
    """target if it is a path on this site, else "/": never redirect elsewhere (open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target:  # browsers read /\evil.example as //evil.example
        return "/"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return "/"  # browsers drop tabs and newlines: "/\t/evil.example" is "//evil.example"
    return target


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """The landing page."""
    return render(request, "home.html")


@router.get("/lang/{language}")
async def switch_language(request: Request, language: str, next: str | None = None) -> Response:
    """Remember the language and go back to the page the visitor was on (works without JS)."""
    response = RedirectResponse(local_path(next), status_code=303)
    if language in LANGUAGES:
        _remember_language(response, request, language)
    return response


def not_found(request: Request) -> HTMLResponse:
    """The 404 page, for browsers (API clients get an OperationOutcome)."""
    gettext = translations(language_of(request)).gettext
    return render(
        request,
        "error.html",
        404,
        title=gettext("Page not found"),
        message=gettext("There is no page at this address."),
    )


def mount(app: FastAPI) -> None:
    """Add the pages and their static files to the application."""
    from shafa.registries.citizens import pages as citizen_pages  # they use render() too
    from shafa.registries.mpi import pages as mpi_pages  # they use render() too
    from shafa.security import audit_pages  # its pages use render() from here
    from shafa.security import pages as security_pages

    app.include_router(router)
    app.include_router(security_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(citizen_pages.router)
    app.include_router(mpi_pages.router)
    app.mount("/static", StaticFiles(packages=[("shafa.web", "static")]), name="static")
