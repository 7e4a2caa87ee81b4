"""The server-rendered pages: runs, run, compare, data (Jinja2 templates, htmx, uPlot)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from samerun.api import RunReader
from samerun.web.app_state import TEMPLATES, reader

router = APIRouter(include_in_schema=False)
Reader = Annotated[RunReader, Depends(reader)]


@router.get("/", response_class=HTMLResponse)
async def runs_page(request: Request, runs: Reader) -> HTMLResponse:
    page = runs.runs(None, (), 100)
    return TEMPLATES.TemplateResponse(request, "runs.html", {"runs": list(page)})
