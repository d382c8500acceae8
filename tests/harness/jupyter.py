"""A JupyterLab server on 127.0.0.1 for the tests and benchmarks, and waits on its kernel."""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator


def wait_for_idle_kernel(page, timeout: float = 180_000) -> None:
    """Wait until the notebook open in JupyterLab(-Lite) has an idle kernel."""
    page.wait_for_function(
        """() => {
            const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const session = widget && widget.sessionContext && widget.sessionContext.session;
            return session && session.kernel && session.kernel.status === 'idle';
        }""",
        timeout=timeout,
        polling=100,
    )


def run_cell(page, index: int, wait: bool = True) -> None:
    """Run a cell; with ``wait``, until the kernel has replied."""
    page.evaluate(
        """async ([index, wait]) => {
            const panel = window.jupyterapp.shell.currentWidget;
            panel.content.activeCellIndex = index;
            const done = window.jupyterapp.commands.execute('notebook:run-cell');
            if (wait) await done;
        }""",
        [index, wait],
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_extensions_without_jupyterlite(folder: pathlib.Path) -> pathlib.Path:
    """The installed JupyterLab extensions but JupyterLite's, linked into ``folder``.

    The site extra installs JupyterLite's kernel extension beside JupyterLab, where it
    cannot load (it needs JupyterLite's in-browser server).
    """
    installed = pathlib.Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    for entry in installed.iterdir():
        packages = sorted(entry.iterdir()) if entry.name.startswith("@") else [entry]
        for package in packages:
            if (package / "package.json").exists() and entry.name != "@jupyterlite":
                link = folder / package.relative_to(installed)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(package)
    return folder


@contextlib.contextmanager
def jupyterlab_server(root: pathlib.Path, *args: str, pythonpath: str = "") -> Iterator[str]:
    """A JupyterLab server on 127.0.0.1 serving ``root``, without a token; yields its URL.

    ``args`` are more command-line options; ``pythonpath`` goes before the kernel's path.
    """
    extensions = lab_extensions_without_jupyterlite(root / ".labextensions")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--allow-root",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.labextensions_path={extensions}",
        "--LabApp.news_url=",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *args,
    ]
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / ".config"),
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "PYTHONPATH": os.pathsep.join(filter(None, [pythonpath, os.environ.get("PYTHONPATH")])),
    }
    url = f"http://127.0.0.1:{port}"
    with open(root / "server.log", "w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status", timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"JupyterLab did not start:\n{(root / 'server.log').read_text()}"
                        ) from None
                    time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
