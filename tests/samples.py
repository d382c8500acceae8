"""Sample files the tests write (shared by several test modules)."""


def write_ome_zarr(path, levels, scale, translation, axes=("z", "y", "x")):
    import zarr

    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    datasets = []
    for index, level in enumerate(levels):
        group.create_array(str(index), data=level, chunks=level.shape)
        factor = 2**index
        datasets.append(
            {
                "path": str(index),
                "coordinateTransformations": [
                    {"type": "scale", "scale": [s * factor for s in scale]},
                    {"type": "translation", "translation": list(translation)},
                ],
            }
        )
    group.attrs["multiscales"] = [
        {
            "version": "0.4",
            "name": "cells",
            "axes": [{"name": n, "type": "space", "unit": "micrometer"} for n in axes],
            "datasets": datasets,
        }
    ]
