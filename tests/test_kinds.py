"""Every kind of image people bring, in Python: 2D and colour, channels, time series.

Files are written by other software (SimpleITK, tifffile, Pillow, nibabel's test data)
and read back by voxlite; the viewer's payloads carry only what the page needs.
"""

import json
from pathlib import Path

import nibabel
import numpy as np
import pytest
import SimpleITK as sitk
import tifffile
from PIL import Image as PILImage

import voxlite
from voxlite import Image, read_image
from voxlite.transfer import encode_image

NIBABEL_DATA = Path(nibabel.__file__).parent / "tests" / "data"


def quadrants(height=40, width=60):
    """Red, green, blue and white quadrants: each colour at a known place."""
    rgb = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    rgb[:h, :w] = (255, 0, 0)
    rgb[:h, w:] = (0, 255, 0)
    rgb[h:, :w] = (0, 0, 255)
    rgb[h:, w:] = (255, 255, 255)
    return rgb


@pytest.mark.parametrize("suffix", [".mha", ".png", ".tif", ".bmp"])
def test_2d_colour_files_written_by_simpleitk_are_colour_images(tmp_path, suffix):
    rgb = quadrants()
    reference = sitk.GetImageFromArray(rgb, isVector=True)
    reference.SetSpacing((0.5, 0.25))
    path = tmp_path / f"photo{suffix}"
    sitk.WriteImage(reference, str(path))
    image = read_image(path)
    assert (image.pixel, image.shape, image.components) == ("rgb", (1, 40, 60), 3)
    expected = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    np.testing.assert_array_equal(image.array[0], expected)
    if suffix == ".mha":  # the formats that keep a physical size
        assert image.spacing[:2] == (0.5, 0.25)


def test_pictures_and_tiffs_from_their_own_libraries(tmp_path):
    rgb = quadrants()
    PILImage.fromarray(rgb).save(tmp_path / "pillow.png")
    PILImage.fromarray(rgb).convert("RGBA").save(tmp_path / "alpha.png")
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    for name, pixel in (("pillow.png", "rgb"), ("alpha.png", "rgba"), ("rgb.tif", "rgb")):
        image = read_image(tmp_path / name)
        assert image.pixel == pixel and image.shape == (1, 40, 60), name
        np.testing.assert_array_equal(image.array[0, ..., :3], rgb)
    grey = np.arange(40 * 60, dtype=np.uint16).reshape(40, 60)
    tifffile.imwrite(tmp_path / "grey.tif", grey)
    assert read_image(tmp_path / "grey.tif").shape == (1, 40, 60)


def test_an_imagej_hyperstack_is_a_time_series_of_channels(tmp_path):
    stack = np.random.default_rng(0).integers(0, 4000, (3, 5, 2, 16, 20)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "hyper.tif", stack, imagej=True, metadata={"axes": "TZCYX"})
    image = read_image(tmp_path / "hyper.tif")
    assert image.timeseries and image.pixel == "channels"
    assert (image.frames, image.shape, image.components) == (3, (5, 16, 20), 2)
    np.testing.assert_array_equal(image.frame(2).channel(1).array, stack[2, :, 1])


def test_a_4d_nifti_opens_as_a_time_series_and_the_page_gets_one_time_point():
    path = NIBABEL_DATA / "example4d.nii.gz"
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))  # [t, z, y, x]
    viewer = voxlite.view(path, views="3d")
    assert viewer.image.frames == reference.shape[0] == 2
    sent = np.frombuffer(viewer._image["data"], viewer._image["dtype"])
    assert sent.size == reference[0].size, "one time point, not the series"
    window = (viewer.window, viewer.level)
    viewer.time = 1
    sent = np.frombuffer(viewer._image["data"], viewer._image["dtype"]).reshape(reference[1].shape)
    np.testing.assert_allclose(sent, reference[1], rtol=1e-6)
    assert (viewer.window, viewer.level) == window, "the window stays from time point to point"
    with pytest.raises(ValueError, match="time 2 is outside 0..1"):
        viewer.time = 2
    still = voxlite.view(np.zeros((4, 4, 4)))
    with pytest.raises(ValueError, match="not a time series"):
        still.time = 1
    saved = json.loads(json.dumps(viewer.state))
    assert voxlite.view(path, state=saved).time == 1


def test_channels_get_colours_windows_and_names():
    rng = np.random.default_rng(1)
    dapi, gfp = rng.normal(100, 10, (8, 16, 16)), rng.normal(2000, 300, (8, 16, 16))
    viewer = voxlite.view([Image(dapi, name="DAPI"), Image(gfp, name="GFP")], views="3d")
    assert viewer.image.pixel == "channels" and viewer._image["components"] == 2
    first, second = viewer.channels
    assert (first["name"], first["color"], second["name"], second["color"]) == (
        "DAPI",
        "#00ff00",
        "GFP",
        "#ff00ff",
    )
    assert 60 < first["level"] < 140 and 1500 < second["level"] < 2500, "each its own window"
    viewer.channels = [{**first, "visible": False}, {**second, "color": (255, 255, 0)}]
    assert viewer.channels[1]["color"] == "#ffff00" and not viewer.channels[0]["visible"]
    with pytest.raises(ValueError, match="2 settings for 2 channels|1 settings for 2 channels"):
        viewer.channels = [first]
    with pytest.raises(ValueError, match="no setting 'gamma'"):
        viewer.channels = [{**first, "gamma": 2}, second]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Image(np.zeros((4, 4, 4, 9)), pixel="channels"),
            "9 channels; voxlite shows at most 8",
        ),
        (lambda: [np.zeros((4, 4, 4)), np.zeros((4, 4, 5))], "channels must have one shape"),
    ],
)
def test_bad_channels_are_refused_with_what_to_do(make, message):
    with pytest.raises(ValueError, match=message):
        voxlite.view(make())


def test_colour_and_channels_travel_interleaved():
    rgb = encode_image(voxlite.as_image(quadrants()))
    assert (rgb["pixel"], rgb["components"], rgb["dtype"], rgb["shape"]) == (
        "rgb",
        3,
        "uint8",
        [1, 40, 60],
    )
    pixels = np.frombuffer(rgb["data"], np.uint8).reshape(40, 60, 3)
    assert pixels[0, 0].tolist() == [255, 0, 0] and pixels[-1, 0].tolist() == [0, 0, 255]
    sixteen = encode_image(Image(quadrants()[np.newaxis].astype(np.uint16) * 257, pixel="rgb"))
    assert sixteen["dtype"] == "uint8" and sixteen["range"] == [0.0, 255.0]
    two = np.stack([np.zeros((2, 3, 4)), np.ones((2, 3, 4))], -1)
    channels = encode_image(Image(two, pixel="channels"))
    assert channels["ranges"] == [[0.0, 0.0], [1.0, 1.0]]


def test_a_large_colour_volume_is_shown_from_a_level_that_keeps_its_colour():
    volume = np.zeros((96, 96, 96, 3), np.uint8)
    volume[..., 0] = 200  # red everywhere
    viewer = voxlite.view(Image(volume, pixel="rgb"), max_voxels=32**3, views="3d")
    payload = viewer._image
    assert payload["level"] == "refined" and payload["pixel"] == "rgb"
    level = np.frombuffer(payload["data"], np.uint8).reshape(*payload["shape"], 3)
    assert (level[..., 0] == 200).all() and (level[..., 1:] == 0).all()


def test_transfer_function_and_crop_are_checked_settings():
    viewer = voxlite.view(np.zeros((8, 8, 8)))
    viewer.opacity_points = [[10, 0.5], [0, 0.0], [20.5, 1]]
    assert viewer.opacity_points == [[0.0, 0.0], [10.0, 0.5], [20.5, 1.0]], "sorted by value"
    with pytest.raises(ValueError, match="opacity must be 0..1"):
        viewer.opacity_points = [[0, 2]]
    viewer.crop = {"min": [0, 0, 0], "max": [4, 5, 6]}
    assert viewer.crop == {"min": [0.0, 0.0, 0.0], "max": [4.0, 5.0, 6.0]}
    with pytest.raises(ValueError, match="max must exceed its min"):
        viewer.crop = {"min": [0, 0, 0], "max": [4, 0, 6]}
    saved = json.loads(json.dumps(viewer.state))
    again = voxlite.view(np.zeros((8, 8, 8)), state=saved)
    assert again.crop == viewer.crop and again.opacity_points == viewer.opacity_points


def test_comparing_puts_moving_on_fixed_by_geometry():
    from voxlite.comparison import resample

    fixed = Image(np.zeros((8, 8, 8)), spacing=(2, 2, 2), origin=(10, 0, 0))
    k, j, i = np.indices((16, 16, 16))
    moving = Image((i + 10 * j + 100 * k).astype(np.float32), origin=(10, 0, 0))  # 1 mm voxels
    onto = resample(moving, fixed)
    assert onto.same_geometry(fixed)
    assert onto.array[3, 2, 1] == pytest.approx(2 * 1 + 10 * 2 * 2 + 100 * 2 * 3)
    shifted = Image(moving.array, origin=(11, 0, 0))  # moved 1 mm along x: values along i
    assert resample(shifted, fixed).array[0, 0, 1] == pytest.approx(1.0)
    sitk_moving = sitk.GetImageFromArray(moving.array)
    sitk_moving.SetOrigin((10, 0, 0))
    identity = (1, 0, 0, 0, 1, 0, 0, 0, 1)
    reference = sitk.Resample(
        sitk_moving, (8, 8, 8), sitk.Transform(), sitk.sitkLinear, (10, 0, 0), (2, 2, 2), identity
    )
    np.testing.assert_allclose(onto.array, sitk.GetArrayFromImage(reference), atol=1e-3)


def test_compare_methods_and_their_settings():
    rng = np.random.default_rng(2)
    fixed = Image(rng.random((16, 16, 16)) * 100, spacing=(2, 2, 2))
    moving = Image(rng.random((32, 32, 32)) * 3000)
    viewer = voxlite.compare(fixed, moving, "green-magenta", views="3d")
    assert viewer._image["components"] == 2
    assert [c["color"] for c in viewer.channels] == ["#00ff00", "#ff00ff"]
    viewer.compare_method = "blend"
    viewer.image_mix = 0.3
    assert [c["opacity"] for c in viewer.channels] == pytest.approx([0.7, 0.3])
    viewer.compare_method = "checkerboard"
    viewer.checker = 4
    board = np.frombuffer(viewer._image["data"], np.float32).reshape(16, 16, 16)
    assert board.min() >= 0 and board.max() <= 1, "each image at its own window: 0..1"
    zeros, fives = Image(np.zeros((8, 8, 8))), Image(np.full((8, 8, 8), 5.0))
    constant = voxlite.compare(zeros, fives, checker=2)
    squares = np.frombuffer(constant._image["data"], np.float32).reshape(8, 8, 8)
    expected = ((np.indices((8, 8, 8)) // 2).sum(axis=0) % 2).astype(np.float32)
    np.testing.assert_array_equal(squares > 0, expected > 0)
    with pytest.raises(ValueError, match="do not overlap in physical space"):
        voxlite.compare(fixed, Image(np.zeros((4, 4, 4)), origin=(500, 0, 0)))
    with pytest.raises(ValueError, match="unknown compare method 'swirl'"):
        voxlite.compare(fixed, moving, "swirl")
    row = voxlite.compare(fixed, moving, "side-by-side")
    assert len(row.children) == 2 and row.children[0].image.same_geometry(row.children[1].image)


def test_a_saved_page_of_a_time_series_holds_the_time_point_shown_without_a_time_bar(tmp_path):
    series = Image(
        np.random.default_rng(3).random((3, 4, 5, 6)).astype(np.float32), timeseries=True
    )
    viewer = voxlite.view(series, time=2, playing=True)
    text = viewer.save_html(tmp_path / "view.html").read_text(encoding="utf-8")
    start = text.index('id="voxlite-state">') + len('id="voxlite-state">')
    state = json.loads(text[start : text.index("</script>", start)])["state"]
    assert (state["_time_points"], state["playing"], state["time"]) == (1, False, 2)
    assert viewer._time_points == 3 and viewer.playing, "the viewer itself keeps its series"


def test_view_takes_channel_names_rgb_and_timeseries():
    """view()/ViewModel pass how to read the array on to as_image, and name the channels."""
    from voxlite.viewmodel import ViewModel

    cells = np.zeros((3, 4, 5, 6), np.float32)  # 3 channels of 4 x 5 x 6
    model = ViewModel(cells.transpose(1, 2, 3, 0), channel_names=["nuclei", "membranes", "spots"])
    assert model.image.pixel == "channels"
    assert [channel["name"] for channel in model.channels] == ["nuclei", "membranes", "spots"]
    with pytest.raises(ValueError, match="channel_names gives 2 names for 3"):
        ViewModel(cells.transpose(1, 2, 3, 0), channel_names=["a", "b"])
    photo = np.zeros((20, 30, 3), np.uint8)
    assert ViewModel(photo).image.pixel == "rgb"
    assert ViewModel(photo, rgb=False).image.pixel != "rgb"
    series = np.zeros((4, 5, 6, 7), np.float32)
    assert ViewModel(series, timeseries=True)._time_points == 4
