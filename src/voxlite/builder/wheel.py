"""voxlite's own wheel, for the Pyodide of a site or of the app."""

from __future__ import annotations

from pathlib import Path

import voxlite
from voxlite.builder.process import run_python_module
from voxlite.builder.steps import BuildError

# The MNI152 volumes inside voxlite's wheel (5 MB): a demo site or the app serves the demo
# files in data/ instead, so their copy of the wheel leaves these out.
DEMO_VOLUMES = "voxlite/data/mni152/"


def is_demo_volume(name: str) -> bool:
    """Whether a wheel member is one of the MNI152 volumes (see :data:`DEMO_VOLUMES`).

    Examples
    --------
    >>> is_demo_volume("voxlite/data/mni152/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
    True
    >>> is_demo_volume("voxlite/data/mni152/LICENSE")
    False
    """
    return name.startswith(DEMO_VOLUMES) and name.endswith(".nii.gz")


def build_voxlite_wheel(folder: Path) -> Path:
    """voxlite's wheel: built from the source tree, else the installed release from PyPI.

    Parameters
    ----------
    folder : Path
        Where the wheel is written (created if needed).

    Examples
    --------
    >>> build_voxlite_wheel(Path("wheels")).name  # doctest: +SKIP
    'voxlite-0.1.0-py3-none-any.whl'
    """
    folder.mkdir(parents=True, exist_ok=True)
    root = Path(voxlite.__file__).resolve().parents[2]
    if (root / "pyproject.toml").exists():
        how = ["wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(folder), str(root)]
    else:
        how = ["download", "--no-deps", "--dest", str(folder), f"voxlite=={voxlite.__version__}"]
    result = run_python_module("pip", [*how, "--quiet"])
    wheels = sorted(folder.glob("voxlite-*.whl"))
    if result.returncode != 0 or not wheels:
        raise BuildError(
            f"could not get voxlite's wheel (pip {how[0]}): {result.stdout.strip()[-500:]}; "
            "pass one with --voxlite-wheel"
        )
    return wheels[0]
