"""The nightly ingest's drop folder is written by another system (a sensor gateway): the
service reads no file through a symbolic link and writes none through one."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.deps import Runtime
from api.ingest import ingest_dir
from tests.api.conftest import seed

GOOD = b"bin_id,at,fill_fraction\nb0,2026-11-24T22:00:00+02:00,0.7\n"
SECRET = b"BINROUTE_DATABASE_URL=postgresql+psycopg://binroute:S3cretPw@db/binroute\n"


@pytest.fixture
def drop(tmp_path: Path, client: TestClient, admin: dict[str, str]) -> Path:
    """The drop folder, with the inventory of ``seed`` stored."""
    seed(client, admin, n_bins=1)
    folder = tmp_path / "drop"
    (folder / "done").mkdir(parents=True)
    return folder


def test_a_symbolic_link_is_not_read(runtime: Runtime, drop: Path, tmp_path: Path) -> None:
    """A link to the service's environment file: its lines went into the errors file, in
    the folder the gateway reads (the database password with them)."""
    secret = tmp_path / "env"
    secret.write_bytes(SECRET)
    (drop / "leak.csv").symlink_to(secret)
    (drop / "night.csv").write_bytes(GOOD)
    report = ingest_dir(runtime.db, drop)
    assert (report.files, report.stored, report.rejected) == (2, 1, 1)
    errors = (drop / "done" / "leak.csv.errors.txt").read_text()
    assert "S3cretPw" not in errors
    assert "a symbolic link" in errors and "drop the file itself" in errors
    assert not (drop / "leak.csv").exists() and (drop / "done" / "leak.csv").is_symlink()
    assert secret.read_bytes() == SECRET


def test_the_errors_file_is_not_written_through_a_link(
    runtime: Runtime, drop: Path, tmp_path: Path
) -> None:
    """An errors file made in advance as a link to the service's database: it was
    overwritten with the file's errors."""
    target = tmp_path / "binroute-copy.db"
    target.write_bytes(b"the service's data")
    (drop / "done" / "night.csv.errors.txt").symlink_to(target)
    (drop / "night.csv").write_bytes(GOOD + b"ghost,2026-11-24T22:00:00+02:00,0.8\n")
    report = ingest_dir(runtime.db, drop)
    assert (report.stored, report.rejected) == (1, 1)
    assert target.read_bytes() == b"the service's data"
    errors = drop / "done" / "night.csv.errors.txt"
    assert not errors.is_symlink() and "ghost" in errors.read_text()


def test_a_done_folder_that_is_a_link_is_refused(
    runtime: Runtime, drop: Path, tmp_path: Path
) -> None:
    """``done`` a link to another folder: the dropped files (and their errors) were moved
    there. Refused as an unusable folder (the night plans on what is stored, saying so)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (drop / "done").rmdir()
    (drop / "done").symlink_to(elsewhere)
    (drop / "night.csv").write_bytes(GOOD)
    with pytest.raises(OSError, match="symbolic link"):
        ingest_dir(runtime.db, drop)
    assert list(elsewhere.iterdir()) == []
    assert (drop / "night.csv").exists()
