"""``make dist``: one archive that installs the portal on a machine with no network at all.

dist/portal-<version>-py311-<platform>.tar.gz holds, under portal-<version>/:

- wheels/: the portal's wheel and the wheels of every runtime dependency (not the dev extras) for Python 3.11 on
  this machine's platform, each one the version and file of requirements.lock (checked against its hashes), and
  wheels/requirements.txt, the runtime part of the lock (with its hashes) plus the portal's wheel and its hash, which
  install.sh installs with ``pip install --no-index --require-hashes``;
- app.py, migrations/, templates/, translations/ (the compiled .mo files), static/ (the sources and static/dist/ as
  ``make assets`` built them: the manifest checks the sources, and the PDFs' fonts are read from static/vendor/fonts/),
  gunicorn.conf.py, deploy/ (systemd units, nginx site, the commented portal.env) and install.sh;
- MANIFEST (what was built, from which commit) and SHA256SUMS (``sha256sum -c SHA256SUMS``) of every other file.

The runtime subset is worked out by the lock tool (uv, the one ``make lock`` uses) from pyproject.toml without the
dev extra, held to the lock's versions; the lines (and hashes) written are the lock's own.
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess  # nosec B404  # runs uv, pip and git, with argument lists
import sys
import sysconfig
import tarfile
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_TAG = "py311"
# What the archive carries besides the wheels: the files the installed portal reads from PORTAL_HOME.
TREES = ("migrations", "templates", "static", "deploy")
FILES = ("app.py", "gunicorn.conf.py")
SKIP = re.compile(r"(^|/)(__pycache__|\.gitkeep)(/|$)|\.pyc$|^static/\.dist\.")  # and a build under way
# A lock entry: "name==version[ ; marker] \" and its hash lines, up to the next entry.
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(text):
    """{canonical name: (version, the entry's lines without the "# via" comments)} of a uv lock."""
    entries = {}
    matches = list(ENTRY.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        block = text[match.start() : following.start() if following else len(text)]
        lines = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        entries[canonical(match.group(1))] = (match.group(2), "\n".join(lines))
    return entries


def runtime_requirements(uv, lock_path=ROOT / "requirements.lock", pyproject=ROOT / "pyproject.toml"):
    """The lock's entries that the portal needs at run time (its dependencies without the dev extra, on every
    platform the lock covers): each the lock's requirement line, marker and hashes."""
    lock = lock_entries(lock_path.read_text())
    compiled = subprocess.run(  # nosec B603  # uv from .make/lock-tool, fixed arguments
        [
            uv,
            "pip",
            "compile",
            str(pyproject),
            "-c",
            str(lock_path),
            "--universal",
            "--python-version",
            "3.11",
            "--no-header",
            "--no-annotate",
            "--quiet",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    wanted = {canonical(m.group(1)): m.group(2) for m in ENTRY.finditer(compiled)}
    if not wanted:
        sys.exit("The lock tool named no runtime package.")
    entries = []
    for name, version in sorted(wanted.items()):
        if name not in lock or lock[name][0] != version:
            sys.exit(
                f"{name}=={version} is needed at run time but requirements.lock does not hold it: run `make lock`."
            )
        entries.append(lock[name][1])
    return entries


def for_any_311(entries):
    """The entries to download: a marker is evaluated for this platform and Python 3.11 at any patch level (the lock
    has ``python_full_version < '3.11.3'``), and dropped; requirements.txt keeps it, for pip on the target."""
    from packaging.markers import Marker, default_environment

    environments = [{**default_environment(), "python_full_version": f"3.11.{patch}"} for patch in range(20)]
    kept = []
    for entry in entries:
        first, _, rest = entry.partition("\n")
        requirement, _, marker = first.rstrip(" \\").partition(";")
        if not marker:
            kept.append(entry)
        elif any(Marker(marker).evaluate(env) for env in environments):
            kept.append(f"{requirement.strip()} \\\n{rest}")
    return kept


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def pip(*args):
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, cwd=ROOT)  # nosec B603  # this Python's pip


def copy_tree(source, target):
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_file() and not SKIP.search(relative):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / relative)


def commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,  # nosec
            cwd=ROOT,
        ).stdout.strip()  # B603 B607: git from PATH, fixed arguments
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build(uv, out_dir):
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"The archive is for Python 3.11: run `make dist` with a Python 3.11 venv (this is {sys.version}).")
    for needed in (
        "static/dist/manifest.json",
        "static/vendor/fonts",
        "translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
    ):
        if not (ROOT / needed).exists():
            sys.exit(f"{needed} is missing: run `make assets translations` first.")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    name = f"portal-{version}"
    archive = Path(out_dir) / f"{name}-{PYTHON_TAG}-{platform}.tar.gz"

    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=archive.parent) as tmp:  # beside the archive
        stage = Path(tmp) / name
        wheels = stage / "wheels"
        wheels.mkdir(parents=True)
        entries = runtime_requirements(uv)
        download = Path(tmp) / "download.txt"
        download.write_text("\n".join(for_any_311(entries)) + "\n")
        # For Python 3.11 whatever its patch level (a marker such as python_full_version < '3.11.3' keeps its wheel).
        pip(
            "download",
            "--quiet",
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "--python-version",
            "3.11",
            "--dest",
            str(wheels),
            "-r",
            str(download),
        )
        pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(ROOT))
        built = sorted(wheels.glob(f"portal-{version}-*.whl"))
        if len(built) != 1:
            sys.exit(f"Expected one portal wheel, found {built}.")
        (wheels / "requirements.txt").write_text(
            "\n".join(entries) + f"\nportal=={version} \\\n    --hash=sha256:{sha256(built[0])}\n"
        )

        for tree in TREES:
            copy_tree(ROOT / tree, stage)
        copy_tree(ROOT / "translations", stage)  # the .po sources stay beside the .mo: small, and readable
        for file in FILES:
            shutil.copy2(ROOT / file, stage / file)
        shutil.copy2(ROOT / "deploy" / "install.sh", stage / "install.sh")
        (stage / "install.sh").chmod(0o755)

        files = sorted(p for p in stage.rglob("*") if p.is_file())
        (stage / "MANIFEST").write_text(
            f"portal {version}\npython 3.11 ({platform})\ncommit {commit()}\n"
            f"built {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}\n\nwheels:\n"
            + "".join(f"  {p.name}\n" for p in sorted(wheels.glob("*.whl")))
        )
        (stage / "SHA256SUMS").write_text(
            "".join(f"{sha256(p)}  {p.relative_to(stage).as_posix()}\n" for p in files + [stage / "MANIFEST"])
        )

        partial = archive.with_name(archive.name + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(stage, arcname=name)
        os.replace(partial, archive)
    print(archive)
    return archive


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", required=True, help="the lock tool's uv")
    parser.add_argument("--out", default=str(ROOT / "dist"), help="the folder the archive is written to")
    args = parser.parse_args(argv)
    build(args.uv, args.out)


if __name__ == "__main__":
    main()
