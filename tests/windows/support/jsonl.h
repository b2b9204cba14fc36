/*
 * Reading JSON-lines files back in tests (the audit trail, edgectl --json output): a strict
 * minimal parser that proves a line is exactly one valid JSON object and lists its top-level
 * members, plus file and line helpers.  Failures inside helpers fail the running cmocka test.
 */
#ifndef EDGE_TEST_JSONL_H
#define EDGE_TEST_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#define JSONL_MAX_FIELDS 40

typedef struct jsonl_field {
    char key[48];
    const char *val; /* raw JSON text of the value, inside the parsed line */
    size_t len;
} jsonl_field;

typedef struct jsonl_obj {
    jsonl_field f[JSONL_MAX_FIELDS];
    int n;
} jsonl_obj;

/* True when text[0..n) is exactly one JSON object (whitespace around allowed); fills o. */
bool jsonl_parse(const char *text, size_t n, jsonl_obj *o);

/* The member named key, or NULL. */
const jsonl_field *jsonl_get(const jsonl_obj *o, const char *key);

/* The member's string value, unescaped (valid until 8 further calls); fails the test when the
 * member is absent or not a string. */
const char *jsonl_str(const jsonl_obj *o, const char *key);

/* True when the member exists and its raw JSON text is exactly raw ("null", "true", "[1,2]"). */
bool jsonl_is(const jsonl_obj *o, const char *key, const char *raw);

/* The member's non-negative integer value; fails the test otherwise. */
uint64_t jsonl_num(const jsonl_obj *o, const char *key);

/* Fails the test unless t is UTC ISO 8601 with milliseconds: "2024-05-01T12:00:00.123Z". */
void jsonl_check_time(const char *t);

/* The whole file, NUL-terminated, in a malloc'd buffer (free it); NULL when it cannot be opened.
 * Opens with full sharing so a writer may keep the file open. */
char *jsonl_read_file(const wchar_t *path, size_t *len);

/* Splits buf in place into lines, each of which must end with '\n' (no torn last line); fails
 * the test beyond max lines.  Returns the count. */
size_t jsonl_split_lines(char *buf, size_t len, char **lines, size_t max);

#endif /* EDGE_TEST_JSONL_H */
