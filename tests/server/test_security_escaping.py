"""XSS against the team server: a run whose name, param, tag and patch hold
``<script>alert("xss")</script>``, pushed into a project, shows that text escaped, as text, on
every page of the server that shows it; the sign-in page reflects no markup from its query or
its form. Every page is checked as the UI's are: no raw script, nothing inline, no handler."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

import samerun
from samerun.store.engine import create_engine
from tests.server.conftest import BASE, Team, file_under
from tests.web.conftest import XSS
from tests.web.test_security_escaping import safe


def hostile_run(team: Team, project_dir: str) -> str:
    """A dirty run of project alpha whose every shown field holds :data:`XSS`."""
    with open(f"{project_dir}/train.py", "a") as script:
        script.write(f"# {XSS}\n")
    with samerun.start_run(name=XSS, params={"note": XSS}, seed=1) as run:
        samerun.log_metric(XSS, 0.5, step=0)
    engine = create_engine(team.metadata)
    file_under(engine, team.objects, run.id, "alpha")
    engine.dispose()
    return run.id


def test_pushed_markup_comes_back_escaped_on_every_page(
    client: TestClient, team: Team, project: Path
) -> None:
    run_id = hostile_run(team, str(project))
    writer = {"authorization": f"Bearer {team.tokens['writer']}"}
    tagged = client.put(
        f"/api/v1/projects/alpha/runs/{run_id}/tags", json={"owner": XSS}, headers=writer
    )
    assert tagged.status_code == 200
    pages = {
        "/?col=params.note&col=tags.owner": 3,  # the name, the note and the owner cells
        f"/runs/{run_id}": 4,  # the name, the param, the metric key, the patch's line
        f"/compare?run={run_id}&run={team.alpha_run}": 2,
    }
    for path, at_least in pages.items():
        for fragment in (False, True):
            headers = {**writer, **({"hx-request": "true"} if fragment else {})}
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text[:300])
            page = safe(path, response.text)
            shown = sum(XSS in text for text in page.texts)
            assert shown >= at_least, (path, page.texts)


def test_the_sign_in_page_reflects_no_markup(client: TestClient) -> None:
    asked = client.get("/login", params={"next": f'/"><script>alert(1)</script>{XSS}'})
    assert asked.status_code == 200
    safe("/login", asked.text)
    refused = client.post(
        "/login", data={"name": XSS, "password": XSS, "next": XSS}, headers={"origin": BASE}
    )
    assert refused.status_code in (400, 401)
    page = safe("/login (refused)", refused.text)
    assert XSS not in refused.text
    assert any(XSS in value for _, name, value in page.attributes if name == "value")
