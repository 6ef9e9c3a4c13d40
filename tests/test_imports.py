"""mfa_app's modules import one another one way only: no import cycle, even inside a function.

A cycle hidden in a function-level import works until someone moves the import to the top, or
imports the modules in another order; the graph here counts both kinds of import.
"""

import ast
from pathlib import Path

import mfa_app

PACKAGE = "mfa_app"
ROOT = Path(mfa_app.__file__).parent


def _module_files() -> dict[str, Path]:
    """Every module of the package (migrations left out) by its dotted name."""
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    # A package's ``from . import x`` is relative to the package itself, a module's to its parent.
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of the package that ``module`` imports, anywhere in its code."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in modules else source)
    return {t for t in targets if t in modules and t != module}


def import_graph() -> dict[str, set[str]]:
    files = _module_files()
    names = set(files)
    return {module: _imports(module, path, names) for module, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as its modules in import order (first repeated last), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack = [(start, iter(sorted(graph[start])))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
            elif child in on_path:
                return [*path[path.index(child) :], child]
            elif child not in done:
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
                on_path.add(child)
    return None


def test_the_graph_sees_imports_inside_functions_and_relative_imports() -> None:
    graph = import_graph()
    # ``from ..tasks import enqueue_delivery`` inside ``enqueue``'s body.
    assert "mfa_app.tasks" in graph["mfa_app.webhooks.dispatch"]
    # ``from . import transport``: the edge goes to the module, not to the package.
    assert "mfa_app.webhooks.transport" in graph["mfa_app.webhooks.delivery"]
    assert "mfa_app.webhooks" not in graph["mfa_app.webhooks.delivery"]


def test_find_cycle_names_the_modules_of_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "Import cycle: " + " -> ".join(cycle or [])


def _imports_under(graph: dict[str, set[str]], importer: str, imported: str) -> set[str]:
    return {
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module == importer or module.startswith(f"{importer}.")
        for target in targets
        if target == imported or target.startswith(f"{imported}.")
    }


def test_the_api_and_the_middleware_stand_on_the_flows_not_on_the_pages() -> None:
    # The pages and the JSON API are two thin layers over mfa_app.flows: neither reaches into
    # the other, and the middleware, which every request passes, needs neither.
    graph = import_graph()
    assert _imports_under(graph, "mfa_app.api", "mfa_app.views") == set()
    assert _imports_under(graph, "mfa_app.views", "mfa_app.api") == set()
    assert _imports_under(graph, "mfa_app.middleware", "mfa_app.api") == set()
    assert _imports_under(graph, "mfa_app.middleware", "mfa_app.views") == set()
    assert _imports_under(graph, "mfa_app.flows", "mfa_app.views") == set()
    assert _imports_under(graph, "mfa_app.flows", "mfa_app.api") == set()


def test_only_the_contrib_packages_import_the_packages_they_integrate() -> None:
    # mfa_app runs without Django REST framework or Simple JWT installed: only
    # mfa_app.contrib.rest_framework (the ``drf`` extra) imports them, and nothing of the core
    # imports mfa_app.contrib.
    optional = ("rest_framework", "rest_framework_simplejwt")
    offenders = []
    for module, path in _module_files().items():
        if module.startswith("mfa_app.contrib."):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            offenders += [
                f"{module} -> {name}"
                for name in names
                if name.split(".")[0] in optional or name.startswith("mfa_app.contrib")
            ]
    assert offenders == []
    into_contrib = _imports_under(import_graph(), "mfa_app", "mfa_app.contrib")
    assert {edge for edge in into_contrib if not edge.startswith("mfa_app.contrib")} == set()


def test_login_state_is_a_leaf_of_session_records() -> None:
    # Everything may read the session's MFA state; it depends on no flow or service, so the
    # factors (WebAuthn keeps its challenges there) can use it without a cycle.
    allowed = {"mfa_app.clock", "mfa_app.conf", "mfa_app.crypto"}
    assert graph_of("mfa_app.login_state") <= allowed


def graph_of(module: str) -> set[str]:
    return import_graph()[module]


CLOCK_READS = {("timezone", "now"), ("time", "time"), ("datetime", "now"), ("date", "today")}
LOCALTIME = ("timezone", "localtime")


def _clock_reads(path: Path) -> list[str]:
    """Calls that read the time themselves (``timezone.now()``, ``time.time()``...)."""
    reads = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            call = (owner.id if isinstance(owner, ast.Name) else "", node.func.attr)
            # ``timezone.localtime()`` without a value reads the time too.
            if call in CLOCK_READS or (call == LOCALTIME and not node.args):
                reads.append(f"{path.name}:{node.lineno} {'.'.join(call)}()")
    return reads


def test_one_clock() -> None:
    # Everything reads mfa_app.clock, so a test (or a site) that moves it moves every expiry,
    # lockout and session timestamp together. Model field defaults name timezone.now without
    # calling it: the migrations record that name.
    reads = [
        read
        for module, path in _module_files().items()
        if module != "mfa_app.clock"
        for read in _clock_reads(path)
    ]
    assert reads == []
