/*
 * Firewall backend: the worker thread that owns COM, its job queue, and the public C API of
 * firewall.h.  Only the worker thread ever calls into COM; callers block on a per-job event.
 */
#include "firewall_internal.h"

#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_DEFAULT_CALL_TIMEOUT_MS 30000u
#define FW_DEFAULT_STOP_TIMEOUT_MS 10000u
/* Generous: entering the MTA never takes long; a stuck start must not hang the service. */
#define FW_START_TIMEOUT_MS 30000u
/* Cap on a rule name passed to edge_fw_remove_rule_named. */
#define FW_MAX_NAME_CHARS 1024

typedef enum fw_job_kind {
    FW_JOB_ADD,
    FW_JOB_REMOVE,
    FW_JOB_REMOVE_ALL,
    FW_JOB_LIST,
    FW_JOB_VERIFY,
    FW_JOB_STATE
} fw_job_kind;

typedef enum fw_job_phase { FW_JOB_QUEUED, FW_JOB_RUNNING, FW_JOB_DONE } fw_job_phase;

/*
 * One request.  Owned by the caller, except when the caller gave up waiting while it ran
 * (abandoned): then the worker frees it when it finishes.  Inputs are private copies so an
 * abandoned job never reads the caller's memory.
 */
typedef struct fw_job {
    struct fw_job *next;
    fw_job_kind kind;
    fw_job_phase phase; /* guarded by the backend lock */
    bool abandoned;     /* guarded by the backend lock */
    HANDLE done;        /* set by the worker (or shutdown) when phase becomes DONE */
    edge_fw_rule_spec spec;
    wchar_t *name;
    size_t removed;
    edge_fw_rule_list *list;
    edge_fw_state state;
    edge_fw_result res;
} fw_job;

struct edge_fw_backend {
    SRWLOCK lock;
    CONDITION_VARIABLE wake; /* worker waits here for jobs or shutdown */
    fw_job *head;            /* queue, guarded by lock */
    fw_job *tail;
    bool stopping; /* guarded by lock */
    LONG refs;     /* the owner and the worker thread */
    HANDLE thread;
    HANDLE ready;
    HRESULT init_hr;
    uint32_t call_timeout_ms;
    uint32_t stop_timeout_ms;
};

static void fw_backend_release(edge_fw_backend *fw)
{
    if (InterlockedDecrement(&fw->refs) != 0)
        return;
    if (fw->ready)
        CloseHandle(fw->ready);
    free(fw);
}

static void fw_job_free(fw_job *job)
{
    if (!job)
        return;
    edge_fw_rule_list_free(job->list);
    free(job->name);
    free(job->spec.image_path);
    free(job->spec.owner_sid);
    if (job->done)
        CloseHandle(job->done);
    free(job);
}

static wchar_t *fw_wcsdup_capped(const wchar_t *s, size_t cap)
{
    size_t n = 0;
    wchar_t *copy;

    while (n < cap && s[n])
        n++;
    if (n >= cap)
        return NULL;
    copy = malloc((n + 1) * sizeof(wchar_t));
    if (copy)
        memcpy(copy, s, (n + 1) * sizeof(wchar_t));
    return copy;
}

static edge_status fw_job_new(fw_job_kind kind, fw_job **out, edge_fw_result *res)
{
    fw_job *job;
    DWORD err;

    *out = NULL;
    job = calloc(1, sizeof(*job));
    if (!job)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for firewall job");
    job->kind = kind;
    job->done = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!job->done) {
        err = GetLastError();
        free(job);
        return fw_result_set(res, EDGE_E_INTERNAL, HRESULT_FROM_WIN32(err),
                             "CreateEvent failed (%lu)", (unsigned long)err);
    }
    fw_result_set(&job->res, EDGE_OK, 0, NULL);
    *out = job;
    return EDGE_OK;
}

/* Validate spec and copy it into the job (strings duplicated). */
static edge_status fw_job_set_spec(fw_job *job, const edge_fw_rule_spec *spec, edge_fw_result *res)
{
    edge_status st = fw_spec_check(spec, res);

    if (st != EDGE_OK)
        return st;
    job->spec = *spec;
    job->spec.image_path = fw_wcsdup_capped(spec->image_path, EDGE_FW_MAX_PATH_CHARS);
    job->spec.owner_sid = fw_wcsdup_capped(spec->owner_sid, EDGE_FW_MAX_SID_CHARS);
    if (!job->spec.image_path || !job->spec.owner_sid)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for rule spec");
    return EDGE_OK;
}

static void fw_run_job(fw_com *com, fw_job *job)
{
    edge_status st = EDGE_OK;

    switch (job->kind) {
    case FW_JOB_ADD:
        st = fw_coll_add(com, &job->spec, &job->res);
        break;
    case FW_JOB_REMOVE:
        st = fw_coll_remove_named(com, job->name, &job->res);
        break;
    case FW_JOB_REMOVE_ALL:
        st = fw_coll_remove_all(com, &job->removed, &job->res);
        break;
    case FW_JOB_LIST:
        st = fw_coll_list(com, &job->list, &job->res);
        break;
    case FW_JOB_VERIFY:
        st = fw_coll_verify(com, &job->spec, &job->res);
        break;
    case FW_JOB_STATE:
        fw_state_read(com, &job->state);
        st = EDGE_OK;
        break;
    }
    job->res.status = st;
    /*
     * After a failure on the firewall's side the cached connection may be what is broken (e.g.
     * the firewall service restarted): drop it, the next job reconnects.
     */
    if (st == EDGE_E_FIREWALL || st == EDGE_E_FIREWALL_UNAVAILABLE)
        fw_com_disconnect(com);
}

static unsigned __stdcall fw_worker(void *arg)
{
    edge_fw_backend *fw = arg;
    fw_com com = {NULL, NULL};
    fw_job *job;
    bool abandoned;
    HRESULT hr;

    /* MTA: the firewall objects are free-threaded ("Both"), and an MTA thread needs no pump. */
    hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    fw->init_hr = hr;
    SetEvent(fw->ready);
    if (FAILED(hr))
        goto out;
    for (;;) {
        AcquireSRWLockExclusive(&fw->lock);
        while (!fw->head && !fw->stopping)
            SleepConditionVariableSRW(&fw->wake, &fw->lock, INFINITE, 0);
        job = fw->head;
        if (!job) {
            ReleaseSRWLockExclusive(&fw->lock);
            break;
        }
        fw->head = job->next;
        if (!fw->head)
            fw->tail = NULL;
        job->next = NULL;
        job->phase = FW_JOB_RUNNING;
        ReleaseSRWLockExclusive(&fw->lock);

        fw_run_job(&com, job);

        AcquireSRWLockExclusive(&fw->lock);
        job->phase = FW_JOB_DONE;
        abandoned = job->abandoned;
        if (!abandoned)
            SetEvent(job->done); /* from here on the caller owns the job */
        ReleaseSRWLockExclusive(&fw->lock);
        if (abandoned)
            fw_job_free(job);
    }
    fw_com_disconnect(&com);
    CoUninitialize();
out:
    fw_backend_release(fw);
    return 0;
}

edge_status edge_fw_start(const edge_fw_config *cfg, edge_fw_backend **out, edge_fw_result *res)
{
    edge_fw_backend *fw = NULL;
    uintptr_t th;
    DWORD err;
    DWORD wait;

    *out = NULL;
    fw_result_set(res, EDGE_OK, 0, NULL);
    if (res)
        res->flags = res->tampered = 0;
    fw = calloc(1, sizeof(*fw));
    if (!fw)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for backend");
    InitializeSRWLock(&fw->lock);
    InitializeConditionVariable(&fw->wake);
    fw->call_timeout_ms =
        (cfg && cfg->call_timeout_ms) ? cfg->call_timeout_ms : FW_DEFAULT_CALL_TIMEOUT_MS;
    fw->stop_timeout_ms =
        (cfg && cfg->stop_timeout_ms) ? cfg->stop_timeout_ms : FW_DEFAULT_STOP_TIMEOUT_MS;
    fw->ready = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!fw->ready) {
        err = GetLastError();
        free(fw);
        return fw_result_set(res, EDGE_E_INTERNAL, HRESULT_FROM_WIN32(err),
                             "CreateEvent failed (%lu)", (unsigned long)err);
    }
    fw->refs = 2; /* owner + worker */
    /* _beginthreadex, not CreateThread: the worker uses the C runtime. */
    th = _beginthreadex(NULL, 0, fw_worker, fw, 0, NULL);
    if (th == 0) {
        CloseHandle(fw->ready);
        free(fw);
        return fw_result_set(res, EDGE_E_INTERNAL, 0, "cannot start the firewall worker thread");
    }
    fw->thread = (HANDLE)th;
    wait = WaitForSingleObject(fw->ready, FW_START_TIMEOUT_MS);
    if (wait != WAIT_OBJECT_0 || FAILED(fw->init_hr)) {
        edge_status st;
        if (wait != WAIT_OBJECT_0)
            st = fw_result_set(res, EDGE_E_INTERNAL, 0, "firewall worker did not start");
        else
            st = fw_result_set(res, EDGE_E_FIREWALL, fw->init_hr,
                               "CoInitializeEx on the firewall worker failed (0x%08lX)",
                               (unsigned long)fw->init_hr);
        edge_fw_stop(fw);
        return st;
    }
    *out = fw;
    return EDGE_OK;
}

void edge_fw_begin_shutdown(edge_fw_backend *fw)
{
    fw_job *job;

    if (!fw)
        return;
    AcquireSRWLockExclusive(&fw->lock);
    fw->stopping = true;
    while ((job = fw->head) != NULL) {
        fw->head = job->next;
        job->next = NULL;
        fw_result_set(&job->res, EDGE_E_SHUTTING_DOWN, 0, "firewall backend is stopping");
        job->phase = FW_JOB_DONE;
        SetEvent(job->done); /* queued jobs are never abandoned: their caller still waits */
    }
    fw->tail = NULL;
    WakeAllConditionVariable(&fw->wake);
    ReleaseSRWLockExclusive(&fw->lock);
}

void edge_fw_stop(edge_fw_backend *fw)
{
    if (!fw)
        return;
    edge_fw_begin_shutdown(fw);
    if (fw->thread) {
        /*
         * A worker stuck inside a COM call cannot be interrupted safely; past the timeout it is
         * left to finish on its own and drops the last reference to the shared state itself.
         */
        (void)WaitForSingleObject(fw->thread, fw->stop_timeout_ms);
        CloseHandle(fw->thread);
        fw->thread = NULL;
    }
    fw_backend_release(fw);
}

/*
 * Queue job and wait for it.  On return the caller owns job unless it was abandoned (then it is
 * no longer the caller's to touch; returns EDGE_E_TIMEOUT with *abandoned = true).  The job's
 * result is copied to res either way.
 */
static edge_status fw_submit(edge_fw_backend *fw, fw_job *job, bool *abandoned, edge_fw_result *res)
{
    DWORD wait;
    edge_status st;

    *abandoned = false;
    AcquireSRWLockExclusive(&fw->lock);
    if (fw->stopping) {
        ReleaseSRWLockExclusive(&fw->lock);
        return fw_result_set(res, EDGE_E_SHUTTING_DOWN, 0, "firewall backend is stopping");
    }
    job->phase = FW_JOB_QUEUED;
    if (fw->tail)
        fw->tail->next = job;
    else
        fw->head = job;
    fw->tail = job;
    WakeConditionVariable(&fw->wake);
    ReleaseSRWLockExclusive(&fw->lock);

    wait = WaitForSingleObject(job->done, fw->call_timeout_ms);
    AcquireSRWLockExclusive(&fw->lock);
    if (job->phase == FW_JOB_QUEUED) {
        /* Never started: withdraw it, so a timeout here means nothing was done. */
        fw_job **pp = &fw->head;
        fw_job *prev = NULL;
        while (*pp && *pp != job) {
            prev = *pp;
            pp = &(*pp)->next;
        }
        if (*pp)
            *pp = job->next;
        if (fw->tail == job)
            fw->tail = prev;
        job->next = NULL;
        ReleaseSRWLockExclusive(&fw->lock);
        st = fw_result_set(res, EDGE_E_TIMEOUT, 0,
                           "firewall call timed out after %lu ms before it started; nothing done",
                           (unsigned long)fw->call_timeout_ms);
        if (res)
            res->flags = EDGE_FW_RESULT_NOT_STARTED;
        return st;
    }
    if (job->phase == FW_JOB_RUNNING) {
        job->abandoned = true;
        *abandoned = true;
        ReleaseSRWLockExclusive(&fw->lock);
        st = fw_result_set(res, EDGE_E_TIMEOUT, 0,
                           "firewall call timed out after %lu ms while running; outcome unknown",
                           (unsigned long)fw->call_timeout_ms);
        if (res)
            res->flags = EDGE_FW_RESULT_OUTCOME_UNKNOWN;
        return st;
    }
    ReleaseSRWLockExclusive(&fw->lock);
    (void)wait; /* DONE, whether the wait saw the event or raced with the timeout */
    if (res)
        *res = job->res;
    return job->res.status;
}

/* Submit and dispose: for jobs whose only output is the result. */
static edge_status fw_submit_simple(edge_fw_backend *fw, fw_job *job, edge_fw_result *res)
{
    bool abandoned;
    edge_status st = fw_submit(fw, job, &abandoned, res);

    if (!abandoned)
        fw_job_free(job);
    return st;
}

static void fw_res_init(edge_fw_result *res)
{
    if (res) {
        fw_result_set(res, EDGE_OK, 0, NULL);
        res->flags = 0;
        res->tampered = 0;
    }
}

/* A job about one rule spec (add, verify) whose only output is the result. */
static edge_status fw_submit_spec(edge_fw_backend *fw, fw_job_kind kind,
                                  const edge_fw_rule_spec *spec, edge_fw_result *res)
{
    fw_job *job;
    edge_status st;

    fw_res_init(res);
    if (!fw)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no firewall backend");
    st = fw_job_new(kind, &job, res);
    if (st != EDGE_OK)
        return st;
    st = fw_job_set_spec(job, spec, res);
    if (st != EDGE_OK) {
        fw_job_free(job);
        return st;
    }
    return fw_submit_simple(fw, job, res);
}

edge_status edge_fw_add_rule(edge_fw_backend *fw, const edge_fw_rule_spec *spec,
                             edge_fw_result *res)
{
    return fw_submit_spec(fw, FW_JOB_ADD, spec, res);
}

edge_status edge_fw_remove_rule_named(edge_fw_backend *fw, const wchar_t *name, edge_fw_result *res)
{
    fw_job *job;
    edge_status st;

    fw_res_init(res);
    if (!fw || !name || !name[0])
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no backend or empty rule name");
    st = fw_job_new(FW_JOB_REMOVE, &job, res);
    if (st != EDGE_OK)
        return st;
    job->name = fw_wcsdup_capped(name, FW_MAX_NAME_CHARS);
    if (!job->name) {
        fw_job_free(job);
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "rule name too long or no memory");
    }
    return fw_submit_simple(fw, job, res);
}

edge_status edge_fw_remove_rule(edge_fw_backend *fw, const uint8_t lease_id[EDGE_FW_LEASE_ID_SIZE],
                                edge_fw_result *res)
{
    wchar_t name[EDGE_FW_NAME_CHARS];

    if (!lease_id) {
        fw_res_init(res);
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no lease id");
    }
    edge_fw_rule_name(lease_id, name);
    return edge_fw_remove_rule_named(fw, name, res);
}

edge_status edge_fw_remove_all(edge_fw_backend *fw, size_t *removed, edge_fw_result *res)
{
    fw_job *job;
    bool abandoned;
    edge_status st;

    fw_res_init(res);
    if (removed)
        *removed = 0;
    if (!fw)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no firewall backend");
    st = fw_job_new(FW_JOB_REMOVE_ALL, &job, res);
    if (st != EDGE_OK)
        return st;
    st = fw_submit(fw, job, &abandoned, res);
    if (abandoned)
        return st;
    if (removed)
        *removed = job->removed;
    fw_job_free(job);
    return st;
}

edge_status edge_fw_list_rules(edge_fw_backend *fw, edge_fw_rule_list **out, edge_fw_result *res)
{
    fw_job *job;
    bool abandoned;
    edge_status st;

    fw_res_init(res);
    if (!out)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no output for rule list");
    *out = NULL;
    if (!fw)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no firewall backend");
    st = fw_job_new(FW_JOB_LIST, &job, res);
    if (st != EDGE_OK)
        return st;
    st = fw_submit(fw, job, &abandoned, res);
    if (abandoned)
        return st;
    if (st == EDGE_OK) {
        *out = job->list;
        job->list = NULL;
    }
    fw_job_free(job);
    return st;
}

void edge_fw_rule_list_free(edge_fw_rule_list *list)
{
    size_t i;

    if (!list)
        return;
    for (i = 0; i < list->count; i++)
        fw_listed_rule_clear(&list->rules[i]);
    free(list->rules);
    free(list);
}

edge_status edge_fw_verify_rule(edge_fw_backend *fw, const edge_fw_rule_spec *expected,
                                edge_fw_result *res)
{
    return fw_submit_spec(fw, FW_JOB_VERIFY, expected, res);
}

static void fw_state_not_read(edge_fw_state *out, const char *why)
{
    edge_fw_state_item *items[2 * EDGE_FW_PROFILE_COUNT + 2];
    size_t n = 0;
    size_t i;

    for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++) {
        items[n++] = &out->firewall[i];
        items[n++] = &out->local_merge[i];
    }
    items[n++] = &out->current;
    items[n++] = &out->teredo;
    for (i = 0; i < n; i++) {
        items[i]->state = EDGE_FW_UNKNOWN;
        (void)snprintf(items[i]->reason, sizeof(items[i]->reason), "not read: %s", why);
    }
}

edge_status edge_fw_read_state(edge_fw_backend *fw, edge_fw_state *out, edge_fw_result *res)
{
    edge_fw_result local;
    fw_job *job;
    bool abandoned;
    edge_status st;

    if (!res)
        res = &local;
    fw_res_init(res);
    if (!out)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no output for state");
    memset(out, 0, sizeof(*out));
    if (!fw) {
        st = fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no firewall backend");
        fw_state_not_read(out, res->message);
        return st;
    }
    st = fw_job_new(FW_JOB_STATE, &job, res);
    if (st != EDGE_OK) {
        fw_state_not_read(out, res->message);
        return st;
    }
    st = fw_submit(fw, job, &abandoned, res);
    if (abandoned) {
        fw_state_not_read(out, res->message);
        return st;
    }
    if (st == EDGE_OK)
        *out = job->state;
    else
        fw_state_not_read(out, res->message);
    fw_job_free(job);
    return st;
}
