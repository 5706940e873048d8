/* Counting combined / common / nginx access-log lines, one block of whole lines at a time.
 *
 *   counter = start(micros, suspicious_words, scanner_words, cutoff)
 *   rows = scan(counter, block)      # per block: the rows Python must read itself
 *   counts = totals(counter)         # at the end: everything counted
 *
 * A counter (a capsule) belongs to one thread at a time; scan() releases the GIL, so threads
 * with their own counters scan blocks in parallel. The kernel reads every line once and counts
 * requests, status codes, bytes, requests per hour, response times, and per endpoint (method
 * and path, query cut, id-like segments folded to ":id") its requests and 5xx answers, keeping
 * string tables of endpoints, user agents and the client IPs of 401/403/429 answers, and the
 * denied rows (IP, status, endpoint). Per block it hands back only requests that may be
 * attacks (a byte or word every attack signature needs, or a scanner's agent; the real
 * patterns run in Python) and lines it could not read unambiguously (escaped quotes, unusual
 * times, extra fields), which the Python line parser, the format's reference, reads.
 * Requests before `cutoff` (Unix seconds, or None) are only counted as before the window.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_fields.h"
#include "_intern.h"

#define HOURS 1024 /* hours counted in place around the first one; others are listed */

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
    int32_t ip, status, endpoint;
} DENIED;

typedef struct {
    TABLE endpoints, agents, ips;
    BUF endpoint_requests, endpoint_errors, agent_scanner; /* int64 per table entry */
    BUF durations, hours_outside, denied, candidates, slow;
    WORDS suspicious, scanners;
    int64_t status[1000], hours[HOURS], hour_base;
    int64_t lines, blank, before_window, requests, bytes_sent, first_time, last_time;
    int64_t cutoff;
    int has_cutoff, micros, failed;
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
    const char *special = "'(\\%<>;";
    for (const char *c = special; *c; c++) SPECIAL[(unsigned char)*c] = 1;
}

/* The key's id; -1 (the line then goes to the Python parser) when the key is not UTF-8. */
static int32_t add(STATE *state, TABLE *t, const char *from, const char *to) {
    int32_t id = intern(t, from, (size_t)(to - from));
    if (id == -2) state->failed = 1;
    return id < 0 ? -1 : id;
}

/* What follows the size: "referer" "agent", any further quoted fields, an optional number. */
static int trailer(const char *s, const char *e, int micros, LINE *line) {
    const char *opened[2];
    for (int i = 0; i < 2; i++) {
        if (e - s < 3 || s[0] != ' ' || s[1] != '"') return 0;
        const char *close = closing_quote(s + 1, e);
        if (!close) return 0;
        opened[i] = s + 1;
        s = close + 1;
    }
    line->agent = opened[1] + 1;
    line->agent_end = s - 1;
    while (e - s >= 3 && s[0] == ' ' && s[1] == '"') {
        const char *close = closing_quote(s + 1, e);
        if (!close) return 0;
        s = close + 1;
    }
    if (s < e && s[0] == ' ' && s + 1 < e) {
        const char *end = memchr(s + 1, ' ', (size_t)(e - s - 1));
        int dotted = 0;
        double value = number(s + 1, end ? end : e, &dotted);
        line->duration = (!dotted && micros) ? value / 1e6 : value;
    } else if (s != e) {
        return 0;
    }
    return 1;
}

/* The fields of one line; 0 when it is not one the kernel reads unambiguously. */
static int parse_line(const char *p, const char *e, int micros, LINE *line, DATE_CACHE *dates) {
    const char *sp = memchr(p, ' ', (size_t)(e - p));
    if (!sp) return 0;
    line->ip_end = sp;
    const char *lb = memchr(sp, '[', (size_t)(e - sp));
    if (!lb || e - lb < 31 || !clf_time(lb, &line->time, dates)) return 0;
    if (lb[28] != ' ' || lb[29] != '"') return 0;
    const char *q1 = lb + 29, *q2 = closing_quote(q1, e);
    if (!q2) return 0;
    line->request = q1 + 1;
    line->request_end = request_end(q1 + 1, q2);
    const char *s = q2 + 1;
    if (e - s < 6 || s[0] != ' ' || !digits(s + 1, 3, &line->status) || s[4] != ' ') return 0;
    s += 5;
    const char *stop = memchr(s, ' ', (size_t)(e - s));
    if (!stop) stop = e;
    if (stop - s == 1 && *s == '-') {
        line->size = 0;
    } else {
        int dotted = 0;
        double size = number(s, stop, &dotted);
        if (isnan(size) || dotted || stop == s) return 0;
        line->size = (int64_t)size;
    }
    return stop == e || trailer(stop, e, micros, line);
}

static void count_hour(STATE *state, int64_t time) {
    int64_t hour = time / 3600 - (time < 0 && time % 3600);
    if (state->requests == 1) state->hour_base = hour - HOURS / 2;
    int64_t slot = hour - state->hour_base;
    if (slot >= 0 && slot < HOURS) {
        state->hours[slot]++;
    } else if (!buf_push(&state->hours_outside, &hour, sizeof(hour))) {
        state->failed = 1;
    }
}

/* Count a request; 0 when a string it names is not UTF-8 (the line parser then reads it). */
static int count(STATE *state, const char *base, const char *p, const char *nl, LINE *line,
                 int32_t index) {
    char key[ENDPOINT_MAX + 4];
    int32_t endpoint = add(state, &state->endpoints, key,
                           key + endpoint_key(line->request, line->request_end, key));
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
    int denied = line->status == 401 || line->status == 403 || line->status == 429;
    if (denied && (ip = add(state, &state->ips, p, line->ip_end)) < 0) return 0;
    if (state->has_cutoff && line->time < state->cutoff) {
        state->before_window++;
        return 1;
    }
    state->requests++;
    state->status[line->status]++;
    state->bytes_sent += line->size;
    if (state->requests == 1 || line->time < state->first_time) state->first_time = line->time;
    if (state->requests == 1 || line->time > state->last_time) state->last_time = line->time;
    count_hour(state, line->time);
    if (!isnan(line->duration)) {
        state->failed |= !buf_push(&state->durations, &line->duration, sizeof(double));
    }
    state->failed |= !buf_add(&state->endpoint_requests, (size_t)endpoint, 1);
    state->failed |= !buf_add(&state->endpoint_errors, (size_t)endpoint, line->status >= 500);
    if (denied) {
        DENIED row = {ip, line->status, endpoint};
        state->failed |= !buf_push(&state->denied, &row, sizeof(row));
    }
    int flags = has_byte(SPECIAL, line->request, line->request_end) ||
                has_word(&state->suspicious, line->request, line->request_end);
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

static void scan_lines(STATE *state, const char *base, const char *end) {
    int32_t index = 0;
    for (const char *p = base; p < end && !state->failed; index++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        const char *e = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
        LINE line = {0};
        line.duration = NAN;
        state->lines++;
        if (e == p) {
            state->blank++;
        } else if (!parse_line(p, e, state->micros, &line, &state->dates) ||
                   !count(state, base, p, nl, &line, index)) {
            SLOW row = {index, (int32_t)(p - base), (int32_t)(nl - p)};
            state->failed |= !buf_push(&state->slow, &row, sizeof(row));
        }
        p = nl + 1;
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
    BUF *bufs[] = {&s->endpoint_requests, &s->endpoint_errors, &s->agent_scanner, &s->durations,
                   &s->hours_outside, &s->denied, &s->candidates, &s->slow};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) PyMem_RawFree(bufs[i]->data);
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
    if (!state->words || PyErr_Occurred() || !table_init(&state->endpoints) ||
        !table_init(&state->agents) || !table_init(&state->ips)) {
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
    PyObject *out = NULL;
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
    scan_lines(state, block.buf, (const char *)block.buf + block.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&block);
    if (state->failed) return PyErr_NoMemory();
    out = Py_BuildValue("{sLsLsLsNsN}", "lines", (long long)(state->lines - lines), "blank",
                        (long long)(state->blank - blank), "before_window",
                        (long long)(state->before_window - before), "candidates",
                        buf_bytes(&state->candidates), "slow", buf_bytes(&state->slow));
    return out;
}

static PyObject *totals(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule;
    if (!PyArg_ParseTuple(args, "O", &capsule)) return NULL;
    const STATE *s = state_of(capsule);
    if (!s) return NULL;
    return Py_BuildValue(
        "{sLsLsLsy#sLsy#sNsNsNsNsNsNsNsN}", "requests", (long long)s->requests, "bytes_sent",
        (long long)s->bytes_sent, "first_time", (long long)s->first_time, "status",
        (const char *)s->status, (Py_ssize_t)sizeof(s->status), "last_time",
        (long long)s->last_time, "hours", (const char *)s->hours, (Py_ssize_t)sizeof(s->hours),
        "hours_outside", buf_bytes(&s->hours_outside), "durations", buf_bytes(&s->durations),
        "endpoints", table_result(&s->endpoints), "endpoint_requests",
        buf_bytes(&s->endpoint_requests), "endpoint_errors", buf_bytes(&s->endpoint_errors),
        "ips", table_result(&s->ips), "denied", buf_bytes(&s->denied), "hour_base",
        Py_BuildValue("L", (long long)s->hour_base));
}

static PyMethodDef methods[] = {
    {"start", start, METH_VARARGS, "A counter: start(micros, suspicious, scanners, cutoff)."},
    {"scan", scan, METH_VARARGS, "Count a block of whole lines; returns the rows to read."},
    {"totals", totals, METH_VARARGS, "Everything a counter counted."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) {
    init_bytes();
    return PyModule_Create(&module);
}
