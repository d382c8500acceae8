"""The build machinery both targets share (voxlite.builder): what --files publishes, and
builds that are killed, for real, in a process of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import fake_site
from voxlite.app import AppOptions
from voxlite.app import build as app_build
from voxlite.builder.files import MAX_FILES_BYTES, parse_size
from voxlite.builder.steps import BuildError, Step, Target, run_steps
from voxlite.cli import main as cli
from voxlite.site import SiteError, SiteOptions, build_site
from voxlite.site import build as site_build

# The repository: child processes import tests.fake_site from it.
ROOT = Path(__file__).parents[1]
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads process states in /proc")


@pytest.fixture
def fast_site(monkeypatch):
    """build_site with the slow parts replaced (tests/fake_site.py)."""
    fake_site.install(monkeypatch)
    return lambda output, log=lambda line: None, **options: build_site(
        SiteOptions(output=output, pyodide="cdn", demo=False, **options), log=log
    )


def published(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def data(tmp_path) -> Path:
    """A data folder as found on a disk: scans, and what must never be published."""
    secret = tmp_path / "home" / ".ssh"
    secret.mkdir(parents=True)
    (secret / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    folder = tmp_path / "home" / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "scan.nii").write_bytes(b"\0" * 348)
    (folder / "sub" / "b.nii").write_bytes(b"\1" * 348)
    (folder / ".env").write_text("API_KEY=secret")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[remote]")
    (folder / "again").symlink_to(".")  # loops: a folder-filling build before
    (folder / "parent").symlink_to("..")
    (folder / "id_rsa").symlink_to(secret / "id_rsa")  # a link out of the folder
    (folder / "b_link.nii").symlink_to("sub/b.nii")  # a link inside it: published
    (folder / "gone.nii").symlink_to("missing.nii")
    os.mkfifo(folder / "pipe")  # reading it would block the build
    return folder


LEFT_OUT = [
    "data/.env (a dotfile)",
    "data/.git (a dotfile)",
    "data/again (a link to a folder copied already)",
    "data/gone.nii (a broken link)",
    "data/id_rsa (a link out of the folder)",
    "data/parent (a link out of the folder)",
    "data/pipe (not a regular file)",
]


# -- --files publishes only what was meant ------------------------------------------


def test_site_files_follow_no_link_out_and_no_loop_and_skip_dotfiles(fast_site, data, tmp_path):
    lines: list[str] = []
    started = time.monotonic()
    fast_site(tmp_path / "site", log=lines.append, files=[data])
    assert time.monotonic() - started < 30, "no loop"
    assert published(tmp_path / "site" / "files") == [
        "data/b_link.nii",
        "data/scan.nii",
        "data/sub/b.nii",
    ]
    assert (tmp_path / "site" / "files" / "data" / "b_link.nii").read_bytes() == b"\1" * 348
    note = next(line for line in lines if "--files: left out" in line)
    assert note.split("\n")[1:] == [f"        {line}" for line in LEFT_OUT]


def test_app_files_follow_no_link_out_and_no_loop_and_skip_dotfiles(data, tmp_path):
    """What the app publishes in data/, and what its files.json say (for the page)."""
    target = tmp_path / "app-data"
    selection = app_build.write_data(target, AppOptions(files=[data], demo=False))
    assert selection.skipped == LEFT_OUT
    assert published(target) == [
        "data/b_link.nii",
        "data/files.json",
        "data/scan.nii",
        "data/sub/b.nii",
        "data/sub/files.json",
        "files.json",
    ]
    # Names relative to the folder of each files.json, '/' between folders; no URL, no '..'.
    assert json.loads((target / "data" / "files.json").read_text()) == [
        "b_link.nii",
        "scan.nii",
        "sub/b.nii",
    ]
    assert json.loads((target / "data" / "sub" / "files.json").read_text()) == ["b.nii"]


def test_files_json_entries_stay_inside_their_folder(tmp_path):
    """Entries are relative URLs: a file name cannot make the page fetch another origin."""
    from urllib.parse import unquote, urljoin

    folder = tmp_path / "series"
    (folder / "sub dir").mkdir(parents=True)
    names = ["https:evil.example", "a#b.dcm", "c?d.dcm", "100%.dcm", "sub dir/IM 1.dcm"]
    for name in names:
        (folder / name).write_bytes(b"DICM")
    target = tmp_path / "app-data"
    app_build.write_data(target, AppOptions(files=[folder], demo=False))
    entries = json.loads((target / "series" / "files.json").read_text())
    assert entries == ["100%25.dcm", "a%23b.dcm", "c%3Fd.dcm", "https%3Aevil.example",
                       "sub%20dir/IM%201.dcm"]  # fmt: skip
    base = "http://127.0.0.1:8000/data/series/"
    for entry in entries:
        assert urljoin(base, entry).startswith(base) and not set(entry) & set(":?#"), entry
    assert sorted(unquote(entry) for entry in entries) == sorted(names)


def test_files_over_the_size_limit_stop_the_build_before_copying(fast_site, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "volume.raw", "wb") as stream:  # sparse: 1.5 GiB claimed, none written
        stream.truncate(MAX_FILES_BYTES + (MAX_FILES_BYTES >> 1))
    (big / "small.nii").write_bytes(b"\0" * 2048)
    output = tmp_path / "site"
    started = time.monotonic()
    with pytest.raises(SiteError, match=r"more than the limit of 1.0G .*--max-files-size 2.0G"):
        fast_site(output, files=[big])
    assert time.monotonic() - started < 30, "refused before copying"
    assert not output.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big"], "no staging left behind"
    with pytest.raises(SiteError, match="more than the limit of 1024B"):
        fast_site(output, files=[big / "small.nii"], max_files_bytes=1024)
    fast_site(output, files=[big / "small.nii"], max_files_bytes=4096)
    assert published(output / "files") == ["small.nii"]


def test_the_cli_takes_a_size_limit(monkeypatch, tmp_path, capsys):
    fake_site.install(monkeypatch)
    (tmp_path / "scan.nii").write_bytes(b"\0" * 4096)
    build = ["site", "build", "-o", str(tmp_path / "out"), "--pyodide", "cdn", "--no-demo",
             "--files", str(tmp_path / "scan.nii")]  # fmt: skip
    assert cli([*build, "--max-files-size", "2K"]) == 1
    assert "more than the limit of 2048B" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert cli([*build, "--max-files-size", "1M"]) == 0
    assert (tmp_path / "out" / "files" / "scan.nii").stat().st_size == 4096
    assert parse_size("1.5G") == 3 << 29
    with pytest.raises(SystemExit):
        cli([*build, "--max-files-size", "lots"])
    assert "is not a size" in capsys.readouterr().err


# -- the step runner ------------------------------------------------------------------


def test_steps_show_progress_and_name_the_step_that_failed():
    target = Target("demo", ".demo", SiteError)
    lines: list[str] = []

    def fail(state):
        raise OSError("disk full")

    steps = [Step("one", lambda s: None), Step("skipped", fail, applies=lambda s: False),
             Step("three", fail)]  # fmt: skip
    with pytest.raises(SiteError, match="step 'three' failed: disk full"):
        run_steps(target, steps, None, lines.append)
    assert [line.split(" …")[0] for line in lines if "…" in line] == ["[1/3] one", "[3/3] three"]
    shared = [Step("wheel", lambda s: (_ for _ in ()).throw(BuildError("no wheel")))]
    with pytest.raises(SiteError, match="^no wheel$"):  # a shared helper's error, as the site's
        run_steps(target, shared, None, lines.append)


# -- killed builds --------------------------------------------------------------------


def start_build(tmp_path, output, *hold) -> subprocess.Popen:
    """The CLI building a (fake) site in a process of its own; TMPDIR is its own too."""
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    (tmp_path / "tmp").mkdir(exist_ok=True)
    command = [sys.executable, "-m", "tests.fake_site", *hold, "--", "site", "build"]
    command += ["-o", str(output), "--pyodide", "cdn", "--no-demo"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(path: Path, build: subprocess.Popen, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        if build.poll() is not None:
            raise AssertionError(f"the build ended first: {build.stdout.read().decode()}")
        time.sleep(0.1)
    raise AssertionError(f"{path} never came")


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, killed but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_dead(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def holders(output: Path) -> list[Path]:
    return sorted(output.parent.glob(f".{output.name}-building-*"))


@linux_only
def test_a_build_killed_with_sigkill_takes_its_child_along_and_the_next_build_cleans_up(
    fast_site, tmp_path
):
    output = tmp_path / "site"
    build = start_build(tmp_path, output, "--hold", "lite", "--signal", str(tmp_path / "child"))
    child = int(wait_for(tmp_path / "child", build))  # `jupyter lite build` runs
    assert alive(child)
    build.kill()  # SIGKILL: nothing runs in the build any more
    build.wait()
    assert wait_dead(child), "the child died with its build"
    assert len(holders(output)) == 1, "what the next build must clean"
    assert list((tmp_path / "tmp").iterdir()) == [], "no scratch folder in the temp directory"

    lines: list[str] = []
    fast_site(output, log=lines.append)
    assert holders(output) == [] and (output / site_build.MARKER).exists()
    assert any("left by an interrupted build" in line for line in lines)


@linux_only
def test_a_build_stopped_with_sigterm_cleans_up_at_once(fast_site, tmp_path):
    output = tmp_path / "site"
    fast_site(output)
    (output / "index.html").write_text("the previous site")
    build = start_build(tmp_path, output, "--hold", "lite", "--signal", str(tmp_path / "child"))
    child = int(wait_for(tmp_path / "child", build))
    build.send_signal(signal.SIGTERM)
    assert build.wait(timeout=30) == 128 + signal.SIGTERM
    assert wait_dead(child)
    assert holders(output) == [], "the build removed its staging on its way out"
    assert (output / "index.html").read_text() == "the previous site"
    assert list((tmp_path / "tmp").iterdir()) == []


@linux_only
def test_a_kill_between_the_renames_of_the_swap_is_undone_by_the_next_build(
    fast_site, tmp_path, monkeypatch
):
    output = tmp_path / "site"
    fast_site(output)
    (output / "index.html").write_text("the previous site")
    build = start_build(tmp_path, output, "--hold", "swap", "--signal", str(tmp_path / "swap"))
    wait_for(tmp_path / "swap", build)
    build.kill()
    build.wait()
    assert not output.exists(), "killed with the old site moved aside, the new one not in place"
    (holder,) = holders(output)
    assert (holder / "previous" / "index.html").read_text() == "the previous site"

    def broken(lite_dir, staging):
        raise SiteError("jupyter lite build failed: simulated")

    monkeypatch.setattr(site_build, "run_jupyterlite", broken)
    lines: list[str] = []
    with pytest.raises(SiteError, match="simulated"):
        fast_site(output, log=lines.append)
    assert "restored the previous site from an interrupted build" in lines
    assert (output / "index.html").read_text() == "the previous site"
    assert holders(output) == []


def test_a_running_builds_staging_is_left_alone(fast_site, tmp_path):
    """Two builds of one output: the second one does not delete the first one's work."""
    output = tmp_path / "site"
    from voxlite.builder.staging import staged_output

    with staged_output(site_build.SITE, output) as first:
        first.staging.mkdir()
        fast_site(output)
        assert first.holder.exists() and (output / site_build.MARKER).exists()
    assert holders(output) == []


@linux_only
def test_a_child_process_dies_with_an_interrupted_build(tmp_path):
    """Ctrl-C (or any error) in the build while a child runs: the child is killed."""
    script = f"""
import os, signal, time, threading
from voxlite.builder.process import run_python_module

def interrupt():  # Ctrl-C, once the child runs
    while not os.path.exists({str(tmp_path / "pid")!r}):
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=interrupt, daemon=True).start()
try:
    run_python_module("tests.fake_site", ["--sleep", {str(tmp_path / "pid")!r}])
except KeyboardInterrupt:
    print("interrupted")
"""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "interrupted", result.stderr
    assert not alive(int((tmp_path / "pid").read_text()))
