"""Every SQL statement is parameterized: a static scan of hotmesh/ (``ast``) and its .sql files.

Each asyncpg call (``execute``, ``fetch``, ``fetchrow``, ``fetchval``,
``executemany``, ``prepare``, ``cursor``) must take its query from a named
``queries.sql`` block (``self._q["name"]``), a string literal, or a ``.sql``
file whose only substitution is ``__SCHEMA__`` → ``quote_schema(...)``. Values
travel as ``$n`` parameters. The few f-strings (DDL, where an identifier cannot
be a parameter) are listed in ``ALLOWED`` with the reason, and may interpolate
only names validated by ``quote_schema``/``validate_name``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotmesh import errors
from hotmesh.config import validate_name
from hotmesh.store.migrate import quote_schema
from hotmesh.store.sql import migrations, queries

ROOT = Path(__file__).resolve().parents[2] / "hotmesh"
DB_METHODS = {
    "execute",
    "executemany",
    "fetch",
    "fetchrow",
    "fetchval",
    "prepare",
    "cursor",
}
#: names shared with other APIs (``engine.prepare``): checked on connections only
CONNECTION_ONLY = {"prepare", "cursor"}
CONNECTIONS = {"conn", "_conn", "connection", "pool", "_pool"}
VALIDATORS = {"quote_schema", "validate_name"}

#: (file, function) -> why an f-string query is legitimate there
ALLOWED = {
    ("store/migrate.py", "migrate"): (
        "DDL on the schema itself (CREATE SCHEMA, the migrations table); a schema "
        "name cannot be a bind parameter, so it is validated and quoted by quote_schema"
    ),
    ("store/admin.py", "create_database"): (
        "CREATE DATABASE for test fixtures; the name is checked by validate_name "
        "([a-z_][a-z0-9_]*) and quoted"
    ),
    ("store/admin.py", "drop_database"): (
        "DROP DATABASE for test fixtures; same validation as create_database"
    ),
}
#: (file, function, variable) -> why a query held in that variable is safe
ALLOWED_NAMES = {
    ("store/migrate.py", "migrate", "sql"): (
        "the numbered migration files shipped in the package, with the quoted schema"
    ),
    ("store/keeper.py", "statement", "query"): (
        "runs one statement on a kept connection for its callers, which pass "
        "self._q[...] blocks (claim) or q[...] blocks (tx.create_job, tx.write_step "
        "through _Statements), each checked where it is written"
    ),
}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    function: str
    problem: str

    def __str__(self) -> str:
        return f"hotmesh/{self.file}:{self.line} in {self.function}(): {self.problem}"


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _is_validated(node: ast.AST, assigns: dict[str, list[ast.AST]]) -> bool:
    """A call to quote_schema/validate_name, or a name only ever assigned one."""
    if isinstance(node, ast.Call) and _name(node.func) in VALIDATORS:
        return True
    if isinstance(node, ast.Name) and node.id in assigns:
        values = assigns[node.id]
        return bool(values) and all(_is_validated(v, {}) for v in values)
    return False


def _constant_key(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    return isinstance(node, ast.IfExp) and all(
        _constant_key(n) for n in (node.body, node.orelse)
    )


class Scanner:
    """Classifies the query argument of every database call in one module."""

    def __init__(self, file: str, tree: ast.Module) -> None:
        self.file = file
        self.tree = tree
        self.module_constants = {
            t.id: node.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name) and t.id.isupper()
        }
        self.findings: list[Finding] = []
        self.calls = 0

    def functions(self) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield node

    def scan(self) -> None:
        for func in self.functions():
            assigns: dict[str, list[ast.AST]] = {}
            loops: dict[str, ast.AST] = {}
            for node in ast.walk(func):
                if isinstance(node, ast.Assign):
                    for t in node.targets:
                        if isinstance(t, ast.Name):
                            assigns.setdefault(t.id, []).append(node.value)
                elif isinstance(node, ast.For):
                    for t in ast.walk(node.target):
                        if isinstance(t, ast.Name):
                            loops[t.id] = node.iter
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in DB_METHODS
                    and node.args
                    and (
                        node.func.attr not in CONNECTION_ONLY
                        or _name(node.func.value) in CONNECTIONS
                    )
                ):
                    self.calls += 1
                    problem = self.query_problem(
                        node.args[0], func.name, assigns, loops
                    )
                    if problem:
                        self.findings.append(
                            Finding(self.file, node.lineno, func.name, problem)
                        )

    def query_problem(
        self,
        query: ast.AST,
        function: str,
        assigns: dict[str, list[ast.AST]],
        loops: dict[str, ast.AST],
        depth: int = 0,
    ) -> str | None:
        """Why ``query`` may carry data into SQL text, or ``None`` if it cannot."""
        if depth > 5:
            return "query traced through too many assignments"
        if isinstance(query, ast.Constant) and isinstance(query.value, str):
            return None
        if isinstance(query, ast.Subscript):
            holder = _name(query.value)
            if (holder in ("q", "_q") or holder == "queries") and _constant_key(
                query.slice
            ):
                return None
            return f"query from {ast.unparse(query)}, not a named query"
        if isinstance(query, ast.Call) and _name(query.func) == "replace":
            args = query.args
            if (
                len(args) == 2
                and isinstance(args[0], ast.Constant)
                and args[0].value == "__SCHEMA__"
                and _is_validated(args[1], assigns)
            ):
                return None
            return f"string replace into SQL: {ast.unparse(query)}"
        if isinstance(query, ast.Name):
            if (self.file, function, query.id) in ALLOWED_NAMES:
                return None
            if query.id in self.module_constants:
                return self.query_problem(
                    self.module_constants[query.id], function, {}, {}, depth + 1
                )
            if query.id in loops:
                return f"query taken from a loop over {ast.unparse(loops[query.id])}"
            values = assigns.get(query.id)
            if not values:
                return f"query from '{query.id}', which is not assigned here"
            for value in values:
                problem = self.query_problem(value, function, assigns, loops, depth + 1)
                if problem:
                    return problem
            return None
        if isinstance(query, ast.JoinedStr):
            if (self.file, function) not in ALLOWED:
                return f"f-string SQL: {ast.unparse(query)[:80]}"
            for part in query.values:
                if isinstance(part, ast.FormattedValue) and not _is_validated(
                    part.value, assigns
                ):
                    return (
                        f"f-string interpolates {ast.unparse(part.value)}, not a "
                        "name checked by quote_schema/validate_name"
                    )
            return None
        if isinstance(query, ast.BinOp):
            return f"SQL built with an operator: {ast.unparse(query)[:80]}"
        if isinstance(query, ast.Call) and _name(query.func) == "format":
            return f"SQL built with str.format: {ast.unparse(query)[:80]}"
        return f"query from an unrecognised expression: {ast.unparse(query)[:80]}"


def scan_source(file: str, source: str) -> Scanner:
    scanner = Scanner(file, ast.parse(source))
    scanner.scan()
    return scanner


def scan_package() -> tuple[list[Finding], int]:
    findings: list[Finding] = []
    calls = 0
    for path in sorted(ROOT.rglob("*.py")):
        scanner = scan_source(str(path.relative_to(ROOT)), path.read_text())
        findings.extend(scanner.findings)
        calls += scanner.calls
    return findings, calls


def test_every_database_call_in_hotmesh_takes_a_parameterized_query() -> None:
    findings, calls = scan_package()
    assert calls >= 50, "the scan found too few database calls: is it looking?"
    assert not findings, "\n".join(str(f) for f in findings)


def test_every_allowlisted_exception_still_exists() -> None:
    """A stale entry would silently allow a future f-string in that function."""
    for file, function in ALLOWED:
        tree = ast.parse((ROOT / file).read_text())
        names = {
            n.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        assert function in names, (file, function)
        assert any(
            isinstance(n, ast.JoinedStr)
            for f in ast.walk(tree)
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            and f.name == function
            for n in ast.walk(f)
        ), f"{file}:{function} has no f-string any more: drop it from ALLOWED"


BAD = {
    "f-string with data": "async def f(conn, jid):\n    await conn.execute(f\"DELETE FROM t WHERE id = '{jid}'\")\n",
    "concatenation": 'async def f(conn, jid):\n    await conn.fetch("SELECT * FROM t WHERE id = " + jid)\n',
    "percent": 'async def f(conn, jid):\n    await conn.fetchrow("SELECT %s" % jid)\n',
    "format": 'async def f(conn, jid):\n    await conn.fetchval("SELECT {}".format(jid))\n',
    "via a variable": 'async def f(conn, jid):\n    sql = "SELECT " + jid\n    await conn.execute(sql)\n',
    "dynamic query name": "async def f(self, name):\n    await self._conn.execute(self._q[name])\n",
    "replace with data": 'async def f(conn, jid):\n    await conn.fetch(SQL.replace("__SCHEMA__", jid))\n',
    "f-string in an allowlisted function, unvalidated": 'async def migrate(conn, schema):\n    await conn.execute(f"CREATE SCHEMA {schema}")\n',
}
GOOD = {
    "named query": 'async def f(self, jid):\n    await self._conn.execute(self._q["ack"], jid)\n',
    "named query chosen by a flag": 'async def f(self, x, jid):\n    q = self._q["a" if x else "b"]\n    await self._pool.fetch(q, jid)\n',
    "literal": 'async def f(conn, jid):\n    await conn.fetchval("SELECT $1::text", jid)\n',
    "sql file with the schema": 'async def f(conn, s):\n    sql = TEXT.replace("__SCHEMA__", quote_schema(s))\n    await conn.fetch(sql)\n',
    "validated DDL": 'async def migrate(conn, schema):\n    quoted = quote_schema(schema)\n    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")\n',
}


@pytest.mark.parametrize("source", BAD.values(), ids=BAD.keys())
def test_the_scanner_flags_string_built_sql(source: str) -> None:
    assert scan_source("store/migrate.py", source).findings


@pytest.mark.parametrize("source", GOOD.values(), ids=GOOD.keys())
def test_the_scanner_accepts_parameterized_sql(source: str) -> None:
    assert not scan_source("store/migrate.py", source).findings


# -- the .sql files ------------------------------------------------------------------

SQL_FILES = sorted(ROOT.rglob("*.sql"))
DYNAMIC = re.compile(
    r"\bEXECUTE\b|\bformat\s*\(|quote_ident|quote_literal|quote_nullable",
    re.IGNORECASE,
)
PY_PLACEHOLDER = re.compile(r"%s|%\(\w+\)s|\{[A-Za-z_]\w*\}")
TOKEN = re.compile(r"__[A-Z]+__")


def _code(text: str) -> str:
    """SQL without its ``--`` comments."""
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def test_sql_files_exist() -> None:
    names = {p.name for p in SQL_FILES}
    assert {"queries.sql", "0001_initial.sql", "search.sql"} <= names


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_sql_files_hold_no_dynamic_sql_and_only_the_schema_token(path: Path) -> None:
    code = _code(path.read_text())
    assert not DYNAMIC.findall(code), f"{path.name}: dynamic SQL"
    assert not PY_PLACEHOLDER.findall(code), f"{path.name}: a Python placeholder"
    assert set(TOKEN.findall(code)) <= {"__SCHEMA__"}, path.name


def test_every_named_query_takes_values_as_parameters_only() -> None:
    named = queries('"hotmesh"')
    assert len(named) >= 40
    for name, sql in named.items():
        assert "__SCHEMA__" not in sql, name
        # string literals in a query are fixed words, never a value's slot
        for literal in re.findall(r"'([^']*)'", _code(sql)):
            assert re.fullmatch(r"[\w\[\]{}:|, .-]*", literal), (name, literal)
    for _number, sql in migrations('"hotmesh"'):
        assert "__SCHEMA__" not in sql


@pytest.mark.parametrize(
    "schema",
    [
        'hotmesh"; DROP TABLE x; --',
        "hot mesh",
        "Hotmesh",
        "1abc",
        "a-b",
        "a" * 64,
        "",
        "hotmesh\x00",
        "ḧotmesh",
    ],
)
def test_the_one_substitution_refuses_anything_but_a_plain_identifier(
    schema: str,
) -> None:
    with pytest.raises(errors.ConfigError):
        quote_schema(schema)
    with pytest.raises(errors.ConfigError):
        validate_name(schema, "database name")
