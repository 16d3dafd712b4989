"""Untrusted zip archives: every hostile member is refused with a reason, nothing is written."""
import stat
import zipfile

import pytest

from autograder.intake.safezip import ZipLimits, ZipRefused, iter_zip


def _zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.create_system = 3
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def test_hostile_members_are_refused_and_good_ones_read(tmp_path):
    path = _zip(tmp_path / "dl.zip", [
        ("alice_a1.ipynb", b"{}", None),
        ("sub/bob_a1.ipynb", b"{ }", None),
        ("../../evil_a1.ipynb", b"{}", None),
        ("/abs_a1.ipynb", b"{}", None),
        ("C:/win_a1.ipynb", b"{}", None),
        ("dir\\win_a1.ipynb", b"{}", None),
        ("link_a1.ipynb", b"/etc/passwd", stat.S_IFLNK | 0o777),
        ("fifo_a1.ipynb", b"", stat.S_IFIFO | 0o644),
    ])
    members = {m.name: m for m in iter_zip(path)}
    assert members["alice_a1.ipynb"].data == b"{}" and not members["alice_a1.ipynb"].refused
    assert members["sub/bob_a1.ipynb"].data == b"{ }"
    assert "traversal" in members["../../evil_a1.ipynb"].refused
    assert "absolute" in members["/abs_a1.ipynb"].refused
    assert "drive" in members["C:/win_a1.ipynb"].refused
    assert "backslash" in members["dir\\win_a1.ipynb"].refused
    assert "symbolic link" in members["link_a1.ipynb"].refused
    assert "special file" in members["fifo_a1.ipynb"].refused
    # Links and special files are not read; hostile names keep their bytes for the report.
    assert members["link_a1.ipynb"].data is None and members["fifo_a1.ipynb"].data is None
    assert members["../../evil_a1.ipynb"].data == b"{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dl.zip"]


def test_a_zip_bomb_member_is_refused_by_inflated_size(tmp_path):
    path = _zip(tmp_path / "bomb.zip", [("big_a1.ipynb", b"0" * 5_000_000, None), ("ok_a1.ipynb", b"{}", None)])
    members = {m.name: m for m in iter_zip(path, ZipLimits(max_member_bytes=1_000_000))}
    assert "inflates beyond 1000000" in members["big_a1.ipynb"].refused
    assert members["ok_a1.ipynb"].data == b"{}"


def test_archive_limits_refuse_the_whole_archive(tmp_path):
    path = _zip(tmp_path / "many.zip", [(f"s{i}_a1.ipynb", b"0" * 1000, None) for i in range(5)])
    with pytest.raises(ZipRefused, match="entries"):
        list(iter_zip(path, ZipLimits(max_members=4)))
    with pytest.raises(ZipRefused, match="in total"):
        list(iter_zip(path, ZipLimits(max_total_bytes=2500)))
    (tmp_path / "not.zip").write_bytes(b"not a zip")
    with pytest.raises(ZipRefused, match="not a readable zip"):
        list(iter_zip(tmp_path / "not.zip"))
