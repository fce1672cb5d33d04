#!/usr/bin/env python3
"""Import circles between the files of a crate's src/ folder.

An edge a -> b when a's text (its tests left out) names `crate::b` or, inside a folder
module, `super::b`; a use of an item of the crate root (`crate::{…}`, `crate::Name`) is an
edge to lib. Prints each group of files that reach one another (a strongly connected group of
more than one file) and exits 1 if there is one. With a git revision instead of WORKTREE,
reads the files at that commit. The test command runs it on every crate.

    python3 infra/scripts/import-circles.py WORKTREE shared/api/src
    python3 infra/scripts/import-circles.py afd0353 shared/domain/src
"""
import glob
import re
import subprocess
import sys


def main(rev, root):
    if rev == "WORKTREE":
        files = glob.glob(root + "/**/*.rs", recursive=True)
        read = lambda f: open(f).read()
    else:
        files = subprocess.check_output(["git", "ls-tree", "-r", "--name-only", rev, root], text=True).split()
        read = lambda f: subprocess.check_output(["git", "show", f"{rev}:{f}"], text=True)
    files = [f for f in files if f.endswith(".rs")]

    def module(f):
        rel = f[len(root) + 1 : -3]
        return rel[:-4] if rel.endswith("/mod") else rel

    mods = {module(f): f for f in files}
    edges = {m: set() for m in mods}
    for m, f in mods.items():
        text = re.sub(r"#\[cfg\(test\)\]\s*mod tests \{.*", "", read(f), flags=re.S)
        for name in re.findall(r"crate::([a-z_]+)", text):
            if name in mods and name != m:
                edges[m].add(name)
        parent = m.rsplit("/", 1)[0] if "/" in m else None
        for name in re.findall(r"super::([a-z_]+)", text):
            target = f"{parent}/{name}" if parent else name
            if target in mods and target != m:
                edges[m].add(target)
        if m != "lib" and re.search(r"crate::(\{|[A-Z]|json\b|respond\b)", text):
            edges[m].add("lib")

    index, low, stack, on, circles, counter = {}, {}, [], set(), [], [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            connect(v)
    print(f"{rev} {root}: {len(mods)} files, {len(circles)} circle(s)")
    for group in circles:
        print("  ", " <-> ".join(group))
    return len(circles)


if __name__ == "__main__":
    found = sum(main(sys.argv[1], root) for root in sys.argv[2:] or ["shared/api/src"])
    sys.exit(1 if found else 0)
