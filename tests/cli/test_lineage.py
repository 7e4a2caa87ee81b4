"""``samerun lineage``: a GDPR request end to end, with real runs, registry versions and aliases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli

#: A distinctive raw key value, so a search of the store for it cannot hit by chance.
PERSON = "cust-48213-zq"

FEATURES = """\
import csv
with open("data/customers.csv") as src, open("data/features.csv", "w", newline="") as out:
    rows = list(csv.DictReader(src))
    writer = csv.writer(out)
    writer.writerow(["customer_id", "spend_x2"])
    for row in rows:
        writer.writerow([row["customer_id"], 2 * int(row["spend"])])
"""

TRAIN = """\
import pathlib
rows = pathlib.Path("data/features.csv").read_text().splitlines()
pathlib.Path("model.pkl").write_text(f"{len(rows)} rows")
"""


def _customers(project: Path, people: list[str]) -> None:
    lines = ["customer_id,spend", *(f"{p},{n}" for n, p in enumerate(people, 1))]
    (project / "data" / "customers.csv").write_text("\n".join(lines) + "\n")


def _pipeline(cli: Cli) -> None:
    """raw -> features (a run's output, then added as a dataset) -> a model version."""
    done = cli(
        "record",
        "-i",
        "data/customers.csv",
        "-o",
        "data/features.csv",
        "--",
        "python",
        "features.py",
    )
    assert done.exit_code == 0, done.stderr
    assert cli("data", "add", "data/features.csv").exit_code == 0
    done = cli("record", "-i", "data/features.csv", "-o", "model.pkl", "--", "python", "fit.py")
    assert done.exit_code == 0, done.stderr
    done = cli("model", "register", "churn", "--run", "last", "--artifact", "model.pkl")
    assert done.exit_code == 0, done.stderr


@pytest.fixture
def trained(project: Path, cli: Cli) -> Path:
    """customers v1 holds PERSON; churn v1, trained on it via derived features, is production."""
    (project / "features.py").write_text(FEATURES)
    (project / "fit.py").write_text(TRAIN)
    (project / "data").mkdir()
    _customers(project, ["cust-1", PERSON, "cust-3"])
    done = cli("data", "add", "data/customers.csv", "--record-key", "customer_id")
    assert done.exit_code == 0, done.stderr
    _pipeline(cli)
    assert cli("model", "alias", "churn", "production", "1", "-r", "first").exit_code == 0
    return project


def test_a_record_is_followed_to_the_production_model_and_cleared_after_retraining(
    trained: Path, cli: Cli
) -> None:
    found = json.loads(cli("lineage", "record", f"customer_id={PERSON}", "--json").stdout)
    states = {(v["dataset"], v["state"]) for v in found["versions"]}
    assert states == {("data/customers.csv", "contains"), ("data/features.csv", "may contain")}
    assert [v["rows"] for v in found["versions"] if v["state"] == "contains"] == [1]
    assert len(found["runs"]) == 2
    assert [(m["model"], m["version"]) for m in found["models"]] == [("churn", 1)]
    assert [(a["alias"], a["version"]) for a in found["aliases"]] == [("production", 1)]
    shown = cli("lineage", "record", f"customer_id={PERSON}").stdout
    assert "churn@production (v1) WAS trained on data containing the record" in shown
    assert "may contain data/features.csv" in shown

    erased = cli("lineage", "erase", f"customer_id={PERSON}", "--reason", "GDPR art. 17 #118")
    assert erased.exit_code == 0, erased.stderr
    assert "retrain churn:1" in erased.stdout
    assert erased.stdout.count("  clean   data/") == 2
    assert cli("audit", "verify").exit_code == 0

    # clean the raw data, re-add it, rerun the pipeline, move production
    assert cli("data", "unprotect", "data/customers.csv", "data/features.csv").exit_code == 0
    _customers(trained, ["cust-1", "cust-3"])
    (trained / "data" / "features.csv").unlink()  # a stale output in the workspace is an input
    readded = cli("data", "add", "data/customers.csv")  # indexed by the same column as before
    assert "indexed 2 records by customer_id" in readded.stdout
    _pipeline(cli)
    assert cli("model", "alias", "churn", "production", "2", "-r", "retrained").exit_code == 0

    after = json.loads(cli("lineage", "record", f"customer_id={PERSON}", "--json").stdout)
    assert [v["state"] for v in after["versions"]] == ["contains", "may contain", "clean", "clean"]
    assert [m["version"] for m in after["models"]] == [1]
    assert after["aliases"] == []
    (verdict,) = after["production"]
    assert verdict["sentence"].startswith(
        "churn@production (v2) was not trained on any version containing the record"
    )
    assert [r["reason"] for r in after["erasure_requests"]] == ["GDPR art. 17 #118"]


def test_model_and_dataset_lineage(trained: Path, cli: Cli) -> None:
    up = json.loads(cli("lineage", "model", "churn:1", "--json").stdout)
    made_by = {d["path"]: d["producer_run"] for d in up["data"]}
    assert made_by["data/customers.csv"] is None  # raw data: added, made by no run
    assert made_by["data/features.csv"] is not None  # derived: the features run's output
    assert up["code"]["commit"]
    down = json.loads(cli("lineage", "dataset", "data/customers.csv", "--json").stdout)
    (version,) = down
    assert len(version["runs"]) == 2
    assert [m["version"] for m in version["models"]] == [1]
    assert "model churn:1" in cli("lineage", "dataset", "data/customers.csv").stdout


def test_the_store_never_holds_the_raw_value(trained: Path, cli: Cli) -> None:
    cli("lineage", "erase", f"customer_id={PERSON}", "--reason", "request")
    _assert_only_the_data_holds(trained / ".samerun", PERSON)


def _assert_only_the_data_holds(store: Path, value: str) -> None:
    planted = [p for p in store.rglob("*") if p.is_file() and value.encode() in p.read_bytes()]
    assert planted  # the search can find it
    # the dataset's own stored copy holds it, as the dataset does; nothing else may
    assert all("objects" in p.relative_to(store).parts for p in planted)
    assert (store / "lineage.key").stat().st_mode & 0o777 == 0o600


def test_a_directory_dataset_says_which_files_hold_the_record(project: Path, cli: Cli) -> None:
    customers = project / "data" / "customers"
    customers.mkdir(parents=True)
    (customers / "2025.csv").write_text(f"customer_id,spend\ncust-1,3\n{PERSON},4\n")
    (customers / "2026.jsonl").write_text(
        "".join(json.dumps({"customer_id": c}) + "\n" for c in (PERSON, "cust-2", PERSON))
    )
    (customers / "README.txt").write_text(f"one file per year, e.g. {PERSON}\n")
    done = cli("data", "add", "data/customers", "--record-key", "customer_id")
    assert done.exit_code == 0, done.stderr
    found = json.loads(cli("lineage", "record", f"customer_id={PERSON}", "--json").stdout)
    (version,) = found["versions"]
    assert (version["state"], version["rows"]) == ("contains", 3)
    assert version["files"] == {"2025.csv": 1, "2026.jsonl": 2}
    shown = cli("lineage", "record", f"customer_id={PERSON}").stdout
    assert "contains data/customers @ " in shown
    assert ": 3 row(s) (1 in 2025.csv, 2 in 2026.jsonl)" in shown
    cli("lineage", "erase", f"customer_id={PERSON}", "--reason", "request")
    _assert_only_the_data_holds(project / ".samerun", PERSON)


def test_a_lost_secret_fails_clearly(trained: Path, cli: Cli) -> None:
    (trained / ".samerun" / "lineage.key").unlink()
    done = cli("lineage", "record", f"customer_id={PERSON}")
    assert done.exit_code != 0
    assert "lineage.key is missing" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("data", "add", "data/people.csv", "--record-key", "nope"), "has no column 'nope'"),
        (("data", "add", "data/people.txt", "--record-key", "id"), "cannot index records"),
        (
            ("data", "add", "data", "--record-key", "nope"),
            "data: none of its 2 file(s) has a column 'nope'",
        ),
        (("lineage", "record", "customer_id"), "is not KEY=VALUE"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    project: Path, cli: Cli, args: tuple[str, ...], message: str
) -> None:
    (project / "data").mkdir()
    (project / "data" / "people.csv").write_text("id,name\n1,a\n")
    (project / "data" / "people.txt").write_text("id\n1\n")
    cli("init")
    done = cli(*args)
    assert done.exit_code != 0
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not [p for p in project.rglob("*.samerun") if p.is_file()]
