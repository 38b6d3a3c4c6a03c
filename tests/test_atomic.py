"""Atomic writes leave files and folders with the permissions an ordinary write would give (the umask's), not the
owner-only ones of a temporary file."""

import os
import stat

from lmmcl.atomic import atomic_dir, atomic_write


def test_atomic_files_and_folders_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "report.json", "{}")
        with atomic_dir(tmp_path / "built") as tmp:
            (tmp / "x").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "built").stat().st_mode) == 0o755
    assert (tmp_path / "report.json").read_text() == "{}" and (tmp_path / "built" / "x").read_text() == "x"
