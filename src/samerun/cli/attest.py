"""``samerun attest``: signed provenance of a model version or a run
(:mod:`samerun.lineage.attest`)."""

from __future__ import annotations

from pathlib import Path

import click

from samerun.cli import render

_KEY_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


class _AttestGroup(click.Group):
    """``attest REF ...`` is ``attest create REF ...``; ``attest verify`` checks."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["create", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_AttestGroup)
def attest() -> None:
    """Provenance of a model version or a run: an in-toto statement (SLSA Provenance v1)
    whose subjects are the version's files (or the run's outputs) by sha256, signed in a DSSE
    envelope with --key.

    \b
    Example:
      samerun attest churn:3 -o churn-v3.intoto.jsonl --key signing.pem
      samerun attest verify churn-v3.intoto.jsonl --key signing.pub
    """


@attest.command()
@click.argument("ref")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the attestation (one JSON line: FILE.intoto.jsonl).",
)
@click.option("--key", "key", type=_KEY_FILE, help="Ed25519 or ECDSA private key (PEM) to sign.")
def create(ref: str, output: Path, key: Path | None) -> None:
    """Write the provenance of REF to a file: a model version (NAME, NAME:VERSION or
    NAME@ALIAS; its files are the subjects) or a finished run (an id, a unique id prefix or
    `last`; its recorded outputs are the subjects). Models come first: a model's name is
    that model even when it is also a run id prefix.

    \b
    Example:
      samerun attest create churn@production -o churn.intoto.jsonl
      samerun attest create 1a2b3c4d -o run.intoto.jsonl
    """
    from samerun._atomic import atomic_write
    from samerun.cli.store import open_project_store
    from samerun.lineage.attest import attest as make

    store = open_project_store()
    try:
        made = make(store, ref, key_pem=None if key is None else key.read_bytes())
    finally:
        store.close()
    atomic_write(output, made.line().encode())
    signed = "signed" if made.envelope is not None else "unsigned"
    render.console().print(
        f"wrote {output}: {signed}, {made.subjects} subject(s)", highlight=False, markup=False
    )


@attest.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key", type=_KEY_FILE, help="The signer's public key (PEM).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_file(path: Path, key: Path | None, as_json: bool) -> int:
    """Check an attestation's signature and that its subjects match the files in the store;
    exit 1 if anything does not match.

    \b
    Example:
      samerun attest verify churn-v3.intoto.jsonl --key signing.pub
    """
    from samerun.cli.store import open_project_store
    from samerun.lineage.attest import verify_attestation

    text = path.read_text(errors="replace")
    store = open_project_store()
    try:
        check = verify_attestation(
            store, text, public_pem=None if key is None else key.read_bytes()
        )
    finally:
        store.close()
    if as_json:
        render.print_json(check.to_dict())
    elif check.intact:
        signed = f"signature by key {check.keyid} valid" if check.signed else "not signed"
        render.console().print(
            f"{check.label}: {signed}; {check.subjects} subject(s) match",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    for finding in check.findings:
        render.error_console().print(
            f"does not match: {finding}", highlight=False, markup=False, soft_wrap=True
        )
    return 0 if check.intact else 1
