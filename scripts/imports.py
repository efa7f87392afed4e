#!/usr/bin/env python3
"""Checks that the library's modules import one another one way: no module reaches, through any
chain of others, itself.

Every path a file names that starts with `crate::`, `super::` or `self::`, or with one of its own
child modules (in a `use` line or in code), is an edge from the file to the file that defines the
module it reaches: `crate::data::SeqSet` from any file is an edge to `src/data/mod.rs`,
`crate::data::text::Corpus` to `src/data/text.rs`. `mod` declarations are not edges, nor paths
within a file (its own inline test module's `super::`).

A unit is a top-level module of the crate (`data`, `network`, `train`, …; `nn`'s layers —
`nn/cell`, `nn/head`, `nn/stack`, … — each one): the files of one unit may call one another, the
units may not form a circle. `lib.rs` (the facade that re-exports the public API) and the
command line (`src/cli/`, `src/main.rs`, a client of the library) are left out. `--files` checks
every file as its own unit instead (stricter: a parent module and its children count too).
Prints each circle found, with its edges, and exits 1 if there is one.

    python3 scripts/imports.py [--files] [SRC]
"""
import os
import re
import sys

PATH = re.compile(r"\b(crate|super|self)((?:::\s*[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{")


def module_of(src, file):
    """The module path of `file` (a list of names) and whether it owns a directory."""
    rel = os.path.relpath(file, src)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        return rel[:-1], True
    return rel, False


def file_of(src, parts):
    """The file defining the deepest module along `parts`, and how many parts it used."""
    best = (os.path.join(src, "lib.rs"), 0)
    for i in range(1, len(parts) + 1):
        base = os.path.join(src, *parts[:i])
        for f in (base + ".rs", os.path.join(base, "mod.rs")):
            if os.path.isfile(f):
                best = (f, i)
                break
        else:
            break
    return best


def strip(text):
    """The code without comments and string literals."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def inline_spans(code):
    """(start, end) of every inline `mod name { … }` block."""
    spans = []
    for m in re.finditer(r"\bmod\s+[A-Za-z_][A-Za-z0-9_]*\s*\{", code):
        depth, i = 0, m.end() - 1
        while i < len(code):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            if depth == 0:
                break
            i += 1
        spans.append((m.start(), i))
    return spans


def edges(src, file):
    module, owns = module_of(src, file)
    here = module if owns else module[:-1]
    code = strip(open(file, encoding="utf-8").read())
    spans = inline_spans(code)
    children = {
        n[:-3] if n.endswith(".rs") else n
        for n in (os.listdir(os.path.join(src, *module)) if owns else [])
        if n.endswith(".rs") or os.path.isfile(os.path.join(src, *module, n, "mod.rs"))
    } - {"mod", "lib", "main"}
    found = set()
    matches = list(PATH.finditer(code)) + list(GROUP.finditer(code))
    if children:
        child = re.compile(r"(?<![A-Za-z0-9_:])(" + "|".join(sorted(children)) + r")((?:::[A-Za-z_][A-Za-z0-9_]*)*)::")
        matches += list(child.finditer(code))
    for m in matches:
        depth = sum(1 for a, b in spans if a < m.start() < b)
        head = m.group(1)
        rest = [p.strip() for p in m.group(2).split("::") if p.strip()]
        if head == "crate":
            parts = rest
        elif head == "self":
            if depth:
                continue
            parts = module + rest
        elif head == "super":
            # `super` is the parent of the module the file is (a `mod.rs` is its directory's);
            # inside an inline module, the file itself.
            ups = 1
            while rest and rest[0] == "super":
                rest = rest[1:]
                ups += 1
            if ups <= depth:
                continue
            ups -= depth
            parts = module[: max(0, len(module) - ups)] + rest
        else:
            if depth:
                continue
            parts = module + [head] + rest
        target, _ = file_of(src, parts)
        if os.path.abspath(target) != os.path.abspath(file):
            found.add(target)
    return found


def circles(graph):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def unit(src, file, files_mode):
    """The unit a file belongs to (None for the facade and the command line)."""
    module, _ = module_of(src, file)
    if not module or module[0] in ("cli", "main"):
        return None
    if files_mode:
        return os.path.relpath(file, src)
    return "/".join(module[:2]) if module[0] == "nn" and len(module) > 1 else module[0]


def main():
    args = [a for a in sys.argv[1:] if a != "--files"]
    files_mode = "--files" in sys.argv[1:]
    src = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    src = os.path.normpath(src)
    files = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".rs")]
    graph = {}
    for f in files:
        u = unit(src, f, files_mode)
        if u is None:
            continue
        graph.setdefault(u, set())
        for t in edges(src, f):
            v = unit(src, t, files_mode)
            if v is not None and v != u:
                graph[u].add(v)
    found = circles(graph)
    for comp in found:
        inside = set(comp)
        print("circle: " + ", ".join(comp))
        for u in comp:
            for v in sorted(graph[u] & inside):
                print(f"    {u} -> {v}")
    if found:
        sys.exit(1)
    print(f"no circle among {len(graph)} {'files' if files_mode else 'modules'}")


if __name__ == "__main__":
    main()
