/* Counting combined / common / nginx access-log lines, one block of whole lines at a time.
 *
 *   counter = start(micros, suspicious_words, scanner_words, cutoff)
 *   rows = scan(counter, block)      # per block: the rows Python must read itself
 *   merge(counter, other)            # add another thread's counter into this one
 *   counts = totals(counter)         # at the end: everything counted
 *   failed = failed_logins(counter, login_endpoint_ids)
 *
 * A counter (a capsule) belongs to one thread at a time; scan() releases the GIL, so threads
 * with their own counters scan blocks in parallel. The kernel reads every line once: it finds
 * the line's quotes and its end 64 bytes at a time (_marks.h), then reads the fields between
 * them. It counts requests, status codes, bytes, requests per hour, response times (per whole
 * millisecond; other values are kept), and per endpoint (method and path, query cut, id-like
 * segments folded to ":id") its requests and 5xx answers; per client IP its 401, 403 and 429
 * answers, and per (IP, endpoint) its 401 and 403 answers (failed logins, once Python has said
 * which endpoints are logins). Per block it hands back only requests that may be attacks (a
 * byte or word every attack signature needs, or a scanner's agent; the real patterns run in
 * Python) and lines it could not read unambiguously (escaped quotes, unusual times, extra
 * fields), which the Python line parser, the format's reference, reads.
 * Requests before `cutoff` (Unix seconds, or None) are only counted as before the window.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_fields.h"
#include "_intern.h"
#include "_marks.h"

#define HOURS 1024     /* hours counted in place around the first one; others in a map */
#define MS_SLOTS 65536 /* response times of whole milliseconds below this are counted per ms */
#define MAX_QUOTES 16  /* a line with more quotes goes to the line parser */

typedef struct {
    int64_t time, size;
    double duration; /* NaN when the line has none */
    const char *request, *request_end, *agent, *agent_end, *ip_end;
    int status;
} LINE;

typedef struct { /* a row Python looks at: an attack candidate (offsets into the block) */
    int64_t time;
    int32_t index, start, length, request_start, request_length, agent_start, agent_length;
    int32_t status, flags, pad;
} CANDIDATE;

typedef struct {
    int32_t index, start, length;
} SLOW;

typedef struct {
    TABLE endpoints, agents, ips;
    BUF endpoint_requests, endpoint_errors, agent_scanner; /* int64 per table entry */
    BUF ip_denied;                                         /* 3 int64 per IP: 401, 403, 429 */
    COUNTS auth_failures;  /* (IP << 32 | endpoint) -> 401 and 403 answers */
    COUNTS hours_outside;  /* hour -> requests, for hours outside `hours` */
    BUF timed_other;       /* response times (double) that are not whole milliseconds */
    BUF candidates, slow;  /* this block's rows for Python */
    int64_t *per_ms;       /* MS_SLOTS counts */
    WORDS suspicious, scanners;
    int64_t status[1000], hours[HOURS], hour_base;
    int64_t lines, blank, before_window, requests, bytes_sent, first_time, last_time;
    int64_t cutoff;
    int has_cutoff, has_hours, micros, failed;
    PyObject *words; /* keeps the word lists' bytes alive */
    DATE_CACHE dates;
} STATE;

#define CAPSULE "opsbook.logs._scan.counter"

/* Bytes that make a request worth checking against the attack signatures (control and
 * non-ASCII bytes and ' ( \\ % < > ;), and those that make an agent worth checking against
 * the scanner names (control and non-ASCII bytes). Filled when the module loads. */
static unsigned char SPECIAL[256], ODD_BYTES[256];

static void init_bytes(void) {
    for (int b = 0; b < 256; b++) ODD_BYTES[b] = SPECIAL[b] = b < 0x20 || b >= 0x80;
    const char *special = SPECIAL_BYTES;
    for (const char *c = special; *c; c++) SPECIAL[(unsigned char)*c] = 1;
}

/* The key's id; -1 (the line then goes to the Python parser) when the key is not UTF-8. */
static int32_t add(STATE *state, TABLE *t, const char *from, const char *to) {
    int32_t id = intern(t, from, (size_t)(to - from));
    if (id == -2) state->failed = 1;
    return id < 0 ? -1 : id;
}

/* The next quote after `after` among the line's quotes q[*k:n], which must be `at`; its
 * closing quote, or NULL (an escaped quote, or fields not where they should be). */
static const char *quoted(const char *const *q, int n, int *k, const char *at) {
    if (*k + 1 >= n || q[*k] != at || q[*k + 1][-1] == '\\') return NULL;
    *k += 2;
    return q[*k - 1];
}

/* What follows the size: "referer" "agent", any further quoted fields, an optional number. */
static int trailer(const char *s, const char *e, const char *const *q, int n, int k, int micros,
                   LINE *line) {
    const char *opened[2];
    for (int i = 0; i < 2; i++) {
        if (e - s < 3 || s[0] != ' ' || s[1] != '"') return 0;
        const char *close = quoted(q, n, &k, s + 1);
        if (!close) return 0;
        opened[i] = s + 1;
        s = close + 1;
    }
    line->agent = opened[1] + 1;
    line->agent_end = s - 1;
    while (e - s >= 3 && s[0] == ' ' && s[1] == '"') {
        const char *close = quoted(q, n, &k, s + 1);
        if (!close) return 0;
        s = close + 1;
    }
    if (s < e && s[0] == ' ' && s + 1 < e) {
        int dotted = 0;
        double value = number(s + 1, e, &dotted);
        line->duration = (!dotted && micros) ? value / 1e6 : value;
    } else if (s != e) {
        return 0;
    }
    return 1;
}

/* The fields of one line, given its quotes q[:n]; 0 when it is not one the kernel reads
 * unambiguously. */
static int parse_line(const char *p, const char *e, const char *const *q, int n, int micros,
                      LINE *line, DATE_CACHE *dates) {
    const char *sp = find_byte(p, e, ' ');
    if (sp == e) return 0;
    line->ip_end = sp;
    const char *lb = find_byte(sp, e, '[');
    if (e - lb < 31 || !clf_time(lb, &line->time, dates)) return 0;
    if (lb[28] != ' ' || lb[29] != '"') return 0;
    const char *q1 = lb + 29;
    int k = 0;
    while (k < n && q[k] < q1) k++;
    const char *q2 = quoted(q, n, &k, q1);
    if (!q2) return 0;
    line->request = q1 + 1;
    line->request_end = request_end(q1 + 1, q2);
    const char *s = q2 + 1;
    if (e - s < 6 || s[0] != ' ' || !digits(s + 1, 3, &line->status) || s[4] != ' ') return 0;
    s += 5;
    const char *stop;
    if (e - s >= 1 && *s == '-' && (e - s == 1 || s[1] == ' ')) {
        line->size = 0;
        stop = s + 1;
    } else if ((line->size = whole_number(s, e, &stop)) < 0) {
        return 0;
    }
    return stop == e || trailer(stop, e, q, n, k, micros, line);
}

static void add_hour(STATE *state, int64_t hour, int64_t n) {
    if (!state->has_hours) {
        state->hour_base = hour - HOURS / 2;
        state->has_hours = 1;
    }
    int64_t slot = hour - state->hour_base;
    if (slot >= 0 && slot < HOURS) {
        state->hours[slot] += n;
    } else if (!counts_add(&state->hours_outside, (uint64_t)hour, n)) {
        state->failed = 1;
    }
}

static int64_t hour_of(int64_t time) { return time / 3600 - (time < 0 && time % 3600); }

/* A response time: per whole millisecond when it is one (the count keeps it exactly: the
 * value is ms / 1000.0), else kept as it is. */
static void add_duration(STATE *state, double seconds) {
    double scaled = seconds * 1000.0;
    if (scaled >= 0 && scaled < MS_SLOTS) {
        int64_t ms = (int64_t)(scaled + 0.5);
        if ((double)ms / 1000.0 == seconds) {
            state->per_ms[ms]++;
            return;
        }
    }
    state->failed |= !buf_push(&state->timed_other, &seconds, sizeof(double));
}

/* Count a request; 0 when a string it names is not UTF-8 (the line parser then reads it). */
static int count(STATE *state, const char *base, const char *limit, const char *p,
                 const char *nl, LINE *line, int32_t index) {
    char key[ENDPOINT_ROOM];
    int32_t endpoint = add(state, &state->endpoints, key,
                           key + endpoint_of(line->request, line->request_end, limit, key));
    int32_t agent = -1, ip = -1;
    if (endpoint < 0) return 0;
    if (line->agent) {
        size_t known = state->agents.count;
        agent = add(state, &state->agents, line->agent, line->agent_end);
        if (agent < 0) return 0;
        if ((size_t)agent == known) { /* a new agent: is it (maybe) a scanner? */
            int scanner = has_byte(ODD_BYTES, line->agent, line->agent_end) ||
                          has_word(&state->scanners, line->agent, line->agent_end);
            state->failed |= !buf_add(&state->agent_scanner, (size_t)agent, scanner);
        }
    }
    int status = line->status;
    int denied = status == 401 || status == 403 || status == 429;
    if (denied && (ip = add(state, &state->ips, p, line->ip_end)) < 0) return 0;
    if (state->has_cutoff && line->time < state->cutoff) {
        state->before_window++;
        return 1;
    }
    state->requests++;
    state->status[status]++;
    state->bytes_sent += line->size;
    if (state->requests == 1 || line->time < state->first_time) state->first_time = line->time;
    if (state->requests == 1 || line->time > state->last_time) state->last_time = line->time;
    add_hour(state, hour_of(line->time), 1);
    if (!isnan(line->duration)) add_duration(state, line->duration);
    state->failed |= !buf_add(&state->endpoint_requests, (size_t)endpoint, 1);
    if (status >= 500) state->failed |= !buf_add(&state->endpoint_errors, (size_t)endpoint, 1);
    if (denied) {
        size_t column = status == 401 ? 0 : status == 403 ? 1 : 2;
        state->failed |= !buf_add(&state->ip_denied, (size_t)ip * 3 + column, 1);
        if (status != 429) {
            uint64_t pair = (uint64_t)(uint32_t)ip << 32 | (uint32_t)endpoint;
            state->failed |= !counts_add(&state->auth_failures, pair, 1);
        }
    }
    int flags = special_or_word(SPECIAL, &state->suspicious, line->request, line->request_end,
                                limit);
    if (agent >= 0 && ((int64_t *)state->agent_scanner.data)[agent]) flags |= 2;
    if (flags) {
        CANDIDATE row = {line->time,
                         index,
                         (int32_t)(p - base),
                         (int32_t)(nl - p),
                         (int32_t)(line->request - base),
                         (int32_t)(line->request_end - line->request),
                         line->agent ? (int32_t)(line->agent - base) : 0,
                         line->agent ? (int32_t)(line->agent_end - line->agent) : 0,
                         line->status,
                         flags,
                         0};
        state->failed |= !buf_push(&state->candidates, &row, sizeof(row));
    }
    return 1;
}

static void scan_lines(STATE *state, const char *base, size_t len) {
    MARKS marks;
    const char *quotes[MAX_QUOTES];
    marks_start(&marks, base, len);
    int32_t index = 0;
    for (size_t at = 0; at < len && !state->failed; index++) {
        int n = 0;
        size_t mark;
        while ((mark = next_mark(&marks)) < len && base[mark] != '\n') {
            if (n < MAX_QUOTES) quotes[n] = base + mark;
            n++;
        }
        const char *p = base + at, *nl = base + mark;
        const char *e = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
        LINE line = {0};
        line.duration = NAN;
        state->lines++;
        if (e == p) {
            state->blank++;
        } else if (n > MAX_QUOTES ||
                   !parse_line(p, e, quotes, n, state->micros, &line, &state->dates) ||
                   !count(state, base, base + len, p, nl, &line, index)) {
            SLOW row = {index, (int32_t)(p - base), (int32_t)(nl - p)};
            state->failed |= !buf_push(&state->slow, &row, sizeof(row));
        }
        at = mark + 1;
    }
}

/* Word lists from a tuple of non-empty lower-case bytes. */
static int words_from(WORDS *words, PyObject *tuple) {
    const char *list[MAX_WORDS];
    size_t lengths[MAX_WORDS];
    Py_ssize_t n = PyTuple_GET_SIZE(tuple);
    if (n > MAX_WORDS) n = MAX_WORDS;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = PyTuple_GET_ITEM(tuple, i);
        if (!PyBytes_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "words must be lower-case bytes");
            return 0;
        }
        list[i] = PyBytes_AS_STRING(word);
        lengths[i] = (size_t)PyBytes_GET_SIZE(word);
    }
    if (!words_init(words, list, lengths, (int)n)) {
        PyErr_SetString(PyExc_ValueError, "word shorter than 2 bytes, or too many share a first byte");
        return 0;
    }
    return 1;
}

static void state_free(STATE *s) {
    table_free(&s->endpoints);
    table_free(&s->agents);
    table_free(&s->ips);
    BUF *bufs[] = {&s->endpoint_requests, &s->endpoint_errors, &s->agent_scanner, &s->ip_denied,
                   &s->timed_other, &s->candidates, &s->slow};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) PyMem_RawFree(bufs[i]->data);
    PyMem_RawFree(s->auth_failures.slots);
    PyMem_RawFree(s->hours_outside.slots);
    PyMem_RawFree(s->per_ms);
    Py_XDECREF(s->words);
    PyMem_RawFree(s);
}

static void capsule_free(PyObject *capsule) {
    STATE *state = PyCapsule_GetPointer(capsule, CAPSULE);
    if (state) state_free(state);
}

static STATE *state_of(PyObject *capsule) {
    return PyCapsule_GetPointer(capsule, CAPSULE); /* sets an error when not a counter */
}

static PyObject *start(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *suspicious, *scanners, *cutoff;
    STATE *state = PyMem_RawCalloc(1, sizeof(STATE));
    if (!state) return PyErr_NoMemory();
    if (!PyArg_ParseTuple(args, "pO!O!O", &state->micros, &PyTuple_Type, &suspicious,
                          &PyTuple_Type, &scanners, &cutoff) ||
        !words_from(&state->suspicious, suspicious) || !words_from(&state->scanners, scanners)) {
        PyMem_RawFree(state);
        return NULL;
    }
    state->words = Py_BuildValue("(OO)", suspicious, scanners);
    state->has_cutoff = cutoff != Py_None;
    state->cutoff = state->has_cutoff ? PyLong_AsLongLong(cutoff) : 0;
    state->per_ms = PyMem_RawCalloc(MS_SLOTS, sizeof(int64_t));
    if (!state->words || PyErr_Occurred() || !state->per_ms || !table_init(&state->endpoints) ||
        !table_init(&state->agents) || !table_init(&state->ips) ||
        !counts_init(&state->auth_failures) || !counts_init(&state->hours_outside)) {
        state_free(state);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    PyObject *capsule = PyCapsule_New(state, CAPSULE, capsule_free);
    if (!capsule) state_free(state);
    return capsule;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule;
    Py_buffer block;
    if (!PyArg_ParseTuple(args, "Oy*", &capsule, &block)) return NULL;
    STATE *state = state_of(capsule);
    if (!state) {
        PyBuffer_Release(&block);
        return NULL;
    }
    if (block.len >= INT32_MAX) {
        PyBuffer_Release(&block);
        PyErr_SetString(PyExc_ValueError, "block too large (2 GiB at most)");
        return NULL;
    }
    int64_t lines = state->lines, blank = state->blank, before = state->before_window;
    state->candidates.len = state->slow.len = 0;
    Py_BEGIN_ALLOW_THREADS
    scan_lines(state, block.buf, (size_t)block.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&block);
    if (state->failed) return PyErr_NoMemory();
    return Py_BuildValue("{sLsLsLsNsN}", "lines", (long long)(state->lines - lines), "blank",
                         (long long)(state->blank - blank), "before_window",
                         (long long)(state->before_window - before), "candidates",
                         buf_bytes(&state->candidates), "slow", buf_bytes(&state->slow));
}

static int64_t buf_get(const BUF *b, size_t index) {
    return (index + 1) * sizeof(int64_t) <= b->len ? ((const int64_t *)b->data)[index] : 0;
}

/* Re-intern every key of `from` into `into`; map[i] is the id in `into` of key i. */
static int32_t *remap(STATE *into, TABLE *to, const TABLE *from) {
    int32_t *map = PyMem_RawMalloc((from->count + 1) * sizeof(int32_t));
    if (!map) return NULL;
    for (size_t i = 0; i < from->count; i++) {
        size_t n;
        const char *key = table_key(from, i, &n);
        map[i] = intern(to, key, n); /* the key is UTF-8: only running out of memory fails */
        if (map[i] < 0) {
            into->failed = 1;
            PyMem_RawFree(map);
            return NULL;
        }
    }
    return map;
}

/* Add everything `b` counted into `a` (both done scanning). */
static void merge_states(STATE *a, const STATE *b) {
    if (!b->requests) return;
    int32_t *endpoints = remap(a, &a->endpoints, &b->endpoints);
    int32_t *ips = endpoints ? remap(a, &a->ips, &b->ips) : NULL;
    if (!ips) {
        PyMem_RawFree(endpoints);
        a->failed = 1;
        return;
    }
    for (size_t i = 0; i < b->endpoints.count; i++) {
        int64_t requests = buf_get(&b->endpoint_requests, i), errors = buf_get(&b->endpoint_errors, i);
        if (requests) a->failed |= !buf_add(&a->endpoint_requests, (size_t)endpoints[i], requests);
        if (errors) a->failed |= !buf_add(&a->endpoint_errors, (size_t)endpoints[i], errors);
    }
    for (size_t i = 0; i < b->ips.count; i++) {
        for (size_t k = 0; k < 3; k++) {
            int64_t n = buf_get(&b->ip_denied, i * 3 + k);
            if (n) a->failed |= !buf_add(&a->ip_denied, (size_t)ips[i] * 3 + k, n);
        }
    }
    for (size_t i = 0; i <= b->auth_failures.mask; i++) {
        const COUNT *c = &b->auth_failures.slots[i];
        if (!c->count) continue;
        uint64_t pair = (uint64_t)(uint32_t)ips[c->key >> 32] << 32 |
                        (uint32_t)endpoints[c->key & 0xFFFFFFFFu];
        a->failed |= !counts_add(&a->auth_failures, pair, c->count);
    }
    PyMem_RawFree(endpoints);
    PyMem_RawFree(ips);
    if (!a->requests || b->first_time < a->first_time) a->first_time = b->first_time;
    if (!a->requests || b->last_time > a->last_time) a->last_time = b->last_time;
    a->requests += b->requests;
    a->bytes_sent += b->bytes_sent;
    for (int i = 0; i < 1000; i++) a->status[i] += b->status[i];
    for (int64_t i = 0; i < HOURS; i++) {
        if (b->hours[i]) add_hour(a, b->hour_base + i, b->hours[i]);
    }
    for (size_t i = 0; i <= b->hours_outside.mask; i++) {
        const COUNT *c = &b->hours_outside.slots[i];
        if (c->count) add_hour(a, (int64_t)c->key, c->count);
    }
    for (size_t i = 0; i < MS_SLOTS; i++) a->per_ms[i] += b->per_ms[i];
    if (b->timed_other.len) {
        a->failed |= !buf_push(&a->timed_other, b->timed_other.data, b->timed_other.len);
    }
}

static PyObject *merge(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *into, *from;
    if (!PyArg_ParseTuple(args, "OO", &into, &from)) return NULL;
    STATE *a = state_of(into), *b = a ? state_of(from) : NULL;
    if (!b) return NULL;
    if (a == b) {
        PyErr_SetString(PyExc_ValueError, "a counter cannot be merged into itself");
        return NULL;
    }
    merge_states(a, b);
    if (a->failed) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* {offset + i: counts[i]} for the non-zero counts. */
static PyObject *dict_of(const int64_t *counts, size_t n, int64_t offset) {
    PyObject *dict = PyDict_New();
    for (size_t i = 0; dict && i < n; i++) {
        if (!counts[i]) continue;
        PyObject *key = PyLong_FromLongLong(offset + (int64_t)i);
        PyObject *value = PyLong_FromLongLong(counts[i]);
        if (!key || !value || PyDict_SetItem(dict, key, value) < 0) Py_CLEAR(dict);
        Py_XDECREF(key);
        Py_XDECREF(value);
    }
    return dict;
}

/* A BUF of int64 as a list of int. */
static PyObject *list_of(const BUF *b) {
    size_t n = b->len / sizeof(int64_t);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *value = PyLong_FromLongLong(((const int64_t *)b->data)[i]);
        if (!value) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, value);
    }
    return list;
}

/* Requests per hour: the hours counted in place and the others. */
static PyObject *hours_of(const STATE *s) {
    PyObject *hours = dict_of(s->hours, HOURS, s->hour_base);
    for (size_t i = 0; hours && i <= s->hours_outside.mask; i++) {
        const COUNT *c = &s->hours_outside.slots[i];
        if (!c->count) continue;
        PyObject *key = PyLong_FromLongLong((int64_t)c->key);
        PyObject *value = PyLong_FromLongLong(c->count);
        if (!key || !value || PyDict_SetItem(hours, key, value) < 0) Py_CLEAR(hours);
        Py_XDECREF(key);
        Py_XDECREF(value);
    }
    return hours;
}

/* The endpoints that answered 401 or 403 (ids, each once). */
static PyObject *auth_endpoints(const STATE *s) {
    uint8_t *seen = PyMem_RawCalloc(s->endpoints.count + 1, 1);
    PyObject *list = seen ? PyList_New(0) : PyErr_NoMemory();
    for (size_t i = 0; list && i <= s->auth_failures.mask; i++) {
        const COUNT *c = &s->auth_failures.slots[i];
        size_t endpoint = (size_t)(c->key & 0xFFFFFFFFu);
        if (!c->count || seen[endpoint]) continue;
        seen[endpoint] = 1;
        PyObject *id = PyLong_FromSize_t(endpoint);
        if (!id || PyList_Append(list, id) < 0) Py_CLEAR(list);
        Py_XDECREF(id);
    }
    PyMem_RawFree(seen);
    return list;
}

static PyObject *totals(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule;
    if (!PyArg_ParseTuple(args, "O", &capsule)) return NULL;
    const STATE *s = state_of(capsule);
    if (!s) return NULL;
    return Py_BuildValue(
        "{sLsLsLsLsNsNsNsNsNsNsNsNsNsN}", "requests", (long long)s->requests, "bytes_sent",
        (long long)s->bytes_sent, "first_time", (long long)s->first_time, "last_time",
        (long long)s->last_time, "status", dict_of(s->status, 1000, 0), "hours", hours_of(s),
        "per_ms", dict_of(s->per_ms, MS_SLOTS, 0), "timed_other", buf_bytes(&s->timed_other),
        "endpoints", table_keys(&s->endpoints), "endpoint_requests",
        list_of(&s->endpoint_requests), "endpoint_errors", list_of(&s->endpoint_errors), "ips",
        table_keys(&s->ips), "ip_denied", list_of(&s->ip_denied), "auth_endpoints",
        auth_endpoints(s));
}

/* {IP: failed logins}: the 401 and 403 answers to the given (login) endpoints per IP. */
static PyObject *failed_logins(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule, *logins;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &logins)) return NULL;
    const STATE *s = state_of(capsule);
    PyObject *ids = s ? PySequence_Fast(logins, "logins must be a sequence of endpoint ids") : NULL;
    if (!ids) return NULL;
    uint8_t *login = PyMem_RawCalloc(s->endpoints.count + 1, 1);
    int64_t *per_ip = PyMem_RawCalloc(s->ips.count + 1, sizeof(int64_t));
    PyObject *out = NULL;
    if (!login || !per_ip) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(ids); i++) {
        Py_ssize_t id = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(ids, i));
        if (id < 0 || (size_t)id >= s->endpoints.count) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_IndexError, "no such endpoint");
            goto done;
        }
        login[id] = 1;
    }
    for (size_t i = 0; i <= s->auth_failures.mask; i++) {
        const COUNT *c = &s->auth_failures.slots[i];
        if (c->count && login[c->key & 0xFFFFFFFFu]) per_ip[c->key >> 32] += c->count;
    }
    out = PyDict_New();
    for (size_t i = 0; out && i < s->ips.count; i++) {
        if (!per_ip[i]) continue;
        size_t n;
        const char *key = table_key(&s->ips, i, &n);
        PyObject *ip = PyUnicode_DecodeUTF8(key, (Py_ssize_t)n, "strict");
        PyObject *count = PyLong_FromLongLong(per_ip[i]);
        if (!ip || !count || PyDict_SetItem(out, ip, count) < 0) Py_CLEAR(out);
        Py_XDECREF(ip);
        Py_XDECREF(count);
    }
done:
    Py_DECREF(ids);
    PyMem_RawFree(login);
    PyMem_RawFree(per_ip);
    return out;
}

static PyMethodDef methods[] = {
    {"start", start, METH_VARARGS, "A counter: start(micros, suspicious, scanners, cutoff)."},
    {"scan", scan, METH_VARARGS, "Count a block of whole lines; returns the rows to read."},
    {"merge", merge, METH_VARARGS, "Add another counter's counts into this one."},
    {"totals", totals, METH_VARARGS, "Everything a counter counted."},
    {"failed_logins", failed_logins, METH_VARARGS, "{IP: 401/403 answers to login endpoints}."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) {
    init_bytes();
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "MS_SLOTS", MS_SLOTS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
