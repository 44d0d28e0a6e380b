"""The Parkline SDK for Python: `ParklineClient`, its records, `ParklineError` and `UpdateListener`.

Generated from the Rust SDK by UniFFI (`bindings/generate`); the native library
`libparkline_ffi.so` (or `.dylib`) sits beside this file.
"""

from .parkline_ffi import *  # noqa: F401,F403
