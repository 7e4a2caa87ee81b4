"""TORCH001-TORCH004: data loading order, worker seeds, cuDNN autotuning, deterministic mode."""

from __future__ import annotations

import pytest

from tests.doctor.conftest import Analyse, rule_ids

LOADER = "import torch\nfrom torch.utils.data import DataLoader\n"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("dl = DataLoader(ds, shuffle=True)", ["TORCH001"]),
        ("dl = DataLoader(ds, shuffle=split == 'train')", ["TORCH001"]),
        ("dl = DataLoader(ds, shuffle=True, generator=g)", []),
        ("dl = DataLoader(ds, shuffle=False)", []),
        ("dl = DataLoader(ds, num_workers=4)", ["TORCH002"]),
        ("import os\ndl = DataLoader(ds, num_workers=os.cpu_count())", ["TORCH002"]),
        ("dl = DataLoader(ds, num_workers=4, worker_init_fn=init)", []),
        ("dl = DataLoader(ds, num_workers=0)", []),
        ("torch.manual_seed(0)\ndl = DataLoader(ds, num_workers=4)", []),
        ("dl = DataLoader(ds, **options)", []),
        ("args = dict(batch_size=8)\ndl = DataLoader(ds, shuffle=True, **args)", ["TORCH001"]),
        ("args = {'generator': g}\ndl = DataLoader(ds, shuffle=True, **args)", []),
        ("args = dict(num_workers=4)\nargs = load()\ndl = DataLoader(ds, **args)", []),
    ],
)
def test_dataloaders(analyse: Analyse, code: str, expected: list[str]) -> None:
    assert rule_ids(analyse({"a.py": LOADER + code})) == expected


def test_cudnn_benchmark(analyse: Analyse) -> None:
    on = "import torch\ntorch.backends.cudnn.benchmark = True"
    off = "import torch\ntorch.backends.cudnn.benchmark = False"
    assert rule_ids(analyse({"a.py": on})) == ["TORCH003"]
    assert rule_ids(analyse({"a.py": off})) == []


def test_cuda_without_deterministic_mode_is_reported_once_per_program(analyse: Analyse) -> None:
    found = analyse(
        {
            "a.py": "import torch, b\nx = torch.zeros(3).cuda()\ny = torch.zeros(2).to('cuda:0')\n",
            "b.py": "import torch\ndevice = torch.device('cuda')\n",
        }
    )
    assert rule_ids(found) == ["TORCH004"]
    assert (found.findings[0].path, found.findings[0].line) == ("a.py", 2)


@pytest.mark.parametrize(
    "switch",
    [
        "torch.use_deterministic_algorithms(True)",
        "torch.backends.cudnn.deterministic = True",
        "import samerun\nsamerun.seed_everything(1, deterministic=True)",
    ],
)
def test_deterministic_mode_in_the_program_silences_cuda(analyse: Analyse, switch: str) -> None:
    found = analyse(
        {
            "a.py": "import torch\nimport config\nmodel.to('cuda')\n",
            "config.py": f"import torch\n{switch}\n",
        }
    )
    assert rule_ids(found) == []


def test_cuda_strings_outside_torch_are_not_reported(analyse: Analyse) -> None:
    assert rule_ids(analyse({"a.py": "backend = 'cuda'\n"})) == []
