"""A recursive-descent parser for conditions, with PromQL's operator precedence.

    expr       := or
    or         := and ("or" and)*
    and        := compare (("and" | "unless") compare)*
    compare    := sum (CMP ["bool"] [matching] sum)*
    sum        := product (("+" | "-") [matching] product)*
    product    := unary (("*" | "/" | "%") [matching] unary)*
    unary      := ("-" | "+") unary | power
    power      := primary ["^" unary]
    primary    := NUMBER | STRING | "(" expr ")" | call | aggregation | selector
    selector   := NAME ["{" matcher ("," matcher)* "}"] ["[" DURATION "]"]
    matching   := ("on" | "ignoring") "(" [NAME ("," NAME)*] ")"

Conveniences beyond PromQL: `avg(x[5m])`, `min`, `max`, `sum`, `count` over a range mean the
`*_over_time` functions; `p95(x[5m])` / `p99(...)` are `quantile_over_time(0.95, ...)`, and
`p95(x)` over an instant vector is `quantile(0.95, x)`; label values may be left unquoted.
"""

from __future__ import annotations

import re

from opsbook.alerts.language import ast
from opsbook.alerts.language.errors import ConditionError
from opsbook.alerts.language.lexer import Kind, Token, tokenize, unquote
from opsbook.alerts.language.units import duration_seconds, parse_number

AGGREGATIONS = {"sum", "avg", "min", "max", "count", "quantile", "stddev", "stdvar", "group"}
_OVER_TIME = {"sum", "avg", "min", "max", "count", "stddev", "stdvar"}
_PERCENTILE = re.compile(r"p(\d{2,3})")
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "bool"}


def parse(text: str) -> ast.Node:
    """The syntax tree of `text`. Raises ConditionError naming the place of the problem."""
    parser = _Parser(text)
    node = parser.expr()
    parser.expect_end()
    return node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers ---------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def fail(self, message: str, token: Token | None = None) -> ConditionError:
        token = token or self.current
        return ConditionError(message, self.text, token.position)

    def found(self, token: Token | None = None) -> str:
        token = token or self.current
        return "the end of the condition" if token.kind is Kind.END else repr(token.text)

    def expect_punct(self, char: str, what: str) -> Token:
        if not self.current.is_punct(char):
            raise self.fail(f"expected {char!r} {what}, found {self.found()}")
        return self.advance()

    def expect_end(self) -> None:
        if self.current.kind is not Kind.END:
            raise self.fail(f"unexpected {self.found()} after a complete condition")

    # -- binary operators ------------------------------------------------------------------
    def expr(self) -> ast.Node:
        return self.or_expr()

    def or_expr(self) -> ast.Node:
        node = self.and_expr()
        while self.current.is_word("or"):
            op = self.advance()
            matching = self.matching()
            node = ast.Binary("or", node, self.and_expr(), matching, pos=op.position)
        return node

    def and_expr(self) -> ast.Node:
        node = self.compare()
        while self.current.is_word("and", "unless"):
            op = self.advance()
            matching = self.matching()
            node = ast.Binary(op.text.lower(), node, self.compare(), matching, pos=op.position)
        return node

    def compare(self) -> ast.Node:
        node = self.sum()
        while self.current.is_op(*ast.COMPARISONS) or self.current.is_op("="):
            op = self.advance()
            if op.text == "=":
                raise self.fail("use == to compare for equality", op)
            bool_result = False
            if self.current.is_word("bool"):
                self.advance()
                bool_result = True
            matching = self.matching()
            node = ast.Binary(op.text, node, self.sum(), matching, bool_result, op.position)
        return node

    def sum(self) -> ast.Node:
        node = self.product()
        while self.current.is_op("+", "-"):
            op = self.advance()
            node = ast.Binary(op.text, node, self.product(), self.matching(), pos=op.position)
        return node

    def product(self) -> ast.Node:
        node = self.unary()
        while self.current.is_op("*", "/", "%"):
            op = self.advance()
            node = ast.Binary(op.text, node, self.unary(), self.matching(), pos=op.position)
        return node

    def unary(self) -> ast.Node:
        if self.current.is_op("-", "+"):
            op = self.advance()
            inner = self.unary()
            return ast.Negate(inner, op.position) if op.text == "-" else inner
        return self.power()

    def power(self) -> ast.Node:
        node = self.primary()
        if self.current.is_op("^"):
            op = self.advance()
            node = ast.Binary("^", node, self.unary(), self.matching(), pos=op.position)
        return node

    def matching(self) -> ast.Matching | None:
        if not self.current.is_word("on", "ignoring"):
            return None
        on = self.advance().text.lower() == "on"
        labels = self.label_list()
        if self.current.is_word("group_left", "group_right"):
            raise self.fail("group_left and group_right are not supported")
        return ast.Matching(labels, on)

    def label_list(self) -> tuple[str, ...]:
        self.expect_punct("(", "to start a list of label names")
        names: list[str] = []
        while not self.current.is_punct(")"):
            if self.current.kind is not Kind.IDENT:
                raise self.fail(f"expected a label name, found {self.found()}")
            names.append(self.advance().text)
            if not self.current.is_punct(","):
                break
            self.advance()
        self.expect_punct(")", "to end the list of label names")
        return tuple(names)

    # -- primaries -------------------------------------------------------------------------
    def primary(self) -> ast.Node:
        token = self.current
        if token.kind is Kind.NUMBER:
            self.advance()
            return ast.Number(parse_number(token.text), token.position)
        if token.kind is Kind.STRING:
            self.advance()
            return ast.String(unquote(token), token.position)
        if token.is_punct("("):
            self.advance()
            node = self.expr()
            self.expect_punct(")", "to close the parenthesis")
            if self.current.is_punct("["):
                raise self.fail("a range [..] applies to a metric name, not to an expression")
            return node
        if token.kind is Kind.IDENT and token.text.lower() not in _KEYWORDS:
            return self.name_expression()
        if token.kind is Kind.END:
            raise self.fail("the condition ends too early: expected a metric, number or (")
        raise self.fail(f"expected a metric, number or (, found {self.found()}")

    def name_expression(self) -> ast.Node:
        token = self.advance()
        name = token.text
        aggregation = name.lower() in AGGREGATIONS or _PERCENTILE.fullmatch(name)
        if aggregation and (self.current.is_punct("(") or self.current.is_word("by", "without")):
            return self.aggregation(token)
        if self.current.is_punct("("):
            return ast.Call(name, self.arguments(), token.position)
        return self.selector(token)

    def arguments(self) -> tuple[ast.Node, ...]:
        self.expect_punct("(", "to start the arguments")
        args: list[ast.Node] = []
        while not self.current.is_punct(")"):
            args.append(self.expr())
            if not self.current.is_punct(","):
                break
            self.advance()
        self.expect_punct(")", "to end the arguments")
        return tuple(args)

    def aggregation(self, token: Token) -> ast.Node:
        grouping, without = self.grouping()
        args = self.arguments()
        if not grouping and not without:
            grouping, without = self.grouping()
        op = token.text.lower()
        percentile = _PERCENTILE.fullmatch(op)
        if percentile:
            digits = percentile[1]
            phi: ast.Node = ast.Number(int(digits) / 10 ** len(digits), token.position)
            args = (phi, *args)
            op = "quantile"
        if len(args) == 2 and op == "quantile":
            param, expr = args
        elif len(args) == 1 and op != "quantile":
            param, expr = None, args[0]
        else:
            wanted = "a number and an expression" if op == "quantile" else "one expression"
            raise self.fail(f"{token.text}() takes {wanted}", token)
        is_range = isinstance(expr, ast.Selector) and expr.range_seconds is not None
        if is_range and not grouping and not without:
            if op == "quantile":
                return ast.Call("quantile_over_time", (param, expr), token.position)  # type: ignore[arg-type]
            if op in _OVER_TIME:
                return ast.Call(f"{op}_over_time", (expr,), token.position)
        return ast.Aggregate(op, expr, param, grouping, without, token.position)

    def grouping(self) -> tuple[tuple[str, ...], bool]:
        if self.current.is_word("by", "without"):
            without = self.advance().text.lower() == "without"
            return self.label_list(), without
        return (), False

    def selector(self, token: Token) -> ast.Selector:
        matchers: tuple[ast.Matcher, ...] = ()
        if self.current.is_punct("{"):
            matchers = self.matchers()
        range_seconds = None
        if self.current.is_punct("["):
            open_token = self.advance()
            value = self.current
            seconds = duration_seconds(value.text) if value.kind is Kind.NUMBER else None
            if seconds is None or seconds <= 0:
                raise self.fail(f"expected a window such as [5m], found {self.found()}", value)
            self.advance()
            if self.current.text.startswith(":"):
                raise self.fail("subqueries are not supported", open_token)
            self.expect_punct("]", "to close the window")
            range_seconds = seconds
        return ast.Selector(token.text, matchers, range_seconds, token.position)

    def matchers(self) -> tuple[ast.Matcher, ...]:
        self.expect_punct("{", "")
        found: list[ast.Matcher] = []
        while not self.current.is_punct("}"):
            found.append(self.matcher())
            if not self.current.is_punct(","):
                break
            self.advance()
        self.expect_punct("}", "to close the label matchers")
        return tuple(found)

    def matcher(self) -> ast.Matcher:
        label = self.current
        if label.kind is not Kind.IDENT:
            raise self.fail(f"expected a label name, found {self.found()}")
        self.advance()
        op = self.current
        if not op.is_op("=", "!=", "=~", "!~"):
            raise self.fail(f"expected =, !=, =~ or !~ after {label.text}, found {self.found()}")
        self.advance()
        value = self.current
        if value.kind is Kind.STRING:
            text = unquote(value)
        elif value.kind in (Kind.IDENT, Kind.NUMBER):
            text = value.text
        else:
            raise self.fail(f"expected a value for {label.text}, found {self.found()}")
        self.advance()
        pattern = None
        if op.text in ("=~", "!~"):
            try:
                pattern = re.compile(text)
            except re.error as exc:
                raise self.fail(f"invalid regular expression: {exc.msg}", value) from None
        return ast.Matcher(label.text, op.text, text, pattern)


def parse_matcher_list(text: str) -> tuple[ast.Matcher, ...]:
    """Matchers written without a metric name: `a="x", b=~"y.*"`."""
    parser = _Parser("{" + text + "}")
    found = parser.matchers()
    parser.expect_end()
    if not found:
        raise ConditionError('expected at least one matcher such as alertname="X"', text, 0)
    return found
