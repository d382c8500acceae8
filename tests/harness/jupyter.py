"""A JupyterLab server on 127.0.0.1 for the tests and benchmarks, and waits on its kernel."""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
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


def write_notebook(path: pathlib.Path, cells: list[str]) -> pathlib.Path:
    """A notebook of these code cells, for the python3 kernel."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, path)
    return path


def printed(page, cell: int, tag: str) -> str:
    """Run a cell that prints ``tag=...`` and return what follows the tag."""
    run_cell(page, cell)
    output = page.locator(".jp-OutputArea-output", has_text=f"{tag}=").first
    output.wait_for(timeout=30_000)
    page.wait_for_timeout(200)
    return output.inner_text().strip().split(f"{tag}=", 1)[1]


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
def server_process(
    command: list[str], root: pathlib.Path, ready: str, name: str, env: dict | None = None
) -> Iterator[None]:
    """Run ``command`` in ``root`` until the ``ready`` URL answers; stop it on leaving.

    Any HTTP answer counts (an error status too). Its output goes to
    ``root / f"{name}.log"``, shown if it does not start in 90 s.
    """
    log_path = root / f"{name}.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    urllib.request.urlopen(ready, timeout=2)
                    break
                except urllib.error.HTTPError:  # it answers: it has started
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{name} did not start:\n{log_path.read_text()}"
                        ) from None
                    time.sleep(0.5)
            yield
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def jupyter_environment(root: pathlib.Path, pythonpath: str = "") -> dict[str, str]:
    """Config, data and runtime folders of the test's own (nothing written to the user's:
    settings, workspaces, notebook signatures), and ``pythonpath`` before the kernel's."""
    return {
        "JUPYTER_CONFIG_DIR": str(root / ".config"),
        "JUPYTER_DATA_DIR": str(root / ".data"),
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "PYTHONPATH": os.pathsep.join(filter(None, [pythonpath, os.environ.get("PYTHONPATH")])),
    }


# JupyterLab and Notebook 7 are both JupyterLab applications; Notebook 7 has no news
# feed, extension manager nor update check to turn off.
APPLICATIONS = {
    "jupyterlab": [
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ],
    "notebook": ["--JupyterNotebookApp.expose_app_in_browser=True"],
}


@contextlib.contextmanager
def jupyter_server(
    root: pathlib.Path, *args: str, app: str = "jupyterlab", pythonpath: str = ""
) -> Iterator[str]:
    """A JupyterLab (``app="jupyterlab"``) or Notebook 7 (``"notebook"``) server on
    127.0.0.1 serving ``root``, without a token; yields its URL.

    ``args`` are more command-line options; ``pythonpath`` goes before the kernel's path.
    """
    extensions = lab_extensions_without_jupyterlite(root / ".labextensions")
    port = free_port()
    application = "LabApp" if app == "jupyterlab" else "JupyterNotebookApp"
    command = [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--allow-root",
        f"--ServerApp.root_dir={root}",
        f"--{application}.labextensions_path={extensions}",
        *APPLICATIONS[app],
        *args,
    ]
    url = f"http://127.0.0.1:{port}"
    env = jupyter_environment(root, pythonpath)
    with server_process(command, root, f"{url}/api/status", app, env):
        yield url


def jupyterlab_server(root: pathlib.Path, *args: str, pythonpath: str = ""):
    """A JupyterLab server on 127.0.0.1 serving ``root``: :func:`jupyter_server`."""
    return jupyter_server(root, *args, app="jupyterlab", pythonpath=pythonpath)
