"""OME-Zarr (OME-NGFF 0.4 and 0.5) multiscale images through zarr.

One level is read (the first, finest, by default), or with ``lazy=True`` opened
and left in the store; the coarser levels are opened lazily as the image's
``levels``, for the viewer's multiscale display, and every level's path, shape
and scale is listed in ``metadata["levels"]``. Axes named z, y, x are the
spatial ones; a single channel or time point is squeezed away. Units are kept
as the file states them (``metadata["unit"]``), since microscopy is rarely in mm.

Zarr's codecs (numcodecs) are compiled, and Pyodide's offline set lacks them:
OME-Zarr is read in CPython, not in the zero-server site.

The metadata is not trusted: its structure is checked before use, dataset paths
must stay inside the group, and before reading a level its claimed size is
checked against the memory budget and its number of chunks against
:data:`MAX_CHUNKS` (zarr looks each chunk up, present or not: a lying shape of
10**9 one-voxel chunks would take hours of fill values). A lazy image is shown
from its coarsest level, which the viewer reads whole: that level must be within
the budget, and so must each chunk (zarr decodes a chunk whole to read a voxel).

The store is not trusted either (:class:`BoundedStore`): every file zarr reads
must be a regular file of bounded size, and zarr's codecs (numcodecs) inflate a
chunk whole with no limit, so each chunk is first checked against its array's
chunk size: by the size its codec's header states (Blosc, Zstd, LZ4) or by
inflating it as a stream, counting (zlib, gzip, bzip2, LZMA); a shard's chunks
through its index. Codecs voxlite cannot bound so, and filters that could
inflate, are refused.
"""

from __future__ import annotations

import functools
import io
import math
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.io.errors import ImageIOError
from voxlite.io.limits import check_claim, claimed_bytes, decompressed, length_of, max_bytes
from voxlite.io.units import MM_PER_UNIT

#: At most this many chunks in the level read (4096 chunks of 32**3 voxels = 2**27 voxels).
MAX_CHUNKS = 1 << 17
#: At most this many levels in a multiscale image (real pyramids have a handful).
MAX_LEVELS = 64
#: The most bytes of one metadata document (.zattrs, .zarray, zarr.json ...).
MAX_METADATA_BYTES = 1 << 24
_METADATA = (".zattrs", ".zarray", ".zgroup", ".zmetadata", "zarr.json")
# Filters (v2) and array-to-array codecs (v3) that keep a chunk's size, or at most
# widen its values to 8 bytes; bytes-to-bytes codecs and how each one's output is bounded.
_RESHAPING = {"delta", "fixedscaleoffset", "quantize", "bitround", "astype", "transpose"}
_STREAMED = {"zlib": "zlib", "gzip": "gzip", "bz2": "bzip2", "lzma": "lzma"}
_HEADED = {"blosc", "zstd", "lz4"}


def is_omezarr(path: Path) -> bool:
    return (
        path.is_dir()
        and any((path / name).exists() for name in (".zattrs", "zarr.json", ".zgroup"))
        and path.name.lower().endswith((".zarr", ".ome.zarr"))
    )


def read(path: Path, level: int = 0, lazy: bool = False) -> Image:
    """One level of an OME-Zarr image, with the coarser ones (opened lazily) as its ``levels``.

    ``lazy`` leaves its voxels in the store until used.
    """
    image = _read_level(path, level, lazy)
    count = len(image.metadata["levels"])
    coarser = tuple(_read_level(path, n, lazy=True) for n in range(level + 1, count))
    coarsest = (image, *coarser)[-1]
    claim = claimed_bytes(path, coarsest.shape, np.dtype(coarsest.array.dtype).itemsize)
    if lazy and claim > max_bytes():
        raise ImageIOError(
            path,
            f"its coarsest level claims {claim} bytes of voxels, over the memory budget of "
            f"{max_bytes()} bytes: the viewer reads the coarsest level whole to draw it. "
            "Add coarser levels (a pyramid), or raise the budget: read_image(..., max_bytes=)",
        )
    return image.replace(levels=coarser)


def _read_level(path: Path, level: int, lazy: bool) -> Image:
    """One level of an OME-Zarr image, alone."""
    try:
        import zarr
    except ImportError:
        raise ValueError("reading OME-Zarr needs zarr: pip install zarr") from None
    try:
        store = BoundedStore.on(path)
        group = zarr.open_group(store=store, mode="r")
        attributes = dict(group.attrs)
    except Exception as error:  # zarr raises several kinds for a folder it cannot open
        raise ValueError(f"not a readable Zarr group ({error})") from None
    ome = attributes.get("ome")
    multiscales = (ome if isinstance(ome, dict) else attributes).get("multiscales")
    if not multiscales:
        raise ValueError("not an OME-Zarr image: no 'multiscales' in its attributes")
    scales = multiscales[0] if isinstance(multiscales, list) else None
    if not isinstance(scales, dict):
        raise ValueError("its 'multiscales' is not a list of objects")
    axes_field = scales.get("axes", [])
    if not isinstance(axes_field, list):
        raise ValueError(f"its axes {axes_field!r} are not a list")
    axes = [str(a.get("name")) if isinstance(a, dict) else str(a) for a in axes_field]
    datasets = scales.get("datasets")
    if not isinstance(datasets, list) or not all(isinstance(d, dict) for d in datasets):
        raise ValueError("its 'datasets' is not a list of objects")
    if len(datasets) > MAX_LEVELS:
        raise ValueError(f"{len(datasets)} levels; at most {MAX_LEVELS} are read")
    if not 0 <= level < len(datasets):
        raise ValueError(f"level {level} does not exist: the image has {len(datasets)} levels")
    levels = [_level(group, axes, axes_field, dataset) for dataset in datasets]
    chosen = levels[level]
    stored = _array(group, chosen["path"])
    _check_chunks(path, stored, budget=not lazy)
    if len(axes) != stored.ndim or len(set(axes)) != len(axes):
        raise ValueError(f"axes {axes} do not fit an array of shape {stored.shape}")
    layout = _layout(axes_field, axes, stored.shape)
    if lazy:
        array: Any = Reordered(stored, layout.order, layout.dropped, path)
    else:
        array = Reordered(_read_array(stored), layout.order, layout.dropped, path)[...]
    omero = attributes.get("omero") if isinstance(attributes.get("omero"), dict) else {}
    channels = _omero_channels(omero, layout.channels)
    return Image(
        array,
        spacing=chosen["spacing"],
        origin=chosen["origin"],
        name=str(scales.get("name", "") or path.name),
        pixel="channels" if layout.channels else "scalar",
        timeseries=layout.timeseries,
        channel_names=tuple(c["name"] for c in channels),
        metadata={
            "format": "OME-Zarr",
            "unit": "mm" if chosen["in_mm"] else None,
            "unit_in_file": chosen["unit"],
            "level": level,
            "levels": levels,
            "path": str(path),
            **({"channels": channels} if channels else {}),
        },
    )


@dataclass
class Layout:
    """How a stored array's axes become voxlite's ``[t, z, y, x, c]`` (each optional)."""

    order: list[int]  # the stored axis of each of voxlite's axes
    dropped: list[int]  # stored axes of one value (a single channel or time point)
    timeseries: bool
    channels: int  # 0: no channel axis


def _layout(axes_field: list[Any], axes: list[str], shape: tuple[int, ...]) -> Layout:
    """NGFF's axes (names t, c, z, y, x, or types time, channel, space) in voxlite's order."""
    kinds = [_axis_kind(name, field) for name, field in zip(axes, axes_field, strict=True)]
    spatial = [kinds.index(name) for name in ("z", "y", "x") if name in kinds]
    if len(spatial) < 2:
        raise ValueError(f"axes {axes}: voxlite needs at least y and x")
    time = [i for i, kind in enumerate(kinds) if kind == "time"]
    channel = [i for i, kind in enumerate(kinds) if kind == "channel"]
    others = [i for i in range(len(kinds)) if i not in (*spatial, *time, *channel)]
    for axis in others + time[1:] + channel[1:]:
        if shape[axis] != 1:
            raise ValueError(f"axes {axes}: voxlite shows no {axes[axis]!r} axis of {shape[axis]}")
    dropped = others + time[1:] + channel[1:] + [a for a in time[:1] + channel[:1] if shape[a] == 1]
    timed = [a for a in time[:1] if a not in dropped]
    channelled = [a for a in channel[:1] if a not in dropped]
    if len(spatial) == 2:  # a 2D image: one slice
        raise ValueError(f"axes {axes}: a 2D OME-Zarr image (no z) is not read yet")
    count = shape[channelled[0]] if channelled else 0
    return Layout(timed + spatial + channelled, dropped, bool(timed), count)


def _axis_kind(name: str, field: Any) -> str:
    """ "x", "y", "z", "time", "channel", or the axis' own name for any other."""
    if name in ("x", "y", "z"):
        return name
    kind = field.get("type") if isinstance(field, dict) else None
    return {"t": "time", "c": "channel"}.get(name, kind if kind in ("time", "channel") else name)


def _omero_channels(omero: dict, count: int) -> list[dict[str, Any]]:
    """The names, colours and windows of OME's ``omero`` metadata, one per channel."""
    entries = omero.get("channels") if isinstance(omero.get("channels"), list) else []
    if not count or len(entries) != count:
        return [{"name": f"channel {i}"} for i in range(count)]
    channels = []
    for i, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        channel: dict[str, Any] = {"name": str(entry.get("label") or f"channel {i}")[:200]}
        color = str(entry.get("color", ""))
        if len(color) == 6 and all(c in "0123456789abcdefABCDEF" for c in color):
            channel["color"] = f"#{color.lower()}"
        window = entry.get("window") if isinstance(entry.get("window"), dict) else {}
        try:
            start, end = float(window["start"]), float(window["end"])
            if math.isfinite(start) and math.isfinite(end) and end > start:
                channel["window"], channel["level"] = end - start, (start + end) / 2
        except (KeyError, TypeError, ValueError):
            pass
        if isinstance(entry.get("active"), bool):
            channel["visible"] = entry["active"]
        channels.append(channel)
    return channels


class Reordered:
    """A stored array seen in voxlite's axis order, its one-value axes dropped, still lazy.

    Indexing reads only the chunks the key covers. A chunk that cannot be read
    (corrupt, or refused by :class:`BoundedStore`) is an ImageIOError naming the file,
    as in an eager read.
    """

    def __init__(self, array: Any, order: list[int], dropped: list[int], path: Any = "") -> None:
        self.array, self.order, self.dropped, self.path = array, order, dropped, path
        self.shape = tuple(int(array.shape[axis]) for axis in order)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = _full_key(key if isinstance(key, tuple) else (key,), self.ndim)
        stored: list[Any] = [0] * self.array.ndim
        for axis, part in zip(self.order, key, strict=True):
            stored[axis] = part
        kept = [a for a in range(self.array.ndim) if not isinstance(stored[a], (int, np.integer))]
        try:
            data = np.asarray(self.array[tuple(stored)])
        except MemoryError:
            raise
        except Exception as error:  # codecs and the store each raise their own kinds
            raise ImageIOError(self.path, f"its chunks cannot be decoded ({error})") from None
        position = {axis: i for i, axis in enumerate(self.order)}
        return data.transpose(sorted(range(len(kept)), key=lambda i: position[kept[i]]))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self[...], dtype=dtype)


def _full_key(key: tuple[Any, ...], ndim: int) -> tuple[Any, ...]:
    """A key with one part per axis: an Ellipsis expanded, missing parts whole."""
    if any(part is Ellipsis for part in key):
        at = next(i for i, part in enumerate(key) if part is Ellipsis)
        key = key[:at] + (slice(None),) * (ndim - len(key) + 1) + key[at + 1 :]
    return key + (slice(None),) * (ndim - len(key))


def _array(group: Any, name: Any) -> Any:
    """The array at a dataset path, which must name an array inside the group."""
    import zarr

    parts = PurePosixPath(name).parts if isinstance(name, str) else ()
    if not parts or parts[0] == "/" or ".." in parts:
        raise ValueError(f"dataset path {name!r} is not a path inside the group")
    try:
        array = group[name]
    except KeyError:
        raise ValueError(f"dataset {name!r} is missing") from None
    except Exception as error:  # zarr: bad metadata raises many kinds
        raise ValueError(f"dataset {name!r} cannot be opened ({error})") from None
    if not isinstance(array, zarr.Array):
        raise ValueError(f"dataset {name!r} is not an array")
    group.store.allow(array)
    return array


def _check_chunks(path: Path, array: Any, budget: bool) -> None:
    """Refuse a level with a data type voxlite cannot show, too many chunks or (to be read
    whole, ``budget``) more bytes than the memory budget."""
    dtype = np.dtype(array.dtype)
    if dtype.kind not in "biuf":
        raise ValueError(f"unsupported data type {dtype}")
    if budget:
        check_claim(path, claimed_bytes(path, array.shape, dtype.itemsize))
    # Even lazily: zarr decodes a whole chunk (and may read a whole shard) to read a voxel.
    for what, shape in (("chunks", array.chunks), ("shards", getattr(array, "shards", None))):
        if shape is not None:
            check_claim(
                path, claimed_bytes(path, shape, dtype.itemsize), what=f"each of its {what}"
            )
    chunks = math.prod(
        -(-int(n) // max(int(c), 1)) for n, c in zip(array.shape, array.chunks, strict=False)
    )
    if chunks > MAX_CHUNKS:
        raise ValueError(f"its {chunks} chunks are more than the {MAX_CHUNKS} voxlite reads")


def _read_array(array: Any) -> np.ndarray:
    """All of a zarr array (checked by :func:`_check_chunks` first)."""
    try:
        return np.asarray(array[...])
    except MemoryError:
        raise
    except Exception as error:  # codecs (numcodecs, blosc, zstd) each raise their own kinds
        raise ValueError(f"its chunks cannot be decoded ({error})") from None


def _level(group: Any, axes: list[str], axes_field: list[Any], dataset: dict) -> dict[str, Any]:
    scale = [1.0] * len(axes)
    translation = [0.0] * len(axes)
    transforms = dataset.get("coordinateTransformations", [])
    if not isinstance(transforms, list) or not all(isinstance(t, dict) for t in transforms):
        raise ValueError(f"coordinateTransformations {transforms!r} are not a list of objects")
    for transform in transforms:
        if transform.get("type") == "scale":
            scale = _floats(transform.get("scale"), len(axes), "scale")
        elif transform.get("type") == "translation":
            translation = _floats(transform.get("translation"), len(axes), "translation")

    units = [str(a.get("unit") or "") if isinstance(a, dict) else "" for a in axes_field]
    spatial_units = {units[axes.index(n)].lower() for n in ("x", "y", "z") if n in axes}
    unit = spatial_units.pop() if len(spatial_units) == 1 else ""
    mm = MM_PER_UNIT.get(unit)  # voxlite's spacing is in mm; an unknown unit stays as it is

    def xyz(values: list[float], default: float) -> tuple[float, float, float]:
        picked = [values[axes.index(n)] if n in axes else default for n in ("x", "y", "z")]
        return tuple(v * (mm or 1.0) for v in picked)  # type: ignore[return-value]

    return {
        "path": dataset.get("path"),
        "shape": list(_array(group, dataset.get("path")).shape),
        "spacing": xyz(scale, 1.0 / (mm or 1.0)),
        "origin": xyz(translation, 0.0),
        "unit": unit or None,
        "in_mm": mm is not None,
    }


def _floats(values: Any, count: int, what: str) -> list[float]:
    if not isinstance(values, list) or len(values) != count:
        raise ValueError(f"{what} {values!r} is not {count} numbers")
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{what} {values!r} is not {count} numbers") from None


# -- the store: files of bounded size, chunks that inflate to their size at most --------


@dataclass(frozen=True)
class ChunkRule:
    """What a chunk of one array may hold: decoded, ``limit`` bytes, through ``codecs``.

    ``codecs`` are the array's bytes-to-bytes codecs in decoding order (the outermost
    first); at most one of them compresses. A sharded array's rule is its inner chunks',
    and ``shard`` says how they are laid out: (chunks per shard, index bytes, at "end"
    or "start"); zarr reads a shard's index, then its chunks, or the whole shard.
    """

    limit: int
    codecs: tuple[str, ...]
    shard: tuple[int, int, str] | None = None

    @classmethod
    def of(cls, array: Any) -> ChunkRule:
        """The rule of a zarr array, from its metadata; codecs voxlite cannot bound refused."""
        itemsize = np.dtype(array.dtype).itemsize
        metadata = array.metadata
        if metadata.zarr_format == 2:
            reshaping = [_name(f.get_config()["id"]) for f in metadata.filters or ()]
            compressor = metadata.compressor
            codecs = [compressor.get_config()["id"]] if compressor is not None else []
            return cls._checked(array.chunks, itemsize, reshaping, codecs)
        codecs = list(metadata.codecs)
        if _name(codecs[0].to_dict()["name"]) != "sharding_indexed":
            return cls._checked(array.chunks, itemsize, *_split(codecs))
        sharding = codecs[0]
        if len(codecs) > 1:
            raise ValueError("codecs after sharding_indexed are not read")
        inner = cls._checked(sharding.chunk_shape, itemsize, *_split(list(sharding.codecs)))
        index = [_name(c.to_dict()["name"]) for c in sharding.index_codecs]
        endian = sharding.index_codecs[0].to_dict().get("configuration", {}).get("endian")
        if index not in (["bytes"], ["bytes", "crc32c"]) or endian not in (None, "little"):
            raise ValueError(f"a shard index encoded with {index} is not read")
        count = math.prod(
            -(-int(s) // int(c)) for s, c in zip(array.shards, sharding.chunk_shape, strict=False)
        )
        index_bytes = 16 * count + 4 * (len(index) == 2)
        location = str(getattr(sharding.index_location, "value", sharding.index_location))
        return cls(inner.limit, inner.codecs, (count, index_bytes, location))

    @classmethod
    def _checked(cls, chunks: Any, itemsize: int, reshaping: list, codecs: list) -> ChunkRule:
        reshaping = [_name(n) for n in reshaping]
        codecs = [_name(n) for n in codecs]
        unknown = [n for n in reshaping if n not in _RESHAPING]
        unknown += [n for n in codecs if n not in _KNOWN]  # (a compressor as a filter, too)
        if unknown or len([n for n in codecs if n != "crc32c"]) > 1:
            raise ValueError(
                f"its codecs {[*reshaping, *codecs]}: voxlite reads one of "
                f"{sorted(_STREAMED.keys() | _HEADED)}, with {sorted(_RESHAPING)} filters"
            )
        size = math.prod(int(n) for n in chunks) * itemsize
        # Filters may have stored narrower values (8 bytes, at most, are widened to).
        limit = size if not reshaping else size * max(1, 8 // itemsize)
        return cls(limit, tuple(codecs))

    def stored_limit(self) -> int:
        """The most bytes a chunk (or shard) file may have: incompressible data grows a little."""
        one = 2 * self.limit + 4096
        return one if self.shard is None else self.shard[0] * one + self.shard[1]

    def check(self, key: str, data: bytes, byte_range: Any = None) -> None:
        """Refuse a chunk that decodes to more than ``limit`` bytes, before zarr decodes it.

        Of a shard: the whole shard (each chunk its index lists), its index, or one chunk.
        """
        if self.shard is None:
            if byte_range is not None:
                raise ValueError(f"a part of chunk {key} was asked for")
            return self._check_one(key, data)
        count, index_bytes, location = self.shard
        if byte_range is None:
            index = data[-index_bytes:] if location == "end" else data[:index_bytes]
            entries = np.frombuffer(index[: 16 * count], "<u8").reshape(-1, 2)
            for offset, size in entries.tolist():
                if (offset, size) == (2**64 - 1, 2**64 - 1):  # an empty chunk
                    continue
                if offset + size > len(data):
                    raise ValueError(f"the index of shard {key} points past its end")
                self._check_one(key, data[offset : offset + size])
        elif not _is_index(byte_range, index_bytes, location):
            self._check_one(key, data)

    def _check_one(self, key: str, data: bytes) -> None:
        if len(data) > 2 * self.limit + 4096:
            raise ValueError(f"its chunk {key} has {len(data)} bytes, over {self.limit}")
        for codec in self.codecs:
            if codec == "crc32c":  # a 4-byte checksum at the end, zarr checks it
                data = data[:-4]
                continue
            size = _decoded_size(codec, data, self.limit)
            if size > self.limit:
                raise ValueError(
                    f"its chunk {key} ({codec}, {len(data)} bytes) decodes to more than "
                    f"the {self.limit} bytes of a chunk of its array"
                )
            return
        if len(data) > self.limit:
            raise ValueError(f"its chunk {key} holds {len(data)} bytes, over {self.limit}")


def _split(codecs: list) -> tuple[list[str], list[str]]:
    """A v3 codec list as (array-to-array names, bytes-to-bytes names in decoding order)."""
    names = [_name(codec.to_dict()["name"]) for codec in codecs]
    reshaping = [n for n in names if n in _RESHAPING]
    return reshaping, list(reversed([n for n in names if n not in _RESHAPING and n != "bytes"]))


def _is_index(byte_range: Any, index_bytes: int, location: str) -> bool:
    """Is this request a shard's index: its last bytes (at "end"), or its first (at "start")?"""
    if location == "end":
        return getattr(byte_range, "suffix", None) == index_bytes
    return (getattr(byte_range, "start", None), getattr(byte_range, "end", None)) == (
        0,
        index_bytes,
    )


_KNOWN = set(_STREAMED) | _HEADED | {"crc32c", "shuffle"}


def _name(codec: str) -> str:
    return str(codec).removeprefix("numcodecs.").lower()


def _decoded_size(codec: str, data: bytes, limit: int) -> int:
    """The bytes ``codec`` decodes ``data`` to, or a number past ``limit`` (then refused)."""
    if codec in _STREAMED:
        return length_of(decompressed(io.BytesIO(data), _STREAMED[codec]), limit)
    if codec == "blosc":  # header: version, flags, typesize (4 bytes), nbytes, blocksize, cbytes
        return struct.unpack_from("<I", data, 4)[0] if len(data) >= 16 else limit + 1
    if codec == "lz4":  # numcodecs writes the decoded size first
        return struct.unpack_from("<i", data)[0] if len(data) >= 4 else limit + 1
    if codec == "zstd":
        return _zstd_content_size(data, limit)
    return len(data)  # shuffle: the same bytes, reordered


def _zstd_content_size(data: bytes, limit: int) -> int:
    """The Frame_Content_Size of a Zstandard frame (RFC 8878): numcodecs decodes into it.

    A frame that does not state it would be inflated without a limit: it counts as too big.
    """
    if len(data) < 6 or data[:4] != b"\x28\xb5\x2f\xfd":
        return limit + 1
    descriptor = data[4]
    single_segment = descriptor >> 5 & 1
    field = {0: single_segment, 1: 2, 2: 4, 3: 8}[descriptor >> 6]
    at = 5 + (0 if single_segment else 1) + {0: 0, 1: 1, 2: 2, 3: 4}[descriptor & 3]
    if not field or len(data) < at + field:
        return limit + 1
    size = int.from_bytes(data[at : at + field], "little")
    return size + 256 if field == 2 else size


class BoundedStore:
    """A zarr store over a local folder that hands zarr only what voxlite has checked.

    Every key must be a regular file (no FIFO, no device) of bounded size: metadata
    :data:`MAX_METADATA_BYTES`, a chunk twice its array's chunk size; and a chunk is
    read only for an array voxlite allowed (:meth:`allow`), and only once it passed
    its :class:`ChunkRule`.
    """

    @staticmethod
    def on(folder: Path) -> Any:
        """The store of ``folder`` (a zarr WrapperStore: zarr is imported when first used)."""
        from zarr.storage import LocalStore

        return _store_class()(LocalStore(folder, read_only=True))

    def allow(self, array: Any) -> None:
        """Let zarr read the chunks of ``array``, once checked against its rule."""
        self.rules[array.path.strip("/")] = ChunkRule.of(array)

    def rule_for(self, key: str) -> ChunkRule | None:
        """None for a metadata document; a chunk's array's rule, which must exist."""
        if key.rsplit("/", 1)[-1] in _METADATA:
            return None
        for prefix, rule in self.rules.items():
            if key.startswith(f"{prefix}/" if prefix else ""):
                return rule
        raise ValueError(f"{key} is not a chunk of an array voxlite has checked")

    async def get(self, key: str, prototype: Any = None, byte_range: Any = None) -> Any:
        path = Path(self._store.root) / key
        try:
            info = os.stat(path)
        except OSError:
            return None  # a missing chunk: zarr's fill value
        if stat.S_ISDIR(info.st_mode):
            return None
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{key} is not a regular file (a FIFO or a device?)")
        rule = self.rule_for(key)
        limit = MAX_METADATA_BYTES if rule is None else rule.stored_limit()
        if info.st_size > limit:
            raise ValueError(f"{key} has {info.st_size} bytes, more than the {limit} it may have")
        buffer = await self._store.get(key, prototype, byte_range)
        if buffer is not None and rule is not None:
            rule.check(key, buffer.to_bytes(), byte_range)
        return buffer

    async def get_partial_values(self, prototype: Any, key_ranges: Any) -> list[Any]:
        return [await self.get(key, prototype, byte_range) for key, byte_range in key_ranges]


@functools.cache
def _store_class() -> type:
    from zarr.storage import WrapperStore

    class Store(BoundedStore, WrapperStore):
        def __init__(self, store: Any, rules: dict[str, ChunkRule] | None = None) -> None:
            WrapperStore.__init__(self, store)
            self.rules = {} if rules is None else rules

        def _with_store(self, store: Any) -> Any:
            return type(self)(store, self.rules)

    return Store
