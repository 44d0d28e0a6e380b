// Subscribes, waits a moment (the second argument, in seconds), cancels and exits at once: bindings/test
// runs it 50 times and wants exit status 0 and nothing on stderr each time.

import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import uniffi.parkline_ffi.ParklineClient
import uniffi.parkline_ffi.SpotUpdate
import uniffi.parkline_ffi.UpdateListener

object ExitAtOnce {
    @JvmStatic
    fun main(args: Array<String>) = runBlocking {
        val client = ParklineClient(args[0], null)
        client.login("driver@demo.parkline", "parkline-demo")
        val subscription = client.subscribe(listOf("pike-place-garage", "waterfront-lot"), object : UpdateListener {
            override fun onUpdate(update: SpotUpdate) {}
            override fun onConnection(connected: Boolean, reason: String?) {}
            override fun onError(code: String, reason: String) {}
        })
        delay((args[1].toDouble() * 1000).toLong())
        subscription.cancel()
    }
}
