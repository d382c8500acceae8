"""The ``voxlite`` command line.

``site`` and ``app`` are two targets of one build (:mod:`voxlite.builder`): their
``build`` and ``serve`` actions share their arguments (:func:`add_build_arguments`,
:func:`add_serve_arguments`); each target adds its own.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TargetHelp:
    """What differs between the targets' shared arguments: defaults and help texts."""

    kind: str
    help: str
    description: str
    build: str
    output: str
    files: str
    demo: str
    pyodide: str


SITE = TargetHelp(
    kind="site",
    help="build, check and serve zero-server JupyterLite sites",
    description="Static JupyterLite sites where Python (Pyodide) and voxlite run in the "
    "browser: no server, and by default no request outside the site's own origin.",
    build="build a site (offline by default)",
    output="_output",
    files="data files or folders to include",
    demo="leave out the Hello3DWorld demo notebook",
    pyodide="'offline' (vendored, pruned; default), 'cdn', a Pyodide folder or a release tarball",
)
APP = TargetHelp(
    kind="app",
    help="build and serve the zero-server viewer app",
    description="A static single-page viewer: drop a file (or a DICOM folder) and see it "
    "in 3D. Python (Pyodide) reads it in the browser; nothing is uploaded.",
    build="build the app (offline: Pyodide vendored)",
    output="app",
    files="data files or folders to serve beside the app, in data/ (open with ?url=data/NAME)",
    demo="leave out the demo data (MNI152 MRI, CT phantom)",
    pyodide="'offline' (the fetched cache; default), a Pyodide folder or a release tarball",
)


def add_build_arguments(build: argparse.ArgumentParser, target: TargetHelp) -> None:
    """The arguments of ``voxlite site build`` and ``voxlite app build`` alike."""
    build.add_argument(
        "-o",
        "--output",
        default=target.output,
        help=f"{target.kind} folder, replaced atomically (default: %(default)s)",
    )
    files = f"{target.files}; dotfiles and links out of a folder are left out"
    build.add_argument("--files", nargs="+", default=[], metavar="PATH", help=files)
    build.add_argument(
        "--max-files-size",
        type=_size,
        default=None,
        metavar="SIZE",
        help="the most --files may weigh together (default: 1G; e.g. 500M, 4G)",
    )
    build.add_argument("--no-demo", action="store_true", help=target.demo)
    build.add_argument("--pyodide", default="offline", metavar="SRC", help=target.pyodide)
    build.add_argument(
        "--voxlite-wheel",
        metavar="WHL",
        help="use this voxlite wheel instead of building one from the source tree",
    )


def _size(text: str) -> int:
    from voxlite.builder.files import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options every target takes (:class:`voxlite.builder.run.BuildOptions`)."""
    options: dict[str, Any] = {
        "output": Path(args.output),
        "files": [Path(p) for p in args.files],
        "demo": not args.no_demo,
        "pyodide": args.pyodide,
        "voxlite_wheel": Path(args.voxlite_wheel) if args.voxlite_wheel else None,
    }
    if args.max_files_size is not None:
        options["max_files_bytes"] = args.max_files_size
    return options


def add_serve_arguments(serve: argparse.ArgumentParser, target: TargetHelp) -> None:
    """The arguments of ``voxlite site serve`` and ``voxlite app serve`` alike."""
    serve.add_argument("folder", nargs="?", default=target.output, metavar=target.kind.upper())
    serve.add_argument("-p", "--port", type=int, default=8000)
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on, and the one name besides 127.0.0.1, localhost and "
        "[::1] that the server answers to (default: %(default)s)",
    )


def cmd_site_build(args: argparse.Namespace) -> int:
    from voxlite.site import SiteOptions, build_site

    options = SiteOptions(
        **build_options(args),
        notebooks=[Path(p) for p in args.notebooks],
        requirements=read_requirements(args.requirements) if args.requirements else [],
        wheels=[Path(p) for p in args.wheels],
    )
    report = build_site(options)
    print(report.summary())
    print(f"serve it with:  voxlite site serve {args.output}")
    return 0


def read_requirements(path: str) -> list[str]:
    """Requirement lines of a file, without comments and blank lines."""
    lines = Path(path).read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def cmd_site_serve(args: argparse.Namespace) -> int:
    from voxlite.site import serve_forever

    demo = ("lab/index.html?path=Hello3DWorld.ipynb",)
    serve_forever(Path(args.folder), args.port, args.host, demo)
    return 0


def cmd_site_check(args: argparse.Namespace) -> int:
    from voxlite.site import find_outside_urls

    outside = find_outside_urls(Path(args.site))
    for file, url in outside:
        print(f"{file}: {url}")
    if outside:
        print(
            f"{len(outside)} load(s) from other origins: the site is not self-contained",
            file=sys.stderr,
        )
        return 1
    print(f"{args.site}: every load stays on the site's own origin")
    return 0


def cmd_site_fetch(args: argparse.Namespace) -> int:
    from voxlite.site import fetch

    fetch()
    return 0


def cmd_app_build(args: argparse.Namespace) -> int:
    from voxlite.app import AppOptions, build_app

    report = build_app(AppOptions(**build_options(args)))
    print(report.summary())
    print(f"serve it with:  voxlite app serve {args.output}")
    return 0


def cmd_app_serve(args: argparse.Namespace) -> int:
    from voxlite.site import serve_forever

    app = Path(args.folder)
    if not (app / "index.html").exists():
        raise FileNotFoundError(f"no app at {app}: build one with `voxlite app build -o {app}`")
    demo = ("?url=data/mni152_t1.nii.gz",) if (app / "data" / "mni152_t1.nii.gz").exists() else ()
    serve_forever(app, args.port, args.host, demo)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxlite",
        description="Interactive 3D viewing of medical and scientific images, with zero servers.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_site_commands(commands)
    add_app_commands(commands)
    add_convert_command(commands)
    return parser


def add_target_commands(
    commands: argparse._SubParsersAction, target: TargetHelp, build_run, serve_run
) -> tuple[argparse._SubParsersAction, argparse.ArgumentParser]:
    """``voxlite KIND build`` and ``voxlite KIND serve``; returns the actions and the build
    parser, for the target's own."""
    parser = commands.add_parser(target.kind, help=target.help, description=target.description)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser("build", help=target.build)
    add_build_arguments(build, target)
    build.set_defaults(run=build_run)
    serve = actions.add_parser("serve", help=f"serve a built {target.kind} on 127.0.0.1")
    add_serve_arguments(serve, target)
    serve.set_defaults(run=serve_run)
    return actions, build


def add_app_commands(commands: argparse._SubParsersAction) -> None:
    add_target_commands(commands, APP, cmd_app_build, cmd_app_serve)


def add_site_commands(commands: argparse._SubParsersAction) -> None:
    actions, build = add_target_commands(commands, SITE, cmd_site_build, cmd_site_serve)
    build.add_argument(
        "--notebooks",
        nargs="+",
        default=[],
        metavar="PATH",
        help="notebooks (or folders of them) to include",
    )
    build.add_argument(
        "--requirements",
        metavar="FILE",
        help="extra packages: Pyodide packages by name, others via --wheels",
    )
    build.add_argument(
        "--wheels",
        nargs="+",
        default=[],
        metavar="WHL",
        help="extra pure-Python (py3-none-any) wheels",
    )

    check = actions.add_parser("check", help="list every load from another origin")
    check.add_argument("site", nargs="?", default="_output")
    check.set_defaults(run=cmd_site_check)

    fetch = actions.add_parser(
        "fetch", help="download Pyodide and the browser wheels into the cache (registries only)"
    )
    fetch.set_defaults(run=cmd_site_fetch)


def add_convert_command(commands: argparse._SubParsersAction) -> None:
    """``voxlite convert INPUT OUT.ome.zarr`` (:mod:`voxlite.convert`)."""
    from voxlite import convert  # numpy and voxlite's readers; ngff-zarr only when run

    parser = commands.add_parser(
        "convert",
        help="write an image as a multiscale OME-Zarr (out of core, on dask)",
        description="Write any image voxlite reads as a multiscale OME-Zarr for static "
        "hosting and streaming, with ngff-zarr on dask: NIfTI, DICOM, TIFF and zarr are "
        "read slab by slab, never whole (pip install 'voxlite[convert]').",
    )
    parser.add_argument("input", help="an image file, a DICOM folder, an OME-Zarr or zarr")
    parser.add_argument("output", help="the .ome.zarr folder to write")
    parser.add_argument("--codec", default="blosc-zstd", choices=convert.CODECS)
    parser.add_argument(
        "--ngff-version", default="0.4", choices=convert.VERSIONS, help="0.4: zarr v2; 0.5: v3"
    )
    parser.add_argument(
        "--chunks",
        type=int,
        nargs="+",
        default=[convert.DEFAULT_CHUNKS],
        metavar="N",
        help="voxels per chunk side, or Z Y X (default: 64)",
    )
    parser.add_argument("--shards", type=int, metavar="N", help="chunks per shard side (0.5)")
    parser.add_argument("--levels", type=int, help="levels, full resolution included")
    parser.add_argument("--labels", action="store_true", help="a label map: levels by mode")
    parser.add_argument("--method", choices=convert.METHODS, help="mean, mode or nearest")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="a dask scheduler (tcp://host:8786), or threads"
    )
    parser.add_argument(
        "--memory",
        type=_size,
        default=convert.DEFAULT_MEMORY,
        metavar="SIZE",
        help="source bytes computed at once (default: 256M)",
    )
    parser.add_argument(
        "--oblique",
        choices=("refuse", "drop"),
        default="refuse",
        help="an oblique image: refuse (default), or drop its rotation",
    )
    parser.add_argument("--component", type=int, help="the volume of a 4D file or series")
    parser.add_argument("--series", help="the DICOM series: an index or a SeriesInstanceUID")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(run=cmd_convert)


def cmd_convert(args: argparse.Namespace) -> int:
    from voxlite.convert import to_ome_zarr

    if len(args.chunks) not in (1, 3):
        raise ValueError(f"--chunks takes 1 or 3 numbers, got {len(args.chunks)}")
    options: dict[str, Any] = {}
    if args.component is not None:
        options["component"] = args.component
    if args.series is not None:
        options["series"] = int(args.series) if args.series.isdigit() else args.series
    out = to_ome_zarr(
        args.input,
        args.output,
        codec=args.codec,
        version=args.ngff_version,
        chunks=args.chunks[0] if len(args.chunks) == 1 else tuple(args.chunks),
        shards=args.shards,
        levels=args.levels,
        labels=args.labels,
        method=args.method,
        overwrite=args.overwrite,
        scheduler=args.scheduler,
        memory=args.memory,
        oblique=args.oblique,
        progress=not args.quiet,
        **options,
    )
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, RuntimeError, ImportError) as error:
        print(f"voxlite: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
