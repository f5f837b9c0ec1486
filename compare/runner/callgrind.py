"""Reading callgrind output: instructions (Ir) spent in each shared object.

A callgrind file lists, per function, cost lines (`<position> <Ir>`) for the function's
own instructions and, after each `calls=` line, one cost line that is the callee's
inclusive cost. Summing the cost lines that do not follow a `calls=` line under the object
(`ob=`) they belong to gives each object's self cost; their sum is the file's total.
Names may be compressed: `ob=(3) /lib/libc.so.6` defines id 3, a later `ob=(3)` uses it.
"""
import re

_COMPRESSED = re.compile(r"\((\d+)\)\s*(.*)")


def _name(text, table):
    m = _COMPRESSED.match(text.strip())
    if not m:
        return text.strip()
    ident, name = m.group(1), m.group(2)
    if name:
        table[ident] = name
    return table.get(ident, f"({ident})")


def self_cost_by_object(lines):
    """{object path: self Ir} over an iterable of the lines of one callgrind file."""
    objects = {}
    totals = {}
    current = "?"
    after_call = False
    for raw in lines:
        line = raw.rstrip("\n")
        if not line:
            continue
        head = line[0]
        if line.startswith("ob="):
            current = _name(line[3:], objects)
        elif line.startswith("cob="):
            _name(line[4:], objects)  # defines a name a later ob= may use
        elif line.startswith("calls="):
            after_call = True
        elif head.isdigit() or head in "+-*":
            if after_call:
                after_call = False
                continue
            fields = line.split()
            if len(fields) >= 2:
                totals[current] = totals.get(current, 0) + int(fields[1])
    return totals


def read_file(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return self_cost_by_object(f)
