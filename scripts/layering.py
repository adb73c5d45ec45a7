#!/usr/bin/env python3
"""Checks the package's module layering against docs/DESIGN.md (run through scripts/check-layering.sh).

Reads the module table of docs/DESIGN.md (its "imports" column: the only modules each module may import), the
`import` lines of every Swift file of every target, and the targets' declared dependencies (`swift package
dump-package`), and checks that:
  (a) every module imports exactly what the table lists for it, and every test target only what its rule allows;
  (b) every target's dependencies in Package.swift are exactly the project modules and products it imports;
  (c) the imports have no cycle, and the layers drawn in docs/DESIGN.md are the ones the imports give.
Prints the import graph and the layers; exits 1 with one line per violation, 2 when it cannot read its inputs.
"""
import json
import os
import re
import subprocess
import sys

# Modules of the toolchain and the platform: importable without a dependency in Package.swift.
TOOLCHAIN = {
    "Swift", "_Concurrency", "Foundation", "FoundationEssentials", "FoundationNetworking", "FoundationXML",
    "Dispatch", "Glibc", "Musl", "Darwin", "WinSDK", "Android", "CoreFoundation", "Synchronization", "Observation",
    "RegexBuilder", "os", "XCTest", "Testing", "_Builtin_intrinsics",
}
TEST_SUPPORT = "TestSupport"
DESIGN = "docs/DESIGN.md"
TABLE_HEADER = "| module | what it holds | imports |"
LAYERS_BEGIN, LAYERS_END = "<!-- layers:begin -->", "<!-- layers:end -->"


class InputError(Exception):
    pass


def package_description(root, given):
    """The manifest as JSON: from `given` (a file) if set, else from `swift package dump-package`."""
    if given:
        with open(given, encoding="utf-8") as f:
            return json.load(f)
    try:
        out = subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True, capture_output=True,
                             text=True).stdout
    except FileNotFoundError:
        raise InputError("swift is not on PATH: it is needed to read Package.swift (swift package dump-package)")
    except subprocess.CalledProcessError as e:
        raise InputError(f"swift package dump-package failed in {root}:\n{e.stderr.strip()}")
    return json.loads(out)


def targets_of(package):
    """name -> (kind, directory relative to the root, declared project deps, declared product deps)."""
    out = {}
    for t in package["targets"]:
        kind = t["type"]
        path = t.get("path") or (("Tests/" if kind == "test" else "Sources/") + t["name"])
        modules, products = set(), set()
        for dep in t["dependencies"]:
            if "product" in dep:
                products.add(dep["product"][0])
            else:
                modules.add((dep.get("byName") or dep.get("target"))[0])
        out[t["name"]] = (kind, path, modules, products)
    return out


IMPORT = re.compile(r"^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?"
                    r"([A-Za-z_][A-Za-z0-9_]*)")


def swift_code(text):
    """The text with comments and string literals blanked out (line breaks kept), so that `import` inside a
    multi-line string (a Python snippet in a test, say) is not taken for a Swift import."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith('"""', i):
            end = text.find('"""', i + 3)
            end = n if end < 0 else end + 3
            out.append("\n" * text.count("\n", i, end))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def imports_of(root, directory):
    """module -> first 'file:line' that imports it, over every .swift file under `directory`."""
    found = {}
    base = os.path.join(root, directory)
    for folder, _, files in sorted(os.walk(base)):
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                code = swift_code(f.read())
            for number, line in enumerate(code.split("\n"), 1):
                m = IMPORT.match(line)
                if m:
                    found.setdefault(m.group(1), f"{os.path.relpath(path, root)}:{number}")
    return found


def design_table(root):
    """module -> set of modules the module table of docs/DESIGN.md lets it import."""
    path = os.path.join(root, DESIGN)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError as e:
        raise InputError(f"cannot read {path}: {e}")
    if TABLE_HEADER not in lines:
        raise InputError(f"{DESIGN} has no module table with the header '{TABLE_HEADER}'")
    table = {}
    for number, line in enumerate(lines[lines.index(TABLE_HEADER) + 2:], lines.index(TABLE_HEADER) + 3):
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3:
            raise InputError(f"{DESIGN}:{number}: a row of the module table needs 3 cells, has {len(cells)}")
        names = re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[0])
        allowed = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[2]))
        if not names or (not allowed and cells[2] != "—"):
            raise InputError(f"{DESIGN}:{number}: write the module and its imports in backticks (— for none)")
        for name in names:
            if name in table:
                raise InputError(f"{DESIGN}:{number}: {name} has two rows")
            table[name] = allowed
    return table, lines


def cycle_in(graph):
    """A cycle of `graph` (node -> set of nodes) as a list of nodes, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def closure(graph, start):
    seen, todo = set(), list(graph.get(start, ()))
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph.get(m, ()))
    return seen


def layers_of(graph, modules):
    """Layer of each module: 0 when it imports no project module, else one above the highest it imports."""
    layer = {}

    def of(m):
        if m not in layer:
            below = [of(d) for d in graph[m] if d in modules]
            layer[m] = 1 + max(below) if below else 0
        return layer[m]

    for m in modules:
        of(m)
    return layer


def check(root, package_json=None):
    package = package_description(root, package_json)
    targets = targets_of(package)
    products = {p for (_, _, _, prods) in targets.values() for p in prods}
    table, design_lines = design_table(root)
    problems = []

    imports = {name: imports_of(root, path) for name, (_, path, _, _) in targets.items()}
    project = set(targets)

    def known(module):
        return module in project or module in products or module in TOOLCHAIN

    graph = {name: {m for m in found if m in project or m in products} for name, found in imports.items()}
    sources = sorted(n for n, (kind, _, _, _) in targets.items() if kind != "test" and n != TEST_SUPPORT)
    tests = sorted(n for n in targets if n not in sources)

    for name in sorted(targets):
        for module, where in sorted(imports[name].items()):
            if not known(module):
                problems.append(f"{where}: {name} imports {module}, which is neither a target of the package, a "
                                f"product it depends on, nor a toolchain module")

    # (a) the layering of docs/DESIGN.md
    for name in sorted(set(table) - project):
        problems.append(f"{DESIGN}: the module table lists {name}, which is not a target of Package.swift")
    for name in sources + [TEST_SUPPORT]:
        if name not in targets:
            continue
        if name not in table:
            problems.append(f"{DESIGN}: the module table has no row for {name}")
            continue
        for module in sorted(graph[name] - table[name]):
            problems.append(f"{imports[name][module]}: {name} imports {module}, which the module table of {DESIGN} "
                            f"does not allow (if the layering permits it, add it to the imports of {name} there)")
        for module in sorted(table[name] - graph[name]):
            problems.append(f"{DESIGN}: the module table lists {module} among {name}'s imports, but no file of "
                            f"{name} imports it (remove it from the table)")
    allowed_graph = {name: set(table.get(name, ())) for name in project}
    libraries = {n for n in sources if targets[n][0] == "regular"}
    for name in tests:
        if name == TEST_SUPPORT:
            continue
        mirrored = name[:-len("Tests")] if name.endswith("Tests") else None
        if mirrored in project:
            allowed = {mirrored} | closure(allowed_graph, mirrored)
            rule = f"{mirrored}, what {mirrored} imports (directly or not), {TEST_SUPPORT} and what it imports"
        else:
            allowed = set(libraries)
            for m in libraries:
                allowed |= closure(allowed_graph, m)
            rule = f"the library modules, what they import, {TEST_SUPPORT} and what it imports"
        allowed |= {TEST_SUPPORT} | closure(allowed_graph, TEST_SUPPORT)
        for module in sorted(graph[name] - allowed):
            problems.append(f"{imports[name][module]}: {name} imports {module}; a test target may import only "
                            f"{rule}")

    # (b) Package.swift declares exactly what each target imports
    for name in sorted(targets):
        _, _, modules, prods = targets[name]
        declared = modules | prods
        for module in sorted(graph[name] - declared):
            problems.append(f"Package.swift: {name} imports {module} ({imports[name][module]}) but does not declare it")
        for module in sorted(declared - graph[name]):
            problems.append(f"Package.swift: {name} declares {module} but no file of it imports it")

    # (c) no cycle, and the layers drawn in docs/DESIGN.md
    cycle = cycle_in(graph)
    if cycle:
        problems.append("import cycle: " + " -> ".join(cycle))

    print("import graph:")
    for name in sources + tests:
        print(f"  {name} -> {', '.join(sorted(graph[name])) or '—'}")
    if not cycle:
        layer = layers_of(graph, set(sources))
        drawn = [f"{n}  {'  '.join(sorted(m for m in sources if layer[m] == n))}"
                 for n in range(max(layer.values()), -1, -1)]
        print("layers (a module imports only from lower layers):")
        for line in drawn:
            print(f"  {line}")
        if LAYERS_BEGIN in design_lines and LAYERS_END in design_lines:
            block = design_lines[design_lines.index(LAYERS_BEGIN) + 1:design_lines.index(LAYERS_END)]
            block = [line for line in block if line.strip() and not line.startswith("```")]
            if block != drawn:
                problems.append(f"{DESIGN}: the layers between {LAYERS_BEGIN} and {LAYERS_END} are not the ones the "
                                f"imports give; they are:\n    " + "\n    ".join(drawn))
        else:
            problems.append(f"{DESIGN}: no layers block between {LAYERS_BEGIN} and {LAYERS_END}")
    return problems


def main(argv):
    args = argv[1:]
    package_json = None
    if len(args) >= 2 and args[0] == "--package-json":
        package_json, args = args[1], args[2:]
    if len(args) > 1:
        print("usage: check-layering.sh [--package-json FILE] [PACKAGE_ROOT]", file=sys.stderr)
        return 2
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    try:
        problems = check(root, package_json)
    except InputError as e:
        print(f"check-layering: {e}", file=sys.stderr)
        return 2
    if problems:
        print(f"check-layering: {len(problems)} violation(s) of the layering in {DESIGN}:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("check-layering: the imports, Package.swift and docs/DESIGN.md agree")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
