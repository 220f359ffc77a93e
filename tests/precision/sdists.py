#!/usr/bin/env python3
"""Fetch pinned sdists from a package index and unpack them, for tests/precision/run.sh.

    python3 tests/precision/sdists.py SCRATCH NAME==VERSION...

For each pin it looks the file up in the index's simple API (PEP 691 JSON, or the PEP 503
HTML page), downloads the sdist (.tar.gz, .tgz, .tar.bz2, .tar.xz or .zip) into
SCRATCH/sdists, checks its sha256 against the index and unpacks it into
SCRATCH/src/NAME-VERSION, dropping the archive's single top folder so that the project's
pyproject.toml or setup.py sits at the top. Nothing from a package is built, installed,
imported or run: unlike `pip download --no-binary :all:`, which runs the build backend to
prepare metadata, this only reads the index and the archives.

Prints one tab-separated line per unpacked package on stdout: pin, folder, number of *.py
files, their lines (newline bytes, as `wc -l`). Pins without an sdist, or that fail, are
reported on stderr and left out. The index is PIP_INDEX_URL when set, else PyPI.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import html.parser
import json
import os
import re
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
SDIST_EXTS = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
TIMEOUT = 120


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def get(url: str, accept: str | None = None) -> tuple[bytes, str]:
    headers = {"User-Agent": "asyncsense-precision"}
    if accept:
        headers["Accept"] = accept
    last: Exception | None = None
    for attempt in range(4):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT) as r:
                return r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise
            last = e
        except OSError as e:
            last = e
        time.sleep(2 * (attempt + 1))
    assert last is not None
    raise last


class Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag != "a":
            return
        href = dict(attrs).get("href")
        if not href:
            return
        url, _, fragment = href.partition("#")
        hashes = {}
        if "=" in fragment:
            algo, _, value = fragment.partition("=")
            hashes[algo] = value
        filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
        self.files.append({"filename": filename, "url": url, "hashes": hashes})


def index_files(name: str) -> list[dict]:
    page = f"{INDEX}/{normalize(name)}/"
    body, ctype = get(page, "application/vnd.pypi.simple.v1+json, text/html;q=0.1")
    if "json" in ctype:
        files = json.loads(body)["files"]
    else:
        parser = Links()
        parser.feed(body.decode("utf-8", "replace"))
        files = parser.files
    for f in files:
        f["url"] = urllib.parse.urljoin(page, f["url"])
    return files


def canonical_version(version: str) -> str:
    """PEP 440 normal form when a parser is at hand (`2.0RC1` and `2.0rc1` are one version)."""
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:
        try:
            from pip._vendor.packaging.version import InvalidVersion, Version
        except ImportError:
            return version.lower()
    try:
        return str(Version(version))
    except InvalidVersion:
        return version.lower()


def find_sdist(name: str, version: str) -> dict | None:
    want = canonical_version(version)
    for f in index_files(name):
        filename = f["filename"]
        ext = next((e for e in SDIST_EXTS if filename.lower().endswith(e)), None)
        if ext is None:
            continue
        stem = filename[: -len(ext)]
        fname, _, fversion = stem.rpartition("-")
        if normalize(fname) == normalize(name) and (fversion == version or canonical_version(fversion) == want):
            return f
    return None


def safe_members_tar(tf: tarfile.TarFile, dest: Path):
    root = dest.resolve()
    for m in tf.getmembers():
        if not (m.isfile() or m.isdir()):
            continue  # no links, devices or fifos
        target = (dest / m.name).resolve()
        if root != target and root not in target.parents:
            continue
        # owner can always read and write, and enter folders; nothing setuid or world-writable
        m.mode = ((m.mode | (0o700 if m.isdir() else 0o600)) & 0o755)
        yield m


def unpack(archive: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            root = tmp.resolve()
            for info in zf.infolist():
                target = (tmp / info.filename).resolve()
                if root != target and root not in target.parents:
                    continue
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    continue  # symbolic link
                zf.extract(info, tmp)
    else:
        with tarfile.open(archive) as tf:
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tf.extractall(tmp, members=safe_members_tar(tf, tmp), **extra)
    entries = list(tmp.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        shutil.rmtree(dest, ignore_errors=True)
        entries[0].rename(dest)
        tmp.rmdir()
    else:
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)


def count_py(folder: Path) -> tuple[int, int]:
    files = lines = 0
    for dirpath, _dirnames, filenames in os.walk(folder):
        for fn in filenames:
            if fn.endswith(".py"):
                path = os.path.join(dirpath, fn)
                if os.path.islink(path):
                    continue
                files += 1
                with open(path, "rb") as fh:
                    lines += fh.read().count(b"\n")
    return files, lines


def fetch(pin: str, scratch: Path) -> tuple[str, Path] | None:
    name, sep, version = pin.partition("==")
    if not sep or not name or not version:
        print(f"skip {pin}: not NAME==VERSION", file=sys.stderr)
        return None
    dest = scratch / "src" / f"{normalize(name)}-{version}"
    if dest.is_dir():
        return pin, dest
    try:
        f = find_sdist(name, version)
    except Exception as e:  # noqa: BLE001 - report and go on with the other pins
        print(f"skip {pin}: index look-up failed: {e}", file=sys.stderr)
        return None
    if f is None:
        print(f"skip {pin}: no sdist of this version on the index", file=sys.stderr)
        return None
    archive = scratch / "sdists" / f["filename"]
    expected = (f.get("hashes") or {}).get("sha256")
    if not expected:
        print(f"skip {pin}: the index gives no sha256 for {f['filename']}", file=sys.stderr)
        return None
    try:
        if not archive.is_file() or hashlib.sha256(archive.read_bytes()).hexdigest() != expected:
            data, _ = get(f["url"])
            digest = hashlib.sha256(data).hexdigest()
            if digest != expected:
                print(f"skip {pin}: sha256 {digest} != index {expected}", file=sys.stderr)
                return None
            part = archive.with_name(archive.name + ".part")
            part.write_bytes(data)
            part.rename(archive)
        unpack(archive, dest)
    except Exception as e:  # noqa: BLE001
        print(f"skip {pin}: {type(e).__name__}: {e}", file=sys.stderr)
        return None
    return pin, dest


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    scratch = Path(sys.argv[1]).resolve()
    (scratch / "sdists").mkdir(parents=True, exist_ok=True)
    (scratch / "src").mkdir(parents=True, exist_ok=True)
    pins = sys.argv[2:]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda p: fetch(p, scratch), pins))
    for result in results:
        if result is None:
            continue
        pin, dest = result
        files, lines = count_py(dest)
        print(f"{pin}\t{dest}\t{files}\t{lines}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
