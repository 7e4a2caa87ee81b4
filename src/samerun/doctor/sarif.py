"""SARIF 2.1.0, the format code-scanning tools (GitHub, GitLab, IDEs) read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from samerun import __version__
from samerun.doctor.model import Finding, Report
from samerun.doctor.registry import rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/samerun/samerun#doctor"


def to_sarif(report: Report) -> dict[str, Any]:
    """The report's findings (and skipped files, as notifications) as one SARIF run."""
    registry = rules()
    ids = list(registry)
    descriptors = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.why},
            "help": {"text": f"{rule.fix}\n\nReported:\n{rule.bad}\n\nFixed:\n{rule.good}"},
            "defaultConfiguration": {"level": "warning"},
        }
        for rule in registry.values()
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "samerun doctor",
                        "version": __version__,
                        "informationUri": INFO_URI,
                        "rules": descriptors,
                    }
                },
                "originalUriBaseIds": {"ROOT": {"uri": Path(report.root).as_uri() + "/"}},
                "results": [_result(f, ids.index(f.rule)) for f in report.findings],
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {
                                "level": "note",
                                "message": {"text": f"skipped: {s.reason}"},
                                "locations": [_location(s.path)],
                            }
                            for s in report.skipped
                        ],
                    }
                ],
            }
        ],
    }


def _location(path: str, region: dict[str, int] | None = None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": path, "uriBaseId": "ROOT"}}
    if region:
        physical["region"] = region
    return {"physicalLocation": physical}


def _result(finding: Finding, index: int) -> dict[str, Any]:
    if finding.cell is None:
        region = {
            "startLine": finding.line,
            "startColumn": finding.column,
            "endLine": finding.end_line,
        }
        text = finding.message
    else:  # a notebook: lines count within a cell, which SARIF regions cannot express
        region = None
        text = f"cell {finding.cell}, line {finding.line}: {finding.message}"
    return {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": "warning",
        "message": {"text": text},
        "locations": [_location(finding.path, region)],
    }
