"""The ``voxlite`` command line."""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib import resources
from pathlib import Path

DEMO_NOTEBOOK = "Hello3DWorld.ipynb"


def demo_notebook() -> Path:
    """Path of the packaged demo notebook."""
    with resources.as_file(resources.files("voxlite.demo").joinpath(DEMO_NOTEBOOK)) as path:
        return Path(path)


def cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    target = out / DEMO_NOTEBOOK
    shutil.copyfile(demo_notebook(), target)
    print(f"wrote {target}")
    print(f"open it with:  .venv/bin/jupyter lab {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxlite",
        description="Interactive 3D viewing of medical and scientific images, with zero servers.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="write the demo notebook (CT stent phantom, MNI brain)")
    demo.add_argument(
        "-o", "--output", default="_output", help="folder to write to (default: %(default)s)"
    )
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError) as error:
        print(f"voxlite: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
