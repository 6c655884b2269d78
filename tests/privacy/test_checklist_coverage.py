"""The checklist coverage tables of docs/privacy.md and docs/security.md: every row of the
privacy (P, F, S, R, M) and security (A) checklists is listed once, and either names tests that
exist or says why it does not apply yet. The check is also run on a throwaway tree to show that
it reports every kind of problem, all at once."""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Checklist coverage"
HEADER = ["Row", "Behaviour (short)", "Covered by"]
NOT_YET = "does not apply yet:"


def _ids(prefix: str, last: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in range(1, last + 1))


# The rows of the privacy and security checklists. They are written out here because the
# checklists themselves are not part of the repository; a new row is added here and in the doc.
ROWS: dict[str, tuple[str, ...]] = {
    "docs/privacy.md": (
        *_ids("P", 11),
        *_ids("F", 9),
        *_ids("S", 5),
        *_ids("R", 8),
        *_ids("M", 7),
    ),
    "docs/security.md": _ids("A", 28),
}

CELL_BORDER = re.compile(r"(?<!\\)\|")
CODE_SPAN = re.compile(r"`([^`]*)`")
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(test\w*)")
# A reason is a sentence, not a placeholder.
MIN_REASON_WORDS = 3


def section_lines(text: str) -> list[str] | None:
    """The lines of the coverage section, up to the next second-level heading."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == SECTION]
    if len(starts) != 1:
        return None
    body = []
    for line in lines[starts[0] + 1 :]:
        if line.startswith("## "):
            break
        body.append(line)
    return body


def cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner.removeprefix("|")
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip() for cell in CELL_BORDER.split(inner)]


@functools.cache
def defined_tests(path: Path) -> frozenset[str]:
    """Names of the test functions of a file: at module level and in classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            pending.extend(node.body)
    return frozenset(names)


def _reference_problems(root: Path, row: str, reference: str) -> list[str]:
    match = TEST_REF.fullmatch(reference)
    if match is None:
        return [
            f"{row}: `{reference}` is not a test reference; write `tests/<path>.py::<test name>`"
        ]
    path, name = match.groups()
    file = root / path
    if not file.is_file():
        return [f"{row}: {path} does not exist (for {name})"]
    if name not in defined_tests(file):
        return [f"{row}: {path} defines no test function {name}"]
    return []


def _row_problems(root: Path, row: str, behaviour: str, covered: str) -> list[str]:
    found: list[str] = []
    if not behaviour:
        found.append(f"{row}: the behaviour is empty")
    references = [span for span in CODE_SPAN.findall(covered) if "::" in span]
    for reference in references:
        found.extend(_reference_problems(root, row, reference))
    reason = covered.partition(NOT_YET)[2].strip() if NOT_YET in covered else None
    if reason is not None and len(reason.split()) < MIN_REASON_WORDS:
        found.append(f'{row}: "{NOT_YET}" needs a reason ({MIN_REASON_WORDS} words or more)')
    if not references and reason is None:
        found.append(f'{row}: names no test and does not say "{NOT_YET} <reason>"')
    return found


def problems(root: Path, doc: str, expected: Sequence[str]) -> list[str]:
    """Everything wrong with the coverage table of ``doc`` (a path under ``root``)."""
    lines = section_lines((root / doc).read_text(encoding="utf-8"))
    if lines is None:
        return [f'there must be exactly one section "{SECTION}"']
    table = [line for line in lines if line.lstrip().startswith("|")]
    if len(table) < 2 or cells(table[0]) != HEADER:
        return [f"the section must hold a table headed | {' | '.join(HEADER)} |"]
    found: list[str] = []
    seen: list[str] = []
    for line in table[2:]:
        parts = cells(line)
        if len(parts) != len(HEADER):
            found.append(f"this line does not have {len(HEADER)} cells: {line.strip()}")
            continue
        row, behaviour, covered = parts
        seen.append(row)
        if row not in expected:
            found.append(f"{row}: not a row of the checklist")
            continue
        found.extend(_row_problems(root, row, behaviour, covered))
    counts = Counter(seen)
    found.extend(f"{row}: listed {n} times" for row, n in counts.items() if n > 1)
    found.extend(f"{row}: missing" for row in expected if row not in counts)
    return found


@pytest.mark.parametrize("doc", sorted(ROWS))
def test_every_checklist_row_is_covered_or_explained(doc: str) -> None:
    found = problems(ROOT, doc, ROWS[doc])
    if found:
        listing = "\n".join(f"  - {p}" for p in found)
        pytest.fail(
            f'{doc}, section "{SECTION}": {len(found)} problem(s):\n{listing}', pytrace=False
        )


# --- the check itself, on a throwaway tree -------------------------------------------------------

TESTS_FILE = """
def test_plain():
    pass


class TestGroup:
    async def test_in_a_class(self):
        pass


def helper():
    def test_hidden_inside_a_function():
        pass
"""

DOC = """# A document

## Another section

| Row | Behaviour (short) | Covered by |
|---|---|---|
| X9 | outside the coverage section: not read | nothing |

## Checklist coverage

| Row | Behaviour (short) | Covered by |
|---|---|---|
| X1 | covered | `tests/d/test_d.py::test_plain`<br>`tests/d/test_d.py::test_in_a_class` (`x`) |
| X1 | listed again | `tests/d/test_d.py::test_plain` |
| X3 | unknown test | `tests/d/test_d.py::test_missing`, `tests/d/test_d.py::test_plain` |
| X4 | unknown file | `tests/d/test_gone.py::test_plain` |
| X5 | reason too short | does not apply yet: soon |
| X6 | extra row | `tests/d/test_d.py::test_plain` |
| X7 |  | nothing here |
| X8 | parametrized id | `tests/d/test_d.py::test_plain[sqlite]` |
| X10 | nested function | `tests/d/test_d.py::test_hidden_inside_a_function` |
| X11 | note and test | `tests/d/test_d.py::test_plain`; does not apply yet: half is built |
| X12 | explained | does not apply yet: there is nothing of the kind to test |
| X13 | two cells |
| X14 | not a test | `tests/d/test_d.py::helper` |

## Later section

| X2 | after the section: not read | `tests/d/test_d.py::test_plain` |
"""


def test_the_check_reports_every_problem_at_once(tmp_path: Path) -> None:
    (tmp_path / "tests" / "d").mkdir(parents=True)
    (tmp_path / "tests" / "d" / "test_d.py").write_text(TESTS_FILE, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "d.md").write_text(DOC, encoding="utf-8")
    expected = ("X1", "X2", "X3", "X4", "X5", "X7", "X8", "X10", "X11", "X12", "X14")
    found = problems(tmp_path, "docs/d.md", expected)
    assert found == [
        "X3: tests/d/test_d.py defines no test function test_missing",
        "X4: tests/d/test_gone.py does not exist (for test_plain)",
        f'X5: "{NOT_YET}" needs a reason (3 words or more)',
        "X6: not a row of the checklist",
        "X7: the behaviour is empty",
        f'X7: names no test and does not say "{NOT_YET} <reason>"',
        "X8: `tests/d/test_d.py::test_plain[sqlite]` is not a test reference; "
        "write `tests/<path>.py::<test name>`",
        "X10: tests/d/test_d.py defines no test function test_hidden_inside_a_function",
        "this line does not have 3 cells: | X13 | two cells |",
        "X14: `tests/d/test_d.py::helper` is not a test reference; "
        "write `tests/<path>.py::<test name>`",
        "X1: listed 2 times",
        "X2: missing",
    ]
    clean = DOC.split("## Checklist coverage")[0] + (
        "## Checklist coverage\n\n| Row | Behaviour (short) | Covered by |\n|---|---|---|\n"
        "| X1 | covered | `tests/d/test_d.py::test_in_a_class` |\n"
        "| X2 | explained | does not apply yet: there is nothing of the kind |\n"
    )
    (tmp_path / "docs" / "d.md").write_text(clean, encoding="utf-8")
    assert problems(tmp_path, "docs/d.md", ("X1", "X2")) == []
    (tmp_path / "docs" / "d.md").write_text("# No section\n", encoding="utf-8")
    assert problems(tmp_path, "docs/d.md", ("X1",)) == [
        f'there must be exactly one section "{SECTION}"'
    ]
