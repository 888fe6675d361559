"""Every public name has a docstring, and the type stubs describe what exists at runtime."""

import ast
import inspect
import pathlib

import ndb

STUB = pathlib.Path(ndb.__file__).with_name("__init__.pyi")


def public_members(cls):
    return {n for n in dir(cls) if not n.startswith("_")}


def test_docstrings_everywhere():
    assert ndb.__doc__
    for name in ndb.__all__:
        obj = getattr(ndb, name)
        if inspect.isclass(obj):
            assert obj.__doc__, name
            for member in public_members(obj):
                if issubclass(obj, BaseException):
                    continue
                assert getattr(obj, member).__doc__, f"{name}.{member}"


def test_stub_matches_runtime():
    tree = ast.parse(STUB.read_text())
    stub_classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    runtime_classes = {n for n in ndb.__all__ if inspect.isclass(getattr(ndb, n))}
    assert set(stub_classes) == runtime_classes
    for name, node in stub_classes.items():
        stubbed = {
            f.name for f in node.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")
        }
        cls = getattr(ndb, name)
        if issubclass(cls, BaseException):
            continue
        assert stubbed == public_members(cls), name
    assert (STUB.parent / "py.typed").exists()
