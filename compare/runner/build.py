"""Builds libhakmem.so (Release) and the workload binaries with CMake."""
import os
import subprocess


def _run(cmd, cwd, log_file):
    log_file.write(f"$ {' '.join(cmd)}\n")
    log_file.flush()
    return subprocess.run(cmd, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT, check=False).returncode


def build(repo, build_dir, log_path, log):
    """Configures if needed and builds everything; when the whole build fails (the core may
    be mid-change), builds just the workloads. Returns True when everything built."""
    preset = os.path.realpath(build_dir) == os.path.realpath(os.path.join(repo, "build", "release"))
    if preset:
        configure = ["cmake", "--preset", "release"]
        build_cmd = ["cmake", "--build", "--preset", "release"]
    else:
        configure = ["cmake", "-S", repo, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", "-DHAKMEM_BUILD_TESTS=OFF"]
        build_cmd = ["cmake", "--build", build_dir, "-j", str(os.cpu_count() or 2)]
    with open(log_path, "w") as log_file:
        if not os.path.isfile(os.path.join(build_dir, "CMakeCache.txt")) and _run(configure, repo, log_file) != 0:
            log(f"cmake configure failed, see {log_path}")
            return False
        if _run(build_cmd, repo, log_file) == 0:
            return True
        log(f"full build failed (hakmem rows may show FAILED), see {log_path}; building the workloads only")
        _run(build_cmd + ["--target", "compare_workloads"], repo, log_file)
        return False
