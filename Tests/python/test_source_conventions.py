"""Conventions of the source that no compiler or formatter checks (issue 15): every `package`
declaration of the bridge and Kafka modules says what it is for in a doc comment."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_MODULES = ("ConsentBridge", "ConsentKafka")
DECLARATION = re.compile(
    r"^(@\w+(\(.*\))?\s+)*package\s+((static|final|nonisolated|mutating|override)\s+)*"
    r"(func|var|let|init|struct|class|enum|actor|protocol|typealias|subscript|case)\b"
)


def undocumented_declarations(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")
    found = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not DECLARATION.match(stripped):
            continue
        above = index - 1
        while above >= 0 and lines[above].strip().startswith("@"):
            above -= 1
        if above < 0 or not lines[above].strip().startswith("///"):
            found.append(f"{path.relative_to(ROOT)}:{index + 1}: {stripped[:100]}")
    return found


def test_every_package_declaration_of_the_bridge_and_kafka_modules_has_a_doc_comment():
    sources = [path for module in DOCUMENTED_MODULES for path in sorted((ROOT / "Sources" / module).rglob("*.swift"))]
    assert len(sources) > 30, "the modules' sources were not found"
    missing = [entry for path in sources for entry in undocumented_declarations(path)]
    assert not missing, "package declarations without a doc comment:\n" + "\n".join(missing)


def test_the_check_finds_an_undocumented_declaration(tmp_path):
    """The check itself: a declaration without `///` above it (attributes skipped) is found."""
    source = tmp_path / "Example.swift"
    source.write_text(
        "/// Documented.\npackage struct A {}\n\n@discardableResult\npackage func b() -> Int { 1 }\n"
        "package import Foundation\n/// Documented.\n@inlinable\npackage var c: Int { 1 }\n",
        encoding="utf-8",
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert undocumented_declarations(source) == ["Example.swift:5: package func b() -> Int { 1 }"]
    finally:
        ROOT = saved
