"""Unit tests of autograder.grading.validate: a bad file is a status and a reason."""

import hashlib
import os

import nbformat
import pytest

from autograder.grading.validate import read_submission


def _notebook_bytes() -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    return nbformat.writes(nb).encode()


def test_a_notebook_is_read_with_the_checksum_of_its_bytes(tmp_path):
    data = _notebook_bytes()
    path = tmp_path / "a.ipynb"
    path.write_bytes(data)
    sub = read_submission(path, max_bytes=10**6)
    assert sub.status is None and sub.reason == ""
    assert sub.data == data and sub.checksum == hashlib.sha256(data).hexdigest()
    assert [c.source for c in sub.nb.cells] == ["x = 1"]


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"\xff\xfe{", "not text"),
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "top level is a list"),
    (b'{"nbformat": 2, "cells": []}', "nbformat is 2"),
])
def test_a_bad_file_is_malformed_with_a_reason(tmp_path, content, words):
    path = tmp_path / "a.ipynb"
    path.write_bytes(content)
    sub = read_submission(path, max_bytes=10**6)
    assert sub.status == "malformed" and words in sub.reason, sub.reason
    assert sub.nb is None


def test_missing_oversized_and_linked_files_are_refused_before_reading(tmp_path):
    assert read_submission(tmp_path / "none.ipynb", 10**6).status == "missing"
    data = _notebook_bytes()
    big = tmp_path / "big.ipynb"
    big.write_bytes(data)
    sub = read_submission(big, max_bytes=len(data) - 1)
    assert sub.status == "malformed" and f"{len(data)} bytes" in sub.reason
    link = tmp_path / "link.ipynb"
    os.symlink(big, link)
    assert "not a regular file" in read_submission(link, 10**6).reason
