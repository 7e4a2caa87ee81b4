"""Run every rule over a project's files: parse each file once, walk it once, then judge."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from samerun.doctor.context import Facts, FileContext, Hit, Visitor, walk
from samerun.doctor.facts import FactCollector
from samerun.doctor.model import Finding, Skipped
from samerun.doctor.registry import rules
from samerun.doctor.rule import NotebookRule, Rule
from samerun.doctor.sources import SUFFIXES, Source, load


@dataclass(frozen=True)
class Analysis:
    """Findings of every rule (standing, not suppressed), skipped files, and program facts."""

    findings: list[Finding]
    skipped: list[Skipped]
    files: int
    facts: Facts


def analyze(root: Path, paths: Iterable[Path]) -> Analysis:
    """Analyse the Python files and notebooks among ``paths`` (files under ``root``)."""
    registry = rules()
    code_rules = [r for r in registry.values() if not issubclass(r, NotebookRule)]
    notebook_rules = [r for r in registry.values() if issubclass(r, NotebookRule)]
    facts = Facts()
    hits: list[Hit] = []
    skipped: list[Skipped] = []
    silenced: dict[tuple[str, int | None], dict[int, list[str]]] = {}
    files = 0
    for path in paths:
        if path.suffix not in SUFFIXES:
            continue
        rel = path.name if path == root else path.relative_to(root).as_posix()
        loaded = load(path, rel)
        if isinstance(loaded, Skipped):
            skipped.append(loaded)
            continue
        files += 1
        ctx = FileContext(rel, facts)
        try:
            _walk_source(loaded, ctx, code_rules)
        except RecursionError:
            skipped.append(Skipped(rel, "too deeply nested to analyse"))
            continue
        skipped += [Skipped(rel, reason) for reason in loaded.skipped_cells]
        for cell in loaded.cells:
            silenced[(rel, cell.number)] = cell.suppressed
        for rule in notebook_rules:
            for number, message in rule.check(loaded.notebook or []):
                ctx.hits.append(Hit(rule.id, message, rel, 1, 1, 1, number))
        hits += ctx.hits
    return Analysis(_judge(hits, facts, registry, silenced), skipped, files, facts)


def _walk_source(source: Source, ctx: FileContext, code_rules: list[type[Rule]]) -> None:
    collector = FactCollector(ctx)
    dispatch: dict[type[ast.AST], list[Visitor]] = {
        ast.Import: [ctx.imports],
        ast.ImportFrom: [ctx.imports],
        ast.Call: [collector.call],
        ast.Assign: [collector.assign],
    }
    for rule in code_rules:
        instance = rule(ctx)
        for node_type in rule.nodes:
            dispatch.setdefault(node_type, []).append(instance.visit)
    for cell in source.cells:
        ctx.cell = cell.number
        walk(cell.tree, ctx, dispatch)


def _judge(
    hits: list[Hit],
    facts: Facts,
    registry: dict[str, type[Rule]],
    silenced: dict[tuple[str, int | None], dict[int, list[str]]],
) -> list[Finding]:
    """The hits that stand given the whole program, are not silenced inline, in file order."""
    findings: list[Finding] = []
    reported: set[str] = set()
    for hit in sorted(hits, key=lambda h: (h.path, h.cell or 0, h.line, h.column, h.rule)):
        rule = registry[hit.rule]
        if not rule.stands(hit, facts) or _silenced(hit, silenced.get((hit.path, hit.cell), {})):
            continue
        if rule.once:
            if hit.rule in reported:
                continue
            reported.add(hit.rule)
        findings.append(
            Finding(hit.rule, hit.message, hit.path, hit.line, hit.column, hit.end_line, hit.cell)
        )
    return findings


def _silenced(hit: Hit, comments: dict[int, list[str]]) -> bool:
    for line in [*range(hit.line, hit.end_line + 1), hit.origin]:
        codes = comments.get(line)
        if codes is not None and (not codes or any(hit.rule.startswith(c) for c in codes)):
            return True
    return False
