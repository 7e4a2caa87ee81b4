from __future__ import annotations

import pytest
from fastapi import FastAPI

from samerun.server.app import create_server_app
from samerun.server.policy import GRANTS, PERMISSIONS, declared, requires, undeclared
from tests.server.test_security_authz import ROUTES


def test_every_route_of_the_server_declares_a_permission() -> None:
    app = create_server_app("sqlite:///unused.db", "unused")  # routes only: never started
    assert undeclared(app) == []
    paths = {getattr(route, "path", "") for route in app.routes}
    covered = {template.split("?")[0] for _, template, _, _ in ROUTES}
    covered = {p.replace("{run}", "{ref}").replace("out.txt", "{path:path}") for p in covered}
    covered = {p.replace("/0", "/{index}").replace("/loss/", "/{key:path}/") for p in covered}
    covered = {p.replace("/churn", "/{name}").replace("/prod", "/{alias}") for p in covered}
    missing = paths - covered - {"/static", "/login"}
    assert not missing  # the authorization matrix exercises every route


def test_a_route_without_a_declaration_is_found() -> None:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/open")
    async def open_route() -> None: ...

    assert undeclared(app) == ["GET /open"]
    assert declared(app.routes[-1]) == set()


def test_permissions_are_a_closed_set() -> None:
    assert requires("read") is requires("read")
    with pytest.raises(ValueError, match="not a permission"):
        requires("superuser")  # type: ignore[arg-type]
    assert set().union(*GRANTS.values()) <= set(PERMISSIONS)
