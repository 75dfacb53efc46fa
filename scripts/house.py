#!/usr/bin/env python3
"""House rules for the code (issue 25): no file of logic over 600 lines, no function over
100 lines, no import circle between the Rust files of one crate.

Files of logic: Rust under `<crate>/src`, `<crate>/tests` and `tests/`; JavaScript under
`web/`; Python under `ecs/` and `scripts/`. Data files (.pem, .json, .sql, .lock, ...) are
not logic and are never read.

Functions are measured from the line of their `fn`/`function`/`def` to the line that closes
their body:
- Rust: every `fn` item with a body, by brace matching, strings, chars and comments skipped.
- JavaScript: function declarations and expressions, methods and arrow functions with a
  block body, by brace matching (strings, template literals, comments, regular
  expressions skipped).
- Python: every `def` (the standard library's own parser gives its last line).

Import circles: a file's dependencies are the `crate::`, `super::` and `self::` paths of its
`use` declarations and of its code outside `#[cfg(test)]` modules, each taken to the
deepest module that is a file of the crate (`a.rs` or `a/mod.rs`). A module and its own
ancestors or descendants are one family (a parent declares and re-exports its children;
a child uses what its parent holds), so only files of which neither contains the other
can form a circle. Every strongly connected group of two or more files is reported with
one circle through it.

Exit status 1 when anything breaks a rule; 0 otherwise. `--report` also prints the
largest files and functions within the limits, to show what is next in line.

    scripts/house.py            # violations only
    scripts/house.py --report   # violations, then the ten largest files and functions
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from house_scan import (Function, js_functions, matching_brace, python_functions, rust_code,
                        rust_functions)

MAX_FILE_LINES = 600
MAX_FN_LINES = 100

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {"target", "node_modules", "__pycache__", ".git", ".venv", "venv", "vendor"}


# --------------------------------------------------------------------------------------
# Which files are logic


def walk(base: Path, suffix: str):
    if not base.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(suffix):
                yield Path(dirpath) / name


def rust_crates(root: Path) -> list[Path]:
    """Directories holding a Cargo.toml with a src/ beside it (the workspace's crates)."""
    crates = []
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name not in SKIP_DIRS and (child / "Cargo.toml").is_file():
            crates.append(child)
    return crates


def logic_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for crate in rust_crates(root):
        files += walk(crate / "src", ".rs")
        if crate.name == "tests":
            # The tests crate keeps its targets at its top level and in folders beside.
            files += [p for p in walk(crate, ".rs") if "src" not in p.relative_to(crate).parts[:1]]
        else:
            files += walk(crate / "tests", ".rs")
    files += walk(root / "web", ".js")
    files += walk(root / "ecs", ".py")
    files += walk(root / "scripts", ".py")
    seen, unique = set(), []
    for path in files:
        if path not in seen:
            seen.add(path)
            unique.append(path)
    return unique


# --------------------------------------------------------------------------------------
# Import circles between the Rust files of one crate


def module_of(src: Path, path: Path) -> tuple[str, ...]:
    rel = path.relative_to(src)
    parts = list(rel.parts)
    if parts[-1] in ("lib.rs", "main.rs") and len(parts) == 1:
        return ()
    if parts[-1] == "mod.rs":
        return tuple(parts[:-1])
    parts[-1] = parts[-1][:-3]
    return tuple(parts)


def strip_cfg_test_modules(code: str) -> str:
    """Blank `#[cfg(test)] mod x { ... }` blocks: test code may use what it likes."""
    out = code
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", code):
        open_at = m.end() - 1
        end = matching_brace(code, open_at)
        out = out[:m.start()] + re.sub(r"[^\n]", " ", out[m.start():end + 1]) + out[end + 1:]
    return out


def expand_use_tree(tree: str) -> list[str]:
    """`crate::{a::X, b::{self, Y}}` to ["crate::a::X", "crate::b", "crate::b::Y"]."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas\w+", "", tree)  # `X as Y` lost its spaces above: `XasY`
    results: list[str] = []

    def split_top(s: str) -> list[str]:
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        return parts

    def walk_tree(prefix: str, s: str) -> None:
        brace = s.find("{")
        if brace < 0:
            path = prefix + s
            if path.endswith("::self"):
                path = path[: -len("::self")]
            results.append(path)
            return
        head = prefix + s[:brace]
        inner = s[brace + 1: s.rfind("}")]
        for part in split_top(inner):
            walk_tree(head, part)

    walk_tree("", tree)
    return results


def rust_paths(code: str) -> list[str]:
    paths = []
    for m in re.finditer(r"\buse\s+([^;]*);", code):
        paths += expand_use_tree(m.group(1).replace(" as ", " as"))
    # Paths written out in code: `crate::a::b::f()`, `super::x::Y`.
    for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::(?:super|[A-Za-z_]\w*))+)", code):
        paths.append(m.group(1))
    return paths


def resolve(path: str, current: tuple[str, ...], modules: set) -> tuple[str, ...] | None:
    """The module file a path ends in, or None when it leaves the crate."""
    segs = path.split("::")
    # `self` of a file `a/b.rs` is `a::b`; `super` its parent `a`.
    base = list(current)
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] in ("self", "super"):
        while segs and segs[0] in ("self", "super"):
            if segs[0] == "super":
                if not base:
                    return None
                base.pop()
            segs = segs[1:]
    else:
        return None
    full = base + segs
    # The deepest prefix that is a module file.
    for k in range(len(full), -1, -1):
        if tuple(full[:k]) in modules:
            return tuple(full[:k])
    return ()


def family(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return a[: len(b)] == b or b[: len(a)] == a


def crate_graph(crate: Path) -> tuple[dict, dict]:
    """Edges between module files of one crate's src/, and each module's file."""
    src = crate / "src"
    # A crate with both lib.rs and main.rs: main.rs is another crate (the binary) that
    # uses the library by name, so only the library's tree counts. Binaries under
    # src/bin/ are crates of their own too.
    root_file = "lib.rs" if (src / "lib.rs").is_file() else "main.rs"
    files = {}
    for path in walk(src, ".rs"):
        rel = path.relative_to(src).parts
        if rel[0] == "bin" or (len(rel) == 1 and rel[0] in ("lib.rs", "main.rs") and rel[0] != root_file):
            continue
        files[module_of(src, path)] = path
    modules = set(files)
    edges: dict[tuple, set] = {m: set() for m in modules}
    for mod, path in files.items():
        code = strip_cfg_test_modules(rust_code(path.read_text(encoding="utf-8")))
        for p in rust_paths(code):
            target = resolve(p, mod, modules)
            if target is None or target == mod or family(target, mod):
                continue
            edges[mod].add(target)
    return edges, files


def strongly_connected(edges: dict) -> list[list]:
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return groups


def circle_through(group: list, edges: dict) -> list:
    """A shortest circle from the group's first member back to itself."""
    start = group[0]
    members = set(group)
    previous = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v]):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return list(reversed(path)) + [start]
            if w not in previous:
                previous[w] = v
                queue.append(w)
    return group


def import_circles(root: Path) -> list[str]:
    found = []
    for crate in rust_crates(root):
        if not (crate / "src").is_dir():
            continue
        edges, files = crate_graph(crate)
        for group in strongly_connected(edges):
            circle = circle_through(group, edges)
            names = " -> ".join(str(files[m].relative_to(root)) for m in circle)
            found.append(f"{crate.name}: import circle {names}"
                         + (f" (and {len(group) - len(circle) + 1} more files)" if len(group) > len(circle) - 1 else ""))
    return found


# --------------------------------------------------------------------------------------


BASELINE = "scripts/house-baseline.txt"
BASELINE_HEADER = """# Test code over the house limits when the rules came in (lines, then file or function).
# scripts/house.py tolerates these and nothing else: an entry may only shrink or go, and a
# new excess, or one that grows, fails lint. Source code has no entry and may get none.
"""


def is_test(key: str) -> bool:
    """Whether a file (or a function of a file) is test code."""
    path = key.split(" fn ", 1)[0]
    return path.startswith("tests/") or "/tests/" in path


def read_baseline(path: Path) -> dict[str, int]:
    entries = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                lines, key = line.strip().split(" ", 1)
                entries[key] = int(lines)
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="also list the largest files and functions within the limits")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this script's)")
    parser.add_argument("--write-baseline", action="store_true",
                        help="write the tests' current excesses to the baseline (review the diff)")
    args = parser.parse_args()
    root = args.root.resolve()
    baseline_path = root / BASELINE

    files, functions = [], []
    for path in logic_files(root):
        rel = str(path.relative_to(root))
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        files.append((lines, rel))
        if path.suffix == ".rs":
            functions += rust_functions(rel, text)
        elif path.suffix == ".js":
            functions += js_functions(rel, text)
        elif path.suffix == ".py":
            functions += python_functions(rel, text)

    long_files = sorted((f for f in files if f[0] > MAX_FILE_LINES), reverse=True)
    long_fns = sorted((f for f in functions if f.lines > MAX_FN_LINES), key=lambda f: (-f.lines, f.path))
    circles = import_circles(root)

    excesses = {rel: lines for lines, rel in long_files}
    excesses.update({f"{f.path} fn {f.name}": f.lines for f in long_fns})
    if args.write_baseline:
        kept = {k: v for k, v in excesses.items() if is_test(k)}
        baseline_path.write_text(BASELINE_HEADER + "".join(f"{v:5} {k}\n" for k, v in sorted(kept.items())))
        print(f"{len(kept)} test excesses written to {BASELINE}")
        return 0
    baseline = read_baseline(baseline_path)
    tolerated = {k for k, v in excesses.items() if is_test(k) and k in baseline and v <= baseline[k]}

    for lines, rel in long_files:
        if rel not in tolerated:
            print(f"{rel}: {lines} lines (at most {MAX_FILE_LINES})")
    for f in long_fns:
        if f"{f.path} fn {f.name}" not in tolerated:
            print(f"{f.path}:{f.start}: fn {f.name} is {f.lines} lines (at most {MAX_FN_LINES})")
    for circle in circles:
        print(circle)
    shrunk = sorted(k for k in baseline if k not in excesses or excesses[k] < baseline[k])
    if shrunk:
        print(f"{BASELINE}: smaller now, lower or drop these lines: {shrunk}")

    if args.report:
        print(f"\n{len(files)} files of logic, {len(functions)} functions; "
              f"{len(long_files)} files over {MAX_FILE_LINES} lines, "
              f"{len(long_fns)} functions over {MAX_FN_LINES}, {len(circles)} import circles")
        print("\nLargest files within the limit:")
        for lines, rel in sorted((f for f in files if f[0] <= MAX_FILE_LINES), reverse=True)[:10]:
            print(f"  {lines:5} {rel}")
        print("Longest functions within the limit:")
        within = sorted((f for f in functions if f.lines <= MAX_FN_LINES), key=lambda f: (-f.lines, f.path))
        for f in within[:10]:
            print(f"  {f.lines:5} {f.path}:{f.start} {f.name}")

    if tolerated:
        print(f"({len(tolerated)} test files and functions over the limits, as listed in {BASELINE}: "
              "the list may only shrink)")
    violations = len(long_files) + len(long_fns) + len(circles) - len(tolerated) + len(shrunk)
    if violations and not args.report:
        print(f"\n{violations} house rule(s) broken: files of logic at most {MAX_FILE_LINES} lines, "
              f"functions at most {MAX_FN_LINES}, no import circle (scripts/house.py --report for more)",
              file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
