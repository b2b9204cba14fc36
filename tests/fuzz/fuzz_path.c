/*
 * libFuzzer target for the path rules.  The first byte picks a mode: even = canonicalize and
 * check the invariants (never longer, idempotent, key = folded canonical form); odd = split the
 * rest at the first '\n' into pattern and path and match them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_canonical(const char *s, size_t len)
{
    char *out = malloc(len + 1), *again = malloc(len + 1), *key = malloc(len + 1);
    size_t out_len = 0, again_len = 0, key_len = 0, i;
    edge_path_result r;
    bool matched = false;

    if (!out || !again || !key)
        goto out;
    r = edge_path_canonicalize(s, len, out, len + 1, &out_len);
    if (edge_path_key(s, len, key, len + 1, &key_len) != r)
        abort();
    if (r != EDGE_PATH_OK) {
        if (out[0] != '\0' || out_len != 0 || edge_path_match("C:\\**", 5, s, len, &matched) != r ||
            matched)
            abort();
        goto out;
    }
    if (out_len > len || strlen(out) != out_len || key_len != out_len)
        abort();
    if (edge_path_canonicalize(out, out_len, again, len + 1, &again_len) != EDGE_PATH_OK ||
        again_len != out_len || memcmp(again, out, out_len) != 0 || !edge_path_is_canonical(out))
        abort();
    for (i = 0; i < out_len; i++) {
        char c = out[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != key[i])
            abort();
    }
    /* A valid path used as its own pattern (when it is a valid pattern) matches itself. */
    if (edge_path_pattern_check(out, out_len) == EDGE_PATH_OK &&
        (edge_path_match(out, out_len, s, len, &matched) != EDGE_PATH_OK || !matched))
        abort();
out:
    free(key);
    free(again);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data + 1;
    const char *nl;
    bool matched = true;
    edge_path_result r;

    if (size < 1)
        return 0;
    if ((data[0] & 1) == 0) {
        fz_canonical(s, size - 1);
        return 0;
    }
    nl = memchr(s, '\n', size - 1);
    if (!nl)
        return 0;
    r = edge_path_match(s, (size_t)(nl - s), nl + 1, size - 1 - (size_t)(nl - s) - 1, &matched);
    if (r != EDGE_PATH_OK && matched)
        abort();
    if (r == EDGE_PATH_OK && edge_path_pattern_check(s, (size_t)(nl - s)) != EDGE_PATH_OK)
        abort();
    return 0;
}
