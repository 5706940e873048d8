/* Reading the fields of an access-log line: times, numbers, quoted fields, endpoint keys,
 * and case-insensitive word lists. Included by _scan.c. */
#ifndef OPSBOOK_FIELDS_H
#define OPSBOOK_FIELDS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define ENDPOINT_MAX 200
#define MAX_WORDS 64
#define WORDS_PER_BYTE 8
#define SET_SIZE 16 /* first and second bytes of words the vector prefilter looks for */

static const unsigned char LOWER[256] = {
#define L4(n) L1(n), L1(n + 1), L1(n + 2), L1(n + 3)
#define L1(n) ((n) >= 'A' && (n) <= 'Z' ? (n) + 32 : (n))
#define L16(n) L4(n), L4(n + 4), L4(n + 8), L4(n + 12)
    L16(0),   L16(16),  L16(32),  L16(48),  L16(64),  L16(80),  L16(96),  L16(112),
    L16(128), L16(144), L16(160), L16(176), L16(192), L16(208), L16(224), L16(240),
#undef L16
#undef L1
#undef L4
};

static int lower(int c) { return LOWER[c & 0xFF]; }

/* Lower-case words looked for case-insensitively (ASCII), indexed by their first byte. */
typedef struct {
    const char *words[MAX_WORDS];
    size_t lengths[MAX_WORDS];
    int8_t starting[256][WORDS_PER_BYTE]; /* word indices starting with a byte; -1 ends */
    uint8_t pairs[65536 / 8]; /* bit set: the first two bytes (lower case) of some word */
    /* The distinct first and second bytes of the words (lower case), 16 copies of each, the
     * first repeated to fill the set; small_sets: none has more than SET_SIZE. */
    uint8_t firsts[SET_SIZE][16], seconds[SET_SIZE][16];
    int n_firsts, n_seconds, small_sets;
} WORDS;

/* Add byte b to a set of distinct bytes (when there is room). */
static void add_distinct(uint8_t set[SET_SIZE][16], int *n, unsigned char b) {
    for (int i = 0; i < *n && i < SET_SIZE; i++) {
        if (set[i][0] == b) return;
    }
    if (*n < SET_SIZE) memset(set[*n], b, 16);
    (*n)++;
}

static size_t pair_of(const char *c) {
    return ((size_t)lower((unsigned char)c[0]) << 8) | (size_t)lower((unsigned char)c[1]);
}

/* 1 when set up, 0 when a word is shorter than two bytes or too many share a first byte. */
static int words_init(WORDS *w, const char **words, const size_t *lengths, int count) {
    memset(w->starting, -1, sizeof(w->starting));
    memset(w->pairs, 0, sizeof(w->pairs));
    w->n_firsts = w->n_seconds = 0;
    for (int i = 0; i < count && i < MAX_WORDS; i++) {
        if (lengths[i] < 2) return 0;
        size_t pair = pair_of(words[i]);
        w->pairs[pair >> 3] |= (uint8_t)(1u << (pair & 7));
        add_distinct(w->firsts, &w->n_firsts, (unsigned char)lower((unsigned char)words[i][0]));
        add_distinct(w->seconds, &w->n_seconds, (unsigned char)lower((unsigned char)words[i][1]));
        w->words[i] = words[i];
        w->lengths[i] = lengths[i];
        unsigned char first = (unsigned char)words[i][0];
        unsigned char upper = (first >= 'a' && first <= 'z') ? first - 32 : first;
        int8_t *slot = w->starting[first];
        int k = 0;
        while (k < WORDS_PER_BYTE && slot[k] >= 0) k++;
        if (k == WORDS_PER_BYTE) return 0;
        slot[k] = (int8_t)i;
        memcpy(w->starting[upper], slot, WORDS_PER_BYTE);
    }
    w->small_sets = count > 0 && w->n_firsts <= SET_SIZE && w->n_seconds <= SET_SIZE;
    for (int i = w->n_firsts; w->small_sets && i < SET_SIZE; i++) memcpy(w->firsts[i], w->firsts[0], 16);
    for (int i = w->n_seconds; w->small_sets && i < SET_SIZE; i++) memcpy(w->seconds[i], w->seconds[0], 16);
    return 1;
}

/* Whether one of the words starts at c (and ends by `end`). */
static inline int word_at(const WORDS *w, const char *c, const char *end) {
    size_t pair = pair_of(c);
    if (!(w->pairs[pair >> 3] & (1u << (pair & 7)))) return 0;
    const int8_t *candidates = w->starting[(unsigned char)*c];
    for (int k = 0; k < WORDS_PER_BYTE && candidates[k] >= 0; k++) {
        const char *word = w->words[candidates[k]];
        size_t n = w->lengths[candidates[k]];
        if ((size_t)(end - c) < n) continue;
        size_t i = 1;
        while (i < n && lower((unsigned char)c[i]) == word[i]) i++;
        if (i == n) return 1;
    }
    return 0;
}

/* Whether p[:end] holds one of the words. */
static int has_word(const WORDS *w, const char *p, const char *end) {
    for (const char *c = p; c + 1 < end; c++) {
        if (word_at(w, c, end)) return 1;
    }
    return 0;
}

/* Whether p[:end] holds a byte marked in `bytes` (a 256-entry table). */
static int has_byte(const unsigned char *bytes, const char *p, const char *end) {
    for (const char *c = p; c < end; c++) {
        if (bytes[(unsigned char)*c]) return 1;
    }
    return 0;
}

/* Bit 0: a digit; bit 1: a hex digit. */
static const unsigned char DIGIT_HEX[256] = {
    ['0'] = 3, ['1'] = 3, ['2'] = 3, ['3'] = 3, ['4'] = 3, ['5'] = 3, ['6'] = 3, ['7'] = 3,
    ['8'] = 3, ['9'] = 3, ['a'] = 2, ['b'] = 2, ['c'] = 2, ['d'] = 2, ['e'] = 2, ['f'] = 2,
    ['A'] = 2, ['B'] = 2, ['C'] = 2, ['D'] = 2, ['E'] = 2, ['F'] = 2,
};

/* All digits, a UUID, or 16 or more hex digits: a path segment that names one record. */
static int is_id(const char *p, size_t n, size_t digits, size_t hex) {
    if (n > 0 && digits == n) return 1;
    if (n >= 16 && hex == n) return 1;
    if (n != 36 || p[8] != '-' || p[13] != '-' || p[18] != '-' || p[23] != '-') return 0;
    return hex == 32;
}

/* n, or less so that out[:n] does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const char *out, size_t n) {
    size_t lead = n;
    while (lead > 0 && ((unsigned char)out[lead - 1] & 0xC0) == 0x80) lead--;
    if (lead == 0) return n;
    unsigned char b = (unsigned char)out[lead - 1];
    size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    return n - (lead - 1) >= need ? n : lead - 1;
}

/* "METHOD /path" without the query, id-like segments as ":id", at most ENDPOINT_MAX bytes cut
 * on a character boundary. One pass: a segment is copied, then replaced if it was an id. */
static size_t endpoint_key(const char *p, const char *end, char *out) {
    size_t n = 0, segment = 0, digits = 0, hex = 0;
    int in_segment = 0;
    for (; p < end && *p != '?'; p++) {
        if (*p == '/') {
            if (in_segment && is_id(out + segment, n - segment, digits, hex)) {
                n = segment;
                memcpy(out + n, ":id", 3);
                n += 3;
            }
            in_segment = 1;
            segment = n + 1;
            digits = hex = 0;
        } else {
            unsigned char kind = DIGIT_HEX[(unsigned char)*p];
            digits += kind & 1;
            hex += kind >> 1;
        }
        out[n++] = *p;
        if (n >= ENDPOINT_MAX) break;
    }
    if (in_segment && n < ENDPOINT_MAX && is_id(out + segment, n - segment, digits, hex)) {
        n = segment;
        memcpy(out + n, ":id", 3);
        n += 3;
    }
    if (n < ENDPOINT_MAX) return n;
    return utf8_cut(out, ENDPOINT_MAX);
}

/* Whether the path segment p[:n] (n > 0) names one record: what is_id says, without counts. */
static int segment_is_id(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n && DIGIT_HEX[p[i]] & 1) i++;
    if (i == n) return 1;
    if (n == 36 && p[8] == '-' && p[13] == '-' && p[18] == '-' && p[23] == '-') {
        for (size_t k = 0; k < 36; k++) {
            if (k != 8 && k != 13 && k != 18 && k != 23 && !DIGIT_HEX[p[k]]) return 0;
        }
        return 1;
    }
    if (n < 16) return 0;
    while (i < n && DIGIT_HEX[p[i]]) i++;
    return i == n;
}

static int digits(const char *p, int n, int *out) {
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        value = value * 10 + (p[i] - '0');
    }
    *out = value;
    return 1;
}

static int month_of(const char *p) {
    static const char *names = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int m = 0; m < 12; m++) {
        if (memcmp(p, names + 3 * m, 3) == 0) return m + 1;
    }
    return 0;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The last time and date read and what they were: log lines repeat their times (busy
 * servers log many lines a second) and their dates. */
typedef struct {
    uint64_t stamp[4]; /* the last "[dd/Mon/yyyy:HH:MM:SS +zzzz]": bytes 0-7, 8-15, 16-23, 20-27 */
    int64_t time;
    uint64_t text[2]; /* the last "dd/Mon/yyyy": its bytes 0-7 and 3-10 */
    int64_t days;
} DATE_CACHE;

/* "[dd/Mon/yyyy:HH:MM:SS +zzzz]" at p (28 bytes). */
static int clf_time(const char *p, int64_t *out, DATE_CACHE *cache) {
    int day, year, hh, mm, ss, zh, zm, month;
    uint64_t stamp[4];
    memcpy(stamp, p, 24);
    memcpy(stamp + 3, p + 20, 8);
    if (stamp[0] == cache->stamp[0] && stamp[1] == cache->stamp[1] &&
        stamp[2] == cache->stamp[2] && stamp[3] == cache->stamp[3]) {
        *out = cache->time;
        return 1;
    }
    if (p[0] != '[' || p[3] != '/' || p[7] != '/' || p[12] != ':' || p[15] != ':' ||
        p[18] != ':' || p[21] != ' ' || (p[22] != '+' && p[22] != '-') || p[27] != ']')
        return 0;
    if (!digits(p + 13, 2, &hh) || !digits(p + 16, 2, &mm) || !digits(p + 19, 2, &ss) ||
        !digits(p + 23, 2, &zh) || !digits(p + 25, 2, &zm) || hh > 23 || mm > 59 || ss > 60)
        return 0;
    uint64_t head, tail;
    memcpy(&head, p + 1, 8);
    memcpy(&tail, p + 4, 8);
    if (head != cache->text[0] || tail != cache->text[1]) {
        if (!digits(p + 1, 2, &day) || !digits(p + 8, 4, &year)) return 0;
        month = month_of(p + 4);
        if (!month || day < 1 || day > 31) return 0;
        cache->text[0] = head;
        cache->text[1] = tail;
        cache->days = days_from_civil(year, month, day);
    }
    int64_t offset = (int64_t)zh * 3600 + (int64_t)zm * 60;
    int64_t seconds = cache->days * 86400 + hh * 3600 + mm * 60 + ss;
    *out = p[22] == '-' ? seconds + offset : seconds - offset;
    memcpy(cache->stamp, stamp, sizeof(stamp));
    cache->time = *out;
    return 1;
}

static const double POW10[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

/* A number (digits, at most one dot) from p up to a space or `end`; NaN when it is not one,
 * or when it is longer than 18 bytes (longer than any size or time we read). */
static double number(const char *p, const char *end, int *dotted) {
    const char *start = p;
    uint64_t mantissa = 0;
    int seen = 0, dots = 0, decimals = 0;
    for (; p < end && *p != ' '; p++) {
        if (p - start == 18) return NAN;
        unsigned d = (unsigned char)*p - '0';
        if (d <= 9) {
            mantissa = mantissa * 10 + d;
            decimals += dots;
            seen = 1;
        } else if (*p == '.' && !dots) {
            dots = 1;
        } else {
            return NAN;
        }
    }
    *dotted = dots;
    return seen ? (double)mantissa / POW10[decimals] : NAN;
}

/* The digits from p up to a space or `end` as a number (at most 18 digits); -1 when the
 * field is anything else. *stop is where it ends. */
static int64_t whole_number(const char *p, const char *end, const char **stop) {
    const char *start = p;
    int64_t value = 0;
    for (; p < end && *p != ' '; p++) {
        unsigned d = (unsigned char)*p - '0';
        if (d > 9 || p - start == 18) return -1;
        value = value * 10 + d;
    }
    *stop = p;
    return p == start ? -1 : value;
}

/* The request without " HTTP/x.y" when it names a protocol. */
static const char *request_end(const char *from, const char *to) {
    if (to - from >= 10 && to[-9] == ' ' && memcmp(to - 8, "HTTP/", 5) == 0 &&
        (unsigned)(to[-3] - '0') <= 9 && to[-2] == '.' && (unsigned)(to[-1] - '0') <= 9)
        return to - 9; /* " HTTP/1.1": what the loop below finds, sooner */
    const char *space = to;
    while (space > from && space[-1] != ' ') space--;
    if (space == from || to - space <= 5 || memcmp(space, "HTTP/", 5) != 0) return to;
    for (const char *c = space + 5; c < to; c++) {
        if ((*c < '0' || *c > '9') && *c != '.') return to;
    }
    return space - 1;
}

#endif
