"""The functions of a file of logic, for scripts/house.py: Rust and JavaScript by brace
matching over a copy of the text whose comments and strings are blanked out, Python by
its own parser. Each function spans from the line of its `fn`/`function`/`def` to the
line that closes its body."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass


@dataclass
class Function:
    path: str
    name: str
    start: int
    end: int

    @property
    def lines(self) -> int:
        return self.end - self.start + 1


# --------------------------------------------------------------------------------------
# Rust


def rust_code(text: str) -> str:
    """The text with comments, strings and char literals blanked out (same length, same
    newlines), so that braces and keywords can be read from it."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif (m := re.compile(r'(?:b|c)?r(#*)"').match(text, i)) and not (
            i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            close = '"' + m.group(1)
            j = text.find(close, m.end())
            j = n if j < 0 else j + len(close)
            blank(i + 1, j - 1)
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}', '{'), or a lifetime/label ('a, 'static).
            m = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'").match(text, i)
            if m:
                blank(i + 1, m.end() - 1)
                i = m.end()
            else:
                i += 1
        else:
            i += 1
    return "".join(out)


def line_of(offsets: list[int], pos: int) -> int:
    """1-based line number of a character offset, given the offsets of line starts."""
    lo, hi = 0, len(offsets) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if offsets[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1


def line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def matching_brace(code: str, open_at: int) -> int:
    depth = 0
    for k in range(open_at, len(code)):
        ch = code[k]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(code) - 1


RUST_FN = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")


def rust_functions(path: str, text: str) -> list[Function]:
    code = rust_code(text)
    starts = line_starts(text)
    found = []
    for m in RUST_FN.finditer(code):
        # The body is the first `{` outside parentheses and brackets; a `;` first means a
        # declaration without a body (trait method, extern fn).
        depth, k = 0, m.end()
        while k < len(code):
            ch = code[k]
            if ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            elif depth == 0 and ch == ";":
                k = -1
                break
            elif depth == 0 and ch == "{":
                break
            k += 1
        if k < 0 or k >= len(code):
            continue
        end = matching_brace(code, k)
        found.append(Function(path, m.group(1), line_of(starts, m.start()), line_of(starts, end)))
    return found


# --------------------------------------------------------------------------------------
# JavaScript

JS_KEYWORDS_BEFORE_REGEX = {"return", "typeof", "instanceof", "in", "of", "new", "delete",
                            "void", "throw", "case", "do", "else", "yield", "await"}
JS_NOT_METHODS = {"if", "for", "while", "switch", "catch", "with", "function", "return"}


class JsScanner:
    """Blanks out a JavaScript text's comments, strings, template text and regular
    expressions (same length, same newlines); `${...}` inside templates stays code."""

    def __init__(self, text: str):
        self.text, self.out, self.n = text, list(text), len(text)
        self.templates: list[int] = []  # brace depth at which each open `${` began
        self.depth = 0
        self.last = ""  # the last significant token, to tell a regex from a division

    def blank(self, a: int, b: int) -> None:
        for k in range(a, min(b, self.n)):
            if self.out[k] != "\n":
                self.out[k] = " "

    def regex_allowed(self) -> bool:
        last = self.last
        return not last or last in JS_KEYWORDS_BEFORE_REGEX or last[-1] in "(,=:[!&|?{};+-*%<>~^"

    def template(self, j: int) -> int:
        """Inside a template literal at j: blank up to the closing backtick or the next
        `${`; the index after it."""
        text, start = self.text, j
        while j < self.n:
            if text[j] == "\\":
                j += 2
            elif text[j] == "`":
                self.blank(start, j)
                return j + 1
            elif text.startswith("${", j):
                self.blank(start, j + 2)
                self.templates.append(self.depth)
                self.depth += 1
                return j + 2
            else:
                j += 1
        self.blank(start, self.n)
        return self.n

    def regex(self, i: int) -> int:
        text, j, in_class = self.text, i + 1, False
        while j < self.n and text[j] != "\n":
            ch = text[j]
            if ch == "\\":
                j += 2
                continue
            if ch == "[":
                in_class = True
            elif ch == "]":
                in_class = False
            elif ch == "/" and not in_class:
                break
            j += 1
        self.blank(i + 1, j)
        j += 1
        while j < self.n and text[j].isalpha():
            j += 1
        return j

    def string(self, i: int) -> int:
        text, quote, j = self.text, self.text[i], i + 1
        while j < self.n and text[j] != quote and text[j] != "\n":
            j += 2 if text[j] == "\\" else 1
        self.blank(i + 1, j)
        return j + 1

    def comment(self, i: int) -> int:
        text = self.text
        if text.startswith("//", i):
            j = text.find("\n", i)
        else:
            j = text.find("*/", i + 2)
            j = j + 2 if j >= 0 else j
        j = self.n if j < 0 else j
        self.blank(i, j)
        return j

    def closing_brace(self, i: int) -> int:
        self.depth -= 1
        if self.templates and self.templates[-1] == self.depth:
            self.templates.pop()
            self.out[i] = " "
            self.last = "str"
            return self.template(i + 1)
        self.last = "}"
        return i + 1

    def run(self) -> str:
        text, i = self.text, 0
        while i < self.n:
            c = text[i]
            if text.startswith("//", i) or text.startswith("/*", i):
                i = self.comment(i)
            elif c in "'\"`":
                i = self.string(i) if c != "`" else self.template(i + 1)
                self.last = "str"
            elif c == "/" and self.regex_allowed():
                i, self.last = self.regex(i), "regex"
            elif c == "{":
                self.depth, self.last, i = self.depth + 1, "{", i + 1
            elif c == "}":
                i = self.closing_brace(i)
            elif c.isalnum() or c in "_$":
                j = i
                while j < self.n and (text[j].isalnum() or text[j] in "_$"):
                    j += 1
                self.last, i = text[i:j], j
            else:
                if not c.isspace():
                    self.last = c
                i += 1
        return "".join(self.out)


def js_code(text: str) -> str:
    return JsScanner(text).run()


JS_FUNCTION = re.compile(r"\bfunction\b\s*\*?\s*([A-Za-z_$][\w$]*)?\s*\(")
JS_METHOD = re.compile(r"(?m)^\s*(?:static\s+|async\s+|get\s+|set\s+)*\*?\s*([A-Za-z_$][\w$]*)\s*\(")
JS_ARROW = re.compile(r"=>\s*\{")


def closing_paren(code: str, open_at: int) -> int:
    depth = 0
    for k in range(open_at, len(code)):
        if code[k] == "(":
            depth += 1
        elif code[k] == ")":
            depth -= 1
            if depth == 0:
                return k
    return -1


def js_name_before(code: str, pos: int) -> str:
    """The name an arrow function or function expression is given (`const x = `, `x: `)."""
    line_start = code.rfind("\n", 0, pos) + 1
    head = code[line_start:pos]
    m = re.search(r"([A-Za-z_$][\w$]*)\s*[:=]\s*(?:async\s*)?(?:\([^()]*\)|[A-Za-z_$][\w$]*)?\s*(?:=>\s*)?$", head)
    return m.group(1) if m else "(anonymous)"


def js_functions(path: str, text: str) -> list[Function]:
    code = js_code(text)
    starts = line_starts(text)
    found: dict[int, Function] = {}  # keyed by the offset of the body's `{`

    def body_after_params(open_paren: int) -> int:
        close = closing_paren(code, open_paren)
        if close < 0:
            return -1
        m = re.compile(r"\s*\{").match(code, close + 1)
        return m.end() - 1 if m else -1

    for m in JS_FUNCTION.finditer(code):
        body = body_after_params(m.end() - 1)
        if body >= 0:
            name = m.group(1) or js_name_before(code, m.start())
            found[body] = Function(path, name, line_of(starts, m.start()), line_of(starts, matching_brace(code, body)))
    for m in JS_METHOD.finditer(code):
        if m.group(1) in JS_NOT_METHODS:
            continue
        body = body_after_params(m.end() - 1)
        if body >= 0 and body not in found:
            found[body] = Function(path, m.group(1), line_of(starts, m.start(1)), line_of(starts, matching_brace(code, body)))
    for m in JS_ARROW.finditer(code):
        body = m.end() - 1
        if body not in found:
            name = js_name_before(code, m.start())
            line = line_of(starts, m.start())
            found[body] = Function(path, name, line, line_of(starts, matching_brace(code, body)))
    return sorted(found.values(), key=lambda f: f.start)


# --------------------------------------------------------------------------------------
# Python


def python_functions(path: str, text: str) -> list[Function]:
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        print(f"{path}: cannot parse ({err}); its functions are not measured", file=sys.stderr)
        return []
    return [
        Function(path, node.name, node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
