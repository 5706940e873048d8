/* String tables (each distinct key gets the next id: 0, 1, 2, ...), counts by a 64-bit key,
 * and growable arrays, for one kernel counter.
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

/* 64 x 64 -> 128-bit multiply, folded to 64 bits (the mixing step of wyhash). */
static inline uint64_t fold_mul(uint64_t a, uint64_t b) {
#ifdef __SIZEOF_INT128__
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t ha = a >> 32, la = (uint32_t)a, hb = b >> 32, lb = (uint32_t)b;
    uint64_t hh = ha * hb, hl = ha * lb, lh = la * hb, ll = la * lb;
    uint64_t mid = (ll >> 32) + (uint32_t)hl + (uint32_t)lh;
    uint64_t lo = (mid << 32) | (uint32_t)ll, hi = hh + (hl >> 32) + (lh >> 32) + (mid >> 32);
    return lo ^ hi;
#endif
}

static inline uint64_t read64(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t read32(const char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* A 64-bit hash, 16 bytes per multiply (keys are compared in full; this only spreads them). */
static uint64_t hash_bytes(const char *p, size_t n) {
    const uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
    uint64_t seed = 0x9E3779B97F4A7C15ULL ^ fold_mul(n ^ k0, k1);
    uint64_t a = 0, b = 0;
    size_t left = n;
    if (left > 16) {
        do {
            seed = fold_mul(read64(p) ^ k0, read64(p + 8) ^ seed);
            p += 16;
            left -= 16;
        } while (left > 16);
    }
    if (left >= 8) {
        a = read64(p);
        b = read64(p + left - 8);
    } else if (left >= 4) {
        a = read32(p);
        b = read32(p + left - 4);
    } else if (left > 0) {
        a = ((uint64_t)(unsigned char)p[0] << 16) | ((uint64_t)(unsigned char)p[left >> 1] << 8) |
            (unsigned char)p[left - 1];
    }
    return fold_mul(k1 ^ n, fold_mul(a ^ k1, b ^ seed));
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

/* The id of the key p[:n] whose hash is h, or -1; *slot is where it would go. */
static inline int32_t table_find(const TABLE *t, const char *key, size_t n, uint64_t h,
                                 size_t *slot) {
    size_t j = h & t->mask;
    for (; t->slots[j].id >= 0; j = (j + 1) & t->mask) {
        const SLOT *s = &t->slots[j];
        if (s->hash != h) continue;
        int64_t from = t->offsets[s->id], to = t->offsets[s->id + 1];
        if ((size_t)(to - from) == n && memcmp(t->arena + from, key, n) == 0) return s->id;
    }
    *slot = j;
    return -1;
}

/* Add a key table_find did not find (at its `slot`); its id, or -2 when memory ran out. */
static int32_t table_add(TABLE *t, const char *key, size_t n, uint64_t h, size_t slot) {
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
    t->slots[slot].hash = h;
    t->slots[slot].id = id;
    if (t->count * 2 > t->mask + 1 && !table_grow(t)) return -2;
    return id;
}

/* The id of `key`, adding it when new; -2 when memory ran out, -3 when a new key is not
 * UTF-8 (the line is then left to the Python parser, which replaces bad bytes). */
static int32_t intern(TABLE *t, const char *key, size_t n) {
    uint64_t h = hash_bytes(key, n);
    size_t slot;
    int32_t id = table_find(t, key, n, h, &slot);
    if (id >= 0) return id;
    if (!utf8_valid((const unsigned char *)key, n)) return -3;
    return table_add(t, key, n, h, slot);
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


/* Counts by a 64-bit key (open addressing; a slot whose count is 0 is empty). */
typedef struct {
    uint64_t key;
    int64_t count;
} COUNT;

typedef struct {
    COUNT *slots;
    size_t mask, used;
} COUNTS;

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static int counts_init(COUNTS *c) {
    c->mask = 255;
    c->used = 0;
    c->slots = PyMem_RawCalloc(c->mask + 1, sizeof(COUNT));
    return c->slots != NULL;
}

static COUNT *counts_slot(COUNT *slots, size_t mask, uint64_t key) {
    size_t j = mix64(key) & mask;
    while (slots[j].count && slots[j].key != key) j = (j + 1) & mask;
    return &slots[j];
}

/* Add `by` (> 0) to the count of `key`; 0 when memory ran out. */
static int counts_add(COUNTS *c, uint64_t key, int64_t by) {
    COUNT *slot = counts_slot(c->slots, c->mask, key);
    if (slot->count) {
        slot->count += by;
        return 1;
    }
    slot->key = key;
    slot->count = by;
    if (++c->used * 2 <= c->mask + 1) return 1;
    size_t mask = c->mask * 2 + 1;
    COUNT *slots = PyMem_RawCalloc(mask + 1, sizeof(COUNT));
    if (!slots) return 0;
    for (size_t i = 0; i <= c->mask; i++) {
        if (c->slots[i].count) *counts_slot(slots, mask, c->slots[i].key) = c->slots[i];
    }
    PyMem_RawFree(c->slots);
    c->slots = slots;
    c->mask = mask;
    return 1;
}

/* The keys as a list of str (every key was checked to be UTF-8); needs the GIL. */
static PyObject *table_keys(const TABLE *t) {
    PyObject *list = PyList_New((Py_ssize_t)t->count);
    if (!list) return NULL;
    for (size_t i = 0; i < t->count; i++) {
        int64_t from = t->offsets[i], to = t->offsets[i + 1];
        PyObject *key = PyUnicode_DecodeUTF8(t->arena + from, (Py_ssize_t)(to - from), "strict");
        if (!key) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, key);
    }
    return list;
}

/* Key i of a table and its length. */
static const char *table_key(const TABLE *t, size_t i, size_t *n) {
    *n = (size_t)(t->offsets[i + 1] - t->offsets[i]);
    return t->arena + t->offsets[i];
}

#endif
