"""Fuzzed readers: random and mutated bytes give an Image or an ImageIOError, nothing else.

Every reader behind ``voxlite.read_image`` gets small valid files (written by voxlite,
or by the format's own library where voxlite has no writer) mutated by Hypothesis:
truncated at any offset, bytes flipped or overwritten, header fields set to absurd
values (2**31 voxels, zero and negative sizes, zero/negative/NaN spacing, NaN affines,
the wrong byte order, bogus type codes, data files outside the folder, missing or a
device, byte and line skips past any size), any of their files replaced by a FIFO, a
device or an 8 GiB sparse file, compressed data with gaps and tails around the voxels
(NRRD byte skips, NIfTI vox_offset), TIFF strips and zarr chunks that inflate past their
share, and random bytes under each suffix. The only outcomes allowed are an
:class:`Image` whose array is consistent, or an :class:`ImageIOError` with a message:
any other exception is a reader bug. Every read runs under tracemalloc with a 1 MiB
budget (``read_image(max_bytes=)``), so a reader that allocates what a lying header
claims fails too; the explicit tests at the end use the default 2 GiB budget.

CI runs the derandomized "ci" profile: the same examples on every run and no example
database (nothing is written into the repository). ``VOXLITE_FUZZ=deep`` runs a random
search ten times as long. The module ends by printing how many inputs each reader got.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import itertools
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import voxlite
from voxlite import Image, ImageIOError, read_image, write_image

settings.register_profile(
    "ci",
    database=None,  # no .hypothesis/ folder in the working tree
    derandomize=True,  # the same examples on every run: CI is reproducible
    deadline=timedelta(seconds=3),  # one read of a tiny file; far more is a hang
    print_blob=False,
    # No "explain" phase: re-running failures under sys.settrace takes minutes here.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("deep", settings.get_profile("ci"), derandomize=False)
DEEP = os.environ.get("VOXLITE_FUZZ") == "deep"
settings.load_profile("deep" if DEEP else "ci")

pytestmark = pytest.mark.timeout(150)

FUZZ_BUDGET = 1 << 20  # bytes of voxels a fuzzed file may claim (read_image(max_bytes=))
PEAK_LIMIT = 24 << 20  # tracemalloc peak of one fuzzed read: a few times the budget, at most
INPUTS: Counter = Counter()  # sample label -> inputs tried
OUTCOMES: Counter = Counter()  # (sample label, "image" | "error") -> count


def examples(count: int) -> settings:
    return settings(max_examples=count * (10 if DEEP else 1))


# -- valid files to start from -------------------------------------------------------


def sample_image() -> Image:
    rng = np.random.default_rng(7)
    array = rng.integers(-1000, 1000, (3, 4, 5)).astype(np.int16)
    a = 0.3
    direction = [[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]]
    return Image(array, spacing=(0.5, 0.75, 2.0), origin=(10.0, -20.0, 5.0), direction=direction)


@dataclass(frozen=True)
class Sample:
    files: dict[str, bytes]  # path inside the case folder -> contents
    entry: str  # what read_image gets, inside the case folder ("." is the folder)


def _collect(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _build_samples(folder: Path) -> dict[str, Sample]:
    import nibabel
    import nrrd
    import tifffile
    import zarr

    from voxlite.io.dicom import write_series
    from voxlite.io.nifti import lps_affine

    image = sample_image()
    samples: dict[str, Sample] = {}

    def single(label: str, name: str, write) -> None:
        root = folder / label
        root.mkdir()
        write(root / name)
        samples[label] = Sample(_collect(root), name)

    for label, name in (
        ("nii", "a.nii"),
        ("nii.gz", "a.nii.gz"),
        ("nrrd", "a.nrrd"),
        ("mha", "a.mha"),
        ("mhd", "a.mhd"),
        ("npy", "a.npy"),
    ):
        single(label, name, lambda path: write_image(image, path))
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps_affine(image)
    single(
        "nii2",
        "a.nii",
        lambda path: nibabel.Nifti2Image(image.array.transpose(2, 1, 0), ras).to_filename(path),
    )
    header = {
        "space": "left-posterior-superior",
        "space origin": np.asarray(image.origin),
        "space directions": (image.direction * np.asarray(image.spacing)).T,
    }
    single(
        "nrrd-raw",
        "a.nrrd",
        lambda path: nrrd.write(
            str(path), image.array, {**header, "encoding": "raw"}, index_order="C"
        ),
    )
    single(
        "nrrd-bz2",
        "a.nrrd",
        lambda path: nrrd.write(
            str(path), image.array, {**header, "encoding": "bzip2"}, index_order="C"
        ),
    )
    single(
        "nhdr",
        "a.nhdr",
        lambda path: nrrd.write(
            str(path),
            image.array,
            {**header, "encoding": "raw"},
            index_order="C",
            detached_header=True,
        ),
    )
    stack = (image.array + 1000).astype(np.uint16)
    single(
        "tif",
        "a.tif",
        lambda path: tifffile.imwrite(
            path,
            stack,
            imagej=True,
            resolution=(2.0, 4.0),
            metadata={"spacing": 2.0, "unit": "um", "axes": "ZYX"},
        ),
    )
    single(
        "ome.tif",
        "a.ome.tif",
        lambda path: tifffile.imwrite(
            path,
            stack,
            ome=True,
            compression="zlib",
            metadata={
                "PhysicalSizeX": 0.5,
                "PhysicalSizeY": 0.75,
                "PhysicalSizeZ": 2.0,
                "axes": "ZYX",
            },
        ),
    )
    root = folder / "dicom"
    write_series(image.replace(array=image.array[:2]), root)  # two slices: pydicom is slow
    samples["dicom"] = Sample(_collect(root), ".")
    root = folder / "zarr"
    root.mkdir()
    group = zarr.open_group(str(root / "a.ome.zarr"), mode="w", zarr_format=2)
    levels = [image.array.astype(np.float32), image.array[::2, ::2, ::2].astype(np.float32)]
    for index, level in enumerate(levels):
        group.create_array(str(index), data=level, chunks=(2, 2, 5), compressors=None)
    group.attrs["multiscales"] = [
        {
            "version": "0.4",
            "name": "cells",
            "axes": [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"],
            "datasets": [
                {
                    "path": str(i),
                    "coordinateTransformations": [
                        {"type": "scale", "scale": [2.0 * 2**i, 0.75 * 2**i, 0.5 * 2**i]},
                        {"type": "translation", "translation": [5.0, -20.0, 10.0]},
                    ],
                }
                for i in range(len(levels))
            ],
        }
    ]
    samples["ome.zarr"] = Sample(_collect(root), "a.ome.zarr")
    return samples


SAMPLES: dict[str, Sample] = {}
# fmt: off
LABELS = [
    "nii", "nii.gz", "nii2", "nrrd", "nrrd-raw", "nrrd-bz2", "nhdr", "mha", "mhd", "npy",
    "tif", "ome.tif", "dicom", "ome.zarr",
]
# fmt: on
OUTSIDE = sample_image().array.tobytes()  # "outside.raw", beside the case folder


@pytest.fixture(scope="module", autouse=True)
def samples(tmp_path_factory, request):
    """The valid files, each read once (which also imports every library before tracing)."""
    SAMPLES.update(_build_samples(tmp_path_factory.mktemp("samples")))
    for label in LABELS:
        assert attempt(label, SAMPLES[label].files, SAMPLES[label].entry) == "image", label
    yield SAMPLES
    # The count of inputs each reader got, on the terminal (not captured).
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        readers: Counter = Counter()
        for label, count in INPUTS.items():
            readers[READER_OF[label.removeprefix("random ")]] += count
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nfuzzed readers: {sum(INPUTS.values())} inputs; "
                + ", ".join(f"{reader} {count}" for reader, count in sorted(readers.items()))
            )
            reporter.write_line(
                "by sample: "
                + "; ".join(
                    f"{label} {INPUTS[label]} ({OUTCOMES[label, 'image']} images, "
                    f"{OUTCOMES[label, 'error']} ImageIOErrors)"
                    for label in sorted(INPUTS)
                )
            )


# fmt: off
READER_OF = {
    "nii": "nifti", "nii.gz": "nifti", "nii2": "nifti", ".nii": "nifti", ".nii.gz": "nifti",
    "nrrd": "nrrd", "nrrd-raw": "nrrd", "nrrd-bz2": "nrrd", "nhdr": "nrrd", ".nrrd": "nrrd",
    ".nhdr": "nrrd", "mha": "metaimage", "mhd": "metaimage", ".mha": "metaimage",
    ".mhd": "metaimage", "npy": "npy", ".npy": "npy", "tif": "tiff", "ome.tif": "tiff",
    ".tif": "tiff", "dicom": "dicom", ".dcm": "dicom", "ome.zarr": "omezarr",
    ".zarr": "omezarr",
}
# fmt: on


# -- one attempt: write the files, read them, check the outcome -----------------------


@dataclass(frozen=True)
class Special:
    """A file that is not bytes: a FIFO, a link to a device, or an 8 GiB sparse file."""

    kind: str

    def make(self, path: Path) -> None:
        if self.kind == "fifo":
            os.mkfifo(path)
        elif self.kind == "sparse":
            with open(path, "wb") as stream:
                stream.truncate(8 << 30)
        else:
            path.symlink_to(self.kind)


SPECIALS = [Special("fifo"), Special("/dev/zero"), Special("/dev/urandom"), Special("sparse")]
HAS_SPECIALS = hasattr(os, "mkfifo") and os.path.exists("/dev/zero")


class Hung(BaseException):
    """A read still blocked after seconds (no reader may catch it as an error of its own)."""


def attempt(label: str, files: dict[str, bytes | Special], entry: str, **options) -> str:
    INPUTS[label] += 1
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "outside.raw").write_bytes(OUTSIDE)
        root = Path(tmp) / "case"
        root.mkdir()
        for name, data in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            data.make(path) if isinstance(data, Special) else path.write_bytes(data)
        fifos = [root / n for n, d in files.items() if d == Special("fifo")]
        with _alarm(5) if fifos else contextlib.nullcontext():
            try:
                outcome = read_checked(root / entry, **options)
            finally:
                for fifo in fifos:  # a reader blocked on one (a regression) gets its end
                    with contextlib.suppress(OSError):
                        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    OUTCOMES[label, outcome] += 1
    return outcome


@contextlib.contextmanager
def _alarm(seconds: int):
    """Raise Hung in a read still going after ``seconds``: a FIFO must not hang the suite."""
    import signal

    def hung(signum, frame):
        raise Hung(f"the read still blocks after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read_checked(source, **options) -> str:
    """Read under tracemalloc; only an Image or an ImageIOError with a message may come out."""
    image = reason = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libraries warn about odd files; that is allowed
        tracemalloc.start()
        try:
            try:
                image = read_image(source, max_bytes=FUZZ_BUDGET, **options)
            except ImageIOError as error:
                reason = error.reason
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert peak <= PEAK_LIMIT, f"reading {source} peaked at {peak} bytes"
    if image is None:
        assert isinstance(reason, str) and reason.strip(), "an ImageIOError without a reason"
        return "error"
    check_image(image)
    return "image"


def check_image(image: Image) -> None:
    """What an Image returned from a file must be: 3D, non-empty, numeric, finite geometry."""
    assert isinstance(image, Image)
    array = image.array
    assert isinstance(array, np.ndarray) and array.ndim == 3 and min(array.shape) >= 1
    assert array.dtype.kind in "biuf"
    assert array.size == math.prod(array.shape) and array.nbytes <= 8 * FUZZ_BUDGET
    assert all(math.isfinite(s) and s > 0 for s in image.spacing)
    assert all(math.isfinite(o) for o in image.origin)
    assert np.isfinite(image.direction).all() and abs(np.linalg.det(image.direction)) > 1e-6
    with np.errstate(all="ignore"):  # NaN and inf voxels are allowed
        np.asarray(array, dtype=np.float64).sum()  # the voxels are really there
    assert image.name


# -- generic byte mutations: every format ---------------------------------------------


@st.composite
def a_file_of(draw, label: str) -> tuple[dict[str, bytes], str]:
    files = dict(SAMPLES[label].files)
    return files, draw(st.sampled_from(sorted(files)))


@pytest.mark.parametrize("label", LABELS)
@examples(50)
@given(data=st.data())
def test_truncated_anywhere(label, data):
    files, name = data.draw(a_file_of(label))
    files[name] = files[name][: data.draw(st.integers(0, max(len(files[name]) - 1, 0)))]
    attempt(label, files, SAMPLES[label].entry)


@pytest.mark.parametrize("label", LABELS)
@examples(70)
@given(data=st.data())
def test_bytes_flipped_or_overwritten(label, data):
    files, name = data.draw(a_file_of(label))
    blob = bytearray(files[name])
    if not blob:
        return
    region = min(len(blob), data.draw(st.sampled_from([64, 512, 4096])))  # mostly the header
    for _ in range(data.draw(st.integers(1, 8))):
        offset = data.draw(st.integers(0, region - 1))
        if data.draw(st.booleans()):
            blob[offset] ^= data.draw(st.integers(1, 255))
        else:
            chunk = data.draw(st.binary(min_size=1, max_size=8))
            blob[offset : offset + len(chunk)] = chunk
    files[name] = bytes(blob)
    if len(files) > 1 and data.draw(st.integers(0, 9)) == 0:  # now and then, lose a file
        del files[data.draw(st.sampled_from(sorted(files)))]
    attempt(label, files, SAMPLES[label].entry)


MAGICS = {
    ".nii": [b"\x5c\x01\x00\x00", b"\x00\x00\x01\x5c", b"\x1c\x02\x00\x00"],
    ".nii.gz": [b"\x1f\x8b\x08\x00"],
    ".nrrd": [b"NRRD0004\n", b"NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nencoding: "],
    ".nhdr": [b"NRRD0005\ndata file: "],
    ".mha": [b"NDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n"],
    ".mhd": [b"ObjectType = Image\nElementDataFile = "],
    ".npy": [b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00", b"\x93NUMPY\x03\x00"],
    ".tif": [b"II*\x00", b"MM\x00*", b"II+\x00\x08\x00\x00\x00"],
    ".dcm": [b"\x00" * 128 + b"DICM"],
    ".zarr": [],
}


@pytest.mark.parametrize("suffix", sorted(MAGICS))
@examples(40)
@given(data=st.data())
def test_random_bytes(suffix, data):
    prefix = data.draw(st.sampled_from([b"", *MAGICS[suffix]]))
    blob = prefix + data.draw(st.binary(max_size=2048))
    if suffix == ".zarr":  # a folder: random metadata files
        files = {
            name: data.draw(st.binary(max_size=256))
            for name in data.draw(
                st.sets(
                    st.sampled_from([".zgroup", ".zattrs", "zarr.json", "0/.zarray", "0/0.0.0"]),
                    min_size=1,
                )
            )
        }
        files = {f"a.ome.zarr/{name}": blob for name, blob in files.items()}
        attempt("random .zarr", files, "a.ome.zarr")
        return
    attempt(f"random {suffix}", {f"a{suffix}": blob}, f"a{suffix}")


@examples(25)
@given(names=st.lists(st.binary(max_size=600), min_size=1, max_size=12), marker=st.booleans())
def test_folder_of_junk(names, marker):
    """A folder of junk (some of it marked DICM) is 'no DICOM image slices', quickly."""
    prefix = b"\x00" * 128 + b"DICM" if marker else b""
    files = {f"sub/{i}.dcm" if i % 3 else f"{i}": prefix + blob for i, blob in enumerate(names)}
    attempt("dicom", files, ".")


@pytest.mark.skipif(not HAS_SPECIALS, reason="FIFOs and /dev/zero: POSIX")
@pytest.mark.parametrize("label", LABELS)
@examples(6)
@given(data=st.data())
def test_special_files_anywhere(label, data):
    """Any file of a sample (the main one, a data file, a zarr chunk or .zattrs, a DICOM
    slice) a FIFO, a device or an 8 GiB sparse file: refused or skipped, never read."""
    files, name = data.draw(a_file_of(label))
    files[name] = data.draw(st.sampled_from(SPECIALS))
    attempt(label, files, SAMPLES[label].entry)


# -- NIfTI: header fields --------------------------------------------------------------

# fmt: off
INT_VALUES = [
    0, 1, -1, 2, 3, 4, 7, 8, 9, 255, 256, 2**15 - 1, -(2**15), 2**31 - 1, -(2**31), 2**31,
    2**32 - 1, 2**63 - 1, 348, 352, 540,
]
FLOAT_VALUES = [
    0.0, -0.0, -1.0, 1.0, math.nan, math.inf, -math.inf, 1e38, -1e38, 3.4e38, 1e-45, 2.0**31,
    352.0, 348.0, 1e10, 0.5,
]
# fmt: on


def _nifti_field(data: bytes, name: str, index: int, value) -> bytes:
    import nibabel

    nifti2 = data[:4] in (b"\x1c\x02\x00\x00", b"\x00\x00\x02\x1c")
    klass = nibabel.Nifti2Header if nifti2 else nibabel.Nifti1Header
    little = data[:4] in (b"\x5c\x01\x00\x00", b"\x1c\x02\x00\x00")
    fields = klass.template_dtype.fields
    if name not in fields:
        return data
    dtype, offset = fields[name][:2]
    base = dtype.base if dtype.shape else dtype
    offset += base.itemsize * min(index, (dtype.shape or (1,))[0] - 1)
    order = "<" if little else ">"
    if base.kind in "iu":
        if isinstance(value, float):  # a float drawn for what is an integer in this version
            value = int(value) if math.isfinite(value) else 0
        bits = 8 * base.itemsize
        raw = (int(value) % 2**bits).to_bytes(base.itemsize, "little" if little else "big")
    elif base.kind == "f":
        raw = np.asarray(value, dtype=base.newbyteorder(order)).tobytes()
    else:
        raw = str(value).encode()[: base.itemsize].ljust(base.itemsize, b"\0")
    return data[:offset] + raw + data[offset + len(raw) :]


# fmt: off
NIFTI_FIELDS = [
    "dim", "datatype", "bitpix", "pixdim", "vox_offset", "scl_slope", "scl_inter",
    "qform_code", "sform_code", "quatern_b", "quatern_c", "quatern_d", "qoffset_x", "srow_x",
    "srow_y", "srow_z", "sizeof_hdr", "magic", "dim_info", "intent_code", "slice_code",
    "xyzt_units", "slice_start", "slice_end",
]
# fmt: on


@st.composite
def nifti_mutation(draw, data: bytes) -> bytes:
    import nibabel

    action = draw(st.sampled_from(["field", "field", "field", "swap", "swap-size", "extension"]))
    if action == "swap":  # a valid header of the other byte order: the data reads byteswapped
        klass = (
            nibabel.Nifti2Header
            if len(data) > 540 and data[:4] == b"\x1c\x02\x00\x00"
            else nibabel.Nifti1Header
        )
        header = klass.from_fileobj(io.BytesIO(data))
        swapped = header.as_byteswapped(">" if header.endianness == "<" else "<")
        return swapped.binaryblock + data[len(swapped.binaryblock) :]
    if action == "swap-size":  # only sizeof_hdr in the wrong byte order
        return data[:4][::-1] + data[4:]
    if action == "extension":  # an extension whose size lies
        size = draw(st.sampled_from([*INT_VALUES, 16, 32]))
        at = 352 if data[:4] in (b"\x5c\x01\x00\x00", b"\x00\x00\x01\x5c") else 544
        block = struct.pack("<ii", size % 2**32 - (2**32 if size % 2**32 >= 2**31 else 0), 6)
        return data[: at - 4] + b"\x01\0\0\0" + block + data[at + 8 :]
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(NIFTI_FIELDS))
        index = draw(st.integers(0, 7))
        value = draw(
            st.one_of(
                st.sampled_from(INT_VALUES),
                st.sampled_from(FLOAT_VALUES),
                st.floats(width=32),
                st.integers(-(2**63), 2**63 - 1),
            )
        )
        if isinstance(value, float) and name in (
            "dim",
            "datatype",
            "bitpix",
            "qform_code",
            "sform_code",
            "sizeof_hdr",
            "intent_code",
            "slice_start",
            "slice_end",
            "dim_info",
            "slice_code",
            "xyzt_units",
        ):
            value = int(value) if math.isfinite(value) else 0
        data = _nifti_field(data, name, index, value)
    return data


@pytest.mark.parametrize("label", ["nii", "nii.gz", "nii2"])
@examples(160)
@given(data=st.data())
def test_nifti_header_fields(label, data):
    sample = SAMPLES[label]
    blob = sample.files[sample.entry]
    gz = label == "nii.gz"
    mutated = data.draw(nifti_mutation(gzip.decompress(blob) if gz else blob))
    attempt(label, {sample.entry: gzip.compress(mutated, 1) if gz else mutated}, sample.entry)


@examples(30)
@given(
    gap=st.sampled_from([0, 16, 4096, 2**20, 2**26 - 16, 2**26 + 16, 2**27]),
    flag=st.booleans(),
    compressed=st.booleans(),
)
def test_nifti_gaps_before_the_voxels(gap, flag, compressed):
    """Bytes between the header and the voxels (extensions, or padding under an extension
    flag): skipped, never held or handed to nibabel; past 64 MiB, refused."""
    import nibabel

    from tests.hostile import deflated

    blob = SAMPLES["nii"].files["a.nii"]
    header = nibabel.Nifti1Header.from_fileobj(io.BytesIO(blob))
    header["vox_offset"] = 352 + gap
    head = header.binaryblock + (b"\x01\0\0\0" if flag else b"\0\0\0\0")
    if compressed:
        files = {"a.nii.gz": deflated(head, gap, blob[352:])}
    elif gap <= 2**20:  # written out: small gaps only
        files = {"a.nii": head + bytes(gap) + blob[352:]}
    else:
        return
    outcome = attempt("nii.gz" if compressed else "nii", files, next(iter(files)))
    assert outcome == ("image" if gap <= 2**26 - 16 else "error")


# -- NRRD and MetaImage: text headers -------------------------------------------------

NRRD_VALUES = {
    "sizes": [
        "2147483648 1 1",
        "2147483647 2147483647 2147483647",
        "0 4 3",
        "-1 4 3",
        "5 4",
        "5 4 3 2",
        "1e3 4 3",
        "",
        "nan 4 3",
        "99999999999999999999 1 1",
        "1000 1000 1000",
    ],
    "dimension": ["0", "-1", "2", "4", "99", "2147483648", "x"],
    "type": [
        "short",
        "uchar",
        "double",
        "float",
        "int64",
        "block",
        "bogus",
        "",
        "unsigned long long",
        "signed char",
    ],
    "block size": ["0", "-1", "2147483648", "4"],
    "endian": ["big", "little", "middle", ""],
    "encoding": ["raw", "gzip", "bzip2", "ascii", "hex", "zip", ""],
    "space": [
        "left-posterior-superior",
        "right-anterior-superior",
        "3D-left-handed",
        "scanner-xyz",
        "nowhere",
        "",
    ],
    "space dimension": ["2", "3", "4", "0", "-1"],
    "space directions": [
        "(0,0,0) (0,1,0) (0,0,1)",
        "(nan,0,0) (0,1,0) (0,0,1)",
        "(-1,0,0) (0,-1,0) (0,0,-1)",
        "none (0,1,0) (0,0,1)",
        "(1,0,0) (1,0,0) (0,0,1)",
        "(inf,0,0) (0,1,0) (0,0,1)",
        "(1,0) (0,1)",
        "(1e308,1e308,1e308) (0,1,0) (0,0,1)",
        "none none none",
        "",
    ],
    "space origin": ["(nan,nan,nan)", "(inf,0,0)", "(1,2)", "()", "(1e308,0,0)", "x"],
    "spacings": ["0 0 0", "-1 1 1", "nan 1 1", "1 1", "inf 1 1", "1 1 1"],
    "kinds": ["domain domain domain", "vector domain domain", "3-color domain domain", "list"],
    "line skip": ["0", "1", "-1", "1000000000000", "2147483648", "x"],
    "byte skip": [
        *("-1", "-2", "1000000000000", "5", "0", "2147483648", "9223372036854775808"),
        "100000000000000000000",
    ],
    "data file": [
        "../outside.raw",
        "/etc/passwd",
        "/dev/zero",
        "missing.raw",
        "LIST",
        "img%03d.raw 0 2 1",
        ".",
        "",
        "a.nrrd",
        "a.raw",
        "../case/a.raw",
    ],
}
MHA_VALUES = {
    "NDims": ["0", "1", "2", "3", "4", "-1", "2147483648", "x"],
    "DimSize": [
        "2147483648 1 1",
        "65536 65536 65536",
        "0 4 3",
        "-1 4 3",
        "5 4",
        "5 4 3 2",
        "1.5 4 3",
        "nan",
        "",
        "1000 1000 1000",
    ],
    "ElementType": ["MET_SHORT", "MET_UCHAR", "MET_DOUBLE", "MET_FANCY", "MET_STRING", ""],
    "ElementSpacing": ["0 0 0", "-1 1 1", "nan 1 1", "inf 1 1", "1 1", "1e-320 1 1", "x"],
    "ElementSize": ["0 0 0", "nan 1 1"],
    "Offset": ["nan nan nan", "inf 0 0", "1 2", "1e308 1e308 1e308", ""],
    "TransformMatrix": [
        "0 0 0 0 0 0 0 0 0",
        "nan 0 0 0 1 0 0 0 1",
        "1 0 0 0 1 0",
        "1 0 0 1 0 0 0 0 1",
        "inf 0 0 0 1 0 0 0 1",
    ],
    "CompressedData": ["True", "False", "maybe"],
    "CompressedDataSize": ["0", "-1", "2147483648"],
    "BinaryDataByteOrderMSB": ["True", "False"],
    "ElementByteOrderMSB": ["True"],
    "ElementNumberOfChannels": ["0", "-1", "2", "2147483647", "x"],
    "HeaderSize": ["-1", "-2", "1000000000000", "5", "0"],
    "ElementDataFile": [
        "LOCAL",
        "../outside.raw",
        "/etc/passwd",
        "/dev/zero",
        "missing.raw",
        "LIST",
        "img%03d.raw 0 2 1",
        "",
        ".",
        "a.raw",
        "../case/a.raw",
    ],
}
TEXT = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40)
ASCII = st.text(st.characters(codec="ascii", exclude_characters="\r\n\0"), max_size=40)


@st.composite
def text_header_mutation(draw, lines: list[str], values: dict[str, list[str]], sep: str):
    """Set, add, drop, duplicate or mangle ``key<sep>value`` lines of a text header."""
    lines = list(lines)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["set", "set", "set", "drop", "duplicate", "mangle"]))
        key = draw(st.sampled_from(sorted(values)))
        value = draw(st.one_of(st.sampled_from(values[key]), TEXT))
        at = [i for i, line in enumerate(lines) if line.split(sep.strip())[0].strip() == key]
        if action == "set" and at:
            lines[at[0]] = f"{key}{sep}{value}"
        elif action == "set":
            lines.insert(draw(st.integers(1, len(lines))), f"{key}{sep}{value}")
        elif action == "drop" and at:
            del lines[at[0]]
        elif action == "duplicate" and at:
            lines.insert(at[0], lines[at[0]])
        else:
            index = draw(st.integers(0, len(lines) - 1))
            lines[index] = draw(TEXT)
    return lines


@pytest.mark.parametrize("label", ["nrrd", "nrrd-raw", "nrrd-bz2", "nhdr"])
@examples(100)
@given(data=st.data())
def test_nrrd_header_fields(label, data):
    sample = SAMPLES[label]
    files = dict(sample.files)
    head, blank, body = files[sample.entry].partition(b"\n\n")
    lines = data.draw(text_header_mutation(head.decode("latin-1").split("\n"), NRRD_VALUES, ": "))
    files[sample.entry] = "\n".join(lines).encode("latin-1") + blank + body
    attempt(label, files, sample.entry)


@examples(40)
@given(
    encoding=st.sampled_from(["gzip", "bzip2"]),
    skip=st.sampled_from([-1, -1, 0, 7, 2**20, 2**31, 10**20]),
    prefix=st.sampled_from([0, 1, 1000, 2**20, 2**21 + 7]),
    suffix=st.sampled_from([0, 0, 1, 4096]),
    members=st.integers(1, 3),
)
def test_nrrd_compressed_tails(encoding, skip, prefix, suffix, members):
    """Decompressed bytes before and after the voxels, in one member or several: the
    claimed bytes are found (byte skip -1: the last ones), and nothing else is held."""
    voxels = sample_image().array.astype("<i2").tobytes()
    stream = bytes(prefix) + voxels + bytes(suffix)
    compress = gzip.compress if encoding == "gzip" else bz2.compress
    cuts = sorted({0, len(stream), *(len(stream) * k // members for k in range(members))})
    body = b"".join(compress(stream[a:b]) for a, b in itertools.pairwise(cuts))
    header = (
        f"NRRD0004\ntype: short\ndimension: 3\nsizes: 5 4 3\nendian: little\n"
        f"encoding: {encoding}\nbyte skip: {skip}\n\n"
    ).encode()
    outcome = attempt("nrrd", {"a.nrrd": header + body}, "a.nrrd")
    if skip == -1:  # the last claimed bytes, after at most 1 MiB (here) of others
        assert outcome == ("image" if prefix + suffix <= 2**20 else "error")
    else:
        assert outcome == ("image" if len(stream) == skip + len(voxels) else "error")


@pytest.mark.parametrize("label", ["mha", "mhd"])
@examples(120)
@given(data=st.data())
def test_metaimage_header_fields(label, data):
    sample = SAMPLES[label]
    files = dict(sample.files)
    blob = files[sample.entry]
    end = blob.index(b"\n", blob.index(b"ElementDataFile")) + 1
    lines = blob[:end].decode("latin-1").splitlines()
    lines = data.draw(text_header_mutation(lines, MHA_VALUES, " = "))
    if data.draw(st.booleans()):  # ElementDataFile must be last: keep it last, mostly
        last = [line for line in lines if line.startswith("ElementDataFile")]
        lines = [line for line in lines if not line.startswith("ElementDataFile")] + last[:1]
    files[sample.entry] = ("\n".join(lines) + "\n").encode("latin-1") + blob[end:]
    attempt(label, files, sample.entry)


# -- NumPy: the header dictionary ------------------------------------------------------


@examples(150)
@given(
    descr=st.sampled_from(
        [
            "'<i2'",
            "'>i2'",
            "'|u1'",
            "'<f8'",
            "'<c16'",
            "'|O'",
            "'|V8'",
            "'<U3'",
            "'bogus'",
            "[('a', '<i2')]",
            "'(1000000000,)<i2'",
            "'V2147483647'",
            "'<M8[s]'",
            "'|b1'",
            "'<f2'",
        ]
    ),
    fortran=st.sampled_from(["False", "True", "1", "'x'"]),
    shape=st.sampled_from(
        [
            "(3, 4, 5)",
            "(2147483648,)",
            "(2147483647, 2147483647, 2)",
            "(0, 4, 5)",
            "(-1, 4, 5)",
            "()",
            "(3, 4, 5, 1)",
            "(3, 4, 5, 2)",
            "(60,)",
            "(4, 5)",
            "(3.5, 4, 5)",
            "'x'",
            "(2**31,)",
            "None",
        ]
    ),
    version=st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x03\x00", b"\x09\x09"]),
    length=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    body=st.sampled_from([120, 0, 60, 119, 240]),
)
def test_npy_header_fields(descr, fortran, shape, version, length, body):
    header = f"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}"
    text = header.encode("latin-1")
    width = 4 if version != b"\x01\x00" else 2
    text += b" " * (-(10 + width + len(text) + 1) % 64) + b"\n"
    size = len(text) if length is None else length % 2 ** (8 * width)
    prefix = b"\x93NUMPY" + version + size.to_bytes(width, "little")
    data = OUTSIDE * 2
    attempt("npy", {"a.npy": prefix + text + data[:body]}, "a.npy")


# -- DICOM: dataset fields -------------------------------------------------------------

DICOM_VALUES = {
    "Rows": [0, 1, 2, 65535],
    "Columns": [0, 1, 3, 65535],
    "BitsAllocated": [0, 1, 7, 8, 12, 32, 64, 65535],
    "BitsStored": [0, 8, 17, 65535],
    "HighBit": [0, 16, 65535],
    "PixelRepresentation": [0, 1, 2],
    "SamplesPerPixel": [0, 3, 65535],
    "NumberOfFrames": ["0", "-1", "2", "2147483647", "x"],
    "PhotometricInterpretation": ["MONOCHROME1", "RGB", "YBR_FULL", "PALETTE COLOR", "bogus"],
    "PlanarConfiguration": [0, 1, 7],
    "PixelSpacing": ["0\\0", "-1\\1", "nan\\1", "inf\\inf", "1", "1\\1\\1", "x\\y"],
    "ImagePositionPatient": [
        "nan\\0\\0",
        "inf\\0\\0",
        "1\\2",
        "",
        "1e308\\1e308\\1e308",
        "x\\y\\z",
        "0\\0\\0",
    ],
    "ImageOrientationPatient": [
        "0\\0\\0\\0\\0\\0",
        "1\\0\\0\\1\\0\\0",
        "nan\\0\\0\\0\\1\\0",
        "1\\0\\0",
        "1e308\\0\\0\\0\\1e308\\0",
        "",
    ],
    "SliceThickness": ["0", "-1", "nan"],
    "SpacingBetweenSlices": ["0", "-1", "nan"],
    "RescaleSlope": ["0", "nan", "inf", "-1e308", "1e308", "x", ""],
    "RescaleIntercept": ["nan", "inf", "1e308", "x", ""],
    "SeriesInstanceUID": ["", "1.2.3"],
    "TransferSyntaxUID": [
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.5",
        "1.2.3.4",
    ],
    "PixelData": [b"", b"\0\0", b"\0" * 4096],
}


def _dicom_with(blob: bytes, changes: list[tuple[str, object]]) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about every odd value set here
        return _dicom_with_quietly(blob, changes)


def _dicom_with_quietly(blob: bytes, changes: list[tuple[str, object]]) -> bytes:
    import pydicom
    from pydicom import config

    dataset = pydicom.dcmread(io.BytesIO(blob))
    saved = config.settings.writing_validation_mode, config.settings.reading_validation_mode
    config.settings.writing_validation_mode = config.IGNORE
    config.settings.reading_validation_mode = config.IGNORE
    try:
        for key, value in changes:
            target = dataset.file_meta if key == "TransferSyntaxUID" else dataset
            if value is None:
                if key in target:
                    delattr(target, key)
            elif key == "PixelData":
                dataset.PixelData = value if value else dataset.PixelData[:7]
            else:
                setattr(target, key, value)
        out = io.BytesIO()
        dataset.save_as(out, enforce_file_format=False)
        return out.getvalue()
    except Exception:  # pydicom cannot even write this one: nothing to read
        return blob
    finally:
        config.settings.writing_validation_mode, config.settings.reading_validation_mode = saved


@examples(70)
@given(data=st.data())
def test_dicom_fields(data):
    sample = SAMPLES["dicom"]
    files = dict(sample.files)
    changes = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(sorted(DICOM_VALUES)),
                st.none()
                | st.sampled_from(sorted(DICOM_VALUES)).flatmap(
                    lambda k: st.sampled_from(DICOM_VALUES[k])
                ),
            ),
            min_size=1,
            max_size=3,
        )
    )
    changes = [
        (k, v if v is None or type(v) is type(DICOM_VALUES[k][0]) else DICOM_VALUES[k][0])
        for k, v in changes
    ]
    targets = (
        sorted(files) if data.draw(st.booleans()) else [data.draw(st.sampled_from(sorted(files)))]
    )
    for name in targets:
        files[name] = _dicom_with(files[name], changes)
    attempt("dicom", files, sample.entry)


def _lie_about_pixel_data_length(blob: bytes, length: int) -> bytes:
    at = blob.rindex(b"\xe0\x7f\x10\x00OW\x00\x00")
    return blob[: at + 8] + struct.pack("<I", length) + blob[at + 12 :]


@examples(16)
@given(
    length=st.sampled_from([0, 1, 39, 41, 2**31 - 1, 2**31, 2**32 - 2, 2**32 - 1]),
    everywhere=st.booleans(),
)
def test_dicom_lying_element_length(length, everywhere):
    sample = SAMPLES["dicom"]
    files = dict(sample.files)
    for name in sorted(files) if everywhere else sorted(files)[:1]:
        files[name] = _lie_about_pixel_data_length(files[name], length)
    attempt("dicom", files, sample.entry)


# -- TIFF: IFD entries and ImageJ / OME descriptions ------------------------------------


def _ifd_entries(blob: bytes) -> list[int]:
    """Offsets of the 12-byte entries of the first IFD of a classic little-endian TIFF."""
    first = struct.unpack_from("<I", blob, 4)[0]
    count = struct.unpack_from("<H", blob, first)[0]
    return [first + 2 + 12 * i for i in range(count)]


@pytest.mark.parametrize("label", ["tif", "ome.tif"])
@examples(80)
@given(data=st.data())
def test_tiff_fields(label, data):
    sample = SAMPLES[label]
    blob = bytearray(sample.files[sample.entry])
    entries = _ifd_entries(blob)
    for _ in range(data.draw(st.integers(1, 3))):
        what = data.draw(
            st.sampled_from(
                ["value", "value", "count", "type", "tag", "ifd", "next", "order", "entries"]
            )
        )
        value = data.draw(
            st.sampled_from(
                [
                    0,
                    1,
                    2,
                    3,
                    5,
                    16,
                    255,
                    65535,
                    2**31 - 1,
                    2**31,
                    2**32 - 1,
                    len(blob),
                    len(blob) + 1,
                    8,
                ]
            )
        )
        entry = data.draw(st.sampled_from(entries))
        if what == "value":
            struct.pack_into("<I", blob, entry + 8, value)
        elif what == "count":
            struct.pack_into("<I", blob, entry + 4, value)
        elif what == "type":
            struct.pack_into("<H", blob, entry + 2, value % 65536)
        elif what == "tag":
            struct.pack_into("<H", blob, entry, value % 65536)
        elif what == "ifd":
            struct.pack_into("<I", blob, 4, value)
        elif what == "next":  # the next-IFD pointer: a loop back to the first, or nonsense
            struct.pack_into("<I", blob, entries[-1] + 12, data.draw(st.sampled_from([8, value])))
        elif what == "order":
            blob[0:2] = b"MM"
        else:
            struct.pack_into("<H", blob, entries[0] - 2, value % 65536)
    attempt(label, {sample.entry: bytes(blob)}, sample.entry)


IMAGEJ_LINES = [
    "images=2147483647",
    "images=0",
    "images=-1",
    "slices=2147483647",
    "slices=0",
    "channels=1000000",
    "frames=3",
    "spacing=nan",
    "spacing=0",
    "spacing=-1",
    "spacing=inf",
    "spacing=x",
    "hyperstack=true",
    "loop=false",
    "unit=um",
    "images=3",
    "slices=3",
]


@examples(80)
@given(data=st.data())
def test_tiff_descriptions(data):
    import tifffile

    stack = sample_image().array.astype(np.uint16)
    buffer = io.BytesIO()
    if data.draw(st.booleans()):
        lines = data.draw(st.lists(st.sampled_from(IMAGEJ_LINES) | ASCII, max_size=5))
        description = "ImageJ=1.11a\n" + "\n".join(lines) + "\n"
    else:
        size = data.draw(st.sampled_from(["1", "3", "0", "-1", "2147483647", "x"]))
        physical = data.draw(st.sampled_from(["0.5", "0", "-1", "nan", "inf", "1e400", "x"]))
        description = (
            '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/'
            'Schemas/OME/2016-06"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder='
            f'"XYCZT" Type="uint16" SizeX="5" SizeY="4" SizeC="1" SizeZ="{size}" SizeT="1" '
            f'PhysicalSizeX="{physical}" PhysicalSizeY="0.75" PhysicalSizeZ="{physical}">'
            '<Channel ID="Channel:0:0" SamplesPerPixel="1"/><TiffData IFD="0" PlaneCount='
            f'"{size}"/></Pixels></Image></OME>'
        )
    pages = data.draw(st.integers(1, 3))
    tifffile.imwrite(
        buffer,
        stack[:pages],
        description=description,
        metadata=None,
        photometric="minisblack",
        resolution=data.draw(st.sampled_from([(2.0, 4.0), (0.0, 1.0), None])),
    )
    attempt("tif", {"a.tif": buffer.getvalue()}, "a.tif")


def _strip(compression: int, size: int) -> bytes:
    """A strip of ``size`` zero bytes, compressed."""
    from tests.hostile import deflated, lzma_zeros

    if compression == 8:
        return deflated(size, wrapper="zlib")
    if compression == 34925:
        return lzma_zeros(size)
    if compression == 32773:  # runs of 128 zeros, then the rest as literals
        rest = size % 128
        return b"\x81\x00" * (size // 128) + (bytes([rest - 1]) + bytes(rest) if rest else b"")
    return bytes(size)


@examples(40)
@given(
    compression=st.sampled_from([1, 8, 34925, 32773]),
    shape=st.sampled_from([(5, 4), (64, 64)]),
    scale=st.sampled_from([1.0, 1.0, 2.0, 2.5, 64.0]),
    lie=st.sampled_from([None, None, 0, 1, -1, 2**31]),
)
def test_tiff_strips_that_inflate(compression, shape, scale, lie):
    """A strip decoding to more than its share (its rows), stored honestly or with a lying
    StripByteCounts: refused before tifffile reads or inflates it whole."""
    from tests.hostile import tiff

    width, height = shape
    size = int(width * height * 2 * scale)
    strip = _strip(compression, size)
    count = None if lie is None else (len(strip) + lie if lie in (1, -1) else lie)
    blob = tiff([strip], compression, width=width, height=height, counts=count and [count])
    outcome = attempt("tif", {"a.tif": blob}, "a.tif")
    if lie is None:  # a strip may hold twice its share (and 4 kB), tifffile keeps its share
        assert outcome == ("image" if size <= 2 * width * height * 2 + 4096 else "error")


# -- OME-Zarr: metadata documents and chunks -------------------------------------------

JSON_JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=8,
)
ZARRAY_VALUES = {
    "shape": [
        [2**31, 4, 5],
        [2**31 - 1] * 3,
        [0, 4, 5],
        [-1, 4, 5],
        [3, 4],
        [3, 4, 5, 6],
        [1000, 1000, 1000],
        [3.5, 4, 5],
        "x",
        None,
        [2**64, 1, 1],
    ],
    "chunks": [[1, 1, 1], [0, 0, 0], [-1, 2, 5], [2**31, 2**31, 2**31], [2, 2], None, "x"],
    "dtype": ["<i2", ">i2", "|O", "<U4", "bogus", "|V2", "<f8", "|b1", "<c8", "<M8[s]"],
    "fill_value": [None, "NaN", "x", 1e308, -1, [1, 2]],
    "order": ["F", "X", None],
    "compressor": [
        None,
        {"id": "bogus"},
        {"id": "zlib", "level": 1},
        {"id": "gzip"},
        {"id": "blosc", "cname": "bogus"},
        "x",
    ],
    "filters": [[{"id": "bogus"}], [{"id": "delta", "dtype": "<f4"}], "x"],
    "dimension_separator": ["/", "x", None],
    "zarr_format": [3, 99, None, "2"],
}
MULTISCALE_VALUES = {
    "axes": [
        ["z", "y", "x"],
        [{"name": "x"}],
        [],
        [{"name": "c"}, {"name": "z"}, {"name": "y"}, {"name": "x"}],
        "zyx",
        [{"name": "z"}, {"name": "z"}, {"name": "x"}],
        None,
        [1, 2, 3],
    ],
    "datasets": [
        [],
        [{"path": "../outside"}],
        [{"path": "/etc"}],
        [{"path": "missing"}],
        [{"path": ""}],
        [{"path": "0/.zarray"}],
        [{}],
        "x",
        None,
        [{"path": "0"}] * 1000,
        [{"path": "0", "coordinateTransformations": "x"}],
        [{"path": "0", "coordinateTransformations": [{"type": "scale"}]}],
        [
            {
                "path": "0",
                "coordinateTransformations": [{"type": "scale", "scale": [0, -1, math.nan]}],
            }
        ],
        [
            {
                "path": "0",
                "coordinateTransformations": [
                    {"type": "translation", "translation": [math.inf, "x", None]}
                ],
            }
        ],
        [{"path": 0}],
    ],
    "version": ["0.4", "0.5", None],
    "name": [None, "", 7],
}


@examples(100)
@given(data=st.data())
def test_ome_zarr_metadata(data):
    sample = SAMPLES["ome.zarr"]
    files = dict(sample.files)
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(
            st.sampled_from(["zarray", "zarray", "zattrs", "zattrs", "junk", "chunk"])
        )
        if target == "zarray":
            name = data.draw(st.sampled_from(["a.ome.zarr/0/.zarray", "a.ome.zarr/1/.zarray"]))
            try:
                meta = json.loads(files[name])
            except ValueError:  # junk already
                continue
            key = data.draw(st.sampled_from(sorted(ZARRAY_VALUES)))
            meta[key] = data.draw(st.sampled_from(ZARRAY_VALUES[key]) | JSON_JUNK)
            files[name] = json.dumps(meta).encode()
        elif target == "zattrs":
            name = "a.ome.zarr/.zattrs"
            try:
                meta = json.loads(files[name])
            except ValueError:  # junk already
                continue
            key = data.draw(st.sampled_from(sorted(MULTISCALE_VALUES)))
            value = data.draw(st.sampled_from(MULTISCALE_VALUES[key]) | JSON_JUNK)
            with contextlib.suppress(KeyError, IndexError, TypeError):  # junk already
                meta["multiscales"][0][key] = value
            if data.draw(st.integers(0, 5)) == 0:
                meta = data.draw(JSON_JUNK)
            files[name] = json.dumps(meta).encode()
        elif target == "junk":
            name = data.draw(st.sampled_from(sorted(n for n in files if "/." in n)))
            files[name] = data.draw(st.binary(max_size=64))
        else:
            name = data.draw(st.sampled_from(sorted(n for n in files if "/." not in n)))
            files[name] = files[name][: data.draw(st.integers(0, len(files[name])))]
    options = {"level": data.draw(st.sampled_from([0, 0, 1, -1, 2]))}
    attempt("ome.zarr", files, sample.entry, **options)


ZARR_CODECS = {
    "zlib": {"id": "zlib", "level": 1},
    "gzip": {"id": "gzip", "level": 1},
    "bz2": {"id": "bz2", "level": 1},
    "zstd": {"id": "zstd", "level": 1},
    "blosc": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
    "lz4": {"id": "lz4", "acceleration": 1},
}


@examples(40)
@given(
    codec=st.sampled_from(sorted(ZARR_CODECS)),
    scale=st.sampled_from([1, 1, 2, 64]),
    header_lie=st.sampled_from([None, None, 2**30, 2**31 - 1]),
    filters=st.sampled_from([None, None, [{"id": "zlib"}], [{"id": "delta", "dtype": "<f4"}]]),
)
def test_ome_zarr_chunks_that_inflate(codec, scale, header_lie, filters):
    """A chunk inflating past its array's chunk size, by its stream or by what its header
    says (Blosc, LZ4), or a filter that inflates: refused before numcodecs decodes it."""
    import numcodecs

    from tests.hostile import zstd_rle

    sample = SAMPLES["ome.zarr"]
    files = {k: v for k, v in sample.files.items() if not k.startswith("a.ome.zarr/0/")}
    shape = (3, 4, 5)
    zarray = json.loads(sample.files["a.ome.zarr/0/.zarray"])
    zarray.update(chunks=list(shape), compressor=ZARR_CODECS[codec], filters=filters)
    size = 3 * 4 * 5 * 4 * scale  # float32 voxels
    if codec == "zstd" and scale > 1:
        chunk = zstd_rle(size)  # a frame that does not state its size
    else:
        chunk = bytearray(numcodecs.get_codec(ZARR_CODECS[codec]).encode(bytes(size)))
    if header_lie is not None and codec in ("blosc", "lz4"):
        struct.pack_into(
            "<I" if codec == "blosc" else "<i", chunk, 4 if codec == "blosc" else 0, header_lie
        )
    files["a.ome.zarr/0/.zarray"] = json.dumps(zarray).encode()
    files["a.ome.zarr/0/0.0.0"] = bytes(chunk)
    outcome = attempt("ome.zarr", files, sample.entry)
    honest = scale == 1 and (header_lie is None or codec not in ("blosc", "lz4"))
    if filters is None or "delta" in str(filters):
        assert outcome == ("image" if honest else "error")


# -- lying headers, explicitly: refused fast, without allocating what they claim ----------


def _nifti_claiming(shape: tuple[int, ...], dtype=np.int16, nifti2: bool = False) -> bytes:
    import nibabel

    klass = nibabel.Nifti2Image if nifti2 else nibabel.Nifti1Image
    nii = klass(np.zeros((2, 2, 2), dtype), np.eye(4))
    blob = nii.to_bytes()
    header = klass.header_class.from_fileobj(io.BytesIO(blob))
    header.set_data_shape(shape)
    return header.binaryblock + blob[len(header.binaryblock) :]


def _tiny_mha(dims: str, compressed: bool) -> bytes:
    data = zlib.compress(b"\0" * 64) if compressed else b"\0" * 64
    return (
        f"NDims = 3\nDimSize = {dims}\nElementType = MET_SHORT\nCompressedData = "
        f"{compressed}\nElementDataFile = LOCAL\n"
    ).encode() + data


def _tiny_nrrd(sizes: str, encoding: str) -> bytes:
    data = {"raw": b"\0" * 64, "gzip": gzip.compress(b"\0" * 64), "bzip2": bz2.compress(b"\0" * 64)}
    return (
        f"NRRD0004\ntype: short\ndimension: 3\nsizes: {sizes}\nendian: little\n"
        f"encoding: {encoding}\n\n"
    ).encode() + data[encoding]


def _tiny_npy(shape: str) -> bytes:
    header = f"{{'descr': '<i2', 'fortran_order': False, 'shape': {shape}, }}".ljust(117) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64


def _tiny_tiff(width: int, height: int) -> bytes:
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((4, 4), np.uint16))
    blob = bytearray(buffer.getvalue())
    for entry in _ifd_entries(blob):
        tag = struct.unpack_from("<H", blob, entry)[0]
        if tag in (256, 257):  # ImageWidth, ImageLength: LONG
            struct.pack_into("<HI", blob, entry + 2, 4, 1)
            struct.pack_into("<I", blob, entry + 8, width if tag == 256 else height)
        if tag == 278:  # RowsPerStrip
            struct.pack_into("<I", blob, entry + 8, height)
    return bytes(blob)


def _tiny_zarr(shape: list[int], chunks: list[int]) -> dict[str, bytes]:
    zarray = {
        "shape": shape,
        "chunks": chunks,
        "dtype": "|u1",
        "fill_value": 0,
        "order": "C",
        "filters": None,
        "compressor": None,
        "zarr_format": 2,
    }
    attrs = {
        "multiscales": [{"version": "0.4", "axes": ["z", "y", "x"], "datasets": [{"path": "0"}]}]
    }
    return {
        "a.ome.zarr/.zgroup": b'{"zarr_format": 2}',
        "a.ome.zarr/.zattrs": json.dumps(attrs).encode(),
        "a.ome.zarr/0/.zarray": json.dumps(zarray).encode(),
    }


def _dicom_claiming(folder: Path, rows: int, frames: str | None) -> None:
    import pydicom

    from voxlite.io.dicom import write_series

    for path in write_series(Image(np.zeros((2, 4, 4), np.int16)), folder):
        dataset = pydicom.dcmread(path)
        dataset.Rows = dataset.Columns = rows
        if frames is not None:
            dataset.NumberOfFrames = frames
        dataset.save_as(path)


LIARS = {
    # 4 x 32767 x 32767 int16 voxels (8.6 GB) in a 360-byte file
    "nii: 2**32 voxels": ({"a.nii": _nifti_claiming((4, 32767, 32767))}, "a.nii", "budget"),
    "nii.gz: 2**32 voxels": (
        {"a.nii.gz": gzip.compress(_nifti_claiming((4, 32767, 32767)))},
        "a.nii.gz",
        "budget",
    ),
    "nii2: 2**31 voxels": (
        {"a.nii": _nifti_claiming((2**31, 1, 1), nifti2=True)},
        "a.nii",
        "budget",
    ),
    "nii2: 2**62 voxels": (
        {"a.nii": _nifti_claiming((2**31, 2**31, 1), nifti2=True)},
        "a.nii",
        "budget",
    ),
    # under the budget but not in the file
    "nii: 1e9 bytes": (
        {"a.nii": _nifti_claiming((1000, 1000, 1000), np.uint8)},
        "a.nii",
        "truncated",
    ),
    "nii.gz: 1e9 bytes": (
        {"a.nii.gz": gzip.compress(_nifti_claiming((1000, 1000, 1000), np.uint8))},
        "a.nii.gz",
        "truncated",
    ),
    "nrrd raw: 2**31 voxels": ({"a.nrrd": _tiny_nrrd("2147483648 1 1", "raw")}, "a.nrrd", "budget"),
    "nrrd gzip: 2**31 voxels": (
        {"a.nrrd": _tiny_nrrd("2147483648 1 1", "gzip")},
        "a.nrrd",
        "budget",
    ),
    "nrrd bzip2: 2**93 voxels": (
        {"a.nrrd": _tiny_nrrd("2147483648 2147483648 2147483648", "bzip2")},
        "a.nrrd",
        "budget",
    ),
    "nrrd raw: 1e9 bytes": ({"a.nrrd": _tiny_nrrd("1000 1000 500", "raw")}, "a.nrrd", "truncated"),
    "nrrd gzip: 1e9 bytes": (
        {"a.nrrd": _tiny_nrrd("1000 1000 500", "gzip")},
        "a.nrrd",
        "disagree|truncated",
    ),
    "mha: 2**31 voxels": ({"a.mha": _tiny_mha("2147483648 1 1", False)}, "a.mha", "budget"),
    "mha zlib: 2**31 voxels": ({"a.mha": _tiny_mha("2147483648 1 1", True)}, "a.mha", "budget"),
    "mha: 1e9 bytes": ({"a.mha": _tiny_mha("1000 1000 500", False)}, "a.mha", "disagree"),
    "mha zlib: 1e9 bytes": ({"a.mha": _tiny_mha("1000 1000 500", True)}, "a.mha", "disagree"),
    "npy: 2**31 voxels": ({"a.npy": _tiny_npy("(2147483648,)")}, "a.npy", "budget"),
    "npy: 1e9 bytes": ({"a.npy": _tiny_npy("(1000, 1000, 500)")}, "a.npy", "truncated"),
    "tif: 2**32 voxels": ({"a.tif": _tiny_tiff(65536, 65536)}, "a.tif", "budget"),
    "tif: 1e9 bytes": ({"a.tif": _tiny_tiff(30000, 30000)}, "a.tif", "truncated|budget|strip"),
    "zarr: 2**62 voxels": (_tiny_zarr([2**31, 2**31, 1], [64, 64, 1]), "a.ome.zarr", "budget"),
    "zarr: 1e9 chunks": (_tiny_zarr([1000, 1000, 1000], [1, 1, 1]), "a.ome.zarr", "chunks"),
}


@pytest.mark.parametrize("case", sorted(LIARS))
def test_lying_header_is_refused_before_allocating(tmp_path, case):
    files, entry, reason = LIARS[case]
    for name, blob in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(blob)
    assert_refused_cheaply(tmp_path / entry, reason)


@pytest.mark.parametrize("frames", [None, "2147483647"])
def test_lying_dicom_is_refused_before_allocating(tmp_path, frames):
    _dicom_claiming(tmp_path, 65535, frames)
    assert_refused_cheaply(tmp_path, "budget|pixel data|truncated")


def assert_refused_cheaply(source: Path, reason: str) -> None:
    """The default (2 GiB) budget: an ImageIOError in well under a second and 16 MiB."""
    assert voxlite.io.MAX_BYTES == 2**31
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ImageIOError, match=reason):
            read_image(source)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 16 << 20, f"peak {peak} bytes"


def test_npy_ending_inside_its_header_length(tmp_path):
    """Found by the fuzzer in CI (peaks of 33 and 64 MB): a short length field made the
    reader seek back into the magic, and numpy read a header length from the wrong bytes."""
    for tail in (b"\x04", b"\x04\x00", b"\x04\x00\x00"):
        path = tmp_path / "a.npy"
        path.write_bytes(b"\x93NUMPY\x02\x00" + tail)
        assert read_checked(path) == "error"


def test_decompression_stops_at_the_claimed_size(tmp_path):
    """A small compressed file that inflates far past its header never gets inflated."""
    import nibabel

    nii = nibabel.Nifti1Image(np.zeros((100, 100, 100), np.uint8), np.eye(4))
    (tmp_path / "bomb.nii.gz").write_bytes(gzip.compress(nii.to_bytes() + b"\0" * 30_000_000, 1))
    (tmp_path / "bomb.mha").write_bytes(
        b"NDims = 3\nDimSize = 100 100 100\nElementType = MET_UCHAR\nCompressedData = True\n"
        b"ElementDataFile = LOCAL\n" + zlib.compress(b"\0" * 30_000_000, 1)
    )
    (tmp_path / "bomb.nrrd").write_bytes(
        b"NRRD0004\ntype: uchar\ndimension: 3\nsizes: 100 100 100\nencoding: bzip2\n\n"
        + bz2.compress(b"\0" * 30_000_000, 1)
    )
    for name, reason in (
        ("bomb.nii.gz", None),
        ("bomb.mha", "more than 1000000 bytes"),
        ("bomb.nrrd", "more than 1000000 bytes"),
    ):
        assert (tmp_path / name).stat().st_size < 1_000_000
        tracemalloc.start()
        start = time.perf_counter()
        try:
            if reason is None:
                assert read_image(tmp_path / name).shape == (100, 100, 100)
            else:
                with pytest.raises(ImageIOError, match=reason):
                    read_image(tmp_path / name)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < 12_000_000, f"{name}: peak {peak} bytes"  # the image and its copies
        assert time.perf_counter() - start < 5.0


def test_the_budget_is_an_argument_a_module_constant_and_an_environment_variable(
    tmp_path, monkeypatch
):
    path = write_image(sample_image(), tmp_path / "a.nii")
    with pytest.raises(ImageIOError, match="over the memory budget of 100 bytes.*max_bytes"):
        read_image(path, max_bytes=100)
    assert read_image(path, max_bytes=120).shape == (3, 4, 5)  # 120 bytes of int16 voxels
    monkeypatch.setattr(voxlite.io.limits, "MAX_BYTES", 100)
    with pytest.raises(ImageIOError, match="budget of 100 bytes"):
        read_image(path)
    assert read_image(path, max_bytes=10**9).shape == (3, 4, 5)
    code = "import voxlite.io as io; print(io.MAX_BYTES)"
    for value, expected in (("4e9", "4000000000"), ("lots", str(2**31))):
        env = {**os.environ, "VOXLITE_MAX_BYTES": value}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected
        assert ("not a positive number" in out.stderr) == (value == "lots")
