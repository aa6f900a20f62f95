"""No attribute of a product class is typed `Any`.

An attribute typed `Any` (``checkins: Any = None``, ``self.staff: Any``) switches type checking
off for everything that touches it, which is how objects used to be wired half-built. mypy has
no switch for "no Any attributes" that still allows `Any` in JSON/YAML plumbing, so this test
reads the source: class-level annotations and ``self.x: ...`` assignments in knowledge/,
scheduler/, storage/ and bot/ must not be `Any`, `Any | None` or `Optional[Any]`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("knowledge", "scheduler", "storage", "bot")


def _is_any(node: ast.expr) -> bool:
    if isinstance(node, ast.Name | ast.Attribute):
        return (node.id if isinstance(node, ast.Name) else node.attr) == "Any"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # quoted annotation
        return _is_any(ast.parse(node.value, mode="eval").body)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _is_any(node.left) or _is_any(node.right)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name | ast.Attribute):
        name = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
        if name == "Optional":
            return _is_any(node.slice)
    return False


def any_attributes(source: str, filename: str) -> list[str]:
    """`file:line name` for every attribute annotated Any in `source`."""
    found: list[str] = []
    for cls in ast.walk(ast.parse(source, filename)):
        if not isinstance(cls, ast.ClassDef):
            continue
        for node in ast.walk(cls):
            if not isinstance(node, ast.AnnAssign) or not _is_any(node.annotation):
                continue
            target = node.target
            in_body = node in cls.body
            on_self = (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                       and target.value.id == "self")
            if in_body or on_self:
                found.append(f"{filename}:{node.lineno} {ast.unparse(target)}")
    return found


def test_the_check_finds_any_attributes() -> None:
    source = (
        "class A:\n    x: Any = None\n    y: 'Any | None'\n    z: Optional[Any]\n"
        "    ok: dict[str, Any]\n    def __init__(self):\n        self.w: Any = 1\n"
        "        local: Any = 2\n"
    )
    assert [hit.split(" ")[1] for hit in any_attributes(source, "a.py")] == [
        "x", "y", "z", "self.w"]


# Attributes still typed Any (none since bot/compose.py builds everything through constructors);
# delete entries as they disappear (checked below).
KNOWN: set[str] = set()


def test_no_product_attribute_is_typed_any() -> None:
    found = {hit.split(":")[0] + " " + hit.split(" ", 1)[1]
             for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             if "migrations" not in path.parts
             for hit in any_attributes(path.read_text(encoding="utf-8"),
                                       str(path.relative_to(ROOT)))}
    assert found - KNOWN == set()
    assert KNOWN - found == set(), "fixed: remove these from KNOWN"
