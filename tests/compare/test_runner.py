#!/usr/bin/env python3
"""Test of compare/run: one tiny run (every workload, glibc plus three broken allocators)
into a temporary directory, then checks of everything it wrote.

Usage: test_runner.py --runner compare/run --bin-dir DIR --abort-lib L --null-lib L --no-malloc-lib L
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BROKEN = ("broken-abort", "broken-null", "broken-no-malloc", "missing-lib")
CONFIG = None  # parsed command line


class TinyRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hakmem-compare-test-")
        cls.out = os.path.join(cls.tmp, "results")
        cmd = [sys.executable, CONFIG.runner, "--tiny", "--no-build", "--no-install", "--bin-dir", CONFIG.bin_dir,
               "--allocators", "glibc", "--out", cls.out,
               "--extra-allocator", f"broken-abort={CONFIG.abort_lib}",
               "--extra-allocator", f"broken-null={CONFIG.null_lib}",
               "--extra-allocator", f"broken-no-malloc={CONFIG.no_malloc_lib}",
               "--extra-allocator", "missing-lib=/nonexistent/libnothing.so"]
        cls.run_result = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
        sys.path.insert(0, os.path.dirname(os.path.realpath(CONFIG.runner)))
        from runner import workloads  # noqa: E402  (the runner's own table of workloads)
        cls.workloads = [w.name for w in workloads.WORKLOADS]
        path = os.path.join(cls.out, "runs.csv")
        cls.rows = list(csv.DictReader(open(path, newline=""))) if os.path.isfile(path) else []

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("KEEP_COMPARE_TEST_OUTPUT"):
            print(f"output kept in {cls.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def rows_for(self, allocator):
        return [r for r in self.rows if r["allocator"] == allocator]

    def test_runner_exits_cleanly(self):
        self.assertEqual(self.run_result.returncode, 0, self.run_result.stderr[-3000:])

    def test_csv_has_every_workload_and_allocator(self):
        pairs = {(r["workload"], r["allocator"]) for r in self.rows}
        for workload in self.workloads:
            for allocator in ("glibc",) + BROKEN:
                self.assertIn((workload, allocator), pairs)

    def test_glibc_runs_succeed_with_numbers(self):
        rows = self.rows_for("glibc")
        self.assertEqual(len(rows), len(self.workloads))
        for row in rows:
            self.assertEqual(row["status"], "ok", row)
            self.assertGreater(float(row["ops"]), 0)
            self.assertGreater(float(row["ops_per_sec"]), 0)
            self.assertGreater(float(row["peak_rss_kb"]), 0)
            self.assertGreaterEqual(float(row["rss_kb"]), float(row["rss_minus_lazyfree_kb"]))
            self.assertGreater(float(row["minflt"]), 0)
            self.assertTrue(os.path.basename(row["malloc_lib"]).startswith("libc.so"), row["malloc_lib"])

    def test_broken_allocators_are_failed_rows(self):
        expected = {"broken-abort": "SIGABRT", "broken-null": "exit 3", "broken-no-malloc": "preload not active",
                    "missing-lib": "library not found"}
        for allocator, reason in expected.items():
            rows = self.rows_for(allocator)
            self.assertEqual(len(rows), len(self.workloads), allocator)
            for row in rows:
                self.assertEqual(row["status"], "FAILED", row)
                self.assertIn(reason, row["detail"], row)

    def test_results_md_has_a_table_per_workload_with_every_row(self):
        text = open(os.path.join(self.out, "RESULTS.md")).read()
        for workload in self.workloads:
            self.assertIn(f"## {workload}\n", text)
            section = text.split(f"## {workload}\n", 1)[1].split("\n## ", 1)[0]
            self.assertRegex(section, r"\n\| glibc \| [0-9]")
            for allocator in BROKEN:
                self.assertRegex(section, rf"\n\| {allocator} \| \*\*FAILED\*\*")
            table = os.path.join(self.out, "tables", f"{workload}.md")
            self.assertTrue(os.path.isfile(table), table)
        self.assertIn("duration", text)

    def test_plots_are_png_files(self):
        if not shutil.which("gnuplot"):
            self.skipTest("gnuplot missing")  # main() then exits 77 (CTest: skipped) saying why
        from runner import workloads  # noqa: E402
        timelines = [f"timeline-{w.name}.png" for w in workloads.WORKLOADS if w.timeline]
        self.assertTrue(timelines, "burst-quiet has a timeline plot")
        names = ["soak-rss.png"] + [f"scatter-{w}.png" for w in self.workloads] + timelines
        for name in names:
            path = os.path.join(self.out, "plots", name)
            self.assertTrue(os.path.isfile(path), path)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), PNG_SIGNATURE, path)

    def test_results_name_no_absolute_paths(self):
        # Committed results must travel: libraries by relative path or file name.
        for name in ("RESULTS.md", "meta.json", "runs.csv", "machine.md"):
            text = open(os.path.join(self.out, name)).read()
            for root in (os.path.dirname(os.path.dirname(os.path.realpath(CONFIG.runner))), "/lib/", "/usr/lib"):
                self.assertNotIn(root, text, name)
        text = open(os.path.join(self.out, "RESULTS.md")).read()
        self.assertRegex(text, r"\n\| broken-abort \| `[^/`][^`]*libcmp_test_broken_abort\.so` \|")

    def test_soak_csv_and_machine_md(self):
        with open(os.path.join(self.out, "soak", "glibc.rep0.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertGreaterEqual(len(rows), 2)
        for key in ("t_sec", "rss_kb", "rss_minus_lazyfree_kb", "ops"):
            self.assertIn(key, rows[0])
        machine = open(os.path.join(self.out, "machine.md")).read()
        self.assertIn("THP enabled", machine)
        self.assertIn("libc6", machine)


class RunnerUnits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, os.path.dirname(os.path.realpath(CONFIG.runner)))

    def test_parse_result_line_takes_the_last_result(self):
        from runner.execute import parse_result_line
        out = "noise\nRESULT workload=a ops=1\nRESULT workload=b ops=2 secs=0.5\n"
        self.assertEqual(parse_result_line(out), {"workload": "b", "ops": "2", "secs": "0.5"})
        self.assertIsNone(parse_result_line("no result here\n"))

    def test_portable_path(self):
        from runner.allocators import portable_path
        repo = os.path.dirname(os.path.dirname(os.path.realpath(CONFIG.runner)))
        # A path no build makes: portable_path resolves symlinks, so a real
        # build/release/libhakmem.so would name its versioned file instead.
        self.assertEqual(portable_path(os.path.join(repo, "build", "no-such-preset", "libhakmem.so"), repo),
                         os.path.join("build", "no-such-preset", "libhakmem.so"))
        self.assertEqual(portable_path("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", repo), "libjemalloc.so.2")
        self.assertIsNone(portable_path(None, repo))

    def test_extra_allocator_soname_is_found_like_the_loader_would(self):
        from runner.allocators import parse_extra, find_library
        libc = find_library("libc.so.6")
        self.assertIsNotNone(libc)
        row = parse_extra("plain-libc=libc.so.6", ["plain-libc:X=1", "other:Y=2"])
        self.assertEqual(row.lib, os.path.abspath(libc))
        self.assertEqual(row.env, {"X": "1"})
        # A name found nowhere stays as given, so the row fails as "library not found".
        self.assertTrue(parse_extra("gone=libnothing-here.so.9", []).lib.endswith("libnothing-here.so.9"))
        self.assertIsNone(parse_extra("none=", []).lib)

    def test_describe_exit(self):
        from runner.execute import describe_exit
        self.assertEqual(describe_exit(-6), "signal SIGABRT")
        self.assertEqual(describe_exit(3), "exit 3")

    def test_plan_interleaves_allocators_within_a_repetition(self):
        from runner.allocators import Allocator
        from runner.cli import plan_runs
        from runner.workloads import select
        allocs = [Allocator("A"), Allocator("B")]
        plan = plan_runs(2, select(["random-mixed", "soak"]), allocs)
        order = [(rep, w.name, a.name) for rep, w, a in plan]
        self.assertEqual(order, [(0, "random-mixed", "A"), (0, "random-mixed", "B"), (0, "soak", "A"),
                                 (0, "soak", "B"), (1, "random-mixed", "A"), (1, "random-mixed", "B")])


    def test_callgrind_self_cost_by_object(self):
        from runner.callgrind import self_cost_by_object
        text = """events: Ir
ob=(1) /bin/prog
fl=(1) prog.c
fn=(1) main
3 10
+1 5
cob=(2) /lib/libc.so.6
cfi=(2) ???
cfn=(2) malloc
calls=4 0x10
+2 400
4 7
ob=(2)
fn=(2)
0x10 300
+1 100
ob=(1)
fn=(1)
9 1
""".splitlines(True)
        # main's own 10+5+7+1 and malloc's 300+100; the 400 after calls= is inclusive, not self
        self.assertEqual(self_cost_by_object(text), {"/bin/prog": 23, "/lib/libc.so.6": 400})

    def test_profile_counts_instructions_per_op(self):
        profile = os.path.join(os.path.dirname(os.path.realpath(CONFIG.runner)), "profile")
        cmd = [sys.executable, profile, "--workloads", "simple-loop", "--allocators", "glibc",
               "--bin-dir", CONFIG.bin_dir, "--args", "--sizes 64 --live 25 --ops-per-case 200000"]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
        self.assertEqual(run.returncode, 0, run.stderr[-2000:])
        row = [line for line in run.stdout.splitlines() if line.startswith("| simple-loop | glibc |")]
        self.assertEqual(len(row), 1, run.stdout)
        cells = [c.strip().strip("*") for c in row[0].strip("|").split("|")]
        total, workload, outside = (float(c.replace(",", "")) for c in cells[3:6])
        # A malloc or free of glibc's tcache costs tens of instructions; the loop itself a few.
        self.assertGreater(outside, 10)
        self.assertLess(outside, 500)
        self.assertGreater(workload, 1)
        self.assertAlmostEqual(total, workload + outside, delta=0.2)

def main():
    global CONFIG
    parser = argparse.ArgumentParser()
    for name in ("--runner", "--bin-dir", "--abort-lib", "--null-lib", "--no-malloc-lib"):
        parser.add_argument(name, required=True)
    CONFIG, rest = parser.parse_known_args()
    result = unittest.main(argv=[sys.argv[0]] + rest, verbosity=2, exit=False).result
    if not result.wasSuccessful():
        return 1
    if not shutil.which("gnuplot"):
        print("SKIP: the plot checks need gnuplot (apt-get install gnuplot-nox); everything else passed")
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
