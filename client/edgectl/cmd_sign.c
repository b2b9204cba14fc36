/*
 * Signed requests, offline (docs/signing.md): keygen writes a P-256 key pair, sign makes a signed
 * request for one application, verify checks one.  Nothing here talks to the service; the CNG
 * code is the service's own (service/crypto.c, library edge_crypto).
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "edge/path.h"
#include "edge/signed_request.h"
#include "edgectl.h"
#include "output.h"

#define KEY_FILE_MAX     1024u /* 192 hex digits and a newline, with room for CRLF and spaces */
#define PUB_FILE_MAX     1024u
#define PRIV_HEX_LEN     (2u * CRYPTO_P256_PRIVATE_LEN)
#define NAME_MAX_CHARS   1024u
#define BLOB_TEXT_CAP    5600u                 /* base64 of EDGE_MAX_SIGNED_REQUEST + NUL */
#define VALID_FOR_MAX    (10ull * 366 * 86400) /* ten years */
#define UNIX_TO_FILETIME 11644473600ull

static bool ascii_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int crypto_fail(struct ctl *c, DWORD err, const char *what)
{
    static struct ctl_err e;
    memset(&e, 0, sizeof(e));
    e.exit_code = CTL_EXIT_INTERNAL;
    e.code = "EDGECTL_CRYPTO";
    e.value = -1;
    e.win32_error = err;
    snprintf(e.message, sizeof(e.message), "%s: the Windows cryptography (CNG) call failed", what);
    snprintf(e.next, sizeof(e.next), "retry; if it persists, report the Windows error");
    return ctl_report(c, &e);
}

/* ---- times ---- */

/* "2025-03-01 14:05:00 UTC". */
static void utc_text(uint64_t unix_s, char *buf, size_t cap)
{
    ULARGE_INTEGER u;
    FILETIME ft;
    SYSTEMTIME st;
    if (unix_s > 910692730085ull) {
        snprintf(buf, cap, "%llu (out of range)", (unsigned long long)unix_s);
        return;
    }
    u.QuadPart = (unix_s + UNIX_TO_FILETIME) * 10000000ull;
    ft.dwLowDateTime = u.LowPart;
    ft.dwHighDateTime = u.HighPart;
    if (!FileTimeToSystemTime(&ft, &st)) {
        snprintf(buf, cap, "%llu", (unsigned long long)unix_s);
        return;
    }
    snprintf(buf, cap, "%04u-%02u-%02u %02u:%02u:%02u UTC", st.wYear, st.wMonth, st.wDay, st.wHour,
             st.wMinute, st.wSecond);
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    size_t i;
    unsigned v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return n > 0;
}

/* "now", Unix seconds, or "YYYY-MM-DDTHH:MM[:SS]Z" (UTC). */
static bool parse_time(const char *s, uint64_t now, uint64_t *out)
{
    SYSTEMTIME st;
    FILETIME ft;
    ULARGE_INTEGER u;
    unsigned y, mo, d, h, mi, sec = 0;
    size_t n = strlen(s);

    if (_stricmp(s, "now") == 0) {
        *out = now;
        return true;
    }
    if (n > 0 && strchr(s, '-') == NULL) {
        uint64_t v = 0;
        size_t i;
        /* Plain Unix seconds; at most 11 digits keeps it inside FILETIME's range. */
        if (n > 11)
            return false;
        for (i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            v = v * 10 + (uint64_t)(s[i] - '0');
        }
        *out = v;
        return true;
    }
    if ((n != 17 && n != 20) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[n - 1] != 'Z' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi))
        return false;
    if (n == 20 && (s[16] != ':' || !digits(s + 17, 2, &sec)))
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return false;
    memset(&st, 0, sizeof(st));
    st.wYear = (WORD)y;
    st.wMonth = (WORD)mo;
    st.wDay = (WORD)d;
    st.wHour = (WORD)h;
    st.wMinute = (WORD)mi;
    st.wSecond = (WORD)sec;
    if (!SystemTimeToFileTime(&st, &ft)) /* also refuses 2025-02-30 */
        return false;
    u.LowPart = ft.dwLowDateTime;
    u.HighPart = ft.dwHighDateTime;
    *out = u.QuadPart / 10000000ull - UNIX_TO_FILETIME;
    return true;
}

/* "N", "Ns", "Nm", "Nh", "Nd": 1 second to ten years. */
static bool parse_duration(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    uint64_t unit = 1, v = 0;
    size_t i;
    if (n == 0)
        return false;
    switch (s[n - 1]) {
    case 's':
        n--;
        break;
    case 'm':
        unit = 60;
        n--;
        break;
    case 'h':
        unit = 3600;
        n--;
        break;
    case 'd':
        unit = 86400;
        n--;
        break;
    default:
        break;
    }
    if (n == 0 || n > 9)
        return false;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    v *= unit;
    if (v < 1 || v > VALID_FOR_MAX)
        return false;
    *out = v;
    return true;
}

/* ---- keys ---- */

/* Reads NAME.key: 192 hex digits (X || Y || d), whitespace around them ignored. */
static int read_private_key(struct ctl *c, const char *path, uint8_t priv[CRYPTO_P256_PRIVATE_LEN])
{
    char *text = NULL;
    size_t len = 0, start = 0, end, n = 0;
    DWORD err = ctl_file_read(path, KEY_FILE_MAX, &text, &len);
    edge_sr_result sr = EDGE_SR_E_TEXT;

    if (err != ERROR_SUCCESS)
        return ctl_file_fail(c, err, "read the private key", path,
                             "name the NAME.key file `edgectl keygen --out NAME` wrote; only "
                             "the user who created it can read it");
    end = len;
    while (start < end && ascii_space(text[start]))
        start++;
    while (end > start && ascii_space(text[end - 1]))
        end--;
    if (end - start == PRIV_HEX_LEN)
        sr = edge_sr_hex_decode(text + start, end - start, priv, CRYPTO_P256_PRIVATE_LEN, &n);
    SecureZeroMemory(text, len);
    free(text);
    if (sr != EDGE_SR_OK || n != CRYPTO_P256_PRIVATE_LEN) {
        SecureZeroMemory(priv, CRYPTO_P256_PRIVATE_LEN);
        return ctl_usage(c,
                         "%s is not a private key file (192 hex digits, as `edgectl keygen` "
                         "writes)",
                         path);
    }
    return CTL_EXIT_OK;
}

/* --pub FILE or --key-text HEX: the 65-byte public key. */
static int read_public_key(struct ctl *c, const char *path, const char *hex,
                           uint8_t pub[EDGE_SR_PUBKEY_LEN])
{
    char *text = NULL;
    size_t len = 0;
    edge_sr_result sr;

    if (hex) {
        if (edge_sr_pubkey_from_text(hex, strlen(hex), pub) != EDGE_SR_OK)
            return ctl_usage(c, "--key-text needs a public key: 130 hex digits starting with 04");
        return CTL_EXIT_OK;
    }
    {
        DWORD err = ctl_file_read(path, PUB_FILE_MAX, &text, &len);
        if (err != ERROR_SUCCESS)
            return ctl_file_fail(c, err, "read the public key", path,
                                 "name the NAME.pub file `edgectl keygen --out NAME` wrote");
    }
    sr = edge_sr_pubkey_from_text(text, len, pub);
    free(text);
    if (sr != EDGE_SR_OK)
        return ctl_usage(c, "%s is not a public key file (130 hex digits starting with 04)", path);
    return CTL_EXIT_OK;
}

/* ---- rendering of the signed fields ---- */

static const char *sr_edge_name(uint8_t v)
{
    return v == EDGE_TRAVERSAL_ALLOW ? "allow" : "defer_to_app";
}

static void print_fields(const edge_sr_fields *f)
{
    char hex[2 * EDGE_SR_NONCE_MAX + 1], when[64], ports[16];

    edge_sr_hex_encode(f->key_id, EDGE_SR_KEY_ID_LEN, hex, sizeof(hex));
    out_printf("  %-14s %s\n", "Key id:", hex);
    if (f->has_image_sha256) {
        edge_sr_hex_encode(f->image_sha256, EDGE_SHA256_SIZE, hex, sizeof(hex));
        out_printf("  %-14s %s\n", "Image SHA-256:", hex);
    }
    if (f->image_path.ptr)
        out_printf("  %-14s %.*s\n", "Image path:", (int)f->image_path.len, f->image_path.ptr);
    out_printf("  %-14s %s\n", "Protocol:", out_protocol_name(f->protocol));
    out_ports(f->port_lo, f->port_hi, ports, sizeof(ports));
    out_printf("  %-14s %s\n", "Ports:", ports);
    out_printf("  %-14s %s\n", "Edge option:", sr_edge_name(f->edge_option));
    utc_text(f->not_before, when, sizeof(when));
    out_printf("  %-14s %s\n", "Not before:", when);
    utc_text(f->not_after, when, sizeof(when));
    out_printf("  %-14s %s\n", "Not after:", when);
    if (f->nonce.ptr) {
        edge_sr_hex_encode(f->nonce.ptr, f->nonce.len, hex, sizeof(hex));
        out_printf("  %-14s %s\n", "Nonce:", hex);
    }
    if (f->comment.ptr)
        out_printf("  %-14s %.*s\n", "Comment:", (int)f->comment.len, f->comment.ptr);
}

static void json_fields(json_writer *w, const edge_sr_fields *f)
{
    json_key(w, "signed_request");
    json_object_begin(w);
    json_kv_uint(w, "version", f->version);
    json_kv_hex(w, "key_id", f->key_id, EDGE_SR_KEY_ID_LEN);
    if (f->has_image_sha256)
        json_kv_hex(w, "image_sha256", f->image_sha256, EDGE_SHA256_SIZE);
    else
        json_kv_null(w, "image_sha256");
    json_key(w, "image_path");
    if (f->image_path.ptr)
        json_string_n(w, f->image_path.ptr, f->image_path.len);
    else
        json_null(w);
    json_kv_string(w, "protocol", out_protocol_name(f->protocol));
    json_kv_uint(w, "port_lo", f->port_lo);
    json_kv_uint(w, "port_hi", f->port_hi);
    json_kv_string(w, "edge_option", sr_edge_name(f->edge_option));
    json_kv_uint(w, "not_before", f->not_before);
    json_kv_uint(w, "not_after", f->not_after);
    if (f->nonce.ptr)
        json_kv_hex(w, "nonce", f->nonce.ptr, f->nonce.len);
    else
        json_kv_null(w, "nonce");
    json_key(w, "comment");
    if (f->comment.ptr)
        json_string_n(w, f->comment.ptr, f->comment.len);
    else
        json_null(w);
    json_object_end(w);
}

/* ---- keygen ---- */

int cmd_keygen(struct ctl *c, int argc, char **argv)
{
    const char *pos[1], *name = NULL;
    const struct ctl_optspec opts[] = {{"--out", &name, NULL}};
    static char key_path[NAME_MAX_CHARS + 8], pub_path[NAME_MAX_CHARS + 8];
    uint8_t pub[CRYPTO_P256_PUBLIC_LEN], priv[CRYPTO_P256_PRIVATE_LEN], id[EDGE_SR_KEY_ID_LEN];
    char priv_text[PRIV_HEX_LEN + 2], pub_text[EDGE_SR_PUBKEY_HEX_LEN + 2], id_text[33];
    HANDLE hk = INVALID_HANDLE_VALUE, hp = INVALID_HANDLE_VALUE;
    size_t npos;
    DWORD err;
    int rc;

    rc = ctl_parse_args(c, argc, argv, opts, 1, pos, 0, 0, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (!name || !*name)
        return ctl_usage(c, "keygen needs --out NAME: it writes NAME.key and NAME.pub");
    if (strlen(name) > NAME_MAX_CHARS)
        return ctl_usage(c, "--out NAME is longer than %u bytes", NAME_MAX_CHARS);
    snprintf(key_path, sizeof(key_path), "%s.key", name);
    snprintf(pub_path, sizeof(pub_path), "%s.pub", name);

    err = crypto_p256_generate(pub, priv);
    if (err != ERROR_SUCCESS)
        return crypto_fail(c, err, "cannot generate a key pair");
    edge_sr_hex_encode(priv, CRYPTO_P256_PRIVATE_LEN, priv_text, sizeof(priv_text));
    SecureZeroMemory(priv, sizeof(priv));
    priv_text[PRIV_HEX_LEN] = '\n';
    priv_text[PRIV_HEX_LEN + 1] = '\0';
    edge_sr_hex_encode(pub, CRYPTO_P256_PUBLIC_LEN, pub_text, sizeof(pub_text));
    pub_text[EDGE_SR_PUBKEY_HEX_LEN] = '\n';
    pub_text[EDGE_SR_PUBKEY_HEX_LEN + 1] = '\0';
    edge_sr_key_id(pub, id);
    edge_sr_hex_encode(id, sizeof(id), id_text, sizeof(id_text));

    /* Both files are created (never replaced) before either is written. */
    err = ctl_file_create(key_path, true, false, &hk);
    if (err != ERROR_SUCCESS) {
        rc = ctl_file_fail(c, err, "create", key_path,
                           "choose another NAME; keygen never replaces a key (delete the old "
                           "files first if you really mean to)");
        goto out;
    }
    err = ctl_file_create(pub_path, false, false, &hp);
    if (err != ERROR_SUCCESS) {
        CloseHandle(hk);
        hk = INVALID_HANDLE_VALUE;
        ctl_file_remove(key_path);
        rc = ctl_file_fail(c, err, "create", pub_path,
                           "choose another NAME; keygen never replaces a key (delete the old "
                           "files first if you really mean to)");
        goto out;
    }
    err = ctl_file_write(hk, priv_text, PRIV_HEX_LEN + 1);
    if (err == ERROR_SUCCESS)
        err = ctl_file_write(hp, pub_text, EDGE_SR_PUBKEY_HEX_LEN + 1);
    CloseHandle(hk);
    CloseHandle(hp);
    hk = hp = INVALID_HANDLE_VALUE;
    if (err != ERROR_SUCCESS) {
        ctl_file_remove(key_path);
        ctl_file_remove(pub_path);
        rc = ctl_file_fail(c, err, "write", key_path, NULL);
        goto out;
    }
    pub_text[EDGE_SR_PUBKEY_HEX_LEN] = '\0';
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_kv_string(w, "key_id", id_text);
        json_kv_string(w, "private_key_file", key_path);
        json_kv_string(w, "public_key_file", pub_path);
        json_kv_string(w, "public_key", pub_text);
        rc = ctl_json_end(c, CTL_EXIT_OK);
    } else if (c->quiet) {
        out_printf("%s\n", id_text);
        rc = CTL_EXIT_OK;
    } else {
        out_printf("Created a P-256 key pair for signed requests.\n");
        out_printf("  Key id:       %s\n", id_text);
        out_printf("  Private key:  %s (only you can read it; keep it offline)\n", key_path);
        out_printf("  Public key:   %s\n", pub_path);
        out_printf("Next: add the content of %s to the TrustedSignerKeys policy value, then sign "
                   "requests with `edgectl sign --key %s ...`.\n",
                   pub_path, key_path);
        rc = CTL_EXIT_OK;
    }
out:
    SecureZeroMemory(priv_text, sizeof(priv_text));
    return rc;
}

/* ---- sign ---- */

struct sign_args {
    const char *key, *image, *image_hash, *path, *protocol, *ports, *edge, *not_before, *not_after,
        *valid_for, *comment, *out;
};

/* Turns the options into fields; image_path_buf holds the canonical --path. */
static int sign_fields(struct ctl *c, const struct sign_args *a, edge_sr_fields *f, char *path_buf,
                       size_t path_cap)
{
    uint32_t proto = 0;
    uint64_t now = out_now(), valid_for = 0;
    size_t n = 0;
    edge_path_result pr;
    edge_sr_result sr;

    memset(f, 0, sizeof(*f));
    f->version = EDGE_SR_VERSION;
    if (!a->key)
        return ctl_usage(c, "sign needs --key NAME.key (from `edgectl keygen`)");
    if (!a->image && !a->image_hash && !a->path)
        return ctl_usage(c, "sign needs the application: --image PATH (its SHA-256 is signed), "
                            "--image-hash HEX, and/or --path PATH");
    if (a->image && a->image_hash)
        return ctl_usage(c, "give --image or --image-hash, not both");
    if (!a->protocol || !ctl_parse_protocol(a->protocol, &proto))
        return ctl_usage(c, "sign needs --protocol tcp or udp");
    f->protocol = (uint8_t)proto;
    if (!a->ports || !ctl_parse_ports(a->ports, &f->port_lo, &f->port_hi))
        return ctl_usage(c, "sign needs --ports P or LO-HI (1-65535)");
    f->edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    if (a->edge) {
        if (_stricmp(a->edge, "allow") == 0)
            f->edge_option = EDGE_TRAVERSAL_ALLOW;
        else if (_stricmp(a->edge, "defer") != 0 && _stricmp(a->edge, "defer_to_app") != 0 &&
                 _stricmp(a->edge, "defertoapp") != 0)
            return ctl_usage(c, "--edge must be defer or allow (it must equal the policy's "
                                "EdgeTraversal)");
    }
    if (!parse_time(a->not_before ? a->not_before : "now", now, &f->not_before))
        return ctl_usage(c, "--not-before needs now, Unix seconds or YYYY-MM-DDTHH:MM[:SS]Z");
    if ((a->not_after != NULL) == (a->valid_for != NULL))
        return ctl_usage(c, "sign needs exactly one of --not-after TIME and --valid-for DURATION");
    if (a->not_after && !parse_time(a->not_after, now, &f->not_after))
        return ctl_usage(c, "--not-after needs now, Unix seconds or YYYY-MM-DDTHH:MM[:SS]Z");
    if (a->valid_for) {
        if (!parse_duration(a->valid_for, &valid_for))
            return ctl_usage(c, "--valid-for needs a duration such as 3600, 90m, 12h or 30d (at "
                                "most ten years)");
        f->not_after = f->not_before + valid_for;
    }
    if (f->not_after < f->not_before)
        return ctl_usage(c, "--not-after is before --not-before");
    if (a->image_hash) {
        if (strlen(a->image_hash) != 2 * EDGE_SHA256_SIZE ||
            edge_sr_hex_decode(a->image_hash, strlen(a->image_hash), f->image_sha256,
                               EDGE_SHA256_SIZE, &n) != EDGE_SR_OK)
            return ctl_usage(c, "--image-hash needs a SHA-256: 64 hex digits");
        f->has_image_sha256 = true;
    }
    if (a->path) {
        pr = edge_path_canonicalize(a->path, strlen(a->path), path_buf, path_cap, &n);
        if (pr != EDGE_PATH_OK)
            return ctl_usage(c,
                             "--path must be the full path of an executable, such as "
                             "C:\\Program Files\\App\\app.exe (%s)",
                             edge_path_result_name(pr));
        f->image_path.ptr = path_buf;
        f->image_path.len = (uint32_t)n;
    }
    if (a->comment)
        f->comment = edge_str_from_cstr(a->comment);
    if (a->image) {
        DWORD err = ctl_file_sha256(a->image, f->image_sha256);
        if (err != ERROR_SUCCESS)
            return ctl_file_fail(c, err, "hash the image", a->image, NULL);
        f->has_image_sha256 = true;
    }
    sr = edge_sr_fields_check(f);
    if (sr != EDGE_SR_OK)
        return ctl_usage(c, "cannot sign these fields: %s", edge_sr_result_message(sr));
    return CTL_EXIT_OK;
}

int cmd_sign(struct ctl *c, int argc, char **argv)
{
    struct sign_args a;
    const char *pos[1];
    static char path_buf[EDGE_MAX_PATH + 1], text[BLOB_TEXT_CAP];
    static uint8_t body[EDGE_MAX_SIGNED_REQUEST], blob[EDGE_MAX_SIGNED_REQUEST];
    uint8_t priv[CRYPTO_P256_PRIVATE_LEN], pub[CRYPTO_P256_PUBLIC_LEN], digest[32];
    uint8_t sig[EDGE_SR_SIG_LEN];
    edge_sr_fields f;
    edge_sr parsed;
    size_t npos, body_len = 0, blob_len = 0, tlen;
    HANDLE h = INVALID_HANDLE_VALUE;
    DWORD err;
    int rc;

    memset(&a, 0, sizeof(a));
    {
        const struct ctl_optspec opts[] = {
            {"--key", &a.key, NULL},
            {"--image", &a.image, NULL},
            {"--image-hash", &a.image_hash, NULL},
            {"--path", &a.path, NULL},
            {"--protocol", &a.protocol, NULL},
            {"--ports", &a.ports, NULL},
            {"--edge", &a.edge, NULL},
            {"--not-before", &a.not_before, NULL},
            {"--not-after", &a.not_after, NULL},
            {"--valid-for", &a.valid_for, NULL},
            {"--comment", &a.comment, NULL},
            {"--out", &a.out, NULL},
        };
        rc = ctl_parse_args(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 0, 0, &npos);
        if (rc != CTL_EXIT_OK)
            return rc;
    }
    rc = sign_fields(c, &a, &f, path_buf, sizeof(path_buf));
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = read_private_key(c, a.key, priv);
    if (rc != CTL_EXIT_OK)
        return rc;
    crypto_p256_public_of(priv, pub);
    edge_sr_key_id(pub, f.key_id);
    if (edge_sr_build_body(&f, body, sizeof(body), &body_len) != EDGE_SR_OK) {
        SecureZeroMemory(priv, sizeof(priv));
        return ctl_usage(c,
                         "the signed fields do not fit in %u bytes (shorten --comment or "
                         "--path)",
                         EDGE_MAX_SIGNED_REQUEST);
    }
    edge_sr_digest(body, body_len, digest);
    err = crypto_p256_sign(priv, digest, sig);
    SecureZeroMemory(priv, sizeof(priv));
    if (err != ERROR_SUCCESS)
        return crypto_fail(c, err, "cannot sign with the key");
    /* A damaged key file can still sign; only a signature that verifies is worth handing out. */
    err = crypto_p256_verify(pub, digest, sig);
    if (err != ERROR_SUCCESS)
        return ctl_usage(c, "%s is damaged: its signature does not verify with its own public key",
                         a.key);
    if (edge_sr_assemble(body, body_len, sig, blob, sizeof(blob), &blob_len) != EDGE_SR_OK ||
        edge_sr_parse(blob, blob_len, &parsed) != EDGE_SR_OK)
        return ctl_usage(c,
                         "the signed request would exceed %u bytes (shorten --comment or "
                         "--path)",
                         EDGE_MAX_SIGNED_REQUEST);
    edge_sr_base64_encode(blob, blob_len, text, sizeof(text));
    tlen = strlen(text);
    if (a.out) {
        err = ctl_file_create(a.out, false, true, &h);
        if (err == ERROR_SUCCESS) {
            text[tlen] = '\n';
            err = ctl_file_write(h, text, tlen + 1);
            text[tlen] = '\0';
            CloseHandle(h);
        }
        if (err != ERROR_SUCCESS)
            return ctl_file_fail(c, err, "write", a.out, NULL);
    }
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_fields(w, &parsed.fields);
        if (a.out)
            json_kv_string(w, "file", a.out);
        else
            json_kv_null(w, "file");
        json_kv_string(w, "blob", text);
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    if (!a.out) {
        out_printf("%s\n", text); /* the file's content, for a pipe or a redirection */
        return CTL_EXIT_OK;
    }
    if (c->quiet)
        return CTL_EXIT_OK;
    out_printf("Signed request written to %s (%u bytes signed)\n", a.out, (unsigned)blob_len);
    print_fields(&parsed.fields);
    out_printf("Next: give %s to the application, or run `edgectl request ... --signed %s`; the "
               "service accepts it while TrustedSignerKeys lists this key.\n",
               a.out, a.out);
    return CTL_EXIT_OK;
}

/* ---- verify ---- */

/* A verification failure: the fields (when parsed) and the error, in one document. */
static int verify_fail(struct ctl *c, const edge_sr_fields *f, edge_result status,
                       const char *message)
{
    static struct ctl_err e;
    if (!c->json)
        return ctl_sr_fail(c, status, "%s", message);
    memset(&e, 0, sizeof(e));
    e.exit_code = ctl_exit_for(status);
    e.code = edge_result_name(status);
    e.value = status;
    snprintf(e.message, sizeof(e.message), "%s", message);
    snprintf(e.next, sizeof(e.next), "%s",
             status == EDGE_E_EXPIRED ? "ask the key holder for a request valid now"
             : status == EDGE_E_IDENTITY_MISMATCH
                 ? "sign a request for this image (`edgectl sign --image PATH ...`)"
                 : "obtain a freshly signed request from the key holder (`edgectl sign`)");
    {
        json_writer *w = ctl_json_begin(c, false);
        if (f)
            json_fields(w, f);
        ctl_json_error(w, &e);
    }
    return ctl_json_end(c, e.exit_code);
}

/* The comparison key (edge_path_key) of the full path of a file named on the command line. */
static bool full_path_key(const char *path, char *out, size_t cap)
{
    wchar_t *wpath = ctl_widen(path), full[EDGE_MAX_PATH + 1];
    char utf8[3 * EDGE_MAX_PATH + 1];
    DWORD n = wpath ? GetFullPathNameW(wpath, EDGE_MAX_PATH + 1, full, NULL) : 0;
    int m;
    free(wpath);
    if (n == 0 || n > EDGE_MAX_PATH)
        return false;
    m = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, full, (int)n, utf8, sizeof(utf8) - 1,
                            NULL, NULL);
    if (m <= 0)
        return false;
    return edge_path_key(utf8, (size_t)m, out, cap, NULL) == EDGE_PATH_OK;
}

/* --image: the file's SHA-256 and full path must be what the request binds (where it binds). */
static int check_image(struct ctl *c, const char *file, const char *image, const edge_sr_fields *f)
{
    static char msg[1024], have[EDGE_MAX_PATH + 1], want[EDGE_MAX_PATH + 1];
    uint8_t hash[EDGE_SHA256_SIZE];
    DWORD err = ctl_file_sha256(image, hash);

    if (err != ERROR_SUCCESS)
        return ctl_file_fail(c, err, "hash the image", image, NULL);
    if (f->has_image_sha256 && memcmp(hash, f->image_sha256, EDGE_SHA256_SIZE) != 0) {
        char h[2 * EDGE_SHA256_SIZE + 1];
        edge_sr_hex_encode(hash, sizeof(hash), h, sizeof(h));
        snprintf(msg, sizeof(msg),
                 "%s does not bind this image: %s has SHA-256 %s, which is not the signed one",
                 file, image, h);
        return verify_fail(c, f, EDGE_E_IDENTITY_MISMATCH, msg);
    }
    if (f->image_path.ptr && (!full_path_key(image, have, sizeof(have)) ||
                              edge_path_key(f->image_path.ptr, f->image_path.len, want,
                                            sizeof(want), NULL) != EDGE_PATH_OK ||
                              strcmp(have, want) != 0)) {
        snprintf(msg, sizeof(msg),
                 "%s does not bind this image: it binds the path %.*s, and %s is elsewhere", file,
                 (int)f->image_path.len, f->image_path.ptr, image);
        return verify_fail(c, f, EDGE_E_IDENTITY_MISMATCH, msg);
    }
    return CTL_EXIT_OK;
}

int cmd_verify(struct ctl *c, int argc, char **argv)
{
    const char *pos[1], *pub_path = NULL, *key_text = NULL, *image = NULL;
    const struct ctl_optspec opts[] = {
        {"--pub", &pub_path, NULL}, {"--key-text", &key_text, NULL}, {"--image", &image, NULL}};
    static uint8_t blob[EDGE_MAX_SIGNED_REQUEST];
    static char msg[1024];
    uint8_t pub[EDGE_SR_PUBKEY_LEN], id[EDGE_SR_KEY_ID_LEN], digest[32];
    char want_id[33], got_id[33], window[160], left[32], when[64];
    edge_sr sr;
    edge_sr_result r;
    uint64_t now = out_now();
    size_t npos, len = 0;
    DWORD err;
    int rc;

    rc = ctl_parse_args(c, argc, argv, opts, 3, pos, 1, 1, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    if ((pub_path != NULL) == (key_text != NULL))
        return ctl_usage(c, "verify needs the signer's public key: --pub NAME.pub or --key-text "
                            "HEX (one of them)");
    rc = read_public_key(c, pub_path, key_text, pub);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = ctl_read_signed_request(c, pos[0], blob, &len);
    if (rc != CTL_EXIT_OK)
        return rc;
    r = edge_sr_parse(blob, len, &sr); /* checked by ctl_read_signed_request */
    if (r != EDGE_SR_OK)
        return verify_fail(c, NULL, EDGE_E_BAD_SIGNATURE, edge_sr_result_message(r));
    if (!c->json && !c->quiet) {
        out_printf("Signed request %s\n", pos[0]);
        print_fields(&sr.fields);
    }
    edge_sr_key_id(pub, id);
    edge_sr_hex_encode(id, sizeof(id), want_id, sizeof(want_id));
    edge_sr_hex_encode(sr.fields.key_id, EDGE_SR_KEY_ID_LEN, got_id, sizeof(got_id));
    if (memcmp(id, sr.fields.key_id, EDGE_SR_KEY_ID_LEN) != 0) {
        snprintf(msg, sizeof(msg),
                 "%s was signed by another key (key id %s), not by the given key (key id %s)",
                 pos[0], got_id, want_id);
        return verify_fail(c, &sr.fields, EDGE_E_BAD_SIGNATURE, msg);
    }
    edge_sr_digest(sr.body.ptr, sr.body.len, digest);
    err = crypto_p256_verify(pub, digest, sr.signature);
    if (err != ERROR_SUCCESS) {
        snprintf(msg, sizeof(msg),
                 err == ERROR_INVALID_DATA
                     ? "the signature of %s does not verify: the file was changed after signing"
                     : "the signature of %s cannot be checked: the public key is not a valid "
                       "P-256 key",
                 pos[0]);
        return verify_fail(c, &sr.fields, EDGE_E_BAD_SIGNATURE, msg);
    }
    /* The same window the service applies, skew included (docs/signing.md). */
    if (now + EDGE_SR_CLOCK_SKEW < sr.fields.not_before) {
        out_duration(sr.fields.not_before - now, left, sizeof(left));
        utc_text(sr.fields.not_before, when, sizeof(when));
        snprintf(msg, sizeof(msg), "%s is not valid yet: it starts at %s (in %s)", pos[0], when,
                 left);
        return verify_fail(c, &sr.fields, EDGE_E_EXPIRED, msg);
    }
    if (sr.fields.not_after < now && now - sr.fields.not_after > EDGE_SR_CLOCK_SKEW) {
        out_duration(now - sr.fields.not_after, left, sizeof(left));
        utc_text(sr.fields.not_after, when, sizeof(when));
        snprintf(msg, sizeof(msg), "%s has expired: it ended at %s (%s ago)", pos[0], when, left);
        return verify_fail(c, &sr.fields, EDGE_E_EXPIRED, msg);
    }
    if (image) {
        rc = check_image(c, pos[0], image, &sr.fields);
        if (rc != CTL_EXIT_OK)
            return rc;
    }
    if (sr.fields.not_after > now)
        out_duration(sr.fields.not_after - now, left, sizeof(left));
    snprintf(window, sizeof(window), "valid now (ends in %s)",
             sr.fields.not_after > now ? left : "less than the allowed clock skew");
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_fields(w, &sr.fields);
        json_kv_bool(w, "signature_valid", true);
        json_kv_bool(w, "valid_now", true);
        if (image)
            json_kv_bool(w, "binds_image", true);
        else
            json_kv_null(w, "binds_image");
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    if (c->quiet)
        return CTL_EXIT_OK;
    out_printf("  %-14s valid, made by key %s\n", "Signature:", got_id);
    out_printf("  %-14s %s\n", "Validity:", window);
    if (image)
        out_printf("  %-14s %s: bound (%s)\n", "Image:", image,
                   sr.fields.has_image_sha256 && sr.fields.image_path.ptr ? "SHA-256 and path"
                   : sr.fields.has_image_sha256                           ? "SHA-256"
                                                                          : "path");
    out_printf("OK: the service accepts it from the bound application while TrustedSignerKeys "
               "lists key %s.\n",
               got_id);
    return CTL_EXIT_OK;
}
