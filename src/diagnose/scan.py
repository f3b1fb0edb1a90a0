# Reads a student's Python files with Python's own parser (ast) and prints, as JSON, the
# constructs srpc-check's diagnoses point at. It never imports or runs the files it reads.
#
# Usage: python3 -I scan.py FILE...   (prints {"facts": [...], "errors": [...]})
#        python3 -I scan.py --follow SPEC (SPEC: JSON, see follow(); also prints "files")
# A fact is {"kind": K, "file": F, "line": N, ...}; the kinds are documented below where each
# is made. srpc-check picks, for each finding, the fact that locates it.
import ast
import json
import os
import sys

MAX_BYTES = 1 << 20


def dotted(node):
    """`a.b.c` for an attribute chain or a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def call_name(node):
    return dotted(node.func) if isinstance(node, ast.Call) else None


def strings(node):
    """The string constants an expression can be: a constant, or either branch of `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return strings(node.body) + strings(node.orelse)
    return []


def calls(node):
    """The names of the calls an expression can be, through `a if c else b`."""
    if isinstance(node, ast.IfExp):
        return calls(node.body) + calls(node.orelse)
    name = call_name(node)
    return [name] if name else []


def is_empty_dict(node):
    if isinstance(node, ast.Dict) and not node.keys:
        return True
    if isinstance(node, ast.Call) and call_name(node) == "dict" and not node.args and not node.keywords:
        return True
    if isinstance(node, ast.IfExp):
        return is_empty_dict(node.body) or is_empty_dict(node.orelse)
    return False


class Scanner(ast.NodeVisitor):
    def __init__(self, file, constants):
        self.file = file
        self.constants = constants  # module-level NAME -> the strings it can be
        self.facts = []
        self.loops = 0      # while/for loops around the current node, within its function
        self.functions = 0  # functions around the current node
        self.dumps_names = set()

    def fact(self, kind, node, **extra):
        self.facts.append(dict(kind=kind, file=self.file, line=node.lineno, **extra))

    def visit_FunctionDef(self, node):
        saved = (self.loops, self.dumps_names)
        self.loops, self.dumps_names = 0, set()
        self.functions += 1
        self.generic_visit(node)
        self.functions -= 1
        self.loops, self.dumps_names = saved

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_loop(self, node):
        self.loops += 1
        self.generic_visit(node)
        self.loops -= 1

    visit_While = visit_For = visit_AsyncFor = visit_loop

    def visit_Assign(self, node):
        value = node.value
        # store_fresh: an empty dict made inside a function or a loop (a store per connection).
        if is_empty_dict(value) and (self.functions or self.loops):
            self.fact("store_fresh", node, in_loop=self.loops > 0)
        # stringify: X[k] = str(...) or json.dumps(...)
        for target in node.targets:
            if isinstance(target, ast.Subscript) and {"str", "json.dumps", "repr"} & set(calls(value)):
                self.fact("stringify", node)
            if isinstance(target, ast.Name) and call_name(value) == "json.dumps":
                self.dumps_names.add(target.id)
        self.generic_visit(node)

    def visit_Dict(self, node):
        # status_literal: {"status": "ok"}, a status not spelled OK or ERROR.
        for key, value in zip(node.keys, node.values):
            if (isinstance(key, ast.Constant) and key.value == "status"
                    and isinstance(value, ast.Constant) and isinstance(value.value, str)
                    and value.value not in ("OK", "ERROR")):
                self.fact("status_literal", node, value=value.value)
        self.generic_visit(node)

    def visit_Call(self, node):
        name = call_name(node) or ""
        method = name.rsplit(".", 1)[-1]
        if isinstance(node.func, ast.Attribute) and method in ("recv", "recv_into"):
            # recv: every recv() call, whether a loop surrounds it in its function, and its
            # size when that is a constant.
            size = None
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, int):
                size = node.args[0].value
            self.fact("recv", node, in_loop=self.loops > 0, size=size)
        elif isinstance(node.func, ast.Attribute) and method == "send":
            self.fact("send", node)
        elif isinstance(node.func, ast.Attribute) and method == "sendall":
            self.fact("sendall", node)
        elif isinstance(node.func, ast.Attribute) and method == "accept":
            self.fact("accept", node, in_loop=self.loops > 0)
        elif isinstance(node.func, ast.Attribute) and method == "update":
            self.fact("update", node)
        elif name in ("struct.pack", "struct.unpack", "struct.unpack_from", "pack", "unpack", "unpack_from"):
            # struct: the format of each pack/unpack, for the byte order (a format named by a
            # module-level constant gives a fact for each string it can be).
            first = node.args[0] if node.args else None
            formats = strings(first) if first is not None else []
            if isinstance(first, ast.Name):
                formats = self.constants.get(first.id, [])
            for fmt in formats:
                self.fact("struct", node, call=method, format=fmt)
        elif name in ("json.dumps", "dumps"):
            inner = node.args[0] if node.args else None
            if call_name(inner) in ("json.dumps", "dumps") or (
                    isinstance(inner, ast.Name) and inner.id in self.dumps_names):
                self.fact("dumps_twice", node)
            for kw in node.keywords:
                if kw.arg == "ensure_ascii" and isinstance(kw.value, ast.Constant) and kw.value.value is False:
                    self.fact("ensure_ascii_false", node)
        elif name == "dict":
            for kw in node.keywords:
                if (kw.arg == "status" and isinstance(kw.value, ast.Constant)
                        and kw.value.value not in ("OK", "ERROR")):
                    self.fact("status_literal", node, value=str(kw.value.value))
        if method in ("Thread", "start_new_thread", "ThreadPoolExecutor", "Process", "fork",
                      "DefaultSelector", "select", "poll", "epoll", "ThreadingTCPServer",
                      "ThreadingMixIn", "create_task", "start_server", "gather"):
            self.fact("concurrent", node)
        if method == "settimeout":
            self.fact("settimeout", node)
        self.generic_visit(node)


def scan_file(path, facts, errors):
    """Parses one file and adds its facts; returns its tree (None when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            source = f.read(MAX_BYTES + 1)
        if len(source) > MAX_BYTES:
            errors.append(f"{path}: larger than {MAX_BYTES} bytes, not read")
            return None
        tree = ast.parse(source, filename=path)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError) as e:
        errors.append(f"{path}: {type(e).__name__}: {e}")
        return None
    constants = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name) and strings(stmt.value):
                    constants[target.id] = strings(stmt.value)
    scanner = Scanner(path, constants)
    try:
        scanner.visit(tree)
    except RecursionError as e:
        errors.append(f"{path}: RecursionError: {e}")
    facts.extend(scanner.facts)
    return tree


def literal(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def references(tree):
    """What a file runs or imports, as written: ("module", name, level), ("path", file) for
    runpy.run_path and exec(open(...).read()), and ("dir", d) for sys.path.insert/append."""
    refs = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            refs.extend(("module", a.name, 0) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            refs.append(("module", base, node.level))
            # `from pkg import mod` may name a submodule.
            refs.extend(("module", f"{base}.{a.name}" if base else a.name, node.level)
                        for a in node.names if a.name != "*")
        elif isinstance(node, ast.Call):
            name = call_name(node) or ""
            method = name.rsplit(".", 1)[-1]
            first = literal(node.args[0]) if node.args else None
            if method in ("run_path",) and first:
                refs.append(("path", first))
            elif method in ("run_module", "import_module", "__import__") and first:
                refs.append(("module", first, 0))
            elif method in ("insert", "append") and name.startswith("sys.path") and node.args:
                d = literal(node.args[-1])
                if d:
                    refs.append(("dir", d))
    # exec(open("f.py").read()), exec(compile(...)) and `with open("f.py") as f: exec(f.read())`:
    # in a file that calls exec() or compile(), each .py file it opens.
    if any(isinstance(n, ast.Call) and call_name(n) in ("exec", "compile") for n in ast.walk(tree)):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and call_name(node) == "open" and node.args:
                f = literal(node.args[0])
                if f and f.endswith(".py"):
                    refs.append(("path", f))
    return refs


def follow(spec):
    """Scans the program a running Python process runs: its main script, module or -c code,
    then, breadth first, the files they import or run that lie inside the allowed roots, at
    most spec["max_files"] files in all. Never imports or runs anything."""
    roots = [os.path.realpath(r) for r in spec["roots"]]
    cwd = spec["cwd"]
    path = [os.path.join(cwd, d) for d in spec["path"]]
    max_files = spec["max_files"]
    facts, errors, seen, queue = [], [], [], []

    def inside(p):
        real = os.path.realpath(p)
        return any(real == r or real.startswith(r + os.sep) for r in roots)

    def add(p, always=False):
        real = os.path.realpath(p)
        if real in seen or not os.path.isfile(real) or not (always or inside(real)):
            return
        if len(seen) >= max_files:
            return
        seen.append(real)
        queue.append(p)

    def module_files(name, level, importer):
        if level:
            base = os.path.dirname(importer)
            for _ in range(level - 1):
                base = os.path.dirname(base)
            dirs = [base]
        else:
            dirs = path
        parts = [p for p in name.split(".") if p]
        for d in dirs:
            for k in range(1, len(parts) + 1):
                stem = os.path.join(d, *parts[:k])
                yield os.path.join(stem, "__init__.py")
                if k == len(parts):
                    yield stem + ".py"
                    yield os.path.join(stem, "__main__.py")

    for f in spec.get("files", []):
        add(os.path.join(cwd, f), always=True)
    for m in spec.get("modules", []):
        for f in module_files(m, 0, cwd):
            add(f)
    code = spec.get("code")
    trees = []
    if code is not None:
        try:
            trees.append((os.path.join(cwd, "-c"), ast.parse(code)))
        except (SyntaxError, ValueError, RecursionError) as e:
            errors.append(f"-c: {type(e).__name__}: {e}")
    while trees or queue:
        if trees:
            importer, tree = trees.pop(0)
        else:
            importer = queue.pop(0)
            tree = scan_file(importer, facts, errors)
            if tree is None:
                continue
        # Folders put on sys.path first: they hold what the same file then imports.
        for ref in sorted(references(tree), key=lambda r: r[0] != "dir"):
            if ref[0] == "module":
                for f in module_files(ref[1], ref[2], importer):
                    add(f)
            elif ref[0] == "path":
                add(os.path.join(cwd, ref[1]))
            elif ref[0] == "dir":
                d = os.path.join(cwd, ref[1])
                if d not in path:
                    path.append(d)
    json.dump({"facts": facts, "errors": errors, "files": seen}, sys.stdout)


def main(paths):
    facts, errors = [], []
    for path in paths:
        scan_file(path, facts, errors)
    json.dump({"facts": facts, "errors": errors}, sys.stdout)


if sys.argv[1:2] == ["--follow"]:
    follow(json.loads(sys.argv[2]))
else:
    main(sys.argv[1:])
