/* shim_topic.c: the topic wrappers; see shim.h. */

#include "shim_result.h"

chgo_status chgo_topic_validate(const char *topic, size_t topic_len) {
    char buf[CHGO_INLINE_STRING];
    return chgo_status_of(charter_topic_validate(chgo_terminated(topic, topic_len, buf)));
}

chgo_status chgo_pattern_validate(const char *pattern, size_t pattern_len) {
    char buf[CHGO_INLINE_STRING];
    return chgo_status_of(charter_pattern_validate(chgo_terminated(pattern, pattern_len, buf)));
}

chgo_value chgo_topic_matches(const char *pattern, size_t pattern_len, const char *topic, size_t topic_len) {
    char pattern_buf[CHGO_INLINE_STRING], topic_buf[CHGO_INLINE_STRING];
    bool matches = false;
    charter_status_t status = charter_topic_matches(chgo_terminated(pattern, pattern_len, pattern_buf),
                                                    chgo_terminated(topic, topic_len, topic_buf), &matches);
    return chgo_value_of(status, matches);
}

chgo_value chgo_pattern_contains(const char *inner, size_t inner_len, const char *outer, size_t outer_len) {
    char inner_buf[CHGO_INLINE_STRING], outer_buf[CHGO_INLINE_STRING];
    bool contains = false;
    charter_status_t status = charter_pattern_contains(chgo_terminated(inner, inner_len, inner_buf),
                                                       chgo_terminated(outer, outer_len, outer_buf), &contains);
    return chgo_value_of(status, contains);
}
