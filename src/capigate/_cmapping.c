/* capigate._cmapping: the usual event of the tracking plan's mapping in C.
 *
 * capigate.plan.mapping._usual is the reference: an ingest item of a plan key, with plain JSON
 * values, that maps without a single finding. usual() gives exactly the Mapped that _usual
 * gives (same values, same dict key order), and for anything it is not certain about (a value
 * of a type JSON does not give, a str or int subclass, an int beyond the bounds the Python rules
 * set, an app event, undeclared properties under warn or drop, ...) it calls the Python way
 * (set by configure()) on the untouched item instead. Nothing here runs Python code between
 * reading the item and answering, except str() of small ints.
 *
 * A plan is read through the tables capigate.plan.native builds for it (a tuple per rule); the
 * tables of the last CACHED_PLANS plans are kept, by identity (a Plan is a frozen value).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define CS_MODULE "capigate._cmapping"
#include "_cshared.h"

#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

enum { ERR = -1, UNSURE = 0, DONE = 1 };

/* The item fields the mapping knows (capigate.plan.mapping.ITEM_FIELDS), in this order. */
enum { F_EVENT, F_EVENT_ID, F_EVENT_TIME, F_ACTION_SOURCE, F_USER, F_PROPERTIES, F_CONTEXT,
       N_FIELDS };
static const char *const FIELD_TEXT[N_FIELDS] = {
    "event", "event_id", "event_time", "action_source", "user", "properties", "context",
};
static PyObject *field_names[N_FIELDS];

/* The context texts the mapping reads, in this order. */
enum { C_PAGE_URL, C_REFERRER, C_TEST_EVENT_CODE, N_TEXTS };
static const char *const TEXT_NAMES[N_TEXTS] = {"page_url", "referrer", "test_event_code"};

/* {name: its index} of the item fields and of the context texts (read through table_get). */
static PyObject *field_table, *text_table;

/* Where an event_id variable is looked up (capigate.plan.native: USER ... EVENT_TIME). */
enum { L_USER, L_PROPERTIES, L_CONTEXT, L_TELEGRAM_ID, L_EVENT_TIME };

/* A rule table (capigate.plan.native.rule_table), in this order. */
enum { R_EVENT_NAME, R_ACTION_SOURCE, R_BY_SOURCE, R_SOURCES, R_DERIVED, R_CUSTOM_FIELDS,
       R_PROPERTIES, R_CONSTANTS, R_REQUIRED, R_NEEDS_CURRENCY, R_ID_PARTS, N_RULE };

#define MAX_IDENTITY_KEYS 8
#define CACHED_PLANS 4
#define TEXT_ID_LIMIT 9007199254740992LL /* 2**53: ints beyond it take the Python way */

static PyObject *s_name, *s_kind, *s_action_sources, *s_currency, *s_telegram_id,
    *s_event_name, *s_user_data, *s_custom_data, *s_event_source_url, *s_referrer_url,
    *s_external_id, *s_app;

static struct {
    PyObject *user_keys;     /* dict: ingest user key -> (Meta key, its bit) (MAPPED_USER_KEYS) */
    PyObject *identity_keys; /* tuple of str: gathered into external_id, in this order */
    PyObject *consumed_keys; /* frozenset: user keys that are dropped silently */
    PyObject *lifecycle;     /* str: the source kind that may send every derived event */
    PyObject *mapped;        /* type: capigate.plan.mapping.Mapped */
    PyObject *fallback;      /* callable(item, plan, source, now_s): the Python way */
    PyObject *plan_tables;   /* callable(plan): capigate.plan.native.plan_tables */
} T;
static int configured;

static struct {
    PyObject *plan, *tables;
} cache[CACHED_PLANS];
static int cache_next;

/* ---- small helpers --------------------------------------------------------------------- */


/* Lookups of an item's keys in the module's own tables (user keys, a rule's properties), by
 * the key object's address: JSON parsers reuse one str object for a key (orjson across
 * documents, json within one), so after the first event a key is found without hashing or
 * comparing text. Each slot holds references to the key, the table and the answer, so an
 * address cannot be reused while it is cached; the tables are never changed once built. */
#define KEY_SLOTS 256
static struct {
    PyObject *key, *table, *value; /* value NULL: the key is not in the table */
    long number;                   /* the value's int (or its 2nd item's), else -1 */
} key_slots[KEY_SLOTS];

/* The int a table's value carries: the value itself, or the second item of a pair. */
static long
number_of(PyObject *value)
{
    if (value != NULL && PyTuple_CheckExact(value) && PyTuple_GET_SIZE(value) == 2) {
        value = PyTuple_GET_ITEM(value, 1);
    }
    if (value == NULL || !PyLong_CheckExact(value)) {
        return -1;
    }
    long number = PyLong_AsLong(value);
    if (number == -1 && PyErr_Occurred()) {
        PyErr_Clear(); /* not one of the small ints the tables hold: no number */
    }
    return number;
}

static void
forget_keys(void)
{
    for (int i = 0; i < KEY_SLOTS; i++) {
        Py_CLEAR(key_slots[i].key);
        Py_CLEAR(key_slots[i].table);
        Py_CLEAR(key_slots[i].value);
    }
}

/* table.get(key) for an exact str key (borrowed, NULL when absent; check PyErr_Occurred), and
 * number_of() it in *number. */
static PyObject *
table_get(PyObject *table, PyObject *key, long *number)
{
    uint64_t mixed = (uint64_t)(uintptr_t)key ^ ((uint64_t)(uintptr_t)table << 1);
    size_t slot = (size_t)((mixed * 0x9E3779B97F4A7C15u) >> 56); /* KEY_SLOTS: 2**8 */
    if (key_slots[slot].key == key && key_slots[slot].table == table) {
        *number = key_slots[slot].number;
        return key_slots[slot].value;
    }
    PyObject *value = PyDict_GetItemWithError(table, key);
    if (value == NULL && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *old_key = key_slots[slot].key, *old_table = key_slots[slot].table;
    PyObject *old_value = key_slots[slot].value;
    key_slots[slot].key = Py_NewRef(key);
    key_slots[slot].table = Py_NewRef(table);
    key_slots[slot].value = Py_XNewRef(value);
    key_slots[slot].number = *number = number_of(value);
    Py_XDECREF(old_key);
    Py_XDECREF(old_table);
    Py_XDECREF(old_value);
    return value;
}

/* Two exact strs are equal. */
static int
same_text(PyObject *a, PyObject *b)
{
    if (a == b) {
        return 1;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(a);
    int kind = PyUnicode_KIND(a);
    return length == PyUnicode_GET_LENGTH(b) && kind == PyUnicode_KIND(b) &&
           memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), (size_t)length * (size_t)kind) == 0;
}

/* str.strip() of an exact str: a new reference, the str itself when nothing is stripped. */
static PyObject *
strip_text(PyObject *text)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), start = 0, end = length;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    while (start < end && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, start))) {
        start++;
    }
    while (end > start && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, end - 1))) {
        end--;
    }
    if (start == 0 && end == length) {
        return Py_NewRef(text);
    }
    return PyUnicode_Substring(text, start, end);
}

/* str() of an exact int in (-limit, limit), in *text; UNSURE beyond. */
static int
int_text(PyObject *value, long long limit, PyObject **text)
{
    int overflow;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (number == -1 && PyErr_Occurred()) {
        return ERR;
    }
    if (overflow || number <= -limit || number >= limit) {
        return UNSURE;
    }
    *text = PyObject_Str(value);
    return *text == NULL ? ERR : DONE;
}

/* A value JSON parsing gives, whose == "" Python answers without running any code. */
static int
plain(PyObject *value)
{
    return value == Py_None || PyUnicode_CheckExact(value) || PyLong_CheckExact(value) ||
           PyFloat_CheckExact(value) || PyBool_Check(value) || PyList_CheckExact(value) ||
           PyDict_CheckExact(value);
}

/* `value is None or value == ""`: 1 or 0; UNSURE (-2) for a value plain() does not know. */
#define BLANK_UNSURE (-2)
static int
blank(PyObject *value)
{
    if (value == NULL || value == Py_None) {
        return 1;
    }
    if (PyUnicode_CheckExact(value)) {
        return PyUnicode_GET_LENGTH(value) == 0;
    }
    return plain(value) ? 0 : BLANK_UNSURE;
}

/* dict.get for an exact dict or NULL (an absent section): a borrowed reference or NULL. */
static PyObject *
get(PyObject *section, PyObject *key)
{
    return section == NULL ? NULL : PyDict_GetItemWithError(section, key);
}

/* mapping._section_value: the property, else the context value; NULL for none (or "") in
 * *value (borrowed). */
static int
section_value(PyObject *properties, PyObject *context, PyObject *name, PyObject **value)
{
    PyObject *found = get(properties, name);
    if (found == NULL && PyErr_Occurred()) {
        return ERR;
    }
    int empty = blank(found);
    if (empty == 1) {
        found = get(context, name);
        if (found == NULL && PyErr_Occurred()) {
            return ERR;
        }
        empty = blank(found);
        if (empty == 1) {
            found = NULL;
        }
    }
    if (empty == BLANK_UNSURE) {
        return UNSURE;
    }
    *value = found;
    return DONE;
}

/* ---- the item -------------------------------------------------------------------------- */

#define MAX_CUSTOM_FIELDS 64

typedef struct {
    PyObject *field[N_FIELDS]; /* borrowed; NULL when absent */
    PyObject *user, *properties, *context; /* exact dicts or NULL (absent) */
    PyObject *text[N_TEXTS];               /* context values: page_url, ...; NULL when absent */
    PyObject *custom[MAX_CUSTOM_FIELDS];   /* the property of each custom field, or NULL */
    Py_ssize_t undeclared;                 /* how many properties the rule does not declare */
} Item;

/* Each key of a dict, when all are exact strs, looked up in `table` ({name: index}): the value
 * of a known name goes to found[index]. UNSURE for another key when `only_known`. */
static int
read_keys(PyObject *section, PyObject *table, int only_known, PyObject **found)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(section, &pos, &key, &value)) {
        long number;
        PyObject *index = PyUnicode_CheckExact(key) ? table_get(table, key, &number) : NULL;
        if (index != NULL) {
            found[number] = value; /* the module's own tables: 0 <= number < their size */
        } else if (PyErr_Occurred()) {
            return ERR;
        } else if (only_known || !PyUnicode_CheckExact(key)) {
            return UNSURE; /* a field the mapping does not know (the long way warns), or a key
                              that is not a str: lookups by str then never run Python code */
        }
    }
    return DONE;
}

/* The item's fields, when each is one the mapping knows and the sections are plain dicts. */
static int
read_item(PyObject *item, Item *it)
{
    memset(it->field, 0, sizeof it->field);
    memset(it->text, 0, sizeof it->text);
    if (!PyDict_CheckExact(item)) {
        return UNSURE;
    }
    int found = read_keys(item, field_table, 1, it->field);
    if (found != DONE) {
        return found;
    }
    PyObject **sections[] = {&it->user, &it->properties, &it->context};
    for (int i = 0; i < 3; i++) {
        PyObject *section = it->field[F_USER + i];
        if (section != NULL && !PyDict_CheckExact(section)) {
            return UNSURE;
        }
        *sections[i] = section;
    }
    /* user and properties keys are checked where they are read (map_user, read_properties) */
    PyObject *override = it->field[F_ACTION_SOURCE];
    if (override != NULL && override != Py_None) {
        return UNSURE;
    }
    return it->context == NULL ? DONE : read_keys(it->context, text_table, 0, it->text);
}

/* ---- the rule and the source ----------------------------------------------------------- */

static int
bad_tables(const char *what)
{
    PyErr_Format(PyExc_TypeError, "capigate._cmapping: %s", what);
    return ERR;
}

static int
read_rule(PyObject *table, PyObject **rule)
{
    if (!PyTuple_CheckExact(table) || PyTuple_GET_SIZE(table) != N_RULE) {
        return bad_tables("a rule table must be a tuple of 11");
    }
    PyObject *const *r = &PyTuple_GET_ITEM(table, 0);
    if (!PyUnicode_CheckExact(r[R_ACTION_SOURCE]) || !PyDict_CheckExact(r[R_BY_SOURCE]) ||
        !PyFrozenSet_CheckExact(r[R_SOURCES]) || !PyBool_Check(r[R_DERIVED]) ||
        !PyTuple_CheckExact(r[R_CUSTOM_FIELDS]) || !PyDict_CheckExact(r[R_PROPERTIES]) ||
        !PyTuple_CheckExact(r[R_CONSTANTS]) || !PyTuple_CheckExact(r[R_REQUIRED]) ||
        !PyBool_Check(r[R_NEEDS_CURRENCY]) ||
        !(r[R_ID_PARTS] == Py_None || PyTuple_CheckExact(r[R_ID_PARTS]))) {
        return bad_tables("a rule table has a value of the wrong type");
    }
    *rule = table;
    return DONE;
}
#define RULE(rule, i) PyTuple_GET_ITEM((rule), (i))

/* The last source and rule seen, and the rule's action source for it: a batch comes from one
 * source and most of its items name one plan key. A SourceInfo is a frozen value. */
static struct {
    PyObject *source, *name, *kind, *claims; /* strong references */
    PyObject *rule, *chosen;                 /* strong references; rule NULL: none yet */
} last;

static void
forget_last(void)
{
    Py_CLEAR(last.source);
    Py_CLEAR(last.name);
    Py_CLEAR(last.kind);
    Py_CLEAR(last.claims);
    Py_CLEAR(last.rule);
    Py_CLEAR(last.chosen);
}

/* The source's name, kind and action sources in `last`, when they are a str, a str and a
 * frozenset. */
static int
read_source(PyObject *source)
{
    if (source == last.source) {
        return DONE;
    }
    forget_last();
    PyObject *name = PyObject_GetAttr(source, s_name);
    PyObject *kind = name == NULL ? NULL : PyObject_GetAttr(source, s_kind);
    PyObject *claims = kind == NULL ? NULL : PyObject_GetAttr(source, s_action_sources);
    if (claims == NULL || !PyUnicode_CheckExact(name) || !PyUnicode_CheckExact(kind) ||
        !PyFrozenSet_CheckExact(claims)) {
        Py_XDECREF(name);
        Py_XDECREF(kind);
        Py_XDECREF(claims);
        return PyErr_Occurred() ? ERR : UNSURE;
    }
    last.source = Py_NewRef(source);
    last.name = name;
    last.kind = kind;
    last.claims = claims;
    return DONE;
}

/* rule.action_source_for(source), when rule.allows(source), the source may claim it and it is
 * not app (app_data or its fallback: the long way); borrowed, in *chosen. */
static int
action_source(PyObject *rule, PyObject *source, PyObject **chosen)
{
    int result = read_source(source);
    if (result != DONE || rule == last.rule) {
        *chosen = last.chosen;
        return result;
    }
    PyObject *name = last.name, *kind = last.kind, *claims = last.claims;
    result = UNSURE;
    PyObject *sources = RULE(rule, R_SOURCES);
    int allowed = RULE(rule, R_DERIVED) == Py_True && same_text(kind, T.lifecycle);
    if (!allowed && (allowed = PySet_Contains(sources, name)) == 0) {
        allowed = PySet_Contains(sources, kind);
    }
    if (allowed <= 0) {
        result = allowed < 0 ? ERR : UNSURE;
        goto done;
    }
    PyObject *by_source = RULE(rule, R_BY_SOURCE);
    PyObject *found = PyDict_GetItemWithError(by_source, name);
    if (found == NULL && !PyErr_Occurred()) {
        found = PyDict_GetItemWithError(by_source, kind);
    }
    if (found == NULL && PyErr_Occurred()) {
        result = ERR;
        goto done;
    }
    found = found != NULL ? found : RULE(rule, R_ACTION_SOURCE);
    if (!PyUnicode_CheckExact(found) || same_text(found, s_app)) {
        goto done;
    }
    int claimed = PySet_Contains(claims, found);
    result = claimed < 0 ? ERR : claimed ? DONE : UNSURE;
    if (result == DONE) {
        Py_XSETREF(last.rule, Py_NewRef(rule));
        Py_XSETREF(last.chosen, Py_NewRef(found));
        *chosen = found;
    }
done:
    return result;
}

/* Whether no property is personal data (the long way moves it) and each is declared or kept;
 * reads the rule's property table (True: declared, False: personal data, i: the i-th custom
 * field) into it->custom and it->undeclared. */
static int
read_properties(PyObject *rule, int keep, Item *it)
{
    PyObject *known = RULE(rule, R_PROPERTIES), *key, *value;
    Py_ssize_t fields = PyTuple_GET_SIZE(RULE(rule, R_CUSTOM_FIELDS)), pos = 0;
    if (fields > MAX_CUSTOM_FIELDS) {
        return UNSURE;
    }
    memset(it->custom, 0, (size_t)fields * sizeof it->custom[0]);
    it->undeclared = 0;
    while (it->properties != NULL && PyDict_Next(it->properties, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            return UNSURE;
        }
        long i;
        PyObject *status = table_get(known, key, &i);
        if (status == NULL) {
            if (PyErr_Occurred()) {
                return ERR;
            }
            it->undeclared++;
        } else if (status == Py_False) {
            return UNSURE;
        } else if (PyLong_CheckExact(status)) {
            if (i < 0 || i >= fields) {
                return bad_tables("a custom field index is out of range");
            }
            it->custom[i] = value;
        }
    }
    return it->undeclared && !keep ? UNSURE : DONE;
}

/* ---- user_data ------------------------------------------------------------------------- */

/* MAPPED_USER_KEYS as key -> (Meta key, a bit of its own): which Meta keys a user_data has is
 * a bitmask, not a lookup. */
static PyObject *
user_key_bits(PyObject *user_keys)
{
    PyObject *out = PyDict_New(), *metas = PyDict_New();
    Py_ssize_t pos = 0;
    PyObject *key, *meta;
    while (out != NULL && metas != NULL && PyDict_Next(user_keys, &pos, &key, &meta)) {
        PyObject *bit = PyDict_GetItemWithError(metas, meta), *pair = NULL;
        if (bit == NULL && !PyErr_Occurred()) {
            bit = PyLong_FromSsize_t(PyDict_GET_SIZE(metas));
            if (bit == NULL || PyDict_SetItem(metas, meta, bit) < 0) {
                Py_XDECREF(bit);
                goto failed;
            }
            Py_DECREF(bit);
        }
        if (bit == NULL || PyDict_GET_SIZE(metas) > 64 ||
            (pair = PyTuple_Pack(2, meta, bit)) == NULL || PyDict_SetItem(out, key, pair) < 0) {
            Py_XDECREF(pair);
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "capigate._cmapping: over 64 Meta user keys");
            }
            goto failed;
        }
        Py_DECREF(pair);
    }
    if (out != NULL && metas != NULL) {
        Py_DECREF(metas);
        return out;
    }
failed:
    Py_XDECREF(out);
    Py_XDECREF(metas);
    return NULL;
}

static int
identity_index(PyObject *key)
{
    Py_ssize_t count = PyTuple_GET_SIZE(T.identity_keys);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (same_text(key, PyTuple_GET_ITEM(T.identity_keys, i))) {
            return (int)i;
        }
    }
    return -1;
}

/* One identity value (text or a JSON-safe int) in ids[index]; nothing for blank text. */
static int
take_identity(PyObject *raw, PyObject **slot)
{
    PyObject *text = NULL;
    if (PyUnicode_CheckExact(raw)) {
        text = strip_text(raw);
        if (text == NULL) {
            return ERR;
        }
        if (PyUnicode_GET_LENGTH(text) == 0) {
            Py_DECREF(text);
            return DONE;
        }
    } else if (PyLong_CheckExact(raw)) {
        int found = int_text(raw, TEXT_ID_LIMIT, &text);
        if (found != DONE) {
            return found;
        }
    } else {
        return UNSURE;
    }
    Py_XSETREF(*slot, text);
    return DONE;
}

/* external_id: the identity values in IDENTITY_KEYS order without repeats; one is a str. */
static int
add_external_id(PyObject *out, PyObject **ids, Py_ssize_t count)
{
    PyObject *unique[MAX_IDENTITY_KEYS];
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (ids[i] == NULL) {
            continue;
        }
        Py_ssize_t j = 0;
        while (j < n && !same_text(unique[j], ids[i])) {
            j++;
        }
        if (j == n) {
            unique[n++] = ids[i];
        }
    }
    if (n == 0) {
        return DONE;
    }
    if (n == 1) {
        return PyDict_SetItem(out, s_external_id, unique[0]) < 0 ? ERR : DONE;
    }
    PyObject *list = PyList_New(n);
    if (list == NULL) {
        return ERR;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyList_SET_ITEM(list, i, Py_NewRef(unique[i]));
    }
    int failed = PyDict_SetItem(out, s_external_id, list) < 0;
    Py_DECREF(list);
    return failed ? ERR : DONE;
}

/* mapping._usual_user: text values under distinct Meta keys, text or int ids; in *user_data. */
static int
map_user(PyObject *user, PyObject **user_data)
{
    PyObject *ids[MAX_IDENTITY_KEYS] = {NULL};
    Py_ssize_t id_count = PyTuple_GET_SIZE(T.identity_keys);
    PyObject *out = PyDict_New();
    int result = out == NULL ? ERR : DONE;
    unsigned long long taken = 0;
    Py_ssize_t pos = 0;
    PyObject *key, *raw;
    while (result == DONE && user != NULL && PyDict_Next(user, &pos, &key, &raw)) {
        if (!PyUnicode_CheckExact(key)) {
            result = UNSURE;
            break;
        }
        long bit_index;
        PyObject *entry = table_get(T.user_keys, key, &bit_index);
        if (entry == NULL) {
            int index = PyErr_Occurred() ? -2 : identity_index(key);
            if (index >= 0) {
                result = take_identity(raw, &ids[index]);
                continue;
            }
            int consumed = index == -2 ? -1 : PySet_Contains(T.consumed_keys, key);
            result = consumed < 0 ? ERR : consumed ? DONE : UNSURE;
            continue;
        }
        PyObject *meta = PyTuple_GET_ITEM(entry, 0);
        unsigned long long bit = 1ULL << bit_index; /* 0 <= bit_index < 64: user_key_bits */
        if (!PyUnicode_CheckExact(raw) || (taken & bit)) {
            result = UNSURE; /* a list, a number, or a second value for one Meta key */
            continue;
        }
        PyObject *text = strip_text(raw);
        if (text != NULL && PyUnicode_GET_LENGTH(text)) { /* blank text: as if not sent */
            taken |= bit;
            result = PyDict_SetItem(out, meta, text) < 0 ? ERR : DONE;
        }
        result = text == NULL ? ERR : result;
        Py_XDECREF(text);
    }
    if (result == DONE) {
        result = add_external_id(out, ids, id_count);
    }
    for (Py_ssize_t i = 0; i < id_count; i++) {
        Py_XDECREF(ids[i]);
    }
    if (result != DONE) {
        Py_XDECREF(out);
        return result;
    }
    *user_data = out;
    return DONE;
}

/* mapping._usual_values: the currency and the required properties are there. */
static int
check_values(PyObject *rule, PyObject *user_data, Item *it)
{
    PyObject *value;
    int found;
    if (RULE(rule, R_NEEDS_CURRENCY) == Py_True) {
        found = section_value(it->properties, it->context, s_currency, &value);
        if (found != DONE || value == NULL) {
            return found != DONE ? found : UNSURE;
        }
    }
    PyObject *required = RULE(rule, R_REQUIRED);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(required); i++) {
        PyObject *pair = PyTuple_GET_ITEM(required, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyUnicode_CheckExact(PyTuple_GET_ITEM(pair, 0))) {
            return bad_tables("required must hold (name, user_data key or None) pairs");
        }
        found = section_value(it->properties, it->context, PyTuple_GET_ITEM(pair, 0), &value);
        if (found != DONE) {
            return found;
        }
        if (value == NULL) {
            PyObject *moved = PyTuple_GET_ITEM(pair, 1);
            int there = PyUnicode_CheckExact(moved) ? PyDict_Contains(user_data, moved) : 0;
            if (there <= 0) {
                return there < 0 ? ERR : UNSURE;
            }
        }
    }
    return DONE;
}

/* ---- event_id -------------------------------------------------------------------------- */

/* mapping._id_text of a value (NULL: absent): text in *text, or NULL for none. */
static int
id_text(PyObject *value, PyObject **text)
{
    *text = NULL;
    if (value == NULL) {
        return DONE;
    }
    if (PyUnicode_CheckExact(value)) {
        PyObject *stripped = strip_text(value);
        if (stripped == NULL) {
            return ERR;
        }
        if (PyUnicode_GET_LENGTH(stripped) == 0) {
            Py_DECREF(stripped);
            return DONE;
        }
        *text = stripped;
        return DONE;
    }
    if (PyLong_CheckExact(value)) {
        return int_text(value, LLONG_MAX, text);
    }
    return plain(value) ? DONE : UNSURE; /* a subclass: isinstance decides in Python */
}

/* One template variable, looked up where mapping._section_variable looks; NULL for none. */
static int
variable(PyObject *name, PyObject *lookups, PyObject *event_time, Item *it, PyObject **text)
{
    *text = NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(lookups); i++) {
        long where = PyLong_AsLong(PyTuple_GET_ITEM(lookups, i));
        PyObject *section = where == L_USER         ? it->user
                            : where == L_PROPERTIES ? it->properties
                            : where == L_CONTEXT     ? it->context
                            : where == L_TELEGRAM_ID ? it->user
                                                     : NULL;
        PyObject *value;
        if (where == L_EVENT_TIME) {
            return int_text(event_time, LLONG_MAX, text);
        }
        if (where < L_USER || where > L_TELEGRAM_ID) {
            return PyErr_Occurred() ? ERR : bad_tables("an event_id lookup is out of range");
        }
        value = get(section, where == L_TELEGRAM_ID ? s_telegram_id : name);
        if (value == NULL && PyErr_Occurred()) {
            return ERR;
        }
        int found = id_text(value, text);
        if (found != DONE || *text != NULL) {
            return found;
        }
    }
    return DONE;
}

/* The event_id template's parts, concatenated (format_map of _usual_event_id's values). */
static int
templated_id(PyObject *parts, PyObject *event_time, Item *it, PyObject **event_id)
{
    PyObject *out = PyUnicode_New(0, 0);
    int result = out == NULL ? ERR : DONE;
    for (Py_ssize_t i = 0; result == DONE && i < PyTuple_GET_SIZE(parts); i++) {
        PyObject *part = PyTuple_GET_ITEM(parts, i);
        if (!PyTuple_CheckExact(part) || PyTuple_GET_SIZE(part) != 3 ||
            !PyUnicode_CheckExact(PyTuple_GET_ITEM(part, 0)) ||
            !PyTuple_CheckExact(PyTuple_GET_ITEM(part, 2))) {
            result = bad_tables("event_id parts must be (literal, name, lookups)");
            break;
        }
        PyUnicode_Append(&out, PyTuple_GET_ITEM(part, 0));
        PyObject *name = PyTuple_GET_ITEM(part, 1), *text = NULL;
        if (out == NULL) {
            result = ERR;
        } else if (name != Py_None) {
            result = variable(name, PyTuple_GET_ITEM(part, 2), event_time, it, &text);
            if (result == DONE && text == NULL) {
                result = UNSURE; /* the long way names the missing variable */
            }
            if (result == DONE) {
                PyUnicode_AppendAndDel(&out, text);
                result = out == NULL ? ERR : DONE;
            } else {
                Py_XDECREF(text);
            }
        }
    }
    if (result != DONE) {
        Py_XDECREF(out);
        return result;
    }
    *event_id = out;
    return DONE;
}

/* mapping._usual_event_id: the item's own id (text or an int), else the plan's template. */
static int
event_id_of(PyObject *rule, PyObject *event_time, Item *it, PyObject **event_id)
{
    PyObject *explicit = it->field[F_EVENT_ID];
    if (explicit == NULL || explicit == Py_None) {
        PyObject *parts = RULE(rule, R_ID_PARTS);
        return parts == Py_None ? UNSURE : templated_id(parts, event_time, it, event_id);
    }
    int found = id_text(explicit, event_id);
    return found == DONE && *event_id == NULL ? UNSURE : found; /* no id: the long way says why */
}

/* ---- custom_data and the event --------------------------------------------------------- */

/* mapping._usual_custom_data: declared fields (property, else context), undeclared properties
 * when kept, then the plan's constants. */
static int
custom_data_of(PyObject *rule, Item *it, PyObject **custom_data)
{
    PyObject *fields = RULE(rule, R_CUSTOM_FIELDS), *constants = RULE(rule, R_CONSTANTS);
    PyObject *out = PyDict_New();
    if (out == NULL) {
        return ERR;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fields); i++) {
        PyObject *name = PyTuple_GET_ITEM(fields, i), *value = it->custom[i];
        if (!PyUnicode_CheckExact(name)) {
            Py_DECREF(out);
            return bad_tables("custom fields must be strs");
        }
        int empty = blank(value);
        if (empty == 1) { /* _section_value: the context's value then */
            value = get(it->context, name);
            empty = value == NULL && PyErr_Occurred() ? ERR : blank(value);
        }
        if (empty == ERR || empty == BLANK_UNSURE ||
            (empty == 0 && PyDict_SetItem(out, name, value) < 0)) {
            Py_DECREF(out);
            return empty == BLANK_UNSURE ? UNSURE : ERR;
        }
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (it->undeclared && PyDict_Next(it->properties, &pos, &key, &value)) {
        long index;
        PyObject *status = table_get(RULE(rule, R_PROPERTIES), key, &index);
        if ((status == NULL && PyErr_Occurred()) ||
            (status == NULL && PyDict_SetItem(out, key, value) < 0)) {
            Py_DECREF(out);
            return ERR;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(constants); i++) {
        PyObject *pair = PyTuple_GET_ITEM(constants, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            PyDict_SetItem(out, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1)) < 0) {
            Py_DECREF(out);
            return PyErr_Occurred() ? ERR : bad_tables("constants must be (name, value) pairs");
        }
    }
    *custom_data = out;
    return DONE;
}

/* A context text that isinstance(value, str) takes: borrowed in *text, NULL for none (and for
 * "" unless keep_empty); UNSURE for a str subclass. */
static int
context_text(PyObject *value, int keep_empty, PyObject **text)
{
    *text = NULL;
    if (value == NULL) {
        return DONE;
    }
    if (PyUnicode_CheckExact(value)) {
        *text = keep_empty || PyUnicode_GET_LENGTH(value) ? value : NULL;
        return DONE;
    }
    return PyUnicode_Check(value) ? UNSURE : DONE;
}

/* The event dict in _usual's key order, with mapping._urls; steals user_data, custom_data and
 * event_id. */
static PyObject *
event_dict(PyObject *rule, PyObject *event_time, PyObject *event_id, PyObject *chosen,
           PyObject *user_data, PyObject *custom_data, PyObject *page_url, PyObject *referrer)
{
    /* Not _PyDict_NewPresized: in 3.11 its dicts are not of the str-keys kind, and the
     * pipeline's reads of them cost more (measured) than the resize saved here. */
    PyObject *event = PyDict_New();
    int failed = event == NULL ||
                 PyDict_SetItem(event, s_event_name, RULE(rule, R_EVENT_NAME)) < 0 ||
                 PyDict_SetItem(event, field_names[F_EVENT_TIME], event_time) < 0 ||
                 PyDict_SetItem(event, field_names[F_EVENT_ID], event_id) < 0 ||
                 PyDict_SetItem(event, field_names[F_ACTION_SOURCE], chosen) < 0 ||
                 PyDict_SetItem(event, s_user_data, user_data) < 0 ||
                 (PyDict_GET_SIZE(custom_data) &&
                  PyDict_SetItem(event, s_custom_data, custom_data) < 0) ||
                 (page_url && PyDict_SetItem(event, s_event_source_url, page_url) < 0) ||
                 (referrer && PyDict_SetItem(event, s_referrer_url, referrer) < 0);
    Py_DECREF(event_id);
    Py_DECREF(user_data);
    Py_DECREF(custom_data);
    if (failed) {
        Py_XDECREF(event);
        return NULL;
    }
    return event;
}

/* Mapped(event, plan_key, (), test_event_code), as tuple.__new__ builds it; steals event. */
static PyObject *
new_mapped(PyObject *event, PyObject *plan_key, PyObject *test_event_code)
{
    PyObject *findings = PyTuple_New(0);
    PyTypeObject *type = (PyTypeObject *)T.mapped;
    PyObject *mapped = findings == NULL ? NULL : type->tp_alloc(type, 4);
    if (mapped == NULL) {
        Py_XDECREF(findings);
        Py_DECREF(event);
        return NULL;
    }
    PyTuple_SET_ITEM(mapped, 0, event);
    PyTuple_SET_ITEM(mapped, 1, Py_NewRef(plan_key));
    PyTuple_SET_ITEM(mapped, 2, findings);
    PyTuple_SET_ITEM(mapped, 3, Py_NewRef(test_event_code ? test_event_code : Py_None));
    return mapped;
}

/* int(now_s) for a finite float or an int, else UNSURE. */
static int
now_seconds(PyObject *now_s, PyObject **seconds)
{
    if (PyLong_CheckExact(now_s)) {
        *seconds = Py_NewRef(now_s);
        return DONE;
    }
    if (!PyFloat_CheckExact(now_s) || !isfinite(PyFloat_AS_DOUBLE(now_s))) {
        return UNSURE;
    }
    *seconds = PyLong_FromDouble(PyFloat_AS_DOUBLE(now_s));
    return *seconds == NULL ? ERR : DONE;
}

/* ---- _usual ---------------------------------------------------------------------------- */

static int
map_item(PyObject *item, PyObject *tables, PyObject *source, PyObject *now_s, PyObject **mapped)
{
    Item it;
    PyObject *rule = NULL, *chosen = NULL, *page_url = NULL, *referrer = NULL;
    PyObject *test_event_code = NULL;
    PyObject *event_time = NULL, *user_data = NULL, *event_id = NULL, *custom_data = NULL;
    if (!PyTuple_CheckExact(tables) || PyTuple_GET_SIZE(tables) != 2 ||
        !PyDict_CheckExact(PyTuple_GET_ITEM(tables, 0))) {
        return bad_tables("plan tables must be (rules dict, keep)");
    }
    int found = read_source(source); /* first: reading an odd source may run Python code */
    if (found != DONE || (found = read_item(item, &it)) != DONE) {
        return found;
    }
    PyObject *name = it.field[F_EVENT], *table;
    if (name == NULL || !PyUnicode_CheckExact(name)) {
        return UNSURE;
    }
    if ((table = PyDict_GetItemWithError(PyTuple_GET_ITEM(tables, 0), name)) == NULL) {
        return PyErr_Occurred() ? ERR : UNSURE;
    }
    int keep = PyTuple_GET_ITEM(tables, 1) == Py_True;
    if ((found = read_rule(table, &rule)) != DONE ||
        (found = action_source(rule, source, &chosen)) != DONE ||
        (found = read_properties(rule, keep, &it)) != DONE ||
        (found = context_text(it.text[C_PAGE_URL], 0, &page_url)) != DONE ||
        (found = context_text(it.text[C_REFERRER], 0, &referrer)) != DONE ||
        (found = context_text(it.text[C_TEST_EVENT_CODE], 1, &test_event_code)) != DONE) {
        return found;
    }
    PyObject *given_time = it.field[F_EVENT_TIME];
    if (given_time == NULL || given_time == Py_None) {
        found = now_seconds(now_s, &event_time);
    } else if (PyLong_CheckExact(given_time)) {
        event_time = Py_NewRef(given_time);
    } else {
        found = UNSURE;
    }
    if (found != DONE || (found = map_user(it.user, &user_data)) != DONE ||
        (found = check_values(rule, user_data, &it)) != DONE ||
        (found = event_id_of(rule, event_time, &it, &event_id)) != DONE ||
        (found = custom_data_of(rule, &it, &custom_data)) != DONE) {
        Py_XDECREF(event_time);
        Py_XDECREF(user_data);
        Py_XDECREF(event_id);
        return found;
    }
    PyObject *event = event_dict(rule, event_time, event_id, chosen, user_data, custom_data,
                                 page_url, referrer);
    Py_DECREF(event_time);
    *mapped = event == NULL ? NULL : new_mapped(event, name, test_event_code);
    return *mapped == NULL ? ERR : DONE;
}

/* The tables of a plan: from the cache, else built by capigate.plan.native (new reference). */
static PyObject *
tables_for(PyObject *plan)
{
    for (int i = 0; i < CACHED_PLANS; i++) {
        if (cache[i].plan == plan) {
            return Py_NewRef(cache[i].tables);
        }
    }
    PyObject *tables = PyObject_CallOneArg(T.plan_tables, plan);
    if (tables == NULL) {
        return NULL;
    }
    int slot = cache_next;
    cache_next = (cache_next + 1) % CACHED_PLANS;
    PyObject *old_plan = cache[slot].plan, *old_tables = cache[slot].tables;
    cache[slot].plan = Py_NewRef(plan);
    cache[slot].tables = Py_NewRef(tables);
    Py_XDECREF(old_plan);
    Py_XDECREF(old_tables);
    return tables;
}

static void
clear_cache(void)
{
    for (int i = 0; i < CACHED_PLANS; i++) {
        Py_CLEAR(cache[i].plan);
        Py_CLEAR(cache[i].tables);
    }
}

static PyObject *
not_configured(void)
{
    PyErr_SetString(PyExc_RuntimeError, "capigate._cmapping: call configure() first");
    return NULL;
}

static PyObject *
cm_usual(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "usual() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    if (!configured) {
        return not_configured();
    }
    PyObject *tables = tables_for(args[1]), *mapped = NULL;
    if (tables == NULL) {
        return NULL;
    }
    int found = map_item(args[0], tables, args[2], args[3], &mapped);
    Py_DECREF(tables);
    if (found == DONE || found == ERR) {
        return mapped;
    }
    return PyObject_Vectorcall(T.fallback, args, 4, NULL);
}

static PyObject *
cm_decide(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "decide() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    if (!configured) {
        return not_configured();
    }
    PyObject *mapped = NULL;
    int found = map_item(args[0], args[1], args[2], args[3], &mapped);
    if (found == UNSURE) {
        Py_RETURN_NONE;
    }
    return mapped;
}

/* ---- configure ------------------------------------------------------------------------- */

static int
is_text_dict(PyObject *o)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_CheckExact(o) && PyDict_Next(o, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key) || !PyUnicode_CheckExact(value)) {
            return 0;
        }
    }
    return PyDict_CheckExact(o);
}

static int
is_text_tuple(PyObject *o)
{
    if (!PyTuple_CheckExact(o) || PyTuple_GET_SIZE(o) > MAX_IDENTITY_KEYS) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(o); i++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(o, i))) {
            return 0;
        }
    }
    return 1;
}

/* A tuple subclass of four fields, as typing.NamedTuple makes it. */
static int
is_record_of_four(PyObject *o)
{
    if (!PyType_Check(o) || !PyType_IsSubtype((PyTypeObject *)o, &PyTuple_Type)) {
        return 0;
    }
    PyObject *fields = PyObject_GetAttrString(o, "_fields");
    int four = fields != NULL && PyTuple_Check(fields) && PyTuple_GET_SIZE(fields) == 4;
    Py_XDECREF(fields);
    PyErr_Clear();
    return four;
}

static int
take_user_keys(PyObject *tables)
{
    PyObject *user_keys = PyDict_GetItemString(tables, "user_keys");
    if (user_keys == NULL) {
        PyErr_SetString(PyExc_KeyError, "capigate._cmapping.configure: user_keys is missing");
        return -1;
    }
    if (!is_text_dict(user_keys)) {
        PyErr_SetString(PyExc_TypeError, "capigate._cmapping.configure: user_keys must map "
                                         "strs to strs");
        return -1;
    }
    PyObject *bits = user_key_bits(user_keys);
    if (bits == NULL) {
        return -1;
    }
    Py_XSETREF(T.user_keys, bits);
    return 0;
}

static PyObject *
cm_configure(PyObject *Py_UNUSED(module), PyObject *tables)
{
    if (!PyDict_Check(tables)) {
        PyErr_SetString(PyExc_TypeError, "capigate._cmapping.configure takes a dict");
        return NULL;
    }
    configured = 0;
    clear_cache();
    forget_last();
    forget_keys();
    if (take_user_keys(tables) ||
        take(tables, "identity_keys", &T.identity_keys, is_text_tuple) ||
        take(tables, "consumed_keys", &T.consumed_keys, is_frozenset) ||
        take(tables, "lifecycle_kind", &T.lifecycle, is_text) ||
        take(tables, "mapped", &T.mapped, is_record_of_four) ||
        take(tables, "fallback", &T.fallback, is_callable) ||
        take(tables, "plan_tables", &T.plan_tables, is_callable)) {
        return NULL;
    }
    configured = 1;
    Py_RETURN_NONE;
}

/* ---- module ---------------------------------------------------------------------------- */

/* {names[i]: i} */
static PyObject *
index_table(const char *const *names, int count)
{
    PyObject *table = PyDict_New();
    for (int i = 0; table != NULL && i < count; i++) {
        PyObject *index = PyLong_FromLong(i);
        if (index == NULL || PyDict_SetItemString(table, names[i], index) < 0) {
            Py_CLEAR(table);
        }
        Py_XDECREF(index);
    }
    return table;
}

static int
intern_names(void)
{
    const CsName names[] = {
        {&s_name, "name"}, {&s_kind, "kind"}, {&s_action_sources, "action_sources"},
        {&s_currency, "currency"}, {&s_telegram_id, "telegram_id"},
        {&s_event_name, "event_name"}, {&s_user_data, "user_data"},
        {&s_custom_data, "custom_data"}, {&s_event_source_url, "event_source_url"},
        {&s_referrer_url, "referrer_url"}, {&s_external_id, "external_id"}, {&s_app, "app"},
    };
    if (intern_all(names, sizeof names / sizeof names[0]) < 0) {
        return -1;
    }
    for (int i = 0; i < N_FIELDS; i++) {
        if (field_names[i] == NULL) {
            field_names[i] = PyUnicode_InternFromString(FIELD_TEXT[i]);
        }
        if (field_names[i] == NULL) {
            return -1;
        }
    }
    if (field_table == NULL && (field_table = index_table(FIELD_TEXT, N_FIELDS)) == NULL) {
        return -1;
    }
    if (text_table == NULL && (text_table = index_table(TEXT_NAMES, N_TEXTS)) == NULL) {
        return -1;
    }
    return 0;
}

static PyMethodDef methods[] = {
    {"configure", cm_configure, METH_O,
     "configure(tables: dict) -> None: capigate.plan.native.configuration()."},
    {"usual", (PyCFunction)(void (*)(void))cm_usual, METH_FASTCALL,
     "usual(item, plan, source, now_s) -> Mapped | None: capigate.plan.mapping._usual, "
     "in C when certain, else through the Python fallback."},
    {"decide", (PyCFunction)(void (*)(void))cm_decide, METH_FASTCALL,
     "decide(item, plan_tables, source, now_s) -> Mapped | None: the C way alone (None: "
     "unsure)."},
    {NULL, NULL, 0, NULL},
};

static void
free_module(void *Py_UNUSED(module))
{
    clear_cache();
    forget_last();
    forget_keys();
    Py_CLEAR(T.user_keys);
    Py_CLEAR(T.identity_keys);
    Py_CLEAR(T.consumed_keys);
    Py_CLEAR(T.lifecycle);
    Py_CLEAR(T.mapped);
    Py_CLEAR(T.fallback);
    Py_CLEAR(T.plan_tables);
    configured = 0;
}

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capigate._cmapping",
    .m_doc = "The usual event of the plan mapping in C (capigate.plan.mapping._usual is the "
             "reference).",
    .m_size = -1,
    .m_methods = methods,
    .m_free = free_module,
};

PyMODINIT_FUNC
PyInit__cmapping(void)
{
    if (intern_names()) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    PyObject *fields = PyTuple_New(N_FIELDS);
    for (int i = 0; fields != NULL && i < N_FIELDS; i++) {
        PyTuple_SET_ITEM(fields, i, Py_NewRef(field_names[i]));
    }
    if (fields == NULL || PyModule_AddObject(m, "ITEM_FIELDS", fields) < 0) {
        Py_XDECREF(fields);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
