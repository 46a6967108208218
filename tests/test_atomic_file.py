"""Files replaced whole or not at all."""

import pytest

from cifar_lessons.atomic_file import open_atomically


def test_the_new_content_replaces_the_old_once_complete(tmp_path):
    path = tmp_path / "state.npz"
    path.write_bytes(b"old")
    with open_atomically(path) as f:
        f.write(b"half of the new")
        assert path.read_bytes() == b"old"
        f.write(b" and the rest")
    assert path.read_bytes() == b"half of the new and the rest"
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]


@pytest.mark.parametrize("existed", [True, False])
def test_an_interrupted_write_leaves_the_old_file_and_nothing_else(tmp_path, existed):
    path = tmp_path / "state.npz"
    if existed:
        path.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"):
        with open_atomically(path) as f:
            f.write(b"half")
            raise OSError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == (["state.npz"] if existed else [])
    assert not existed or path.read_bytes() == b"old"


def test_a_link_left_where_the_partial_file_goes_is_not_written_through(tmp_path):
    elsewhere = tmp_path / "book.ipynb"
    elsewhere.write_bytes(b"the book")
    (tmp_path / ".copy.ipynb.part").symlink_to(elsewhere)
    with open_atomically(tmp_path / "copy.ipynb") as f:
        f.write(b"the copy")
    assert (elsewhere.read_bytes(), (tmp_path / "copy.ipynb").read_bytes()) == (b"the book", b"the copy")
