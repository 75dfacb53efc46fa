"""CloudWatch Logs JSON filter patterns, evaluated as CloudWatch evaluates them, for the
subset the stack uses; anything else is refused (PatternError), never guessed.

    { $.target = "access" && $.status >= 500 }
    { ($.event = "mail_given_up") || ($.event = "mail_dropped") }
    { $.trace_id = * }          the field is present (any value but null)
    { $.path = "/api/*" }       `*` is a wildcard inside a string value
    { $.a IS NULL }  { $.a NOT EXISTS }  { $.a IS TRUE }  { $.a IS FALSE }

Selectors are `$` followed by `.name` and `[index]` steps. A string value (quoted, or a
bare word) matches string fields only, a number matches number fields only (a JSON
`true` is not a number); `&&` and `||` may not be mixed without parentheses (CloudWatch
documents no precedence between them). Metric values are `$.selector` (a number in the
matched event) or a literal number.
"""

import fnmatch
import re

NUMERIC_OPERATORS = ("=", "!=", ">=", "<=", ">", "<")
TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<selector>\$(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*)
    | (?P<op>&&|\|\||!=|>=|<=|=|>|<|\(|\)|\{|\})
    | (?P<number>-?\d+(?:\.\d+)?(?=[\s)}&|]|$))
    | (?P<word>[A-Za-z0-9_.*:/@+-]+)
    )""", re.X)
MISSING = object()


class PatternError(ValueError):
    """A pattern this evaluator cannot evaluate faithfully."""


def tokens(pattern):
    out, at = [], 0
    text = pattern.rstrip()
    while at < len(text):
        m = TOKEN.match(text, at)
        if not m or m.end() == at:
            raise PatternError(f"cannot read {pattern!r} at {text[at:at + 12]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "number":
            value = float(value)
        out.append((kind, value))
        at = m.end()
    return out


class _Parser:
    def __init__(self, pattern):
        self.pattern = pattern
        self.tokens = tokens(pattern)
        self.at = 0

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else (None, None)

    def take(self, kind=None, value=None):
        token = self.peek()
        if token[0] is None or (kind and token[0] != kind) or (value is not None and token[1] != value):
            raise PatternError(f"{self.pattern!r}: expected {value or kind}, found {token[1]!r}")
        self.at += 1
        return token

    def parse(self):
        if self.peek() != ("op", "{"):
            raise PatternError(f"{self.pattern!r}: only JSON patterns ({{ ... }}) are evaluated")
        self.take("op", "{")
        tree = self.expression()
        self.take("op", "}")
        if self.at != len(self.tokens):
            raise PatternError(f"{self.pattern!r}: text after the closing brace")
        return tree

    def expression(self):
        first = self.primary()
        joiner, parts = None, [first]
        while self.peek() in (("op", "&&"), ("op", "||")):
            op = self.take()[1]
            if joiner and op != joiner:
                raise PatternError(f"{self.pattern!r}: && and || mixed without parentheses")
            joiner = op
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else ("and" if joiner == "&&" else "or", parts)

    def primary(self):
        if self.peek() == ("op", "("):
            self.take()
            inner = self.expression()
            self.take("op", ")")
            return inner
        selector = self.take("selector")[1]
        kind, value = self.peek()
        if kind == "word" and value in ("IS", "NOT"):
            self.take()
            word = self.take("word")[1]
            test = {("IS", "NULL"): "null", ("IS", "TRUE"): "true", ("IS", "FALSE"): "false",
                    ("NOT", "EXISTS"): "absent"}.get((value, word))
            if not test:
                raise PatternError(f"{self.pattern!r}: {value} {word} is not a test")
            return ("test", selector, test)
        op = self.take("op")[1]
        if op not in NUMERIC_OPERATORS:
            raise PatternError(f"{self.pattern!r}: {op!r} after {selector}")
        kind, value = self.take()
        if kind == "number":
            return ("number", selector, op, value)
        if kind in ("string", "word"):
            if op not in ("=", "!="):
                raise PatternError(f"{self.pattern!r}: {op} needs a number, not {value!r}")
            return ("string", selector, op, value)
        raise PatternError(f"{self.pattern!r}: no value after {selector} {op}")


def parse(pattern):
    return _Parser(pattern).parse()


def select(event, selector):
    """The value `selector` names in `event`, or MISSING."""
    value = event
    for step in re.findall(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]", selector[1:]):
        name, index = step
        if name and isinstance(value, dict) and name in value:
            value = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return MISSING
    return value


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string_matches(field, wanted):
    if wanted == "*":
        return field is not MISSING and field is not None
    if not isinstance(field, str):
        return False
    if "*" in wanted:
        return fnmatch.fnmatchcase(field, wanted.replace("[", "[[]").replace("?", "[?]"))
    return field == wanted


def evaluate(tree, event):
    kind = tree[0]
    if kind == "and":
        return all(evaluate(part, event) for part in tree[1])
    if kind == "or":
        return any(evaluate(part, event) for part in tree[1])
    field = select(event, tree[1])
    if kind == "test":
        return {"null": field is None, "true": field is True, "false": field is False,
                "absent": field is MISSING}[tree[2]]
    if kind == "string":
        hit = _string_matches(field, tree[3])
        if tree[2] == "=":
            return hit
        return field is not MISSING and isinstance(field, str) and not hit
    op, number = tree[2], tree[3]
    if not is_number(field):
        return False
    return {"=": field == number, "!=": field != number, ">=": field >= number, "<=": field <= number,
            ">": field > number, "<": field < number}[op]


def matches(pattern, event):
    """Whether the JSON log event (already parsed) matches; PatternError when the pattern
    is outside what this evaluates."""
    if not isinstance(event, dict):
        return False
    return evaluate(parse(pattern), event)


def metric_value(value, event):
    """The number a metric filter with MetricValue `value` emits for a matched event, or
    None when it emits nothing (the selector is absent or not a number)."""
    if value.startswith("$"):
        if not re.fullmatch(r"\$(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])+", value):
            raise PatternError(f"metric value {value!r} is not a selector")
        found = select(event, value)
        return found if is_number(found) else None
    try:
        return float(value)
    except ValueError:
        raise PatternError(f"metric value {value!r} is neither a selector nor a number") from None


def self_test():
    """The evaluator must tell matches from misses, and refuse what it cannot read."""
    line = {"target": "access", "status": 503, "duration_ms": 2.5, "path": "/api/me", "ok": True,
            "gone": None, "list": [{"id": 2}], "text_status": "503"}
    cases = [
        ('{ $.target = "access" && $.status >= 500 }', True),
        ('{ $.target = "access" && $.status < 500 }', False),
        ('{ $.text_status >= 500 }', False),
        ('{ $.status = "503" }', False),
        ('{ $.target = access }', True),
        ('{ $.path = "/api/*" }', True),
        ('{ $.path = "/web/*" }', False),
        ('{ $.duration_ms = * }', True),
        ('{ $.nothing = * }', False),
        ('{ $.gone = * }', False),
        ('{ $.gone IS NULL }', True),
        ('{ $.nothing NOT EXISTS }', True),
        ('{ $.ok IS TRUE }', True),
        ('{ $.ok = 1 }', False),
        ('{ $.list[0].id = 2 }', True),
        ('{ ($.status = 200) || ($.status = 503) }', True),
        ('{ ($.target = "x" || $.status != 503) && $.ok IS TRUE }', False),
    ]
    for pattern, expected in cases:
        if matches(pattern, line) is not expected:
            raise SystemExit(f"self-test: {pattern} should {'' if expected else 'not '}match {line}")
    for refused in ('{ $.a = 1 && $.b = 2 || $.c = 3 }', 'ERROR', '[ip, user]', '{ $.a > "x" }',
                    '{ $.a = 1 ', '{ $.a ~ 1 }', '{ %regex% }'):
        try:
            matches(refused, line)
        except PatternError:
            continue
        raise SystemExit(f"self-test: the pattern {refused!r} was evaluated instead of refused")
    if metric_value("$.duration_ms", line) != 2.5 or metric_value("$.path", line) is not None \
            or metric_value("1", line) != 1.0:
        raise SystemExit("self-test: metric values are read wrongly")
