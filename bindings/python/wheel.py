"""Writes the `parkline` wheel (PEP 427): the package, `libparkline_ffi.so` beside it, typing marker.

    python3 bindings/python/wheel.py LIBRARY VERSION OUT_DIR

The library is loaded with ctypes, so one wheel serves every Python 3 (`py3-none`); its platform tag is
the manylinux one its glibc symbols allow (`manylinux_2_X_x86_64`, X the newest `GLIBC_2.X` it needs),
which `auditwheel show` confirms in bindings/test. Prints the wheel's path.
"""

import base64
import hashlib
import pathlib
import re
import subprocess
import sys
import zipfile


def glibc_tag(library: pathlib.Path) -> str:
    symbols = subprocess.run(["objdump", "-T", str(library)], capture_output=True, text=True, check=True)
    needed = [tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_(\d+\.\d+)", symbols.stdout)]
    major, minor = max(needed, default=(2, 17))
    return f"manylinux_{major}_{minor}_x86_64"


def main(library: str, version: str, out: str) -> None:
    library = pathlib.Path(library)
    package = pathlib.Path(__file__).parent / "parkline"
    tag = f"py3-none-{glibc_tag(library)}"
    dist_info = f"parkline-{version}.dist-info"
    files = {f"parkline/{p.name}": p.read_bytes() for p in sorted(package.glob("*.py"))}
    files["parkline/py.typed"] = b""
    files["parkline/libparkline_ffi.so"] = library.read_bytes()
    files[f"{dist_info}/METADATA"] = (
        "Metadata-Version: 2.1\n"
        "Name: parkline\n"
        f"Version: {version}\n"
        "Summary: Parkline smart-parking SDK (Rust core through UniFFI)\n"
        "License: Apache-2.0\n"
        "Requires-Python: >=3.9\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: parkline bindings/python/wheel.py\nRoot-Is-Purelib: false\nTag: {tag}\n"
    ).encode()
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()

    path = pathlib.Path(out) / f"parkline-{version}-{tag}.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    print(path)


if __name__ == "__main__":
    main(*sys.argv[1:])
