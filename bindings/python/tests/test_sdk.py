"""The Python bindings against a live demo server: sign in, find facilities nearby, hear one live update;
a refused stream says why and stops; a program that cancels its subscription and exits at once exits
cleanly."""

import asyncio
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest

from parkline import ParklineClient, ParklineError, SpotState, UpdateListener

DOWNTOWN = (47.6062, -122.3321)


@pytest.fixture(scope="module")
def server():
    binary = os.environ["PARKLINE_SERVER_BIN"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.mkdtemp(prefix="parkline-py-")
    proc = subprocess.Popen(
        [binary, "demo", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--simulate-every-s", "0.2",
         # Every test signs in; the sign-in limit is tested in the server's own tests.
         "--login-rate-per-minute", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            # Ready, and the demo's accounts are in.
            body = b'{"email":"driver@demo.parkline","password":"parkline-demo"}'
            req = urllib.request.Request(f"{url}/v1/auth/login", body, {"content-type": "application/json"})
            urllib.request.urlopen(req, timeout=1).read()
            break
        except Exception:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the demo server did not start")
            time.sleep(0.1)
    yield url
    proc.kill()
    proc.wait()


def test_sign_in_find_nearby_and_hear_a_live_update(server):
    async def main():
        client = ParklineClient(server, None)
        await client.login("driver@demo.parkline", "parkline-demo")
        near = await client.nearby(*DOWNTOWN, 3000.0)
        assert not near.offline
        assert len(near.facilities) >= 2
        distances = [f.distance_m for f in near.facilities]
        assert distances == sorted(distances) and distances[-1] <= 3000.0

        updates = []
        heard = threading.Event()

        class Listener(UpdateListener):
            def on_update(self, update):
                updates.append(update)
                heard.set()

            def on_connection(self, connected, reason):
                pass

            def on_error(self, code, reason):
                pass

        target = near.facilities[0].id
        availability = await client.availability(target)
        assert availability.counts.capacity == near.facilities[0].capacity
        assert sum(f.counts.capacity for f in availability.floors) == availability.counts.capacity
        subscription = client.subscribe([target], Listener())
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, heard.wait, 20), "a live update arrives"
        subscription.cancel()
        update = updates[0]
        assert update.facility == target
        assert isinstance(update.state, SpotState)
        assert update.free + update.occupied <= near.facilities[0].capacity

    asyncio.run(main())


def test_places_nearby_come_with_occupancy_and_a_price(server):
    async def main():
        client = ParklineClient(server, None)
        places = await client.places_nearby(*DOWNTOWN, 3000.0, 2)
        near = await client.nearby(*DOWNTOWN, 3000.0)
        assert [p.facility.id for p in places] == [f.id for f in near.facilities]
        assert len(places) >= 2
        for place in places:
            f = place.facility
            assert 0 <= f.free <= f.capacity and f.capacity > 0
            # Every demo facility has rates: two hours cost something, in dollars.
            assert place.price_minor is not None and place.price_minor > 0, f.id
            assert place.currency == "USD"

    asyncio.run(main())


def _post_json(url, body, token):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json",
                                                                  "authorization": f"Bearer {token}"})
    return json.loads(urllib.request.urlopen(req, timeout=5).read())


def test_a_partner_signs_in_with_client_credentials_and_grants_an_entry(server):
    async def main():
        # The venue's key, issued by the city's manager (over plain HTTP: the SDK is for partners).
        body = json.dumps({"email": "manager@demo.parkline", "password": "parkline-demo"}).encode()
        req = urllib.request.Request(f"{server}/v1/auth/login", body, {"content-type": "application/json"})
        manager = json.loads(urllib.request.urlopen(req, timeout=5).read())["access_token"]
        key = _post_json(f"{server}/v1/admin/api-keys",
                         {"name": "Arena", "requests_per_minute": 600, "scopes": ["grants"]}, manager)

        client = ParklineClient(server, None)
        with pytest.raises(ParklineError.Failed) as failure:
            await client.partner_sign_in(str(key["id"]), "plk_wrong", None)
        assert failure.value.code == "unauthenticated"
        await client.partner_sign_in(str(key["id"]), key["token"], "grants")
        now = datetime.datetime.now(datetime.timezone.utc)
        grant = await client.grant("ARN 042", "waterfront-lot", None, now.isoformat(),
                                   (now + datetime.timedelta(hours=4)).isoformat())
        assert (grant.plate, grant.facility) == ("ARN042", "waterfront-lot")
        assert [g.id for g in await client.grants()] == [grant.id]
        await client.revoke_grant(grant.id)
        assert await client.grants() == []
        with pytest.raises(ParklineError.Failed) as failure:
            await client.grant("ARN 043", "capitol-hill-station", None, now.isoformat(),
                               (now + datetime.timedelta(hours=1)).isoformat())
        assert failure.value.code == "unknown_facility", "another operator's facility"

    asyncio.run(main())


def test_errors_carry_the_servers_stable_code(server):
    async def main():
        client = ParklineClient(server, None)
        with pytest.raises(ParklineError.Failed) as failure:
            await client.login("driver@demo.parkline", "wrong password")
        assert failure.value.code == "invalid_credentials"
        offline = ParklineClient("http://127.0.0.1:9", None)
        with pytest.raises(ParklineError.Failed) as failure:
            await offline.facilities()
        assert failure.value.code == "offline"

    asyncio.run(main())


def test_a_refused_stream_says_why_and_stops(server):
    """Without a token, with a made-up one, and for a facility that does not exist: the listener hears
    the stable code within 2 s, once, and nothing after it."""
    heard = []
    done = threading.Event()

    class Listener(UpdateListener):
        def on_update(self, update):
            heard.append(("update", update.spot))

        def on_connection(self, connected, reason):
            heard.append(("connection", connected))

        def on_error(self, code, reason):
            heard.append(("error", code))
            done.set()

    for token in (None, "made-up-token"):
        heard.clear()
        done.clear()
        client = ParklineClient(server, None)
        client.set_token(token)
        started = time.monotonic()
        subscription = client.subscribe(["pike-place-garage"], Listener())
        assert done.wait(2), f"told within 2 s: {heard}"
        assert time.monotonic() - started < 2
        time.sleep(0.5)
        assert heard == [("error", "unauthenticated")], heard
        subscription.cancel()

    async def unknown():
        client = ParklineClient(server, None)
        await client.login("driver@demo.parkline", "parkline-demo")
        return client

    heard.clear()
    done.clear()
    client = asyncio.run(unknown())
    subscription = client.subscribe(["no-such-facility"], Listener())
    assert done.wait(2), f"told within 2 s: {heard}"
    time.sleep(0.5)
    assert heard == [("connection", True), ("error", "unknown_facility")], heard
    subscription.cancel()


EXIT_AT_ONCE = """
import asyncio, sys
from parkline import ParklineClient, UpdateListener

KEPT = []

class Listener(UpdateListener):
    def on_update(self, update): pass
    def on_connection(self, connected, reason): pass
    def on_error(self, code, reason): pass

async def main():
    client = ParklineClient(sys.argv[1], None)
    await client.login("driver@demo.parkline", "parkline-demo")
    subscription = client.subscribe(["pike-place-garage", "waterfront-lot"], Listener())
    await asyncio.sleep(float(sys.argv[2]))
    if sys.argv[3] == "cancel":
        subscription.cancel()
    else:
        KEPT.append(subscription)  # live until the interpreter shuts down

asyncio.run(main())
"""


def exit_at_once(server, tmp_path, runs, subscription):
    """Runs EXIT_AT_ONCE `runs` times, the subscription cancelled or kept: each must exit 0 with nothing
    on stderr. The waits go from before the stream is up to while updates (every 0.2 s) flow."""
    script = tmp_path / "exit_at_once.py"
    script.write_text(EXIT_AT_ONCE)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=package)
    for run in range(runs):
        wait = f"{(run % 10) * 0.03:.2f}"
        done = subprocess.run([sys.executable, str(script), server, wait, subscription], env=env,
                              capture_output=True, timeout=60)
        assert (done.returncode, done.stderr) == (0, b""), f"run {run}: {done.returncode} {done.stderr!r}"


def test_a_program_that_cancels_and_exits_at_once_exits_cleanly(server, tmp_path):
    exit_at_once(server, tmp_path, 50, "cancel")


def test_a_program_that_exits_without_cancelling_exits_cleanly(server, tmp_path):
    """The subscription is live when the program ends: it is cancelled at exit."""
    exit_at_once(server, tmp_path, 20, "keep")
