"""`voxlite site build` without its slow parts, to test the build machinery for real.

The wheels, the JupyterLab extensions and `jupyter lite build` are replaced (the
stand-in copies the site's files and config as the real one would); the rest is
the real build: staging, steps, contents (--files), the Content-Security-Policy,
verify, the swap. As a script it runs the CLI, in a process a test can kill:

    python -m tests.fake_site [--hold lite|swap] [--signal FILE] -- voxlite-arguments...

``--hold lite``: `jupyter lite build` is a real child process (this module, run by
voxlite.builder.process) that writes its pid into FILE and sleeps. ``--hold swap``: the
build writes FILE and sleeps between the two renames of the swap.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from voxlite.builder.process import run_python_module
from voxlite.site import build as site_build

SLEEP = 600


def fake_jupyterlite(lite_dir: Path, output: Path) -> None:
    shutil.copytree(lite_dir / "files", output / "files")
    shutil.copy(lite_dir / "jupyter-lite.json", output / "jupyter-lite.json")
    (output / "index.html").write_text("<html><head></head><body>a site</body></html>")


def install(monkeypatch) -> None:
    """Replace the slow parts (``monkeypatch``: pytest's, or :class:`_Patch` in a script)."""
    monkeypatch.setattr(site_build, "collect_wheels", lambda options, folder: [])
    monkeypatch.setattr(site_build, "lab_extension_dirs", lambda: [])
    monkeypatch.setattr(site_build, "run_jupyterlite", fake_jupyterlite)


class _Patch:
    setattr = staticmethod(setattr)


def hold_in_a_child(signal_file: str):
    def held(lite_dir: Path, output: Path) -> None:
        run_python_module("tests.fake_site", ["--sleep", signal_file])

    return held


def hold_the_swap(signal_file: str) -> None:
    rename = Path.rename

    def held(self: Path, target):
        if self.name == "site" and self.parent.name.startswith("."):  # staging -> output
            Path(signal_file).write_text("swapping")
            time.sleep(SLEEP)
        return rename(self, target)

    Path.rename = held


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold", choices=("lite", "swap"))
    parser.add_argument("--signal")
    parser.add_argument("--sleep", help="as the held child: write the pid here and sleep")
    parser.add_argument("voxlite", nargs="*")
    args = parser.parse_args(argv)
    if args.sleep:
        Path(args.sleep).write_text(str(os.getpid()))
        time.sleep(SLEEP)
        return 0
    install(_Patch)
    if args.hold == "lite":
        site_build.run_jupyterlite = hold_in_a_child(args.signal)
    elif args.hold == "swap":
        hold_the_swap(args.signal)
    from voxlite.cli import main as cli

    return cli(args.voxlite)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
