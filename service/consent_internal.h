/* Shared between consent.c (the logic) and consent_store.c (the file); not a public interface. */
#ifndef EDGE_SVC_CONSENT_INTERNAL_H
#define EDGE_SVC_CONSENT_INTERNAL_H

#include "consent.h"

struct consent_entry {
    uint8_t id[EDGE_ID_SIZE];
    char *sid;  /* owned */
    char *path; /* owned, canonical */
    uint8_t sha[EDGE_SHA256_SIZE];
    DWORD session;
    struct consent_scope scope;
    uint64_t created;
    uint64_t expires;
    consent_state state;
    bool has_lease;
    uint8_t lease_id[EDGE_ID_SIZE];
};

struct consent_decision {
    bool approved;
    char *sid;  /* owned; NULL: any user */
    char *path; /* owned */
    uint8_t sha[EDGE_SHA256_SIZE];
    uint8_t protocol;
    uint16_t port_lo;
    uint16_t port_hi;
    uint64_t created;
    uint64_t expires;
};

struct consent {
    SRWLOCK lock;
    volatile LONG refs; /* the owner's + one per running prompt thread */
    volatile LONG prompts;
    bool closed;
    wchar_t *dir;
    audit_log *audit;
    uint32_t max_pending, max_pending_per_user, max_decisions;
    consent_prompt_fn prompt;
    DWORD(WINAPI *console_session)(void);
    struct consent_entry *entries;
    size_t n_entries;
    struct consent_decision *decisions;
    size_t n_decisions;
    DWORD last_save_error;
    uint32_t tmp_counter;
    PSECURITY_DESCRIPTOR file_sd[2]; /* with owner SYSTEM, without owner */
    int sd_choice;
};

void consent_entry_free(struct consent_entry *e);
void consent_decision_free(struct consent_decision *d);

/* Loads <dir>\consent.bin into c (empty arrays on entry).  See consent_open for results. */
edge_status consent_file_load(struct consent *c, uint64_t now, struct consent_load_report *rep);

/* Writes c's entries and decisions atomically.  Call with the lock held.  Returns Win32 error. */
DWORD consent_file_save(struct consent *c);

/* The file security descriptors (store.h's SDDL) into c->file_sd.  Returns a Win32 error. */
DWORD consent_make_descriptors(struct consent *c);

/* Parses a whole file image into freshly allocated arrays (pure; exposed for consent_file_load).
 * Returns NULL on success or a static reason. */
const char *consent_file_parse(const uint8_t *data, size_t len, uint32_t max_pending,
                               uint32_t max_decisions, struct consent_entry **entries,
                               size_t *n_entries, struct consent_decision **decisions,
                               size_t *n_decisions);

#endif /* EDGE_SVC_CONSENT_INTERNAL_H */
