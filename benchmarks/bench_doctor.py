"""How long ``samerun doctor`` takes on a generated project of 1,000 Python files.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_doctor.py [--files 1000] [--reps 3]

The issue's bar is under 10 s. No peer tool checks a project for reproducibility hazards
this way, so there is nothing to run side by side: the figure is absolute, not a ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

#: One module of a typical ML code base: imports, a dataset, a model, a training loop.
MODULE = textwrap.dedent(
    '''\
    """Module {n}: data loading, a model and a training step."""

    import glob
    import os
    import random
    from pathlib import Path

    import numpy as np
    import torch
    from sklearn.model_selection import train_test_split
    from torch.utils.data import DataLoader, Dataset

    SEED = {n}


    class Frames{n}(Dataset):
        def __init__(self, root):
            self.files = sorted(glob.glob(os.path.join(root, "*.npy")))
            self.labels = {{name: i for i, name in enumerate(sorted(os.listdir(root)))}}

        def __len__(self):
            return len(self.files)

        def __getitem__(self, index):
            array = np.load(self.files[index])
            return torch.from_numpy(array), self.labels.get(Path(self.files[index]).stem, 0)


    def split_{n}(rows, test_size=0.2):
        train, test = train_test_split(rows, test_size=test_size, random_state=SEED)
        return train, test


    def vocabulary_{n}(texts):
        words = set()
        for text in texts:
            for word in text.split():
                words.add(word.lower())
        return {{w: i for i, w in enumerate(sorted(words))}}


    def train_{n}(model, root, epochs=3, lr=0.01):
        torch.manual_seed(SEED)
        np.random.seed(SEED)
        random.seed(SEED)
        loader = DataLoader(
            Frames{n}(root), batch_size=32, shuffle=True,
            generator=torch.Generator().manual_seed(SEED),
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        history = []
        for epoch in range(epochs):
            total = 0.0
            for batch, target in loader:
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(batch), target)
                loss.backward()
                optimizer.step()
                total += float(loss)
            history.append(total / max(len(loader), 1))
            if epoch % 10 == 0:
                print(f"epoch {{epoch}}: {{history[-1]:.4f}}")
        return history


    def summarize_{n}(history):
        best = min(history) if history else None
        stats = {{"best": best, "last": history[-1] if history else None}}
        checkpoints = [p for p in sorted(Path("ckpt").glob("*.pt")) if p.stat().st_size > 0]
        return stats, checkpoints
    '''
)


def generate(root: Path, files: int) -> None:
    for n in range(files):
        package = root / f"pkg{n // 100}"
        package.mkdir(exist_ok=True)
        (package / f"module_{n}.py").write_text(MODULE.format(n=n))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    from samerun.doctor import diagnose

    with tempfile.TemporaryDirectory(prefix="samerun-bench-doctor-") as scratch:
        root = Path(scratch)
        generate(root, args.files)
        lines = sum(len(p.read_text().splitlines()) for p in root.rglob("*.py"))
        library, command = [], []
        for _ in range(args.reps):
            start = time.perf_counter()
            report = diagnose(root)
            library.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "samerun.cli", "doctor", "--json", str(root)],
                check=True,
                capture_output=True,
            )
            command.append(time.perf_counter() - start)
    print(
        f"samerun doctor on {report.files} Python files ({lines:,} lines), median of {args.reps}:"
    )
    print(f"  diagnose() in process    {statistics.median(library):6.2f} s")
    print(f"  `samerun doctor --json`  {statistics.median(command):6.2f} s   (bar: < 10 s)")
    print(f"  findings: {len(report.findings)} (the generated code is clean), level {report.level}")
    print("  no peer tool does this check, so there is no side-by-side ratio")


if __name__ == "__main__":
    main()
