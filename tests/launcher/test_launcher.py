#!/usr/bin/env python3
"""Tests of the hakmem launcher.

Run: the plain run puts libhakmem.so into LD_PRELOAD after what is already there and sets
the mode, statistics and budget variables; bad use gets a clear error and the shell's exit
statuses (127 not found).
Ab: `hakmem ab` on one tiny Python program with glibc and hakmem-lean (two runs each), a
broken allocator (its constructor aborts) and a missing one; checks the Markdown table's
rows and columns, runs.csv, the memory samples and that both plots are PNG files.

Usage: test_launcher.py --launcher build/default/hakmem --lib libhakmem.so [--abort-lib L]
       [--needs-gnuplot] [Run|Ab]
When gnuplot is missing, the plot checks cannot run: the other checks still run and, if they
pass, the script exits 77 (CTest: skipped) saying why.
"""
import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONFIG = None
# Allocates about 30 MB of strings in steps, so the sampler sees RSS grow; then drops them.
TINY_PROGRAM = ("import time\nx = []\nfor i in range(6):\n    x.append([str(j) * 8 for j in range(60000)])\n"
                "    time.sleep(0.02)\nprint(sum(len(l) for l in x))\ndel x\n")


def launcher(*args, env=None, timeout=120):
    return subprocess.run([CONFIG.launcher, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


class Run(unittest.TestCase):
    def test_lean_and_stats_reach_the_library(self):
        done = launcher("--lib", CONFIG.lib, "--lean", "--stats", "--", sys.executable, "-c", "print(42)")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), "42")
        self.assertIn("hakmem: mode LEAN", done.stderr)

    def test_library_found_next_to_the_launcher(self):
        done = launcher("--print-lib")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(os.path.realpath(done.stdout.strip()), os.path.realpath(CONFIG.lib))

    def test_preload_is_appended_and_options_become_variables(self):
        # ld.so warns about the missing first library and goes on: only the order matters here.
        env = dict(os.environ, LD_PRELOAD="/nonexistent/first.so", HAKMEM_MEM_LEAN="0")
        show = 'echo "$LD_PRELOAD|$HAKMEM_MEM_LEAN|$HAKMEM_MEM_LEAN_TARGET_MB|$HAKMEM_STATS"'
        done = launcher("--lib", CONFIG.lib, "--budget", "64", "--stats=rel/stats.txt", "--", "sh", "-c", show,
                        env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        preload, lean, budget, stats = done.stdout.strip().split("|")
        parts = preload.split(":")
        self.assertEqual(os.path.realpath(parts[-1]), os.path.realpath(CONFIG.lib))
        self.assertEqual(parts[0], "/nonexistent/first.so")
        self.assertEqual((lean, budget), ("1", "64"))  # --budget implies LEAN
        self.assertEqual(stats, os.path.abspath("rel/stats.txt"))  # the library wants an absolute path

    def test_bad_use_is_a_clear_error(self):
        done = launcher("--lib", CONFIG.lib, "--fast", "--budget", "8", "--", "true")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--budget is a LEAN setting", done.stderr)
        done = launcher("--lib", CONFIG.lib, "--budget", "lots", "--", "true")
        self.assertEqual(done.returncode, 2)
        self.assertIn("whole number of MiB", done.stderr)
        done = launcher("--lib", CONFIG.lib, "--", "/nonexistent/program")
        self.assertEqual(done.returncode, 127)
        self.assertIn("command not found", done.stderr)
        done = launcher("--lib", "/nonexistent/libhakmem.so", "--", "true")
        self.assertEqual(done.returncode, 1)
        self.assertIn("no such file", done.stderr)
        done = launcher("--frobnicate")
        self.assertEqual(done.returncode, 2)
        self.assertIn("unknown option --frobnicate", done.stderr)


def parse_table(markdown):
    """The first Markdown table: (header cells, {first cell: row cells})."""
    lines = markdown.split("\n|", 1)[1].split("\n\n", 1)[0].splitlines()
    lines[0] = "|" + lines[0]
    split = [[c.strip() for c in l.strip("|").split("|")] for l in lines]
    return split[0], {row[0]: row for row in split[2:]}


class Ab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hakmem-ab-test-")
        cls.out = os.path.join(cls.tmp, "out")
        cmd = ["--lib", CONFIG.lib, "ab", "--allocators", "glibc,hakmem-lean", "--reps", "2", "--sample-ms", "10",
               "--out", cls.out, "--name", "tiny", "--extra-allocator", "missing=/nonexistent/libnothing.so"]
        if CONFIG.abort_lib:
            cmd += ["--extra-allocator", f"broken-abort={CONFIG.abort_lib}"]
        cls.done = launcher(*cmd, "--", sys.executable, "-c", TINY_PROGRAM)
        path = os.path.join(cls.out, "runs.csv")
        cls.rows = list(csv.DictReader(open(path, newline=""))) if os.path.isfile(path) else []

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_exit_status_is_one_because_an_installed_allocator_failed(self):
        # The missing allocator alone would not make it fail; the aborting one does.
        self.assertEqual(self.done.returncode, 1 if CONFIG.abort_lib else 0, self.done.stderr[-3000:])
        self.assertIn("[1/", self.done.stderr)  # the progress line

    def test_table_has_the_rows_and_columns(self):
        header, rows = parse_table(open(os.path.join(self.out, "RESULTS.md")).read())
        for column in ("allocator", "wall s", "CPU s", "peak RSS MB", "peak RSS−LazyFree MB", "mean RSS MB",
                       "minor faults", "time vs glibc", "time vs glibc, same repetition", "peak RSS vs glibc",
                       "exit", "runs"):
            self.assertIn(column, header)
        self.assertTrue(any(c.startswith("time vs fastest (") for c in header), header)
        for name in ("glibc", "hakmem-lean"):
            row = dict(zip(header, rows[name]))
            self.assertRegex(row["wall s"], r"^[0-9.]+ \([0-9.]+–[0-9.]+\)$")
            self.assertGreater(float(row["peak RSS MB"].split()[0]), 20)  # the program holds about 30 MB
            self.assertGreater(float(row["minor faults"].replace(",", "")), 1000)
            self.assertEqual(row["exit"], "exit 0")
            self.assertEqual(row["runs"], "2/2 ok")
            self.assertRegex(row["time vs glibc"], r"^[0-9.]+×$")
        self.assertEqual(dict(zip(header, rows["glibc"]))["time vs glibc"], "1.00×")
        self.assertRegex(rows["missing"][1], r"^\*\*FAILED\*\*: library not found")
        if CONFIG.abort_lib:
            self.assertRegex(rows["broken-abort"][1], r"^\*\*FAILED\*\*: signal SIGABRT")
        self.assertEqual(self.done.stdout.split("\n\n")[0].strip().splitlines()[0], "| " + " | ".join(header) + " |")

    def test_runs_csv_and_samples(self):
        ok = [r for r in self.rows if r["status"] == "ok"]
        self.assertEqual(sorted((r["allocator"], r["rep"]) for r in ok),
                         [("glibc", "0"), ("glibc", "1"), ("hakmem-lean", "0"), ("hakmem-lean", "1")])
        for row in ok:
            self.assertGreaterEqual(int(row["peak_rss_kb"]), int(row["maxrss_kb"]))
            self.assertGreater(float(row["cpu_secs"]), 0)
            self.assertGreaterEqual(int(row["samples"]), 3, row)
            with open(os.path.join(self.out, "samples", f"{row['allocator']}.rep{row['rep']}.csv")) as f:
                samples = list(csv.DictReader(f))
            self.assertEqual(len(samples), int(row["samples"]))
            for s in samples:
                self.assertGreaterEqual(int(s["rss_kb"]), int(s["rss_minus_lazyfree_kb"]))
            self.assertGreater(max(int(s["rss_kb"]) for s in samples), min(int(s["rss_kb"]) for s in samples))
        self.assertTrue(all(r["linked_allocators"] == "" for r in ok), ok)  # python links no other malloc
        lean = [r for r in ok if r["allocator"] == "hakmem-lean"]
        self.assertTrue(all(r["preload"] == "seen" for r in lean), lean)  # libhakmem.so was mapped
        with open(os.path.join(self.out, "logs", "glibc.rep0.stdout")) as f:
            self.assertEqual(f.read().strip(), str(6 * 60000))

    def test_plots_are_png_files(self):
        if not shutil.which("gnuplot"):
            self.skipTest("gnuplot missing")
        for name in ("rss-over-time.png", "time-vs-peak-rss.png"):
            path = os.path.join(self.out, "plots", name)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), PNG_SIGNATURE, path)
            self.assertIn(f"(plots/{name})", open(os.path.join(self.out, "RESULTS.md")).read())


def main():
    global CONFIG
    parser = argparse.ArgumentParser()
    parser.add_argument("--launcher", required=True)
    parser.add_argument("--lib", required=True)
    parser.add_argument("--abort-lib")
    parser.add_argument("--needs-gnuplot", action="store_true")
    CONFIG, rest = parser.parse_known_args()
    result = unittest.main(argv=[sys.argv[0]] + rest, verbosity=2, exit=False).result
    if not result.wasSuccessful():
        return 1
    if CONFIG.needs_gnuplot and not shutil.which("gnuplot"):
        print("SKIP: the plot checks need gnuplot (apt-get install gnuplot-nox); everything else passed")
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
