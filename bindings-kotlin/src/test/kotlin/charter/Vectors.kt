package charter

import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.boolean
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import java.io.File

/** The shared vectors (the JSON files of vectors/) and small readers for them. */
object Vectors {
    private val dir = File(System.getProperty("charter.vectors") ?: "../vectors")

    fun load(name: String): JsonObject = Json.parseToJsonElement(File(dir, "$name.json").readText()).jsonObject

    val status by lazy { load("status") }
    val topics by lazy { load("topics") }
    val tokens by lazy { load("tokens") }
    val audit by lazy { load("audit") }
    val refusals by lazy { load("rules/refusals") }
    val bridge by lazy { load("bridge/messages") }
}

fun JsonElement.str(key: String): String = jsonObject.getValue(key).jsonPrimitive.content
fun JsonElement.strOrNull(key: String): String? = jsonObject[key]?.takeIf { it !is JsonNull }?.jsonPrimitive?.content
fun JsonElement.long(key: String): Long = jsonObject.getValue(key).jsonPrimitive.long
fun JsonElement.int(key: String): Int = jsonObject.getValue(key).jsonPrimitive.int
fun JsonElement.bool(key: String): Boolean = jsonObject.getValue(key).jsonPrimitive.boolean
fun JsonElement.list(key: String): JsonArray = jsonObject.getValue(key).jsonArray
fun JsonElement.strings(key: String): List<String> = list(key).map { it.jsonPrimitive.content }
fun JsonElement.hex(key: String): ByteArray = str(key).hex()

fun String.hex(): ByteArray = chunked(2).map { it.toInt(16).toByte() }.toByteArray()
fun ByteArray.hex(): String = joinToString("") { "%02x".format(it) }
