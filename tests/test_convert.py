"""voxlite convert / voxlite.to_ome_zarr: multiscale OME-Zarr written by ngff-zarr on dask.

Read back three ways: voxlite's reader, zarr itself and ngff-zarr's reader. The
out-of-core conversion runs in a child whose address space is capped (RLIMIT_AS) at a
quarter of the volume above what its imports took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ngff_zarr = pytest.importorskip("ngff_zarr")
zarr = pytest.importorskip("zarr")
pytest.importorskip("dask")

import voxlite  # noqa: E402
from voxlite import ImageIOError, cli  # noqa: E402
from voxlite.convert import CODECS, open_source, to_ome_zarr  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"


def levels_of(path: Path) -> list[voxlite.Image]:
    image = voxlite.read_image(path)
    return [image, *image.levels]


def stored_array(path: Path, name: str = "scale0/image"):
    """A level's array, opened by zarr itself (not through the group's consolidated
    metadata, which zarr 3 nests for zarr v2 groups)."""
    return zarr.open_array(str(path / name), mode="r")


def noise(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4000, shape, dtype=np.uint16)


# -- out of core: a volume 4x the memory left, in a capped child ------------------------

CHILD = r"""
import json, resource, sys, threading
threading.stack_size(1 << 20)  # threads started under the cap reserve 1 MiB, not 8
import numpy as np
import dask, dask.array, nibabel, ngff_zarr, numcodecs, zarr, zarrista
import voxlite, voxlite.convert

source, out, limit, on_cluster = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
scheduler = None
if on_cluster:  # in this process (a cap on its threads too), one worker thread
    import distributed

    # no stack sampling, short logs: what a scheduler keeps grows with every task
    dask.config.set({"distributed.worker.profile.enabled": False,
                     "distributed.admin.low-level-log-length": 100,
                     "distributed.scheduler.transition-log-length": 100})
    cluster = distributed.LocalCluster(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    )
    scheduler = distributed.Client(cluster)
# A first small conversion imports what converting imports, before the cap.
voxlite.convert.to_ome_zarr(np.zeros((16, 16, 16), np.uint16), out + ".warm", chunks=8,
                            scheduler=scheduler)
with open("/proc/self/statm") as statm:
    held = int(statm.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (held + limit, held + limit))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
voxlite.convert.to_ome_zarr(source, out, memory=limit // 8, scheduler=scheduler, levels=4)
rise = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
print("RESULT=" + json.dumps({"rss_rise": rise}), flush=True)
"""


def write_big_nifti(path: Path, shape_ijk: tuple[int, int, int]) -> None:
    """A uint16 NIfTI written plane by plane (never whole in memory): plane k holds
    ``(7 * (j * ni + i) + 13 * k) % 4000``. Its RAS affine is LPS-aligned: LPS spacing
    (0.5, 0.6, 0.8), origin (1, 2, 3) mm."""
    import nibabel

    affine = np.diag([-0.5, -0.6, 0.8, 1.0])
    affine[:3, 3] = (-1.0, -2.0, 3.0)
    header = nibabel.Nifti1Header()
    header.set_data_shape(shape_ijk)
    header.set_data_dtype(np.uint16)
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=1)
    header["vox_offset"] = 352
    ni, nj, nk = shape_ijk
    with open(path, "wb") as stream:
        stream.write(header.binaryblock + b"\0" * 4)
        for k in range(nk):
            stream.write(plane_of(k, ni, nj).tobytes())


def plane_of(k: int, ni: int, nj: int) -> np.ndarray:
    """Plane k of :func:`write_big_nifti`, ``[j, i]`` (voxlite's [y, x])."""
    return ((np.arange(ni * nj, dtype=np.uint32).reshape(nj, ni) * 7 + 13 * k) % 4000).astype(
        np.uint16
    )


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc: Linux")
@pytest.mark.parametrize("on_cluster", [False, True], ids=["threads", "LocalCluster"])
def test_a_volume_4x_the_memory_left_converts_and_reads_back_equal(tmp_path, on_cluster):
    if on_cluster:
        pytest.importorskip("distributed")
    limit = 8 << 20
    shape = (256, 256, limit // (256 * 256 * 2) * 4)  # i, j, k: uint16, 4x the limit
    source = tmp_path / "big.nii"
    write_big_nifti(source, shape)
    out = tmp_path / "big.ome.zarr"
    # glibc: two arenas (each reserves 64 MiB), and a fixed mmap threshold: freed blocks
    # go back at once, not kept in a heap that only grows (its dynamic threshold)
    env = {**os.environ, "PYTHONPATH": str(SRC), "MALLOC_ARENA_MAX": "2"}
    env["MALLOC_MMAP_THRESHOLD_"] = str(1 << 17)
    command = [sys.executable, "-c", CHILD, str(source), str(out), str(limit), str(int(on_cluster))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT=")[1])
    assert result["rss_rise"] < source.stat().st_size  # never held the whole volume

    levels = levels_of(out)
    nk = shape[2]
    assert [level.shape for level in levels] == [
        (nk, 256, 256),
        (nk // 2, 128, 128),
        (nk // 4, 64, 64),
        (nk // 8, 32, 32),
    ]
    full = levels[0]
    assert full.spacing == pytest.approx((0.5, 0.6, 0.8))
    assert full.origin == pytest.approx((1.0, 2.0, 3.0))
    stored = stored_array(out)
    by_ngff = ngff_zarr.from_ngff_zarr(str(out)).images[0].data
    for z0 in range(0, nk, 128):  # slab by slab: the parent stays lean too
        expected = np.stack([plane_of(k, 256, 256) for k in range(z0, z0 + 128)])
        np.testing.assert_array_equal(np.asarray(full.array[z0 : z0 + 128]), expected)
        np.testing.assert_array_equal(stored[z0 : z0 + 128], expected)
        np.testing.assert_array_equal(np.asarray(by_ngff[z0 : z0 + 128]), expected)
    # The first level is the block mean (rounded) of the full resolution.
    block = np.stack([plane_of(k, 256, 256) for k in range(2)]).astype(float)
    mean = block.reshape(1, 2, 128, 2, 128, 2).mean(axis=(1, 3, 5))[0]
    np.testing.assert_array_equal(np.asarray(levels[1].array[0]), np.floor(mean + 0.5))


# -- codecs, versions, shards --------------------------------------------------------------


def stored_codecs(array) -> str:
    """The codec names an array's own metadata lists (v2 compressor, v3 codecs)."""
    metadata = array.metadata.to_dict()
    return json.dumps(metadata.get("compressor") or metadata.get("codecs"))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize("codec", CODECS)
def test_each_codec_and_version_reads_back_equal(tmp_path, codec, version):
    volume = noise((40, 48, 56))
    out = to_ome_zarr(
        voxlite.Image(volume), tmp_path / "v.ome.zarr", codec=codec, version=version, chunks=16
    )
    levels = levels_of(out)
    np.testing.assert_array_equal(np.asarray(levels[0].array), volume)
    assert [level.shape for level in levels] == [(40, 48, 56), (20, 24, 28), (10, 12, 14)]
    group = zarr.open_group(out, mode="r")
    assert group.metadata.zarr_format == (2 if version == "0.4" else 3)
    attributes = dict(group.attrs)
    assert (attributes["ome"]["version"] if version == "0.5" else "0.4") == version
    written = stored_codecs(stored_array(out)).lower()
    name = {"blosc-zstd": "zstd", "blosc-lz4": "lz4", "none": None}.get(codec, codec)
    if name is None:
        assert all(n not in written for n in ("blosc", "zstd", "lz4", "gzip"))
    else:
        assert name in written and (("blosc" in written) == codec.startswith("blosc"))


def test_shards_group_chunks_in_zarr_v3(tmp_path):
    volume = noise((64, 64, 64))
    out = to_ome_zarr(
        voxlite.Image(volume), tmp_path / "s.ome.zarr", version="0.5", shards=2, chunks=16, levels=2
    )
    array = stored_array(out)
    assert array.shards == (32, 32, 32) and array.chunks == (16, 16, 16)
    assert len(list((out / "scale0" / "image" / "c").rglob("*"))) < 4**3  # 8 shard files
    np.testing.assert_array_equal(np.asarray(voxlite.read_image(out).array), volume)


# -- label maps --------------------------------------------------------------------------


def test_label_maps_get_the_most_frequent_label_of_each_block(tmp_path):
    labels = np.zeros((32, 32, 32), np.uint8)
    labels[:16] = 3
    labels[0:2, 0:2, 0:2] = 7  # the first block: all 7 ...
    labels[0, 0, 0] = 3  # ... but one: 7 wins 7 to 1
    labels[2:4, 0:2, 0:2] = [[[5, 5], [5, 9]], [[9, 9], [9, 9]]]  # 9 wins 5 to 3
    out = to_ome_zarr(voxlite.Image(labels), tmp_path / "l.ome.zarr", labels=True, chunks=8)
    level = np.asarray(levels_of(out)[1].array)
    assert level[0, 0, 0] == 7 and level[1, 0, 0] == 9
    assert set(np.unique(level)) == {0, 3, 7, 9}  # no averaged, in-between labels


def test_nearest_levels_of_a_label_map_keep_its_labels(tmp_path):
    pytest.importorskip("dask_image")  # ngff-zarr's nearest is dask-image's
    labels = np.zeros((32, 32, 32), np.uint8)
    labels[:16] = 3
    labels[0:2, 0:2, 0:2] = 7
    nearest = to_ome_zarr(
        voxlite.Image(labels), tmp_path / "n.ome.zarr", method="nearest", labels=True, chunks=8
    )
    assert set(np.unique(np.asarray(levels_of(nearest)[1].array))) <= {0, 3, 7}


def test_nearest_without_dask_image_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_image", None)
    with pytest.raises(ImportError, match="needs dask-image: pip install dask-image"):
        to_ome_zarr(np.zeros((8, 8, 8), np.uint8), tmp_path / "x.ome.zarr", method="nearest")


def test_a_label_map_is_not_averaged(tmp_path):
    with pytest.raises(ValueError, match="not averaged"):
        to_ome_zarr(
            np.zeros((8, 8, 8), np.uint8), tmp_path / "x.ome.zarr", labels=True, method="mean"
        )


# -- geometry -------------------------------------------------------------------------------


def assert_same_voxels_in_space(source: voxlite.Image, written: voxlite.Image) -> None:
    """Every voxel of ``source`` is at the same physical place, with its value, in ``written``."""
    array = np.asarray(source.array)
    back = np.asarray(written.array)
    rng = np.random.default_rng(1)
    for _ in range(50):
        k, j, i = (rng.integers(0, n) for n in source.shape)
        place = source.index_to_physical((i, j, k))
        x, y, z = np.rint(written.physical_to_index(place)).astype(int)
        assert np.allclose(written.index_to_physical((x, y, z)), place)
        assert back[z, y, x] == array[k, j, i]


def test_flipped_and_permuted_axes_are_reindexed_without_loss(tmp_path):
    # A sagittal stack stored backwards: index x runs along -y, y along +z, z along -x.
    direction = np.array([[0.0, 0, -1], [-1, 0, 0], [0, 1, 0]])
    source = voxlite.Image(
        noise((12, 20, 16)), spacing=(0.5, 0.7, 2.0), origin=(10, -4, 30), direction=direction
    )
    out = to_ome_zarr(source, tmp_path / "g.ome.zarr", chunks=8)
    written = voxlite.read_image(out)
    assert np.allclose(written.direction, np.eye(3))
    assert written.spacing == pytest.approx((2.0, 0.5, 0.7))
    assert_same_voxels_in_space(source, written)
    # Coarser levels: a block's mean sits at its block's centre.
    level = written.levels[0]
    assert level.origin == pytest.approx(
        np.asarray(written.origin) + np.asarray(written.spacing) / 2
    )
    attributes = zarr.open_group(out, mode="r").attrs.asdict()
    units = {a["name"]: a.get("unit") for a in attributes["multiscales"][0]["axes"]}
    assert units == dict.fromkeys("zyx", "millimeter")


def test_an_oblique_image_is_refused_or_its_rotation_dropped(tmp_path):
    angle = np.radians(20)
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    source = voxlite.Image(noise((8, 16, 16)), origin=(1, 2, 3), direction=rotation)
    with pytest.raises(ValueError, match=r"oblique \(its axes are 20.0° off.*oblique='drop'"):
        to_ome_zarr(source, tmp_path / "o.ome.zarr", chunks=8)
    assert not (tmp_path / "o.ome.zarr").exists()
    out = to_ome_zarr(source, tmp_path / "o.ome.zarr", chunks=8, oblique="drop")
    written = voxlite.read_image(out)
    np.testing.assert_array_equal(np.asarray(written.array), np.asarray(source.array))
    assert written.origin == pytest.approx((1, 2, 3))
    recorded = zarr.open_group(out, mode="r").attrs["voxlite"]["direction"]
    assert np.allclose(recorded, rotation)


def test_a_unitless_tiff_stays_unitless_and_is_read_lazily(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    volume = noise((6, 30, 40))
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, volume, metadata={"axes": "ZYX"})
    source = open_source(path)
    assert source.lazy and source.shape == (6, 30, 40)
    out = to_ome_zarr(path, tmp_path / "t.ome.zarr", chunks=16)
    written = voxlite.read_image(out)
    np.testing.assert_array_equal(np.asarray(written.array), volume)
    assert written.metadata["unit"] is None  # not millimetres: TIFF said no unit


def test_a_dicom_series_is_read_slice_by_slice_with_its_geometry(tmp_path):
    from voxlite.io import dicom

    direction = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # coronal
    image = voxlite.Image(
        noise((10, 24, 20)).astype(np.int16),
        spacing=(0.8, 0.8, 2.5),
        origin=(-30, 12, 50),
        direction=direction,
    )
    folder = tmp_path / "series"
    dicom.write_series(image, folder)
    source = open_source(folder)
    assert type(source.array).__name__ == "SliceStack"
    expected = voxlite.read_image(folder)
    np.testing.assert_array_equal(np.asarray(source.array[3:5, 2:9]), expected.array[3:5, 2:9])
    out = to_ome_zarr(folder, tmp_path / "d.ome.zarr", chunks=8)
    assert_same_voxels_in_space(expected, voxlite.read_image(out))


# -- bad input: clear messages --------------------------------------------------------


def test_an_existing_output_needs_overwrite(tmp_path):
    out = to_ome_zarr(noise((8, 8, 8)), tmp_path / "x.ome.zarr", chunks=8)
    with pytest.raises(ValueError, match=r"exists: pass overwrite=True \(--overwrite\)"):
        to_ome_zarr(noise((8, 8, 8)), out, chunks=8)
    to_ome_zarr(noise((8, 8, 8), seed=5), out, chunks=8, overwrite=True)
    np.testing.assert_array_equal(np.asarray(voxlite.read_image(out).array), noise((8, 8, 8), 5))
    assert [p.name for p in tmp_path.iterdir()] == ["x.ome.zarr"]  # nothing staged left
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("...")
    with pytest.raises(ValueError, match="not a zarr folder"):
        to_ome_zarr(noise((8, 8, 8)), other, overwrite=True)
    assert (other / "thesis.tex").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"codec": "brotli"}, "unknown codec 'brotli': choose one of blosc-zstd"),
        ({"version": "0.3"}, "unknown OME-NGFF version '0.3'"),
        ({"shards": 2}, "shards need zarr v3: write version 0.5"),
        ({"chunks": 3}, "each side is 8 to 1024 voxels"),
        ({"method": "median"}, "unknown method 'median'"),
        ({"scheduler": 42}, "a scheduler address"),
        ({"memory": 1000}, "memory=1000 is not a number of bytes of at least 1 MiB"),
        ({"memory": True}, "memory=True is not a number of bytes"),
    ],
)
def test_bad_options_are_refused_before_reading(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        to_ome_zarr(tmp_path / "missing.nii", tmp_path / "x.ome.zarr", **options)


def test_a_2d_zarr_array_converts_as_one_slice_read_chunk_by_chunk(tmp_path):
    import zarr

    plane = noise((40, 48))
    stored = zarr.open_array(
        tmp_path / "p.zarr", mode="w", shape=plane.shape, chunks=(8, 8), dtype=plane.dtype
    )
    stored[:] = plane
    source = open_source(tmp_path / "p.zarr")
    assert source.lazy and source.shape == (1, 40, 48)
    out = to_ome_zarr(tmp_path / "p.zarr", tmp_path / "p.ome.zarr", chunks=8, levels=1)
    np.testing.assert_array_equal(np.asarray(levels_of(out)[0].array), plane[None])


def test_non_image_input_is_an_image_io_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(ImageIOError, match="unknown image format .txt"):
        to_ome_zarr(text, tmp_path / "x.ome.zarr")
    with pytest.raises(ImageIOError, match="no such file"):
        to_ome_zarr(tmp_path / "missing.nii", tmp_path / "x.ome.zarr")
    with pytest.raises(ValueError, match="holds rgb voxels: voxlite converts scalar volumes"):
        to_ome_zarr(
            voxlite.Image(np.zeros((2, 4, 4, 3), np.uint8), pixel="rgb"), tmp_path / "x.ome.zarr"
        )


def test_an_unreachable_scheduler_is_named(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("voxlite.convert.SCHEDULER_TIMEOUT", "1s")
    with pytest.raises(ValueError, match="cannot reach the dask scheduler at tcp://127.0.0.1:9"):
        to_ome_zarr(noise((8, 8, 8)), tmp_path / "x.ome.zarr", scheduler="tcp://127.0.0.1:9")


def test_the_command_line_converts_and_shows_progress(tmp_path, capsys):
    path = tmp_path / "ct.nii.gz"
    volume = noise((20, 24, 28)).astype(np.int16)
    voxlite.write_image(voxlite.Image(volume, spacing=(1, 1, 3)), path)
    out = tmp_path / "ct.ome.zarr"
    assert cli.main(["convert", str(path), str(out), "--chunks", "8", "--codec", "zstd"]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}" in captured.out
    assert "Writing scale 1 of" in captured.err and "done in" in captured.err
    np.testing.assert_array_equal(np.asarray(voxlite.read_image(out).array), volume)
    assert cli.main(["convert", str(path), str(out)]) == 1
    assert "exists: pass overwrite=True (--overwrite)" in capsys.readouterr().err
    assert cli.main(["convert", str(tmp_path / "notes.txt"), str(tmp_path / "y.zarr")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_a_lazy_nifti_reads_negative_indices_and_refuses_those_out_of_bounds(tmp_path):
    import nibabel

    from voxlite.io import nifti

    voxels = np.arange(6 * 5 * 4, dtype=np.int16).reshape(6, 5, 4)  # [z, y, x]
    path = tmp_path / "a.nii"
    nibabel.save(nibabel.Nifti1Image(voxels.transpose(2, 1, 0), np.eye(4)), path)
    lazy = nifti.open_lazy(path).array
    assert np.array_equal(lazy[-1], voxels[-1])
    assert np.array_equal(lazy[2, :, -1], voxels[2, :, -1])
    with pytest.raises(IndexError, match="out of bounds"):
        lazy[6]
