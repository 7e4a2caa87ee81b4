"""The pages over HTTP: each renders what its run records hold, keeps its view in the URL, and
answers bad input (a filter that does not parse, a tampered page token, an unknown run, a file
the run never recorded) with one clear message and its status, never a stack trace.

Pages are fetched in-process (FastAPI's test client over the app); what a browser does with
them (htmx swaps, charts, clicks) is tests/web/test_browser.py's.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from starlette.datastructures import QueryParams

import samerun
from samerun.registry import open_registry
from samerun.web import pages
from samerun.web.app import create_app
from samerun.web.pages import DiffLine, RunsView, csv_cell, diff_lines, preview_kind
from tests.conftest import Cli, git
from tests.web.conftest import XSS, UiStore

ESCAPED = str(escape(XSS))
KEYS = {"params": ["depth", "lr", "note"], "metrics": ["accuracy", "loss"], "tags": ["owner"]}


@pytest.fixture(scope="module")
def client(ui_store: UiStore) -> Iterator[TestClient]:
    with TestClient(create_app(ui_store.root), base_url="http://127.0.0.1") as opened:
        yield opened


def run_names(html: str) -> list[str]:
    """The names in the runs table, top to bottom, as the page shows them (unescaped)."""
    found = re.findall(r'<span class="run-name">(.*?)</span>', html)
    return [name.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"') for name in found]


def message(html: str) -> str:
    """The error message a page shows (the error page's, or the runs page's problem)."""
    found = re.search(r'<p class="message">(.*?)</p>', html, re.DOTALL)
    assert found, html[:500]
    return found.group(1)


def assert_no_trace(html: str) -> None:
    assert "Traceback" not in html
    assert 'File "' not in html


# -- the runs page's view -----------------------------------------------------------------------


def test_a_view_without_columns_shows_the_first_params_and_metrics() -> None:
    view = RunsView.from_query(QueryParams(""), KEYS)
    expected = ("params.depth", "params.lr", "params.note", "metrics.accuracy", "metrics.loss")
    assert view.columns == expected


def test_an_empty_col_means_no_chosen_column_and_survives_the_round_trip() -> None:
    view = RunsView.from_query(QueryParams("col="), KEYS)
    assert view.columns == ()
    assert RunsView.from_query(QueryParams(view.query_string()), KEYS) == view


def test_a_view_round_trips_through_its_url() -> None:
    view = RunsView("metrics.loss < 1", ("params.lr desc",), ("tags.owner",), "token")
    assert RunsView.from_query(QueryParams(view.query_string()), KEYS) == view


def test_sorting_by_a_column_ascends_then_descends_and_goes_back_to_the_first_page() -> None:
    view = RunsView(page="token")
    assert view.direction("started") == "desc"  # newest first when nothing is chosen
    assert view.sorted_by("started").sort == ("started",)
    by_lr = view.sorted_by("params.lr")
    assert (by_lr.sort, by_lr.page, by_lr.direction("params.lr")) == (("params.lr",), None, "asc")
    assert by_lr.sorted_by("params.lr").sort == ("params.lr desc",)
    assert by_lr.sorted_by("params.lr").sorted_by("params.lr").sort == ("params.lr",)


def test_odd_keys_are_columns_through_the_filter_grammar_quoting() -> None:
    (column,) = RunsView(columns=(f"metrics.`{XSS}`",)).chosen()
    assert column.field.key == XSS
    assert column.name == f"metrics.`{XSS}`"


# -- the runs page ------------------------------------------------------------------------------


def test_the_runs_page_lists_every_run_with_its_columns(
    client: TestClient, ui_store: UiStore
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]  # a fragment and the page are cached apart
    assert 'href="/data"' in response.text
    assert 'href="/logout"' not in response.text  # nobody signs in to the local UI
    assert sorted(run_names(response.text)) == sorted(
        [*[f"run-{i}" for i in range(4)], "long", XSS, "replay of run-0"]
    )
    assert "7 of 7 runs" in response.text
    sortable = re.findall(r'title="sort by ([^"]+)"', response.text)
    assert sortable == [
        *("id", "name", "status", "verdict", "started", "duration", "seed", "commit"),
        *("params.depth", "params.lr", "params.note"),
        *(f"metrics.`{ESCAPED}`", "metrics.accuracy", "metrics.f1", "metrics.loss"),
    ]
    assert f'href="/runs/{ui_store.dirty_run}"' in response.text
    assert '<span class="badge verdict-identical">identical</span>' in response.text
    assert ESCAPED in response.text
    assert XSS not in response.text


#: What the runs page may weigh, HTML and every file it loads (uncompressed): htmx is 52 KB.
RUNS_PAGE_BUDGET = 100_000


def test_the_runs_page_stays_light(client: TestClient) -> None:
    html = client.get("/").content
    assets = re.findall(rb'(?:src|href)="(http://127\.0\.0\.1/static/[^"]+)"', html)
    assert {a.rsplit(b"/", 1)[-1] for a in assets} == {b"app.css", b"htmx.min.js", b"runs.js"}
    weight = len(html) + sum(len(client.get(a.decode()).content) for a in assets)
    assert weight < RUNS_PAGE_BUDGET


def test_a_filter_lists_the_matching_runs(client: TestClient) -> None:
    response = client.get("/", params={"filter": "params.lr > 0.1"})
    assert run_names(response.text) == ["run-1"]
    assert "1 of 1 matching runs" in response.text


def test_htmx_gets_the_table_alone_and_a_history_restore_the_whole_page(
    client: TestClient,
) -> None:
    fragment = client.get("/", params={"filter": "params.lr > 0.1"}, headers={"hx-request": "true"})
    assert "<html" not in fragment.text
    assert run_names(fragment.text) == ["run-1"]
    restored = client.get("/", headers={"hx-request": "true", "hx-history-restore-request": "true"})
    assert "<html" in restored.text


def test_sorting_by_a_param_orders_the_rows(client: TestClient) -> None:
    ascending = client.get("/", params={"sort": "params.depth", "filter": "params.depth >= 1"})
    assert run_names(ascending.text) == ["run-1", "run-2", "run-3"]
    descending = client.get(
        "/", params={"sort": "params.depth desc", "filter": "params.depth >= 1"}
    )
    assert run_names(descending.text) == ["run-3", "run-2", "run-1"]
    assert 'class="sort desc" href="/?filter=params.depth' in descending.text


def test_a_filter_that_does_not_parse_shows_where_with_status_400(client: TestClient) -> None:
    for headers in ({}, {"hx-request": "true"}):
        response = client.get("/", params={"filter": "params.lr >> 1"}, headers=headers)
        assert response.status_code == 400
        assert "at column 12" in message(response.text)
        assert "params.lr &gt;&gt; 1\n           ^</pre>" in response.text
        assert_no_trace(response.text)
    page = client.get("/", params={"filter": "params.lr >> 1"})
    assert 'value="params.lr &gt;&gt; 1"' in page.text  # still in the box, to be fixed


def test_a_tampered_page_token_says_so_with_status_400(client: TestClient) -> None:
    response = client.get("/", params={"page": "not-a-token"})
    assert response.status_code == 400
    assert message(response.text).startswith("the page token is malformed")
    assert_no_trace(response.text)


def test_a_column_that_names_no_key_is_refused(client: TestClient) -> None:
    response = client.get("/", params={"col": "name"})
    assert response.status_code == 400
    assert "a chosen column is a params., metrics. or tags. key" in message(response.text)


def test_pages_follow_each_other_by_token_until_the_last(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_ROWS", 3)
    seen: list[str] = []
    url: str | None = "/?sort=name"
    while url is not None:
        html = client.get(url.replace("&amp;", "&")).text
        seen += run_names(html)
        found = re.search(r'class="next" href="([^"]+)"', html)
        url = found.group(1) if found else None
    assert len(seen) == 7
    assert seen == sorted(seen)


def test_the_csv_export_holds_every_matching_run_with_the_chosen_columns(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, ui_store: UiStore
) -> None:
    monkeypatch.setattr(pages, "CSV_PAGE_ROWS", 2)  # streamed over several pages
    response = client.get(
        "/runs.csv", params=[("sort", "name"), ("col", "params.lr"), ("col", "tags.owner")]
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 7
    assert [row["name"] for row in rows] == sorted(row["name"] for row in rows)
    assert list(rows[0])[-2:] == ["params.lr", "tags.owner"]
    dirty = next(row for row in rows if row["id"] == ui_store.dirty_run)
    assert (dirty["tags.owner"], dirty["dirty"], dirty["params.lr"]) == (XSS, "true", "")
    lr = {row["name"]: row["params.lr"] for row in rows}
    assert lr["run-2"] == "0.05"


def test_a_csv_export_with_a_bad_filter_is_refused_before_anything_is_sent(
    client: TestClient,
) -> None:
    response = client.get("/runs.csv", params={"filter": "params.lr >> 1"})
    assert response.status_code == 400
    assert "at column 12" in response.text


def test_a_csv_cell_that_a_spreadsheet_would_run_is_quoted() -> None:
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("@sum") == "'@sum"
    assert csv_cell(-0.5) == "-0.5"
    assert csv_cell(0.1 + 0.2) == "0.30000000000000004"  # every digit of a float
    assert csv_cell(None) == ""


# -- the run page -------------------------------------------------------------------------------


def test_a_patch_is_classified_line_by_line() -> None:
    patch = b"diff --git a/x b/x\nindex 1..2\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n"
    assert [line.kind for line in diff_lines(patch)] == [
        "file",
        "meta",
        "meta",
        "meta",
        "hunk",
        "del",
        "add",
        "context",
    ]
    assert diff_lines(b"+\xff")[0] == DiffLine("add", "+\ufffd")


def test_the_run_page_shows_each_pillar(client: TestClient, ui_store: UiStore) -> None:
    response = client.get(f"/runs/{ui_store.dirty_run}")
    assert response.status_code == 200
    html = response.text
    for section in ("code", "data", "environment", "randomness", "params", "metrics"):
        assert f'<section id="{section}">' in html
    assert '<span class="badge dirty">dirty</span>' in html
    assert f'<span class="d-add">+# {ESCAPED}</span>' in html
    assert '<span class="d-hunk">@@ -19,3 +19,4 @@' in html
    assert "<tr><th>PYTHONHASHSEED</th><td><code>7</code></td></tr>" in html
    assert '<figure class="chart" data-key="loss"' in html  # 50 steps: a chart
    assert 'data-key="accuracy"' not in html  # one value: the table says it all
    assert f'<span class="tag">owner={ESCAPED}</span>' in html
    assert XSS not in html


def test_the_run_page_shows_the_verification_history(client: TestClient, ui_store: UiStore) -> None:
    html = client.get(f"/runs/{ui_store.runs['run-0']}").text
    assert '<span class="badge verdict-identical">identical</span>' in html
    assert f"/compare?run={ui_store.runs['run-0']}&amp;run=" in html
    never = client.get(f"/runs/{ui_store.runs['run-1']}").text
    assert "Never verified" in never


def test_every_recorded_file_is_listed_with_how_it_is_previewed(
    client: TestClient, ui_store: UiStore
) -> None:
    html = client.get(f"/runs/{ui_store.runs['run-0']}").text
    listed = re.findall(r"<summary><code>([^<]+)</code> <small>[\d,]+ bytes · (\w+)", html)
    assert listed == [
        ("out/metrics.json", "json"),
        ("out/model.pkl", "download"),
        ("out/notes.txt", "text"),
        ("out/page.html", "html"),
        ("out/plots/dot.png", "image"),
        ("out/table.csv", "csv"),
    ]


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("out/notes.txt", '<pre class="head">line one\nline two</pre>'),
        ("out/metrics.json", '<pre class="head">{\n  &#34;accuracy&#34;: 0.9\n}</pre>'),
        ("out/table.csv", "<thead><tr><th>a</th><th>b</th></tr></thead>"),
        ("out/plots/dot.png", 'src="/api/v1/runs/{run}/artifacts/out/plots/dot.png"'),
        (
            "out/page.html",
            '<iframe class="artifact-html" sandbox srcdoc="&lt;h1&gt;report&lt;/h1&gt;'
            '&lt;script&gt;parent.alert(1)&lt;/script&gt;"',
        ),
    ],
)
def test_each_kind_of_file_is_previewed_safely(
    client: TestClient, ui_store: UiStore, path: str, shown: str
) -> None:
    run = ui_store.runs["run-0"]
    response = client.get(f"/runs/{run}/preview/{path}", headers={"hx-request": "true"})
    assert response.status_code == 200
    assert shown.replace("{run}", run) in response.text
    assert f'href="/api/v1/runs/{run}/artifacts/{path}" download' in response.text


def test_a_pickle_is_never_read_only_offered(client: TestClient, ui_store: UiStore) -> None:
    run = ui_store.runs["run-0"]
    response = client.get(f"/runs/{run}/preview/out/model.pkl")
    assert response.status_code == 200
    assert "not unpickled" not in response.text
    assert f'href="/api/v1/runs/{run}/artifacts/out/model.pkl" download' in response.text


def test_kinds_of_file_by_suffix() -> None:
    assert preview_kind("out/LOG.TXT") == "text"
    assert preview_kind("a.tsv") == "csv"
    assert preview_kind("model.pkl") == "download"
    assert preview_kind("dir.v2/README") == "download"  # a dot in a folder is no suffix
    assert preview_kind("plot.webp") == "image"


def test_an_unknown_run_or_file_answers_404_with_a_message(
    client: TestClient, ui_store: UiStore
) -> None:
    run = ui_store.runs["run-0"]
    for url, says in [
        ("/runs/0123abcd", "0123abcd"),
        (f"/runs/{run}/preview/out/missing.txt", "recorded no output file 'out/missing.txt'"),
        (f"/runs/{run}/data/0", "read no dataset number 0"),
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert says in message(response.text).replace("&#39;", "'")
        assert_no_trace(response.text)


# -- the compare page ---------------------------------------------------------------------------


def test_compare_shows_every_layer_with_what_differs_marked(
    client: TestClient, ui_store: UiStore
) -> None:
    runs = [ui_store.runs[name] for name in ("run-0", "run-3", "run-1")]
    response = client.get("/compare", params=[("run", run) for run in runs])
    assert response.status_code == 200
    html = response.text
    layers = re.findall(r'<section class="layer" id="layer-([\w_]+)">', html)
    assert layers[:2] == ["params", "metrics"]
    assert {"code", "data", "command", "environment", "randomness", "env_vars"} <= set(layers)
    params = html.split('id="layer-params"')[1].split("</section>")[0]
    assert re.findall(r'<tr class="(\w+)">\s*<th>(\w+)</th>', params) == [
        ("differs", "depth"),
        ("differs", "lr"),
    ]
    assert '<td class="changed">3</td>' in params
    assert html.count('<figure class="chart"') == 1  # loss, one series per run
    assert "Outputs" not in html  # the outputs' bytes are compared two runs at a time
    assert 'class="parallel" data-axes=' in html


def test_two_runs_show_their_outputs_and_say_when_there_is_no_trace(
    client: TestClient, ui_store: UiStore
) -> None:
    a, b = ui_store.runs["run-0"], ui_store.runs["run-1"]
    html = client.get("/compare", params=[("run", a), ("run", b)]).text
    assert '<span class="badge verdict-diverged">diverged</span>' in html
    assert "Why they differ: <strong>params</strong>." in html
    assert f"run {a[:8]} and run {b[:8]} recorded none" in html


def test_compare_refuses_one_run_and_an_unknown_one(client: TestClient, ui_store: UiStore) -> None:
    one = client.get("/compare", params={"run": ui_store.runs["run-0"]})
    assert one.status_code == 400
    assert message(one.text) == "compare 2 to 100 runs, not 1"
    unknown = client.get("/compare", params=[("run", ui_store.runs["run-0"]), ("run", "fff0")])
    assert unknown.status_code == 404
    assert_no_trace(unknown.text)


# -- data, and traces that part -----------------------------------------------------------------

TRAIN = """\
import os, samerun
samerun.start_run()
for step in range(3):
    samerun.trace(step, w=[1.0, 2.0, float(os.environ.get("DRIFT", "0")) * step])
"""


@pytest.fixture
def data_project(project: Path, cli: Cli) -> dict[str, str]:
    """A project whose dataset has two committed versions: a run read each, and one read what
    the workspace held between them (its trace parts from the first run's at step 1)."""
    (project / "t.py").write_text(TRAIN)
    (project / "data" / "train").mkdir(parents=True)
    (project / "data" / "train" / "x.csv").write_text("a\n1\n")
    git(project, "add", "t.py")
    git(project, "commit", "-q", "-m", "script")

    def record(name: str, drift: str = "0") -> str:
        done = cli("record", "--json", "--name", name, "--", "python", "t.py", env={"DRIFT": drift})
        assert done.exit_code == 0, done.stderr
        found = re.search(r'"id": "(\w+)"', done.stdout)
        assert found, done.stdout
        return found.group(1)

    assert cli("data", "add", "data/train").exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "data v1")
    first = record("first")
    (project / "data" / "train" / "x.csv").write_text("a\n1\n2\n")
    edited = record("edited", drift="1")
    assert cli("data", "add", "data/train").exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "data v2")
    second = record("second")
    return {"first": first, "edited": edited, "second": second}


def test_the_data_page_shows_each_version_and_the_runs_that_read_it(
    project: Path, data_project: dict[str, str]
) -> None:
    with TestClient(create_app(project), base_url="http://127.0.0.1") as client:
        html = client.get("/data").text
    assert "<code>data/train</code> <small>pointer <code>data/train.samerun</code></small>" in html
    rows = re.findall(r"<td>(data v\d)</td>.*?</tr>", html, re.DOTALL)
    assert rows == ["data v2", "data v1"]
    v2, v1 = html.split("<td>data v2</td>")[1].split("<td>data v1</td>")
    assert f'href="/runs/{data_project["second"]}"' in v2
    assert f'href="/runs/{data_project["first"]}"' in v1
    assert f'href="/runs/{data_project["edited"]}"' in v1  # its pointer named v1 ...
    assert 'title="the workspace held blake3:' in v1  # ... and it read what the workspace held


def test_a_project_without_datasets_says_how_to_add_one(client: TestClient) -> None:
    assert "samerun data add PATH" in client.get("/data").text


def test_a_dataset_version_lists_its_files_on_demand(
    project: Path, data_project: dict[str, str]
) -> None:
    with TestClient(create_app(project), base_url="http://127.0.0.1") as client:
        run = client.get(f"/runs/{data_project['second']}").text
        assert f'hx-get="/runs/{data_project["second"]}/data/0"' in run
        files = client.get(f"/runs/{data_project['second']}/data/0").text
    assert re.search(r"<td>x\.csv</td><td class=\"num\">6</td><td><code>blake3:", files)


def test_where_two_traces_first_part_is_on_the_compare_page(
    project: Path, data_project: dict[str, str]
) -> None:
    with TestClient(create_app(project), base_url="http://127.0.0.1") as client:
        pair = [("run", data_project["first"]), ("run", data_project["edited"])]
        parted = client.get("/compare", params=pair).text
        same = [("run", data_project["first"]), ("run", data_project["second"])]
        agreeing = client.get("/compare", params=same).text
    assert (
        "They first part at <strong>step 1</strong>, entry 0 of the step: value w (json[3]): "
        "1 of 3 elements differ, by at most 1." in parted
    )
    assert "The traces agree at every step." in agreeing


def test_a_pointer_path_from_a_record_that_leads_outside_is_never_read(tmp_path: Path) -> None:
    (tmp_path / "secret.samerun").write_text("format: samerun.pointer/1\n")
    (tmp_path / "project").mkdir()
    found = pages.dataset(tmp_path / "project", "../secret.samerun", [])
    assert found.versions == []
    assert found.problem is not None
    assert "../secret.samerun" in found.problem


def test_the_models_pages_show_versions_lineage_and_the_alias_timeline(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMERUN_USER", "alice")
    (project / "data").mkdir()
    (project / "data" / "rows.csv").write_text("id,y\n1,2\n")
    model = project / "model.pkl"
    model.write_bytes(b"weights")
    with samerun.start_run(name="trainer", seed=3) as run:
        samerun.log_artifact(model)
    with open_registry(project) as registry:
        registry.register("churn", run.id, ["model.pkl"], description="first cut")
        registry.register("churn", run.id, ["model.pkl"])
        registry.set_alias("churn", "production", 1, reason="beats the baseline")
        registry.set_alias("churn", "production", 2, reason="retrained")
    with TestClient(create_app(project), base_url="http://127.0.0.1") as opened:
        listing = opened.get("/models")
        assert listing.status_code == 200
        assert 'href="/models/churn"' in listing.text
        assert "production → v2" in listing.text
        page = opened.get("/models/churn")
        assert page.status_code == 200
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
        assert "v2 production" in text  # the newest version first, with its alias
        assert "first cut" in text
        assert f'href="/runs/{run.id}"' in page.text  # lineage: the run that made it
        assert "Python " in text
        assert "packages" in text
        assert "v1 → v2 alice retrained" in text  # the timeline, newest move first
        assert text.index("retrained") < text.index("beats the baseline")
        unknown = opened.get("/models/nothing")
        assert unknown.status_code == 400
        assert "no model named &#39;nothing&#39;" in unknown.text
