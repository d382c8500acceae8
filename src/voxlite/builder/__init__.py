"""What ``voxlite site build`` and ``voxlite app build`` share: the two are targets of one build.

A target (:mod:`voxlite.site.build`, :mod:`voxlite.app.build`) is a list of small
named steps over a state of its own; everything else is here, once:

- :mod:`~voxlite.builder.steps`: the targets, their errors and the step runner that
  shows progress and turns a failing step into the target's error;
- :mod:`~voxlite.builder.staging`: the staged output (scratch and staging beside the
  output, one rename into place, a marker file, leftovers of killed builds
  cleaned and an interrupted swap undone by the next build);
- :mod:`~voxlite.builder.process`: child processes that die with the build;
- :mod:`~voxlite.builder.files`: the user's ``--files``, copied without links out of
  their folder, loops or dotfiles, and within a size limit;
- :mod:`~voxlite.builder.wheel`: voxlite's own wheel;
- :mod:`~voxlite.builder.report`: what a build made, and its size;
- :mod:`~voxlite.builder.csp`: every Content-Security-Policy voxlite writes (sites,
  the app, saved pages).

Each module imports only the standard library (and voxlite's version), so that
``Viewer.save_html`` can import :mod:`~voxlite.builder.csp` anywhere, Pyodide included.
"""
