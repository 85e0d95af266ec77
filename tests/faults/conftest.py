"""Fixtures of the fault suite: one emulator for the folder (faults are emulator-wide), emptied per test; every
case runs on a SQLite store and on a PostgreSQL one (the `database_url` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Emulator, running_emulator, use_emulator


@pytest.fixture(scope="package")
def fault_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator of this folder only: armed faults would hit other tests' requests on a shared one."""
    with running_emulator(tmp_path_factory.mktemp("fault-emulator")) as emu:
        yield emu


@pytest.fixture
def emu(
    fault_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> Iterator[Emulator]:
    """The folder's emulator, empty and without faults, and a fresh order store (SQLite or PostgreSQL) on it."""
    fault_emulator.reset()
    use_emulator(monkeypatch, fault_emulator, tmp_path, database_url)
    yield fault_emulator
    fault_emulator.reset()
