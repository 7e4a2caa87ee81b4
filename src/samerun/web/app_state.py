"""What the routes share with the app: the read API over the store it opened at start-up."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from samerun.api import RunReader


def reader(request: Request) -> RunReader:
    """The read API over the app's open store."""
    found: RunReader = request.app.state.reader
    return found


#: Every page's templates; Jinja2 escapes every value (autoescape), names and patches included.
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
