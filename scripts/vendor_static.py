"""Vendor third-party browser libraries into static/vendor/ from the npm registry, so that the
app serves them itself (no CDN at run time).

    python scripts/vendor_static.py            # every package below
    python scripts/vendor_static.py echarts    # one of them

For each package, `npm pack NAME@VERSION` downloads the published tarball into a temporary
directory; the script unpacks it and copies the listed files (the minified build and the
licence) into static/vendor/<name>/. Commit the copied files. To upgrade, change the version
here, run the script and commit. Needs `npm` (Node.js) on the PATH.
"""

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor"

# name: (version, {file in the package: file name under static/vendor/<name>/})
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    "echarts": ("6.1.0", {"dist/echarts.min.js": "echarts.min.js", "LICENSE": "LICENSE",
                           "NOTICE": "NOTICE"}),
}


def vendor(name: str) -> list[Path]:
    version, files = PACKAGES[name]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"{name}@{version}", "--silent"],  # noqa: S603, S607 - npm, no shell
                       cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        target = VENDOR / name
        target.mkdir(parents=True, exist_ok=True)
        copied = []
        for source, dest in files.items():
            shutil.copyfile(Path(tmp) / "package" / source, target / dest)
            copied.append(target / dest)
        return copied


def main(argv: list[str]) -> int:
    names = argv or list(PACKAGES)
    if unknown := [name for name in names if name not in PACKAGES]:
        print(f"Unknown packages: {', '.join(unknown)}. Known: {', '.join(PACKAGES)}.")
        return 2
    for name in names:
        for path in vendor(name):
            print(f"{name} {PACKAGES[name][0]}: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
