"""The transfer-function editor's and the crop box's settings in the view model."""

import numpy as np
import pytest

from voxlite import Image
from voxlite.viewmodel import ViewModel, physical_bounds

CUBE = Image(np.zeros((8, 8, 8), np.int16), spacing=(2.0, 1.0, 1.0), origin=(-10.0, 0.0, 5.0))
POINTS = [[0.0, 0.0], [500.0, 0.4], [1000.0, 1.0]]


def test_points_and_crop_given_at_creation_survive_showing_the_image():
    crop = {"min": [-10.0, 0.0, 5.0], "max": [0.0, 7.0, 12.0]}
    model = ViewModel(CUBE, cmap="ct-bone", opacity_points=POINTS, crop=crop)
    assert model.opacity_points == POINTS and model.crop == crop


def test_a_ct_preset_brings_its_curve_and_a_colormap_keeps_the_points():
    model = ViewModel(CUBE, opacity_points=POINTS)
    model.cmap = "viridis"  # colours only
    assert model.opacity_points == POINTS
    model.cmap = "ct-soft-tissue"  # a window and an opacity curve of its own
    assert model.opacity_points == []
    assert (model.window, model.level) == (500.0, 60.0)


def test_a_saved_state_restores_points_after_its_preset():
    model = ViewModel(CUBE, cmap="ct-bone", opacity_points=POINTS)
    again = ViewModel(CUBE, state=model.state)
    assert again.cmap == "ct-bone" and again.opacity_points == POINTS


def test_a_new_image_resets_points_and_crop():
    model = ViewModel(CUBE, opacity_points=POINTS, crop={"min": [-10, 0, 5], "max": [0, 3, 9]})
    model.set_image(np.ones((4, 4, 4), np.uint8))
    assert model.opacity_points == [] and model.crop == {}


def test_a_crop_box_that_leaves_nothing_is_refused_naming_the_image_extent():
    model = ViewModel(CUBE)
    assert physical_bounds(CUBE) == ([-10.0, 0.0, 5.0], [4.0, 7.0, 12.0])
    extent = r"leaves nothing of the image.*-10\.\.4, 0\.\.7, 5\.\.12 mm"
    with pytest.raises(ValueError, match=extent):
        model.crop = {"min": [5, 0, 5], "max": [9, 7, 12]}
    assert model.crop == {}, "a refused box changes nothing"
    model.crop = {"min": [3, -100, -100], "max": [100, 100, 100]}  # a sliver is kept
    assert model.crop["min"][0] == 3.0


@pytest.mark.parametrize(
    ("crop", "message"),
    [
        ({"min": [0, 0, 0]}, "crop is"),
        ({"min": [0, 0], "max": [1, 1]}, "3 finite numbers"),
        ({"min": [0, 0, float("nan")], "max": [1, 1, 1]}, "3 finite numbers"),
        ({"min": [0, 0, 0], "max": [1, 1, 0]}, "max must exceed its min"),
        ({"min": ["a", 0, 0], "max": [1, 1, 1]}, "3 finite numbers"),
    ],
)
def test_bad_crop_boxes_say_what_a_box_is(crop, message):
    with pytest.raises(ValueError, match=message):
        ViewModel(CUBE).crop = crop


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([[0, 0.5, 1]], r"\[value, opacity\]"),
        ([[0, -0.1]], "opacity must be 0..1"),
        ([[float("inf"), 0.1]], "must be finite"),
        ([["x", 0.1]], "must be a number"),
        ([[i, 0.5] for i in range(65)], "at most 64"),
    ],
)
def test_bad_opacity_points_say_what_a_point_is(points, message):
    with pytest.raises(ValueError, match=message):
        ViewModel(CUBE).opacity_points = points


def test_gradient_opacity_is_a_fraction():
    model = ViewModel(CUBE, gradient_opacity=0.5)
    assert model.state["gradient_opacity"] == 0.5
    with pytest.raises(ValueError, match="gradient_opacity must be between 0 and 1"):
        model.gradient_opacity = 1.5
