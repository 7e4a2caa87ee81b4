"""SARIF 2.1.0 output: rules, results with regions, skipped files as notifications."""

from __future__ import annotations

from pathlib import Path

from samerun.doctor import diagnose
from samerun.doctor.sarif import to_sarif


def test_findings_become_sarif_results(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("import random\n\nx = random.random()\n")
    (tmp_path / "broken.py").write_text("def (\n")
    log = to_sarif(diagnose(tmp_path))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    [result] = run["results"]
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == "RNG001"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "train.py", "uriBaseId": "ROOT"}
    assert location["region"] == {"startLine": 3, "startColumn": 5, "endLine": 3}
    assert run["originalUriBaseIds"]["ROOT"]["uri"] == tmp_path.resolve().as_uri() + "/"
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"].startswith("skipped: syntax error")
