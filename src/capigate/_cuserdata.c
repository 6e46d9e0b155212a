/* capigate._cuserdata: the short way of normalize_user_data in C.
 *
 * The pure-Python path (capigate.normalize.userdata) is the reference. This module decides, for
 * ASCII values, only what it can decide with certainty; any other value is handed to a Python
 * callback (set by setup()) that runs the reference rule, memo included. So the result of
 * normalize() is always the one the Python short way gives: a dict in Meta's key order, or None
 * (a key unknown, a value not a str, or a value that normalizes with a finding), and then the
 * caller takes the long way.
 *
 * SHA-256 is implemented here from FIPS 180-4 (no OpenSSL headers on every build machine).
 * Nothing is remembered between calls: the module's memory is fixed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- SHA-256 (FIPS 180-4) */

#define SHA256_BLOCK_BYTES 64
#define SHA256_HEX_LEN 64

/* First 32 bits of the fractional parts of the cube roots of the first 64 primes (§4.2.2). */
static const uint32_t SHA256_K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

/* First 32 bits of the fractional parts of the square roots of the first 8 primes (§5.3.3). */
static const uint32_t SHA256_H0[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

static inline uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

/* The functions of §4.1.2. */
#define BIG_SIGMA0(x) (rotr((x), 2) ^ rotr((x), 13) ^ rotr((x), 22))
#define BIG_SIGMA1(x) (rotr((x), 6) ^ rotr((x), 11) ^ rotr((x), 25))
#define SMALL_SIGMA0(x) (rotr((x), 7) ^ rotr((x), 18) ^ ((x) >> 3))
#define SMALL_SIGMA1(x) (rotr((x), 17) ^ rotr((x), 19) ^ ((x) >> 10))
#define CH(x, y, z) (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))

/* One round of §6.2.2 step 3, the eight working variables renamed instead of moved: d and h
 * take the new e and a. */
#define ROUND(a, b, c, d, e, f, g, h, t)                                                      \
    do {                                                                                      \
        uint32_t t1 = (h) + BIG_SIGMA1(e) + CH((e), (f), (g)) + SHA256_K[t] + w[t];           \
        (d) += t1;                                                                            \
        (h) = t1 + BIG_SIGMA0(a) + MAJ((a), (b), (c));                                        \
    } while (0)

static void sha256_block(uint32_t state[8], const uint8_t *block) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++) {
        const uint8_t *p = block + 4 * t;
        w[t] = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    }
    for (int t = 16; t < 64; t++) {
        w[t] = SMALL_SIGMA1(w[t - 2]) + w[t - 7] + SMALL_SIGMA0(w[t - 15]) + w[t - 16];
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t += 8) {
        ROUND(a, b, c, d, e, f, g, h, t);
        ROUND(h, a, b, c, d, e, f, g, t + 1);
        ROUND(g, h, a, b, c, d, e, f, t + 2);
        ROUND(f, g, h, a, b, c, d, e, t + 3);
        ROUND(e, f, g, h, a, b, c, d, t + 4);
        ROUND(d, e, f, g, h, a, b, c, t + 5);
        ROUND(c, d, e, f, g, h, a, b, t + 6);
        ROUND(b, c, d, e, f, g, h, a, t + 7);
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

/* The same blocks with the x86 SHA extensions (SHA-NI), when the CPU has them: the rounds of
 * §6.2.2 two at a time (sha256rnds2 keeps the state as {A,B,E,F} and {C,D,G,H}), the schedule
 * of §6.2.2 step 1 four words at a time (sha256msg1 adds σ0, sha256msg2 adds σ1). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI 1

#define SHA_NI __attribute__((target("sha,sse4.1,ssse3")))

SHA_NI static void sha256_blocks_ni(uint32_t state[8], const uint8_t *data, size_t blocks) {
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i badc = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(badc, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, badc, 0xF0);
    for (size_t block = 0; block < blocks; block++, data += SHA256_BLOCK_BYTES) {
        __m128i abef_in = abef, cdgh_in = cdgh, w[4];
        for (int group = 0; group < 16; group++) {
            __m128i *now = &w[group % 4];
            if (group < 4) {
                *now = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * group)),
                                        byte_swap);
            } else {
                __m128i last = w[(group + 3) % 4];
                __m128i sum = _mm_sha256msg1_epu32(*now, w[(group + 1) % 4]);
                sum = _mm_add_epi32(sum, _mm_alignr_epi8(last, w[(group + 2) % 4], 4));
                *now = _mm_sha256msg2_epu32(sum, last);
            }
            __m128i wk = _mm_add_epi32(*now, _mm_loadu_si128((const __m128i *)&SHA256_K[4 * group]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            /* cdgh now holds the new {A,B,E,F}, and the old {A,B,E,F} is the new {C,D,G,H} */
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));
}

static int cpu_has_sha_ni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) {
        return 0;
    }
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#else
#define HAVE_SHA_NI 0
#endif

static int use_sha_ni; /* set at import when the CPU has SHA-NI; tests switch it */

static void sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks) {
#if HAVE_SHA_NI
    if (use_sha_ni) {
        sha256_blocks_ni(state, data, blocks);
        return;
    }
#endif
    for (size_t i = 0; i < blocks; i++) {
        sha256_block(state, data + i * SHA256_BLOCK_BYTES);
    }
}

/* The two lowercase hex digits of every byte value, built at import. */
static char hex_pairs[256][2];

static void make_hex_pairs(void) {
    static const char HEX[] = "0123456789abcdef";
    for (int byte = 0; byte < 256; byte++) {
        hex_pairs[byte][0] = HEX[byte >> 4];
        hex_pairs[byte][1] = HEX[byte & 0xf];
    }
}

/* The lowercase hex SHA-256 of data[0..n) into out[0..64). */
static void sha256_hex(const uint8_t *data, size_t n, char *out) {
    uint32_t h[8];
    memcpy(h, SHA256_H0, sizeof h);
    size_t full = n - n % SHA256_BLOCK_BYTES;
    sha256_blocks(h, data, full / SHA256_BLOCK_BYTES);
    /* Padding (§5.1.1): 0x80, zeros, then the message length in bits, big-endian. */
    uint8_t tail[2 * SHA256_BLOCK_BYTES];
    size_t rest = n - full;
    memset(tail, 0, sizeof tail);
    if (rest) {
        memcpy(tail, data + full, rest);
    }
    tail[rest] = 0x80;
    size_t tail_len = rest + 1 + 8 <= SHA256_BLOCK_BYTES ? SHA256_BLOCK_BYTES : 2 * SHA256_BLOCK_BYTES;
    uint64_t bits = (uint64_t)n * 8u;
    for (int i = 0; i < 8; i++) {
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    sha256_blocks(h, tail, tail_len / SHA256_BLOCK_BYTES);
    for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 4; j++) {
            memcpy(out + 8 * i + 2 * j, hex_pairs[(h[i] >> (24 - 8 * j)) & 0xffu], 2);
        }
    }
}

/* A new str of the hex SHA-256 of data[0..n). */
static PyObject *sha256_str(const char *data, size_t n) {
    PyObject *result = PyUnicode_New(SHA256_HEX_LEN, 127);
    if (result != NULL) {
        sha256_hex((const uint8_t *)data, n, (char *)PyUnicode_1BYTE_DATA(result));
    }
    return result;
}

/* ---------------------------------------------------------------- ASCII character classes */

/* What str.isspace() (and so str.strip()) takes for whitespace among ASCII characters. */
static inline int is_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static inline int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static inline int is_alpha(unsigned char c) { return is_lower(c) || is_upper(c); }
static inline int is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static inline unsigned char to_lower(unsigned char c) {
    return is_upper(c) ? (unsigned char)(c + ('a' - 'A')) : c;
}
static inline int is_hex(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/* [A-Za-z0-9_-]: the parameter-builder appendix and the base64url alphabet. */
static inline int is_b64url(unsigned char c) { return is_alnum(c) || c == '_' || c == '-'; }

/* ---------------------------------------------------------------- rules
 *
 * Each rule takes the stripped, non-empty ASCII text t[0..n) and returns a new reference to what
 * Meta receives, or NULL without an exception when it cannot decide (the Python rule decides), or
 * NULL with an exception on an error. */

#define UNDECIDED NULL
#define MAX_TEXT_BYTES 256 /* longer texts of hashed keys go to the Python rule */

/* hashed.is_hashed: 64 hex characters, not all digits, optionally ".<2 or 8 of [A-Za-z0-9_-]>". */
static int is_hashed(const char *t, Py_ssize_t n) {
    if (n != SHA256_HEX_LEN && n != SHA256_HEX_LEN + 3 && n != SHA256_HEX_LEN + 9) {
        return 0;
    }
    int letters = 0;
    for (Py_ssize_t i = 0; i < SHA256_HEX_LEN; i++) {
        unsigned char c = (unsigned char)t[i];
        if (!is_hex(c)) {
            return 0;
        }
        letters |= !is_digit(c);
    }
    if (!letters) {
        return 0;
    }
    if (n == SHA256_HEX_LEN) {
        return 1;
    }
    if (t[SHA256_HEX_LEN] != '.') {
        return 0;
    }
    for (Py_ssize_t i = SHA256_HEX_LEN + 1; i < n; i++) {
        if (!is_b64url((unsigned char)t[i])) {
            return 0;
        }
    }
    return 1;
}

/* hashed.canonical_hashed: the hex part lowercased, the appendix kept. */
static PyObject *canonical_hashed(const char *t, Py_ssize_t n) {
    PyObject *result = PyUnicode_New(n, 127);
    if (result != NULL) {
        Py_UCS1 *out = PyUnicode_1BYTE_DATA(result);
        for (Py_ssize_t i = 0; i < n; i++) {
            out[i] = i < SHA256_HEX_LEN ? to_lower((unsigned char)t[i]) : (Py_UCS1)t[i];
        }
    }
    return result;
}

/* email._ASCII_EMAIL, on lowercased text: local atoms of [a-z0-9!#$%&'*+/=?^_`{|}~-] joined by
 * dots, '@', labels [a-z0-9]+(-+[a-z0-9]+)* joined by dots, then '.' and a last label of
 * [a-z0-9-]+ holding at least one letter. */
static int is_local_char(unsigned char c) {
    return is_lower(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static int is_ascii_email(const char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    int in_atom = 0;
    for (; i < n && s[i] != '@'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (!in_atom) {
                return 0;
            }
            in_atom = 0;
        } else if (is_local_char(c)) {
            in_atom = 1;
        } else {
            return 0;
        }
    }
    if (i == n || !in_atom) {
        return 0;
    }
    Py_ssize_t last_dot = -1;
    for (Py_ssize_t j = i + 1; j < n; j++) {
        if (s[j] == '.') {
            last_dot = j;
        }
    }
    if (last_dot < 0 || last_dot == n - 1) {
        return 0;
    }
    /* the labels before the last dot */
    Py_ssize_t start = i + 1;
    for (Py_ssize_t j = i + 1; j <= last_dot; j++) {
        if (s[j] != '.') {
            unsigned char c = (unsigned char)s[j];
            if (!(is_lower(c) || is_digit(c) || c == '-')) {
                return 0;
            }
            continue;
        }
        if (j == start || s[start] == '-' || s[j - 1] == '-') {
            return 0;
        }
        start = j + 1;
    }
    int letter = 0;
    for (Py_ssize_t j = last_dot + 1; j < n; j++) {
        unsigned char c = (unsigned char)s[j];
        if (!(is_lower(c) || is_digit(c) || c == '-')) {
            return 0;
        }
        letter |= is_lower(c);
    }
    return letter;
}

static PyObject *rule_email(const char *t, Py_ssize_t n) {
    char low[MAX_TEXT_BYTES];
    if (n > MAX_TEXT_BYTES) {
        return UNDECIDED;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        low[i] = (char)to_lower((unsigned char)t[i]);
    }
    return is_ascii_email(low, n) ? sha256_str(low, (size_t)n) : UNDECIDED;
}

/* identifiers.normalize_external_id: printable ASCII without spaces, lowercased. */
static PyObject *rule_external_id(const char *t, Py_ssize_t n) {
    char low[MAX_TEXT_BYTES];
    if (n > MAX_TEXT_BYTES) {
        return UNDECIDED;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= ' ' || c >= 0x7f) {
            return UNDECIDED;
        }
        low[i] = (char)to_lower(c);
    }
    return sha256_str(low, (size_t)n);
}

#define MIN_PHONE_DIGITS 7
#define MAX_PHONE_DIGITS 15

/* phone.normalize_phone, the plain ASCII forms known to carry a country code: "+<digits>" or
 * "00<digits>" with separators " -().\t\n" (no "(0" trunk marker). National numbers, and numbers
 * without a default region, need libphonenumber: the Python rule decides. */
static PyObject *rule_phone(const char *t, Py_ssize_t n) {
    char digits[MAX_TEXT_BYTES];
    Py_ssize_t count = 0;
    int plus = 0;
    if (n > MAX_TEXT_BYTES) {
        return UNDECIDED;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '(' && i + 1 < n && t[i + 1] == '0') {
            return UNDECIDED;
        }
        if (is_digit(c)) {
            digits[count++] = (char)c;
        } else if (c == '+' && count == 0 && !plus) {
            plus = 1;
        } else if (!(c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || c == '\t' ||
                     c == '\n')) {
            return UNDECIDED;
        }
    }
    if (count == 0) {
        return UNDECIDED;
    }
    if (!plus && !(n >= 2 && t[0] == '0' && t[1] == '0')) {
        return UNDECIDED; /* national, or no country code known: libphonenumber */
    }
    Py_ssize_t zeros = 0;
    while (zeros < count && digits[zeros] == '0') {
        zeros++;
    }
    Py_ssize_t len = count - zeros;
    if (len < MIN_PHONE_DIGITS || len > MAX_PHONE_DIGITS) {
        return UNDECIDED;
    }
    return sha256_str(digits + zeros, (size_t)len);
}

/* text.squeeze of ASCII with a delete table: the kept characters, lowercased, into out. */
enum keep { KEEP_ALNUM, KEEP_ALPHA };

static Py_ssize_t squeeze(const char *t, Py_ssize_t n, enum keep keep, char *out) {
    Py_ssize_t len = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (keep == KEEP_ALNUM ? is_alnum(c) : is_alpha(c)) {
            out[len++] = (char)to_lower(c);
        }
    }
    return len;
}

/* names.normalize_first_name/last_name (letters and digits kept) and normalize_city (letters). */
static PyObject *rule_squeezed(const char *t, Py_ssize_t n, enum keep keep) {
    char out[MAX_TEXT_BYTES];
    if (n > MAX_TEXT_BYTES) {
        return UNDECIDED;
    }
    Py_ssize_t len = squeeze(t, n, keep, out);
    return len ? sha256_str(out, (size_t)len) : UNDECIDED;
}

/* The str value of table[letters], borrowed, or NULL (an exception set on an error). */
static PyObject *lookup(PyObject *table, const char *letters, Py_ssize_t len) {
    PyObject *key = PyUnicode_DecodeASCII(letters, len, NULL);
    if (key == NULL) {
        return NULL;
    }
    PyObject *found = PyDict_GetItemWithError(table, key);
    Py_DECREF(key);
    if (found != NULL && !PyUnicode_Check(found)) {
        PyErr_SetString(PyExc_TypeError, "lookup tables map str to str");
        return NULL;
    }
    return found;
}

/* The hex SHA-256 of a str known to be ASCII (a table value), or UNDECIDED if it is not. */
static PyObject *sha256_of_str(PyObject *text) {
    if (!PyUnicode_IS_ASCII(text)) {
        return UNDECIDED;
    }
    return sha256_str((const char *)PyUnicode_1BYTE_DATA(text), (size_t)PyUnicode_GET_LENGTH(text));
}

static PyObject *states, *countries, *genders, *months, *fillers; /* set by setup() */

/* The letters of t in out (MAX_TEXT_BYTES), or 0 when t is too long or has none (undecided). */
static Py_ssize_t letters_of(const char *t, Py_ssize_t n, char *out) {
    return n > MAX_TEXT_BYTES ? 0 : squeeze(t, n, KEEP_ALPHA, out);
}

/* names.normalize_state: letters; a US state or Canadian province name becomes its code. */
static PyObject *rule_state(const char *t, Py_ssize_t n) {
    char letters[MAX_TEXT_BYTES];
    Py_ssize_t len = letters_of(t, n, letters);
    if (len == 0) {
        return UNDECIDED;
    }
    PyObject *code = lookup(states, letters, len);
    if (code != NULL) {
        return sha256_of_str(code);
    }
    return PyErr_Occurred() ? NULL : sha256_str(letters, (size_t)len);
}

/* geo.normalize_country and gender.normalize_gender: the letters looked up in their table. */
static PyObject *rule_lookup(const char *t, Py_ssize_t n, PyObject *table) {
    char letters[MAX_TEXT_BYTES];
    Py_ssize_t len = letters_of(t, n, letters);
    if (len == 0) {
        return UNDECIDED;
    }
    PyObject *code = lookup(table, letters, len);
    return code != NULL ? sha256_of_str(code) : UNDECIDED;
}

#define MIN_ZIP_CHARS 2
#define ZIP_DIGITS 5

/* geo.normalize_zip: a US ZIP+4 cut to 5 digits; else controls, spaces and '-' removed. */
static PyObject *rule_zip(const char *t, Py_ssize_t n) {
    char out[MAX_TEXT_BYTES];
    if (n > MAX_TEXT_BYTES) {
        return UNDECIDED;
    }
    if (n == 9 || n == 10) {
        int plus4 = 1;
        for (Py_ssize_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)t[i];
            plus4 &= (n == 10 && i == ZIP_DIGITS) ? (c == ' ' || c == '-') : is_digit(c);
        }
        if (plus4) {
            return sha256_str(t, ZIP_DIGITS);
        }
    }
    Py_ssize_t len = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c > ' ' && c != 0x7f && c != '-') {
            out[len++] = (char)to_lower(c);
        }
    }
    return len >= MIN_ZIP_CHARS ? sha256_str(out, (size_t)len) : UNDECIDED;
}

#define MIN_BIRTH_YEAR 1900

static int only_digits(const char *t, Py_ssize_t n);
#define MAX_DATE_NUMBERS 3

/* Digits t[*i..) as a number of min..max digits, or -1. */
static long read_number(const char *t, Py_ssize_t n, Py_ssize_t *i, int min, int max) {
    long value = 0;
    int count = 0;
    while (*i < n && is_digit((unsigned char)t[*i])) {
        if (++count > max) {
            return -1;
        }
        value = value * 10 + (t[*i] - '0');
        (*i)++;
    }
    return count >= min ? value : -1;
}

static int is_date_sep(char c) { return c == '-' || c == '/' || c == '.'; }

static int is_real_date(long year, long month, long day) {
    static const int DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1) {
        return 0;
    }
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= DAYS[month - 1] + (month == 2 && leap);
}

/* The 8 ASCII digits of YYYYMMDD into out. */
static void write_date(long year, long month, long day, char *out) {
    long number = year * 10000 + month * 100 + day; /* year has 4 digits, month and day 2 */
    for (int i = 7; i >= 0; i--) {
        out[i] = (char)('0' + number % 10);
        number /= 10;
    }
}

static int parse_word_date(const char *t, Py_ssize_t n, long *year, long *month, long *day);

/* dates.normalize_birth_date for YYYYMMDD, YYYY<sep>M<sep>D and D<sep>M<sep>YYYY with one of
 * "-/." between the numbers (no spaces, no time), and dates with a month word; other forms go to
 * the Python rule. */
static PyObject *rule_date(const char *t, Py_ssize_t n, int day_first_region, long max_year) {
    long year = 0, month = 0, day = 0;
    Py_ssize_t i = 0;
    char low[MAX_TEXT_BYTES];
    int letters = 0;
    if (n > MAX_TEXT_BYTES) {
        return UNDECIDED;
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        if (t[j] == ':') {
            return UNDECIDED; /* a time: the Python rule */
        }
        low[j] = (char)to_lower((unsigned char)t[j]);
        letters |= is_lower((unsigned char)low[j]);
    }
    if (letters) {
        int parsed = parse_word_date(low, n, &year, &month, &day);
        if (parsed <= 0) {
            return UNDECIDED; /* NULL with the exception of an error */
        }
    } else if (n == 8 && only_digits(t, n)) {
        year = read_number(t, 4, &i, 4, 4);
        month = (t[4] - '0') * 10 + (t[5] - '0');
        day = (t[6] - '0') * 10 + (t[7] - '0');
    } else {
        long first = read_number(t, n, &i, 1, 4);
        if (first < 0 || i == 3 || i >= n || !is_date_sep(t[i])) {
            return UNDECIDED;
        }
        int year_first = i == 4;
        char sep = t[i++];
        long second = read_number(t, n, &i, 1, 2);
        if (second < 0 || i >= n || !is_date_sep(t[i])) {
            return UNDECIDED;
        }
        i++;
        long third = read_number(t, n, &i, year_first ? 1 : 4, year_first ? 2 : 4);
        if (third < 0 || i != n) {
            return UNDECIDED;
        }
        if (year_first) {
            year = first, month = second, day = third;
        } else {
            int day_first = sep == '.' || day_first_region;
            if ((first > 12) != (second > 12)) {
                day_first = first > 12;
            }
            year = third;
            day = day_first ? first : second;
            month = day_first ? second : first;
        }
    }
    if (year < MIN_BIRTH_YEAR || year > max_year || !is_real_date(year, month, day)) {
        return UNDECIDED;
    }
    char out[8];
    write_date(year, month, day, out);
    return sha256_str(out, sizeof out);
}

/* The int value of table[word], -1 if absent, -2 on an error. */
static long word_number(const char *word, Py_ssize_t len) {
    PyObject *key = PyUnicode_DecodeASCII(word, len, NULL);
    if (key == NULL) {
        return -2;
    }
    int filler = PySet_Contains(fillers, key);
    PyObject *number = filler == 0 ? PyDict_GetItemWithError(months, key) : NULL;
    Py_DECREF(key);
    if (filler != 0) {
        return filler < 0 ? -2 : 0; /* 0: a filler word, skipped */
    }
    if (number == NULL) {
        return PyErr_Occurred() ? -2 : -1;
    }
    long value = PyLong_AsLong(number);
    return value == -1 && PyErr_Occurred() ? -2 : value;
}

/* dates._parse_words for lowercased ASCII with a letter and no ':': runs of letters or of digits
 * are the tokens, filler words left out; exactly a month word, a 4-digit year and a day of 1-2
 * digits. 1 with *year, *month, *day set; 0 when it is not such a date; -1 on an error. */
static int parse_word_date(const char *t, Py_ssize_t n, long *year, long *month, long *day) {
    int tokens = 0, years = 0, days = 0, month_words = 0;
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)t[i];
        Py_ssize_t start = i;
        if (is_lower(c)) {
            while (i < n && is_lower((unsigned char)t[i])) {
                i++;
            }
            long number = word_number(t + start, i - start);
            if (number == -2) {
                return -1;
            }
            if (number == 0) {
                continue; /* a filler */
            }
            tokens++;
            if (number > 0) {
                month_words++;
                *month = number;
            }
        } else if (is_digit(c)) {
            long value = read_number(t, n, &i, 1, 4);
            if (value < 0) {
                return 0; /* 5 digits or more: no day, no year */
            }
            tokens++;
            if (i - start == 4) {
                years++;
                *year = value;
            } else if (i - start <= 2) {
                days++;
                *day = value;
            }
        } else {
            i++;
        }
    }
    return tokens == 3 && month_words == 1 && years == 1 && days == 1;
}

/* ip.IPV4: four decimal octets 0..255 without leading zeros; ipaddress accepts every one. */
static int is_ipv4(const char *t, Py_ssize_t n) {
    Py_ssize_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (i >= n || t[i] != '.') {
                return 0;
            }
            i++;
        }
        Py_ssize_t start = i;
        long value = read_number(t, n, &i, 1, 3);
        if (value < 0 || value > 255 || (i - start > 1 && t[start] == '0')) {
            return 0;
        }
    }
    return i == n;
}

#define IPV6_HEXTETS 8
#define IPV6_MAX_PARTS (IPV6_HEXTETS + 1)
#define HEXTET_MAX_DIGITS 4

/* ipaddress.IPv6Address for addresses of hex digits and colons only (no IPv4 suffix, no
 * %scope): 8 hextets of 1-4 hex digits, or fewer around one "::"; the same checks in the same
 * order as ipaddress._ip_int_from_string. */
static int is_plain_ipv6(const char *t, Py_ssize_t n) {
    Py_ssize_t lens[IPV6_MAX_PARTS];
    int parts = 0;
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i < n && t[i] != ':') {
            if (!is_hex((unsigned char)t[i])) {
                return 0;
            }
            continue;
        }
        if (parts == IPV6_MAX_PARTS) {
            return 0;
        }
        lens[parts++] = i - start;
        start = i + 1;
    }
    if (parts < 3) {
        return 0;
    }
    int skip = -1;
    for (int i = 1; i < parts - 1; i++) {
        if (lens[i] == 0) {
            if (skip >= 0) {
                return 0;
            }
            skip = i;
        }
    }
    int hi, lo;
    if (skip >= 0) {
        hi = skip;
        lo = parts - skip - 1;
        if (lens[0] == 0 && --hi != 0) {
            return 0;
        }
        if (lens[parts - 1] == 0 && --lo != 0) {
            return 0;
        }
        if (IPV6_HEXTETS - (hi + lo) < 1) {
            return 0;
        }
    } else {
        if (parts != IPV6_HEXTETS || lens[0] == 0 || lens[parts - 1] == 0) {
            return 0;
        }
        hi = parts;
        lo = 0;
    }
    for (int i = 0; i < parts; i++) {
        int used = i < hi || i >= parts - lo;
        if (used && (lens[i] == 0 || lens[i] > HEXTET_MAX_DIGITS)) {
            return 0;
        }
    }
    return 1;
}

#define FB_MS_DIGITS 13

/* identifiers._FB_COOKIE: fb.<digit>.<13 digits>.<payload of [\x21-\x7e] but '.'> and an
 * optional appendix ".<2 or 8 of [A-Za-z0-9_-]>". */
static int is_fb_cookie(const char *t, Py_ssize_t n) {
    if (n < 3 + 2 + FB_MS_DIGITS + 2 || memcmp(t, "fb.", 3) != 0 || !is_digit((unsigned char)t[3]) ||
        t[4] != '.') {
        return 0;
    }
    for (Py_ssize_t i = 5; i < 5 + FB_MS_DIGITS; i++) {
        if (!is_digit((unsigned char)t[i])) {
            return 0;
        }
    }
    Py_ssize_t i = 5 + FB_MS_DIGITS;
    if (t[i++] != '.') {
        return 0;
    }
    Py_ssize_t start = i;
    while (i < n && t[i] > ' ' && t[i] < 0x7f && t[i] != '.') {
        i++;
    }
    if (i == start) {
        return 0;
    }
    if (i == n) {
        return 1;
    }
    Py_ssize_t appendix = n - i - 1;
    if (t[i] != '.' || (appendix != 2 && appendix != 8)) {
        return 0;
    }
    for (i++; i < n; i++) {
        if (!is_b64url((unsigned char)t[i])) {
            return 0;
        }
    }
    return 1;
}

static int has_space(const char *t, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (is_space((unsigned char)t[i])) {
            return 1;
        }
    }
    return 0;
}

static int only_digits(const char *t, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)t[i])) {
            return 0;
        }
    }
    return 1;
}

static int only_zeros_and_dashes(const char *t, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (t[i] != '0' && t[i] != '-') {
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- keys */

/* Meta's order (keys.USER_DATA_ORDER; a test checks they are the same). */
enum key {
    EM, PH, FN, LN, DB, GE, CT, ST, ZP, COUNTRY, EXTERNAL_ID,
    CLIENT_IP_ADDRESS, CLIENT_USER_AGENT, FBC, FBP, SUBSCRIPTION_ID, FB_LOGIN_ID, LEAD_ID,
    ANON_ID, MADID, PAGE_ID, PAGE_SCOPED_USER_ID, CTWA_CLID, IG_ACCOUNT_ID, IG_SID,
    WHATSAPP_BUSINESS_ACCOUNT_ID, INSTAGRAM_BUSINESS_ACCOUNT_ID,
    KEY_COUNT,
};
#define HASHED_COUNT (EXTERNAL_ID + 1)

static const char *const KEY_NAMES[KEY_COUNT] = {
    "em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id",
    "client_ip_address", "client_user_agent", "fbc", "fbp", "subscription_id", "fb_login_id",
    "lead_id", "anon_id", "madid", "page_id", "page_scoped_user_id", "ctwa_clid",
    "ig_account_id", "ig_sid", "whatsapp_business_account_id", "instagram_business_account_id",
};

static PyObject *ranks;     /* {key name: its enum key}, built at import */
static PyObject *fallback;  /* the Python rule: (key, value, region, max_year, tables) -> str | None */
static PyObject *remember;  /* memo.remember(table, key, value) */

/* The rule of `key` for the ASCII text t[0..n), stripped and non-empty; `value` is the str it
 * was stripped from. */
static PyObject *decide(enum key key, PyObject *value, const char *t, Py_ssize_t n,
                        int day_first, long max_year) {
    if (key < HASHED_COUNT && n >= SHA256_HEX_LEN && is_hashed(t, n)) {
        return canonical_hashed(t, n);
    }
    Py_ssize_t start = t - (const char *)PyUnicode_1BYTE_DATA(value);
    int ok;
    switch (key) {
    case EM:
        return rule_email(t, n);
    case PH:
        return rule_phone(t, n);
    case FN:
    case LN:
        return rule_squeezed(t, n, KEEP_ALNUM);
    case CT:
        return rule_squeezed(t, n, KEEP_ALPHA);
    case ST:
        return rule_state(t, n);
    case ZP:
        return rule_zip(t, n);
    case COUNTRY:
        return rule_lookup(t, n, countries);
    case GE:
        return rule_lookup(t, n, genders);
    case DB:
        return rule_date(t, n, day_first, max_year);
    case EXTERNAL_ID:
        return rule_external_id(t, n);
    case CLIENT_IP_ADDRESS:
        ok = is_ipv4(t, n) || is_plain_ipv6(t, n);
        break;
    case CLIENT_USER_AGENT:
        ok = 1;
        break;
    case FBC:
    case FBP:
        ok = is_fb_cookie(t, n);
        break;
    case MADID:
        ok = !has_space(t, n) && !only_zeros_and_dashes(t, n);
        break;
    case ANON_ID:
    case CTWA_CLID:
    case SUBSCRIPTION_ID:
        ok = !has_space(t, n);
        break;
    default: /* the numeric Meta ids */
        ok = only_digits(t, n);
        break;
    }
    return ok ? PyUnicode_Substring(value, start, start + n) : UNDECIDED;
}

/* What C alone decides for one str value: a new reference, or UNDECIDED (NULL, no exception). */
static PyObject *decide_value(enum key key, PyObject *value, int day_first, long max_year) {
    if (!PyUnicode_IS_ASCII(value)) {
        return UNDECIDED;
    }
    const char *s = (const char *)PyUnicode_1BYTE_DATA(value);
    Py_ssize_t end = PyUnicode_GET_LENGTH(value), start = 0;
    while (start < end && is_space((unsigned char)s[start])) {
        start++;
    }
    while (end > start && is_space((unsigned char)s[end - 1])) {
        end--;
    }
    if (start == end) {
        return UNDECIDED;
    }
    return decide(key, value, s + start, end - start, day_first, max_year);
}

/* ---------------------------------------------------------------- Python API */

static int parse_settings(PyObject *day_first_obj, PyObject *max_year_obj, int *day_first,
                          long *max_year) {
    *day_first = PyObject_IsTrue(day_first_obj);
    if (*day_first < 0) {
        return -1;
    }
    *max_year = PyLong_AsLong(max_year_obj);
    return *max_year == -1 && PyErr_Occurred() ? -1 : 0;
}

/* The memo table of `key` (borrowed, NULL if there is none) and what it holds for `value`
 * (a new reference, or NULL); -1 on an error. */
static int memo_table(PyObject *tables, PyObject *key, PyObject *value, PyObject **table,
                      PyObject **result) {
    *result = NULL;
    *table = PyDict_GetItemWithError(tables, key);
    if (*table == NULL || !PyDict_CheckExact(*table)) {
        *table = NULL;
        return PyErr_Occurred() ? -1 : 0;
    }
    *result = PyDict_GetItemWithError(*table, value);
    if (*result == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_INCREF(*result);
    return 0;
}

/* memo.remember(table, value, result): the Python side keeps the memo's bounds. */
static int remember_result(PyObject *table, PyObject *value, PyObject *result) {
    PyObject *args[3] = {table, value, result};
    PyObject *none = PyObject_Vectorcall(remember, args, 3, NULL);
    Py_XDECREF(none);
    return none == NULL ? -1 : 0;
}

/* The interned key names by their address, so that the usual key (the name object itself)
 * needs no lookup; a name whose slot another took is looked up in ranks, as any other key. */
#define KEY_SLOTS 128
static struct {
    PyObject *name; /* borrowed: ranks holds the names */
    int key;
} key_slots[KEY_SLOTS];

static size_t key_slot(PyObject *name) { return ((uintptr_t)name >> 4) % KEY_SLOTS; }

/* The enum key of a str key object, KEY_COUNT for an unknown one, -1 on an error. */
static int key_of(PyObject *key) {
    size_t slot = key_slot(key);
    if (key_slots[slot].name == key) {
        return key_slots[slot].key;
    }
    PyObject *rank = PyDict_GetItemWithError(ranks, key);
    if (rank == NULL) {
        return PyErr_Occurred() ? -1 : KEY_COUNT;
    }
    return (int)PyLong_AsLong(rank);
}

PyDoc_STRVAR(normalize_doc,
             "normalize(raw, region, max_year, tables, day_first) -> dict | (dict,) | None\n\n"
             "The short way of normalize_user_data: the output in Meta's key order, (output,) "
             "when the phone has no known country code (the caller adds the warning), or None "
             "when the long way must run.");

static PyObject *normalize(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "normalize takes 5 arguments");
        return NULL;
    }
    PyObject *raw = args[0], *region = args[1], *max_year_obj = args[2], *tables = args[3];
    int day_first;
    long max_year;
    if (!PyDict_CheckExact(raw) || !PyDict_Check(tables)) {
        PyErr_SetString(PyExc_TypeError, "raw and tables must be dicts");
        return NULL;
    }
    if (fallback == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_cuserdata.setup() was not called");
        return NULL;
    }
    if (parse_settings(args[4], max_year_obj, &day_first, &max_year) < 0) {
        return NULL;
    }
    if (PyDict_GET_SIZE(raw) == 0) {
        Py_RETURN_NONE;
    }
    /* Keys and values in Meta's order, held (a fallback runs Python code). */
    PyObject *keys[KEY_COUNT] = {NULL}, *values[KEY_COUNT] = {NULL};
    PyObject *found = NULL, *key, *value;
    Py_ssize_t pos = 0;
    int no_country_code = 0;
    while (PyDict_Next(raw, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key) || !PyUnicode_CheckExact(value)) {
            goto long_way;
        }
        int k = key_of(key);
        if (k < 0) {
            goto done;
        }
        if (k == KEY_COUNT) {
            goto long_way;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        keys[k] = key;
        values[k] = value;
    }
#if PY_VERSION_HEX < 0x030D0000
    found = _PyDict_NewPresized(PyDict_GET_SIZE(raw)); /* filled without a resize */
#else
    found = PyDict_New();
#endif
    if (found == NULL) {
        goto done;
    }
    for (int k = 0; k < KEY_COUNT; k++) {
        if (values[k] == NULL) {
            continue;
        }
        PyObject *table = NULL, *result;
        if (k >= FN && k <= COUNTRY) { /* low-cardinality values: the memo first */
            if (memo_table(tables, keys[k], values[k], &table, &result) < 0) {
                goto fail;
            }
            if (result != NULL) {
                goto found_result;
            }
        }
        result = decide_value((enum key)k, values[k], day_first, max_year);
        if (result != NULL && table != NULL && remember_result(table, values[k], result) < 0) {
            Py_DECREF(result);
            goto fail;
        }
        if (result == NULL) {
            if (PyErr_Occurred()) {
                goto fail;
            }
            PyObject *call[5] = {keys[k], values[k], region, max_year_obj, tables};
            result = PyObject_Vectorcall(fallback, call, 5, NULL);
            if (result == NULL) {
                goto fail;
            }
            if (result == Py_None) {
                Py_DECREF(result);
                Py_CLEAR(found);
                goto long_way;
            }
            if (PyTuple_Check(result)) { /* (hash,): a phone without a known country code */
                if (k != PH || PyTuple_GET_SIZE(result) != 1) {
                    Py_DECREF(result);
                    PyErr_SetString(PyExc_TypeError, "only a phone comes as a 1-tuple");
                    goto fail;
                }
                Py_SETREF(result, Py_NewRef(PyTuple_GET_ITEM(result, 0)));
                no_country_code = 1;
            }
        }
    found_result:;
        int error = PyDict_SetItem(found, keys[k], result);
        Py_DECREF(result);
        if (error < 0) {
            goto fail;
        }
    }
    if (no_country_code) {
        Py_SETREF(found, PyTuple_Pack(1, found));
    }
    goto done;
fail:
    Py_CLEAR(found);
    goto done;
long_way:
    found = Py_NewRef(Py_None);
done:
    for (int k = 0; k < KEY_COUNT; k++) {
        Py_XDECREF(keys[k]);
        Py_XDECREF(values[k]);
    }
    return found;
}

PyDoc_STRVAR(decide_doc,
             "decide(key, value, day_first, max_year) -> str | None\n\n"
             "What C alone decides for one user_data value; None when the Python rule must.");

static PyObject *decide_py(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs) {
    int day_first;
    long max_year;
    if (nargs != 4 || !PyUnicode_CheckExact(args[0]) || !PyUnicode_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "decide takes a key, a str value and 2 settings");
        return NULL;
    }
    if (parse_settings(args[2], args[3], &day_first, &max_year) < 0) {
        return NULL;
    }
    int k = key_of(args[0]);
    if (k < 0) {
        return NULL;
    }
    if (k == KEY_COUNT) {
        PyErr_SetString(PyExc_KeyError, "not a Meta user_data key");
        return NULL;
    }
    if (states == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_cuserdata.setup() was not called");
        return NULL;
    }
    PyObject *result = decide_value((enum key)k, args[1], day_first, max_year);
    if (result == NULL && !PyErr_Occurred()) {
        Py_RETURN_NONE;
    }
    return result;
}

PyDoc_STRVAR(sha256_doc,
             "sha256_hex(data: bytes, sha_ni: bool) -> str\n\n"
             "The lowercase hex SHA-256 of data, with the CPU's SHA extensions if sha_ni and the "
             "CPU has them (SHA_NI), else the portable code.");

static PyObject *sha256_py(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs) {
    char *bytes;
    Py_ssize_t n;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "sha256_hex takes data and sha_ni");
        return NULL;
    }
    int sha_ni = PyObject_IsTrue(args[1]);
    if (sha_ni < 0 || PyBytes_AsStringAndSize(args[0], &bytes, &n) < 0) {
        return NULL;
    }
    int saved = use_sha_ni;
    use_sha_ni = saved && sha_ni;
    PyObject *result = sha256_str(bytes, (size_t)n);
    use_sha_ni = saved;
    return result;
}

PyDoc_STRVAR(setup_doc,
             "setup(fallback, remember, states, countries, genders, months, fillers) -> None\n\n"
             "The Python rule for undecided values, memo.remember, the st, country and ge "
             "lookup tables, and the month and filler words of dates.");

static PyObject *setup_py(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7 || !PyCallable_Check(args[0]) || !PyCallable_Check(args[1]) ||
        !PyDict_CheckExact(args[2]) || !PyDict_CheckExact(args[3]) || !PyDict_CheckExact(args[4]) ||
        !PyDict_CheckExact(args[5]) || !PyFrozenSet_CheckExact(args[6])) {
        PyErr_SetString(PyExc_TypeError, "setup takes 2 callables, 4 dicts and a frozenset");
        return NULL;
    }
    Py_XSETREF(fallback, Py_NewRef(args[0]));
    Py_XSETREF(remember, Py_NewRef(args[1]));
    Py_XSETREF(states, Py_NewRef(args[2]));
    Py_XSETREF(countries, Py_NewRef(args[3]));
    Py_XSETREF(genders, Py_NewRef(args[4]));
    Py_XSETREF(months, Py_NewRef(args[5]));
    Py_XSETREF(fillers, Py_NewRef(args[6]));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"normalize", (PyCFunction)(void (*)(void))normalize, METH_FASTCALL, normalize_doc},
    {"decide", (PyCFunction)(void (*)(void))decide_py, METH_FASTCALL, decide_doc},
    {"sha256_hex", (PyCFunction)(void (*)(void))sha256_py, METH_FASTCALL, sha256_doc},
    {"setup", (PyCFunction)(void (*)(void))setup_py, METH_FASTCALL, setup_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_cuserdata", "The short way of normalize_user_data in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cuserdata(void) {
    make_hex_pairs();
    PyObject *module = PyModule_Create(&module_def);
    PyObject *names = PyTuple_New(KEY_COUNT);
    if (module == NULL || names == NULL) {
        goto fail;
    }
    if (ranks == NULL && (ranks = PyDict_New()) == NULL) {
        goto fail;
    }
    for (int k = 0; k < KEY_COUNT; k++) {
        PyObject *name = PyUnicode_InternFromString(KEY_NAMES[k]);
        if (name == NULL) {
            goto fail;
        }
        PyTuple_SET_ITEM(names, k, name);
        PyObject *rank = PyLong_FromLong(k);
        int error = rank == NULL || PyDict_SetItem(ranks, name, rank) < 0;
        Py_XDECREF(rank);
        if (error) {
            goto fail;
        }
        if (key_slots[key_slot(name)].name == NULL) {
            key_slots[key_slot(name)].name = name;
            key_slots[key_slot(name)].key = k;
        }
    }
    if (PyModule_AddObject(module, "KEYS", names) < 0) {
        goto fail;
    }
    names = NULL;
#if HAVE_SHA_NI
    use_sha_ni = cpu_has_sha_ni();
#endif
    if (PyModule_AddObject(module, "SHA_NI", Py_NewRef(use_sha_ni ? Py_True : Py_False)) < 0) {
        Py_DECREF(use_sha_ni ? Py_True : Py_False);
        goto fail;
    }
    return module;
fail:
    Py_XDECREF(names);
    Py_XDECREF(module);
    return NULL;
}
