"""The ``voxlite`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_site_build(args: argparse.Namespace) -> int:
    from voxlite.site import SiteOptions, build_site

    options = SiteOptions(
        output=Path(args.output),
        notebooks=[Path(p) for p in args.notebooks],
        files=[Path(p) for p in args.files],
        requirements=read_requirements(args.requirements) if args.requirements else [],
        wheels=[Path(p) for p in args.wheels],
        pyodide=args.pyodide,
        voxlite_wheel=Path(args.voxlite_wheel) if args.voxlite_wheel else None,
        demo=not args.no_demo,
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

    serve_forever(Path(args.site), args.port)
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

    options = AppOptions(
        output=Path(args.output),
        demo=not args.no_demo,
        files=[Path(p) for p in args.files],
        pyodide=args.pyodide,
        voxlite_wheel=Path(args.voxlite_wheel) if args.voxlite_wheel else None,
    )
    report = build_app(options)
    print(report.summary())
    print(f"serve it with:  voxlite app serve {args.output}")
    return 0


def cmd_app_serve(args: argparse.Namespace) -> int:
    from voxlite.app.build import HEADER_POLICY
    from voxlite.site.serve import make_server, serve_until_interrupted

    app = Path(args.app)
    if not (app / "index.html").exists():
        raise FileNotFoundError(f"no app at {app}: build one with `voxlite app build -o {app}`")
    # The page's own policy, as a header: it then covers the Python worker too.
    server = make_server(app, args.port, policy=HEADER_POLICY)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"serving the voxlite app {app.resolve()} at {url}  (Ctrl-C stops)")
    if (app / "data" / "mni152_t1.nii.gz").exists():
        print(f"demo: {url}?url=data/mni152_t1.nii.gz")
    serve_until_interrupted(server)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxlite",
        description="Interactive 3D viewing of medical and scientific images, with zero servers.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_site_commands(commands)
    add_app_commands(commands)
    return parser


def add_app_commands(commands: argparse._SubParsersAction) -> None:
    app = commands.add_parser(
        "app",
        help="build and serve the zero-server viewer app",
        description="A static single-page viewer: drop a file (or a DICOM folder) and see it "
        "in 3D. Python (Pyodide) reads it in the browser; nothing is uploaded.",
    )
    actions = app.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="build the app (offline: Pyodide vendored)")
    build.add_argument(
        "-o",
        "--output",
        default="app",
        help="app folder, replaced atomically (default: %(default)s)",
    )
    build.add_argument(
        "--files",
        nargs="+",
        default=[],
        metavar="PATH",
        help="data files or folders to serve beside the app, in data/ (open with ?url=data/NAME)",
    )
    build.add_argument(
        "--no-demo", action="store_true", help="leave out the demo data (MNI152 MRI, CT phantom)"
    )
    build.add_argument(
        "--pyodide",
        default="offline",
        metavar="SRC",
        help="'offline' (the fetched cache; default), a Pyodide folder or a release tarball",
    )
    build.add_argument(
        "--voxlite-wheel",
        metavar="WHL",
        help="use this voxlite wheel instead of building one from the source tree",
    )
    build.set_defaults(run=cmd_app_build)

    serve = actions.add_parser("serve", help="serve a built app on 127.0.0.1")
    serve.add_argument("app", nargs="?", default="app")
    serve.add_argument("-p", "--port", type=int, default=8000)
    serve.set_defaults(run=cmd_app_serve)


def add_site_commands(commands: argparse._SubParsersAction) -> None:
    site = commands.add_parser(
        "site",
        help="build, check and serve zero-server JupyterLite sites",
        description="Static JupyterLite sites where Python (Pyodide) and voxlite run in the "
        "browser: no server, and by default no request outside the site's own origin.",
    )
    actions = site.add_subparsers(dest="action", required=True, metavar="ACTION")

    build = actions.add_parser("build", help="build a site (offline by default)")
    build.add_argument(
        "-o",
        "--output",
        default="_output",
        help="site folder, replaced atomically (default: %(default)s)",
    )
    build.add_argument(
        "--notebooks",
        nargs="+",
        default=[],
        metavar="PATH",
        help="notebooks (or folders of them) to include",
    )
    build.add_argument(
        "--files", nargs="+", default=[], metavar="PATH", help="data files or folders to include"
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
    build.add_argument(
        "--pyodide",
        default="offline",
        metavar="SRC",
        help="'offline' (vendored, pruned; default), 'cdn', a Pyodide folder or a release tarball",
    )
    build.add_argument(
        "--voxlite-wheel",
        metavar="WHL",
        help="use this voxlite wheel instead of building one from the source tree",
    )
    build.add_argument(
        "--no-demo", action="store_true", help="leave out the Hello3DWorld demo notebook"
    )
    build.set_defaults(run=cmd_site_build)

    serve = actions.add_parser("serve", help="serve a built site on 127.0.0.1")
    serve.add_argument("site", nargs="?", default="_output")
    serve.add_argument("-p", "--port", type=int, default=8000)
    serve.set_defaults(run=cmd_site_serve)

    check = actions.add_parser("check", help="list every load from another origin")
    check.add_argument("site", nargs="?", default="_output")
    check.set_defaults(run=cmd_site_check)

    fetch = actions.add_parser(
        "fetch", help="download Pyodide and the browser wheels into the cache (registries only)"
    )
    fetch.set_defaults(run=cmd_site_fetch)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, RuntimeError) as error:
        print(f"voxlite: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
