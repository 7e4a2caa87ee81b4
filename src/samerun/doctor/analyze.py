"""Run every rule over a project's files: parse each file once, walk it once, then judge."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from samerun.doctor.context import Facts, FileContext, Hit, Visitor, walk
from samerun.doctor.facts import FactCollector
from samerun.doctor.model import Finding, Skipped
from samerun.doctor.programs import (
    Program,
    Unit,
    declared_entry_points,
    is_test_module,
    module_names,
    programs,
)
from samerun.doctor.registry import rules
from samerun.doctor.rule import NotebookRule, Rule
from samerun.doctor.sources import SUFFIXES, Source, load


@dataclass(frozen=True)
class Analysis:
    """Findings of every rule (standing, not suppressed), skipped files, and the programs
    (entry points, with what each seeds)."""

    findings: list[Finding]
    skipped: list[Skipped]
    files: int
    programs: list[Program]


def analyze(root: Path, paths: Iterable[Path]) -> Analysis:
    """Analyse the Python files and notebooks among ``paths`` (files under ``root``)."""
    registry = rules()
    code_rules = [r for r in registry.values() if not issubclass(r, NotebookRule)]
    notebook_rules = [r for r in registry.values() if issubclass(r, NotebookRule)]
    units: list[Unit] = []
    called: set[str] = set()  # methods and project functions some file calls
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
        ctx = FileContext(rel, Facts())
        try:
            _walk_source(loaded, ctx, code_rules)
        except RecursionError:
            skipped.append(Skipped(rel, "too deeply nested to analyse"))
            continue
        entry = ctx.main or loaded.notebook is not None or is_test_module(rel)
        units.append(Unit(rel, ctx.facts, ctx.imported, entry, ctx.loose, ctx.calls))
        called |= ctx.called_names
        skipped += [Skipped(rel, reason) for reason in loaded.skipped_cells]
        for cell in loaded.cells:
            silenced[(rel, cell.number)] = cell.suppressed
        for rule in notebook_rules:
            for number, message in rule.check(loaded.notebook or []):
                ctx.hits.append(Hit(rule.id, message, rel, 1, 1, 1, number))
        hits += ctx.hits
    modules = {name for unit in units for name in module_names(unit.path)}
    called |= {
        c.rpartition(".")[2] for u in units for c in u.calls if c.rpartition(".")[0] in modules
    }
    # a function handing on an order is judged at its callers when another file calls it
    hits = [h for h in hits if h.returned_by not in called]
    hits = _judge_handed(hits, root, units, registry)
    found = programs(units, declared_entry_points(root if root.is_dir() else root.parent))
    return Analysis(_judge(hits, found, registry, silenced), skipped, files, found)


def _judge_handed(
    hits: list[Hit], root: Path, units: list[Unit], registry: dict[str, type[Rule]]
) -> list[Hit]:
    """A hit handed to a function of another file of the project stands only where that
    function makes the hazard real with what it was handed; its message then says where.
    Only the files defining such functions are parsed again (few, and each once)."""
    defined = {name: unit.path for unit in units for name in module_names(unit.path)}
    trees: dict[str, ast.Module | None] = {}
    kept: list[Hit] = []
    for hit in hits:
        dotted, argument = hit.handed_to or ("", 0)
        module, _, function = dotted.rpartition(".")
        path = defined.get(module)
        if path is None:
            kept.append(hit)
            continue
        if path not in trees:
            trees[path] = _module_tree(root, path)
        tree = trees[path]
        line = 0 if tree is None else registry[hit.rule].handed_order(tree, function, argument)
        if line == 0:
            kept.append(hit)
        elif line is not None:
            where = f"{function}() uses its order on line {line} of {path}"
            kept.append(replace(hit, message=f"{hit.message}: {where}"))
    return kept


def _module_tree(root: Path, rel: str) -> ast.Module | None:
    loaded = load(root / rel, rel)
    if isinstance(loaded, Skipped) or len(loaded.cells) != 1:
        return None
    return loaded.cells[0].tree


def _walk_source(source: Source, ctx: FileContext, code_rules: list[type[Rule]]) -> None:
    collector = FactCollector(ctx)
    dispatch: dict[type[ast.AST], list[Visitor]] = {
        ast.Import: [ctx.imports],
        ast.ImportFrom: [ctx.imports],
        ast.Call: [collector.call],
        ast.Assign: [collector.assign],
        ast.If: [collector.branch],
        ast.ClassDef: [collector.subclass],
    }
    instances = [rule(ctx) for rule in code_rules]
    for instance in instances:
        for node_type, visitor in instance.visitors().items():
            dispatch.setdefault(node_type, []).append(visitor)
    for cell in source.cells:
        ctx.cell = cell.number
        walk(cell.tree, ctx, dispatch)
    collector.finish()
    for instance in instances:
        instance.finish()


def _judge(
    hits: list[Hit],
    found: list[Program],
    registry: dict[str, type[Rule]],
    silenced: dict[tuple[str, int | None], dict[int, list[str]]],
) -> list[Finding]:
    """The hits that stand in some program that runs their file and are not silenced inline,
    in file order. A hit in a module that stands only under another entry point says which."""
    running: dict[str, list[Program]] = {}
    importing: dict[str, list[Program]] = {}
    for program in found:
        for path in program.runs:
            running.setdefault(path, []).append(program)
        for path in program.files:
            importing.setdefault(path, []).append(program)
    findings: list[Finding] = []
    reported: set[tuple[str, str]] = set()
    for hit in sorted(hits, key=lambda h: (h.path, h.cell or 0, h.line, h.column, h.rule)):
        rule = registry[hit.rule]
        # a module no entry point calls into is judged under every program importing it
        judges = running.get(hit.path) or importing[hit.path]
        under = next((p for p in judges if rule.stands(hit, p.facts)), None)
        if under is None or _silenced(hit, silenced.get((hit.path, hit.cell), {})):
            continue
        if rule.once:
            if (hit.rule, under.entry) in reported:
                continue
            reported.add((hit.rule, under.entry))
        own = under.entry == hit.path or not rule.program_wide
        message = hit.message if own else f"{hit.message} (in the program run from {under.entry})"
        findings.append(
            Finding(hit.rule, message, hit.path, hit.line, hit.column, hit.end_line, hit.cell)
        )
    return findings


def _silenced(hit: Hit, comments: dict[int, list[str]]) -> bool:
    for line in [*range(hit.line, hit.end_line + 1), hit.origin]:
        codes = comments.get(line)
        if codes is not None and (not codes or any(hit.rule.startswith(c) for c in codes)):
            return True
    return False
