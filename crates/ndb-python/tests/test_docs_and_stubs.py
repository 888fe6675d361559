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


def stubbed_classes(path):
    """The classes a stub (or typed module) defines, with those of the sibling modules it
    re-exports whole (``from ._errors import *``)."""
    classes = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef):
            classes[node.name] = node
        elif isinstance(node, ast.ImportFrom) and [a.name for a in node.names] == ["*"]:
            assert node.level == 1, ast.dump(node)
            classes.update(stubbed_classes(path.with_name(f"{node.module}.py")))
    return classes


def test_stub_matches_runtime():
    stub_classes = stubbed_classes(STUB)
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
