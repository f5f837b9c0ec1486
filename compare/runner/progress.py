"""One progress line on the terminal with an ETA from the runs measured so far."""
import sys
import time


def _clock(secs):
    secs = max(0, int(secs))
    return f"{secs // 3600}:{secs // 60 % 60:02d}:{secs % 60:02d}" if secs >= 3600 else f"{secs // 60}:{secs % 60:02d}"


class Progress:
    def __init__(self, plan, profile, stream=sys.stderr):
        self.plan = plan                      # [(rep, workload, allocator)]
        self.profile = profile
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self.measured = {}                    # workload name -> [wall seconds]
        self.done = 0

    def _estimate(self, workload):
        seen = self.measured.get(workload.name)
        return sum(seen) / len(seen) if seen else workload.est_secs[self.profile] + 0.05

    def eta(self):
        return sum(self._estimate(w) for _, w, a in self.plan[self.done:] if not a.missing)

    def starting(self, rep, workload, allocator, reps):
        line = (f"[{self.done + 1}/{len(self.plan)}] rep {rep + 1}/{reps} {workload.name:<20} "
                f"{allocator.name:<15} elapsed {_clock(time.monotonic() - self.start)} ETA {_clock(self.eta())}")
        if self.tty:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finished(self, workload, row):
        self.done += 1
        if row.get("wall_secs"):
            self.measured.setdefault(workload.name, []).append(float(row["wall_secs"]))
        if row["status"] != "ok":
            prefix = "\n" if self.tty else ""
            self.stream.write(f"{prefix}  FAILED {workload.name} / {row['allocator']} rep {row['rep'] + 1}: "
                              f"{row['detail']}\n")

    def close(self):
        if self.tty:
            self.stream.write("\n")
        self.stream.write(f"all runs done in {_clock(time.monotonic() - self.start)}\n")
