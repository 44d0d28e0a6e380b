"""The admin console in its real window (WebKitGTK under Xvfb), driven over WebDriver against a live demo
server: sign in as the city's manager and see only the city's facilities, watch a sensor reading change the
live numbers and the floor map, edit a rate plan and see the quote preview change (and the server price
by it once saved), read the revenue of stays paid at a lane, see the demand forecast, acknowledge an alert
with a note, add a staff member limited to one facility; then sign in as the other operator's manager
and see only its facilities, and as an admin switch between operators. Run by desktop-admin/e2e/run, which starts everything."""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, NoSuchFrameException, StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

SERVER = os.environ["PARKLINE_E2E_SERVER"]
LOT = "waterfront-lot"
SHOTS = os.environ["PARKLINE_SCREENSHOTS"]


def api(method, path, body=None, token=None):
    req = urllib.request.Request(SERVER + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
        return json.loads(text) if text else None


def login(email):
    return api("POST", "/v1/auth/login", {"email": email, "password": "parkline-demo"})["access_token"]


def report(sensors, spots, occupied):
    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    readings = [{"facility": LOT, "spot": s, "occupied": occupied, "confidence": 0.97, "kind": "ultrasonic",
                 "observed_at": now} for s in spots]
    api("POST", "/v1/sensors/events", {"readings": readings}, sensors)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    manager = login("manager@demo.parkline")
    admin = login("admin@demo.parkline")
    sensors = api("POST", "/v1/admin/devices", {"name": "e2e sensors", "kind": "sensor_gateway", "facility": LOT}, manager)["token"]
    # A lane kiosk at each facility with stays (one of them another operator's, so issued by an admin).
    kiosks = {facility: api("POST", "/v1/admin/devices", {"name": f"e2e lane {facility}", "kind": "kiosk", "facility": facility}, admin)["token"]
              for facility in [LOT, "pike-place-garage", "capitol-hill-station"]}
    spots = [s["code"] for s in api("GET", f"/v1/facilities/{LOT}/layout")["spots"]]

    # Two weeks of stays paid at the lanes, so there is revenue to chart: passages replayed by a lane
    # that decided them offline are recorded when they happened (the real path for a lane's backlog).
    stays = 0
    for days_ago in range(13, -1, -1):
        for n, (facility, lane) in enumerate([(LOT, "waterfront"), ("pike-place-garage", "pike"), ("capitol-hill-station", "capitol")]):
            if (days_ago + n) % 3 == 2:
                continue
            hours = 1 + (days_ago * 7 + n * 3) % 6
            exit_at = datetime.now(timezone.utc) - timedelta(days=days_ago, minutes=5 + n)
            entry_at = exit_at - timedelta(hours=hours, minutes=10 * n)
            plate = f"E2E{days_ago:02d}{n}"
            stamp = lambda t: t.isoformat().replace("+00:00", "Z")
            kiosk = kiosks[facility]
            api("POST", f"/v1/gates/{lane}-in-1/events", {"event_id": f"in-{plate}", "plate": {"text": plate, "confidence": 0.95},
                                                        "offline": {"at": stamp(entry_at), "ticket": f"L{plate}"}}, kiosk)
            q = api("GET", f"/v1/facilities/{facility}/quote?vehicle_class=sedan&from={stamp(entry_at)}&to={stamp(exit_at)}")
            d = api("POST", f"/v1/gates/{lane}-out-1/events", {"event_id": f"out-{plate}", "plate": {"text": plate, "confidence": 0.95},
                                                             "paid_at_gate": q["total"]["minor"], "offline": {"at": stamp(exit_at)}}, kiosk)
            check(d["command"] == "open", d)
            stays += 1
    print(f"{stays} paid stays over two weeks")

    options = ArgOptions()
    options.set_capability("browserName", "wry")
    options.set_capability("tauri:options", {"application": os.environ["PARKLINE_E2E_APP"], "args": ["--server", SERVER]})
    driver = webdriver.Remote(command_executor=os.environ["PARKLINE_E2E_WEBDRIVER"], options=options)
    # Lists are redrawn as data arrives: an element found a moment ago may be gone; look again.
    wait = WebDriverWait(driver, 20, ignored_exceptions=[NoSuchElementException, StaleElementReferenceException])
    css = lambda sel: driver.find_element(By.CSS_SELECTOR, sel)
    shot = lambda name: driver.save_screenshot(os.path.join(SHOTS, f"admin-{name}.png")) or print(f"admin screenshot: {SHOTS}/admin-{name}.png")
    try:
        # Sign in.
        wait.until(EC.visibility_of_element_located((By.ID, "signin-form")))
        css("#email").send_keys("manager@demo.parkline")
        css("#password").send_keys("wrong password")
        css("#signin-button").click()
        wait.until(lambda d: css("#signin-error").text != "")
        check("password" in css("#signin-error").text.lower(), f"a wrong password is explained: {css('#signin-error').text!r}")
        css("#password").clear()
        css("#password").send_keys("parkline-demo")
        css("#signin-button").click()
        free = f'.card[data-facility="{LOT}"] [data-count="free"]'
        wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, free)))
        shown = lambda: sorted(c.get_attribute("data-facility") for c in driver.find_elements(By.CSS_SELECTOR, ".card"))
        city = ["pike-place-garage", "pioneer-square-deck", LOT]
        check(shown() == city, f"the city's manager sees the city's three facilities of five, saw {shown()}")
        check("manager@demo.parkline · seattle-city" in css("#who").text, css("#who").text)
        before = int(css(free).text)

        # A sensor reading changes the live numbers, without reloading anything.
        time.sleep(1)  # the stream is subscribed
        report(sensors, spots[:3], True)
        wait.until(lambda d: int(css(free).text) == before - 3)
        wait.until(lambda d: sum(int(x.text.split()[0]) for x in driver.find_elements(By.CSS_SELECTOR, f'.card[data-facility="{LOT}"] .floors td.num')) == before - 3)
        shot("overview")

        # The floor map shows those spots occupied, and follows the next reading live.
        css('nav button[data-view="map"]').click()
        Select(css("#map-facility")).select_by_value(LOT)
        spot = lambda code: f'#map svg [data-spot="{code}"]'
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, spot(spots[0]))))
        wait.until(lambda d: "occupied" in css(spot(spots[0])).get_attribute("class"))
        report(sensors, spots[3:4], True)
        wait.until(lambda d: "occupied" in css(spot(spots[3])).get_attribute("class"))
        check("4 occupied" in css("#legend").text or "3 occupied" in css("#legend").text, css("#legend").text)
        shot("floor-map")

        # Edit the rate plan: the preview follows the draft; saving makes the server price by it.
        css('nav button[data-view="rates"]').click()
        Select(css("#rates-facility")).select_by_value(LOT)
        wait.until(lambda d: "costs" in css("#pv-sentence").text)
        sentence = css("#pv-sentence").text
        check(sentence.startswith("A sedan from 08:00 to 19:30 on"), sentence)
        check(sentence.endswith("costs 36.00 USD."), sentence)
        driver.execute_script(
            "const t = document.querySelector('#rates-text');"
            "t.value = t.value.replace('daily_max = 3600', 'daily_max = 2500');"
            "t.dispatchEvent(new Event('input'));")
        wait.until(lambda d: css("#pv-sentence").text.endswith("costs 25.00 USD."))
        css("#rates-save").click()
        wait.until(lambda d: css("#rates-saved").text.startswith("Saved"))
        check(api("GET", f"/v1/facilities/{LOT}/rates")["daily_max"] == 2500, "the server has the new plan")

        # Revenue: today's lane payments, charted.
        css('nav button[data-view="revenue"]').click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#rev-chart svg")))
        wait.until(lambda d: LOT in css("#rev-rows tbody").text)
        check("lane" in css("#rev-methods").text, css("#rev-methods").text)
        check(LOT in css("#rev-chart").get_attribute("innerHTML"), "the chart names the lot's series")
        css('[data-export-chart="revenue"][data-format="csv"]').click()
        saved = "#view-revenue .saved"
        wait.until(lambda d: css(saved).text.startswith("Saved"))
        check(os.path.exists(css(saved).text.removeprefix("Saved ")), css(saved).text)
        shot("revenue")

        # Demand: four weeks of (simulated) history, the heat map and tomorrow's forecast.
        css('nav button[data-view="demand"]').click()
        Select(css("#dm-facility")).select_by_value("pike-place-garage")
        wait.until(lambda d: "Busiest in the next 24 hours" in css("#dm-peak").text)
        check("Utilisation by weekday and hour" in css("#dm-heat").get_attribute("innerHTML"), "the heat map is drawn")
        css('[data-export-chart="utilisation"][data-format="png"]').click()
        saved = "#view-demand .saved"
        wait.until(lambda d: css(saved).text.startswith("Saved"))
        check(open(css(saved).text.removeprefix("Saved "), "rb").read()[1:4] == b"PNG", "a PNG file")
        shot("demand")

        # A plate's stays with their timelines, a refund with a reason; the audit chain verifies.
        css('nav button[data-view="sessions"]').click()
        css("#ss-value").send_keys("e2e 000")
        css("#ss-find").click()
        wait.until(lambda d: "Ticket LE2E000" in css("#ss-results").text)
        kinds = [r.get_attribute("data-kind") for r in driver.find_elements(By.CSS_SELECTOR, "#ss-results .timeline tr")]
        check(kinds == ["entered", "charge", "payment", "left"], kinds)
        # Refund part of it, with a reason.
        amount = css("#ss-results .refund-amount")
        amount.clear()
        amount.send_keys("1.00")
        css("#ss-results .refund-reason").send_keys("Barrier arm touched the car")
        css("#ss-results .refund-button").click()
        wait.until(lambda d: "Refunded 1.00 USD" in css("#ss-results .refund").text)
        css("#ss-results .receipt-button").click()
        wait.until(lambda d: "by lane" in css("#ss-results .refund").text)
        css('nav button[data-view="audit"]').click()
        css("#au-verify").click()
        wait.until(lambda d: css("#au-result").text.startswith("Intact"))

        # Setup: issue a kiosk token (shown once) and revoke it; the server refuses it afterwards.
        css('nav button[data-view="setup"]').click()
        wait.until(lambda d: "acme-0001" in css("#pm-text").get_attribute("value"))
        css("#dv-name").send_keys("Lane 9 camera")
        Select(css("#dv-facility")).select_by_value(LOT)
        css("#dv-form button").click()
        wait.until(lambda d: "pld_" in css("#dv-token").text)
        token = css("#dv-token").text.split(": ")[-1]
        api("POST", "/v1/gates/waterfront-in-1/events", {"event_id": "lane9-1", "plate": {"text": "LN9 001", "confidence": 0.9}}, token)
        wait.until(lambda d: "Lane 9 camera" in css("#dv-rows").text)
        row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#dv-rows tbody tr") if "Lane 9 camera" in r.text][0]
        row.find_element(By.TAG_NAME, "button").click()
        wait.until(lambda d: css("#setup-done").text == "Revoked Lane 9 camera.")
        try:
            api("POST", "/v1/gates/waterfront-in-1/events", {"event_id": "lane9-2", "plate": {"text": "LN9 002", "confidence": 0.9}}, token)
            check(False, "a revoked token was accepted")
        except urllib.error.HTTPError as e:
            check(e.code == 401, e)

        # Fill the lot: a capacity alert, acknowledged with a note.
        report(sensors, spots, True)
        css('nav button[data-view="alerts"]').click()
        item = f'#alerts li[data-alert^="capacity_high:{LOT}:"]'
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, item)))
        css(item + " .note").send_keys("Overflow signs out on Alaskan Way")
        css(item + " .ack-button").click()
        wait.until(lambda d: "acknowledged" in css(item).get_attribute("class"))
        check("Acknowledged by manager@demo.parkline" in css(item).text, css(item).text)
        css('[data-export-chart="alerts"][data-format="csv"]').click()
        saved = "#view-alerts .saved"
        wait.until(lambda d: css(saved).text.startswith("Saved"))
        check("Overflow signs out on Alaskan Way" in open(css(saved).text.removeprefix("Saved ")).read(), "the note is exported")
        alerts = api("GET", "/v1/admin/alerts", token=manager)
        acked = [a for a in alerts if a["id"].startswith(f"capacity_high:{LOT}:")]
        check(acked and acked[0]["acknowledged"]["note"] == "Overflow signs out on Alaskan Way", acked)
        shot("alerts")
        # Staff: an attendant for the lot only, then every facility of the city.
        css('nav button[data-view="setup"]').click()
        css("#us-email").send_keys("lot.attendant@example.com")
        css("#us-password").send_keys("a long passphrase")
        Select(css("#us-role")).select_by_value("attendant")
        Select(css("#us-facilities")).select_by_value(LOT)
        css("#us-form button").click()
        row = '#us-rows tr[data-user="lot.attendant@example.com"]'
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, row)))
        check("Waterfront" in css(row).text, css(row).text)
        staff = [u for u in api("GET", "/v1/admin/users", token=manager) if u["email"] == "lot.attendant@example.com"]
        check(staff and staff[0]["facilities"] == [LOT] and staff[0]["operator"] == "seattle-city", staff)
        shot("setup")

        # Signing out reloads the page: look again until the sign-in form is back.
        reloading = WebDriverWait(driver, 20, ignored_exceptions=[NoSuchElementException, StaleElementReferenceException,
                                                                  NoSuchFrameException, WebDriverException])

        def sign_in_as(email):
            css("#signout").click()
            reloading.until(lambda d: css("#signin-form").is_displayed() and css("#email").is_enabled())
            css("#email").clear()
            css("#email").send_keys(email)
            css("#password").clear()
            css("#password").send_keys("parkline-demo")
            css("#signin-button").click()

        # The other operator's manager sees only its own two.
        sign_in_as("manager2@demo.parkline")
        northline = ["capitol-hill-station", "south-lake-union-hub"]
        reloading.until(lambda d: shown() == northline)
        check("northline" in css("#who").text, css("#who").text)
        shot("overview-northline")

        # An admin sees every operator's, and picks one.
        sign_in_as("admin@demo.parkline")
        reloading.until(lambda d: len(shown()) == 5)
        wait.until(lambda d: css("#operator").is_displayed())
        Select(css("#operator")).select_by_value("northline")
        wait.until(lambda d: shown() == northline)
        Select(css("#operator")).select_by_value("seattle-city")
        wait.until(lambda d: shown() == city)
    except Exception:
        driver.save_screenshot(os.path.join(SHOTS, "admin-failure.png"))
        print(f"failure screenshot: {SHOTS}/admin-failure.png", file=sys.stderr)
        raise
    finally:
        driver.quit()
    print("admin console end-to-end: passed")


if __name__ == "__main__":
    main()
