"""voxlite's test harness, importable by the tests, the benchmarks and the docs' scripts.

Run from the repository's root (pytest does; ``python -m benchmarks.NAME`` and
``python -m docs.pictures`` do too), ``tests.harness`` is importable without any
``sys.path`` edit:

* :mod:`tests.harness.browser`: Debian's Chromium through Playwright, pages that fail
  on any request off 127.0.0.1 or any page error, waits, pixel reads, a drag;
* :mod:`tests.harness.jupyter`: a JupyterLab server on 127.0.0.1 and its kernel's state.
"""
