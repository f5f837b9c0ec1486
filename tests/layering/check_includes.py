#!/usr/bin/env python3
"""Fails when an #include points up the layer order written in the README.

The order is the numbered table in README.md's "Layout and layering"
section: lines `  N  name  glob glob ...`, 1 at the top. A file may include
files of its own level or of a lower one (a larger number). Every source
file under core/, decommit/, modes/ and include/ must match a level, so a
new file has to be placed in the order before it can be built on.

With --self-test, it checks that a planted upward include is caught.
"""
import fnmatch
import os
import re
import sys

LEVEL_LINE = re.compile(r"^\s+(\d+)\s+([a-z][\w-]*)\s+(\S.*)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
DIRS = ("core", "decommit", "modes", "include")


def read_levels(readme):
    text = open(readme, encoding="utf-8").read()
    start = text.find("## Layout and layering")
    if start < 0:
        sys.exit("check_includes: README.md has no 'Layout and layering' section")
    end = text.find("\n## ", start + 1)
    levels = []
    for line in text[start:end if end > 0 else None].splitlines():
        m = LEVEL_LINE.match(line)
        if m:
            levels.append((int(m.group(1)), m.group(2), m.group(3).split()))
    if not levels:
        sys.exit("check_includes: no level table in 'Layout and layering'")
    return levels


def level_of(path, levels):
    for number, name, globs in levels:
        if any(fnmatch.fnmatchcase(path, g) for g in globs):
            return number, name
    return None


def resolve(root, including, name):
    for candidate in (name, os.path.join("include", name), os.path.join(os.path.dirname(including), name)):
        if os.path.isfile(os.path.join(root, candidate)):
            return os.path.normpath(candidate)
    return None


def sources(root):
    for d in DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in sorted(files):
                if f.endswith((".h", ".cc", ".inc")):
                    yield os.path.relpath(os.path.join(dirpath, f), root)


def check(root, levels, extra=None):
    errors = []
    for path in sorted(sources(root)):
        lv = level_of(path, levels)
        if lv is None:
            errors.append(f"{path}: matches no level of the README's layer table")
            continue
        lines = open(os.path.join(root, path), encoding="utf-8").read().splitlines()
        if extra and path == extra[0]:
            lines.append(f'#include "{extra[1]}"')
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = resolve(root, path, m.group(1))
            if target is None:
                errors.append(f"{path}:{n}: includes {m.group(1)}, which is not in the tree")
                continue
            tl = level_of(target, levels)
            if tl is None:
                errors.append(f"{path}:{n}: includes {target}, which matches no level")
            elif tl[0] < lv[0]:
                errors.append(f"{path}:{n}: includes {target} ({tl[0]} {tl[1]}), above its own level ({lv[0]} {lv[1]})")
    return errors


def main():
    root = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else os.getcwd()
    levels = read_levels(os.path.join(root, "README.md"))
    if "--self-test" in sys.argv:
        # The platform layer including the fast path must be caught.
        errors = check(root, levels, extra=("core/platform/memory.cc", "core/small/fast_path.h"))
        if not any("core/platform/memory.cc" in e and "above its own level" in e for e in errors):
            print("check_includes: a planted upward include was not caught")
            return 1
        print("check_includes: planted upward include caught")
        return 0
    errors = check(root, levels)
    for e in errors:
        print(e)
    if errors:
        print(f"check_includes: {len(errors)} include(s) break the layer order in README.md")
        return 1
    print(f"check_includes: {sum(1 for _ in sources(root))} files follow the layer order ({len(levels)} levels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
