"""`voxlite site serve` / `app serve` stay local, over real HTTP: local Host names only, no
file out of the folder, no dotfile, no listing, nosniff."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from voxlite.site.serve import make_server, serving


@pytest.fixture
def folder(tmp_path) -> Path:
    secret = tmp_path / "private"
    secret.mkdir()
    (secret / "notes.txt").write_text("private notes")
    site = tmp_path / "site"
    (site / "lab").mkdir(parents=True)
    (site / "lab" / "index.html").write_text("<html>lab</html>")
    (site / "files" / "data").mkdir(parents=True)
    (site / "files" / "data" / "scan.nii").write_bytes(b"\0" * 348)
    (site / "app.js").write_text("export {}")
    (site / ".env").write_text("API_KEY=secret")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[remote]")
    (site / "passwd").symlink_to("/etc/passwd")
    (site / "private").symlink_to(secret)
    (site / "same.nii").symlink_to("files/data/scan.nii")
    return site


def get(url: str, path: str, host: str | None = None, method: str = "GET"):
    """One request to the server at ``url``; ``host``: the Host header to send instead."""
    address = url.removeprefix("http://")
    connection = http.client.HTTPConnection(address, timeout=10)
    headers = {"Host": host} if host is not None else {}
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response.headers, body


def test_only_local_host_names_are_answered(folder):
    """A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding)
    gets nothing."""
    with serving(folder) as url:
        port = url.rsplit(":", 1)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}",
                     f"LOCALHOST:{port}"):  # fmt: skip
            assert get(url, "/app.js", host)[0] == 200, host
        for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{int(port) + 1}",
                     f"localhost.evil.example:{port}", ""):  # fmt: skip
            status, headers, body = get(url, "/app.js", host)
            assert status == 421, host
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
            assert body.decode().startswith(f"voxlite serves this folder at {url}/ only")
            assert b"export" not in body


def test_no_host_header_is_answered(folder):
    with serving(folder) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(b"GET /app.js HTTP/1.0\r\n\r\n")
            reply = connection.makefile("rb").read()
    assert reply.startswith(b"HTTP/1.0 421 ") and b"export" not in reply


def test_no_file_outside_the_folder_is_served(folder):
    with serving(folder) as url:
        assert get(url, "/passwd")[0] == 404  # a link to /etc/passwd
        assert get(url, "/private/notes.txt")[0] == 404  # a linked folder outside
        assert get(url, "/files/../../private/notes.txt")[0] == 404
        assert get(url, "/%2e%2e/private/notes.txt")[0] == 404
        status, _, body = get(url, "/same.nii")  # a link inside the folder is its file
        assert status == 200 and body == b"\0" * 348


def test_no_dotfile_and_no_listing_is_served(folder):
    with serving(folder) as url:
        for path in ("/.env", "/.git/config", "/.git/", "//.env", "/files/%2eenv", "/.env?x=1"):
            status, _, body = get(url, path)
            assert status == 404, path
            assert b"API_KEY" not in body and b"remote" not in body
        for path in ("/", "/files/", "/files/data/", "/files/data"):
            status, _, body = get(url, path)
            assert status == 404, path
            assert b"scan.nii" not in body and b"app.js" not in body, "no listing"
        status, _, body = get(url, "/lab/")
        assert (status, body) == (200, b"<html>lab</html>"), "a folder's index page"
        assert get(url, "/lab")[0] == 301  # to /lab/, as before
        assert get(url, "/files/data/scan.nii")[0] == 200


def test_every_response_says_nosniff(folder):
    with serving(folder) as url:
        port = url.rsplit(":", 1)[1]
        for path, host in (("/app.js", None), ("/missing.js", None), ("/.env", None),
                           ("/app.js", f"evil.example:{port}")):  # fmt: skip
            assert get(url, path, host)[1]["X-Content-Type-Options"] == "nosniff", path
        assert get(url, "/app.js", method="HEAD")[1]["X-Content-Type-Options"] == "nosniff"


@pytest.mark.skipif(sys.platform != "linux", reason="binds 127.0.0.2 (Linux routes 127/8)")
def test_the_cli_serves_on_the_host_given_and_answers_that_name_too(folder):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "voxlite", "site", "serve", str(folder),
               "--port", "0", "--host", "127.0.0.2"]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        match = re.search(r" at (http://127\.0\.0\.2:(\d+))/", first)
        assert match, first
        url, port = match[1], match[2]
        assert get(url, "/app.js", f"127.0.0.2:{port}")[0] == 200
        assert get(url, "/app.js", f"localhost:{port}")[0] == 200
        assert get(url, "/app.js", f"127.0.0.3:{port}")[0] == 421
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_make_server_binds_only_the_host_asked(folder):
    server = make_server(folder)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.server_close()
