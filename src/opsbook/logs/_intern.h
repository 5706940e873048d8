/* A string table for one block: each distinct key gets the next id (0, 1, 2, ...).
 *
 * Keys are compared byte for byte (the hash only finds the slot), so counts kept per id are
 * exact. Memory comes from PyMem_Raw*, which may be called without the GIL.
 */
#ifndef OPSBOOK_INTERN_H
#define OPSBOOK_INTERN_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    int32_t id; /* -1: empty */
    int32_t pad;
} SLOT;

typedef struct {
    SLOT *slots;
    size_t mask;
    size_t count;
    char *arena; /* the keys, back to back */
    size_t arena_len, arena_cap;
    int64_t *offsets; /* key i is arena[offsets[i] : offsets[i + 1]] */
    size_t offsets_cap;
} TABLE;

static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xC2B2AE3D27D4EB4FULL);
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        h = (h ^ word) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, p, n);
    h = (h ^ tail) * 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 29);
}

static int table_init(TABLE *t) {
    memset(t, 0, sizeof(TABLE));
    t->mask = 1023;
    t->slots = PyMem_RawMalloc((t->mask + 1) * sizeof(SLOT));
    t->arena_cap = 1 << 16;
    t->arena = PyMem_RawMalloc(t->arena_cap);
    t->offsets_cap = 1024;
    t->offsets = PyMem_RawMalloc(t->offsets_cap * sizeof(int64_t));
    if (!t->slots || !t->arena || !t->offsets) return 0;
    for (size_t i = 0; i <= t->mask; i++) t->slots[i].id = -1;
    t->offsets[0] = 0;
    return 1;
}

static void table_free(TABLE *t) {
    PyMem_RawFree(t->slots);
    PyMem_RawFree(t->arena);
    PyMem_RawFree(t->offsets);
    memset(t, 0, sizeof(TABLE));
}

static int table_grow(TABLE *t) {
    size_t size = (t->mask + 1) * 2;
    SLOT *slots = PyMem_RawMalloc(size * sizeof(SLOT));
    if (!slots) return 0;
    for (size_t i = 0; i < size; i++) slots[i].id = -1;
    for (size_t i = 0; i <= t->mask; i++) {
        if (t->slots[i].id < 0) continue;
        size_t j = t->slots[i].hash & (size - 1);
        while (slots[j].id >= 0) j = (j + 1) & (size - 1);
        slots[j] = t->slots[i];
    }
    PyMem_RawFree(t->slots);
    t->slots = slots;
    t->mask = size - 1;
    return 1;
}

/* Whether p[:n] is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF). */
static int utf8_valid(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char b = p[i];
        size_t need;
        uint32_t cp;
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            need = 1, cp = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2, cp = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3, cp = b & 0x07;
        } else {
            return 0;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n || (p[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* The id of `key`, adding it when new; -2 when memory ran out, -3 when a new key is not
 * UTF-8 (the line is then left to the Python parser, which replaces bad bytes). */
static int32_t intern(TABLE *t, const char *key, size_t n) {
    uint64_t h = hash_bytes(key, n);
    size_t j = h & t->mask;
    for (; t->slots[j].id >= 0; j = (j + 1) & t->mask) {
        SLOT *s = &t->slots[j];
        if (s->hash != h) continue;
        int64_t from = t->offsets[s->id], to = t->offsets[s->id + 1];
        if ((size_t)(to - from) == n && memcmp(t->arena + from, key, n) == 0) return s->id;
    }
    if (!utf8_valid((const unsigned char *)key, n)) return -3;
    if (t->arena_len + n > t->arena_cap) {
        size_t cap = t->arena_cap * 2 + n;
        char *arena = PyMem_RawRealloc(t->arena, cap);
        if (!arena) return -2;
        t->arena = arena;
        t->arena_cap = cap;
    }
    if (t->count + 2 > t->offsets_cap) {
        size_t cap = t->offsets_cap * 2;
        int64_t *offsets = PyMem_RawRealloc(t->offsets, cap * sizeof(int64_t));
        if (!offsets) return -2;
        t->offsets = offsets;
        t->offsets_cap = cap;
    }
    int32_t id = (int32_t)t->count++;
    memcpy(t->arena + t->arena_len, key, n);
    t->arena_len += n;
    t->offsets[id + 1] = (int64_t)t->arena_len;
    t->slots[j].hash = h;
    t->slots[j].id = id;
    if (t->count * 2 > t->mask + 1 && !table_grow(t)) return -2;
    return id;
}

/* A growable array of fixed-size items. */
typedef struct {
    char *data;
    size_t len, cap; /* in bytes */
} BUF;

/* Append `size` bytes; 0 when memory ran out. */
static int buf_push(BUF *b, const void *item, size_t size) {
    if (b->len + size > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + size) cap *= 2;
        char *data = PyMem_RawRealloc(b->data, cap);
        if (!data) return 0;
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, item, size);
    b->len += size;
    return 1;
}

/* Add `by` to the int64 at `index`, growing (with zeros) as needed; 0 when memory ran out. */
static int buf_add(BUF *b, size_t index, int64_t by) {
    size_t need = (index + 1) * sizeof(int64_t);
    if (need > b->len) {
        if (need > b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 4096;
            while (cap < need) cap *= 2;
            char *data = PyMem_RawRealloc(b->data, cap);
            if (!data) return 0;
            b->data = data;
            b->cap = cap;
        }
        memset(b->data + b->len, 0, need - b->len);
        b->len = need;
    }
    ((int64_t *)b->data)[index] += by;
    return 1;
}

static PyObject *buf_bytes(const BUF *b) {
    return PyBytes_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len);
}

/* (keys, offsets) as two bytes objects; needs the GIL. */
static PyObject *table_result(const TABLE *t) {
    return Py_BuildValue("(y#y#)", t->arena, (Py_ssize_t)t->arena_len, (const char *)t->offsets,
                         (Py_ssize_t)((t->count + 1) * sizeof(int64_t)));
}

#endif
