"""The site builder's parts: pruning, wheels, requirements, the outside-URL check, bad input."""

import hashlib
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from voxlite.builder import csp
from voxlite.builder.csp import CONTENT_SECURITY_POLICY
from voxlite.site import SiteError, SiteOptions, build_site, find_outside_urls
from voxlite.site import build as site_build
from voxlite.site.build import open_distribution, requirement_in_distribution
from voxlite.site.pyodide import (
    CORE_FILES,
    LOCK,
    Distribution,
    DistributionError,
    Wheel,
    add_wheels,
    copy_without_tests,
    prune,
)

# -- a small fake Pyodide distribution --------------------------------------------


def make_wheel(folder: Path, name: str, requires=(), tags="py3-none-any", tests=False) -> Path:
    path = folder / f"{name}-1.0-{tags}.whl"
    files = {f"{name}/__init__.py": "VALUE = 1\n"}
    if tests:
        files[f"{name}/tests/test_it.py"] = "def test(): pass\n"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    files[f"{name}-1.0.dist-info/METADATA"] = metadata
    record = "".join(f"{n},,\n" for n in files) + f"{name}-1.0.dist-info/RECORD,,\n"
    files[f"{name}-1.0.dist-info/RECORD"] = record
    with zipfile.ZipFile(path, "w") as archive:
        for file_name, text in files.items():
            archive.writestr(file_name, text)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def distribution(tmp_path) -> Distribution:
    root = tmp_path / "pyodide"
    root.mkdir()
    for name in CORE_FILES:
        (root / name).write_text(f"core {name}")
    graph = {"a": ["b"], "b": ["c"], "c": [], "big": ["a"], "absent": []}
    packages = {}
    for name, depends in graph.items():
        wheel = make_wheel(root, name)
        packages[name] = {
            "name": name,
            "version": "1.0",
            "file_name": wheel.name,
            "sha256": digest(wheel),
            "depends": depends,
            "imports": [name],
            "install_dir": "site",
            "package_type": "package",
        }
    (root / packages["absent"]["file_name"]).unlink()
    lock = {"info": {"version": "0.27.7", "python": "3.12.7"}, "packages": packages}
    (root / LOCK).write_text(json.dumps(lock))
    return Distribution.open(root)


def test_closure_follows_dependencies(distribution):
    assert distribution.closure(["a"]) == ["a", "b", "c"]
    assert distribution.closure(["big", "c"]) == ["a", "b", "big", "c"]
    with pytest.raises(DistributionError, match="'scipy' is not in Pyodide 0.27.7"):
        distribution.closure(["scipy"])


def test_prune_copies_only_the_closure_and_prunes_the_lock(distribution, tmp_path):
    target = tmp_path / "pruned"
    assert prune(distribution, ["a"], target) == ["a", "b", "c"]
    lock = json.loads((target / LOCK).read_text())
    assert sorted(lock["packages"]) == ["a", "b", "c"]
    assert not (target / distribution.packages["big"]["file_name"]).exists()
    assert all((target / name).exists() for name in CORE_FILES)


def test_prune_refuses_modified_or_missing_files(distribution, tmp_path):
    (distribution.root / distribution.packages["c"]["file_name"]).write_bytes(b"tampered")
    with pytest.raises(DistributionError, match="does not match the sha256"):
        prune(distribution, ["a"], tmp_path / "x")
    with pytest.raises(DistributionError, match="file is missing"):
        distribution.verify(["absent"])


def test_not_a_distribution(tmp_path):
    with pytest.raises(DistributionError, match="not a Pyodide distribution"):
        Distribution.open(tmp_path)
    (tmp_path / LOCK).write_text("{}")
    with pytest.raises(DistributionError, match="missing pyodide.js"):
        Distribution.open(tmp_path)
    for name in CORE_FILES:
        (tmp_path / name).write_text("x")
    with pytest.raises(DistributionError, match="not a Pyodide lock file"):
        Distribution.open(tmp_path)


def test_release_tarball_and_bad_sources(distribution, tmp_path):
    tarball = tmp_path / "pyodide-0.27.7.tar.bz2"
    with tarfile.open(tarball, "w:bz2") as archive:
        archive.add(distribution.root, arcname="pyodide")
    assert open_distribution(str(tarball), tmp_path / "scratch").version == "0.27.7"
    with pytest.raises(SiteError, match="expected 'offline', 'cdn', a Pyodide folder"):
        open_distribution(str(tmp_path / "nothing-here"), tmp_path)
    with pytest.raises(DistributionError, match="not a Pyodide distribution"):
        open_distribution(str(tmp_path / "scratch"), tmp_path)


def test_wheels_join_the_lock_with_their_dependencies(distribution, tmp_path):
    target = tmp_path / "pruned"
    prune(distribution, ["c"], target)
    folder = tmp_path / "wheels"
    folder.mkdir()
    viewer = Wheel.read(
        make_wheel(
            folder,
            "viewer",
            [
                "c>=1",
                "helper",
                "old; python_version < '3.10'",
                "docs; extra == 'docs'",
            ],
            tests=True,
        )
    )
    helper = Wheel.read(make_wheel(folder, "helper"))
    assert viewer.runtime_dependencies() == ["c", "helper"]
    add_wheels(target, [viewer, helper])
    entry = json.loads((target / LOCK).read_text())["packages"]["viewer"]
    assert entry["depends"] == ["c", "helper"]
    assert entry["imports"] == ["viewer"]
    copied = target / entry["file_name"]
    assert entry["sha256"] == digest(copied)
    names = zipfile.ZipFile(copied).namelist()
    assert "viewer/tests/test_it.py" not in names and "viewer/__init__.py" in names
    record = zipfile.ZipFile(copied).read("viewer-1.0.dist-info/RECORD").decode()
    assert "tests" not in record


def test_wheels_with_unknown_dependencies_or_compiled_code_are_refused(distribution, tmp_path):
    target = tmp_path / "pruned"
    prune(distribution, ["c"], target)
    orphan = Wheel.read(make_wheel(tmp_path, "orphan", ["requests"]))
    with pytest.raises(DistributionError, match="needs 'requests'"):
        add_wheels(target, [orphan])
    compiled = make_wheel(tmp_path, "fast", tags="cp312-cp312-manylinux_2_17_x86_64")
    with pytest.raises(DistributionError, match="compiled wheel .* only pure-Python"):
        Wheel.read(compiled)
    (tmp_path / "broken-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(DistributionError, match="not a readable wheel"):
        Wheel.read(tmp_path / "broken-1.0-py3-none-any.whl")


def test_copy_without_tests_keeps_a_plain_wheel_whole(tmp_path):
    source = make_wheel(tmp_path, "plain")
    copy_without_tests(source, tmp_path / "copy.whl")
    assert zipfile.ZipFile(tmp_path / "copy.whl").namelist() == zipfile.ZipFile(source).namelist()


def test_requirements_resolve_against_the_distribution(distribution):
    assert requirement_in_distribution("b", distribution, set()) == "b"
    assert requirement_in_distribution("B>=1.0", distribution, set()) == "b"
    assert requirement_in_distribution("mine", distribution, {"mine"}) is None
    with pytest.raises(SiteError, match="not a package of Pyodide .* no pure-Python wheel"):
        requirement_in_distribution("opencv-python", distribution, set())
    with pytest.raises(SiteError, match="Pyodide 0.27.7 has b 1.0"):
        requirement_in_distribution("b>=2", distribution, set())
    with pytest.raises(SiteError, match="its file is not in"):
        requirement_in_distribution("absent", distribution, set())
    with pytest.raises(SiteError, match="is not valid"):
        requirement_in_distribution("not a requirement!", distribution, set())


# -- the outside-URL check -----------------------------------------------------------


def test_check_finds_loads_from_other_origins(tmp_path):
    kernel = {
        "pyodideUrl": "https://cdn.jsdelivr.net/pyodide/v0.27.7/full/pyodide.js",
        "pipliteUrls": ["./pypi/all.json", "//cdn.example.org/all.json"],
    }
    config = {
        "jupyter-config-data": {
            "litePluginSettings": {"k": kernel},
            "fullLabextensionsUrl": "./extensions",
        }
    }
    (tmp_path / "jupyter-lite.json").write_text(json.dumps(config))
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "index.html").write_text(
        '<html><head><link rel="stylesheet" href="https://fonts.example.com/x.css">'
        '<script src="./bootstrap.js"></script><script src="http://127.0.0.1:8000/ok.js">'
        '</script><style>@import "https://evil.example.com/a.css";</style></head>'
        '<body><a href="https://jupyter.org">docs</a></body></html>'
    )
    (tmp_path / "style.css").write_text("body { background: url(https://img.example.com/b.png) }")
    found = find_outside_urls(tmp_path)
    assert sorted(url for _, url in found) == [
        "//cdn.example.org/all.json",
        "https://cdn.jsdelivr.net/pyodide/v0.27.7/full/pyodide.js",
        "https://evil.example.com/a.css",
        "https://fonts.example.com/x.css",
        "https://img.example.com/b.png",
    ]  # a clicked link is not a load; loopback is the site itself


def test_check_refuses_a_folder_that_is_not_a_site(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not look like a built site"):
        find_outside_urls(tmp_path)


def test_check_command_exit_codes(tmp_path):
    (tmp_path / "jupyter-lite.json").write_text(json.dumps({"pyodideUrl": "./static/p.js"}))
    command = [sys.executable, "-m", "voxlite", "site", "check", str(tmp_path)]
    clean = subprocess.run(command, capture_output=True, text=True)
    assert clean.returncode == 0 and "every load stays" in clean.stdout
    (tmp_path / "jupyter-lite.json").write_text(json.dumps({"pyodideUrl": "https://x.org/p.js"}))
    dirty = subprocess.run(command, capture_output=True, text=True)
    assert dirty.returncode == 1 and "https://x.org/p.js" in dirty.stdout


# -- bad input to the build: clear errors, nothing written ------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(notebooks=[Path("missing.ipynb")]), "notebook not found: missing.ipynb"),
        (dict(files=[Path("no/such/data.nii.gz")]), "file not found"),
        (dict(wheels=[Path("nope.whl")]), "wheel not found"),
    ],
)
def test_missing_inputs_are_named(tmp_path, options, message):
    with pytest.raises(SiteError, match=message):
        build_site(SiteOptions(output=tmp_path / "out", **options), log=lambda _: None)
    assert not (tmp_path / "out").exists()


def test_output_that_is_not_a_site_is_never_replaced(tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("years of work")
    with pytest.raises(SiteError, match="not a voxlite site"):
        build_site(SiteOptions(output=precious), log=lambda _: None)
    assert (precious / "chapter1.tex").read_text() == "years of work"
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(SiteError, match="is not a folder"):
        build_site(SiteOptions(output=afile), log=lambda _: None)


def test_unwritable_output_is_reported():
    with pytest.raises(SiteError, match="cannot write the output folder"):
        build_site(SiteOptions(output=Path("/proc/voxlite-site")), log=lambda _: None)


def test_a_failed_build_leaves_the_previous_site_untouched(tmp_path, monkeypatch):
    output = tmp_path / "_output"
    output.mkdir()
    (output / site_build.MARKER).write_text("voxlite 0.0.1\n")
    (output / "index.html").write_text("the previous site")

    def broken_build(lite_dir, staging):
        staging.mkdir(parents=True)
        (staging / "index.html").write_text("half written")
        raise SiteError("jupyter lite build failed: simulated")

    monkeypatch.setattr(site_build, "run_jupyterlite", broken_build)
    with pytest.raises(SiteError, match="simulated"):
        build_site(SiteOptions(output=output, pyodide="cdn"), log=lambda _: None)
    assert (output / "index.html").read_text() == "the previous site"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_output"], "no staging left behind"


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ("tensorflow", "tensorflow is not a package of Pyodide .* cannot run in Pyodide"),
        ("opencv-python", "opencv-python is listed by Pyodide but its file is not in"),
    ],
)
def test_requirement_that_cannot_run_offline_is_named(tmp_path, requirement, message):
    options = SiteOptions(output=tmp_path / "out", requirements=[requirement])
    with pytest.raises(SiteError, match=message):
        build_site(options, log=lambda _: None)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cdn_site_builds_and_check_lists_the_cdn(tmp_path):
    output = tmp_path / "cdn-site"
    lines = []
    report = build_site(SiteOptions(output=output, pyodide="cdn"), log=lines.append)
    assert any(line.startswith("[5/9] jupyter lite build") for line in lines)  # progress
    assert (output / site_build.MARKER).exists()
    assert report.total_bytes < 40e6  # no vendored Pyodide
    urls = [url for _, url in find_outside_urls(output)]
    assert any("cdn.jsdelivr.net/pyodide/v0.27.7" in url for url in urls)
    wheels = json.loads(next(output.rglob("pypi/all.json")).read_text())
    assert "voxlite" in wheels and "anywidget" in wheels
    # Its Content-Security-Policy lets the kernel load Pyodide from the CDN.
    assert "connect-src 'self' https://cdn.jsdelivr.net;" in (output / "_headers").read_text()


def test_cli_build_failure_exits_non_zero_with_the_reason(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "voxlite", "site", "build", "-o", str(tmp_path / "out"),
         "--notebooks", str(tmp_path / "missing.ipynb")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert "voxlite: error: notebook not found" in result.stderr
    assert not (tmp_path / "out").exists()


def test_serve_sends_the_mime_types_webassembly_needs(tmp_path):
    import urllib.request

    from voxlite.site import serving

    (tmp_path / "pyodide.asm.wasm").write_bytes(b"\0asm")
    (tmp_path / "pyodide.mjs").write_text("export {}")
    with serving(tmp_path) as url:
        assert url.startswith("http://127.0.0.1:")
        for name, mime in (("pyodide.asm.wasm", "application/wasm"),
                           ("pyodide.mjs", "text/javascript")):  # fmt: skip
            with urllib.request.urlopen(f"{url}/{name}") as response:
                assert response.headers["Content-Type"] == mime


# -- the Content-Security-Policy -----------------------------------------------------


def jupyterlite_pages(target: Path) -> list[str]:
    """JupyterLite's own HTML pages (every app), unpacked from jupyterlite-core into target."""
    import jupyterlite_core

    (app,) = Path(jupyterlite_core.__file__).parent.glob("jupyterlite-app-*.tgz")
    pages = []
    with tarfile.open(app) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.endswith(".html"):
                name = member.name.removeprefix("package/")
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).write_bytes(archive.extractfile(member).read())
                pages.append(name)
    return sorted(pages)


def test_the_policy_allows_only_the_site_and_jupyterlites_own_inline_scripts(tmp_path):
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["worker-src"] == "'self' blob:"  # the widget's stream worker
    assert directives["object-src"] == directives["base-uri"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "http" not in CONTENT_SECURITY_POLICY and "*" not in CONTENT_SECURITY_POLICY
    # The hashes are those of JupyterLite's pages, for every app it has.
    pages = jupyterlite_pages(tmp_path)
    assert {"index.html", "lab/index.html", "notebooks/index.html"} <= set(pages)
    assert set(csp.JUPYTERLITE_INLINE_SCRIPTS) == {
        page for page in pages if csp.inline_scripts((tmp_path / page).read_text())
    }
    assert csp.unlisted_inline_scripts(tmp_path) == []
    # JSON data blocks are not scripts; an edited script is no longer allowed.
    assert csp.inline_scripts('<script type="application/json">{}</script>') == []
    lab = tmp_path / "lab" / "index.html"
    lab.write_text(lab.read_text().replace("await import(", "alert(1); await import("))
    assert csp.unlisted_inline_scripts(tmp_path) == [
        f"lab/index.html: {csp.script_hash(csp.inline_scripts(lab.read_text())[0])}"
    ]


def test_write_csp_protects_every_page_and_writes_headers(tmp_path):
    pages = jupyterlite_pages(tmp_path)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "report.html").write_text("<html><head></head></html>")
    assert csp.write_csp(tmp_path) == CONTENT_SECURITY_POLICY
    headers = (tmp_path / "_headers").read_text().splitlines()
    assert headers[-2:] == ["/*", f"  Content-Security-Policy: {CONTENT_SECURITY_POLICY}"]
    meta = csp.meta_policy(CONTENT_SECURITY_POLICY)
    assert "frame-ancestors" not in meta and meta in CONTENT_SECURITY_POLICY
    tag = f'<meta http-equiv="Content-Security-Policy" content="{meta}">'
    for page in pages:
        text = (tmp_path / page).read_text()
        assert text.count(tag) == 1, page
        assert text.index(tag) < text.index("<script"), f"{page}: the policy comes first"
    assert csp.unlisted_inline_scripts(tmp_path) == [], "the scripts are unchanged"
    lab = (tmp_path / "lab" / "index.html").read_text()
    assert lab.index("<meta charset") < min(lab.index(tag), 1024), "charset stays first"
    assert (tmp_path / "files" / "report.html").read_text() == "<html><head></head></html>"
    # A page with an inline script the policy does not allow stops the build.
    (tmp_path / "lab" / "extra.html").write_text("<html><head><script>go()</script></head>")
    with pytest.raises(ValueError, match=r"lab/extra.html: sha256-.*list their hashes"):
        csp.write_csp(tmp_path)


def test_the_docs_show_the_policy():
    docs = (Path(__file__).parents[1] / "docs" / "site.md").read_text()
    section = docs.split("## Content-Security-Policy\n", 1)[1]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    assert " ".join(block.split()) == CONTENT_SECURITY_POLICY


def test_a_cdn_site_policy_also_names_the_cdn(tmp_path):
    kernel = {"pyodideUrl": "https://cdn.jsdelivr.net/pyodide/v0.27.7/full/pyodide.js"}
    config = {"jupyter-config-data": {"litePluginSettings": {site_build.KERNEL_PLUGIN: kernel}}}
    (tmp_path / "jupyter-lite.json").write_text(json.dumps(config))
    directives = dict(part.split(" ", 1) for part in csp.site_policy(tmp_path).split("; "))
    assert directives["script-src"].endswith(" https://cdn.jsdelivr.net")
    assert directives["connect-src"] == "'self' https://cdn.jsdelivr.net"
    assert directives["default-src"] == "'self'"
    kernel["pyodideUrl"] = "./static/pyodide/pyodide.js"
    (tmp_path / "jupyter-lite.json").write_text(json.dumps(config))
    assert csp.site_policy(tmp_path) == CONTENT_SECURITY_POLICY


def test_serve_sends_the_sites_policy_and_collects_reports(tmp_path):
    import urllib.error
    import urllib.request

    from voxlite.site import serving
    from voxlite.site.serve import REPORT_PATH

    (tmp_path / "index.html").write_text("<html></html>")
    with serving(tmp_path) as url, urllib.request.urlopen(f"{url}/index.html") as response:
        assert response.headers["Content-Security-Policy"] is None, "not a voxlite site"
    (tmp_path / site_build.MARKER).write_text("voxlite\n")
    with serving(tmp_path) as url:
        for name in ("index.html", "missing.js"):
            try:
                response = urllib.request.urlopen(f"{url}/{name}")
            except urllib.error.HTTPError as error:  # the 404 is covered too
                response = error
            assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    reports: list[dict] = []
    with serving(tmp_path, reports=reports) as url:
        with urllib.request.urlopen(url) as response:
            assert response.headers["Content-Security-Policy"] == (
                f"{CONTENT_SECURITY_POLICY}; report-uri {REPORT_PATH}"
            )
        report = {"csp-report": {"effective-directive": "script-src", "blocked-uri": "eval"}}
        request = urllib.request.Request(
            url + REPORT_PATH,
            data=json.dumps(report).encode(),
            headers={"Content-Type": "application/csp-report"},
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 204
    assert reports == [report["csp-report"]]


def test_a_site_that_needs_no_tls_gets_an_empty_ssl(tmp_path):
    """The kernel preloads `ssl` by name; nothing of the site imports it, and its openssl
    costs seconds of WebAssembly compiling at each start: the lock's ssl is an empty one."""
    target = tmp_path / "pyodide"
    target.mkdir()
    packages = {}
    for name, file_name in (("ssl", "ssl-1.0.0-cp312-cp312-pyodide_2024_0_wasm32.whl"),
                            ("openssl", "openssl-1.1.1w.zip")):  # fmt: skip
        (target / file_name).write_bytes(b"compiled")
        packages[name] = {"name": name, "file_name": file_name, "depends": []}
    packages["ssl"]["depends"] = ["openssl"]
    (target / LOCK).write_text(json.dumps({"packages": packages}))
    site_build.without_tls(target)
    lock = json.loads((target / LOCK).read_text())["packages"]
    assert sorted(lock) == ["ssl"] and lock["ssl"]["depends"] == []
    assert sorted(p.name for p in target.iterdir()) == [LOCK, lock["ssl"]["file_name"]]
    assert lock["ssl"]["sha256"] == digest(target / lock["ssl"]["file_name"])
    with zipfile.ZipFile(target / lock["ssl"]["file_name"]) as archive:
        module = archive.read("ssl.py").decode()
    with pytest.raises(ModuleNotFoundError, match="built without TLS"):
        exec(module, {})
