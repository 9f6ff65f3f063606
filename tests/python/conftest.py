"""Fixtures of the coe Python module's tests.

Run by CTest (python.pytest), which puts the build's python folder on
PYTHONPATH and names the programs and data below in the environment; the
analysis is hermetic there (COE_DATA_DIR is an empty folder, so no
word-vector file is found).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator, List

import pytest


def _env_path(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run these tests through ctest (python.pytest)", returncode=2)
    return Path(value)


@pytest.fixture(scope="session")
def coe_tool() -> Path:
    """The `coe` command-line tool of the same build."""
    return _env_path("COE_TEST_COE_TOOL")


@pytest.fixture(scope="session")
def source_dir() -> Path:
    return _env_path("COE_TEST_SOURCE_DIR")


@pytest.fixture(scope="session")
def mtbench_file() -> Path:
    """The 80 MT-Bench panels, one per line."""
    path = _env_path("COE_TEST_SHARED_DATA_DIR") / "mtbench-panels.jsonl"
    if not path.exists():
        pytest.fail(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def mtbench_lines(mtbench_file: Path) -> List[str]:
    return [line for line in mtbench_file.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def engine():
    import coe

    return coe.Engine()


class FakeProvider:
    """The fake provider server (tests/fake_provider) in a process of its
    own; it exits when its standard input closes."""

    def __init__(self) -> None:
        program = _env_path("COE_TEST_FAKE_PROVIDER_SERVER")
        self.process = subprocess.Popen(
            [str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            self.close()
            raise RuntimeError(f"fake provider server did not start: {line}")
        self.url = f"http://127.0.0.1:{line[1]}"

    def expert(self, name: str, provider: str = "openai", model: str = "reply=cache_a", **extra) -> dict:
        """An expert of this server with deadlines short enough for tests."""
        e = {
            "name": name,
            "provider": provider,
            "base_url": self.url + ("/v1" if provider == "openai" else ""),
            "model": model,
            "connect_timeout_ms": 2000,
            "first_byte_timeout_ms": 3000,
            "idle_timeout_ms": 3000,
            "timeout_ms": 10000,
            "max_retries": 2,
            "backoff_initial_ms": 20,
            "backoff_max_ms": 100,
        }
        e.update(extra)
        return e

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def fake_provider() -> Iterator[FakeProvider]:
    server = FakeProvider()
    yield server
    server.close()
