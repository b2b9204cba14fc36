/*
 * Firewall backend: operations on the INetFwRules collection (add, find, remove, enumerate,
 * verify).  Runs on the backend's worker thread only.
 */
#include "firewall_internal.h"

#include <stdlib.h>
#include <string.h>

/* Rules fetched per IEnumVARIANT::Next call: fewer round trips than one at a time. */
#define FW_ENUM_BATCH 64
/* Upper bound on rules kept in memory by one list / remove-all (far above any real firewall). */
#define FW_MAX_RULES 4000000u

#define FW_REMOVING_PREFIX L"EdgeBroker removing "

edge_status fw_com_connect(fw_com *com, edge_fw_result *res)
{
    HRESULT hr;

    if (com->rules)
        return EDGE_OK;
    fw_com_disconnect(com);
    hr = CoCreateInstance(&CLSID_NetFwPolicy2, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwPolicy2,
                          (void **)&com->policy);
    if (FAILED(hr) || !com->policy) {
        com->policy = NULL;
        return fw_fail_create(res, FAILED(hr) ? hr : E_POINTER, "CoCreateInstance(NetFwPolicy2)",
                              HKEY_LOCAL_MACHINE, FW_POLICY2_INPROC_KEY);
    }
    hr = INetFwPolicy2_get_Rules(com->policy, &com->rules);
    if (FAILED(hr) || !com->rules) {
        com->rules = NULL;
        fw_com_disconnect(com);
        return fw_fail(res, FAILED(hr) ? hr : E_POINTER, "INetFwPolicy2::get_Rules");
    }
    return EDGE_OK;
}

void fw_com_disconnect(fw_com *com)
{
    if (com->rules)
        INetFwRules_Release(com->rules);
    com->rules = NULL;
    if (com->policy)
        INetFwPolicy2_Release(com->policy);
    com->policy = NULL;
}

edge_status fw_coll_add(fw_com *com, const edge_fw_rule_spec *spec, edge_fw_result *res)
{
    INetFwRule *rule = NULL;
    edge_status st;
    HRESULT hr;

    st = fw_spec_check(spec, res);
    if (st != EDGE_OK)
        return st;
    st = fw_com_connect(com, res);
    if (st != EDGE_OK)
        return st;
    st = fw_rule_build(spec, &rule, res);
    if (st != EDGE_OK)
        return st;
    hr = INetFwRules_Add(com->rules, rule);
    INetFwRule_Release(rule);
    if (FAILED(hr))
        return fw_fail(res, hr, "INetFwRules::Add");
    return EDGE_OK;
}

/*
 * Called for every rule of our group during an enumeration; *stop ends it early.  The callback
 * may AddRef the rule to keep it.
 */
typedef edge_status (*fw_each_fn)(INetFwRule *rule, BSTR name, void *ctx, bool *stop,
                                  edge_fw_result *res);

/* Handle one enumerated VARIANT: ours (group match) goes to fn. */
static edge_status fw_enum_one(VARIANT *v, fw_each_fn fn, void *ctx, bool *stop,
                               edge_fw_result *res)
{
    INetFwRule *rule = NULL;
    BSTR name = NULL;
    BSTR group = NULL;
    edge_status st;
    HRESULT hr;

    if (V_VT(v) != VT_DISPATCH || !V_DISPATCH(v))
        return EDGE_OK; /* not a rule object: not ours */
    hr = IDispatch_QueryInterface(V_DISPATCH(v), &IID_INetFwRule, (void **)&rule);
    if (FAILED(hr) || !rule)
        return EDGE_OK;
    st = fw_rule_name_group(rule, &name, &group, res);
    if (st == EDGE_OK && group && wcscmp(group, EDGE_FW_GROUP) == 0)
        st = fn(rule, name, ctx, stop, res);
    SysFreeString(group);
    SysFreeString(name);
    INetFwRule_Release(rule);
    return st;
}

/*
 * Enumerate the collection ONCE through _NewEnum / IEnumVARIANT::Next in batches.  Item() per
 * rule would make a listing quadratic on some implementations and costs a round trip per rule.
 */
static edge_status fw_for_each_ours(fw_com *com, fw_each_fn fn, void *ctx, edge_fw_result *res)
{
    IUnknown *unk = NULL;
    IEnumVARIANT *en = NULL;
    VARIANT batch[FW_ENUM_BATCH];
    ULONG fetched;
    ULONG i;
    bool stop = false;
    edge_status st;
    HRESULT hr;

    st = fw_com_connect(com, res);
    if (st != EDGE_OK)
        return st;
    hr = INetFwRules_get__NewEnum(com->rules, &unk);
    if (FAILED(hr) || !unk)
        return fw_fail(res, FAILED(hr) ? hr : E_POINTER, "INetFwRules::get__NewEnum");
    hr = IUnknown_QueryInterface(unk, &IID_IEnumVARIANT, (void **)&en);
    IUnknown_Release(unk);
    if (FAILED(hr) || !en)
        return fw_fail(res, FAILED(hr) ? hr : E_POINTER, "QueryInterface(IEnumVARIANT)");
    for (i = 0; i < FW_ENUM_BATCH; i++)
        VariantInit(&batch[i]);
    st = EDGE_OK;
    while (st == EDGE_OK && !stop) {
        fetched = 0;
        hr = IEnumVARIANT_Next(en, FW_ENUM_BATCH, batch, &fetched);
        if (FAILED(hr)) {
            st = fw_fail(res, hr, "IEnumVARIANT::Next");
            break;
        }
        if (fetched > FW_ENUM_BATCH)
            fetched = FW_ENUM_BATCH; /* a broken enumerator must not make us overrun */
        for (i = 0; i < fetched; i++) {
            if (st == EDGE_OK && !stop)
                st = fw_enum_one(&batch[i], fn, ctx, &stop, res);
            VariantClear(&batch[i]);
        }
        /* S_FALSE: fewer than asked, the end. */
        if (hr != S_OK || fetched == 0)
            break;
    }
    IEnumVARIANT_Release(en);
    return st;
}

typedef struct fw_find_ctx {
    const wchar_t *name;
    INetFwRule *found;
} fw_find_ctx;

static edge_status fw_find_cb(INetFwRule *rule, BSTR name, void *ctx, bool *stop,
                              edge_fw_result *res)
{
    fw_find_ctx *f = ctx;

    (void)res;
    if (name && wcscmp(name, f->name) == 0) {
        INetFwRule_AddRef(rule);
        f->found = rule;
        *stop = true;
    }
    return EDGE_OK;
}

edge_status fw_coll_find(fw_com *com, const wchar_t *name, INetFwRule **out, edge_fw_result *res)
{
    INetFwRule *rule = NULL;
    BSTR bname = NULL;
    BSTR rname = NULL;
    BSTR group = NULL;
    fw_find_ctx f;
    edge_status st;
    HRESULT hr;

    *out = NULL;
    st = fw_com_connect(com, res);
    if (st != EDGE_OK)
        return st;
    bname = SysAllocString(name);
    if (!bname)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for rule name");
    /*
     * Item(name) is the cheap path and answers "no rule of that name at all" definitively.  With
     * duplicates it returns just one of them, which may be a foreign rule; only then is the
     * collection enumerated for the one whose group is ours.
     */
    hr = INetFwRules_Item(com->rules, bname, &rule);
    SysFreeString(bname);
    if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND))
        return EDGE_OK;
    if (FAILED(hr) || !rule)
        return fw_fail(res, FAILED(hr) ? hr : E_POINTER, "INetFwRules::Item");
    st = fw_rule_name_group(rule, &rname, &group, res);
    if (st == EDGE_OK && group && wcscmp(group, EDGE_FW_GROUP) == 0 && rname &&
        wcscmp(rname, name) == 0) {
        *out = rule;
        rule = NULL;
    }
    SysFreeString(group);
    SysFreeString(rname);
    if (rule)
        INetFwRule_Release(rule);
    if (st != EDGE_OK || *out)
        return st;
    f.name = name;
    f.found = NULL;
    st = fw_for_each_ours(com, fw_find_cb, &f, res);
    if (st != EDGE_OK) {
        if (f.found)
            INetFwRule_Release(f.found);
        return st;
    }
    *out = f.found;
    return EDGE_OK;
}

/*
 * Remove exactly this rule object: rename it to a fresh GUID name nobody else has, then Remove
 * that name.  Remove(name) alone would take whichever duplicate the firewall finds first.
 */
static edge_status fw_remove_object(fw_com *com, INetFwRule *rule, const wchar_t *orig,
                                    edge_fw_result *res)
{
    wchar_t tmp[80];
    wchar_t guid_text[40];
    BSTR btmp = NULL;
    BSTR borig = NULL;
    GUID guid;
    edge_status st;
    HRESULT hr;

    hr = CoCreateGuid(&guid);
    if (FAILED(hr))
        return fw_fail(res, hr, "CoCreateGuid");
    if (!StringFromGUID2(&guid, guid_text, (int)(sizeof(guid_text) / sizeof(guid_text[0]))))
        return fw_result_set(res, EDGE_E_INTERNAL, E_UNEXPECTED, "StringFromGUID2 failed");
    wcscpy(tmp, FW_REMOVING_PREFIX);
    wcscat(tmp, guid_text);
    btmp = SysAllocString(tmp);
    if (!btmp)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for rule name");
    hr = INetFwRule_put_Name(rule, btmp);
    if (FAILED(hr)) {
        st = fw_fail_put(res, hr, "Name (rename before removal)");
        goto out;
    }
    hr = INetFwRules_Remove(com->rules, btmp);
    if (FAILED(hr)) {
        st = fw_fail(res, hr, "INetFwRules::Remove");
        /* Put the lease's name back so the rule is still found by it; best effort. */
        borig = SysAllocString(orig);
        if (borig)
            (void)INetFwRule_put_Name(rule, borig);
        goto out;
    }
    st = EDGE_OK;
out:
    SysFreeString(borig);
    SysFreeString(btmp);
    return st;
}

edge_status fw_coll_remove_named(fw_com *com, const wchar_t *name, edge_fw_result *res)
{
    INetFwRule *rule = NULL;
    edge_status st;

    st = fw_coll_find(com, name, &rule, res);
    if (st != EDGE_OK)
        return st;
    if (!rule) {
        fw_result_set(res, EDGE_OK, 0, "no such rule; nothing to remove");
        if (res)
            res->flags |= EDGE_FW_RESULT_WAS_ABSENT;
        return EDGE_OK;
    }
    st = fw_remove_object(com, rule, name, res);
    INetFwRule_Release(rule);
    return st;
}

typedef struct fw_collect_ctx {
    INetFwRule **rules;
    BSTR *names;
    size_t count;
    size_t cap;
} fw_collect_ctx;

static edge_status fw_collect_cb(INetFwRule *rule, BSTR name, void *ctx, bool *stop,
                                 edge_fw_result *res)
{
    fw_collect_ctx *c = ctx;
    BSTR copy;

    (void)stop;
    if (c->count == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        INetFwRule **nr;
        BSTR *nn;
        if (ncap > FW_MAX_RULES)
            return fw_result_set(res, EDGE_E_INTERNAL, 0, "more than %u rules in our group",
                                 FW_MAX_RULES);
        nr = realloc(c->rules, ncap * sizeof(*nr));
        if (!nr)
            return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for rules");
        c->rules = nr;
        nn = realloc(c->names, ncap * sizeof(*nn));
        if (!nn)
            return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for rules");
        c->names = nn;
        c->cap = ncap;
    }
    copy = SysAllocString(name ? name : L"");
    if (!copy)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for rule name");
    INetFwRule_AddRef(rule);
    c->rules[c->count] = rule;
    c->names[c->count] = copy;
    c->count++;
    return EDGE_OK;
}

edge_status fw_coll_remove_all(fw_com *com, size_t *removed, edge_fw_result *res)
{
    fw_collect_ctx c;
    edge_status st;
    size_t i;

    memset(&c, 0, sizeof(c));
    *removed = 0;
    /* Collect first, remove after: the collection must not change under a live enumerator. */
    st = fw_for_each_ours(com, fw_collect_cb, &c, res);
    for (i = 0; i < c.count; i++) {
        if (st == EDGE_OK) {
            st = fw_remove_object(com, c.rules[i], c.names[i], res);
            if (st == EDGE_OK)
                (*removed)++;
        }
        SysFreeString(c.names[i]);
        INetFwRule_Release(c.rules[i]);
    }
    free(c.names);
    free(c.rules);
    return st;
}

typedef struct fw_list_ctx {
    edge_fw_rule_list *list;
    size_t cap;
} fw_list_ctx;

static edge_status fw_list_cb(INetFwRule *rule, BSTR name, void *ctx, bool *stop,
                              edge_fw_result *res)
{
    fw_list_ctx *l = ctx;
    edge_fw_rule_list *list = l->list;
    edge_status st;

    (void)stop;
    if (list->count == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        edge_fw_listed_rule *nr;
        if (ncap > FW_MAX_RULES)
            return fw_result_set(res, EDGE_E_INTERNAL, 0, "more than %u rules in our group",
                                 FW_MAX_RULES);
        nr = realloc(list->rules, ncap * sizeof(*nr));
        if (!nr)
            return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for rules");
        list->rules = nr;
        l->cap = ncap;
    }
    st = fw_rule_read(rule, name, &list->rules[list->count], res);
    if (st == EDGE_OK)
        list->count++;
    return st;
}

edge_status fw_coll_list(fw_com *com, edge_fw_rule_list **out, edge_fw_result *res)
{
    fw_list_ctx l;
    edge_status st;

    *out = NULL;
    l.cap = 0;
    l.list = calloc(1, sizeof(*l.list));
    if (!l.list)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for rule list");
    st = fw_for_each_ours(com, fw_list_cb, &l, res);
    if (st != EDGE_OK) {
        edge_fw_rule_list_free(l.list);
        return st;
    }
    *out = l.list;
    return EDGE_OK;
}

edge_status fw_coll_verify(fw_com *com, const edge_fw_rule_spec *expected, edge_fw_result *res)
{
    wchar_t name[EDGE_FW_NAME_CHARS];
    char fields[160];
    INetFwRule *rule = NULL;
    edge_fw_listed_rule actual;
    uint32_t diff;
    edge_status st;

    if (!expected)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no expected rule spec");
    edge_fw_rule_name(expected->lease_id, name);
    st = fw_coll_find(com, name, &rule, res);
    if (st != EDGE_OK)
        return st;
    if (!rule) {
        fw_result_set(res, EDGE_E_RULE_TAMPERED, 0,
                      "the lease's firewall rule vanished behind the service's back");
        if (res)
            res->flags |= EDGE_FW_RESULT_VANISHED;
        return EDGE_E_RULE_TAMPERED;
    }
    st = fw_rule_read(rule, name, &actual, res);
    INetFwRule_Release(rule);
    if (st != EDGE_OK)
        return st;
    diff = fw_rule_compare(&actual, expected);
    fw_listed_rule_clear(&actual);
    if (diff == 0)
        return EDGE_OK;
    fw_fields_describe(diff, fields, sizeof(fields));
    fw_result_set(res, EDGE_E_RULE_TAMPERED, 0,
                  "the lease's firewall rule was edited behind the service's back: %s", fields);
    if (res)
        res->tampered = diff;
    return EDGE_E_RULE_TAMPERED;
}
