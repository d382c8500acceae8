"""Streamed OME-Zarr in Python: which inputs are streams, the _stream trait, the geometry
the front end reports (checked, then the image's), and the saved page's policy."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import voxlite
from voxlite import stream
from voxlite.viewmodel import ViewModel

URL = "https://data.example.org/brain.ome.zarr"


def reported(model: ViewModel, **changes) -> dict:
    """What a front end reports after reading the stream ``model`` opened."""
    info = {
        "url": model._stream["url"],
        "serial": model._stream["serial"],
        "name": "brain",
        "shape": [40, 50, 60],
        "spacing": [0.5, 0.5, 2.0],
        "origin": [1.0, 2.0, 3.0],
        "direction": list(np.eye(3).ravel()),
        "unit": "mm",
        "unit_in_file": "micrometer",
        "dtype": "uint16",
        "range": [0, 4000],
        "default_window": [3000, 1500],
        "levels": [
            {
                "path": "0",
                "shape": [40, 50, 60],
                "chunks": [16, 16, 16],
                "spacing": [0.5, 0.5, 2.0],
                "origin": [1.0, 2.0, 3.0],
            },
        ],
    }
    return {**info, **changes}


def test_urls_are_streams_local_paths_are_read_unless_in_pyodide(monkeypatch):
    assert stream.is_stream(URL) and stream.is_stream("http://127.0.0.1:8000/x.ome.zarr")
    assert not stream.is_stream("scan.ome.zarr") and not stream.is_stream(np.zeros(3))
    monkeypatch.setattr(sys, "platform", "emscripten")
    assert stream.is_stream("data/scan.ome.zarr/")


def test_a_path_in_the_sites_drive_streams_from_its_files_url(monkeypatch):
    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.setattr(stream.os.path, "abspath", lambda p: f"/drive/notebooks/{p}")
    source = stream.stream_source("data/scan.ome.zarr/", serial=3)
    assert (source["url"], source["base"]) == ("notebooks/data/scan.ome.zarr", "files")
    assert source["mm_per_unit"]["micrometer"] == 1e-3


def test_view_of_a_url_opens_a_stream_and_takes_the_geometry_the_page_read():
    model = ViewModel(URL, cmap="grayscale")
    assert model._stream["url"] == URL and model.image is None and model._image == {}
    assert model._orientation["axial"]["axis"] == 2  # the 2D views can start at once
    model._stream_info = reported(model)
    image = model.image
    assert image.shape == (40, 50, 60) and image.spacing == (0.5, 0.5, 2.0)
    assert image.origin == (1.0, 2.0, 3.0) and image.metadata["url"] == URL
    assert model.slices == [30, 25, 20] and model.cursor == [16.0, 14.5, 43.0]
    assert (model.window, model.level) == (3000, 1500)
    assert model.stream_info["levels"][0]["chunks"] == [16, 16, 16]
    with pytest.raises(ValueError, match="stay in the browser"):
        image.array[0]
    model.slices = [59, 49, 39]  # slices and points live on that grid
    with pytest.raises(Exception, match="outside 0..59"):
        model.slices = [60, 0, 0]


def test_a_window_chosen_stays_and_a_stale_or_broken_report_changes_nothing():
    model = ViewModel(URL, window=100, level=50)
    model._stream_info = reported(model)
    assert (model.window, model.level) == (100, 50)
    other = ViewModel(URL)
    other._stream_info = reported(other, serial=other._stream["serial"] + 1)
    assert other.image is None
    other._stream_info = reported(other, shape=[0, 1, 2])
    assert other.image is None and "shape" in other.sent[-1]["message"]
    other._stream_info = {"url": URL, "serial": other._stream["serial"], "error": "404"}
    assert other.image is None and other.stream_info["error"] == "404"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"spacing": [1, 0, 1]}, "spacing"),
        ({"origin": [1, "x", 1]}, "origin"),
        ({"dtype": "complex64"}, "data type"),
        ({"levels": [{"shape": [1, 2]}]}, "level's shape"),
        ({"shape": [1, 2, True]}, "shape"),
        ({"levels": [{"shape": [4, 4, 4], "chunks": None}]}, "level's chunks"),
        ({"levels": [{"shape": [4, 4, 4], "chunks": [4, 0, 4]}]}, "level's chunks"),
    ],
)
def test_a_report_is_checked(change, message):
    model = ViewModel(URL)
    with pytest.raises(ValueError, match=message):
        stream.check_info(reported(model, **change))


def test_an_image_after_a_stream_ends_it_and_a_new_budget_reopens_it():
    model = ViewModel(URL)
    first = model._stream["serial"]
    model.max_voxels = 128**3
    assert model._stream["serial"] == first + 1 and model._stream["max_voxels"] == 128**3
    model.set_image(np.zeros((4, 4, 4), np.uint8))
    assert model._stream == {} and model.image.shape == (4, 4, 4)
    with pytest.raises(Exception, match="cache_mb"):
        model.cache_mb = 4
    model.cache_mb = 1024
    with pytest.raises(ValueError, match="label_image"):
        model.set_image(URL, np.zeros((4, 4, 4), np.uint8))


def test_a_saved_page_of_a_stream_may_fetch_from_its_origin_only(tmp_path):
    viewer = voxlite.view(URL)
    text = viewer.save_html(tmp_path / "view.html").read_text()
    policy = text.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0]
    assert "connect-src https://data.example.org" in policy and "worker-src blob:" in policy
    plain = voxlite.view(np.zeros((4, 4, 4), np.uint8)).save_html(tmp_path / "p.html")
    assert "connect-src" not in plain.read_text()


def test_a_stream_takes_nothing_of_the_image_before_it():
    """Values, millimetres and time points of the image shown before mean nothing here."""
    model = ViewModel(np.zeros((5, 8, 8, 8), np.float32), timeseries=True, time=3)
    model.opacity_points = [[0, 0], [1, 1]]
    model.crop = {"min": [0, 0, 0], "max": [4, 4, 4]}
    model.set_image(URL)
    assert (model.opacity_points, model.crop, model.time, model._time_points) == ([], {}, 0, 1)
