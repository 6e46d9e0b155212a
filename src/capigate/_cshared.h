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

static inline int
is_frozenset(PyObject *o)
{
    return PyFrozenSet_CheckExact(o);
}

static inline int
is_dict(PyObject *o)
{
    return PyDict_CheckExact(o);
}

static inline int
is_text(PyObject *o)
{
    return PyUnicode_CheckExact(o);
}

static inline int
is_type(PyObject *o)
{
    return PyType_Check(o);
}

static inline int
is_callable(PyObject *o)
{
    return PyCallable_Check(o);
}

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

#endif /* CAPIGATE_CSHARED_H */
