"""Lengths in the units files state them in, as millimetres (voxlite's one unit).

Microscopy files state micrometres (ImageJ's ``unit=``, OME's ``PhysicalSizeXUnit``,
OME-NGFF's axis ``unit``), CT and MR millimetres; voxlite's spacing and origin are
in millimetres everywhere, so that points, meshes, rulers and the readout mean one
thing whatever the file was.

Example
-------
>>> MM_PER_UNIT["micrometer"], MM_PER_UNIT["µm"], MM_PER_UNIT["mm"]
(0.001, 0.001, 1.0)
"""

from __future__ import annotations

__all__ = ["MM_PER_UNIT"]

#: Millimetres per unit, by the names ImageJ, OME and OME-NGFF (UDUNITS) write
#: ("\\u00B5m" is ImageJ's escape).
MM_PER_UNIT: dict[str, float] = {
    **dict.fromkeys(("m", "meter", "metre"), 1e3),
    **dict.fromkeys(("cm", "centimeter", "centimetre"), 10.0),
    **dict.fromkeys(("mm", "millimeter", "millimetre"), 1.0),
    **dict.fromkeys(("um", "µm", "μm", "\\u00b5m", "micron", "microns", "micrometer"), 1e-3),
    **dict.fromkeys(("micrometre",), 1e-3),
    **dict.fromkeys(("nm", "nanometer", "nanometre"), 1e-6),
    **dict.fromkeys(("pm", "picometer"), 1e-9),
    **dict.fromkeys(("å", "angstrom", "ångström"), 1e-7),
    **dict.fromkeys(("in", "inch", "inches"), 25.4),
}
