"""The layering, checked on the source: which package may import which, where python-telegram-bot
may be imported, and that no module of the product imports itself round a cycle.

The import graph is built from the AST of every module of knowledge/, scheduler/, storage/ and
bot/ (imports inside functions included: they run too, just later). An edge goes to the module
named (``from a.b import c`` -> ``a.b``, or ``a.b.c`` when that is a module of its own)."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("knowledge", "scheduler", "storage", "bot")
# The checks share the parsed modules (`nodes`), so they run in one pytest-xdist worker, which
# reads and walks every module once, not once in each worker (tests/conftest.py: the mark).
pytestmark = pytest.mark.xdist_group("architecture")


@functools.cache
def parse(source: str) -> ast.Module:
    """The AST of `source`, parsed once per test process (the checks below only read it)."""
    return ast.parse(source)


@functools.cache
def walk(source: str) -> tuple[ast.AST, ...]:
    """Every node of `source`'s AST (``ast.walk`` order), walked once per test process."""
    return tuple(ast.walk(parse(source)))


@functools.cache
def read(path: Path) -> str:
    """The text of a product file, read once per test process."""
    return path.read_text(encoding="utf-8")


@functools.cache
def nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of the file's AST (``ast.walk`` order), walked once per test process: the
    checks below each look at every node of every module (the same walk as ``walk``'s of
    the file's text: each file is parsed and walked once)."""
    return walk(read(path))


@pytest.fixture(scope="module", autouse=True)
def _parsed_for_this_module_only() -> Iterator[None]:
    """The parsed modules are kept while this module's checks run and dropped after them:
    some 350,000 AST nodes, tuples and dicts that the worker's garbage collector, and
    tests/holders.py's searches of the worker's memory (the privacy tests), would otherwise
    walk again and again for the rest of the run."""
    yield
    for cached in (parse, walk, read, nodes, product_modules, imported_names):
        cached.cache_clear()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def product_modules() -> dict[str, Path]:
    """Module name -> file, for every module of the product (migrations excluded)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


@functools.cache
def imported_names(path: Path, name: str) -> tuple[tuple[str, int], ...]:
    """(imported module or module.attribute, line) for every import statement in the file."""
    return tuple(_imports(path, name))


def _imports(path: Path, name: str) -> Iterator[tuple[str, int]]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in nodes(path):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno
            yield base, node.lineno


def import_graph() -> dict[str, set[str]]:
    """Module -> the product modules it imports."""
    modules = product_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target, _ in imported_names(path, name):
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def imports_of(package: str) -> Iterator[tuple[str, str, int]]:
    """(module, imported name, line) for every import in `package`."""
    for name, path in product_modules().items():
        if name == package or name.startswith(package + "."):
            for target, line in imported_names(path, name):
                yield name, target, line


def top(name: str) -> str:
    return name.split(".", 1)[0]


def test_telegram_is_imported_only_under_bot_telegram() -> None:
    outside = [f"{module}:{line} imports {target}"
               for package in PACKAGES for module, target, line in imports_of(package)
               if top(target) == "telegram" and not module.startswith("bot.telegram")]
    assert outside == []


def test_knowledge_is_pure() -> None:
    upward = [f"{module}:{line} imports {target}"
              for module, target, line in imports_of("knowledge")
              if top(target) in ("scheduler", "bot", "storage")]
    assert upward == []
    assert [place for place in environment_reads() if place.startswith("knowledge.")] == []


ENVIRONMENT = ("environ", "getenv", "environb", "putenv", "unsetenv")


def environment_reads() -> list[str]:
    """module:line of every use of the process environment in the product."""
    found = []
    for name, path in product_modules().items():
        for node in nodes(path):
            if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT:
                found.append(f"{name}:{node.lineno} os.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                    a.name in ENVIRONMENT for a in node.names):
                found.append(f"{name}:{node.lineno} from os import ...")
    return found


# Uses of the environment that are no configuration, each with its reason.
ENVIRONMENT_ALLOWED = {
    "bot.telegram": "opts python-telegram-bot in to timedelta time periods (PTB_TIMEDELTA), "
                    "the type of its next major version; nothing of ours reads it",
}


def test_only_the_settings_read_the_environment() -> None:
    """bot/config.py `Settings` is the one configuration reader (pydantic-settings reads the
    environment for it); everything else takes values."""
    reads = environment_reads()
    assert [place for place in reads if place.split(":")[0] not in ENVIRONMENT_ALLOWED] == []
    assert sorted(place.split(":")[0] for place in reads) == sorted(ENVIRONMENT_ALLOWED)


def test_scheduler_does_not_import_the_bot() -> None:
    upward = [f"{module}:{line} imports {target}"
              for module, target, line in imports_of("scheduler") if top(target) == "bot"]
    assert upward == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_checks_see_what_they_look_for() -> None:
    """The scan is not vacuous: it finds known imports and would report a cycle."""
    graph = import_graph()
    assert "bot.core.flows.base" in graph["bot.core.conversation"]
    assert "knowledge.advisor" in graph["bot.compose"]
    assert any(top(target) == "telegram" for _, target, _ in imports_of("bot.telegram"))
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_clock_is_typed_as_the_one_clock_protocol() -> None:
    """Everything that takes "now" takes `storage.clock.Clock`, not a callable of its own."""
    own = []
    for name, path in product_modules().items():
        for node in nodes(path):
            if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("Callable"):
                shape = ast.unparse(node.slice).replace(" ", "").strip("()")
                if shape in ("[],dt.datetime", "[],datetime", "[],datetime.datetime"):
                    own.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert own == []


COLLABORATORS = ("alerts", "shared_pause", "exclusive", "dispatcher", "sender", "desk",
                 "checkins", "staff", "renderer", "connector", "advisor", "ask", "send",
                 "bot_username", "identity", "observer", "knowledge", "live",
                 "bot_authorised", "now")


def test_collaborators_are_not_plugged_in_after_construction() -> None:
    """bot/compose.py hands collaborators in through constructors: nothing in bot/ or
    scheduler/ assigns one to an attribute of another object later (``desk.alerts = ...``,
    ``self.kit.advisor = ...``, ``dispatcher.sender = Wrapped(...)``); the live advisor is
    swapped only through `LiveAdvisor.replace`."""
    plugged = set()
    for name, path in product_modules().items():
        if top(name) not in ("bot", "scheduler"):
            continue
        for node in nodes(path):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign)
                       else [])
            for target in targets:
                for leaf in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if (isinstance(leaf, ast.Attribute) and leaf.attr in COLLABORATORS
                            and not (isinstance(leaf.value, ast.Name) and leaf.value.id == "self")):
                        plugged.add(f"{name} {ast.unparse(leaf)}")
    assert plugged == set()


def _is_any(annotation: ast.expr | None) -> bool:
    """True for ``Any``, ``Any | None`` and ``Optional[Any]`` (not ``dict[str, Any]``: data)."""
    if annotation is None:
        return False
    text = ast.unparse(annotation).replace(" ", "").strip("'\"")
    return text in ("Any", "typing.Any", "Any|None", "None|Any", "Optional[Any]")


def any_attributes(source: str) -> list[str]:
    """``Class.attribute`` for every attribute typed `Any` in `source`: a class-level field
    (dataclasses), ``self.x: Any = ...``, or ``self.x = param`` with ``param: Any``."""
    found = []
    for cls in walk(source):
        if not isinstance(cls, ast.ClassDef):
            continue
        for item in cls.body:
            if (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                    and _is_any(item.annotation)):
                found.append(f"{cls.name}.{item.target.id}")
            if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            arguments = item.args
            typed_any = {a.arg for a in (*arguments.posonlyargs, *arguments.args,
                                         *arguments.kwonlyargs) if _is_any(a.annotation)}
            for node in ast.walk(item):
                pairs: list[tuple[ast.expr, ast.expr | None, ast.expr | None]]
                if isinstance(node, ast.AnnAssign):
                    pairs = [(node.target, node.annotation, node.value)]
                elif isinstance(node, ast.Assign):
                    pairs = [(t, None, node.value) for t in node.targets]
                else:
                    continue
                for target, annotation, value in pairs:
                    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and target.value.id == "self"):
                        continue
                    if _is_any(annotation) or (annotation is None and isinstance(value, ast.Name)
                                               and value.id in typed_any):
                        found.append(f"{cls.name}.{target.attr}")
    return found


def test_no_attribute_is_typed_any() -> None:
    """Collaborators and settings are typed (a Protocol or a concrete type), never `Any`:
    mypy checks nothing about an `Any` attribute. Payloads (``dict[str, Any]``) are data."""
    found = [f"{name}: {attribute}" for name, path in product_modules().items()
             for attribute in any_attributes(read(path))]
    assert found == []


def test_the_any_attribute_check_sees_what_it_looks_for() -> None:
    source = """
class A:
    field: Any = None
    typed: dict[str, Any]
    def __init__(self, settings: Any, other: int, opt: Any | None = None) -> None:
        self.settings = settings
        self.other = other
        self.opt = opt
        self.later: Any = 1
"""
    assert sorted(any_attributes(source)) == ["A.field", "A.later", "A.opt", "A.settings"]


# Parameters that may be typed `Any`, "module.function(parameter)": reason. Keep it short:
# payloads are ``dict[str, Any]`` or a named alias (knowledge.yamlfile `Yaml`), and
# python-telegram-bot's generic types go through bot/telegram/context.py's aliases.
ANY_PARAMETERS_ALLOWED: dict[str, str] = {}


def any_parameters(source: str) -> list[str]:
    """``function(parameter)`` for every parameter typed `Any` (``*args`` and ``**kwargs``
    excepted: the values a template or a query is filled with) of every function, method
    and constructor in `source`, nested ones included."""
    found = []
    for node in walk(source):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            found += [f"{node.name}({a.arg})" for a in (*arguments.posonlyargs,
                                                         *arguments.args, *arguments.kwonlyargs)
                      if _is_any(a.annotation)]
    return found


def test_no_parameter_is_typed_any() -> None:
    """Collaborators handed to a function or a constructor are typed too (`Settings`, a
    Protocol, a python-telegram-bot type): mypy checks nothing that goes through an `Any`."""
    found = {f"{name}.{parameter}" for name, path in product_modules().items()
             for parameter in any_parameters(read(path))}
    assert sorted(found - set(ANY_PARAMETERS_ALLOWED)) == []
    assert sorted(set(ANY_PARAMETERS_ALLOWED) - found) == []  # no stale entries


def test_the_any_parameter_check_sees_what_it_looks_for() -> None:
    source = """
def polling(app: Any, settings: Any | None, days: int, *values: Any, **more: Any) -> None:
    async def job(context: Any, data: dict[str, Any]) -> None: ...
class A:
    def __init__(self, advisor: Optional[Any], peer: object) -> None: ...
"""
    assert sorted(any_parameters(source)) == ["__init__(advisor)", "job(context)",
                                              "polling(app)", "polling(settings)"]


def test_one_message_catalogue() -> None:
    """Texts are looked up by dotted key in one place, `knowledge.catalogue.Catalogue` (the
    advisor's, the bot's and the web desk's catalogues are all of that type)."""
    lookups = []
    for name, path in product_modules().items():
        for node in nodes(path):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "split" and len(node.args) == 1
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value == "."
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "key"):
                lookups.append(name)
    assert lookups == ["knowledge.catalogue"]
    # the language packs' texts are catalogues too: no lookup of their own
    from knowledge.catalogue import Catalogue
    from knowledge.multilingual import LanguagePack, Lexicons, Multilingual

    assert isinstance(vars(LanguagePack)["texts"].func(_a_pack()), Catalogue)
    for own in ("template", "hours", "sign_advice", "follow_up"):
        assert not hasattr(Multilingual, own) and not hasattr(Lexicons, own), own


def _a_pack() -> object:
    from tests.advisors import shipped

    languages = shipped().languages  # the shipped lexicons, loaded once per process
    assert languages is not None
    lexicons = languages.lexicons
    return lexicons.packs[lexicons.codes[0]]


def test_one_text_normaliser() -> None:
    """Unicode folding (NFKC for patients' words, accents stripped for other languages and
    place names) happens in knowledge/text.py only."""
    folding = set()
    for name, path in product_modules().items():
        for node in nodes(path):
            if isinstance(node, ast.Attribute) and node.attr in ("normalize", "combining") \
                    and isinstance(node.value, ast.Name) and node.value.id == "unicodedata":
                folding.add(name)
    assert folding == {"knowledge.text"}


def test_callers_take_stores_not_a_bundle_of_them() -> None:
    """Every caller gets each storage aggregate it uses (bot/core/ as a narrow Protocol of
    bot/core/ports.py), built by bot/compose.py: there is no bundle of aggregates (the old
    `Repository`) for a module to name."""
    assert not (ROOT / "storage" / "repo.py").exists()
    named = sorted(name for name, path in product_modules().items()
                   if any(isinstance(node, ast.Name | ast.alias) and "Repository" in (
                       node.id if isinstance(node, ast.Name) else node.name)
                       for node in nodes(path)))
    assert named == []
    assert not (ROOT / "storage" / "staff.py").exists()  # the old staff names are gone too


def wall_clock_reads() -> list[str]:
    """module:line of every read of the wall clock (``datetime.now()``, ``date.today()``,
    ``time.time()``) in the product; monotonic timers measure durations and are not clocks."""
    found = []
    for name, path in product_modules().items():
        for node in nodes(path):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                call = ast.unparse(node.func)
                if (node.func.attr in ("now", "utcnow", "today") and call.split(".")[-2:-1]
                        in (["datetime"], ["date"])) or call == "time.time":
                    found.append(f"{name}:{node.lineno} {call}()")
    return found


def test_only_the_one_clock_reads_the_time() -> None:
    """`storage.clock.utcnow` is the one reader of the wall clock; everything else is handed
    a `Clock` (tests a `ManualClock`) or calls `utcnow`."""
    assert [place for place in wall_clock_reads()
            if not place.startswith("storage.clock:")] == []
    assert any(place.startswith("storage.clock:") for place in wall_clock_reads())


ENTRY_POINTS = ("bot.telegram", "bot.cli", "bot.web", "bot.ops")


def test_the_core_and_the_composition_root_import_no_entry_point() -> None:
    """bot/core/ and bot/compose.py sit beneath the entry points (Telegram, CLI, web desk,
    ops): they name none of them, not even for a type (a Protocol says what they need), and
    the core does not reach back up to the composition root. The web desk does not import the
    Telegram side (which would load python-telegram-bot to serve a page)."""
    graph = import_graph()
    upward = sorted(f"{module} imports {target}" for module, targets in graph.items()
                    if module.startswith("bot.core") or module == "bot.compose"
                    for target in targets
                    if target.startswith(ENTRY_POINTS)
                    or (module.startswith("bot.core") and target == "bot.compose"))
    assert upward == []
    assert sorted(f"{module} imports {target}" for module, targets in graph.items()
                  if module.startswith("bot.web") for target in targets
                  if target.startswith("bot.telegram")) == []
