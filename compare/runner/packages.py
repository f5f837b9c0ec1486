"""Debian packages compare/run needs besides the baselines: installed with apt-get when it runs
as root, otherwise named, with what goes missing without them."""
import os
import subprocess

# package -> what needs it
NEEDED = {"cmake": "the build", "g++": "the build", "make": "the build", "gnuplot-nox": "the PNG plots"}


def installed(package):
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Status}", package],
                              capture_output=True, text=True, check=False)
    except OSError:  # not a Debian system: nothing to check or install
        return True
    return done.stdout.strip() == "installed"


def ensure(may_install, log, packages=NEEDED):
    """Installs what is missing when allowed; returns the packages still missing."""
    missing = [p for p in packages if not installed(p)]
    if missing and may_install:
        log(f"installing with apt-get: {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing
        if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
            subprocess.run(cmd, env=env, capture_output=True, check=False)
        missing = [p for p in missing if not installed(p)]
    for p in missing:
        how = "apt-get could not install it" if may_install else "not root or --no-install: not installed"
        log(f"package {p} is missing ({how}); needed for {packages[p]}")
    return missing
