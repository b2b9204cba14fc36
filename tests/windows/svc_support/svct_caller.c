#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <sddl.h>
#include <stdlib.h>
#include <string.h>

#include "svct_caller.h"

bool svct_identity(struct caller_identity *id, const char *sid, const wchar_t *image)
{
    PSID psid = NULL;
    bool copied;

    memset(id, 0, sizeof(*id));
    if (!ConvertStringSidToSidA(sid, &psid))
        return false;
    id->sid_len = GetLengthSid(psid);
    copied = CopySid(sizeof(id->sid), id->sid, psid) != 0;
    LocalFree(psid);
    if (!copied)
        return false;
    id->image_path = _wcsdup(image);
    return id->image_path != NULL;
}

void svct_connect(struct connection *c, uint64_t id, const struct verb_table *verbs, void *ctx,
                  const char *sid, const wchar_t *image, bool admin)
{
    conn_init(c, id, verbs, ctx);
    c->state = CONN_HELLO_DONE;
    c->identified = true;
    assert_true(svct_identity(&c->caller, sid, image));
    memset(c->caller.image_sha256, image[3], sizeof(c->caller.image_sha256));
    c->caller.elevated = c->caller.admin_member = admin;
}
