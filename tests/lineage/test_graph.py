"""Lineage queries over real runs: derived data read directly (an output declared with -o)."""

from __future__ import annotations

from pathlib import Path

from samerun.lineage.graph import dataset_downstream, model_upstream, record_lineage, run_links
from samerun.lineage.records import key_hash, project_secret
from samerun.registry.registry import Registry
from samerun.store.project import Project, open_store
from tests.conftest import Cli

COPY = "open('derived.csv', 'w').write(open('raw.csv').read().upper())"
FIT = (
    "import pathlib; pathlib.Path('model.pkl').write_text(pathlib.Path('derived.csv').read_text())"
)


def test_an_output_read_by_another_run_carries_the_record(project: Path, cli: Cli) -> None:
    (project / "raw.csv").write_text("id\nx1\nx2\n")
    assert cli("data", "add", "raw.csv", "--record-key", "id").exit_code == 0
    made = cli("record", "-o", "derived.csv", "--", "python", "-c", COPY)
    assert made.exit_code == 0, made.stderr
    fit = cli("record", "-i", "derived.csv", "-o", "model.pkl", "--", "python", "-c", FIT)
    assert fit.exit_code == 0, fit.stderr
    assert cli("model", "register", "m", "--run", "last").exit_code == 0
    assert cli("model", "alias", "m", "prod", "1", "-r", "ship").exit_code == 0

    store = open_store(Project(project))
    try:
        secret = project_secret(store.project.store_dir, create=False)
        found = record_lineage(store.meta, key_hash(secret, "x1"))
        assert len(found.runs) == 2  # the copy run read raw.csv; the fit run read its output
        assert [(m.model, m.version) for m in found.models] == [("m", 1)]
        (verdict,) = found.production
        assert verdict.exposed
        assert verdict.sentence.startswith("m@prod (v1) WAS trained")
        nobody = record_lineage(store.meta, key_hash(secret, "x9"))
        assert (nobody.runs, nobody.models) == ([], [])
        assert not nobody.production[0].exposed

        version = Registry(store).resolve("m:1")
        up = model_upstream(store.meta, version)
        derived = next(d for d in up.data if d.path == "derived.csv")
        copy_run = next(link.run_id for link in run_links(store.meta) if derived.oid in link.wrote)
        assert derived.producer_run == copy_run
        (use,) = dataset_downstream(store.meta, "raw.csv")
        assert [m.version for m in use.models] == [1]
    finally:
        store.close()


def test_raw_data_added_without_an_index_is_not_called_clean(project: Path, cli: Cli) -> None:
    (project / "indexed.csv").write_text("id\nx1\n")
    (project / "other.csv").write_text("id\nx1\n\n")
    assert cli("data", "add", "indexed.csv", "--record-key", "id").exit_code == 0
    assert cli("data", "add", "other.csv").exit_code == 0
    fit = "import pathlib; pathlib.Path('model.pkl').write_text(open('other.csv').read()[:2])"
    assert cli("record", "-o", "model.pkl", "--", "python", "-c", fit).exit_code == 0
    assert cli("model", "register", "m", "--run", "last").exit_code == 0
    assert cli("model", "alias", "m", "production", "1", "-r", "ship").exit_code == 0
    store = open_store(Project(project))
    try:
        secret = project_secret(store.project.store_dir, create=False)
        found = record_lineage(store.meta, key_hash(secret, "x9"))  # in no indexed version
        states = {v.dataset: v.state for v in found.versions}
        assert states == {"indexed.csv": "clean", "other.csv": "not indexed"}
        (verdict,) = found.production
        assert "have no record index: cannot tell" in verdict.sentence
    finally:
        store.close()
