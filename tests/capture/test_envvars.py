from __future__ import annotations

from samerun.capture.envvars import REDACTED, capture_env_vars, looks_secret


def test_only_allow_listed_variables_are_captured() -> None:
    environ = {
        "OMP_NUM_THREADS": "4",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "XLA_FLAGS": "--xla_gpu_deterministic_ops=true",
        "PYTHONHASHSEED": "0",
        "HOME": "/home/me",
        "PATH": "/usr/bin",
        "TF_CLI_CONFIG_FILE": "/home/me/.terraformrc",
        "SAMERUN_RUN_ID": "abc",
    }
    assert capture_env_vars(environ) == {
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "OMP_NUM_THREADS": "4",
        "PYTHONHASHSEED": "0",
        "XLA_FLAGS": "--xla_gpu_deterministic_ops=true",
    }


def test_user_named_variables_and_globs_are_added() -> None:
    environ = {"MY_FLAG": "1", "DATA_ROOT": "/data", "DATA_MODE": "fast", "OTHER": "x"}
    assert capture_env_vars(environ, ["MY_FLAG", "DATA_*"]) == {
        "DATA_MODE": "fast",
        "DATA_ROOT": "/data",
        "MY_FLAG": "1",
    }


def test_secret_looking_names_are_redacted_even_when_named() -> None:
    environ = {"HF_TOKEN": "hf_abc", "AWS_SECRET_ACCESS_KEY": "x", "WANDB_API_KEY": "k"}
    captured = capture_env_vars(environ, ["HF_TOKEN", "AWS_*", "WANDB_API_KEY"])
    assert captured == dict.fromkeys(environ, REDACTED)


def test_credentials_inside_values_are_stripped() -> None:
    environ = {"TORCH_HOME_URL": "https://user:pw@example.com/cache"}
    assert capture_env_vars(environ) == {"TORCH_HOME_URL": "https://example.com/cache"}


def test_secret_name_detection() -> None:
    assert looks_secret("GITHUB_TOKEN")
    assert looks_secret("db_password")
    assert not looks_secret("OMP_NUM_THREADS")
