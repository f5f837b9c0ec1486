#!/usr/bin/env python3
"""Lists every skipped test and why, from CTest's JUnit files (tests/run_all.sh calls it at
the end): whole CTest tests that exited with their SKIP_RETURN_CODE (the reason is their
"SKIP: ..." line) and GoogleTest cases that called GTEST_SKIP inside a test that passed.

Usage: skipped_summary.py STAGE=JUNIT.xml ...   (missing files are stages that did not run)"""
import os
import re
import sys
import xml.etree.ElementTree as ET

GTEST_RUN = re.compile(r"^\[ RUN      \] (\S+)")
GTEST_SKIPPED = re.compile(r"^\[  SKIPPED \] (\S+) \(")


def gtest_skips(output):
    """[(case, reason)] of the GTEST_SKIP cases in one test binary's output."""
    skips, case, lines = [], None, []
    for line in output.splitlines():
        run = GTEST_RUN.match(line)
        if run:
            case, lines = run.group(1), []
            continue
        skipped = GTEST_SKIPPED.match(line)
        if skipped and skipped.group(1) == case:
            # GoogleTest prints "file:line: Skipped" and then the message.
            after = [l.strip() for l in lines if l.strip()]
            marker = next((i for i, l in enumerate(after) if l.endswith(": Skipped")), None)
            reason = " ".join(after[marker + 1:]) if marker is not None else ""
            skips.append((case, reason or "(no reason given)"))
            case = None
        elif case:
            lines.append(line)
    return skips


def skips_in(path):
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        name, output = case.get("name"), case.findtext("system-out") or ""
        if case.find("skipped") is not None:
            reasons = [l.split("SKIP:", 1)[1].strip() for l in output.splitlines() if "SKIP:" in l]
            out.append((name, "; ".join(reasons) or "skipped without a SKIP: line (see its output)"))
        elif case.get("status") == "run":
            out += [(f"{name}: {gcase}", reason) for gcase, reason in gtest_skips(output)]
    return out


def main(argv):
    total = []
    for arg in argv:
        stage, _, path = arg.partition("=")
        if os.path.isfile(path):
            total += [(stage, name, reason) for name, reason in skips_in(path)]
    if not total:
        print("skipped tests: none")
        return 0
    print(f"skipped tests ({len(total)}):")
    for stage, name, reason in total:
        print(f"  [{stage}] {name}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
