package charter

import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory

/** Runs every Kotlin block of README.md (generated into charter.readme at build time). */
class ReadmeTest {
    @TestFactory
    fun `every README example runs`(): List<DynamicTest> =
        charter.readme.examples.map { (name, body) -> DynamicTest.dynamicTest(name) { body() } }
}
