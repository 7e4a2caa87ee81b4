"""The one comparison engine behind ``diff``, ``verify`` and every other view of two runs.

Inputs are compared layer by layer; a differing input layer is a *cause*. Outputs are compared
artifact by artifact and metric by metric: bit for bit first, then within a tolerance by the
format-aware comparators. Equal inputs with different outputs means nondeterminism inside the run.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from samerun._exceptions import StoreError
from samerun.capture.environment import Environment, Origin
from samerun.manifest import Artifact, Manifest
from samerun.series import decode_series
from samerun.status import Verdict
from samerun.store.objects import ObjectStore
from samerun.verify.comparators import Closeness, Tolerance, compare_series, compare_versions

NONDETERMINISM = "inputs identical: nondeterminism inside the run"

ChangeKind = Literal["added", "removed", "changed", "equal"]
OutputKind = Literal["artifact", "metric"]
#: ``missing``: only the first run has the output; ``added``: only the second.
OutputStatus = Literal["identical", "equivalent", "diverged", "missing", "added"]


@dataclass(frozen=True)
class Change:
    key: str
    kind: ChangeKind
    before: Any = None
    after: Any = None
    informational: bool = False  # shown, but never a cause (a commit id, an interpreter path)


@dataclass(frozen=True)
class LayerDiff:
    layer: str
    changes: list[Change]

    @property
    def differs(self) -> bool:
        """True when a change that can alter results happened in this layer."""
        return any(c.kind != "equal" and not c.informational for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "differs": self.differs,
            "changes": [asdict(c) for c in self.changes],
        }


@dataclass(frozen=True)
class OutputDiff:
    kind: OutputKind
    name: str
    status: OutputStatus
    max_abs: float = 0.0
    max_rel: float = 0.0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    inputs: list[LayerDiff]
    host: LayerDiff
    outputs: list[OutputDiff]
    tolerance: Tolerance = field(default_factory=Tolerance)

    @property
    def input_causes(self) -> list[str]:
        return [layer.layer for layer in self.inputs if layer.differs]

    @property
    def outputs_verdict(self) -> Verdict:
        """``identical``, ``equivalent`` or ``diverged``, from the outputs alone."""
        statuses = {o.status for o in self.outputs}
        if statuses <= {"identical"}:
            return "identical"
        if statuses <= {"identical", "equivalent"}:
            return "equivalent"
        return "diverged"

    @property
    def causes(self) -> list[str]:
        """Why the outputs differ: the input layers that differ, or nondeterminism."""
        if self.outputs_verdict == "identical":
            return []
        return self.input_causes or [NONDETERMINISM]

    def largest_deviation(self) -> OutputDiff | None:
        graded = [o for o in self.outputs if o.status in ("equivalent", "diverged")]
        return max(graded, key=lambda o: (o.max_rel, o.max_abs), default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "verdict": self.outputs_verdict,
            "causes": self.causes,
            "tolerance": asdict(self.tolerance),
            "inputs": [layer.to_dict() for layer in self.inputs],
            "host": self.host.to_dict(),
            "outputs": [o.to_dict() for o in self.outputs],
        }


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``; lists become their JSON text."""
    if isinstance(value, Mapping) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flat(item, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: _scalar(value)}


def _scalar(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def dict_changes(
    a: Mapping[str, Any], b: Mapping[str, Any], informational: frozenset[str] = frozenset()
) -> list[Change]:
    """Key-by-key changes between two flat mappings, sorted by key; equal keys included."""
    changes = []
    for key in sorted(set(a) | set(b)):
        info = key in informational
        if key not in b:
            changes.append(Change(key, "removed", a[key], None, info))
        elif key not in a:
            changes.append(Change(key, "added", None, b[key], info))
        else:
            kind: ChangeKind = "equal" if a[key] == b[key] else "changed"
            changes.append(Change(key, kind, a[key], b[key], info))
    return changes


_PATCH_FILE = re.compile(rb"^diff --git a/(.+?) b/", re.MULTILINE)


def _patch_files(oid: str | None, objects: ObjectStore) -> set[str]:
    if oid is None:
        return set()
    try:
        data = objects.get_bytes(oid)
    except StoreError:
        return set()
    return {m.decode("utf-8", "replace") for m in _PATCH_FILE.findall(data)}


def _code_layer(
    a: Manifest, b: Manifest, objects: ObjectStore, files_between: FilesBetween
) -> LayerDiff:
    ca, cb = a.inputs.code, b.inputs.code
    fields = ("vcs", "tree", "commit", "branch", "dirty", "patch", "remote")
    changes = dict_changes(
        {f: getattr(ca, f) for f in fields},
        {f: getattr(cb, f) for f in fields},
        frozenset(fields) - {"vcs", "tree"},
    )
    if ca.tree != cb.tree:
        files = _patch_files(ca.patch, objects) | _patch_files(cb.patch, objects)
        if ca.commit and cb.commit and ca.commit != cb.commit:
            files |= files_between(ca.root, ca.commit, cb.commit)
        changes.append(Change("files changed", "changed", None, sorted(files)))
    return LayerDiff("code", changes)


def environment_changes(ea: Environment, eb: Environment) -> list[Change]:
    """Python, platform, packages, their origins and conda packages, equal ones included.

    A fact one side did not record (a run from before origins were captured) is left out
    rather than reported as a change. The interpreter's build line and libc are informational:
    shown, never a cause on their own.
    """
    facts = ("python", "implementation", "system", "machine", "build", "libc")
    both = [f for f in facts if getattr(ea, f) is not None and getattr(eb, f) is not None]
    changes = dict_changes(
        {f: getattr(ea, f) for f in both},
        {f: getattr(eb, f) for f in both},
        frozenset({"build", "libc"}),
    )
    packages = dict_changes(ea.packages, eb.packages)
    changes += [Change(f"package {c.key}", c.kind, c.before, c.after) for c in packages]
    if ea.origins is not None and eb.origins is not None:
        for name in sorted(set(ea.packages) & set(eb.packages)):
            before, after = _origin_line(ea.origins.get(name)), _origin_line(eb.origins.get(name))
            if before != after:
                changes.append(Change(f"origin {name}", "changed", before, after))
    if ea.conda is not None or eb.conda is not None:
        conda = dict_changes(_conda_builds(ea), _conda_builds(eb))
        changes += [Change(f"conda {c.key}", c.kind, c.before, c.after) for c in conda]
    return changes


def drift_line(change: Change) -> str:
    """One environment difference in a line: ``package numpy 1.26.4 → 2.0.0``."""
    if change.kind == "added":
        return f"{change.key}: not recorded, now {change.after}"
    if change.kind == "removed":
        return f"{change.key}: {change.before}, now absent"
    return f"{change.key} {change.before} → {change.after}"


_OPCODE_KINDS: dict[str, ChangeKind] = {
    "replace": "changed",
    "delete": "removed",
    "insert": "added",
}


def argv_changes(a: list[str], b: list[str]) -> list[Change]:
    """Two command lines as a diff of arguments: each run of arguments replaced, removed or
    added (as lists, like the manifest's argv), named by its position and the option before it
    (``argv[3] (after --lr)``), so ``--lr 10`` against ``--lr 20`` reads as ``10 → 20`` however
    long the command is."""
    if a == b:
        return [Change("argv", "equal", a, b)]
    changes = []
    opcodes = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        before = a[i1 - 1] if i1 else None
        key = f"argv[{i1}]" + (f" (after {before})" if before and before.startswith("-") else "")
        kind = _OPCODE_KINDS[tag]
        changes.append(Change(key, kind, a[i1:i2] or None, b[j1:j2] or None))
    return changes


def _origin_line(origin: Origin | None) -> str:
    """A distribution's origin as compared: one absent from a record was an index install."""
    return "index" if origin is None else origin.text


def _conda_builds(environment: Environment) -> dict[str, str]:
    return {c.name: f"{c.version} {c.build} ({c.channel})" for c in environment.conda or []}


def _environment_layer(a: Manifest, b: Manifest) -> LayerDiff:
    return LayerDiff("environment", environment_changes(a.inputs.environment, b.inputs.environment))


def _data_layer(a: Manifest, b: Manifest, objects: ObjectStore) -> LayerDiff:
    changes = []
    for change in dict_changes(
        {d.path: d.read for d in a.inputs.data}, {d.path: d.read for d in b.inputs.data}
    ):
        changes.append(change)
        if change.kind == "changed":
            for detail in tree_changes(change.before, change.after, objects):
                changes.append(
                    Change(f"{change.key}/{detail.key}", detail.kind, detail.before, detail.after)
                )
    return LayerDiff("data", changes)


def _tree_files(oid: Any, objects: ObjectStore) -> dict[str, str] | None:
    if not isinstance(oid, str):
        return None
    try:
        document = json.loads(objects.get_bytes(oid))
    except (StoreError, ValueError):
        return None
    if not isinstance(document, dict) or "entries" not in document:
        return None
    return {entry[0]: entry[1] for entry in document["entries"]}


def tree_changes(a_oid: Any, b_oid: Any, objects: ObjectStore) -> list[Change]:
    """Files added, removed or changed between two tree objects (nothing if either is not one)."""
    files_a, files_b = _tree_files(a_oid, objects), _tree_files(b_oid, objects)
    if files_a is None or files_b is None:
        return []
    return [c for c in dict_changes(files_a, files_b) if c.kind != "equal"]


def _artifact_diff(
    a: Artifact, b: Artifact, objects: ObjectStore, tolerance: Tolerance
) -> OutputDiff:
    if a.oid == b.oid:
        return OutputDiff("artifact", a.path, "identical")
    if a.kind != b.kind:
        return OutputDiff("artifact", a.path, "diverged", detail=f"a {a.kind} vs a {b.kind}")
    if a.kind == "dir":
        return _directory_diff(a, b, objects, tolerance)
    closeness = compare_versions(
        a.path, objects.get_bytes(a.oid), objects.get_bytes(b.oid), tolerance
    )
    return _graded("artifact", a.path, closeness)


def _directory_diff(
    a: Artifact, b: Artifact, objects: ObjectStore, tolerance: Tolerance
) -> OutputDiff:
    worst = Closeness(True)
    problems = []
    for change in tree_changes(a.oid, b.oid, objects):
        if change.kind != "changed":
            problems.append(f"{change.key} {change.kind}")
            continue
        closeness = compare_versions(
            change.key, objects.get_bytes(change.before), objects.get_bytes(change.after), tolerance
        )
        if not closeness.equivalent:
            problems.append(f"{change.key}: {closeness.detail}")
        worst = Closeness(
            worst.equivalent and closeness.equivalent,
            max(worst.max_abs, closeness.max_abs),
            max(worst.max_rel, closeness.max_rel),
        )
    detail = "; ".join(problems[:5]) + (
        f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    )
    return _graded(
        "artifact",
        a.path,
        Closeness(worst.equivalent and not problems, worst.max_abs, worst.max_rel, detail),
    )


def _graded(kind: OutputKind, name: str, closeness: Closeness) -> OutputDiff:
    status: OutputStatus = "equivalent" if closeness.equivalent else "diverged"
    return OutputDiff(kind, name, status, closeness.max_abs, closeness.max_rel, closeness.detail)


def _metric_diff(
    key: str, a: Manifest, b: Manifest, objects: ObjectStore, tolerance: Tolerance
) -> OutputDiff:
    ma, mb = a.outputs.metrics[key], b.outputs.metrics[key]
    if ma.series == mb.series:
        return OutputDiff("metric", key, "identical")
    closeness = compare_series(
        decode_series(objects.get_bytes(ma.series)),
        decode_series(objects.get_bytes(mb.series)),
        tolerance,
    )
    return _graded("metric", key, closeness)


def _outputs(
    a: Manifest, b: Manifest, objects: ObjectStore, tolerance: Tolerance
) -> list[OutputDiff]:
    artifacts_a = {x.path: x for x in a.outputs.artifacts}
    artifacts_b = {x.path: x for x in b.outputs.artifacts}
    return [
        *_paired(
            "artifact",
            artifacts_a,
            artifacts_b,
            lambda path: _artifact_diff(artifacts_a[path], artifacts_b[path], objects, tolerance),
        ),
        *_paired(
            "metric",
            a.outputs.metrics,
            b.outputs.metrics,
            lambda key: _metric_diff(key, a, b, objects, tolerance),
        ),
    ]


def _paired(
    kind: OutputKind,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    compare: Callable[[str], OutputDiff],
) -> list[OutputDiff]:
    """One diff per name in either run: compared when both have it, else missing or added."""
    diffs = []
    for name in sorted(set(a) | set(b)):
        if name not in b:
            diffs.append(OutputDiff(kind, name, "missing", detail="only in the first run"))
        elif name not in a:
            diffs.append(OutputDiff(kind, name, "added", detail="only in the second run"))
        else:
            diffs.append(compare(name))
    return diffs


FilesBetween = Callable[[str, str, str], set[str]]


def git_files_between(root: str, commit_a: str, commit_b: str) -> set[str]:
    """Paths that differ between two commits of the repository at ``root`` (empty if unknown)."""
    import subprocess

    done = subprocess.run(
        ["git", "-C", root, "diff", "--name-only", "-z", commit_a, commit_b],
        capture_output=True,
    )
    if done.returncode != 0:
        return set()
    return {p for p in done.stdout.decode("utf-8", "replace").split("\0") if p}


def _how_seeded(key: str) -> bool:
    """Where the seed came from and what seed_everything set: shown, never a cause."""
    return key == "seed_source" or key.startswith("settings")


def compare_runs(
    a: Manifest,
    b: Manifest,
    objects: ObjectStore,
    *,
    tolerance: Tolerance | None = None,
    files_between: FilesBetween = git_files_between,
) -> Comparison:
    """Compare run ``a`` with run ``b``, every layer; views choose what to show."""
    tolerance = tolerance or Tolerance()
    return Comparison(
        a=a.id,
        b=b.id,
        inputs=input_layers(a, b, objects, files_between),
        host=LayerDiff(
            "host",
            [replace(c, informational=True) for c in dict_changes(_flat(a.host), _flat(b.host))],
        ),
        outputs=_outputs(a, b, objects, tolerance),
        tolerance=tolerance,
    )


def input_layers(
    a: Manifest, b: Manifest, objects: ObjectStore, files_between: FilesBetween
) -> list[LayerDiff]:
    """The input layers of ``a`` against ``b``, equal keys included (the causes, if any)."""
    ia, ib = a.inputs, b.inputs
    rnd_a, rnd_b = _flat(ia.randomness.to_dict()), _flat(ib.randomness.to_dict())
    return [
        _code_layer(a, b, objects, files_between),
        LayerDiff(
            "command",
            dict_changes({"cwd": ia.command.cwd}, {"cwd": ib.command.cwd})
            + argv_changes(ia.command.argv, ib.command.argv),
        ),
        LayerDiff(
            "params",
            dict_changes(
                {**ia.params, **({"(config file)": ia.config.hash} if ia.config else {})},
                {**ib.params, **({"(config file)": ib.config.hash} if ib.config else {})},
            ),
        ),
        _data_layer(a, b, objects),
        _environment_layer(a, b),
        LayerDiff(
            "randomness",
            dict_changes(rnd_a, rnd_b, frozenset(k for k in {*rnd_a, *rnd_b} if _how_seeded(k))),
        ),
        LayerDiff("env_vars", dict_changes(ia.env_vars, ib.env_vars)),
    ]
