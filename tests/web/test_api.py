"""The JSON API under ``/api/v1``: what a page's script or a tool gets back, and the one-sentence
error (with its status) for every bad request."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from samerun.web.app import serve_app
from tests.web.conftest import XSS, UiStore

NAMED = {"run-0", "run-1", "run-2", "run-3", "long", XSS}


@pytest.fixture(scope="module")
def api(ui_store: UiStore) -> Iterator[TestClient]:
    app = serve_app(ui_store.root, "127.0.0.1")
    with TestClient(app, base_url="http://127.0.0.1/api/v1") as client:
        yield client


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: Any, status: int) -> str:
    """The error's one sentence, once checked that it is all the body holds."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    message: str = body["error"]
    assert "\n" not in message
    return message


def names(page: dict[str, Any]) -> list[str]:
    return [run["name"] for run in page["runs"]]


# -- listing ---------------------------------------------------------------------------------
def test_the_listing_holds_every_run_with_its_params_metrics_and_tags(api: TestClient) -> None:
    page = ok(api.get("/runs"))
    assert set(names(page)) >= NAMED
    assert page["total"] == len(page["runs"])
    assert page["next_page_token"] is None
    dirty = next(run for run in page["runs"] if run["name"] == XSS)
    assert dirty["params"] == {"note": XSS}
    assert dirty["tags"] == {"owner": XSS}
    assert dirty["metrics"][XSS] == 0.5
    assert dirty["dirty"] is True


def test_a_filter_chooses_the_runs_and_counts_them(api: TestClient) -> None:
    page = ok(api.get("/runs", params={"filter": "params.lr = 0.2"}))
    assert names(page) == ["run-1"]
    assert page["total"] == 1
    page = ok(api.get("/runs", params={"filter": "metrics.accuracy < 0.9 or name = 'long'"}))
    assert sorted(names(page)) == ["long", "run-2"]


def test_a_bad_filter_is_a_400_naming_the_column(api: TestClient) -> None:
    message = error(api.get("/runs", params={"filter": "metrics.accuracy >"}), 400)
    assert message.startswith("filter 'metrics.accuracy >' at column 19: expected a value")
    message = error(api.get("/runs", params={"filter": "colour = 'red'"}), 400)
    assert "at column 1: unknown field 'colour'" in message


def test_sort_keys_order_the_runs(api: TestClient) -> None:
    page = ok(api.get("/runs", params={"sort": ["metrics.accuracy desc", "name"]}))
    ordered = [name for name in names(page) if name in NAMED]
    assert ordered[0] == "run-1"  # accuracy 1.0
    assert ordered[-1] == "run-2"  # 0.85
    assert ordered[1:-1] == sorted(ordered[1:-1])  # the ties at 0.9, by name
    assert error(api.get("/runs", params={"sort": "name sideways"}), 400)


def test_pages_follow_each_other_by_token_to_the_end(api: TestClient) -> None:
    whole = names(ok(api.get("/runs", params={"sort": "name"})))
    seen: list[str] = []
    token = None
    while True:
        params = {"sort": "name", "limit": 2, **({"page_token": token} if token else {})}
        page = ok(api.get("/runs", params=params))
        assert page["total"] == len(whole)
        seen += names(page)
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == whole


def test_a_tampered_page_token_is_a_400_saying_to_start_again(api: TestClient) -> None:
    token = ok(api.get("/runs", params={"sort": "name", "limit": 2}))["next_page_token"]
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    shortened = {**data, "after": data["after"][:1]}
    for tampered, says in [
        ("garbage!", "the page token is malformed; start again from the first page"),
        (token[:-3], "the page token is malformed; start again from the first page"),
        (encode(shortened), "the page token does not belong to this query"),
    ]:
        params = {"sort": "name", "limit": 2, "page_token": tampered}
        assert says in error(api.get("/runs", params=params), 400)
    other_order = {"sort": "name desc", "limit": 2, "page_token": token}
    assert "belongs to another filter or order" in error(api.get("/runs", params=other_order), 400)


def test_a_forged_token_with_lists_for_values_is_a_400(api: TestClient) -> None:
    token = ok(api.get("/runs", params={"sort": "name", "limit": 2}))["next_page_token"]
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    forged = encode({**data, "after": [[value] for value in data["after"]]})
    params = {"sort": "name", "limit": 2, "page_token": forged}
    assert "page token" in error(api.get("/runs", params=params), 400)


def encode(token: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")


def test_a_bad_parameter_is_a_400_naming_it(api: TestClient) -> None:
    assert error(api.get("/runs", params={"limit": 0}), 400) == (
        "limit: input should be greater than or equal to 1"
    )
    assert error(api.get("/runs", params={"limit": "ten"}), 400).startswith("limit: ")


def test_keys_lists_every_param_metric_and_tag_key(api: TestClient) -> None:
    assert ok(api.get("/keys")) == {
        "params": ["depth", "lr", "note"],
        "metrics": sorted([XSS, "accuracy", "f1", "loss"]),
        "tags": ["owner"],
    }


# -- one run ---------------------------------------------------------------------------------
def test_a_run_is_its_whole_record_with_its_verifications(
    api: TestClient, ui_store: UiStore
) -> None:
    run_id = ui_store.runs["run-0"]
    run = ok(api.get(f"/runs/{run_id[:8]}"))
    assert run["id"] == run_id
    assert run["schema"] == "samerun.run/1"
    assert run["inputs"]["params"] == {"depth": 0, "lr": 0.1}
    assert run["info"]["name"] == "run-0"
    assert [v["verdict"] for v in run["verifications"]] == ["identical"]


def test_an_unknown_run_is_a_404_on_every_route(api: TestClient) -> None:
    for path in [
        "/runs/0000dead",
        "/runs/0000dead/patch",
        "/runs/0000dead/metrics/loss/history",
        "/runs/0000dead/metrics/loss/csv",
        "/runs/0000dead/artifacts/out/notes.txt",
    ]:
        message = error(api.get(path), 404)
        assert message == "run '0000dead': no run matches it; see `samerun runs` for the ids", path


def test_an_unknown_route_is_a_404_json_error(api: TestClient) -> None:
    assert error(api.get("/no/such/route"), 404) == "nothing at /api/v1/no/such/route"
    assert error(api.delete("/runs"), 405) == "DELETE is not allowed at /api/v1/runs"


def test_the_patch_is_the_recorded_change_as_text(api: TestClient, ui_store: UiStore) -> None:
    patch = api.get(f"/runs/{ui_store.dirty_run}/patch")
    assert patch.status_code == 200
    assert f"+# {XSS}\n" in patch.text
    assert api.get(f"/runs/{ui_store.runs['run-0']}/patch").text == ""


def test_recorded_files_are_found_by_their_recorded_paths(
    api: TestClient, ui_store: UiStore
) -> None:
    run = ui_store.runs["run-0"]
    assert api.get(f"/runs/{run}/artifacts/out/notes.txt").text == "line one\nline two\n"
    assert api.get(f"/runs/{run}/artifacts/out/model.pkl").content == b"\x80\x04not unpickled"
    assert api.get(f"/runs/{run}/artifacts/out/plots/dot.png").content.startswith(b"\x89PNG")
    message = error(api.get(f"/runs/{run}/artifacts/out/missing.txt"), 404)
    assert message == f"run {run[:8]} recorded no output file 'out/missing.txt'"
    assert error(api.get(f"/runs/{run}/artifacts/out"), 404)  # a directory is not a file


# -- metric history --------------------------------------------------------------------------
def series(api: TestClient, run: str, key: str = "loss") -> list[tuple[int, float]]:
    response = api.get(f"/runs/{run}/metrics/{quote(key, safe='')}/csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["step", "value"]
    return [(int(step), float(value)) for step, value in rows[1:]]


def test_the_csv_is_every_point_of_the_series(api: TestClient, ui_store: UiStore) -> None:
    response = api.get(f"/runs/{ui_store.long_run}/metrics/loss/csv")
    assert response.headers["content-type"].startswith("text/csv")
    filename = f"{ui_store.long_run[:8]}-loss.csv"
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    points = series(api, ui_store.long_run)
    assert [step for step, _ in points] == list(range(100_000))
    assert points[0][1] == pytest.approx(1.0, abs=1e-3)
    hostile = api.get(f"/runs/{ui_store.dirty_run}/metrics/{quote(XSS, safe='')}/csv")
    assert hostile.text == "step,value\n0,0.5\n"
    assert "<" not in hostile.headers["content-disposition"]


def test_history_buckets_keep_every_points_extremes(api: TestClient, ui_store: UiStore) -> None:
    points = series(api, ui_store.long_run)
    history = ok(api.get(f"/runs/{ui_store.long_run}/metrics/loss/history"))
    buckets = history["buckets"]
    assert history["points"] == 100_000
    assert history["downsampled"] is True
    assert 1000 < len(buckets) <= 1500
    assert sum(b["count"] for b in buckets) == 100_000
    assert buckets[0]["first_step"] == 0
    assert buckets[-1]["last_step"] == 99_999
    for bucket in buckets[:50]:
        values = [v for _, v in points[bucket["first_step"] : bucket["last_step"] + 1]]
        assert (bucket["min"], bucket["max"], bucket["last"]) == (
            min(values),
            max(values),
            values[-1],
        )
    assert min(b["min"] for b in buckets) == min(v for _, v in points)


def test_zooming_asks_for_a_step_range_at_full_resolution(
    api: TestClient, ui_store: UiStore
) -> None:
    points = dict(series(api, ui_store.long_run))
    url = f"/runs/{ui_store.long_run}/metrics/loss/history"
    zoomed = ok(api.get(url, params={"min_step": 1000, "max_step": 1999}))
    assert zoomed["points"] == 1000
    assert zoomed["downsampled"] is False
    assert [(b["first_step"], b["last"]) for b in zoomed["buckets"]] == [
        (step, points[step]) for step in range(1000, 2000)
    ]
    coarse = ok(api.get(url, params={"min_step": 1000, "max_step": 1999, "max_points": 10}))
    assert [b["count"] for b in coarse["buckets"]] == [100] * 10
    assert error(api.get(url, params={"min_step": 5, "max_step": 4}), 400) == (
        "the step range 5..4 is empty"
    )


def test_an_unknown_metric_names_the_ones_there_are(api: TestClient, ui_store: UiStore) -> None:
    run = ui_store.runs["run-0"]
    message = error(api.get(f"/runs/{run}/metrics/lost/history"), 400)
    assert message == f"run {run[:8]} has no metric 'lost' (it has: accuracy, f1, loss)"


# -- the schema ------------------------------------------------------------------------------
def test_the_openapi_schema_lists_the_routes_and_their_errors(api: TestClient) -> None:
    schema = ok(api.get("/openapi.json"))
    assert set(schema["paths"]) == {
        "/api/v1/runs",
        "/api/v1/keys",
        "/api/v1/runs/{ref}",
        "/api/v1/runs/{ref}/metrics/{key}/history",
        "/api/v1/runs/{ref}/metrics/{key}/csv",
        "/api/v1/runs/{ref}/patch",
        "/api/v1/runs/{ref}/artifacts/{path}",
    }
    for path, operations in schema["paths"].items():
        responses = operations["get"]["responses"]
        assert "422" not in responses, path  # a bad parameter is a 400, described by 4XX
        error_body = responses["4XX"]["content"]["application/json"]["schema"]
        assert error_body["required"] == ["error"], path
