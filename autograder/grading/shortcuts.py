"""Find uses of rnnlab's reference implementations in a submission's own code (trusted side).

A graded function that imports or calls the course's reference implementation of a graded
function earns no points for it. The scan reads the code cells a student could edit (every
code cell whose source is not one of the source notebook's locked or test cells) as Python
syntax, never runs it, and follows:

- ``import rnnlab.rnn as R``, ``from rnnlab import rnn``, ``from rnnlab.rnn import *``, then
  attribute access (``R.rnn_step_forward``), ``getattr(R, "name")`` and plain aliases
  (``f = R.rnn_step_forward``);
- ``importlib.import_module``, ``__import__``, ``exec``, ``eval``, ``compile``, IPython
  magics and ``sys.modules[...]`` with a string literal mentioning ``rnnlab``;
- top-level helpers: a graded function that calls a notebook function which uses a
  forbidden name is charged too.

The dotted names to forbid come from the assignment's checks module (``FORBIDDEN``);
``rnnlab.data``, ``rnnlab.gradcheck``, ``rnnlab.plots`` and the like stay allowed.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from autograder.checks.base import DEFAULT_FORBIDDEN

_DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "import_module", "run_line_magic",
                  "run_cell_magic", "run_cell", "system", "getoutput", "find_spec", "reload"}
_MAGIC = re.compile(r"^\s*([%!].*)$", re.M)


@dataclass(frozen=True)
class Finding:
    """One use of a forbidden name. ``functions`` lists the graded functions losing their points."""

    cell: int
    line: int
    target: str
    functions: tuple
    message: str


def is_forbidden(dotted: str, forbidden) -> bool:
    return any(dotted == f or dotted.startswith(f + ".") for f in forbidden)


def scan_notebook(nb, graded, forbidden=DEFAULT_FORBIDDEN, trusted_sources=()) -> list:
    """Scan the student-editable code cells of ``nb`` (an nbformat NotebookNode).

    graded : names of the graded student functions ("rnn_step_forward", ...).
    trusted_sources : sources of the instructor's locked and test cells; cells whose source
        equals one are skipped. When empty, nbgrader metadata decides (grade or locked cells
        are skipped), which a student can forge: pass the sources when grading.
    """
    trusted = {s.strip() for s in trusted_sources}
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if trusted and source.strip() in trusted:
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not trusted and (meta.get("grade") and not meta.get("solution") or meta.get("locked")):
            continue
        cells.append((index, source))
    return scan_cells(cells, graded, forbidden)


def scan_cells(cells, graded, forbidden=DEFAULT_FORBIDDEN) -> list:
    """Scan ``[(cell_index, source), ...]`` in order (names bound in one cell reach the next)."""
    scanner = _Scanner(set(graded), tuple(forbidden))
    for index, source in cells:
        scanner.scan(index, source)
    return scanner.findings()


class _Scanner(ast.NodeVisitor):
    def __init__(self, graded, forbidden):
        self.graded, self.forbidden = graded, forbidden
        self.aliases = {}        # local name -> dotted name under rnnlab
        self.raw = []            # (cell, line, target, def_name or None, bound names)
        self.calls = {}          # top-level def name -> names it references
        self.binding = {}        # graded name -> index into raw of its last top-level binding, or None
        self.cell, self.def_name = 0, None

    # -- driving -----------------------------------------------------------------
    def scan(self, index, source):
        self.cell = index
        try:
            tree = ast.parse(source)
        except SyntaxError:
            # Magics are not Python: scan them as dynamic code, then the rest without them.
            for m in _MAGIC.finditer(source):
                if "rnnlab" in m.group(1):
                    self._add(source[:m.start()].count("\n") + 1, "rnnlab (IPython magic or shell command)",
                              names=self._graded_in(m.group(1)))
            try:
                tree = ast.parse(_MAGIC.sub("pass", source))
            except SyntaxError:
                return
        for stmt in tree.body:
            self._top_level(stmt)

    def _top_level(self, stmt):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.def_name = stmt.name
            self.calls[stmt.name] = set()
            self.generic_visit(stmt)
            self.def_name = None
            if stmt.name in self.graded:
                self.binding[stmt.name] = None
            return
        before = len(self.raw)
        self.visit(stmt)
        for name in _bound_names(stmt):
            if name in self.graded:
                self.binding[name] = before if len(self.raw) > before else None

    def findings(self):
        tainted = {d for (_, _, _, d, _) in self.raw if d}
        changed = True
        while changed:  # a function calling a tainted helper is tainted
            changed = False
            for name, refs in self.calls.items():
                if name not in tainted and refs & tainted:
                    tainted.add(name)
                    changed = True
        charged_by = {}
        for i, (_, _, _, d, names) in enumerate(self.raw):
            charged = set(names)
            if d:
                charged |= {g for g in self.graded if g == d or (g in tainted and d in self._reach(g))}
            charged |= {g for g, b in self.binding.items() if b is not None and b == i}
            charged_by[i] = charged
        out = []
        for i, (cell, line, target, d, _) in enumerate(self.raw):
            funcs = tuple(sorted(charged_by[i] & self.graded))
            where = f"uses {target}, the course's reference implementation"
            msg = (f"{where}: no points for {', '.join(funcs)}" if funcs
                   else f"{where} outside any graded function (no points lost)")
            out.append(Finding(cell, line, target, funcs, msg))
        return out

    def _reach(self, start):
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.calls.get(name, ()))
        return seen

    def _add(self, line, target, names=()):
        self.raw.append((self.cell, line, target, self.def_name, tuple(names)))

    def _graded_in(self, text):
        found = {g for g in self.graded if g in text}
        return found or set(self.graded)

    # -- resolution --------------------------------------------------------------
    def _resolve(self, node):
        """Dotted rnnlab name an expression evaluates to, or None."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            name = _call_name(node.func)
            if name == "getattr" and len(node.args) >= 2 and _is_str(node.args[1]):
                base = self._resolve(node.args[0])
                return f"{base}.{node.args[1].value}" if base else None
            if name == "import_module" and node.args and _is_str(node.args[0]):
                return _rnnlab_module(node.args[0].value)
            if name == "__import__" and node.args and _is_str(node.args[0]):
                mod = _rnnlab_module(node.args[0].value)
                return mod.split(".")[0] if mod else None
        return None

    def _check(self, node, dotted):
        if dotted and is_forbidden(dotted, self.forbidden):
            self._add(node.lineno, dotted)
            return True
        return False

    # -- visitors ----------------------------------------------------------------
    def visit_Import(self, node):
        for alias in node.names:
            if alias.name.split(".")[0] != "rnnlab":
                continue
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                self.aliases["rnnlab"] = "rnnlab"

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level or module.split(".")[0] != "rnnlab":
            return
        for alias in node.names:
            if alias.name == "*":
                if is_forbidden(module, self.forbidden) or any(f.startswith(module + ".") for f in self.forbidden):
                    self._add(node.lineno, f"{module}.*", names=_provided(module, self.graded))
                continue
            dotted = f"{module}.{alias.name}"
            local = alias.asname or alias.name
            self.aliases[local] = dotted
            self._check(node, dotted)

    def visit_Assign(self, node):
        self.visit(node.value)
        dotted = self._resolve(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                if dotted:
                    self.aliases[target.id] = dotted
                else:
                    self.aliases.pop(target.id, None)
            else:
                self.visit(target)

    def visit_Attribute(self, node):
        if not self._check(node, self._resolve(node)):
            self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            if self.def_name:
                self.calls[self.def_name].add(node.id)
            self._check(node, self.aliases.get(node.id))

    def visit_Subscript(self, node):
        # sys.modules["rnnlab.rnn"]
        if _call_name(node.value) == "modules" and _is_str(node.slice) and "rnnlab" in node.slice.value:
            mod = _rnnlab_module(node.slice.value)
            if mod and (is_forbidden(mod, self.forbidden) or any(f.startswith(mod + ".") for f in self.forbidden)):
                self._add(node.lineno, mod)
        self.generic_visit(node)

    def visit_Call(self, node):
        name = _call_name(node.func)
        if name in ("getattr", "import_module", "__import__"):
            dotted = self._resolve(node)
            if dotted and name == "__import__":
                # __import__("rnnlab.rnn") returns rnnlab but imports rnnlab.rnn: judge the argument
                dotted = _rnnlab_module(node.args[0].value)
            if dotted:
                if not self._check(node, dotted):
                    self.generic_visit(node)
                return
        if name in _DYNAMIC_CALLS:
            texts = [n.value for arg in list(node.args) + [k.value for k in node.keywords]
                     for n in ast.walk(arg) if _is_str(n) and "rnnlab" in n.value]
            if texts:
                names = () if self.def_name else self._graded_in(" ".join(texts))
                self._add(node.lineno, f"rnnlab (code in a string passed to {name})", names=names)
        self.generic_visit(node)


def _call_name(func):
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_str(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _rnnlab_module(text):
    text = text.strip()
    return text if re.fullmatch(r"rnnlab(\.[A-Za-z_]\w*)*", text) else None


def _bound_names(stmt):
    names = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    return names


def _provided(module, graded):
    """Graded names a star import from ``module`` would bind (all of them if it cannot be imported)."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except Exception:
        return set(graded)
    exported = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
    return set(exported) & set(graded)
