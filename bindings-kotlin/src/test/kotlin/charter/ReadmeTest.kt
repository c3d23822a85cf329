package charter

import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory

/**
 * Runs every Kotlin block of README.md (generated into charter.readme at
 * build time); a block that needs a NATS server gets one of its own.
 */
class ReadmeTest {
    @TestFactory
    fun `every README example runs`(): List<DynamicTest> =
        charter.readme.examples.map { (name, needsNats, body) ->
            DynamicTest.dynamicTest(name) {
                if (needsNats) NatsServer.start().use { body(it.url) } else body("")
            }
        }
}
