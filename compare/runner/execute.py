"""Runs one workload under one allocator and turns the outcome into a CSV row."""
import os
import signal
import subprocess
import time

from .allocators import run_env


def parse_result_line(stdout):
    """The key=value pairs of the last 'RESULT ' line, or None."""
    lines = [l for l in stdout.splitlines() if l.startswith("RESULT ")]
    if not lines:
        return None
    fields = {}
    for item in lines[-1].split()[1:]:
        key, sep, value = item.partition("=")
        if sep:
            fields[key] = value
    return fields


def describe_exit(returncode):
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"


def _preload_problem(allocator, fields, stderr):
    """Why the result does not belong to this allocator, or None."""
    provider = fields.get("malloc_lib", "unknown")
    if "cannot be preloaded" in stderr:
        return "preload failed: " + _last_line(stderr)
    if allocator.lib:
        if os.path.realpath(provider) != os.path.realpath(allocator.lib):
            return f"preload not active: malloc came from {provider}"
    elif not os.path.basename(provider).startswith("libc.so"):
        return f"expected glibc malloc, got {provider}"
    return None


def _last_line(text):
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return lines[-1][:200] if lines else ""


def _run_process(cmd, env, timeout):
    """(returncode or None on timeout, stdout, stderr, wall seconds)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, time.monotonic() - start
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err, time.monotonic() - start


def run_one(workload, allocator, rep, ctx):
    """ctx: bin_dir, out_dir, profile, timeout_scale. Returns the CSV row (a dict)."""
    row = {"workload": workload.name, "allocator": allocator.name, "rep": rep, "status": "FAILED",
           "detail": "", "exit": "", "wall_secs": ""}
    if allocator.missing:
        row["detail"] = allocator.missing
        return row
    binary = os.path.join(ctx.bin_dir, workload.binary)
    cmd = [binary] + workload.args[ctx.profile]
    if workload.writes_csv:
        csv_path = os.path.join(ctx.out_dir, workload.name, f"{allocator.name}.rep{rep}.csv")
        os.makedirs(os.path.dirname(csv_path), exist_ok=True)
        cmd += ["--csv", csv_path]
    timeout = workload.timeout(ctx.profile, ctx.timeout_scale)
    code, out, err, wall = _run_process(cmd, run_env(allocator), timeout)
    row["wall_secs"] = f"{wall:.3f}"
    row["exit"] = "timeout" if code is None else describe_exit(code)
    _save_stderr(ctx.out_dir, workload, allocator, rep, err)
    fields = parse_result_line(out)
    if code is None:
        row["detail"] = f"timeout after {timeout:.0f}s"
    elif code != 0:
        row["detail"] = row["exit"] + (f": {_last_line(err)}" if _last_line(err) else "")
    elif fields is None:
        row["detail"] = "no RESULT line" + (f": {_last_line(err)}" if _last_line(err) else "")
    else:
        row["detail"] = _preload_problem(allocator, fields, err) or ""
        row["status"] = "FAILED" if row["detail"] else "ok"
    if fields:
        fields.pop("workload", None)
        row.update(fields)
    return row


def _save_stderr(out_dir, workload, allocator, rep, err):
    if not err.strip():
        return
    path = os.path.join(out_dir, "logs", f"{workload.name}.{allocator.name}.rep{rep}.stderr")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(err[-16384:])
