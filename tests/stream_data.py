"""OME-Zarr test images for the streaming tests, written by a real writer (ngff-zarr),
in every codec and zarr format the front end streams, and a ranged test server."""

from __future__ import annotations

import pathlib

import numpy as np

#: [z, y, x] of level 0, and the side of a chunk.
SHAPE = (32, 48, 64)
CHUNK = 16
SPACING = {"z": 2.0, "y": 0.5, "x": 0.75}  # mm
TRANSLATION = {"z": 10.0, "y": -4.0, "x": 3.0}


def volume() -> np.ndarray:
    """A bright ball with fine stripes on a gradient: coarse levels lose the stripes."""
    z, y, x = np.mgrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    ball = (z - 16) ** 2 / 4 + (y - 24) ** 2 + (x - 32) ** 2 < 18**2
    stripes = (x % 4 < 2) * 800
    return (200 + 20 * z + ball * (1500 + stripes)).astype(np.uint16)


def compressor(codec: str, version: str):
    """The codec for ngff-zarr: numcodecs' for zarr v2 (NGFF 0.4), zarr's for v3 (0.5)."""
    if version == "0.4":
        import numcodecs

        return {
            "blosc": numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE),
            "zstd": numcodecs.Zstd(level=3),
            "gzip": numcodecs.GZip(level=5),
        }[codec]
    from zarr import codecs

    return {
        "blosc": codecs.BloscCodec(cname="lz4", clevel=3, shuffle="shuffle"),
        "zstd": codecs.ZstdCodec(level=3),
        "gzip": codecs.GzipCodec(level=5),
    }[codec]


def write(
    folder: pathlib.Path,
    name: str,
    codec: str = "blosc",
    version: str = "0.4",
    shards: int | None = None,
    array: np.ndarray | None = None,
) -> pathlib.Path:
    """An OME-Zarr of :func:`volume` (3 levels, chunks of CHUNK³) written by ngff-zarr."""
    import ngff_zarr

    image = ngff_zarr.to_ngff_image(
        volume() if array is None else array,
        dims=["z", "y", "x"],
        scale=SPACING,
        translation=TRANSLATION,
        axes_units=dict.fromkeys("zyx", "millimeter"),
        name=name,
    )
    multiscales = ngff_zarr.to_multiscales(image, scale_factors=[2, 4], chunks=CHUNK)
    path = folder / f"{name}.ome.zarr"
    options = {"compressor" if version == "0.4" else "compressors": compressor(codec, version)}
    if version == "0.5":
        options["compressors"] = [options["compressors"]]
    ngff_zarr.to_ngff_zarr(path, multiscales, version=version, chunks_per_shard=shards, **options)
    return path


def write_with_zarr(folder: pathlib.Path, name: str, codec: str) -> pathlib.Path:
    """One level in a codec ngff-zarr does not write for zarr v2 (LZ4, zlib; BZ2, which
    no browser codec reads), written by zarr itself, with OME-NGFF 0.4 attributes."""
    import numcodecs
    import zarr

    compressor = {"lz4": numcodecs.LZ4(), "zlib": numcodecs.Zlib(5), "bz2": numcodecs.BZ2(5)}
    path = folder / f"{name}.ome.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=2)
    group.create_array("0", data=volume(), chunks=(CHUNK,) * 3, compressors=compressor[codec])
    axes = [{"name": n, "type": "space", "unit": "millimeter"} for n in "zyx"]
    scale = [{"type": "scale", "scale": [SPACING[n] for n in "zyx"]}]
    datasets = [{"path": "0", "coordinateTransformations": scale}]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": datasets}]
    return path


def write_channels(folder: pathlib.Path, name: str, windows: list[tuple[float, float]]):
    """One level of two channels (``c, z, y, x``: :func:`volume` and its negative) with
    OME ``omero`` metadata naming them and setting their windows, as OME writers do."""
    import numcodecs
    import zarr

    stack = np.stack([volume(), (volume().max() - volume()).astype(np.uint16)])
    path = folder / f"{name}.ome.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=2)
    group.create_array(
        "0", data=stack, chunks=(1, CHUNK, CHUNK, CHUNK), compressors=numcodecs.Zstd(level=3)
    )
    axes = [{"name": "c", "type": "channel"}]
    axes += [{"name": n, "type": "space", "unit": "millimeter"} for n in "zyx"]
    scale = [{"type": "scale", "scale": [1.0, *(SPACING[n] for n in "zyx")]}]
    datasets = [{"path": "0", "coordinateTransformations": scale}]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": datasets}]
    channels = [
        {"label": label, "color": color, "window": {"start": a, "end": b, "min": 0, "max": 4095}}
        for label, color, (a, b) in zip(("DAPI", "GFP"), ("0000FF", "00FF00"), windows, strict=True)
    ]
    group.attrs["omero"] = {"version": "0.4", "channels": channels}
    return path
