"""Architecture checks: the layout stays the one docs/design.md describes.

* no import cycles among the modules of ``hwp_bench``, ``wildghand``, ``hwp_baselines`` and
  ``hwp_leaderboard`` (module-level imports, built with :mod:`ast` from the source files; the
  checker itself is shown to catch a cycle in a package built here);
* the method contract (``hwp_bench/methods/contract.py``) is a leaf;
* every relative link, anchor and backticked repository path in README.md and docs/*.md exists,
  and so does every ``docs/...`` reference in the code;
* the README is a short front door whose first code block holds the set-up and test commands,
  the test command being exactly what CI runs;
* nothing refers to design notes outside the repository;
* metric conventions and the config hash are defined once.

Everything here reads files: no network, no imports of the packages under test (except one
subprocess that imports the contract alone), a second or two in all.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()

#: Import name -> source folder of every first-party package.
PACKAGES = {
    "hwp_bench": ROOT / "hwp_bench",
    "wildghand": ROOT / "methods" / "wildghand",
    "hwp_baselines": ROOT / "baselines" / "hwp_baselines",
    "hwp_leaderboard": ROOT / "leaderboard" / "hwp_leaderboard",
}

README = ROOT / "README.md"
README_MAX_LINES = 260
SETUP_COMMAND = "bash scripts/setup.sh && .venv/bin/hwp-bench run --method wildghand --split inter"
TEST_COMMAND = "bash scripts/test.sh"


# -- the module-level import graph -------------------------------------------------------------


def module_files(packages: dict[str, Path]) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` file of the packages."""
    out: dict[str, Path] = {}
    for name, folder in packages.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [name, *rel.parts]
            if parts[-1] == "__init__":
                parts.pop()
            if any(not p.isidentifier() for p in parts):
                continue  # not importable (e.g. a script with a dash)
            out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports executed when the module is imported.

    Function bodies are skipped (an import there is a deliberate late binding), and so is the
    body of ``if TYPE_CHECKING:`` (never executed); class bodies, ``try``, ``with`` and other
    ``if`` branches run at import time and are included.
    """

    def walk(stmts: Iterable[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
        for node in stmts:
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield node
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            elif isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    yield from walk(node.body)
                yield from walk(node.orelse)
            elif isinstance(node, ast.ClassDef):
                yield from walk(node.body)
            elif isinstance(node, ast.Try | ast.TryStar):
                yield from walk(node.body)
                for handler in node.handlers:
                    yield from walk(handler.body)
                yield from walk(node.orelse)
                yield from walk(node.finalbody)
            elif isinstance(node, ast.With | ast.AsyncWith | ast.For | ast.While):
                yield from walk(node.body)
                yield from walk(node.orelse if hasattr(node, "orelse") else [])
            elif isinstance(node, ast.Match):
                for case in node.cases:
                    yield from walk(case.body)

    yield from walk(tree.body)


def _known(name: str, modules: set[str]) -> str | None:
    """``name`` or its longest prefix that is one of our modules."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(packages: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> first-party modules it imports at module level.

    ``from pkg import sub`` points at ``pkg.sub`` when that is a module, else at ``pkg``;
    relative imports are resolved against the importing module's package.
    """
    files = module_files(packages)
    modules = set(files)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in module_level_imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base_parts = package.split(".")
                    if node.level > 1:
                        base_parts = base_parts[: -(node.level - 1)]
                    base = ".".join([*base_parts, *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                hit = _known(target, modules)
                if hit is not None and hit != module:
                    graph[module].add(hit)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One concrete cycle (``[a, b, ..., a]``) per strongly connected component of size > 1."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:  # Tarjan; the graphs here are a few hundred nodes
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(graph):
            if v not in index:
                strongconnect(v)
    finally:
        sys.setrecursionlimit(limit)

    cycles = []
    for comp in components:
        members = set(comp)
        start = comp[0]
        # breadth-first search inside the component for the shortest way back to start
        paths = {start: [start]}
        frontier = [start]
        found = None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v] & members):
                    if w == start:
                        found = [*paths[v], start]
                        break
                    if w not in paths:
                        paths[w] = [*paths[v], w]
                        nxt.append(w)
                if found:
                    break
            frontier = nxt
        cycles.append(found or [*comp, comp[0]])
    return cycles


def _format_cycles(cycles: list[list[str]]) -> str:
    return "\n".join("  " + " -> ".join(c) for c in cycles)


def test_no_import_cycles_among_first_party_modules():
    graph = import_graph(PACKAGES)
    assert len(graph) > 100, "the module scan found too few modules: check PACKAGES"
    # The graph is real: the runner imports the method registry, WildGHand the hand models.
    assert "hwp_bench.methods.registry" in set().union(*graph.values())
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (module-level imports):\n" + _format_cycles(cycles)


def _write_package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_cycle_checker_catches_a_cycle_and_ignores_late_and_type_only_imports(tmp_path):
    pkg = _write_package(
        tmp_path / "cyc",
        {
            "__init__.py": "",
            # a -> b through ``from cyc import b`` (b is a submodule), b -> c, c -> a
            "a.py": "from cyc import b\n",
            "b.py": "from . import c\n",
            "c.py": "import cyc.a\n",
            # d imports a only inside a function and under TYPE_CHECKING: no edge
            "d.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from cyc.e import Thing
                def late():
                    from cyc import e
                    return e
            """,
            "e.py": "from cyc.d import late\n",
            # class bodies and try blocks run at import time: f <-> g is a cycle
            "f.py": "class K:\n    from cyc.g import X\n",
            "g.py": "try:\n    from cyc.f import K\nexcept ImportError:\n    K = None\nX = 1\n",
        },
    )
    graph = import_graph({"cyc": pkg})
    assert graph["cyc.a"] == {"cyc.b"}
    assert graph["cyc.b"] == {"cyc.c"}
    assert graph["cyc.d"] == set()
    assert graph["cyc.e"] == {"cyc.d"}
    cycles = find_cycles(graph)
    assert sorted(cycles) == [["cyc.a", "cyc.b", "cyc.c", "cyc.a"], ["cyc.f", "cyc.g", "cyc.f"]]
    message = _format_cycles(cycles)
    assert "cyc.a -> cyc.b -> cyc.c -> cyc.a" in message


def test_cycle_checker_passes_an_acyclic_package(tmp_path):
    pkg = _write_package(
        tmp_path / "ok",
        {
            "__init__.py": "from ok.api import run\n",
            "api.py": "from ok.core import helper\nfrom . import util\n",
            "core.py": "from ok import util\n",
            "util.py": "import os\n",
        },
    )
    graph = import_graph({"ok": pkg})
    assert graph["ok"] == {"ok.api"}
    assert graph["ok.api"] == {"ok.core", "ok.util"}
    assert find_cycles(graph) == []


# -- the contract is a leaf --------------------------------------------------------------------


def test_method_contract_imports_nothing_of_hwp_bench_at_module_level():
    path = PACKAGES["hwp_bench"] / "methods" / "contract.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    internal = []
    for node in module_level_imports(tree):
        names = (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
        if isinstance(node, ast.ImportFrom) and node.level:
            internal.append(f"relative import (level {node.level}) at line {node.lineno}")
        internal += [f"{n} at line {node.lineno}" for n in names if n.split(".")[0] == "hwp_bench"]
    assert not internal, f"{path.name} must be a leaf, but imports: {internal}"


def test_importing_the_contract_pulls_in_neither_the_runner_nor_torch():
    code = (
        "import sys, hwp_bench.methods.contract\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('hwp_bench.runner')"
        " or m.startswith('hwp_bench.data'))\n"
        "print(','.join(bad))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "", f"importing the contract also imported: {out.stdout}"


# -- documentation links -----------------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
PATH_TOKEN = re.compile(r"^\.?[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_.\-]+)*/?$")
MODULE_TOKEN = re.compile(
    r"^(hwp_bench|wildghand|hwp_baselines|hwp_leaderboard)(\.[A-Za-z_]\w*)+(\(.*\))?$"
)
ROOT_FILES = {"README.md", "NOTICE", "LICENSE", "pyproject.toml", "tox.ini"}


def doc_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def prose_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield n, line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"`|\*\*?|__?", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(path):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        k = seen.get(base, 0)
        seen[base] = k + 1
        out.add(base if k == 0 else f"{base}-{k}")
    return out


def section_names(path: Path) -> set[str]:
    """Heading texts without a leading section number ("6. Result file" -> "Result file")."""
    out = set()
    for _, line in prose_lines(path):
        m = HEADING.match(line)
        if m:
            out.add(re.sub(r"^\d+(\.\d+)*\.?\s+", "", m.group(2)).strip())
    return out


def _link_problems(path: Path) -> list[str]:
    problems = []
    for n, line in prose_lines(path):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.relative_to(ROOT)}:{n}: {target}"
            if not dest.exists():
                problems.append(f"{where}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where}: no heading with anchor #{anchor}")
    return problems


def _path_problems(path: Path) -> list[str]:
    top = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".git")}
    top -= {".venv", "build", "dist", "__pycache__", "node_modules"}
    problems = []
    for n, line in prose_lines(path):
        for token in CODE_SPAN.findall(line):
            token = token.strip()
            where = f"{path.relative_to(ROOT)}:{n}: `{token}`"
            if token in ROOT_FILES:
                if not (ROOT / token).exists():
                    problems.append(f"{where}: no such file")
            elif "/" in token and PATH_TOKEN.match(token) and token.split("/")[0] in top:
                if not (ROOT / token).exists():
                    problems.append(f"{where}: no such file or folder")
            elif MODULE_TOKEN.match(token) and token not in entry_point_groups():
                problem = _module_problem(token.split("(")[0])
                if problem:
                    problems.append(f"{where}: {problem}")
    return problems


_MODULES: dict[str, Path] = {}


def entry_point_groups() -> set[str]:
    """Entry-point groups declared in pyproject.toml (``hwp_bench.protocols`` is a group, not a
    module)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return set(re.findall(r'^\[project\.entry-points\."([^"]+)"\]', text, re.M))


def _module_problem(dotted: str) -> str | None:
    """``pkg.mod[.attr]``: the longest module prefix exists and defines the next name."""
    if not _MODULES:
        _MODULES.update(module_files(PACKAGES))
    hit = _known(dotted, set(_MODULES))
    if hit is None:
        return "no such module"
    rest = dotted[len(hit) + 1 :].split(".") if dotted != hit else []
    if not rest:
        return None
    source = _MODULES[hit].read_text(encoding="utf-8")
    if not re.search(rf"\b{re.escape(rest[0])}\b", source):
        return f"{hit} does not define {rest[0]!r}"
    return None


def test_every_doc_link_and_anchor_resolves():
    docs = doc_files()
    assert len(docs) >= 10, [d.name for d in docs]
    problems = [p for d in docs for p in _link_problems(d)]
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_every_backticked_repository_path_and_module_in_the_docs_exists():
    problems = [p for d in doc_files() for p in _path_problems(d)]
    assert not problems, "stale file or module references:\n" + "\n".join(problems)


def test_link_checker_catches_broken_links_anchors_and_paths(tmp_path, monkeypatch):
    doc = ROOT / "docs" / "design.md"
    assert "6-result-file" in anchors(doc)
    assert "Result file" in section_names(doc)
    assert slug("Options of `run`") == "options-of-run"
    assert slug("Does omega detect perturbations?") == "does-omega-detect-perturbations"
    fake = tmp_path / "fake.md"
    fake.write_text(
        "# Title\n\n[ok](#title) [bad anchor](#nope) [gone](missing.md)\n"
        "```\n[inside a code block](ignored.md)\n```\n"
    )
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    problems = _link_problems(fake)
    assert len(problems) == 2
    assert "#nope" in problems[0] and "missing.md" in problems[1]
    assert _module_problem("hwp_bench.methods.contract.MethodInfo") is None
    assert _module_problem("hwp_bench.methods_builtin.mean_color") is not None
    assert _module_problem("hwp_bench.methods.contract.NoSuchThing") is not None


#: ``docs/<name>.md``, optionally ``#anchor`` or ``, section 'Name'`` (the form code cites).
CODE_DOC_REF = re.compile(
    r"docs/(?P<file>[\w\-]+\.md)(?:#(?P<anchor>[\w\-]+)|,?\s+section\s+['\"](?P<section>[^'\"]+)['\"]|:\s*['\"](?P<section2>[^'\"]+)['\"])?"
)


def tracked_files() -> list[Path]:
    """Files git tracks (the tree walked, minus build and venv folders, without git)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        files = [ROOT / p for p in out.decode().split("\0") if p]
        if files:
            return [f for f in files if f.is_file()]
    except (OSError, subprocess.CalledProcessError):
        pass
    skip = {".git", ".venv", "build", "dist", "__pycache__", ".tox"}
    return [
        p
        for p in ROOT.rglob("*")
        if p.is_file()
        and not skip.intersection(p.relative_to(ROOT).parts)
        and not p.name.endswith(".egg-info")
    ]


def _text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def test_docs_referenced_from_the_code_exist():
    problems = []
    for path in tracked_files():
        if path.suffix not in (".py", ".sh", ".toml", ".ini") or path == THIS:
            continue
        text = _text(path) or ""
        for m in CODE_DOC_REF.finditer(text):
            target = ROOT / "docs" / m.group("file")
            line = text.count("\n", 0, m.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}: {m.group(0)!r}"
            if not target.exists():
                problems.append(f"{where}: no such file")
                continue
            section = m.group("section") or m.group("section2")
            if m.group("anchor") and m.group("anchor") not in anchors(target):
                problems.append(f"{where}: no such anchor")
            if section and " ".join(section.split()) not in section_names(target):
                problems.append(f"{where}: no section named {section!r}")
    assert not problems, "code refers to missing docs:\n" + "\n".join(problems)


# -- the README is a front door ----------------------------------------------------------------


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"
    text = "\n".join(lines)
    first_block = re.search(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    assert first_block, "README.md has no fenced code block"
    commands = [ln.strip() for ln in first_block.group(1).splitlines()]
    assert SETUP_COMMAND in commands, first_block.group(1)
    assert TEST_COMMAND in commands, first_block.group(1)
    # ... and it is exactly what CI runs.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    ci_commands = [
        re.sub(r"^exec\s+", "", ln.strip()) for ln in ci if not ln.strip().startswith("#")
    ]
    assert TEST_COMMAND in ci_commands, ".ci/run does not run the README's test command"


# -- no references to notes outside the repository ---------------------------------------------

OUTSIDE_NOTES = re.compile("DESIGN" + r"\.md|HELPERS" + r"\.md|\bDESIGN \d|/work/" + "shared")


def test_no_file_refers_to_design_notes_outside_the_repository():
    hits = []
    for path in tracked_files():
        if path == THIS:
            continue
        text = _text(path)
        if text is None:
            continue
        for m in OUTSIDE_NOTES.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            hits.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)}")
    assert not hits, "refer to docs/design.md instead:\n" + "\n".join(hits)


# -- one source of truth -----------------------------------------------------------------------

CONVENTION = re.compile(
    r"^\s*(?P<name>HIGHER_IS_BETTER|DEFAULT_PROTOCOL|METRIC_ORDER)\s*(:[^=\n]*)?=(?!=)", re.M
)


@pytest.mark.parametrize(
    "pattern, home",
    [
        (CONVENTION, "hwp_bench/metrics/conventions.py"),
        (re.compile(r"^def config_hash\b", re.M), "hwp_bench/methods/config.py"),
    ],
    ids=["metric-conventions", "config-hash"],
)
def test_defined_once(pattern, home):
    found = []
    for path in tracked_files():
        if path.suffix != ".py" or path == THIS:
            continue
        text = _text(path) or ""
        for m in pattern.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append((str(path.relative_to(ROOT)), line, m.group(0).strip()))
    homes = {f for f, _, _ in found}
    assert homes == {home}, f"defined outside {home}: {[f for f in found if f[0] != home]}"
