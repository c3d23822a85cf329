package charter

/**
 * Where an exception thrown by a handler goes: the object's `onError` hook
 * when set, else the current thread's uncaught-exception handler, the JVM's
 * standard sink. Charter itself never prints. An exception thrown by the
 * hook itself is swallowed: it has nowhere left to go.
 */
internal class ErrorHook(@Volatile var hook: ((Long, Throwable) -> Unit)?) {
    fun report(id: Long, error: Throwable) {
        val h = hook
        if (h != null) {
            try {
                h(id, error)
            } catch (_: Throwable) {
            }
        } else {
            val thread = Thread.currentThread()
            try {
                thread.uncaughtExceptionHandler?.uncaughtException(thread, error)
            } catch (_: Throwable) {
            }
        }
    }

    /** Runs [body]; `false` (a failure for the core) when it threw. */
    inline fun guard(id: Long, body: () -> Unit): Boolean = try {
        body()
        true
    } catch (e: Throwable) {
        report(id, e)
        false
    }
}
