"""Readers never hang or balloon: hostile files end quickly in an ImageIOError.

Each file below once hung a reader (a FIFO, a device, an endless first line) or
made it allocate far more than its header claims (decompression bombs, gaps the
reader held, strips and chunks inflated whole). They are read in one child
process whose address space is capped 512 MiB above its imports, each read under
an alarm (tests/capped.py): a regression fails here, it does not hang the suite
or exhaust the machine. Every read must end within its time limit, in the
outcome given, having allocated (tracemalloc) no more than the limit given; most
peaks were hundreds of MiB to GiB before, the limits are a few MiB.
"""

from __future__ import annotations

import json
import re
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests import capped
from tests import hostile as h
from tests.hostile import GiB, MiB

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS, /proc and FIFOs: Linux"),
    pytest.mark.timeout(300),
]

BOMB = 256 * MiB  # what a bomb inflates to: twice the cap's worth of copies, in 260 kB


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], Path | list[Path]]
    match: str  # a regex the ImageIOError's reason must match ("" for an Image)
    outcome: str = "ImageIOError"
    seconds: float = 2.0
    peak: int = 16 * MiB
    options: tuple = ()


CASES: dict[str, Case] = {}


def case(name: str, match: str, **settings) -> Callable:
    def register(build: Callable[[Path], Path]) -> Callable:
        CASES[name] = Case(build, match, **settings)
        return build

    return register


# -- FIFOs and devices as main files ---------------------------------------------------------

SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".npy", ".mha", ".mhd", ".tif", ".dcm", "")
for _suffix in SUFFIXES:
    case(f"a FIFO named x{_suffix}", "a FIFO")(lambda f, s=_suffix: h.fifo(f, f"x{s}"))
for _suffix, _device in ((".nrrd", "/dev/zero"), (".nhdr", "/dev/zero"), (".mha", "/dev/urandom")):
    case(f"x{_suffix} linked to {_device}", "a character device")(
        lambda f, s=_suffix, d=_device: h.device_link(f, f"x{s}", d)
    )


@case("a FIFO in a list of DICOM files", "a FIFO")
def _(folder):
    return [h.fifo(folder, "1.dcm")]


@case("a FIFO in a DICOM folder (skipped)", "empty|no DICOM")
def _(folder):
    h.fifo(folder, "1.dcm")
    return folder


@case("a FIFO as an OME-Zarr chunk", "not a regular file")
def _(folder):
    root = h.ome_zarr_v2(folder, (2, 2, 2), (2, 2, 2), None, None)
    h.fifo(root / "0", "0.0.0")
    return root


@case("an OME-Zarr's .zattrs linked to /dev/zero", "not a regular file")
def _(folder):
    root = h.ome_zarr_v2(folder, (2, 2, 2), (2, 2, 2), None, bytes(8))
    (root / ".zattrs").unlink()
    h.device_link(root, ".zattrs")
    return root


# -- sparse giants: 8 GiB files that take no disk --------------------------------------------


@case("an 8 GiB .nrrd of zeros", "not a NRRD file")
def _(folder):
    return h.sparse(folder, "x.nrrd", 8 * GiB)


@case("an 8 GiB .nrrd: NRRD0004 and no newline", "does not end")
def _(folder):
    return h.sparse(folder, "x.nrrd", 8 * GiB, b"NRRD0004")


@case("a gzip .nrrd with 8 GiB of data", "corrupt")
def _(folder):
    return h.sparse(folder, "x.nrrd", 8 * GiB, h.nrrd_header(encoding="gzip"))


@case("a .nrrd skipping a line 8 GiB long", "line skip")
def _(folder):
    return h.sparse(folder, "x.nrrd", 8 * GiB, h.nrrd_header(line_skip=1))


@case("a zlib .mha with 8 GiB of data", "corrupt")
def _(folder):
    return h.sparse(folder, "x.mha", 8 * GiB, h.mha_header(compressed=True))


@case("a 3 GiB .nii whose voxels start at 2 GiB", "extensions")
def _(folder):
    return h.sparse(folder, "x.nii", 3 * GiB, h.nifti_header(2 * GiB - MiB))


@case("an OME-Zarr whose .zattrs has 8 GiB", "more than")
def _(folder):
    root = h.ome_zarr_v2(folder, (2, 2, 2), (2, 2, 2), None, bytes(8))
    (root / ".zattrs").unlink()
    h.sparse(root, ".zattrs", 8 * GiB, b"{")
    return root


@case("an ascii .nrrd of one voxel and 16 MB of numbers", "disagree")
def _(folder):
    path = folder / "x.nrrd"
    path.write_bytes(h.nrrd_header(encoding="ascii", type="double") + b"1 " * (8 * MiB))
    return path


# -- compressed tails and gaps: only what the header claims is held --------------------------


@case("a gzip .nrrd, byte skip -1, one voxel after 256 MiB", "byte skip -1")
def _(folder):
    path = folder / "x.nrrd"
    path.write_bytes(h.nrrd_header(encoding="gzip", byte_skip=-1) + h.deflated(BOMB, b"\x07"))
    return path


@case("a bzip2 .nrrd, byte skip -1, one voxel after 64 MiB", "byte skip -1")
def _(folder):
    path = folder / "x.nrrd"
    path.write_bytes(h.nrrd_header(encoding="bzip2", byte_skip=-1) + h.bzipped(64 * MiB, b"\x07"))
    return path


@case(
    "a gzip .nrrd, byte skip -1, 1 MiB of voxels after 512 kB", "", outcome="Image", peak=12 * MiB
)
def _(folder):
    path = folder / "x.nrrd"
    header = h.nrrd_header("1024 1024 1", encoding="gzip", byte_skip=-1)
    path.write_bytes(header + h.deflated(512 << 10, b"\x07" * MiB))
    return path


for _codec in ("gzip", "bzip2"):

    @case(f"a {_codec} .nrrd, byte skip 1e20", "byte skip")
    def _(folder, codec=_codec):
        path = folder / "x.nrrd"
        body = h.deflated(b"\x07") if codec == "gzip" else h.bzipped(b"\x07")
        path.write_bytes(h.nrrd_header(encoding=codec, byte_skip=10**20) + body)
        return path


@case("a .nii.gz of one voxel at vox_offset 256 MiB", "extensions")
def _(folder):
    path = folder / "x.nii.gz"
    path.write_bytes(h.deflated(h.nifti_header(BOMB), BOMB - 352, b"\x07"))
    return path


@case("a .nii.gz of 1 MiB of voxels after a 1 MiB extension", "", outcome="Image", peak=8 * MiB)
def _(folder):
    path = folder / "x.nii.gz"
    header = h.nifti_header(352 + MiB, shape=(1024, 1024, 1), extensions=True)
    extension = struct.pack("<ii", MiB, 6) + b"a comment ".ljust(MiB - 8, b"x")  # esize, ecode
    path.write_bytes(h.deflated(header, extension, b"\x07" * MiB))
    return path


# -- TIFF strips and OME-Zarr chunks: checked before the libraries inflate them --------------


@case("a TIFF of 16 x 16 pixels, a 260 kB Deflate strip of 256 MiB", "twice")
def _(folder):
    path = folder / "x.tif"
    path.write_bytes(h.tiff([h.deflated(BOMB, wrapper="zlib")], 8))
    return path


@case("a TIFF of 1024 x 1024 pixels, a Deflate strip of 256 MiB", "inflates past")
def _(folder):
    path = folder / "x.tif"
    path.write_bytes(h.tiff([h.deflated(BOMB, wrapper="zlib")], 8, width=1024, height=1024))
    return path


@case("a TIFF of 1024 x 1024 pixels, a PackBits strip of 256 MiB", "inflates past")
def _(folder):
    path = folder / "x.tif"
    path.write_bytes(h.tiff([b"\x81\x00" * (BOMB // 128)], 32773, width=1024, height=1024))
    return path


@case("a TIFF of 1024 x 1024 pixels, an LZMA strip of 32 MiB", "inflates past")
def _(folder):
    import lzma

    path = folder / "x.tif"
    strip = lzma.compress(bytes(32 * MiB), preset=0)
    path.write_bytes(h.tiff([strip], 34925, width=1024, height=1024))
    return path


@case("a TIFF compressed with LZW", "compression LZW")
def _(folder):
    path = folder / "x.tif"
    path.write_bytes(h.tiff([b"\x80\x00"], 5))
    return path


MIB_CHUNK = ((1, 1024, 1024), (1, 1024, 1024))  # shape and chunks: one chunk of 1 MiB


def _zarr_bomb(folder: Path, compressor: dict, chunk: bytes) -> Path:
    return h.ome_zarr_v2(folder, *MIB_CHUNK, compressor, chunk)


for _name, _compressor, _chunk in (
    ("zlib", {"id": "zlib", "level": 1}, lambda: h.deflated(BOMB, wrapper="zlib")),
    ("gzip", {"id": "gzip", "level": 1}, lambda: h.deflated(BOMB)),
    ("bz2", {"id": "bz2", "level": 1}, lambda: h.bzipped(64 * MiB)),
    ("zstd (no content size)", {"id": "zstd", "level": 1}, lambda: h.zstd_rle(BOMB)),
):
    case(f"an OME-Zarr chunk of 1 MiB: {_name}, inflating far past it", "decodes to more")(
        lambda f, c=_compressor, b=_chunk: _zarr_bomb(f, c, b())
    )


def _header_lie(codec: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        import numcodecs

        if codec == "blosc":
            compressor = {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 1, "blocksize": 0}
            blob = bytearray(numcodecs.Blosc(cname="zstd").encode(bytes(MiB)))
            struct.pack_into("<I", blob, 4, GiB)  # nbytes
        else:
            compressor = {"id": "lz4", "acceleration": 1}
            blob = bytearray(numcodecs.LZ4().encode(bytes(MiB)))
            struct.pack_into("<i", blob, 0, GiB)  # the decoded size numcodecs allocates
        return _zarr_bomb(folder, compressor, bytes(blob))

    return build


for _codec in ("blosc", "lz4"):
    case(f"an OME-Zarr chunk of 1 MiB: {_codec}, its header claiming 1 GiB", "decodes to more")(
        _header_lie(_codec)
    )


@case("an OME-Zarr (v3) chunk of 1 MiB: gzip, inflating far past it", "decodes to more")
def _(folder):
    codecs = [{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 1}}]
    return h.ome_zarr_v3(folder, *MIB_CHUNK, codecs, h.deflated(BOMB))


def _sharded(folder: Path, inner: bytes) -> Path:
    """A sharded OME-Zarr (v3) of one 1 MiB shard holding one chunk (``inner``, gzip)."""
    sharding = {
        "name": "sharding_indexed",
        "configuration": {
            "chunk_shape": list(MIB_CHUNK[1]),
            "codecs": [{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 1}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_location": "end",
        },
    }
    index = struct.pack("<QQ", 0, len(inner))
    return h.ome_zarr_v3(folder, *MIB_CHUNK, [sharding], inner + index)


for _lazy in (False, True):
    case(
        f"a sharded OME-Zarr (v3), a chunk inflating far past it{', lazy' if _lazy else ''}",
        "decodes to more",
        options=(("lazy", _lazy), ("view", _lazy)),
    )(lambda f: _sharded(f, h.deflated(BOMB)))
case("a sharded OME-Zarr (v3), its chunk as it should be", "", outcome="Image", peak=8 * MiB)(
    lambda f: _sharded(f, h.deflated(MiB))
)


@case("an OME-Zarr with a zlib filter, inflating far past its chunk", "codecs")
def _(folder):
    root = _zarr_bomb(folder, None, h.deflated(BOMB, wrapper="zlib"))
    meta = json.loads((root / "0" / ".zarray").read_text())
    meta["filters"] = [{"id": "zlib", "level": 1}]
    (root / "0" / ".zarray").write_text(json.dumps(meta))
    return root


@case(
    "a lazy OME-Zarr of 2**40 voxels, viewed",
    "coarsest level claims 1099511627776 bytes",
    options=(("lazy", True), ("view", True)),
)
def _(folder):
    return h.ome_zarr_v2(folder, (2**14, 2**13, 2**13), (1024, 1024, 1024), None, None)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    """Every case, built and read in one capped child."""
    root = tmp_path_factory.mktemp("hostile")
    reads = []
    for index, spec in enumerate(CASES.values()):
        folder = root / str(index)
        folder.mkdir()
        options = dict(spec.options)
        view = options.pop("view", False)
        reads.append(capped.read(spec.build(folder), timeout=10, view=view, **options))
    return dict(zip(CASES, capped.read_in_child(reads), strict=True))


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_file_ends_quickly_and_small(reports, name):
    spec, report = CASES[name], reports[name]
    assert report["outcome"] == spec.outcome, report
    assert re.search(spec.match, report["message"]), report
    assert report["seconds"] < spec.seconds, report
    assert report["traced_peak"] < spec.peak, report


def test_the_child_catches_what_it_is_there_to_catch(tmp_path):
    """The harness itself: a read that blocks is reported as a timeout, and one that
    allocates past the cap as a MemoryError, without hanging or killing the suite."""
    fifo = h.fifo(tmp_path, "x.raw")
    blocking = f"open({str(fifo)!r}).read()"
    ballooning = "bytearray(1 << 30)"
    reads = [
        capped.read(tmp_path / "missing.nii", timeout=1),
        {**capped.read("", timeout=1), "code": blocking},
        {**capped.read("", timeout=5), "code": ballooning},
    ]
    missing, blocked, ballooned = capped.read_in_child(reads)
    assert missing["outcome"] == "ImageIOError"
    assert blocked["outcome"] == "timeout"
    assert ballooned["outcome"] == "MemoryError"


def test_decoded_images_are_right(tmp_path):
    """The legitimate cases above, read in this process: the voxels are the right ones."""
    from voxlite import read_image

    for name in (
        "a gzip .nrrd, byte skip -1, 1 MiB of voxels after 512 kB",
        "a .nii.gz of 1 MiB of voxels after a 1 MiB extension",
    ):
        folder = tmp_path / str(abs(hash(name)))
        folder.mkdir()
        image = read_image(CASES[name].build(folder))
        assert image.array.size == MiB and np.all(np.asarray(image.array) == 7), name


# -- 32-bit sizes (Pyodide), and the fast and the standard zlib alike -----------------------


def _small_files(folder: Path) -> dict[str, Path]:
    """A small image in every compressed form voxlite reads, and two that claim 2**31 bytes."""
    import voxlite

    voxels = np.random.default_rng(3).integers(-1000, 1000, (8, 9, 10)).astype(np.int16)
    image = voxlite.Image(voxels)
    files = {s: voxlite.write_image(image, folder / f"ct{s}") for s in (".nii.gz", ".nrrd", ".mha")}
    voxels = image.array.astype("<i2").tobytes()
    for encoding, body in (
        ("gzip", h.deflated(b"junk", voxels)),
        ("bzip2", h.bzipped(b"junk", voxels)),
    ):
        path = folder / f"tail-{encoding}.nrrd"
        path.write_bytes(h.nrrd_header("10 9 8", encoding, "short", byte_skip=-1) + body)
        files[f"byte skip -1, {encoding}"] = path
    files["byte skip 2**31"] = folder / "skip.nrrd"
    files["byte skip 2**31"].write_bytes(h.nrrd_header(encoding="gzip", byte_skip=2**31) + voxels)
    files["2**31 bytes"] = folder / "big.nrrd"
    files["2**31 bytes"].write_bytes(h.nrrd_header("1024 1024 2048") + voxels)
    return files


class _Recorded:
    """A decompressor or a file whose every size argument is recorded."""

    def __init__(self, inner, sizes: list[int]) -> None:
        self.inner, self.sizes = inner, sizes

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.inner.close()

    def decompress(self, data, max_length=-1):
        self.sizes.append(max_length)
        return self.inner.decompress(data, max_length)

    def read(self, size=-1):
        self.sizes.append(size)
        return self.inner.read(size)

    def readinto(self, buffer):
        self.sizes.append(len(memoryview(buffer).cast("B")))
        return self.inner.readinto(buffer)


def test_every_size_fits_a_32_bit_platform(tmp_path, monkeypatch):
    """Pyodide's ssize_t has 32 bits: a budget or a read size of 2**31 raised OverflowError
    ("Python int too large to convert to C ssize_t"). With SSIZE_MAX as there, every budget
    is clamped to it, and every size handed to a decompressor or a gzip read fits."""
    import bz2
    import types

    from voxlite import ImageIOError, read_image
    from voxlite.io import compression, limits

    small = 2**31 - 1
    monkeypatch.setattr(limits, "SSIZE_MAX", small)
    assert limits.MAX_BYTES == 2**31 and limits.max_bytes() == small
    with limits.budget(2**40):
        assert limits.max_bytes() == small
    sizes: list[int] = []
    real = compression.implementation()
    fake_zlib = types.SimpleNamespace(
        decompressobj=lambda wbits: _Recorded(real.zlib.decompressobj(wbits), sizes)
    )
    fake_gzip = types.SimpleNamespace(open=lambda *a: _Recorded(real.gzip.open(*a), sizes))
    fake = compression.Implementation(fake_zlib, fake_gzip, real.errors)
    monkeypatch.setattr(compression, "implementation", lambda: fake)
    real_bz2 = bz2.BZ2Decompressor
    monkeypatch.setattr(bz2, "BZ2Decompressor", lambda: _Recorded(real_bz2(), sizes))
    files = _small_files(tmp_path)
    for name in (".nii.gz", ".nrrd", ".mha", "byte skip -1, gzip", "byte skip -1, bzip2"):
        assert read_image(files[name]).shape == (8, 9, 10), name
    for name in ("byte skip 2**31", "2**31 bytes"):
        with pytest.raises(ImageIOError, match=f"budget of {small} bytes"):
            read_image(files[name])
    assert sizes and max(sizes) <= small


def test_the_budget_is_clamped_at_import_on_a_32_bit_platform():
    import os
    import subprocess

    code = (
        "import sys; sys.maxsize = 2**31 - 1\n"
        "import voxlite.io.limits as limits; print(limits.MAX_BYTES, limits.max_bytes())"
    )
    for value in ("", "4e9"):
        env = {**os.environ, "VOXLITE_MAX_BYTES": value, "PYTHONPATH": str(capped.SRC)}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.stdout.split() == [str(2**31 - 1)] * 2, out.stderr


@pytest.mark.parametrize("which", ["fast", "standard"])
def test_the_fast_and_the_standard_zlib_read_alike(tmp_path, monkeypatch, which):
    """isal or zlib-ng when installed, the standard library otherwise (Pyodide): the same
    images, and the same refusals, from either."""
    import zlib

    from voxlite import ImageIOError, read_image
    from voxlite.io import compression

    if which == "standard":
        monkeypatch.setattr(compression, "implementation", compression.standard)
    elif compression.implementation().zlib is zlib:
        pytest.skip("neither isal nor zlib-ng is installed")
    files = _small_files(tmp_path)
    expected = read_image(tmp_path / "ct.nrrd").array
    for name in (".nii.gz", ".mha", "byte skip -1, gzip", "byte skip -1, bzip2"):
        np.testing.assert_array_equal(read_image(files[name]).array, expected)
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(files[".nii.gz"].read_bytes()[:-100])
    with pytest.raises(ImageIOError, match="truncated|corrupt"):
        read_image(cut)
    bomb = tmp_path / "bomb.nrrd"
    bomb.write_bytes(h.nrrd_header("10 9 8", "gzip", "short") + h.deflated(4 * MiB))
    with pytest.raises(ImageIOError, match="more than 1440 bytes"):
        read_image(bomb)
