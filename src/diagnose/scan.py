# Reads a student's Python files with Python's own parser (ast) and prints, as JSON, the
# constructs srpc-check's diagnoses point at. It never imports or runs the files it reads.
#
# Usage: python3 -I scan.py FILE...   (prints {"facts": [...], "errors": [...]})
# A fact is {"kind": K, "file": F, "line": N, ...}; the kinds are documented below where each
# is made. srpc-check picks, for each finding, the fact that locates it.
import ast
import json
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


def main(paths):
    facts, errors = [], []
    for path in paths:
        try:
            with open(path, "rb") as f:
                source = f.read(MAX_BYTES + 1)
            if len(source) > MAX_BYTES:
                errors.append(f"{path}: larger than {MAX_BYTES} bytes, not read")
                continue
            tree = ast.parse(source, filename=path)
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError) as e:
            errors.append(f"{path}: {type(e).__name__}: {e}")
            continue
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
    json.dump({"facts": facts, "errors": errors}, sys.stdout)


main(sys.argv[1:])
