// The Kotlin bindings against a live demo server (its URL is the first argument): sign in, find
// facilities nearby, hear one live update, and see the server's error code on a failure.
// Run by bindings/test with kotlinc and the JVM (JNA loads libparkline_ffi.so).

import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import uniffi.parkline_ffi.ParklineClient
import uniffi.parkline_ffi.ParklineException
import uniffi.parkline_ffi.SpotUpdate
import uniffi.parkline_ffi.UpdateListener

fun check(ok: Boolean, what: String) {
    if (!ok) throw AssertionError(what)
}

fun main(args: Array<String>) = runBlocking {
    val client = ParklineClient(args[0], null)
    client.login("driver@demo.parkline", "parkline-demo")

    val near = client.nearby(47.6062, -122.3321, 3000.0)
    check(!near.offline, "online")
    check(near.facilities.size >= 2, "facilities nearby: ${near.facilities.size}")
    val distances = near.facilities.map { it.distanceM ?: Double.MAX_VALUE }
    check(distances == distances.sorted(), "nearest first: $distances")

    val places = client.placesNearby(47.6062, -122.3321, 3000.0, 2u)
    check(places.map { it.facility.id } == near.facilities.map { it.id }, "the same places, nearest first")
    for (place in places) {
        check(place.facility.free <= place.facility.capacity, "occupancy of ${place.facility.id}")
        check((place.priceMinor ?: 0L) > 0L && place.currency == "USD", "a price for ${place.facility.id}: ${place.priceMinor}")
    }

    val heard = CountDownLatch(1)
    var first: SpotUpdate? = null
    val target = near.facilities[0].id
    val availability = client.availability(target)
    check(availability.counts.capacity == near.facilities[0].capacity, "capacity agrees")
    check(availability.floors.sumOf { it.counts.capacity.toInt() } == availability.counts.capacity.toInt(), "floors add up")
    val subscription = client.subscribe(listOf(target), object : UpdateListener {
        override fun onUpdate(update: SpotUpdate) {
            if (first == null) first = update
            heard.countDown()
        }
        override fun onConnection(connected: Boolean, reason: String?) {}
        override fun onError(code: String, reason: String) {}
    })
    check(heard.await(20, TimeUnit.SECONDS), "a live update arrives")
    subscription.cancel()
    check(first!!.facility == target, "the update is for $target: ${first!!.facility}")

    try {
        client.login("driver@demo.parkline", "wrong password")
        throw AssertionError("a wrong password is refused")
    } catch (e: ParklineException.Failed) {
        check(e.code == "invalid_credentials", "stable code: ${e.code}")
    }
    println("kotlin: signed in, ${near.facilities.size} facilities nearby (${places.size} priced), live update ${first!!.spot} ${first!!.state}")
}
