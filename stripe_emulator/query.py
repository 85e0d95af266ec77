"""Stripe's search query language (docs.stripe.com/search#search-query-language) over a term index.

A query is clauses `field:value` (exact), `field~value` (substring, string fields, at least 3 characters),
`field>value` / `<` / `>=` / `<=` (numeric fields: amounts and Unix-time dates), `metadata['key']:'value'`,
`field:null` (the field or metadata key is absent), each optionally negated with `-`, joined by spaces or `AND`,
or by `OR` — never both AND and OR in one query, and no parentheses (docs: "AND and OR operators are mutually
exclusive"). String values are quoted with ' or " (a backslash escapes a quote); numbers may go bare.

Searchable objects keep, beside their row, one row per searchable value in `<table>_terms` (seq, field, value,
num), written with every insert and update (store.SEARCH_TERMS, which rewrites only the terms that changed). A
clause is then an indexed lookup of row numbers or a per-row probe, and the page walks the table's (created, seq)
index newest first without reading a body, so a search costs about the same at 100k objects as at 100.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stripe_emulator import store as store_module
from stripe_emulator.core import MAX_EXPAND_DEPTH, Context, RawList, expand
from stripe_emulator.errors import invalid

STRING, TOKEN, NUMERIC = "string", "token", "numeric"
# Every searchable table has its own indexed `created` column: clauses on it test that, and it has no terms.
CREATED = "created"
MIN_SUBSTRING = 3  # docs.stripe.com/search: substring matching needs a value of at least 3 characters
# A term: (field, text value (None for numbers), numeric value (None for text))
Term = tuple[str, str | None, int | None]


@dataclass(frozen=True)
class Field:
    """A searchable field: its kind and how to read its value from an object."""

    kind: str
    read: Callable[[dict[str, Any]], Any]


def path(dotted: str) -> Callable[[dict[str, Any]], Any]:
    """A reader of a dotted path (`billing_details.address.postal_code`); None when any step is missing."""
    steps = dotted.split(".")

    def read(obj: dict[str, Any]) -> Any:
        value: Any = obj
        for step in steps:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
        return value

    return read


def fields(spec: dict[str, str]) -> dict[str, Field]:
    """Fields read at their own dotted path: {name: kind}."""
    return {name: Field(kind, path(name)) for name, kind in spec.items()}


@dataclass(frozen=True)
class Searchable:
    """What one table offers to search: its fields (metadata is always searchable), and objects to leave out."""

    table: str
    kind: str  # the resource's name in error messages and docs anchors ("charges")
    fields: dict[str, Field]
    hidden: Callable[[dict[str, Any]], bool] | None = None  # objects search never shows (deleted customers)


SEARCHABLE: dict[str, Searchable] = {}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def terms_of(searchable: Searchable) -> Callable[[dict[str, Any]], list[Term]]:
    """The function giving an object's search terms (strings lower-cased: matching ignores case)."""

    def terms(obj: dict[str, Any]) -> list[Term]:
        if searchable.hidden is not None and searchable.hidden(obj):
            return [("__hidden", "1", None)]
        found: list[Term] = []
        for name, field in searchable.fields.items():
            if name == CREATED:
                continue
            value = field.read(obj)
            if field.kind == NUMERIC:
                if isinstance(value, int) and not isinstance(value, bool):
                    found.append((name, None, value))
            else:
                text = _text(value)
                if text is not None:
                    found.append((name, text.lower(), None))
        for key, value in (obj.get("metadata") or {}).items():
            found.append((f"metadata[{key}]", str(value).lower(), None))
        return found

    return terms


def register(searchable: Searchable) -> None:
    """Make a table searchable: its objects' terms are kept from now on (call before the Store is opened)."""
    SEARCHABLE[searchable.table] = searchable
    store_module.SEARCH_TERMS[searchable.table] = terms_of(searchable)


# ---------------------------------------------------------------- parsing

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<quoted>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>>=|<=|[:~<>])
    | (?P<open>\[)|(?P<close>\])
    | (?P<minus>-(?=[A-Za-z]))
    | (?P<word>[A-Za-z0-9_.@+\-]+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Clause:
    """One `field op value` clause; `value` None is `null`."""

    field: str
    op: str
    value: str | None
    negated: bool


def _bad(query: str, why: str) -> Exception:
    return invalid(f"Invalid search query `{query}`: {why} See https://stripe.com/docs/search.", param="query")


def _tokens(query: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(query):
        if query[position:].strip() == "":
            break
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            raise _bad(query, f"unexpected character at position {position}.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(query: str) -> tuple[list[Clause], str]:
    """The clauses of a query and how they combine ("AND" or "OR"); Stripe's 400 for a malformed query."""
    tokens = _tokens(query)
    if not tokens:
        raise _bad(query, "the query is empty.")
    clauses: list[Clause] = []
    joins: set[str] = set()
    index = 0
    while index < len(tokens):
        if clauses:
            kind, text = tokens[index]
            if kind == "word" and text.upper() in ("AND", "OR"):
                joins.add(text.upper())
                index += 1
            else:
                joins.add("AND")  # a space joins with AND
        clause, index = _clause(query, tokens, index)
        clauses.append(clause)
    if len(joins) > 1:
        # docs.stripe.com/search#search-query-language: "AND and OR operators are mutually exclusive"
        raise _bad(query, "AND and OR cannot be combined in one query.")
    return clauses, joins.pop() if joins else "AND"


def _clause(query: str, tokens: list[tuple[str, str]], index: int) -> tuple[Clause, int]:
    def at(i: int) -> tuple[str, str]:
        return tokens[i] if i < len(tokens) else ("end", "")

    negated = at(index)[0] == "minus"
    index += negated
    kind, name = at(index)
    if kind != "word" or name.upper() in ("AND", "OR"):
        raise _bad(query, f"expected a field name, found `{name or 'the end'}`.")
    index += 1
    if at(index)[0] == "open":
        key_kind, key = at(index + 1)
        if name != "metadata" or key_kind != "quoted" or at(index + 2)[0] != "close":
            raise _bad(query, "only metadata takes a key, written metadata['key'].")
        name = f"metadata[{_unquote(key)}]"
        index += 3
    op_kind, op = at(index)
    if op_kind != "op":
        raise _bad(query, f"expected an operator (: ~ > < >= <=) after `{name}`.")
    value_kind, value = at(index + 1)
    if value_kind == "quoted":
        text: str | None = _unquote(value)
    elif value_kind == "word" and value.upper() not in ("AND", "OR"):
        text = None if value == "null" else value
    else:
        raise _bad(query, f"expected a value after `{name}{op}`.")
    return Clause(name, op, text, negated), index + 2


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Test:
    """One clause as a test on a term table: `predicate` (SQL on the terms' field/value/num) and whether the
    object must have (`present`) or must not have such a term."""

    predicate: str
    args: list[Any]
    present: bool
    direct: bool = False  # `predicate` is on the walked rows themselves (their `created`), not a term


def _test(query: str, searchable: Searchable, clause: Clause) -> Test:
    name = clause.field
    if name.startswith("metadata["):
        kind = TOKEN
    elif name in searchable.fields:
        kind = searchable.fields[name].kind
    else:
        raise invalid(
            f"Field `{name}` is an unsupported search field for resource `{searchable.kind}`. See "
            f"https://stripe.com/docs/search#query-fields-for-{searchable.kind} for a list of supported fields.",
            param="query",
        )
    present = not clause.negated
    if name == CREATED and clause.value is None and clause.op == ":":
        return Test("o.created IS NULL", [], present, direct=True)  # never: every object has its time
    if name == CREATED and clause.value is not None and clause.op != "~":
        op = "=" if clause.op == ":" else clause.op
        return Test(f"o.created {op} ?", [_number(query, clause)], present, direct=True)
    if clause.value is None:
        if clause.op != ":":
            raise _bad(query, f"`null` takes the `:` operator (`{name}:null`).")
        return Test("field = ?", [name], not present)  # `field:null`: no term for the field
    if clause.op == ":" and kind == NUMERIC:
        return Test("field = ? AND value = '' AND num = ?", [name, _number(query, clause)], present)
    if clause.op == ":":
        return Test("field = ? AND value = ?", [name, clause.value.lower()], present)
    if clause.op == "~":
        if kind != STRING:
            raise _bad(query, f"the field `{name}` does not support substring matching (~).")
        if len(clause.value) < MIN_SUBSTRING:
            raise _bad(query, f"a substring match (~) needs at least {MIN_SUBSTRING} characters.")
        pattern = "%" + re.sub(r"([%_\\])", r"\\\1", clause.value.lower()) + "%"
        return Test("field = ? AND value LIKE ? ESCAPE '\\'", [name, pattern], present)
    if kind != NUMERIC:
        raise _bad(query, f"the field `{name}` does not support the numeric comparator {clause.op}.")
    return Test(f"field = ? AND value = '' AND num {clause.op} ?", [name, _number(query, clause)], present)


def _number(query: str, clause: Clause) -> int:
    if clause.value is None or not re.fullmatch(r"-?\d{1,18}", clause.value):
        raise _bad(query, f"`{clause.field}` takes a whole number, not `{clause.value}`.")
    return int(clause.value)


def _narrow(conn: Any, terms: str, test: Test, cutoff: int) -> bool:
    """Whether fewer than `cutoff` objects pass a positive test (counted no further than the cutoff)."""
    if not test.present or test.direct:
        return False
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {terms} WHERE {test.predicate} LIMIT ?)"
    return conn.execute(sql, [*test.args, cutoff]).fetchone()[0] < cutoff


def where(conn: Any, query: str, searchable: Searchable, limit: int) -> tuple[str, str, list[Any]]:
    """(rows to walk, condition on them, arguments) for a query, shaped for the cheapest plan; the rows are `o`,
    with `created` and `seq`.

    A positive AND clause that few objects pass drives: its terms are walked in their (field, value, created)
    index order, newest first, without touching the objects' table. Otherwise the table's (created, seq) index is
    walked newest first with a probe per clause (an OR of narrow clauses looks up their row numbers instead).
    Both stop after `limit` hits. The cut-off is where the two cost about the same: sqrt(limit x rows) objects."""
    table, terms = searchable.table, f"{searchable.table}_terms"
    clauses, join = parse(query)
    tests = [_test(query, searchable, clause) for clause in clauses]
    rows = conn.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {table}").fetchone()[0]
    cutoff = max(int(((limit + 1) * rows) ** 0.5), 100)
    narrow = [_narrow(conn, terms, test, cutoff) for test in tests]
    driver = narrow.index(True) if join == "AND" and any(narrow) else None
    as_sets = join == "OR" and all(narrow)
    parts: list[str] = []
    args: list[Any] = []
    for index, test in enumerate(tests):
        if index == driver:
            parts.append(test.predicate)
        elif test.direct:
            parts.append(test.predicate if test.present else f"NOT ({test.predicate})")
        elif as_sets:
            parts.append(f"seq IN (SELECT seq FROM {terms} WHERE {test.predicate})")
        else:
            probe = f"EXISTS (SELECT 1 FROM {terms} WHERE seq = o.seq AND {test.predicate})"
            parts.append(probe if test.present else f"NOT {probe}")
        args += test.args
    sql = "(" + f" {join} ".join(f"({part})" for part in parts) + ")"
    if searchable.hidden is not None:
        sql += f" AND NOT EXISTS (SELECT 1 FROM {terms} WHERE seq = o.seq AND field = '__hidden')"
    return (f"{table} AS o" if driver is None else f"{terms} AS o"), sql, args


def _page_token(created: int, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{created}:{seq}".encode()).decode().rstrip("=")


def _read_page_token(token: str) -> tuple[int, int]:
    try:
        created, seq = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
        return int(created), int(seq)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(f"Invalid page: {token[:40]}", param="page") from exc


def search(ctx: Context, table: str, url: str, params: dict[str, Any]) -> dict[str, Any] | RawList:
    """A search endpoint's answer for checked `query`, `limit`, `page`, `expand`: newest first, page by page.

    docs.stripe.com/api/pagination/search: `{object: "search_result", data, has_more, next_page, url}`, and
    `total_count` when asked for with `expand[]=total_count`."""
    searchable = SEARCHABLE[table]
    limit = params.get("limit", 10)
    paging = ""
    if params.get("page"):
        created, seq = _read_page_token(params["page"])
        paging = " AND (o.created < ? OR (o.created = ? AND o.seq < ?))"
        args_page = [created, created, seq]
    else:
        args_page = []
    conn = ctx.store.conn
    with ctx.store.lock:
        source, condition, args = where(conn, params["query"], searchable, limit)
        rows = conn.execute(
            f"SELECT o.created, o.seq FROM {source} WHERE {condition}{paging} ORDER BY o.created DESC, o.seq DESC"
            " LIMIT ?",
            [*args, *args_page, limit + 1],
        ).fetchall()
        has_more = len(rows) > limit
        rows = rows[:limit]
        bodies = {
            seq: body
            for seq, body in conn.execute(
                f"SELECT seq, body FROM {table} WHERE seq IN ({','.join('?' * len(rows))})", [seq for _, seq in rows]
            )
        }
        paths = list(params.get("expand") or [])
        total = None
        if "total_count" in paths:
            paths.remove("total_count")
            total = conn.execute(f"SELECT COUNT(*) FROM {source} WHERE {condition}", args).fetchone()[0]
    item_paths = [_item_path(expanded) for expanded in paths]
    next_page = _page_token(*rows[-1]) if has_more else None
    texts = [bodies[seq] for _, seq in rows]
    if not item_paths:  # sent as stored, unparsed, as list pages are
        return RawSearchResult(url, texts, has_more, next_page, total)
    result: dict[str, Any] = {
        "object": "search_result",
        "data": [expand(ctx, json.loads(text), item_paths) for text in texts],
        "has_more": has_more,
        "next_page": next_page,
        "url": url,
    }
    if total is not None:
        result["total_count"] = total
    return result


@dataclass
class RawSearchResult(RawList):
    """A search result page whose objects are still the stored JSON texts."""

    next_page: str | None = None
    total_count: int | None = None

    def render(self) -> str:
        """The search result's JSON text."""
        head: dict[str, Any] = {"object": "search_result", "has_more": self.has_more, "next_page": self.next_page}
        head["url"] = self.url
        if self.total_count is not None:
            head["total_count"] = self.total_count
        return json.dumps(head)[:-1] + ', "data": [' + ",".join(self.bodies) + "]}"


def _item_path(expanded: str) -> str:
    if not expanded.startswith("data."):
        raise invalid(f"This property cannot be expanded ({expanded}).", param="expand")
    if expanded.count(".") >= MAX_EXPAND_DEPTH:
        raise invalid(
            f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. Property: {expanded}",
            param="expand",
        )
    return expanded.removeprefix("data.")
