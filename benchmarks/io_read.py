"""Read times of a 256³ volume in every format voxlite reads, against SimpleITK and numpy.

    .venv/bin/python -m benchmarks.io_read [--size 256] [--repeat 3]

The same int16 CT phantom is written in each format; each read is timed
(median of --repeat) with voxlite.read_image and, where it reads the format,
SimpleITK, in the same run, in turns. ``np.load`` of the .npy is the floor (a memory copy
from the page cache). Results: benchmarks/results/io_read.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk  # noqa: N813

import voxlite
from benchmarks.machine import describe_machine
from voxlite.io.dicom import write_series

HERE = Path(__file__).parent


def timed(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_pair(ours, theirs, repeat: int) -> tuple[float, float]:
    """Medians of both, run in turns: on a shared, noisy machine a burst of load then
    slows both alike instead of only the one running at the time."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for action, spent in ((ours, times[0]), (theirs, times[1])):
            if action is None:
                spent.append(float("nan"))
                continue
            start = time.perf_counter()
            action()
            spent.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def write_all(image: voxlite.Image, folder: Path) -> dict[str, Path]:
    """Each format in a folder of its own: given ct.nii.gz, SimpleITK (nifticlib) reads the
    ct.nii beside it when there is one, which once timed an uncompressed read as gzip's."""
    import tifffile

    paths = {}
    for suffix in (".npy", ".nii", ".nii.gz", ".nrrd", ".mha", ".mhd"):
        (folder / suffix[1:]).mkdir()
        paths[suffix] = voxlite.write_image(image, folder / suffix[1:] / f"ct{suffix}")
    write_series(image, folder / "dicom")
    paths["DICOM series"] = folder / "dicom"
    (folder / "tif").mkdir()
    tifffile.imwrite(folder / "tif" / "ct.tif", image.array, imagej=True)
    paths[".tif"] = folder / "tif" / "ct.tif"
    return paths


def simpleitk_reader(path: Path):
    if path.is_dir():
        # Both sides find the series' files and their order from the folder, as a user's
        # read of a folder does (GDCM reads every file's header for it), then read them.
        def read_series():
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(path)))
            return sitk.GetArrayViewFromImage(reader.Execute())

        return read_series
    if path.suffix == ".npy":
        return None
    return lambda: sitk.GetArrayViewFromImage(sitk.ReadImage(str(path)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.size
    image = voxlite.data.ct_phantom((n, n, n))
    megabytes = image.array.nbytes / 1e6
    with tempfile.TemporaryDirectory() as folder:
        paths = write_all(image, Path(folder))
        floor = timed(lambda: np.load(paths[".npy"]), args.repeat)
        rows = {}
        for name, path in paths.items():
            ours, theirs = timed_pair(
                lambda path=path: voxlite.read_image(path), simpleitk_reader(path), args.repeat
            )
            rows[name] = {
                "voxlite_s": ours,
                "simpleitk_s": theirs,
                "voxlite_over_simpleitk": ours / theirs,
                "voxlite_over_npy": ours / floor,
            }
    print(f"{n}³ int16 ({megabytes:.0f} MB), median of {args.repeat}; np.load floor {floor:.3f} s")
    print(f"{'format':14} {'voxlite s':>10} {'SimpleITK s':>12} {'ratio':>7} {'x np.load':>10}")
    for name, row in rows.items():
        print(
            f"{name:14} {row['voxlite_s']:10.3f} {row['simpleitk_s']:12.3f} "
            f"{row['voxlite_over_simpleitk']:7.2f} {row['voxlite_over_npy']:10.1f}"
        )
    out = HERE / "results" / "io_read.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "volume": f"{n}^3 int16 CT phantom",
                "repeat": args.repeat,
                "np_load_s": floor,
                "formats": rows,
                "machine": describe_machine(),
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
