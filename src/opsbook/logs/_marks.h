/* Finding bytes 16 at a time: the quotes and newlines of a block (the line loop walks from
 * mark to mark instead of searching for each field's end), a byte in a field, and the bytes
 * and words of the attack prefilter. SSE2 where the compiler has it (every x86-64), else
 * portable byte loops that give the same answers. Included by _scan.c after _fields.h. */
#ifndef OPSBOOK_MARKS_H
#define OPSBOOK_MARKS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define OPSBOOK_SSE2 1
#endif

/* Bytes that make a request worth checking against the attack signatures, besides control
 * and non-ASCII bytes. */
#define SPECIAL_BYTES "'(\\%<>;"

static inline int lowest_bit(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int i = 0;
    while (!(x & 1)) {
        x >>= 1;
        i++;
    }
    return i;
#endif
}

/* Bit i set: p[i] is a double quote or a newline. */
static inline uint64_t marks64(const char *p) {
#ifdef OPSBOOK_SSE2
    const __m128i quote = _mm_set1_epi8('"'), newline = _mm_set1_epi8('\n');
    uint64_t mask = 0;
    for (int i = 0; i < 4; i++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, newline));
        mask |= (uint64_t)(uint32_t)_mm_movemask_epi8(hit) << (16 * i);
    }
    return mask;
#else
    uint64_t mask = 0;
    for (int i = 0; i < 64; i++) mask |= (uint64_t)(p[i] == '"' || p[i] == '\n') << i;
    return mask;
#endif
}

/* The first byte `c` in [p, e), or e. */
static inline const char *find_byte(const char *p, const char *e, char c) {
#ifdef OPSBOOK_SSE2
    const __m128i want = _mm_set1_epi8(c);
    while (e - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned hit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, want));
        if (hit) return p + lowest_bit(hit);
        p += 16;
    }
#endif
    while (p < e && *p != c) p++;
    return p;
}

typedef struct {
    const char *base;
    size_t len, at; /* mask describes base[at : at + 64] */
    uint64_t mask;  /* marks not handed out yet */
} MARKS;

static uint64_t marks_at(const MARKS *m, size_t at) {
    if (m->len - at >= 64) return marks64(m->base + at);
    char tail[64] = {0}; /* the block's last bytes, padded with NULs (no marks) */
    memcpy(tail, m->base + at, m->len - at);
    return marks64(tail);
}

static void marks_start(MARKS *m, const char *base, size_t len) {
    m->base = base;
    m->len = len;
    m->at = 0;
    m->mask = len ? marks_at(m, 0) : 0;
}

/* The offset of the next quote or newline; len when there is none. */
static inline size_t next_mark(MARKS *m) {
    while (!m->mask) {
        if (m->len - m->at <= 64) return m->len;
        m->at += 64;
        m->mask = marks_at(m, m->at);
    }
    size_t offset = m->at + (size_t)lowest_bit(m->mask);
    m->mask &= m->mask - 1;
    return offset;
}

#ifdef OPSBOOK_SSE2
static inline __m128i lower16(__m128i x) {
    __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
                                  _mm_cmpgt_epi8(_mm_set1_epi8('Z' + 1), x));
    return _mm_add_epi8(x, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
}

/* Bytes of x that are in a set (16 copies of each byte; sets hold SET_SIZE bytes, the
 * first one repeated to fill, so that the loop unrolls). */
static inline __m128i any_of(const uint8_t set[SET_SIZE][16], __m128i x) {
    __m128i hit = _mm_setzero_si128();
    for (int i = 0; i < SET_SIZE; i++) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)set[i]);
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, b));
    }
    return hit;
}
#endif

/* Whether p[:end] holds a byte marked in `special` (control and non-ASCII bytes and
 * SPECIAL_BYTES) or one of the words; bytes up to `limit` may be read. */
static int special_or_word(const unsigned char *special, const WORDS *w, const char *p,
                           const char *end, const char *limit) {
#ifdef OPSBOOK_SSE2
    for (; p < end && w->small_sets && limit - p >= 17; p += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i hit = _mm_cmpgt_epi8(_mm_set1_epi8(0x20), x); /* < 0x20 or >= 0x80 */
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_set1_epi8(SPECIAL_BYTES[0])));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_set1_epi8(SPECIAL_BYTES[1])));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_set1_epi8(SPECIAL_BYTES[2])));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_set1_epi8(SPECIAL_BYTES[3])));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_set1_epi8(SPECIAL_BYTES[4])));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_set1_epi8(SPECIAL_BYTES[5])));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_set1_epi8(SPECIAL_BYTES[6])));
        ptrdiff_t left = end - p;
        unsigned inside = left >= 16 ? 0xFFFFu : (1u << left) - 1; /* bytes of p[:end] */
        if ((unsigned)_mm_movemask_epi8(hit) & inside) return 1;
        __m128i next = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
        __m128i pairs = _mm_and_si128(any_of(w->firsts, lower16(x)),
                                      any_of(w->seconds, lower16(next)));
        /* a pair starts at i when both its bytes are inside: i + 1 < left */
        unsigned starts = (unsigned)_mm_movemask_epi8(pairs) & (left > 16 ? 0xFFFFu : inside >> 1);
        for (; starts; starts &= starts - 1) {
            if (word_at(w, p + lowest_bit(starts), end)) return 1;
        }
    }
#endif
    (void)limit;
    return has_byte(special, p, end) || has_word(w, p, end);
}

/* Copy n bytes 16 at a time: reads src[:n + 15] and writes dst[:n + 15]. */
static inline void copy_over(char *dst, const char *src, size_t n) {
#ifdef OPSBOOK_SSE2
    for (size_t i = 0; i < n; i += 16) {
        _mm_storeu_si128((__m128i *)(void *)(dst + i),
                         _mm_loadu_si128((const __m128i *)(const void *)(src + i)));
    }
#else
    memcpy(dst, src, n);
#endif
}

#define ENDPOINT_ROOM (ENDPOINT_MAX + 32) /* the key buffer: copy_over writes past the key */

/* endpoint_key's key (out holds ENDPOINT_ROOM bytes) a segment at a time, from masks of the
 * request's slashes and question marks, when the request is at most 64 bytes, 80 bytes from
 * p may be read, and the path is at most ENDPOINT_MAX / 3 bytes: then even if every segment
 * became ":id" the key would not reach ENDPOINT_MAX, so it is never cut. Else byte by byte. */
static size_t endpoint_of(const char *p, const char *end, const char *limit, char *out) {
#ifdef OPSBOOK_SSE2
    size_t len = (size_t)(end - p);
    if (len <= 64 && limit - p >= 80) {
        uint64_t slashes = 0, query = 0;
        for (int i = 0; i < 4; i++) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
            slashes |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')))
                       << (16 * i);
            query |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('?')))
                     << (16 * i);
        }
        uint64_t inside = len == 64 ? ~0ULL : (1ULL << len) - 1;
        query &= inside;
        size_t stop = query ? (size_t)lowest_bit(query) : len;
        if (stop <= ENDPOINT_MAX / 3) {
            slashes &= inside & (stop == 64 ? ~0ULL : (1ULL << stop) - 1);
            size_t n = slashes ? (size_t)lowest_bit(slashes) : stop;
            copy_over(out, p, n);
            while (slashes) {
                size_t at = (size_t)lowest_bit(slashes);
                slashes &= slashes - 1;
                size_t next = slashes ? (size_t)lowest_bit(slashes) : stop, length = next - at - 1;
                out[n++] = '/';
                if (length && segment_is_id((const unsigned char *)p + at + 1, length)) {
                    memcpy(out + n, ":id", 3);
                    n += 3;
                } else {
                    copy_over(out + n, p + at + 1, length);
                    n += length;
                }
            }
            return n;
        }
    }
#endif
    (void)limit;
    return endpoint_key(p, end, out);
}

#endif
