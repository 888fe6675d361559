import os
import subprocess
import sys

import numpy as np
import pytest

import ndb


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "db")


@pytest.fixture
def db(db_path):
    with ndb.Database(db_path) as db:
        yield db


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def run_python(code, *args, timeout=120):
    """Run `code` in a fresh Python process (this interpreter); returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def flip_byte_in_the_middle(path):
    """Damage a file: flip one bit of its middle byte."""
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(size // 2)
        b = f.read(1)
        f.seek(size // 2)
        f.write(bytes([b[0] ^ 0x40]))
