"""The Parkline SDK for Python: `ParklineClient`, its records, `ParklineError` and `UpdateListener`.

Generated from the Rust SDK by UniFFI (`bindings/generate`); the native library
`libparkline_ffi.so` (or `.dylib`) sits beside this file.

A subscription still live when the program exits is cancelled first (`atexit`): its listener is
never called while the interpreter shuts down.
"""

import atexit
import weakref

from .parkline_ffi import *  # noqa: F401,F403
from .parkline_ffi import ParklineClient as _Client

_live = weakref.WeakSet()
_subscribe = _Client.subscribe


def _subscribe_and_remember(self, facility_ids, listener):
    subscription = _subscribe(self, facility_ids, listener)
    _live.add(subscription)
    return subscription


_subscribe_and_remember.__doc__ = _subscribe.__doc__
_Client.subscribe = _subscribe_and_remember


@atexit.register
def _cancel_live_subscriptions():
    for subscription in list(_live):
        subscription.cancel()
