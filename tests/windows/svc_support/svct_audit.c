#include "svct_audit.h"

DWORD svct_audit_open(const wchar_t *dir, audit_log **out)
{
    audit_config cfg;

    audit_config_init(&cfg);
    cfg.directory = dir;
    cfg.event_source = NULL;
    return audit_open(&cfg, out);
}
