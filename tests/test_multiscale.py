"""Levels of detail: factors, block means, placement, staged display, lazy inputs."""

import asyncio
import concurrent.futures
import mmap

import numpy as np
import pytest

import voxlite
from tests.samples import write_ome_zarr
from voxlite import multiscale, tasks
from voxlite.image import Image
from voxlite.io import ImageIOError, read_image
from voxlite.io.omezarr import Reordered
from voxlite.multiscale import block_mean, factors_for, run, strided


class CountingArray:
    """A lazy array that records how many voxels each read returns."""

    def __init__(self, array):
        self.array, self.reads = array, []
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key):
        part = self.array[key]
        self.reads.append(part.size)
        return part


def mapped(array) -> bool:
    """Are the array's bytes a memory map of a file?"""
    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


def ramp(shape, dtype=np.uint16):
    return (np.arange(np.prod(shape)) % 997).astype(dtype).reshape(shape)


def test_factors_halve_the_longest_axis_until_the_volume_fits():
    assert factors_for((600, 512, 512), 256**3) == (4, 2, 2)
    assert factors_for((40, 512, 512), 128**3) == (1, 4, 2)  # a thin stack keeps its slices
    assert factors_for((64, 64, 64), 256**3) == (1, 1, 1)
    wide = factors_for((4, 8192, 100), 512**3)  # few voxels, but wider than a texture
    assert 8192 // wide[1] <= multiscale.MAX_TEXTURE_SIDE


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.float32, np.float64, bool])
def test_block_mean_matches_numpy_with_partial_edge_blocks(dtype):
    array = (np.random.default_rng(1).random((9, 10, 11)) * 3000).astype(dtype)
    level = run(block_mean(Image(array), (2, 4, 3)))
    padded = np.full((10, 12, 12), np.nan)
    padded[:9, :10, :11] = array
    expected = np.nanmean(padded.reshape(5, 2, 3, 4, 4, 3), axis=(1, 3, 5))
    assert level.shape == (5, 3, 4)
    if np.dtype(dtype).kind in "iu":
        assert level.array.dtype == dtype
        np.testing.assert_allclose(level.array, np.rint(expected), atol=1)
    else:
        assert level.array.dtype == np.float32
        np.testing.assert_allclose(level.array, expected, rtol=1e-5)


def test_a_level_keeps_its_physical_placement():
    direction = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    image = Image(
        ramp((8, 8, 8)), spacing=(0.5, 1.0, 3.0), origin=(10, 20, 30), direction=direction
    )
    mean = run(block_mean(image, (2, 2, 4)))  # z, y, x factors
    # The first averaged voxel sits at the centre of the block it averages.
    np.testing.assert_allclose(
        mean.index_to_physical((0, 0, 0)), image.index_to_physical((1.5, 0.5, 0.5))
    )
    np.testing.assert_allclose(mean.spacing, (2.0, 2.0, 6.0))
    np.testing.assert_array_equal(mean.direction, direction)
    sample = strided(image, (2, 2, 4))  # nearest: at its first voxel
    assert sample.origin == image.origin
    np.testing.assert_array_equal(sample.array, image.array[::2, ::2, ::4])


def test_an_image_over_the_budget_shows_a_level_and_full_resolution_slices():
    array = ramp((96, 80, 64))
    labels = (array % 3).astype(np.uint8)
    viewer = voxlite.view(array, labels, max_voxels=32**3, mode="slices")
    payload = viewer._image
    assert payload["level"] == "refined" and payload["full"]["shape"] == [96, 80, 64]
    assert multiscale.voxels(payload["shape"]) <= 32**3
    assert viewer.slices == [32, 40, 48]  # full-resolution indices
    assert multiscale.voxels(viewer._labels["shape"]) <= 32**3
    x_plane, _, z_plane = viewer._planes
    assert (x_plane["axis"], x_plane["index"]) == (0, 32)
    sent = np.frombuffer(z_plane["image"]["data"], np.uint16).reshape(z_plane["image"]["shape"])
    np.testing.assert_array_equal(sent[0], array[48])
    assert z_plane["labels"]["shape"] == [1, 80, 64]
    viewer.slices = [1, 2, 3]
    assert [p["index"] for p in viewer._planes] == [1, 2, 3]
    viewer.mode = "mip"  # planes are for slices drawn: in 2D views, or slices mode in 3D
    viewer.slices = [4, 5, 6]
    assert [p["index"] for p in viewer._planes] == [4, 5, 6]
    viewer.views = "3d"
    assert viewer._planes == []


def test_an_image_within_the_budget_is_sent_whole_after_its_preview(in_a_kernel, tmp_path):
    async def scenario():
        viewer = voxlite.view(ramp((40, 40, 40)), mode="slices", max_voxels=32**3 * 4)
        assert viewer._image["level"] == "preview" and viewer._planes == []
        await drawn(viewer)
        assert viewer._image["level"] == "full" and viewer._planes == []
        assert viewer._image["shape"] == viewer._image["full"]["shape"] == [40, 40, 40]
        small = voxlite.view(ramp((16, 16, 16)), max_voxels=32**3)  # no larger than a preview
        assert small._image["level"] == "full" and small.loading is None
        again = voxlite.view(ramp((40, 40, 40)), max_voxels=32**3 * 4)
        page = again.save_html(tmp_path / "view.html").read_text()  # a page gets the image itself
        assert '"level":"full"' in page and '"level":"preview"' not in page

    in_its_own_loop(scenario)


def test_max_voxels_is_checked_and_a_new_budget_reshows_the_image():
    viewer = voxlite.view(ramp((64, 64, 64)))
    assert viewer._image["level"] == "full"
    viewer.max_voxels = 32**3
    assert viewer._image["shape"] == [32, 32, 32]
    with pytest.raises(Exception, match="max_voxels must be .*a browser tab cannot hold"):
        viewer.max_voxels = 1024**3


def in_its_own_loop(scenario):
    """asyncio.run(scenario()) in a thread of its own: when browser tests ran first in this
    process, Playwright's sync API keeps an event loop running in the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result()


@pytest.fixture
def in_a_kernel(monkeypatch):
    """Levels load in the running event loop, as in a Jupyter kernel."""
    monkeypatch.setattr(tasks, "kernel_loop", asyncio.get_running_loop)


def drawn(viewer):
    """What the view says once it has drawn a preview."""
    viewer._on_front_end_message(viewer, {"type": "refine", "serial": viewer._image["serial"]}, [])
    return viewer.loading


def test_in_a_kernel_the_preview_comes_first_and_a_new_image_cancels_the_level(in_a_kernel):
    async def scenario():
        viewer = voxlite.view(ramp((128, 128, 128)), max_voxels=32**3)
        assert viewer._image["level"] == "preview"
        assert multiscale.voxels(viewer._image["shape"]) <= 32**3 / 8
        assert viewer._progress["fraction"] == 0.0
        assert viewer.loading is None  # not before the view has drawn the preview
        stale = viewer._image["serial"]
        first = drawn(viewer)
        viewer.set_image(ramp((96, 64, 64)))  # before the first level is done
        viewer._on_front_end_message(viewer, {"type": "refine", "serial": stale}, [])
        assert viewer.loading is None  # an old preview's request is ignored
        second = drawn(viewer)
        await asyncio.gather(first, return_exceptions=True)
        assert first.cancelled()
        await second
        assert viewer._image["level"] == "refined"
        assert viewer._image["full"]["shape"] == [96, 64, 64]
        assert viewer._progress == {} and viewer.loading is None

    in_its_own_loop(scenario)


def test_the_window_follows_the_finer_level_unless_the_user_changed_it(in_a_kernel):
    async def scenario():
        array = np.zeros((128, 128, 128), np.float32)
        array[:, :, 1::8] = 1000.0  # missed by the strided preview, kept by the block mean
        viewer = voxlite.view(array, max_voxels=32**3)
        await drawn(viewer)
        assert viewer.window == pytest.approx(viewer._image["range"][1]) and viewer.window > 0
        viewer.set_image(array)
        viewer.window = 7.0
        await drawn(viewer)
        assert viewer.window == 7.0

    in_its_own_loop(scenario)


def test_a_lazy_array_is_read_in_parts_never_whole():
    source = CountingArray(ramp((128, 128, 128)))
    image = voxlite.as_image(source)
    assert image.lazy and image.array is source
    voxlite.view(image, max_voxels=32**3, mode="slices")
    assert max(source.reads) <= multiscale.SLAB_VOXELS * 2
    assert sum(source.reads) <= 1.1 * 128**3  # one pass for the level, a few planes


def test_dask_and_zarr_arrays_stay_lazy(tmp_path):
    import dask.array
    import zarr

    array = ramp((64, 64, 64))
    stored = zarr.create_array(str(tmp_path / "a.zarr"), data=array, chunks=(16, 16, 16))
    for lazy in (dask.array.from_array(array, chunks=16), stored):
        image = voxlite.as_image(lazy)
        assert image.lazy
        viewer = voxlite.view(image, max_voxels=32**3)
        assert viewer._image["shape"] == [32, 32, 32]
        np.testing.assert_array_equal(image.load().array, array)


def test_ome_zarr_levels_are_used_and_level_0_is_read_only_for_slices(tmp_path, monkeypatch):
    full = ramp((64, 64, 64))
    half = run(block_mean(Image(full), (2, 2, 2))).array
    path = tmp_path / "cells.ome.zarr"
    write_ome_zarr(path, [full, half], scale=(1.0, 1.0, 1.0), translation=(0.0, 0.0, 0.0))
    reads = []
    original = Reordered.__getitem__
    monkeypatch.setattr(
        Reordered,
        "__getitem__",
        lambda self, key: reads.append(original(self, key).size) or original(self, key),
    )
    image = read_image(path, lazy=True)
    assert image.lazy and len(multiscale.levels_of(image).images) == 2
    viewer = voxlite.view(image, max_voxels=32**3, mode="slices")
    sent = np.frombuffer(viewer._image["data"], np.uint16).reshape(viewer._image["shape"])
    np.testing.assert_array_equal(sent, half)  # the stored level, not a computed one
    level_0_reads = sum(n for n in reads if n != half.size)
    assert level_0_reads <= 3 * 64 * 64 + 32**3 // 8  # three planes and a strided preview


def test_a_nifti_over_the_memory_budget_is_memory_mapped_when_lazy(tmp_path):
    array = ramp((40, 50, 60))
    path = voxlite.write_image(Image(array, spacing=(1, 2, 3)), tmp_path / "big.nii")
    with pytest.raises(ImageIOError, match=r"read_image\(\.\.\., lazy=True\)"):
        read_image(path, max_bytes=10_000)
    image = read_image(path, max_bytes=10_000, lazy=True)
    assert mapped(image.array)
    np.testing.assert_array_equal(image.array, array)
    assert image.spacing == (1.0, 2.0, 3.0)
