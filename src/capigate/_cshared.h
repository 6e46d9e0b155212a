/* capigate/_cshared.h: the configure-time helpers every C accelerator shares.
 *
 * Each _c*.c is its own extension (setup.py), so these are static inline: every module gets its
 * own copy and none goes unused-function warnings. Define CS_MODULE (the module's dotted name, a
 * string literal) before including this header: the error messages name it.
 */
#ifndef CAPIGATE_CSHARED_H
#define CAPIGATE_CSHARED_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifndef CS_MODULE
#error "define CS_MODULE before including _cshared.h"
#endif

/* The type checks configure() gives take(): functions, since the API's checks are macros. */
#define CS_CHECK(name, test)                                                                    \
    static inline int name(PyObject *o) { return test(o); }
CS_CHECK(is_frozenset, PyFrozenSet_CheckExact)
CS_CHECK(is_dict, PyDict_CheckExact)
CS_CHECK(is_text, PyUnicode_CheckExact)
CS_CHECK(is_type, PyType_Check)
CS_CHECK(is_callable, PyCallable_Check)
#undef CS_CHECK

/* A strong reference to tables[name] in *slot, checked with check (NULL: any object). */
static inline int
take(PyObject *tables, const char *name, PyObject **slot, int (*check)(PyObject *))
{
    PyObject *value = PyDict_GetItemString(tables, name);
    if (value == NULL) {
        PyErr_Format(PyExc_KeyError, CS_MODULE ".configure: %s is missing", name);
        return -1;
    }
    if (check != NULL && !check(value)) {
        PyErr_Format(PyExc_TypeError, CS_MODULE ".configure: %s has the wrong type", name);
        return -1;
    }
    Py_XSETREF(*slot, Py_NewRef(value));
    return 0;
}

/* An interned str in each empty slot of names[0..count). */
typedef struct {
    PyObject **slot;
    const char *text;
} CsName;

static inline int
intern_all(const CsName *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (*names[i].slot == NULL &&
            (*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL) {
            return -1;
        }
    }
    return 0;
}

#endif /* CAPIGATE_CSHARED_H */
