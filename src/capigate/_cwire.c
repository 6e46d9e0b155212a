/* capigate._cwire: the pipeline's fast path in C.
 *
 * prepare_clean(event, user_data, now_s, options, findings) is capigate.pipeline's
 * _prepare_pure: the wire dict of capigate.validate.clean.clean_wire, the findings as a tuple
 * and capigate.quality.estimate, in a Prepared; clean_wire and estimate are exported alone too.
 * Each answers exactly as the Python function does, or returns None when it is not certain:
 * the pipeline then takes the long way, which is always right. Every table and every rule
 * that needs more than a type test comes from the Python modules through configure()
 * (capigate.pipeline calls it at import with clean.native_tables and quality.native_tables):
 * C decides the common cases from those tables and calls the Python rule for the rest, so
 * C and Python share one definition.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#define CS_MODULE "capigate._cwire"
#include "_cshared.h"

#include <math.h>
#include <string.h>

/* Integers up to 2**52 convert to double exactly, and so do their differences. */
#define EXACT_DOUBLE_INT ((long long)1 << 52)
#define OCTETS 256
#define IPV4_PARTS 4
#define SHA256_HEX_CHARS 64
#define IPV6_HEXTETS 8
#define IPV6_HEXTET_CHARS 4
#define HEXTET_VALUES 65536
#define CURRENCY_CHARS 3

/* Everything configure() receives; strong references, released by clear_tables(). */
typedef struct {
    PyObject *event_keys, *action_sources, *standard_names, *clean_custom_name, *url_match;
    PyObject *currencies, *is_currency, *content_types, *custom_plans, *custom_plan;
    PyObject *clean_value, *clean_currency, *clean_content_type, *clean_contents;
    PyObject *clean_order_id, *clean_property, *bad, *empty, *content_keys, *app_keys, *flags;
    PyObject *extinfo_versions, *broad_keys, *user_data_is_clean, *classify;
    PyObject *ip_public, *check_messaging, *quality_memo, *estimate, *normalized_checks;
    PyObject *check_text, *check_app_only, *check_id, *check_client_ip, *no_check;
    PyObject *lead_id_key, *key_points, *pair_bonuses, *quality_type;
    PyObject *official_messaging_names, *messaging_channels, *messaging_identifiers;
    PyObject *quality_fields, *prepared_type, *prepared_fields;
    PyObject *options_type, *current_year, *memo_tables, *memos, *month_first_regions;
    PyObject *userdata_globals, *validation_type;
    long max_score;
    Py_ssize_t max_cached_key_sets;
    int estimate_in_c;  /* points and bonuses sum exactly in doubles: see exact_points */
    int event_keys_are_fields;  /* event_keys is exactly FIELD_KEYS: see read_fields */
    Py_ssize_t quality_slots[2], prepared_slots[3];  /* see slot_offsets; 0: none */
    Py_ssize_t extinfo_length, extinfo_os_index, event_id_max_chars;
    long long milliseconds_above;
    char special_octet[OCTETS];
    char public_hextet[HEXTET_VALUES];  /* 1: every IPv6 address under it is global */
} Tables;

static Tables T;
static int configured;

/* Interned key and attribute names, made once at import. */
static PyObject *s_event_name, *s_event_time, *s_event_id, *s_action_source;
static PyObject *s_event_source_url, *s_referrer_url, *s_messaging_channel, *s_user_data;
static PyObject *s_custom_data, *s_app_data, *s_currency, *s_value, *s_id, *s_quantity;
static PyObject *s_item_price, *s_advertiser, *s_application, *s_extinfo;
static PyObject *s_client_ip_address, *s_client_user_agent;
static PyObject *s_max_age_s, *s_store_max_age_s, *s_future_skew_s, *s_custom_name_style;
static PyObject *s_require_baseline, *s_messaging_allowlist, *s_strict_names;
static PyObject *s_default_region, *s_validation, *s_native;

/* ---- small helpers --------------------------------------------------------------------- */

#define WIRE_KEYS 8  /* the usual event: head, URL, user_data, custom_data */

/* An empty dict with room for `keys` entries, so that filling it never resizes it. */
static PyObject *
new_dict(Py_ssize_t keys)
{
#if PY_VERSION_HEX < 0x030D0000
    return _PyDict_NewPresized(keys);
#else
    (void)keys;
    return PyDict_New();
#endif
}

static int truth_of(PyObject *value);

static int
is_none(PyObject *value)
{
    return value == NULL || value == Py_None;
}

/* text == ascii for a str: inlined with a literal, a length test and a memcmp at most. */
static inline int
eq_ascii(PyObject *text, const char *ascii)
{
    if (!PyUnicode_CheckExact(text)) {
        return PyUnicode_CompareWithASCIIString(text, ascii) == 0;
    }
    size_t length = strlen(ascii);
    return PyUnicode_IS_ASCII(text) && (size_t)PyUnicode_GET_LENGTH(text) == length &&
           memcmp(PyUnicode_DATA(text), ascii, length) == 0;
}

/* dict.get(key): a borrowed reference or NULL; -1 on error. */
static int
get(PyObject *dict, PyObject *key, PyObject **out)
{
    *out = PyDict_GetItemWithError(dict, key);
    return (*out == NULL && PyErr_Occurred()) ? -1 : 0;
}

/* The keys of a dict as a new tuple (no Python code runs meanwhile, so the dict holds still). */
static PyObject *
key_tuple(PyObject *dict)
{
    PyObject *keys = PyTuple_New(PyDict_GET_SIZE(dict)), *key, *value;
    Py_ssize_t pos = 0, i = 0;
    while (keys != NULL && PyDict_Next(dict, &pos, &key, &value)) {
        PyTuple_SET_ITEM(keys, i++, Py_NewRef(key));
    }
    return keys;
}

/* tuple(dict) as a new reference: *last again when it holds the same key objects in the same
 * order (a sender's events repeat their keys, and a memo then finds its own key object), else
 * a new tuple, kept in *last for the next call. */
static PyObject *
keys_as_before(PyObject *dict, PyObject **last)
{
    Py_ssize_t size = PyDict_GET_SIZE(dict), pos = 0, i = 0;
    PyObject *key, *value;
    if (*last != NULL && PyTuple_GET_SIZE(*last) == size) {
        while (PyDict_Next(dict, &pos, &key, &value) && PyTuple_GET_ITEM(*last, i) == key) {
            i++;
        }
        if (i == size) {
            return Py_NewRef(*last);
        }
    }
    PyObject *keys = key_tuple(dict);
    if (keys != NULL) {
        Py_XSETREF(*last, Py_NewRef(keys));
    }
    return keys;
}

/* 1 when every key of dict is in set, 0 when one is not, -1 on error. */
static int
keys_within(PyObject *dict, PyObject *set)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        Py_INCREF(key);  /* a key's __eq__ may run Python code */
        int inside = PySet_Contains(set, key);
        Py_DECREF(key);
        if (inside <= 0) {
            return inside;
        }
    }
    return 1;
}

/* A number as a double when the conversion is exact: 1 yes, 0 no (take the long way). */
static int
exact_double(PyObject *number, double *out)
{
    if (PyFloat_CheckExact(number)) {
        *out = PyFloat_AS_DOUBLE(number);
        return 1;
    }
    if (PyLong_CheckExact(number)) {
        int overflow = 0;
        long long value = PyLong_AsLongLongAndOverflow(number, &overflow);
        if (value == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (overflow || value > EXACT_DOUBLE_INT || value < -EXACT_DOUBLE_INT) {
            return 0;
        }
        *out = (double)value;
        return 1;
    }
    return 0;
}

/* The sign of an exact int: -1, 0 or 1 (never fails). */
static int
int_sign(PyObject *number)
{
    int overflow = 0;
    long long value = PyLong_AsLongLongAndOverflow(number, &overflow);
    if (overflow) {
        return overflow;
    }
    return (value > 0) - (value < 0);
}

/* A call whose result counts by its truth: 1, 0, or -1 on error. */
static int
call_truth(PyObject *callable, PyObject *const *args, size_t nargs)
{
    PyObject *result = PyObject_Vectorcall(callable, args, nargs, NULL);
    if (result == NULL) {
        return -1;
    }
    int truth = PyObject_IsTrue(result);
    Py_DECREF(result);
    return truth;
}

/* ---- the event's values ----------------------------------------------------------------- */

/* The values of the keys the fast path knows (clean._EVENT_KEYS), read once and held. */
enum field {
    F_NAME, F_TIME, F_ID, F_SOURCE, F_URL, F_REFERRER, F_CHANNEL, F_USER_DATA, F_CUSTOM, F_APP,
    FIELD_COUNT,
};

static PyObject **const FIELD_KEYS[FIELD_COUNT] = {
    &s_event_name, &s_event_time, &s_event_id, &s_action_source, &s_event_source_url,
    &s_referrer_url, &s_messaging_channel, &s_user_data, &s_custom_data, &s_app_data,
};

static void
release_fields(PyObject **fields)
{
    for (int i = 0; i < FIELD_COUNT; i++) {
        Py_CLEAR(fields[i]);
    }
}

/* read_fields for an event whose keys are all FIELD_KEYS' interned objects themselves (the
 * usual case: keys written by the mapping or interned by the JSON parser): one pass over the
 * event, keys told apart by identity. 1 done, 0 not that case (fields left empty). */
static int
read_fields_by_identity(PyObject *event, PyObject **fields)
{
    memset(fields, 0, FIELD_COUNT * sizeof *fields);
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(event, &pos, &key, &value)) {
        int i = 0;
        while (i < FIELD_COUNT && *FIELD_KEYS[i] != key) {
            i++;
        }
        if (i == FIELD_COUNT) {
            memset(fields, 0, FIELD_COUNT * sizeof *fields);
            return 0;
        }
        fields[i] = value;
    }
    for (int i = 0; i < FIELD_COUNT; i++) {
        Py_XINCREF(fields[i]);
    }
    return 1;
}

/* fields[i] = event.get(FIELD_KEYS[i]), each a new reference or NULL: 1 when the event has
 * no other key (event.keys() <= _EVENT_KEYS), 0 when it has, -1 on an error. When the table
 * holds exactly these keys, the count of those found says it; else the table is asked. */
static int
read_fields(PyObject *event, PyObject **fields)
{
    int known = T.event_keys_are_fields ? read_fields_by_identity(event, fields) : 0;
    if (known != 0) {
        return known;  /* every key one of FIELD_KEYS' own objects: nothing looked up */
    }
    Py_ssize_t found = 0;
    memset(fields, 0, FIELD_COUNT * sizeof *fields);  /* release_fields may meet any of them */
    for (int i = 0; i < FIELD_COUNT; i++) {
        fields[i] = PyDict_GetItemWithError(event, *FIELD_KEYS[i]);
        if (fields[i] == NULL && PyErr_Occurred()) {
            release_fields(fields);
            return -1;
        }
        Py_XINCREF(fields[i]);
        found += fields[i] != NULL;
    }
    if (T.event_keys_are_fields) {
        return found == PyDict_GET_SIZE(event);
    }
    known = keys_within(event, T.event_keys);
    if (known < 0) {
        release_fields(fields);
    }
    return known;
}

/* ---- the event head: name, time, id, source -------------------------------------------- */

static int
clean_name(PyObject *name, PyObject *options)
{
    int standard = PySet_Contains(T.standard_names, name);
    if (standard != 0) {
        return standard;
    }
    PyObject *style = PyObject_GetAttr(options, s_custom_name_style);
    if (style == NULL) {
        return -1;
    }
    PyObject *args[2] = {name, style};
    int clean = call_truth(T.clean_custom_name, args, 2);
    Py_DECREF(style);
    return clean;
}

/* An option that is a number: 1 with its exact double, 0 when it is of another kind. */
static int
option_double(PyObject *options, PyObject *name, double *out)
{
    PyObject *value = PyObject_GetAttr(options, name);
    if (value == NULL) {
        return -1;
    }
    int exact = exact_double(value, out);
    Py_DECREF(value);
    return exact;
}

/* The ValidationOptions last seen (frozen) and what option_double said of its numbers. */
typedef struct {
    PyObject *options, *require;  /* strong; require: require_baseline_match */
    int max_age_ok, store_ok, skew_ok;
    double max_age_s, store_max_age_s, skew_s;
} Knobs;

static Knobs K;

static void
clear_knobs(void)
{
    Py_CLEAR(K.options);
    Py_CLEAR(K.require);
}

/* 1 when K describes options (read now if it is a new ValidationOptions), 0 when options is
 * of another type (read it attribute by attribute), -1 on an error. */
static int
knobs_of(PyObject *options)
{
    if (options == K.options) {
        return 1;
    }
    if ((PyObject *)Py_TYPE(options) != T.validation_type) {
        return 0;
    }
    Knobs knobs = {NULL, NULL, 0, 0, 0, 0.0, 0.0, 0.0};
    knobs.max_age_ok = option_double(options, s_max_age_s, &knobs.max_age_s);
    knobs.store_ok = option_double(options, s_store_max_age_s, &knobs.store_max_age_s);
    knobs.skew_ok = option_double(options, s_future_skew_s, &knobs.skew_s);
    knobs.require = PyObject_GetAttr(options, s_require_baseline);
    if (knobs.max_age_ok < 0 || knobs.store_ok < 0 || knobs.skew_ok < 0 || knobs.require == NULL) {
        Py_XDECREF(knobs.require);
        return -1;
    }
    clear_knobs();
    knobs.options = Py_NewRef(options);
    K = knobs;
    return 1;
}

/* max_age_s (or physical_store_max_age_s) and future_skew_s as option_double reads them. */
static int
window_of(PyObject *options, int store, double *max_age_s, double *skew_s)
{
    int known = knobs_of(options);
    if (known == 1) {
        *max_age_s = store ? K.store_max_age_s : K.max_age_s;
        *skew_s = K.skew_s;
        int ok = store ? K.store_ok : K.max_age_ok;
        return ok == 1 ? K.skew_ok : ok;
    }
    if (known < 0) {
        return -1;
    }
    int ok = option_double(options, store ? s_store_max_age_s : s_max_age_s, max_age_s);
    return ok == 1 ? option_double(options, s_future_skew_s, skew_s) : ok;
}

static int
in_window(PyObject *seconds, int store, PyObject *now, PyObject *options)
{
    int overflow = 0;
    long long whole = PyLong_AsLongLongAndOverflow(seconds, &overflow);
    if (whole == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || whole > EXACT_DOUBLE_INT || whole < -EXACT_DOUBLE_INT) {
        return 0;  /* Python would raise or round here: let the long way speak */
    }
    double now_s, max_age_s, skew_s;
    int ok = exact_double(now, &now_s);
    if (ok == 1 && PyLong_CheckExact(now)) {
        ok = fabs(now_s) <= (double)EXACT_DOUBLE_INT;  /* int - int stays exact */
    }
    if (ok == 1) {
        ok = window_of(options, store, &max_age_s, &skew_s);
    }
    if (ok != 1) {
        return ok;
    }
    double age_s = now_s - (double)whole;
    return whole <= T.milliseconds_above && -age_s <= skew_s && age_s <= max_age_s;
}

/* The wire dict (presized for the usual keys) with its first four, or 0 when the head is
 * not clean. */
static int
clean_head(PyObject **fields, PyObject *now, PyObject *options, PyObject **wire)
{
    PyObject *name = fields[F_NAME], *seconds = fields[F_TIME];
    PyObject *source = fields[F_SOURCE], *event_id = fields[F_ID];
    if (name == NULL || !PyUnicode_CheckExact(name) || seconds == NULL ||
        !PyLong_CheckExact(seconds) || event_id == NULL || !PyUnicode_CheckExact(event_id) ||
        source == NULL || !PyUnicode_CheckExact(source)) {
        return 0;
    }
    int ok = PySet_Contains(T.action_sources, source);
    if (ok != 1) {
        return ok;
    }
    Py_ssize_t id_chars = PyUnicode_GET_LENGTH(event_id);
    if (id_chars == 0 || id_chars > T.event_id_max_chars) {
        return 0;
    }
    ok = clean_name(name, options);
    if (ok == 1) {
        ok = in_window(seconds, eq_ascii(source, "physical_store"), now, options);
    }
    if (ok == 1) {
        *wire = new_dict(WIRE_KEYS);
        if (*wire == NULL || PyDict_SetItem(*wire, s_event_name, name) ||
            PyDict_SetItem(*wire, s_event_time, seconds) ||
            PyDict_SetItem(*wire, s_event_id, event_id) ||
            PyDict_SetItem(*wire, s_action_source, source)) {
            Py_CLEAR(*wire);
            ok = -1;
        }
    }
    return ok;
}

/* ---- URLs and channel ------------------------------------------------------------------ */

/* fields.HTTP_URL.match, (?i)https?://[^\s/?#]+, decided here when "http", "s" and "://"
 * are ASCII (case folding of other letters, e.g. U+017F for s, is left to the regex):
 * 1 a match, 0 none, 2 ask the regex. */
static int
http_url(PyObject *url)
{
    static const char scheme[] = "http";
    Py_ssize_t length = PyUnicode_GET_LENGTH(url), at = 0;
    int kind = PyUnicode_KIND(url);
    const void *data = PyUnicode_DATA(url);
    for (; at < 4; at++) {
        Py_UCS4 c = at < length ? PyUnicode_READ(kind, data, at) : 0;
        if (c >= 0x80) {
            return 2;
        }
        if (c != (Py_UCS4)scheme[at] && c != (Py_UCS4)(scheme[at] - 'a' + 'A')) {
            return 0;
        }
    }
    Py_UCS4 c = at < length ? PyUnicode_READ(kind, data, at) : 0;
    if (c >= 0x80) {
        return 2;
    }
    at += c == 's' || c == 'S';
    for (int i = 0; i < 3; i++, at++) {
        c = at < length ? PyUnicode_READ(kind, data, at) : 0;
        if (c != (Py_UCS4)"://"[i]) {
            return 0;
        }
    }
    if (at >= length) {
        return 0;
    }
    c = PyUnicode_READ(kind, data, at);
    return !(Py_UNICODE_ISSPACE(c) || c == '/' || c == '?' || c == '#');
}

static int
add_urls(PyObject **fields, PyObject *wire, int website)
{
    PyObject *url = fields[F_URL], *referrer = fields[F_REFERRER];
    if (is_none(url)) {
        if (website) {
            return 0;
        }
    }
    else {
        if (!PyUnicode_CheckExact(url)) {
            return 0;
        }
        int ok = http_url(url);
        if (ok == 2) {
            ok = call_truth(T.url_match, &url, 1);
        }
        if (ok == 1 && PyDict_SetItem(wire, s_event_source_url, url)) {
            ok = -1;
        }
        if (ok != 1) {
            return ok;
        }
    }
    if (is_none(referrer)) {
        return 1;
    }
    if (!PyUnicode_CheckExact(referrer)) {
        return 0;
    }
    if (PyUnicode_GET_LENGTH(referrer) && PyDict_SetItem(wire, s_referrer_url, referrer)) {
        return -1;
    }
    return 1;
}

static int
add_channel(PyObject *channel, PyObject *wire, int messaging)
{
    if (is_none(channel)) {
        return 1;
    }
    if (!PyUnicode_CheckExact(channel) || !messaging) {
        return 0;
    }
    return PyDict_SetItem(wire, s_messaging_channel, channel) ? -1 : 1;
}

/* ---- user_data: validate.user_data.normalized_user_data_is_clean ------------------------ */

/* The IPv4 first octet when text is dotted-quad as the IPV4 pattern reads it, else -1. */
static int
ipv4_first_octet(PyObject *text)
{
    if (!PyUnicode_IS_ASCII(text)) {
        return -1;
    }
    const char *c = (const char *)PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), at = 0;
    int first = -1;
    for (int part = 0; part < IPV4_PARTS; part++) {
        if (part && (at >= length || c[at++] != '.')) {
            return -1;
        }
        Py_ssize_t start = at;
        int octet = 0;
        while (at < length && at - start < 3 && c[at] >= '0' && c[at] <= '9') {
            octet = octet * 10 + (c[at++] - '0');
        }
        Py_ssize_t digits = at - start;
        if (digits == 0 || octet >= OCTETS || (digits > 1 && c[start] == '0')) {
            return -1;
        }
        if (part == 0) {
            first = octet;
        }
    }
    return at == length ? first : -1;
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* The first hextet of text when it is an IPv6 address as ipaddress.IPv6Address parses it
 * (hex groups and one "::", no embedded IPv4, scope or prefix: those are left to Python),
 * else -1. */
static long
ipv6_first_hextet(PyObject *text)
{
    if (!PyUnicode_IS_ASCII(text)) {
        return -1;
    }
    const char *c = (const char *)PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_ssize_t parts = 1, skip = -1, start = 0, first_length = -1;
    long first = 0;
    for (Py_ssize_t at = 0; at <= length; at++) {
        if (at < length && c[at] != ':') {
            if (hex_value(c[at]) < 0 || at - start >= IPV6_HEXTET_CHARS) {
                return -1;
            }
            if (parts == 1) {
                first = first * 16 + hex_value(c[at]);
            }
            continue;
        }
        if (parts == 1) {
            first_length = at - start;
        }
        if (at < length) {
            if (at == start && parts > 1) {
                if (skip >= 0) {
                    return -1;  /* a second "::" */
                }
                skip = parts - 1;
            }
            if (++parts > IPV6_HEXTETS + 1) {
                return -1;
            }
            start = at + 1;
        }
    }
    int empty_first = first_length == 0, empty_last = start == length;
    if (parts < 3) {
        return -1;
    }
    if (skip < 0) {
        return parts == IPV6_HEXTETS && !empty_first && !empty_last ? first : -1;
    }
    Py_ssize_t high = skip - empty_first, low = parts - skip - 1 - empty_last;
    if ((empty_first && high) || (empty_last && low) || IPV6_HEXTETS - (high + low) < 1) {
        return -1;
    }
    return first;
}

static int
ip_is_public(PyObject *address)
{
    int first = ipv4_first_octet(address);
    if (first >= 0 && !T.special_octet[first]) {
        return 1;
    }
    long hextet = first >= 0 ? -1 : ipv6_first_hextet(address);
    if (hextet >= 0 && T.public_hextet[hextet]) {
        return 1;
    }
    PyObject *verdict = PyObject_Vectorcall(T.classify, &address, 1, NULL);
    if (verdict == NULL) {
        return -1;
    }
    int public = verdict == T.ip_public;
    Py_DECREF(verdict);
    return public;
}

static int
looks_sha256(PyObject *text)
{
    if (PyUnicode_GET_LENGTH(text) != SHA256_HEX_CHARS || !PyUnicode_IS_ASCII(text)) {
        return 0;
    }
    const char *c = (const char *)PyUnicode_DATA(text);
    for (int i = 0; i < SHA256_HEX_CHARS; i++) {
        if (!((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'a' && c[i] <= 'f') ||
              (c[i] >= 'A' && c[i] <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

/* What check_normalized_user_data would say about one key: 1 nothing, 0 a finding,
 * 2 ask the Python function, -1 error. */
static int
user_key_verdict(PyObject *key, PyObject *value, PyObject *source)
{
    PyObject *check = PyDict_GetItemWithError(T.normalized_checks, key);
    if (check == NULL) {
        return PyErr_Occurred() ? -1 : 1;  /* hashed keys and cookies: canonical already */
    }
    if (!PyUnicode_CheckExact(value)) {
        return 2;
    }
    if (check == T.check_id) {
        int lead = PyObject_RichCompareBool(key, T.lead_id_key, Py_EQ);
        if (lead != 0) {
            return lead < 0 ? -1 : 2;  /* its digits rule stays in Python */
        }
    }
    if (check == T.check_client_ip) {
        return ip_is_public(value);
    }
    if (check == T.check_app_only && !eq_ascii(source, "app")) {
        return 0;
    }
    if (check == T.check_text || check == T.check_app_only || check == T.check_id) {
        return !looks_sha256(value);
    }
    return check == T.no_check ? 1 : 2;
}

/* validate.user_data.normalized_user_data_is_clean for string values: 1 clean, 0 not clean,
 * 2 ask the Python function, -1 error. */
static int
user_data_verdict(PyObject *user_data, PyObject *source, PyObject *require_baseline)
{
    if (PyDict_GET_SIZE(user_data) == 0) {
        return 2;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    int broad = 1;
    while (PyDict_Next(user_data, &pos, &key, &value)) {
        Py_INCREF(key);
        Py_INCREF(value);
        int verdict = user_key_verdict(key, value, source);
        if (verdict == 1 && broad) {
            broad = PySet_Contains(T.broad_keys, key);
            verdict = broad < 0 ? -1 : 1;
        }
        Py_DECREF(key);
        Py_DECREF(value);
        if (verdict != 1) {
            return verdict;
        }
    }
    if (!broad) {
        return 1;
    }
    int require = PyObject_IsTrue(require_baseline);
    return require < 0 ? -1 : (require ? 2 : 1);
}

static int
user_data_clean(PyObject *user_data, PyObject *source, PyObject *options)
{
    int known = knobs_of(options);
    PyObject *require = known == 1   ? Py_NewRef(K.require)
                        : known == 0 ? PyObject_GetAttr(options, s_require_baseline)
                                     : NULL;
    if (require == NULL) {
        return -1;
    }
    int verdict = user_data_verdict(user_data, source, require);
    if (verdict == 2) {
        PyObject *args[3] = {user_data, source, require};
        verdict = call_truth(T.user_data_is_clean, args, 3);
    }
    Py_DECREF(require);
    return verdict;
}

/* ---- custom_data ----------------------------------------------------------------------- */

/* What a cleaner says: a new reference to the value to write, or one of these. */
#define CLEAN_BAD ((PyObject *)1)
#define CLEAN_EMPTY ((PyObject *)2)

static int
is_amount(PyObject *value)
{
    return PyLong_CheckExact(value) ||
           (PyFloat_CheckExact(value) && isfinite(PyFloat_AS_DOUBLE(value)));
}

static PyObject *
keep(PyObject *value)
{
    return Py_NewRef(value);
}

static PyObject *
clean_value(PyObject *value)
{
    if (PyLong_CheckExact(value)) {
        return int_sign(value) >= 0 ? keep(value) : CLEAN_BAD;
    }
    if (PyFloat_CheckExact(value)) {
        double amount = PyFloat_AS_DOUBLE(value);
        return isfinite(amount) && amount >= 0 ? keep(value) : CLEAN_BAD;
    }
    return CLEAN_BAD;
}

static PyObject *
clean_currency(PyObject *value)
{
    if (!PyUnicode_CheckExact(value)) {
        return CLEAN_BAD;
    }
    if (PyUnicode_GET_LENGTH(value) != CURRENCY_CHARS) {
        return CLEAN_BAD;
    }
    int known;
    if (PyUnicode_IS_ASCII(value)) {  /* str.upper of ASCII changes a-z only */
        char upper[CURRENCY_CHARS];
        const char *c = (const char *)PyUnicode_DATA(value);
        for (int i = 0; i < CURRENCY_CHARS; i++) {
            upper[i] = (char)((c[i] >= 'a' && c[i] <= 'z') ? c[i] - 'a' + 'A' : c[i]);
        }
        PyObject *code = PyUnicode_FromStringAndSize(upper, CURRENCY_CHARS);
        if (code == NULL) {
            return NULL;
        }
        known = PySet_Contains(T.currencies, code);
        Py_DECREF(code);
    }
    else {
        known = call_truth(T.is_currency, &value, 1);
    }
    if (known < 0) {
        return NULL;
    }
    return known ? keep(value) : CLEAN_BAD;
}

static PyObject *
clean_content_type(PyObject *value)
{
    if (!PyUnicode_CheckExact(value)) {
        return CLEAN_BAD;
    }
    int known = PySet_Contains(T.content_types, value);
    if (known < 0) {
        return NULL;
    }
    return known ? keep(value) : CLEAN_BAD;
}

static PyObject *
clean_order_id(PyObject *value)
{
    return PyUnicode_CheckExact(value) && PyUnicode_GET_LENGTH(value) ? keep(value) : CLEAN_BAD;
}

/* One contents item as {"id", "quantity"[, "item_price"]}: a new dict, NULL with no error
 * when the item is not clean. */
static PyObject *
clean_item(PyObject *item)
{
    if (!PyDict_CheckExact(item)) {
        return NULL;
    }
    int known = keys_within(item, T.content_keys);
    if (known <= 0) {
        return NULL;
    }
    PyObject *item_id, *quantity, *price;
    if (get(item, s_id, &item_id) || get(item, s_quantity, &quantity) ||
        get(item, s_item_price, &price)) {
        return NULL;
    }
    if (item_id == NULL || !PyUnicode_CheckExact(item_id) || !PyUnicode_GET_LENGTH(item_id) ||
        quantity == NULL || !PyLong_CheckExact(quantity) || int_sign(quantity) < 1) {
        return NULL;
    }
    if (!is_none(price) && !is_amount(price)) {
        return NULL;
    }
    PyObject *clean = PyDict_New();
    if (clean == NULL || PyDict_SetItem(clean, s_id, item_id) ||
        PyDict_SetItem(clean, s_quantity, quantity) ||
        (!is_none(price) && PyDict_SetItem(clean, s_item_price, price))) {
        Py_XDECREF(clean);
        return NULL;
    }
    return clean;
}

static PyObject *
clean_contents(PyObject *value)
{
    if (!PyList_CheckExact(value) || PyList_GET_SIZE(value) == 0) {
        return CLEAN_BAD;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *item = PyList_GET_ITEM(value, i);
        Py_INCREF(item);
        PyObject *clean = clean_item(item);
        Py_DECREF(item);
        if (clean == NULL) {
            Py_DECREF(out);
            return PyErr_Occurred() ? NULL : CLEAN_BAD;
        }
        int failed = PyList_Append(out, clean);
        Py_DECREF(clean);
        if (failed) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

/* Any cleaner of the plan: the known ones in C, others through Python. */
static PyObject *
run_cleaner(PyObject *cleaner, PyObject *value)
{
    if (cleaner == T.clean_property) {
        int truth = PyObject_IsTrue(value);  /* a false value asks the Python cleaner */
        if (truth != 0) {
            return truth < 0 ? NULL : keep(value);
        }
    }
    if (cleaner == T.clean_value) {
        return clean_value(value);
    }
    if (cleaner == T.clean_currency) {
        return clean_currency(value);
    }
    if (cleaner == T.clean_content_type) {
        return clean_content_type(value);
    }
    if (cleaner == T.clean_order_id) {
        return clean_order_id(value);
    }
    if (cleaner == T.clean_contents) {
        return clean_contents(value);
    }
    PyObject *result = PyObject_Vectorcall(cleaner, &value, 1, NULL);
    if (result == T.bad || result == T.empty) {
        PyObject *verdict = result == T.bad ? CLEAN_BAD : CLEAN_EMPTY;
        Py_DECREF(result);
        return verdict;
    }
    return result;
}

static PyObject *last_custom_keys;  /* see keys_as_before */

static PyObject *
custom_plan(PyObject *custom)
{
    PyObject *keys = keys_as_before(custom, &last_custom_keys);
    if (keys == NULL) {
        return NULL;
    }
    PyObject *plan = PyDict_GetItemWithError(T.custom_plans, keys);
    if (plan != NULL) {
        Py_INCREF(plan);
    }
    else if (!PyErr_Occurred()) {
        plan = PyObject_Vectorcall(T.custom_plan, &keys, 1, NULL);
    }
    Py_DECREF(keys);
    return plan;
}

static int
custom_complete(PyObject *out, int purchase)
{
    int currency = PyDict_Contains(out, s_currency);
    int value = currency < 0 ? -1 : PyDict_Contains(out, s_value);
    if (value < 0) {
        return -1;
    }
    if (!currency && (value || purchase)) {
        return 0;
    }
    return !(purchase && !value);
}

static int
fill_custom(PyObject *custom, PyObject *plan, PyObject *out)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(plan); i++) {
        PyObject *step = PyTuple_GET_ITEM(plan, i);
        if (!PyTuple_CheckExact(step) || PyTuple_GET_SIZE(step) != 2) {
            return 0;
        }
        PyObject *key = PyTuple_GET_ITEM(step, 0), *value;
        if (get(custom, key, &value)) {
            return -1;
        }
        if (value == NULL) {
            return 0;
        }
        if (value == Py_None) {
            continue;
        }
        Py_INCREF(value);
        PyObject *clean = run_cleaner(PyTuple_GET_ITEM(step, 1), value);
        Py_DECREF(value);
        if (clean == NULL) {
            return -1;
        }
        if (clean == CLEAN_BAD) {
            return 0;
        }
        if (clean != CLEAN_EMPTY) {
            int failed = PyDict_SetItem(out, key, clean);
            Py_DECREF(clean);
            if (failed) {
                return -1;
            }
        }
    }
    return 1;
}

/* The clean custom_data as a new dict in *out, or 0 when it is not clean. */
static int
clean_custom(PyObject *custom, int purchase, PyObject **out)
{
    if (!PyDict_CheckExact(custom)) {
        return 0;
    }
    PyObject *plan = custom_plan(custom);
    if (plan == NULL) {
        return -1;
    }
    int ok = 0;
    if (PyTuple_CheckExact(plan) && PyTuple_GET_SIZE(plan)) {
        *out = PyDict_New();
        ok = *out == NULL ? -1 : fill_custom(custom, plan, *out);
        if (ok == 1) {
            ok = custom_complete(*out, purchase);
        }
        if (ok != 1) {
            Py_CLEAR(*out);
        }
    }
    Py_DECREF(plan);
    return ok;
}

/* ---- app_data -------------------------------------------------------------------------- */

static int
is_flag(PyObject *value)
{
    if (!PyLong_CheckExact(value) && !PyBool_Check(value)) {
        return 0;
    }
    return PySequence_Contains(T.flags, value);
}

static PyObject *
flag_int(PyObject *flag)
{
    if (PyBool_Check(flag)) {
        return PyLong_FromLong(flag == Py_True);
    }
    return Py_NewRef(flag);
}

static int
clean_extinfo(PyObject *extinfo)
{
    if (!PyList_CheckExact(extinfo) || PyList_GET_SIZE(extinfo) != T.extinfo_length) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < T.extinfo_length; i++) {
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(extinfo, i))) {
            return 0;
        }
    }
    int known = PySet_Contains(T.extinfo_versions, PyList_GET_ITEM(extinfo, 0));
    if (known != 1) {
        return known;
    }
    PyObject *os_version = PyList_GET_ITEM(extinfo, T.extinfo_os_index);
    Py_ssize_t length = PyUnicode_GET_LENGTH(os_version);
    int kind = PyUnicode_KIND(os_version);
    const void *data = PyUnicode_DATA(os_version);
    for (Py_ssize_t i = 0; i < length; i++) {
        if (!Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) {
            return 1;
        }
    }
    return 0;
}

static int
app_fields(PyObject *app, PyObject **advertiser, PyObject **application, PyObject **extinfo)
{
    if (!PyDict_CheckExact(app)) {
        return 0;
    }
    int known = keys_within(app, T.app_keys);
    if (known != 1) {
        return known;
    }
    if (get(app, s_advertiser, advertiser) || get(app, s_application, application) ||
        get(app, s_extinfo, extinfo)) {
        return -1;
    }
    if (is_none(*advertiser)) {
        return 0;
    }
    int ok = is_flag(*advertiser);
    if (ok == 1 && !is_none(*application)) {
        ok = is_flag(*application);
    }
    if (ok == 1) {
        ok = *extinfo == NULL ? 0 : clean_extinfo(*extinfo);
    }
    return ok;
}

static int
clean_app(PyObject *app, PyObject **out)
{
    PyObject *advertiser, *application, *extinfo;
    int ok = app_fields(app, &advertiser, &application, &extinfo);
    if (ok != 1) {
        return ok;
    }
    PyObject *clean = PyDict_New();
    if (clean == NULL) {
        return -1;
    }
    PyObject *flag = flag_int(advertiser);
    int failed = flag == NULL || PyDict_SetItem(clean, s_advertiser, flag);
    Py_XDECREF(flag);
    if (!failed && !is_none(application)) {
        flag = flag_int(application);
        failed = flag == NULL || PyDict_SetItem(clean, s_application, flag);
        Py_XDECREF(flag);
    }
    if (!failed) {
        PyObject *copy = PyList_GetSlice(extinfo, 0, PyList_GET_SIZE(extinfo));
        failed = copy == NULL || PyDict_SetItem(clean, s_extinfo, copy);
        Py_XDECREF(copy);
    }
    if (failed) {
        Py_DECREF(clean);
        return -1;
    }
    *out = clean;
    return 1;
}

/* ---- the walk -------------------------------------------------------------------------- */

static int
set_new(PyObject *wire, PyObject *key, PyObject *value)
{
    int failed = PyDict_SetItem(wire, key, value);
    Py_DECREF(value);
    return failed ? -1 : 1;
}

static int
add_sections(PyObject *custom, PyObject *app, PyObject *wire, int purchase, int app_source)
{
    if (is_none(custom)) {
        if (purchase) {
            return 0;
        }
    }
    else {
        PyObject *clean = NULL;
        int ok = clean_custom(custom, purchase, &clean);
        if (ok != 1) {
            return ok;
        }
        if (PyDict_GET_SIZE(clean) == 0) {
            Py_DECREF(clean);
        }
        else if (set_new(wire, s_custom_data, clean) < 0) {
            return -1;
        }
    }
    if (!app_source) {
        return is_none(app);
    }
    PyObject *clean = NULL;
    int ok = app == NULL ? 0 : clean_app(app, &clean);
    return ok == 1 ? set_new(wire, s_app_data, clean) : ok;
}

/* Whether one of keys holds a non-empty string: 1, 0 none holds anything, 2 ask Python. */
static int
has_identifier(PyObject *user_data, PyObject *keys)
{
    if (!PyTuple_CheckExact(keys)) {
        return 2;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys); i++) {
        PyObject *value;
        if (get(user_data, PyTuple_GET_ITEM(keys, i), &value)) {
            return -1;
        }
        if (is_none(value)) {
            continue;
        }
        if (!PyUnicode_CheckExact(value)) {
            return 2;
        }
        if (PyUnicode_GET_LENGTH(value)) {
            return 1;
        }
    }
    return 0;
}

static int
channel_verdict(PyObject *wire, PyObject *user_data)
{
    PyObject *channel = PyDict_GetItem(wire, s_messaging_channel);  /* an exact str if any */
    if (channel == NULL) {
        return 0;
    }
    int known = PySet_Contains(T.messaging_channels, channel);
    if (known != 1) {
        return known;
    }
    PyObject *rules;
    if (get(T.messaging_identifiers, channel, &rules)) {
        return -1;
    }
    if (rules == NULL || !PyTuple_CheckExact(rules)) {
        return 2;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(rules); i++) {
        PyObject *rule = PyTuple_GET_ITEM(rules, i);
        if (!PyTuple_CheckExact(rule) || PyTuple_GET_SIZE(rule) != 3) {
            return 2;
        }
        int found = has_identifier(user_data, PyTuple_GET_ITEM(rule, 1));
        if (found != 1) {
            return found;
        }
    }
    return 1;
}

/* validate.messaging.check_messaging of a business_messaging wire dict: 1 no finding,
 * 0 a finding, 2 ask Python, -1 error. */
static int
messaging_verdict(PyObject *wire, PyObject *user_data, PyObject *options)
{
    PyObject *allowlist = PyObject_GetAttr(options, s_messaging_allowlist);
    if (allowlist == NULL) {
        return -1;
    }
    PyObject *allowed = NULL;
    if (PyUnicode_CheckExact(allowlist)) {
        allowed = eq_ascii(allowlist, "strict") ? PyObject_GetAttr(options, s_strict_names)
                                                : Py_NewRef(T.official_messaging_names);
    }
    Py_DECREF(allowlist);
    if (allowed == NULL) {
        return PyErr_Occurred() ? -1 : 2;
    }
    int ok = PyAnySet_Check(allowed) ? PySet_Contains(allowed, PyDict_GetItem(wire, s_event_name))
                                     : 2;
    Py_DECREF(allowed);
    return ok == 1 ? channel_verdict(wire, user_data) : ok;
}

static int
messaging_clean(PyObject *wire, PyObject *user_data, PyObject *options)
{
    int verdict = messaging_verdict(wire, user_data, options);
    if (verdict != 2) {
        return verdict;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        return -1;
    }
    PyObject *args[4] = {wire, Py_True, options, out};
    PyObject *result = PyObject_Vectorcall(T.check_messaging, args, 4, NULL);
    int clean = result == NULL ? -1 : PyList_GET_SIZE(out) == 0;
    Py_XDECREF(result);
    Py_DECREF(out);
    return clean;
}

static int
walk(PyObject **fields, PyObject *user_data, PyObject *options, PyObject *wire)
{
    PyObject *source = fields[F_SOURCE], *name = fields[F_NAME];  /* held, checked: str */
    int website = eq_ascii(source, "website");
    int messaging = eq_ascii(source, "business_messaging");
    int ok = add_urls(fields, wire, website);
    if (ok == 1) {
        ok = add_channel(fields[F_CHANNEL], wire, messaging);
    }
    if (ok == 1) {
        ok = user_data_clean(user_data, source, options);
    }
    if (ok == 1 && website) {
        PyObject *agent;
        ok = get(user_data, s_client_user_agent, &agent) ? -1 : agent == NULL ? 0 : truth_of(agent);
    }
    if (ok == 1) {
        ok = PyDict_SetItem(wire, s_user_data, user_data) ? -1 : 1;
    }
    if (ok == 1) {
        ok = add_sections(fields[F_CUSTOM], fields[F_APP], wire, eq_ascii(name, "Purchase"),
                          eq_ascii(source, "app"));
    }
    if (ok == 1 && messaging) {
        ok = messaging_clean(wire, user_data, options);
    }
    return ok;
}

/* The clean wire dict (new), Py_None (new) or NULL on error. */
static PyObject *
clean_wire(PyObject *event, PyObject *user_data, PyObject *now, PyObject *options)
{
    if (!PyDict_CheckExact(event) || !PyDict_CheckExact(user_data)) {
        Py_RETURN_NONE;
    }
    PyObject *wire = NULL, *fields[FIELD_COUNT];
    int ok = read_fields(event, fields);
    if (ok < 0) {
        return NULL;
    }
    if (ok == 1) {
        ok = clean_head(fields, now, options, &wire);
    }
    if (ok == 1) {
        ok = walk(fields, user_data, options, wire);
    }
    release_fields(fields);
    if (ok == 1) {
        return wire;
    }
    Py_XDECREF(wire);
    if (ok < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
ready(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t expected, const char *name)
{
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", name, expected, nargs);
        return 0;
    }
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "capigate._cwire: configure() was not called");
        return 0;
    }
    return args != NULL;
}

static PyObject *
cw_clean_wire(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (!ready(args, nargs, 4, "clean_wire")) {
        return NULL;
    }
    return clean_wire(args[0], args[1], args[2], args[3]);
}

/* ---- estimate -------------------------------------------------------------------------- */

/* Points that every sum of a few of stays exact in doubles, whatever the order (multiples of
 * 1/64 below 2**20): then C adds them as Python does, in any Python version. */
static int
exact_points(PyObject *value)
{
    if (!PyFloat_CheckExact(value)) {
        return 0;
    }
    double scaled = PyFloat_AS_DOUBLE(value) * 64.0;
    return scaled >= 0.0 && scaled < 67108864.0 && scaled == floor(scaled);
}

/* An instance of a frozen dataclass: through its __init__, or, when configure was told that
 * __init__ only sets these fields (names), as object.__new__ and object.__setattr__ would. */
static PyObject *
new_record(PyObject *type, PyObject *names, const Py_ssize_t *slots, PyObject *const *values,
           Py_ssize_t count)
{
    if (names == Py_None) {
        return PyObject_Vectorcall(type, values, (size_t)count, NULL);
    }
    PyTypeObject *record_type = (PyTypeObject *)type;
    PyObject *record = record_type->tp_alloc(record_type, 0);
    if (record == NULL) {
        return NULL;
    }
    if (slots[0]) {  /* what the slots' member descriptors would do: store in a fresh slot */
        for (Py_ssize_t i = 0; i < count; i++) {
            *(PyObject **)((char *)record + slots[i]) = Py_NewRef(values[i]);
        }
        return record;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (PyObject_GenericSetAttr(record, PyTuple_GET_ITEM(names, i), values[i]) < 0) {
            Py_DECREF(record);
            return NULL;
        }
    }
    return record;
}

/* user_data's keys for capigate.quality.estimate: all of them, and those that count (a true
 * value and points) in a list with their points. */
typedef struct {
    PyObject *keys, *counted;
    double points;
    int all_true, unsure;
} KeyScan;

static int
truth_of(PyObject *value)
{
    if (PyUnicode_CheckExact(value)) {
        return PyUnicode_GET_LENGTH(value) != 0;
    }
    Py_INCREF(value);
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

/* The key tuple of the last dict scanned: the next dict with the same key objects in the
 * same order (a sender's events) takes it again instead of a new tuple. */
static PyObject *last_keys;

/* The key tuple and whether every value is true: 1, 0 when the dict changed meanwhile. */
static int
scan_keys(PyObject *user_data, KeyScan *scan)
{
    Py_ssize_t size = PyDict_GET_SIZE(user_data), pos = 0, i = 0;
    scan->keys = NULL;
    scan->counted = NULL;
    scan->points = 0.0;
    scan->all_true = 1;
    scan->unsure = 0;
    PyObject *same = last_keys != NULL && PyTuple_GET_SIZE(last_keys) == size ? last_keys : NULL;
    Py_XINCREF(same);  /* a value's __bool__ may scan another dict */
    PyObject *key, *value;
    while (PyDict_Next(user_data, &pos, &key, &value)) {
        if (i >= size) {
            Py_XDECREF(same);
            return 0;  /* the dict changed under a value's __bool__: leave it to Python */
        }
        if (same != NULL && PyTuple_GET_ITEM(same, i) != key) {
            Py_CLEAR(same);
        }
        i++;
        if (scan->all_true) {
            int truth = truth_of(value);
            if (truth < 0) {
                Py_XDECREF(same);
                return -1;
            }
            scan->all_true = truth;
        }
    }
    if (i != size) {
        Py_XDECREF(same);
        return 0;
    }
    scan->keys = same != NULL ? same : key_tuple(user_data);
    if (scan->keys == NULL) {
        return -1;
    }
    Py_XSETREF(last_keys, Py_NewRef(scan->keys));
    return 1;
}

/* The keys that count, in order, and their points: 1, or 0 to leave it to Python. */
static int
count_keys(PyObject *user_data, KeyScan *scan)
{
    scan->counted = PyList_New(0);
    if (scan->counted == NULL) {
        return -1;
    }
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value, *points;
    while (PyDict_Next(user_data, &pos, &key, &value)) {
        if (i >= PyTuple_GET_SIZE(scan->keys) || key != PyTuple_GET_ITEM(scan->keys, i++)) {
            return 0;  /* the dict changed since scan_keys */
        }
        int truth = truth_of(value);
        if (truth <= 0) {
            if (truth < 0) {
                return -1;
            }
            continue;
        }
        if (get(T.key_points, key, &points)) {
            return -1;
        }
        if (points == NULL) {
            continue;
        }
        if (!exact_points(points)) {
            return 0;  /* KEY_POINTS changed since configure */
        }
        scan->points += PyFloat_AS_DOUBLE(points);
        if (PyList_Append(scan->counted, key)) {
            return -1;
        }
    }
    return 1;
}

/* `name in items` for a list: equal str hashes are looked at only. */
static int
in_list(PyObject *items, PyObject *name)
{
    Py_hash_t hash = PyUnicode_CheckExact(name) ? PyObject_Hash(name) : -1;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        if (item == name) {
            return 1;
        }
        if (hash != -1 && PyUnicode_CheckExact(item) && PyObject_Hash(item) != hash) {
            continue;  /* two strs with different hashes differ */
        }
        Py_INCREF(item);
        int equal = PyObject_RichCompareBool(item, name, Py_EQ);
        Py_DECREF(item);
        if (equal != 0) {
            return equal;
        }
    }
    return 0;
}

/* quality._estimate of the counted keys: a new MatchQuality. */
static PyObject *
new_quality(KeyScan *scan)
{
    double points = scan->points;
    if (PyList_GET_SIZE(scan->counted) > 1) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(T.pair_bonuses); i++) {
            PyObject *pair = PyTuple_GET_ITEM(T.pair_bonuses, i);
            int a = in_list(scan->counted, PyTuple_GET_ITEM(pair, 0));
            int b = a == 1 ? in_list(scan->counted, PyTuple_GET_ITEM(pair, 1)) : a;
            if (b < 0) {
                return NULL;
            }
            if (b) {
                points += PyFloat_AsDouble(PyTuple_GET_ITEM(pair, 2));
            }
        }
    }
    PyObject *counted = PyList_AsTuple(scan->counted);
    if (counted == NULL) {
        return NULL;
    }
    long score = 1 + (long)points;
    PyObject *args[2] = {counted, PyLong_FromLong(score < T.max_score ? score : T.max_score)};
    PyObject *quality = args[1] == NULL ? NULL
                                        : new_record(T.quality_type, T.quality_fields,
                                                     T.quality_slots, args, 2);
    Py_XDECREF(args[1]);
    Py_DECREF(counted);
    return quality;
}

static int
remember(PyObject *keys, PyObject *quality)
{
    if (PyDict_GET_SIZE(T.quality_memo) >= T.max_cached_key_sets) {
        PyDict_Clear(T.quality_memo);
    }
    return PyDict_SetItem(T.quality_memo, keys, quality);
}

/* capigate.quality.estimate of a dict, or NULL with no error to ask the Python one. */
static PyObject *
estimate_dict(PyObject *user_data)
{
    KeyScan scan;
    int ok = scan_keys(user_data, &scan);
    PyObject *quality = NULL;
    if (ok == 1 && scan.all_true) {
        quality = PyDict_GetItemWithError(T.quality_memo, scan.keys);
        Py_XINCREF(quality);
        ok = quality == NULL && PyErr_Occurred() ? -1 : ok;
    }
    if (ok == 1 && quality == NULL) {
        ok = count_keys(user_data, &scan);
    }
    if (ok == 1 && quality == NULL) {
        quality = new_quality(&scan);
        if (quality != NULL && PyList_GET_SIZE(scan.counted) == PyTuple_GET_SIZE(scan.keys) &&
            remember(scan.keys, quality) < 0) {
            Py_CLEAR(quality);
        }
    }
    Py_XDECREF(scan.keys);
    Py_XDECREF(scan.counted);
    return quality;
}

static PyObject *
estimate(PyObject *user_data)
{
    if (PyDict_CheckExact(user_data) && T.estimate_in_c) {
        PyObject *quality = estimate_dict(user_data);
        if (quality != NULL || PyErr_Occurred()) {
            return quality;
        }
    }
    return PyObject_Vectorcall(T.estimate, &user_data, 1, NULL);
}

static PyObject *
cw_estimate(PyObject *Py_UNUSED(module), PyObject *user_data)
{
    PyObject *args[1] = {user_data};
    return ready(args, 1, 1, "estimate") ? estimate(user_data) : NULL;
}

/* pipeline._prepare_clean: Prepared(wire, tuple(findings), estimate(user_data)) for an event
 * that clean_wire answers, else None. */
static PyObject *
cw_prepare_clean(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (!ready(args, nargs, 5, "prepare_clean")) {
        return NULL;
    }
    PyObject *wire = clean_wire(args[0], args[1], args[2], args[3]);
    if (wire == NULL || wire == Py_None) {
        return wire;
    }
    PyObject *fields[3] = {wire, PySequence_Tuple(args[4]), NULL};
    if (fields[1] != NULL) {
        fields[2] = estimate(args[1]);
    }
    PyObject *prepared = NULL;
    if (fields[2] != NULL) {
        prepared = new_record(T.prepared_type, T.prepared_fields, T.prepared_slots, fields, 3);
    }
    for (int i = 0; i < 3; i++) {
        Py_XDECREF(fields[i]);
    }
    return prepared;
}

/* ---- prepare: normalize, walk and estimate in one call --------------------------------- */

/* What prepare reads from the Python side besides the event, kept while it stays the same:
 * the options object (frozen), the day of now_s and its year, and memo._memos' entry for
 * (default_region, year), which is checked on every call so that a cleared memo is seen. */
typedef struct {
    PyObject *options, *default_region, *validation;
    PyObject *now;         /* the now_s last read (a request's events share one) ... */
    long long day;         /* ... and its day */
    PyObject *year;        /* pipeline._current_year(day), NULL before the first call */
    PyObject *memo_key;    /* (default_region, year) */
    PyObject *memo_found;  /* memo._memos[memo_key] when last looked: (region, tables) */
    PyObject *day_first;   /* region is not None and region not in MONTH_FIRST_REGIONS */
} Settings;

static Settings S;

static void
clear_settings(void)
{
    Py_CLEAR(S.options);
    Py_CLEAR(S.default_region);
    Py_CLEAR(S.validation);
    Py_CLEAR(S.now);
    Py_CLEAR(S.year);
    Py_CLEAR(S.memo_key);
    Py_CLEAR(S.memo_found);
    Py_CLEAR(S.day_first);
}

/* int(now_s // DAY_S) as Python computes it for a float or an int: 1, or 0 when now_s is
 * of another type or the result is not a modest whole number (Python then decides). */
static int
day_of(PyObject *now, long long *day)
{
    const double day_s = 86400.0;
    if (PyLong_CheckExact(now)) {
        int overflow = 0;
        long long seconds = PyLong_AsLongLongAndOverflow(now, &overflow);
        if (seconds == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (overflow) {
            return 0;
        }
        long long quotient = seconds / 86400, rest = seconds % 86400;
        *day = quotient - (rest < 0);
        return 1;
    }
    if (!PyFloat_CheckExact(now)) {
        return 0;
    }
    /* float.__floordiv__ (Objects/floatobject.c, _float_div_mod) */
    double vx = PyFloat_AS_DOUBLE(now), mod = fmod(vx, day_s), div = (vx - mod) / day_s;
    if (!isfinite(vx)) {
        return 0;
    }
    if (mod && (mod < 0)) {
        div -= 1.0;
    }
    double floordiv = div ? floor(div) : copysign(0.0, vx / day_s);
    if (div && div - floordiv > 0.5) {
        floordiv += 1.0;
    }
    if (fabs(floordiv) >= (double)EXACT_DOUBLE_INT) {
        return 0;
    }
    *day = (long long)floordiv;
    return 1;
}

static int
settings_of_options(PyObject *options)
{
    if (options == S.options) {
        return 0;
    }
    PyObject *region = PyObject_GetAttr(options, s_default_region);
    PyObject *validation = region == NULL ? NULL : PyObject_GetAttr(options, s_validation);
    if (validation == NULL) {
        Py_XDECREF(region);
        return -1;
    }
    Py_XSETREF(S.options, Py_NewRef(options));
    Py_XSETREF(S.default_region, region);
    Py_XSETREF(S.validation, validation);
    Py_CLEAR(S.memo_found);
    return 0;
}

static int
settings_of_day(long long day)
{
    if (S.year != NULL && day == S.day) {
        return 0;
    }
    PyObject *number = PyLong_FromLongLong(day);
    PyObject *year = number == NULL ? NULL : PyObject_Vectorcall(T.current_year, &number, 1, NULL);
    Py_XDECREF(number);
    if (year == NULL) {
        return -1;
    }
    Py_XSETREF(S.year, year);
    S.day = day;
    Py_CLEAR(S.memo_found);
    return 0;
}

/* The key memo._memos holds found under (the lookup of the same object skips comparing), or a
 * new (default_region, year). */
static PyObject *
stored_key(PyObject *found)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(T.memos, &pos, &key, &value)) {
        if (value == found) {
            return Py_NewRef(key);
        }
    }
    return PyTuple_Pack(2, S.default_region, S.year);
}

/* memo.tables(default_region, year), read from memo._memos while it holds the same entry. */
static int
settings_of_memo(void)
{
    if (S.memo_found != NULL) {
        PyObject *found = PyDict_GetItemWithError(T.memos, S.memo_key);
        if (found == S.memo_found) {
            return 0;
        }
        if (found == NULL && PyErr_Occurred()) {
            return -1;
        }
    }
    PyObject *args[2] = {Py_NewRef(S.default_region), Py_NewRef(S.year)};
    PyObject *found = PyObject_Vectorcall(T.memo_tables, args, 2, NULL);
    /* Python ran: a call from another thread may have changed the settings meanwhile */
    int changed = args[0] != S.default_region || args[1] != S.year;
    Py_DECREF(args[0]);
    Py_DECREF(args[1]);
    if (found == NULL) {
        return -1;
    }
    if (!PyTuple_CheckExact(found) || PyTuple_GET_SIZE(found) != 2) {
        Py_DECREF(found);
        PyErr_SetString(PyExc_TypeError, "memo.tables must give (region, tables)");
        return -1;
    }
    if (changed) {
        Py_DECREF(found);
        return 0;  /* S.memo_found stays NULL: this call leaves the event to Python */
    }
    PyObject *region = PyTuple_GET_ITEM(found, 0);
    int month_first = region == Py_None ? 1 : PySequence_Contains(T.month_first_regions, region);
    PyObject *key = month_first < 0 ? NULL : stored_key(found);
    if (key == NULL) {
        Py_DECREF(found);
        return -1;
    }
    Py_XSETREF(S.memo_key, key);
    Py_XSETREF(S.memo_found, found);
    Py_XSETREF(S.day_first, Py_NewRef(month_first ? Py_False : Py_True));
    return 0;
}

/* normalize_user_data's short way in C for a dict (the function normalize.userdata uses,
 * None when it uses the pure one): the new user_data, or Py_None (new) for the long way; and
 * the options' validation in *validation (new) with a user_data. */
static PyObject *
normalized(PyObject *raw, PyObject *now, PyObject *options, PyObject **validation)
{
    PyObject *normalize = PyDict_GetItemWithError(T.userdata_globals, s_native);
    if (normalize == NULL || normalize == Py_None) {
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    if (now != S.now || S.year == NULL) {
        long long day;
        int ok = day_of(now, &day);
        if (ok != 1) {
            return ok < 0 ? NULL : Py_NewRef(Py_None);
        }
        if (settings_of_day(day)) {
            return NULL;
        }
        Py_XSETREF(S.now, Py_NewRef(now));
    }
    if (settings_of_options(options) || settings_of_memo()) {
        return NULL;
    }
    if (S.options != options || S.now != now || S.memo_found == NULL) {
        return Py_NewRef(Py_None);  /* changed by another thread's call while Python ran */
    }
    /* All held: the calls below may run Python, and another thread's call change S. */
    Py_INCREF(normalize);
    PyObject *found = Py_NewRef(S.memo_found);
    PyObject *year = Py_NewRef(S.year), *day_first = Py_NewRef(S.day_first);
    *validation = Py_NewRef(S.validation);
    PyObject *args[5] = {raw, PyTuple_GET_ITEM(found, 0), year, PyTuple_GET_ITEM(found, 1),
                         day_first};
    PyObject *user_data = PyObject_Vectorcall(normalize, args, 5, NULL);
    Py_DECREF(normalize);
    Py_DECREF(found);
    Py_DECREF(year);
    Py_DECREF(day_first);
    if (user_data != NULL && !PyDict_CheckExact(user_data)) {
        Py_SETREF(user_data, Py_NewRef(Py_None));  /* (dict,) warns: the long way says so */
    }
    if (user_data == NULL || user_data == Py_None) {
        Py_CLEAR(*validation);
    }
    return user_data;
}

/* pipeline.prepare of an event that needs no finding: Prepared(wire, (), estimate), or None
 * for the Python function (any other event, options of another type, no C normalize). */
static PyObject *
cw_prepare(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (!ready(args, nargs, 3, "prepare")) {
        return NULL;
    }
    PyObject *event = args[0], *now = args[1], *options = args[2], *raw;
    if (!PyDict_CheckExact(event) || (PyObject *)Py_TYPE(options) != T.options_type) {
        Py_RETURN_NONE;
    }
    if (get(event, s_user_data, &raw)) {
        return NULL;
    }
    if (raw == NULL || !PyDict_CheckExact(raw)) {
        Py_RETURN_NONE;
    }
    Py_INCREF(raw);
    PyObject *validation = NULL;
    PyObject *user_data = normalized(raw, now, options, &validation);
    Py_DECREF(raw);
    if (user_data == NULL || user_data == Py_None) {
        return user_data;
    }
    PyObject *fields[3] = {clean_wire(event, user_data, now, validation), NULL, NULL};
    Py_DECREF(validation);
    PyObject *prepared = fields[0];
    if (fields[0] != NULL && fields[0] != Py_None) {
        fields[1] = PyTuple_New(0);
        fields[2] = estimate(user_data);
        prepared = fields[2] == NULL ? NULL
                                     : new_record(T.prepared_type, T.prepared_fields,
                                                  T.prepared_slots, fields, 3);
        for (int i = 0; i < 3; i++) {
            Py_XDECREF(fields[i]);
        }
    }
    Py_DECREF(user_data);
    return prepared;
}

static int
take_settings(PyObject *tables)
{
    clear_settings();
    clear_knobs();
    return take(tables, "options_type", &T.options_type, is_type) ||
           take(tables, "current_year", &T.current_year, is_callable) ||
           take(tables, "memo_tables", &T.memo_tables, is_callable) ||
           take(tables, "memos", &T.memos, is_dict) ||
           take(tables, "month_first_regions", &T.month_first_regions, is_frozenset) ||
           take(tables, "userdata_globals", &T.userdata_globals, is_dict) ||
           take(tables, "validation_type", &T.validation_type, is_type);
}

/* ---- configure ------------------------------------------------------------------------- */

static void
clear_tables(void)
{
    PyObject **refs[] = {
        &T.event_keys, &T.action_sources, &T.standard_names, &T.clean_custom_name,
        &T.url_match, &T.currencies, &T.is_currency, &T.content_types, &T.custom_plans,
        &T.custom_plan, &T.clean_value, &T.clean_currency, &T.clean_content_type,
        &T.clean_contents, &T.clean_order_id, &T.clean_property, &T.bad, &T.empty,
        &T.content_keys, &T.app_keys, &T.flags, &T.extinfo_versions,
        &T.broad_keys, &T.user_data_is_clean, &T.classify, &T.ip_public, &T.check_messaging,
        &T.quality_memo, &T.estimate, &T.normalized_checks, &T.check_text, &T.check_app_only,
        &T.check_id, &T.check_client_ip, &T.no_check, &T.lead_id_key, &T.key_points, &T.pair_bonuses, &T.quality_type,
        &T.official_messaging_names, &T.messaging_channels, &T.messaging_identifiers,
        &T.quality_fields, &T.prepared_type, &T.prepared_fields, &T.options_type,
        &T.current_year, &T.memo_tables, &T.memos, &T.month_first_regions,
        &T.userdata_globals, &T.validation_type,
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        Py_CLEAR(*refs[i]);
    }
    clear_settings();
    clear_knobs();
    Py_CLEAR(last_keys);
    Py_CLEAR(last_custom_keys);
    configured = 0;
}

static int
take_size(PyObject *tables, const char *name, Py_ssize_t *out)
{
    PyObject *value = PyDict_GetItemString(tables, name);
    if (value == NULL) {
        PyErr_Format(PyExc_KeyError, "capigate._cwire.configure: %s is missing", name);
        return -1;
    }
    if (!PyLong_CheckExact(value)) {
        PyErr_Format(PyExc_TypeError, "capigate._cwire.configure: %s must be an int", name);
        return -1;
    }
    *out = PyLong_AsSsize_t(value);
    return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

static int
take_octets(PyObject *tables)
{
    PyObject *special = PyDict_GetItemString(tables, "special_first_octets");
    if (special == NULL || !PyFrozenSet_CheckExact(special)) {
        PyErr_SetString(PyExc_TypeError, "capigate._cwire.configure: special_first_octets");
        return -1;
    }
    for (int octet = 0; octet < OCTETS; octet++) {
        PyObject *number = PyLong_FromLong(octet);
        int inside = number == NULL ? -1 : PySet_Contains(special, number);
        Py_XDECREF(number);
        if (inside < 0) {
            return -1;
        }
        T.special_octet[octet] = (char)inside;
    }
    return 0;
}

/* A dataclass (tables[name + "_type"]) and its field names, or None when C must call it
 * (tables[name + "_fields"]). */
/* Where each field of a slots dataclass lives in its instances, when every one is a plain
 * writable object slot (a member descriptor of T_OBJECT_EX, as __slots__ makes): else
 * slots[0] = 0 and new_record sets the fields through object.__setattr__. */
static int
slot_offsets(PyObject *type, PyObject *fields, Py_ssize_t *slots, Py_ssize_t count)
{
    slots[0] = 0;
    if (fields == Py_None) {
        return 0;
    }
    Py_ssize_t found[3] = {0, 0, 0};
    for (Py_ssize_t i = 0; i < count && i < 3; i++) {
        PyObject *descr = PyObject_GetAttr(type, PyTuple_GET_ITEM(fields, i));
        if (descr == NULL) {
            return -1;
        }
        if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
            if (member->type == T_OBJECT_EX && !(member->flags & READONLY) && member->offset > 0) {
                found[i] = member->offset;
            }
        }
        Py_DECREF(descr);
        if (!found[i]) {
            return 0;
        }
    }
    memcpy(slots, found, (size_t)count * sizeof *slots);
    return 0;
}

static int
take_record(PyObject *tables, const char *name, PyObject **type, PyObject **fields, Py_ssize_t count)
{
    char key[64];
    PyOS_snprintf(key, sizeof key, "%s_type", name);
    if (take(tables, key, type, is_type)) {
        return -1;
    }
    PyOS_snprintf(key, sizeof key, "%s_fields", name);
    if (take(tables, key, fields, NULL)) {
        return -1;
    }
    if (*fields == Py_None) {
        return 0;
    }
    int valid = PyTuple_CheckExact(*fields) && PyTuple_GET_SIZE(*fields) == count;
    for (Py_ssize_t i = 0; valid && i < count; i++) {
        valid = PyUnicode_CheckExact(PyTuple_GET_ITEM(*fields, i));
    }
    if (!valid) {
        PyErr_Format(PyExc_TypeError, "capigate._cwire.configure: %s must be None or "
                     "a tuple of %zd names", key, count);
        return -1;
    }
    return 0;
}

static int
take_points(PyObject *tables)
{
    Py_ssize_t max_score;
    if (take(tables, "key_points", &T.key_points, is_dict) ||
        take(tables, "pair_bonuses", &T.pair_bonuses, NULL) ||
        take_size(tables, "max_score", &max_score) ||
        take_size(tables, "max_cached_key_sets", &T.max_cached_key_sets)) {
        return -1;
    }
    T.max_score = (long)max_score;
    if (take_record(tables, "quality", &T.quality_type, &T.quality_fields, 2) ||
        slot_offsets(T.quality_type, T.quality_fields, T.quality_slots, 2)) {
        return -1;
    }
    int exact = PyTuple_CheckExact(T.pair_bonuses);
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (exact && PyDict_Next(T.key_points, &pos, &key, &value)) {
        exact = exact_points(value);
    }
    for (Py_ssize_t i = 0; exact && i < PyTuple_GET_SIZE(T.pair_bonuses); i++) {
        PyObject *pair = PyTuple_GET_ITEM(T.pair_bonuses, i);
        exact = PyTuple_CheckExact(pair) && PyTuple_GET_SIZE(pair) == 3 &&
                exact_points(PyTuple_GET_ITEM(pair, 2));
    }
    T.estimate_in_c = exact;
    return 0;
}

static int
take_hextets(PyObject *tables)
{
    PyObject *hextets = PyDict_GetItemString(tables, "public_ipv6_first_hextets");
    if (hextets == NULL || !PyBytes_CheckExact(hextets) ||
        PyBytes_GET_SIZE(hextets) != HEXTET_VALUES) {
        PyErr_SetString(PyExc_TypeError,
                        "capigate._cwire.configure: public_ipv6_first_hextets (65536 bytes)");
        return -1;
    }
    const char *flags = PyBytes_AS_STRING(hextets);
    for (Py_ssize_t i = 0; i < HEXTET_VALUES; i++) {
        T.public_hextet[i] = flags[i] != 0;
    }
    return 0;
}

/* Whether clean._EVENT_KEYS holds exactly the keys of FIELD_KEYS (read_fields counts). */
static int
fields_are_event_keys(void)
{
    int same = PySet_GET_SIZE(T.event_keys) == FIELD_COUNT;
    for (int i = 0; same == 1 && i < FIELD_COUNT; i++) {
        same = PySet_Contains(T.event_keys, *FIELD_KEYS[i]);
    }
    T.event_keys_are_fields = same == 1;
    return same < 0 ? -1 : 0;
}

static int
take_all(PyObject *tables)
{
    Py_ssize_t milliseconds_above;
    if (take(tables, "event_keys", &T.event_keys, is_frozenset) ||
        take(tables, "action_sources", &T.action_sources, is_frozenset) ||
        take(tables, "standard_event_names", &T.standard_names, is_frozenset) ||
        take(tables, "clean_custom_name", &T.clean_custom_name, is_callable) ||
        take(tables, "url_match", &T.url_match, is_callable) ||
        take(tables, "currencies", &T.currencies, is_frozenset) ||
        take(tables, "is_currency", &T.is_currency, is_callable) ||
        take(tables, "content_types", &T.content_types, is_frozenset) ||
        take(tables, "custom_plans", &T.custom_plans, is_dict) ||
        take(tables, "custom_plan", &T.custom_plan, is_callable) ||
        take(tables, "clean_value", &T.clean_value, is_callable) ||
        take(tables, "clean_currency", &T.clean_currency, is_callable) ||
        take(tables, "clean_content_type", &T.clean_content_type, is_callable) ||
        take(tables, "clean_contents", &T.clean_contents, is_callable) ||
        take(tables, "clean_order_id", &T.clean_order_id, is_callable) ||
        take(tables, "clean_property", &T.clean_property, is_callable) ||
        take(tables, "bad", &T.bad, NULL) || take(tables, "empty", &T.empty, NULL) ||
        take(tables, "content_keys", &T.content_keys, is_frozenset) ||
        take(tables, "app_keys", &T.app_keys, is_frozenset) ||
        take(tables, "flags", &T.flags, NULL) ||
        take(tables, "extinfo_versions", &T.extinfo_versions, is_frozenset) ||
        take(tables, "broad_keys", &T.broad_keys, is_frozenset) ||
        take(tables, "user_data_is_clean", &T.user_data_is_clean, is_callable) ||
        take(tables, "classify", &T.classify, is_callable) ||
        take(tables, "ip_public", &T.ip_public, NULL) ||
        take(tables, "check_messaging", &T.check_messaging, is_callable) ||
        take(tables, "official_messaging_names", &T.official_messaging_names, is_frozenset) ||
        take(tables, "messaging_channels", &T.messaging_channels, is_frozenset) ||
        take(tables, "messaging_identifiers", &T.messaging_identifiers, is_dict) ||
        take_record(tables, "prepared", &T.prepared_type, &T.prepared_fields, 3) ||
        slot_offsets(T.prepared_type, T.prepared_fields, T.prepared_slots, 3) ||
        take(tables, "quality_memo", &T.quality_memo, is_dict) ||
        take(tables, "estimate", &T.estimate, is_callable) ||
        take(tables, "normalized_checks", &T.normalized_checks, is_dict) ||
        take(tables, "check_text", &T.check_text, is_callable) ||
        take(tables, "check_app_only", &T.check_app_only, is_callable) ||
        take(tables, "check_id", &T.check_id, is_callable) ||
        take(tables, "check_client_ip", &T.check_client_ip, is_callable) ||
        take(tables, "no_check", &T.no_check, is_callable) ||
        take(tables, "lead_id_key", &T.lead_id_key, NULL) ||
        take_size(tables, "extinfo_length", &T.extinfo_length) ||
        take_size(tables, "extinfo_os_version_index", &T.extinfo_os_index) ||
        take_size(tables, "event_id_max_chars", &T.event_id_max_chars) ||
        take_size(tables, "milliseconds_above", &milliseconds_above) || take_octets(tables) || take_hextets(tables) ||
        take_points(tables) || take_settings(tables)) {
        return -1;
    }
    if (T.extinfo_os_index < 0 || T.extinfo_os_index >= T.extinfo_length) {
        PyErr_SetString(PyExc_ValueError, "capigate._cwire.configure: extinfo index");
        return -1;
    }
    T.milliseconds_above = milliseconds_above;
    return fields_are_event_keys();
}

static PyObject *
cw_configure(PyObject *Py_UNUSED(module), PyObject *tables)
{
    if (!PyDict_Check(tables)) {
        PyErr_SetString(PyExc_TypeError, "capigate._cwire.configure takes a dict");
        return NULL;
    }
    configured = 0;
    if (take_all(tables)) {
        clear_tables();
        return NULL;
    }
    configured = 1;
    Py_RETURN_NONE;
}

/* ---- module ---------------------------------------------------------------------------- */

static int
intern_names(void)
{
    const CsName names[] = {
        {&s_event_name, "event_name"}, {&s_event_time, "event_time"},
        {&s_event_id, "event_id"}, {&s_action_source, "action_source"},
        {&s_event_source_url, "event_source_url"}, {&s_referrer_url, "referrer_url"},
        {&s_messaging_channel, "messaging_channel"}, {&s_user_data, "user_data"},
        {&s_custom_data, "custom_data"}, {&s_app_data, "app_data"},
        {&s_currency, "currency"}, {&s_value, "value"}, {&s_id, "id"},
        {&s_quantity, "quantity"}, {&s_item_price, "item_price"},
        {&s_advertiser, "advertiser_tracking_enabled"},
        {&s_application, "application_tracking_enabled"}, {&s_extinfo, "extinfo"},
        {&s_client_ip_address, "client_ip_address"},
        {&s_client_user_agent, "client_user_agent"}, {&s_max_age_s, "max_age_s"},
        {&s_store_max_age_s, "physical_store_max_age_s"},
        {&s_future_skew_s, "future_skew_s"}, {&s_custom_name_style, "custom_name_style"},
        {&s_require_baseline, "require_baseline_match"},
        {&s_messaging_allowlist, "messaging_allowlist"},
        {&s_strict_names, "strict_messaging_names"},
        {&s_default_region, "default_region"}, {&s_validation, "validation"},
        {&s_native, "_native"},
    };
    return intern_all(names, sizeof names / sizeof names[0]);
}

static PyMethodDef methods[] = {
    {"configure", cw_configure, METH_O,
     "configure(tables: dict) -> None: the tables and rules of capigate.validate."},
    {"clean_wire", (PyCFunction)(void (*)(void))cw_clean_wire, METH_FASTCALL,
     "clean_wire(event, user_data, now_s, options) -> dict | None: as the Python one."},
    {"prepare_clean", (PyCFunction)(void (*)(void))cw_prepare_clean, METH_FASTCALL,
     "prepare_clean(event, user_data, now_s, options, findings) -> Prepared | None."},
    {"prepare", (PyCFunction)(void (*)(void))cw_prepare, METH_FASTCALL,
     "prepare(event, now_s, options) -> Prepared | None: pipeline.prepare of a clean event."},
    {"estimate", cw_estimate, METH_O,
     "estimate(user_data) -> MatchQuality: capigate.quality.estimate, memo read in C."},
    {NULL, NULL, 0, NULL},
};

static void
free_module(void *Py_UNUSED(module))
{
    clear_tables();
}

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capigate._cwire",
    .m_doc = "The pipeline's fast path in C (capigate.validate.clean is the reference).",
    .m_size = -1,
    .m_methods = methods,
    .m_free = free_module,
};

PyMODINIT_FUNC
PyInit__cwire(void)
{
    if (intern_names()) {
        return NULL;
    }
    return PyModule_Create(&module);
}
