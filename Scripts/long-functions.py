#!/usr/bin/env python3
"""Lists Swift functions over N lines and files over M lines (#12: "no file in Sources/ over
400 lines; no function over 80 lines outside the edge's measured hot path").

Usage: Scripts/long-functions.py [--function-lines 80] [--file-lines 400] [paths...]
(default path: Sources). A reviewer's tool, not part of the test suite: it reads text, writes
nothing and exits 0. A "function" is a `func`, `init`, `deinit`, `subscript` or a computed
property's accessor body counted from its declaration line to its closing brace; nested functions
are counted inside their parent and on their own.
"""

import argparse
import os
import re
import sys

DECL = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*"
    r"(?:(?:public|private|fileprivate|internal|package|open|static|class|final|override|"
    r"mutating|nonmutating|nonisolated|convenience|required|dynamic|isolated|consuming|borrowing)"
    r"(?:\([^)]*\))?\s+)*"
    r"(func\s+[^\s(<]+|init[?!]?|deinit|subscript)\b"
)


def strip_code(line, state):
    """Returns the line with strings and comments blanked; state tracks block comments and
    multi-line strings across lines."""
    out = []
    i = 0
    n = len(line)
    while i < n:
        if state["block"]:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), state
            state["block"] = False
            i = end + 2
            continue
        if state["multi"]:
            end = line.find('"""', i)
            if end < 0:
                return "".join(out), state
            state["multi"] = False
            i = end + 3
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"] = True
            i += 2
            continue
        if line.startswith('"""', i):
            state["multi"] = True
            i += 3
            continue
        if c == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
            out.append('""')
            continue
        out.append(c)
        i += 1
    return "".join(out), state


def functions(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    state = {"block": False, "multi": False}
    depth = 0
    open_decls = []  # (name, start line, depth at which its body opened)
    parens = 0
    pending = None  # a declaration seen whose body brace has not opened yet
    found = []
    for number, raw in enumerate(lines, 1):
        code, state = strip_code(raw, state)
        m = DECL.match(code)
        if m and pending is None:
            pending = (m.group(1).replace("func ", ""), number)
            parens = 0
        for c in code:
            if c == "{":
                depth += 1
                if pending is not None:
                    open_decls.append((pending[0], pending[1], depth))
                    pending = None
            elif c == "}":
                if open_decls and open_decls[-1][2] == depth:
                    name, start, _ = open_decls.pop()
                    found.append((name, start, number - start + 1))
                depth -= 1
        # A protocol requirement has no body: forget it once its signature is complete (its
        # parentheses balanced) and the next line does not continue it.
        if pending is not None:
            parens += code.count("(") - code.count(")")
            following = next((l.strip() for l in lines[number:] if l.strip()), "")
            continues = following.startswith(("{", "->", "where", "throws", "rethrows", "async", ")", "-"))
            if parens <= 0 and "{" not in code and not code.rstrip().endswith(("->", ",", "(")) and not continues:
                pending = None
        else:
            parens = 0
    return len(lines) - (1 if lines and lines[-1] == "" else 0), found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--function-lines", type=int, default=80)
    parser.add_argument("--file-lines", type=int, default=400)
    parser.add_argument("paths", nargs="*", default=["Sources"])
    args = parser.parse_args()
    files = []
    for root in args.paths:
        if os.path.isfile(root):
            files.append(root)
            continue
        for directory, _, names in os.walk(root):
            files.extend(os.path.join(directory, n) for n in names if n.endswith(".swift"))
    long_files, long_functions = [], []
    for path in sorted(files):
        count, found = functions(path)
        if count > args.file_lines:
            long_files.append((count, path))
        for name, start, length in found:
            if length > args.function_lines:
                long_functions.append((length, f"{path}:{start}", name))
    print(f"files over {args.file_lines} lines: {len(long_files)}")
    for count, path in sorted(long_files, reverse=True):
        print(f"  {count:5d}  {path}")
    print(f"functions over {args.function_lines} lines: {len(long_functions)}")
    for length, where, name in sorted(long_functions, reverse=True):
        print(f"  {length:5d}  {where}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
