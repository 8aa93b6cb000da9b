/* glassbox._native: the library (include/glassbox.h) as Python objects. Written against the
 * header alone, as the CLI is; the pure-Python layer (glassbox/__init__.py) gives it shap's
 * and lime's shapes.
 *
 * Arrays cross without numpy's C API, through the buffer protocol: rows come in as any
 * C-contiguous float64 buffer (a numpy array is lent, not copied, for the call), results go
 * out as read-only views over the explanation's own memory (np.asarray makes them arrays
 * without a copy; each keeps its explanation alive). So one build serves numpy 1.x and 2.x.
 * Every computation runs with the GIL released. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "glassbox.h"

#include <stdlib.h>
#include <string.h>

static PyObject *glassbox_error;  /* glassbox.GlassboxError */
static PyObject *input_error;     /* glassbox.InputError, also a ValueError */

/* A library error as the Python exception of its kind, with the library's message. */
static PyObject *raise_error(const gbx_error *error)
{
    int bad_input = error->status == GBX_ERR_USAGE || error->status == GBX_ERR_PARSE ||
                    error->status == GBX_ERR_MISMATCH;
    if (error->status == GBX_ERR_NOMEM) return PyErr_NoMemory();
    PyErr_SetString(bad_input ? input_error : glassbox_error,
                    error->message[0] ? error->message : gbx_strerror(error->status));
    return NULL;
}

/* ---- ArrayView: a read-only float64 buffer over memory an owner keeps ---------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *owner;       /* keeps the memory alive; NULL when the view owns it */
    double *data;
    int owned;             /* data was malloc'd for this view */
    int ndim;
    Py_ssize_t shape[4], strides[4];
} ArrayView;

static void view_dealloc(ArrayView *self)
{
    Py_XDECREF(self->owner);
    if (self->owned) free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int view_getbuffer(ArrayView *self, Py_buffer *view, int flags)
{
    if (flags & PyBUF_WRITABLE) {
        PyErr_SetString(PyExc_BufferError, "glassbox results are read-only (copy them to change)");
        return -1;
    }
    Py_ssize_t count = 1;
    for (int d = 0; d < self->ndim; d++) count *= self->shape[d];
    view->buf = self->data;
    view->obj = (PyObject *)self;
    Py_INCREF(self);
    view->len = count * (Py_ssize_t)sizeof(double);
    view->readonly = 1;
    view->itemsize = sizeof(double);
    view->format = (flags & PyBUF_FORMAT) ? "d" : NULL;
    view->ndim = self->ndim;
    view->shape = self->shape;
    view->strides = self->strides;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static PyBufferProcs view_buffer = {(getbufferproc)view_getbuffer, NULL};

static PyTypeObject ArrayViewType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glassbox._native.ArrayView",
    .tp_basicsize = sizeof(ArrayView),
    .tp_dealloc = (destructor)view_dealloc,
    .tp_as_buffer = &view_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A read-only float64 buffer over glassbox's memory (np.asarray views it).",
};

/* A view of `dims` (C order, or with the given element strides); NULL data gives None. */
static PyObject *make_view(PyObject *owner, const double *data, int ndim, const Py_ssize_t *dims,
                           const Py_ssize_t *element_strides)
{
    if (!data) Py_RETURN_NONE;
    ArrayView *view = PyObject_New(ArrayView, &ArrayViewType);
    if (!view) return NULL;
    view->owner = owner;
    Py_XINCREF(owner);
    view->data = (double *)data;
    view->owned = 0;
    view->ndim = ndim;
    Py_ssize_t stride = sizeof(double);
    for (int d = ndim - 1; d >= 0; d--) {
        view->shape[d] = dims[d];
        view->strides[d] = element_strides ? element_strides[d] * (Py_ssize_t)sizeof(double) : stride;
        stride *= dims[d];
    }
    return (PyObject *)view;
}

/* A view that owns malloc'd memory (predictions). */
static PyObject *owned_view(double *data, int ndim, const Py_ssize_t *dims)
{
    ArrayView *view = (ArrayView *)make_view(NULL, data, ndim, dims, NULL);
    if (!view) free(data);
    else view->owned = 1;
    return (PyObject *)view;
}

/* ---- rows in: a C-contiguous 2-D float64 buffer, lent for the call ----------------------- */

typedef struct {
    Py_buffer buffer;
    gbx_data *data;
    const char **names;
} lent_rows;

static void rows_release(lent_rows *rows)
{
    gbx_data_free(rows->data);
    if (rows->buffer.obj) PyBuffer_Release(&rows->buffer);
    free(rows->names);
    memset(rows, 0, sizeof *rows);
}

/* names: a sequence of str or None. */
static int rows_lend(PyObject *object, PyObject *names, lent_rows *rows)
{
    memset(rows, 0, sizeof *rows);
    if (PyObject_GetBuffer(object, &rows->buffer, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0)
        return -1;
    if (rows->buffer.ndim != 2 || strcmp(rows->buffer.format, "d") != 0) {
        PyErr_SetString(input_error, "rows must be a 2-D C-contiguous float64 array");
        rows_release(rows);
        return -1;
    }
    size_t n = (size_t)rows->buffer.shape[0], columns = (size_t)rows->buffer.shape[1];
    if (names && names != Py_None) {
        Py_ssize_t count = PySequence_Size(names);
        if (count < 0 || (size_t)count != columns) {
            if (count >= 0) PyErr_Format(input_error, "%zd names for %zu columns", count, columns);
            rows_release(rows);
            return -1;
        }
        rows->names = calloc(columns ? columns : 1, sizeof(char *));
        for (size_t j = 0; rows->names && j < columns; j++) {
            PyObject *name = PySequence_GetItem(names, (Py_ssize_t)j);
            /* the strings live in the sequence, which the caller holds through the call */
            rows->names[j] = name && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
            Py_XDECREF(name);
            if (PyErr_Occurred()) {
                rows_release(rows);
                return -1;
            }
        }
    }
    gbx_error error;
    if (gbx_data_wrap(n, columns, rows->buffer.buf, rows->names, &rows->data, &error) != GBX_OK) {
        raise_error(&error);
        rows_release(rows);
        return -1;
    }
    return 0;
}

static PyObject *names_list(size_t count, const char *(*name)(const void *, size_t),
                            const void *object)
{
    PyObject *list = PyList_New((Py_ssize_t)count);
    for (size_t i = 0; list && i < count; i++) {
        const char *text = name(object, i);
        PyObject *item = text ? PyUnicode_FromString(text) : Py_NewRef(Py_None);
        if (!item) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

/* ---- Model --------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    gbx_model *model;
} Model;

static void model_dealloc(Model *self)
{
    if (self->model) {
        /* A function model's release takes the GIL, which this thread holds. */
        gbx_model_free(self->model);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject ModelType;

static PyObject *wrap_model(gbx_model *model)
{
    Model *self = PyObject_New(Model, &ModelType);
    if (!self) {
        gbx_model_free(model);
        return NULL;
    }
    self->model = model;
    return (PyObject *)self;
}

static PyObject *load_model(PyObject *module, PyObject *args)
{
    (void)module;
    const char *path;
    double timeout = 0;
    if (!PyArg_ParseTuple(args, "s|d", &path, &timeout)) return NULL;
    gbx_model_options options = {timeout};
    gbx_model *model = NULL;
    gbx_error error;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_model_load_with(path, &options, &model, &error);
    Py_END_ALLOW_THREADS
    return status == GBX_OK ? wrap_model(model) : raise_error(&error);
}

static PyObject *load_model_bytes(PyObject *module, PyObject *args)
{
    (void)module;
    Py_buffer bytes;
    const char *name;
    if (!PyArg_ParseTuple(args, "y*s", &bytes, &name)) return NULL;
    gbx_model *model = NULL;
    gbx_error error;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_model_load_bytes(bytes.buf, (size_t)bytes.len, name, &model, &error);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&bytes);
    return status == GBX_OK ? wrap_model(model) : raise_error(&error);
}

/* A Python callable as a black box: called with a float64 array [count][features] (a copy,
 * its own), giving something float64 of count * outputs numbers. */
typedef struct {
    PyObject *callable;
    size_t features, outputs;
} python_box;

static int box_predict(void *user, const double *rows, size_t count, double *out, char *message,
                       size_t size)
{
    python_box *box = user;
    PyGILState_STATE gil = PyGILState_Ensure();
    int failed = 1;
    size_t values = count * box->features;
    double *copy = malloc((values > 0 ? values : 1) * sizeof(double));
    Py_ssize_t dims[2] = {(Py_ssize_t)count, (Py_ssize_t)box->features};
    PyObject *view = NULL, *result = NULL;
    if (copy) {
        memcpy(copy, rows, count * box->features * sizeof(double));
        view = owned_view(copy, 2, dims);
    }
    if (view) result = PyObject_CallOneArg(box->callable, view);
    Py_buffer buffer = {0};
    if (result && PyObject_GetBuffer(result, &buffer, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) == 0) {
        if (strcmp(buffer.format, "d") != 0 ||
            (size_t)buffer.len != count * box->outputs * sizeof(double))
            snprintf(message, size, "the function gave %zd numbers of format %s for %zu rows of "
                     "%zu outputs (float64 expected)", buffer.len / (Py_ssize_t)buffer.itemsize,
                     buffer.format, count, box->outputs);
        else {
            memcpy(out, buffer.buf, (size_t)buffer.len);
            failed = 0;
        }
        PyBuffer_Release(&buffer);
    }
    if (PyErr_Occurred()) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        PyObject *text = value ? PyObject_Str(value) : NULL;
        const char *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;
        snprintf(message, size, "%s: %s", type ? ((PyTypeObject *)type)->tp_name : "error",
                 utf8 ? utf8 : "");
        Py_XDECREF(text);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
        PyErr_Clear();
    }
    Py_XDECREF(result);
    Py_XDECREF(view);
    if (!view && !copy) snprintf(message, size, "out of memory");
    PyGILState_Release(gil);
    return failed;
}

static void box_release(void *user)
{
    python_box *box = user;
    PyGILState_STATE gil = PyGILState_Ensure();
    Py_DECREF(box->callable);
    PyGILState_Release(gil);
    free(box);
}

static PyObject *model_from_function(PyObject *module, PyObject *args, PyObject *keywords)
{
    (void)module;
    static char *names[] = {"function", "features", "outputs", "feature_names", "output_names",
                            "name", NULL};
    PyObject *callable, *feature_names = Py_None, *output_names = Py_None;
    Py_ssize_t features, outputs;
    const char *name = "function";
    if (!PyArg_ParseTupleAndKeywords(args, keywords, "Onn|OOs", names, &callable, &features,
                                     &outputs, &feature_names, &output_names, &name))
        return NULL;
    if (!PyCallable_Check(callable) || features < 1 || outputs < 1) {
        PyErr_SetString(input_error, "a callable, at least one feature and one output");
        return NULL;
    }
    PyObject *sequences[2] = {feature_names, output_names};
    Py_ssize_t sizes[2] = {features, outputs};
    const char **texts[2] = {NULL, NULL};
    for (int s = 0; s < 2; s++) {
        if (sequences[s] == Py_None) continue;
        if (PySequence_Size(sequences[s]) != sizes[s]) {
            PyErr_Format(input_error, "%s: %zd names expected", s ? "output_names" : "feature_names",
                         sizes[s]);
            free(texts[0]);
            return NULL;
        }
        texts[s] = calloc((size_t)sizes[s], sizeof(char *));
        for (Py_ssize_t i = 0; texts[s] && i < sizes[s]; i++) {
            PyObject *item = PySequence_GetItem(sequences[s], i);
            texts[s][i] = item ? PyUnicode_AsUTF8(item) : NULL;
            Py_XDECREF(item); /* the sequence keeps the string */
        }
        if (PyErr_Occurred() || !texts[s]) {
            free(texts[0]);
            free(texts[1]);
            return PyErr_Occurred() ? NULL : PyErr_NoMemory();
        }
    }
    python_box *box = malloc(sizeof *box);
    if (!box) {
        free(texts[0]);
        free(texts[1]);
        return PyErr_NoMemory();
    }
    box->callable = Py_NewRef(callable);
    box->features = (size_t)features;
    box->outputs = (size_t)outputs;
    gbx_model_function function = {(size_t)features, (size_t)outputs, texts[0], texts[1], 0,
                                   box_predict, box_release, box, name};
    gbx_model *model = NULL;
    gbx_error error;
    gbx_status status = gbx_model_from_function(&function, &model, &error);
    free(texts[0]);
    free(texts[1]);
    return status == GBX_OK ? wrap_model(model) : raise_error(&error);
}

static const char *model_feature(const void *model, size_t i) { return gbx_model_feature_name(model, i); }
static const char *model_output(const void *model, size_t i) { return gbx_model_output_name(model, i); }

static PyObject *model_get(Model *self, void *which)
{
    const gbx_model *m = self->model;
    static const char *const links[] = {"identity", "logit", "softmax", "log", "other"};
    switch ((int)(intptr_t)which) {
    case 0: return PyUnicode_FromString(gbx_model_type(m));
    case 1: return PyUnicode_FromString(gbx_model_objective(m));
    case 2: return PyUnicode_FromString(gbx_model_sha256(m));
    case 3: return PyLong_FromSize_t(gbx_model_features(m));
    case 4: return PyLong_FromSize_t(gbx_model_outputs(m));
    case 5: return names_list(gbx_model_features(m), model_feature, m);
    case 6: return names_list(gbx_model_outputs(m), model_output, m);
    case 7: return PyUnicode_FromString(links[gbx_model_link(m)]);
    case 8: return PyBool_FromLong(gbx_model_is_tree(m));
    case 9: return PyUnicode_FromString(gbx_model_source(m));
    case 10: return PyUnicode_FromString(gbx_model_version(m));
    }
    Py_RETURN_NONE;
}

static PyGetSetDef model_getset[] = {
    {"type", (getter)model_get, NULL, "the model's kind: xgboost, lightgbm, onnx, keras, ...", (void *)0},
    {"objective", (getter)model_get, NULL, "its objective or operator", (void *)1},
    {"sha256", (getter)model_get, NULL, "the model file's SHA-256 (its version)", (void *)2},
    {"features", (getter)model_get, NULL, "its input width", (void *)3},
    {"outputs", (getter)model_get, NULL, "its outputs", (void *)4},
    {"feature_names", (getter)model_get, NULL, "names (None where the file has none)", (void *)5},
    {"output_names", (getter)model_get, NULL, "output names", (void *)6},
    {"link", (getter)model_get, NULL, "how the raw output becomes the prediction", (void *)7},
    {"is_tree", (getter)model_get, NULL, "a tree ensemble (XGBoost, LightGBM)", (void *)8},
    {"source", (getter)model_get, NULL, "a served model's URL, or ''", (void *)9},
    {"served_version", (getter)model_get, NULL, "the version its server reports, or ''", (void *)10},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyObject *model_predict(Model *self, PyObject *args)
{
    PyObject *rows_object, *names = Py_None;
    int raw = 0;
    if (!PyArg_ParseTuple(args, "O|pO", &rows_object, &raw, &names)) return NULL;
    lent_rows rows;
    if (rows_lend(rows_object, names, &rows) != 0) return NULL;
    size_t n = gbx_data_rows(rows.data), K = gbx_model_outputs(self->model);
    size_t values = n * K;
    double *out = malloc((values > 0 ? values : 1) * sizeof(double));
    if (!out) {
        rows_release(&rows);
        return PyErr_NoMemory();
    }
    gbx_error error;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_model_predict(self->model, rows.data, raw, out, &error);
    Py_END_ALLOW_THREADS
    rows_release(&rows);
    if (status != GBX_OK) {
        free(out);
        return raise_error(&error);
    }
    Py_ssize_t dims[2] = {(Py_ssize_t)n, (Py_ssize_t)K};
    return owned_view(out, 2, dims);
}

static PyMethodDef model_methods[] = {
    {"predict", (PyCFunction)model_predict, METH_VARARGS,
     "predict(rows, raw=False, names=None): [rows][outputs] predictions (raw: margins)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glassbox._native.Model",
    .tp_basicsize = sizeof(Model),
    .tp_dealloc = (destructor)model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A loaded model (glassbox.load_model makes one).",
    .tp_methods = model_methods,
    .tp_getset = model_getset,
};

/* ---- Explanation --------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    gbx_explanation *explanation;
} Explanation;

static PyTypeObject ExplanationType;

static void explanation_dealloc(Explanation *self)
{
    gbx_explanation_free(self->explanation);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *wrap_explanation(gbx_explanation *explanation)
{
    Explanation *self = PyObject_New(Explanation, &ExplanationType);
    if (!self) {
        gbx_explanation_free(explanation);
        return NULL;
    }
    self->explanation = explanation;
    return (PyObject *)self;
}

static const char *explained_feature(const void *e, size_t i) { return gbx_explanation_feature_name(e, i); }
static const char *explained_output(const void *e, size_t i) { return gbx_explanation_output_name(e, i); }
static const char *explained_column(const void *e, size_t i) { return gbx_explanation_column_name(e, i); }

/* The arrays, as views in the library's layout: [n][K][M], [n][K], [n][J], [n][K][M][M]. */
typedef enum { VALUES, BASE_VALUES, PREDICTIONS, DATA, STANDARD_ERRORS, INTERACTIONS,
               LOCAL_PREDICTIONS, SCORES, CONVERGENCE_DELTAS, CLASSES } array_kind;

static PyObject *explanation_array(Explanation *self, void *which)
{
    const gbx_explanation *e = self->explanation;
    Py_ssize_t n = (Py_ssize_t)gbx_explanation_rows(e), K = (Py_ssize_t)gbx_explanation_outputs(e);
    Py_ssize_t M = (Py_ssize_t)gbx_explanation_features(e), J = (Py_ssize_t)gbx_explanation_columns(e);
    Py_ssize_t by_feature[3] = {n, K, M}, by_output[2] = {n, K}, by_column[2] = {n, J};
    Py_ssize_t pairs[4] = {n, K, M, M}, rows_only[1] = {n};
    PyObject *owner = (PyObject *)self;
    switch ((array_kind)(intptr_t)which) {
    case VALUES: return make_view(owner, gbx_explanation_values(e), 3, by_feature, NULL);
    case BASE_VALUES: return make_view(owner, gbx_explanation_base_values(e), 2, by_output, NULL);
    case PREDICTIONS: return make_view(owner, gbx_explanation_predictions(e), 2, by_output, NULL);
    case DATA: return make_view(owner, gbx_explanation_data(e), 2, by_column, NULL);
    case STANDARD_ERRORS:
        return make_view(owner, gbx_explanation_standard_errors(e), 3, by_feature, NULL);
    case INTERACTIONS: return make_view(owner, gbx_explanation_interactions(e), 4, pairs, NULL);
    case LOCAL_PREDICTIONS:
        return make_view(owner, gbx_explanation_local_predictions(e), 2, by_output, NULL);
    case SCORES: return make_view(owner, gbx_explanation_scores(e), 2, by_output, NULL);
    case CONVERGENCE_DELTAS:
        return make_view(owner, gbx_explanation_convergence_deltas(e), 2, by_output, NULL);
    case CLASSES: return make_view(owner, gbx_explanation_classes(e), 1, rows_only, NULL);
    }
    Py_RETURN_NONE;
}

static PyObject *explanation_names(Explanation *self, void *which)
{
    const gbx_explanation *e = self->explanation;
    switch ((int)(intptr_t)which) {
    case 0: return names_list(gbx_explanation_features(e), explained_feature, e);
    case 1: return names_list(gbx_explanation_outputs(e), explained_output, e);
    case 2: return names_list(gbx_explanation_columns(e), explained_column, e);
    }
    Py_RETURN_NONE;
}

static PyObject *explanation_count(Explanation *self, void *which)
{
    const gbx_explanation *e = self->explanation;
    switch ((int)(intptr_t)which) {
    case 0: return PyLong_FromSize_t(gbx_explanation_rows(e));
    case 1: return PyLong_FromSize_t(gbx_explanation_outputs(e));
    case 2: return PyLong_FromSize_t(gbx_explanation_features(e));
    }
    return PyLong_FromSize_t(gbx_explanation_columns(e));
}

static PyObject *explanation_provenance(Explanation *self, void *unused)
{
    (void)unused;
    gbx_provenance p = gbx_explanation_provenance(self->explanation);
    const size_t *shape = NULL;
    size_t rank = gbx_explanation_input_shape(self->explanation, &shape);
    PyObject *input_shape = PyTuple_New((Py_ssize_t)rank);
    for (size_t d = 0; input_shape && d < rank; d++)
        PyTuple_SET_ITEM(input_shape, (Py_ssize_t)d, PyLong_FromSize_t(shape[d]));
    PyObject *groups = PyList_New(0);
    for (size_t j = 0; groups && gbx_explanation_is_grouped(self->explanation) &&
                       j < gbx_explanation_columns(self->explanation); j++) {
        PyObject *group = PyLong_FromLong(gbx_explanation_group_of_column(self->explanation, j));
        if (!group || PyList_Append(groups, group) != 0) Py_CLEAR(groups);
        Py_XDECREF(group);
    }
    PyObject *result = Py_BuildValue(
        "{s:s,s:s,s:K,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:N,s:N}", "method", p.method, "parameters",
        p.parameters, "seed", (unsigned long long)p.seed, "version", p.version, "model_sha256",
        p.model_sha256, "model_type", p.model_type, "objective", p.objective, "output_space",
        p.output_space, "background_sha256", p.background_sha256, "model_source", p.model_source,
        "model_version", p.model_version, "input_shape", input_shape, "group_of_column", groups);
    return result;
}

static PyGetSetDef explanation_getset[] = {
    {"values", (getter)explanation_array, NULL, "[rows][outputs][features]", (void *)VALUES},
    {"base_values", (getter)explanation_array, NULL, "[rows][outputs]", (void *)BASE_VALUES},
    {"predictions", (getter)explanation_array, NULL, "[rows][outputs]", (void *)PREDICTIONS},
    {"data", (getter)explanation_array, NULL, "[rows][columns], or None", (void *)DATA},
    {"standard_errors", (getter)explanation_array, NULL, "like values, or None",
     (void *)STANDARD_ERRORS},
    {"interactions", (getter)explanation_array, NULL, "[rows][outputs][features][features], or None",
     (void *)INTERACTIONS},
    {"local_predictions", (getter)explanation_array, NULL, "LIME: [rows][outputs], or None",
     (void *)LOCAL_PREDICTIONS},
    {"scores", (getter)explanation_array, NULL, "LIME: weighted R^2 [rows][outputs], or None",
     (void *)SCORES},
    {"convergence_deltas", (getter)explanation_array, NULL, "[rows][outputs], or None",
     (void *)CONVERGENCE_DELTAS},
    {"classes", (getter)explanation_array, NULL, "[rows], the output explained, or None",
     (void *)CLASSES},
    {"feature_names", (getter)explanation_names, NULL, "the explained features", (void *)0},
    {"output_names", (getter)explanation_names, NULL, "the outputs", (void *)1},
    {"column_names", (getter)explanation_names, NULL, "the data's columns", (void *)2},
    {"provenance", (getter)explanation_provenance, NULL, "what made the numbers", NULL},
    {"rows", (getter)explanation_count, NULL, "rows explained", (void *)0},
    {"outputs", (getter)explanation_count, NULL, "outputs per row", (void *)1},
    {"features", (getter)explanation_count, NULL, "features explained", (void *)2},
    {"columns", (getter)explanation_count, NULL, "data columns", (void *)3},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyObject *explanation_save(Explanation *self, PyObject *args)
{
    const char *path, *format = NULL;
    int include_data = 1;
    if (!PyArg_ParseTuple(args, "s|zp", &path, &format, &include_data)) return NULL;
    gbx_writer_options options = {include_data, format, 1};
    gbx_error error;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_explanation_write(self->explanation, path, &options, &error);
    Py_END_ALLOW_THREADS
    if (status != GBX_OK) return raise_error(&error);
    Py_RETURN_NONE;
}

/* Feature metadata from a path, or none. */
static int metadata_read(const char *path, gbx_feature_metadata **out)
{
    *out = NULL;
    if (!path) return 0;
    gbx_error error;
    if (gbx_feature_metadata_read(path, out, &error) == GBX_OK) return 0;
    raise_error(&error);
    return -1;
}

static int audience_parse(const char *name, gbx_audience *out)
{
    gbx_error error = {GBX_ERR_USAGE, ""};
    if (gbx_audience_parse(name, out) == GBX_OK) return 0;
    snprintf(error.message, sizeof error.message,
             "audience is applicant, analyst or auditor, not \"%s\"", name);
    raise_error(&error);
    return -1;
}

static PyObject *explanation_render(Explanation *self, PyObject *args, PyObject *keywords)
{
    static char *names[] = {"kind", "format", "row", "rows_last", "output", "max_display",
                            "features", "feature", "color", "cohort", "order", "audience", NULL};
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    const char *format = "svg", *metadata_path = NULL, *audience = "applicant";
    Py_ssize_t row = 0, rows_last = 0, max_display = 0;
    long output = -1;
    if (!PyArg_ParseTupleAndKeywords(args, keywords, "s|snnlnzzzzzs", names, &options.kind, &format,
                                     &row, &rows_last, &output, &max_display, &metadata_path,
                                     &options.feature, &options.color, &options.cohort,
                                     &options.order, &audience))
        return NULL;
    if (row < 0 || rows_last < 0 || max_display < 0) {
        PyErr_SetString(input_error, "row, rows_last and max_display are 0 or more");
        return NULL;
    }
    options.row = (size_t)row;
    options.rows_last = (size_t)rows_last;
    options.output = output;
    options.max_display = (size_t)max_display;
    gbx_feature_metadata *metadata;
    if (audience_parse(audience, &options.audience) != 0 || metadata_read(metadata_path, &metadata) != 0)
        return NULL;
    options.features = metadata;
    char *bytes = NULL;
    size_t size = 0;
    gbx_error error;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_plot_render(self->explanation, &options, format, &bytes, &size, &error);
    Py_END_ALLOW_THREADS
    gbx_feature_metadata_free(metadata);
    if (status != GBX_OK) return raise_error(&error);
    PyObject *result = PyBytes_FromStringAndSize(bytes, (Py_ssize_t)size);
    gbx_free(bytes);
    return result;
}

static PyObject *reason_dict(const gbx_reason *reason)
{
    return Py_BuildValue("{s:s,s:s,s:d,s:s,s:s,s:s,s:d}", "feature", reason->feature, "display",
                         reason->display, "contribution", reason->contribution, "value",
                         reason->value, "sentence", reason->sentence, "what_if", reason->what_if,
                         "what_if_change", reason->what_if_change);
}

static PyObject *reasons_row_dict(const gbx_reasons_row *row)
{
    static const char *const decisions[] = {"none", "favourable", "adverse"};
    PyObject *reasons = PyList_New((Py_ssize_t)row->count);
    for (size_t i = 0; reasons && i < row->count; i++) {
        PyObject *reason = reason_dict(&row->reasons[i]);
        if (!reason) Py_CLEAR(reasons);
        else PyList_SET_ITEM(reasons, (Py_ssize_t)i, reason);
    }
    PyObject *sensitive = PyList_New((Py_ssize_t)row->sensitive_count);
    for (size_t i = 0; sensitive && i < row->sensitive_count; i++) {
        PyObject *name = PyUnicode_FromString(row->sensitive[i]);
        if (!name) Py_CLEAR(sensitive);
        else PyList_SET_ITEM(sensitive, (Py_ssize_t)i, name);
    }
    if (!reasons || !sensitive) {
        Py_XDECREF(reasons);
        Py_XDECREF(sensitive);
        return NULL;
    }
    return Py_BuildValue("{s:n,s:d,s:d,s:s,s:N,s:N,s:d}", "row", (Py_ssize_t)row->row,
                         "prediction", row->prediction, "base_value", row->base_value, "decision",
                         decisions[row->decision], "reasons", reasons, "sensitive", sensitive,
                         "sensitive_total", row->sensitive_total);
}

static PyObject *explanation_reasons(Explanation *self, PyObject *args, PyObject *keywords)
{
    static char *names[] = {"audience", "top", "adverse_lower", "output", "row", "features",
                            "model", "threshold", NULL};
    gbx_reasons_options options;
    gbx_reasons_options_init(&options);
    const char *audience = "applicant", *metadata_path = NULL;
    Py_ssize_t top = 4;
    PyObject *model = Py_None, *threshold = Py_None;
    int adverse_lower = 0;
    if (!PyArg_ParseTupleAndKeywords(args, keywords, "|snpllzOO", names, &audience, &top,
                                     &adverse_lower, &options.output, &options.row, &metadata_path,
                                     &model, &threshold))
        return NULL;
    if (model != Py_None && !PyObject_TypeCheck(model, &ModelType)) {
        PyErr_SetString(input_error, "model: a glassbox model, or None");
        return NULL;
    }
    double threshold_value = 0;
    if (threshold != Py_None) {
        threshold_value = PyFloat_AsDouble(threshold);
        if (PyErr_Occurred()) return NULL;
        options.threshold = &threshold_value;
    }
    if (top < 1) {
        PyErr_SetString(input_error, "top is 1 or more");
        return NULL;
    }
    options.top = (size_t)top;
    options.adverse_lower = adverse_lower;
    options.model = model != Py_None ? ((Model *)model)->model : NULL;
    gbx_feature_metadata *metadata;
    if (audience_parse(audience, &options.audience) != 0 || metadata_read(metadata_path, &metadata) != 0)
        return NULL;
    options.features = metadata;
    gbx_reasons *reasons = NULL;
    gbx_error error;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_reasons_compute(self->explanation, &options, &reasons, &error);
    Py_END_ALLOW_THREADS
    gbx_feature_metadata_free(metadata);
    if (status != GBX_OK) return raise_error(&error);
    size_t count = gbx_reasons_rows(reasons);
    PyObject *rows = PyList_New((Py_ssize_t)count);
    for (size_t i = 0; rows && i < count; i++) {
        PyObject *row = reasons_row_dict(gbx_reasons_row_at(reasons, i));
        if (!row) Py_CLEAR(rows);
        else PyList_SET_ITEM(rows, (Py_ssize_t)i, row);
    }
    gbx_reasons_free(reasons);
    return rows;
}

static PyObject *explanation_report(Explanation *self, PyObject *args, PyObject *keywords)
{
    static char *names[] = {"path", "title", "features", "audience", "model", "output", "top",
                            "adverse_lower", "rows_first", "rows_last", "threshold", NULL};
    gbx_report_options options;
    gbx_report_options_init(&options);
    const char *path, *metadata_path = NULL, *audience = "analyst";
    PyObject *model = Py_None, *threshold = Py_None;
    Py_ssize_t top = 0, first = 0, last = 0;
    int adverse_lower = 0;
    if (!PyArg_ParseTupleAndKeywords(args, keywords, "s|zzsOlnpnnO", names, &path, &options.title,
                                     &metadata_path, &audience, &model, &options.output, &top,
                                     &adverse_lower, &first, &last, &threshold))
        return NULL;
    if (model != Py_None && !PyObject_TypeCheck(model, &ModelType)) {
        PyErr_SetString(input_error, "model: a glassbox model, or None");
        return NULL;
    }
    if (top < 0 || first < 0 || last < 0) {
        PyErr_SetString(input_error, "top, rows_first and rows_last are 0 or more");
        return NULL;
    }
    double threshold_value = 0;
    if (threshold != Py_None) {
        threshold_value = PyFloat_AsDouble(threshold);
        if (PyErr_Occurred()) return NULL;
        options.threshold = &threshold_value;
    }
    options.model = model != Py_None ? ((Model *)model)->model : NULL;
    options.top = (size_t)top;
    options.adverse_lower = adverse_lower;
    options.rows_first = (size_t)first;
    options.rows_last = (size_t)last;
    gbx_feature_metadata *metadata;
    if (audience_parse(audience, &options.audience) != 0 || metadata_read(metadata_path, &metadata) != 0)
        return NULL;
    options.features = metadata;
    gbx_error error;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_report_explanation(self->explanation, &options, path, &error);
    Py_END_ALLOW_THREADS
    gbx_feature_metadata_free(metadata);
    if (status != GBX_OK) return raise_error(&error);
    Py_RETURN_NONE;
}

static PyObject *explanation_for_audience(Explanation *self, PyObject *args)
{
    const char *audience, *metadata_path = NULL;
    if (!PyArg_ParseTuple(args, "s|z", &audience, &metadata_path)) return NULL;
    gbx_audience who;
    gbx_feature_metadata *metadata;
    if (audience_parse(audience, &who) != 0 || metadata_read(metadata_path, &metadata) != 0)
        return NULL;
    gbx_explanation *seen = NULL;
    gbx_error error;
    gbx_status status = gbx_explanation_for_audience(self->explanation, metadata, who, &seen, &error);
    gbx_feature_metadata_free(metadata);
    return status == GBX_OK ? wrap_explanation(seen) : raise_error(&error);
}

static PyMethodDef explanation_methods[] = {
    {"save", (PyCFunction)explanation_save, METH_VARARGS,
     "save(path, format=None, include_data=True): the explanation file (JSON or CSV)"},
    {"render", (PyCFunction)(void (*)(void))explanation_render, METH_VARARGS | METH_KEYWORDS,
     "render(kind, format='svg', ...): a plot's bytes"},
    {"reasons", (PyCFunction)(void (*)(void))explanation_reasons, METH_VARARGS | METH_KEYWORDS,
     "reasons(audience='applicant', ...): the principal reasons, a dict per row"},
    {"report", (PyCFunction)(void (*)(void))explanation_report, METH_VARARGS | METH_KEYWORDS,
     "report(path, ...): the HTML report"},
    {"for_audience", (PyCFunction)explanation_for_audience, METH_VARARGS,
     "for_audience(audience, features=None): what the audience may see"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ExplanationType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glassbox._native.Explanation",
    .tp_basicsize = sizeof(Explanation),
    .tp_dealloc = (destructor)explanation_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An explanation: values, base values, predictions, names and provenance.",
    .tp_methods = explanation_methods,
    .tp_getset = explanation_getset,
};

static PyObject *read_explanation(PyObject *module, PyObject *args)
{
    (void)module;
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    gbx_explanation *explanation = NULL;
    gbx_error error;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_explanation_read(path, &explanation, &error);
    Py_END_ALLOW_THREADS
    return status == GBX_OK ? wrap_explanation(explanation) : raise_error(&error);
}

/* ---- Explainer ----------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    gbx_explainer *explainer;
    PyObject *model;  /* the Model it explains: an explainer keeps its model */
    char *layer;      /* options.layer, kept by pointer */
} Explainer;

static void explainer_dealloc(Explainer *self)
{
    gbx_explainer_free(self->explainer);
    Py_XDECREF(self->model);
    free(self->layer);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Options by name through the library's table (values as text), then the ones it leaves to
 * the struct: groups, categorical columns, the layer, the output. */
static int apply_options(PyObject *given, gbx_explainer_options *options)
{
    PyObject *key, *value;
    Py_ssize_t at = 0;
    while (given && PyDict_Next(given, &at, &key, &value)) {
        PyObject *text = PyObject_Str(value);
        const char *name = PyUnicode_AsUTF8(key), *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;
        gbx_error error;
        gbx_status status = name && utf8 ? gbx_explainer_options_set(options, name, utf8, &error)
                                         : GBX_ERR_USAGE;
        Py_XDECREF(text);
        if (!name || !utf8) return -1;
        if (status != GBX_OK) {
            raise_error(&error);
            return -1;
        }
    }
    return 0;
}

typedef struct {
    size_t *group_of_feature;
    const char **group_names;
    uint8_t *categorical;
} option_arrays;

static void arrays_free(option_arrays *arrays)
{
    free(arrays->group_of_feature);
    free(arrays->group_names);
    free(arrays->categorical);
}

/* groups: (group_of_feature sequence, names sequence); categorical: a sequence of bools. */
static int apply_arrays(PyObject *groups, PyObject *categorical, size_t features,
                        gbx_explainer_options *options, option_arrays *arrays)
{
    memset(arrays, 0, sizeof *arrays);
    if (groups && groups != Py_None) {
        PyObject *of = NULL, *names = NULL;
        if (!PyArg_ParseTuple(groups, "OO", &of, &names)) return -1;
        Py_ssize_t count = PySequence_Size(names);
        if (count < 1 || PySequence_Size(of) != (Py_ssize_t)features) {
            PyErr_SetString(input_error, "groups: a group for each feature, and a name for each group");
            return -1;
        }
        arrays->group_of_feature = calloc(features, sizeof(size_t));
        arrays->group_names = calloc((size_t)count, sizeof(char *));
        if (!arrays->group_of_feature || !arrays->group_names) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t j = 0; j < features; j++) {
            PyObject *item = PySequence_GetItem(of, (Py_ssize_t)j);
            arrays->group_of_feature[j] = item ? PyLong_AsSize_t(item) : 0;
            Py_XDECREF(item);
        }
        for (Py_ssize_t g = 0; g < count; g++) {
            PyObject *item = PySequence_GetItem(names, g);
            arrays->group_names[g] = item ? PyUnicode_AsUTF8(item) : NULL;
            Py_XDECREF(item);
        }
        if (PyErr_Occurred()) return -1;
        options->group_count = (size_t)count;
        options->group_of_feature = arrays->group_of_feature;
        options->group_names = arrays->group_names;
    }
    if (categorical && categorical != Py_None) {
        if (PySequence_Size(categorical) != (Py_ssize_t)features) {
            PyErr_SetString(input_error, "categorical: a flag for each feature");
            return -1;
        }
        arrays->categorical = calloc(features ? features : 1, 1);
        if (!arrays->categorical) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t j = 0; j < features; j++) {
            PyObject *item = PySequence_GetItem(categorical, (Py_ssize_t)j);
            int flag = item ? PyObject_IsTrue(item) : -1;
            Py_XDECREF(item);
            if (flag < 0) return -1;
            arrays->categorical[j] = (uint8_t)flag;
        }
        options->categorical = arrays->categorical;
    }
    return 0;
}

static PyObject *explainer_new(PyTypeObject *type, PyObject *args, PyObject *keywords)
{
    static char *names[] = {"model", "options", "background", "background_names", "groups",
                            "categorical", "layer", "output", NULL};
    PyObject *model, *given = NULL, *background = Py_None, *background_names = Py_None;
    PyObject *groups = Py_None, *categorical = Py_None;
    const char *layer = NULL, *output = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, keywords, "O!|O!OOOOzz", names, &ModelType, &model,
                                     &PyDict_Type, &given, &background, &background_names,
                                     &groups, &categorical, &layer, &output))
        return NULL;
    const gbx_model *m = ((Model *)model)->model;
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    option_arrays arrays = {0};
    lent_rows rows = {0};
    Explainer *self = NULL;
    gbx_error error;
    if (apply_options(given, &options) != 0 ||
        apply_arrays(groups, categorical, gbx_model_features(m), &options, &arrays) != 0)
        goto done;
    if (output && gbx_model_output_choice(m, output, &options.output, &error) != GBX_OK) {
        raise_error(&error);
        goto done;
    }
    if (background != Py_None) {
        if (rows_lend(background, background_names, &rows) != 0) goto done;
        options.background = rows.data;
    }
    self = (Explainer *)type->tp_alloc(type, 0);
    if (!self) goto done;
    self->model = Py_NewRef(model);
    if (layer && !(self->layer = strdup(layer))) {
        PyErr_NoMemory();
        Py_CLEAR(self);
        goto done;
    }
    options.layer = self->layer;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_explainer_create(m, &options, &self->explainer, &error);
    Py_END_ALLOW_THREADS
    if (status != GBX_OK) {
        raise_error(&error);
        Py_CLEAR(self);
    }
done:
    rows_release(&rows); /* the explainer copied the background */
    arrays_free(&arrays);
    return (PyObject *)self;
}

static PyObject *explainer_explain(Explainer *self, PyObject *args)
{
    PyObject *rows_object, *names = Py_None;
    if (!PyArg_ParseTuple(args, "O|O", &rows_object, &names)) return NULL;
    lent_rows rows;
    if (rows_lend(rows_object, names, &rows) != 0) return NULL;
    gbx_explanation *explanation = NULL;
    gbx_error error;
    gbx_status status;
    Py_BEGIN_ALLOW_THREADS
    status = gbx_explainer_explain(self->explainer, rows.data, &explanation, &error);
    Py_END_ALLOW_THREADS
    rows_release(&rows);
    return status == GBX_OK ? wrap_explanation(explanation) : raise_error(&error);
}

static PyObject *explainer_get(Explainer *self, void *which)
{
    const gbx_explainer *x = self->explainer;
    Py_ssize_t K = (Py_ssize_t)gbx_explainer_outputs(x);
    switch ((int)(intptr_t)which) {
    case 0: return PyUnicode_FromString(gbx_method_name(gbx_explainer_method(x)));
    case 1: return make_view((PyObject *)self, gbx_explainer_base_values(x), 1, &K, NULL);
    case 2: return PyLong_FromSize_t(gbx_explainer_features(x));
    case 3: return Py_NewRef(self->model);
    }
    Py_RETURN_NONE;
}

static PyGetSetDef explainer_getset[] = {
    {"method", (getter)explainer_get, NULL, "the method it runs (auto resolved)", (void *)0},
    {"base_values", (getter)explainer_get, NULL, "E[f(X)] per output", (void *)1},
    {"features", (getter)explainer_get, NULL, "the features explained", (void *)2},
    {"model", (getter)explainer_get, NULL, "the model it explains", (void *)3},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef explainer_methods[] = {
    {"explain", (PyCFunction)explainer_explain, METH_VARARGS,
     "explain(rows, names=None): an Explanation of every row"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ExplainerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glassbox._native.Explainer",
    .tp_basicsize = sizeof(Explainer),
    .tp_dealloc = (destructor)explainer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Explainer(model, options={}, background=None, ...): explains rows of the model.",
    .tp_methods = explainer_methods,
    .tp_getset = explainer_getset,
    .tp_new = explainer_new,
};

/* ---- the module ---------------------------------------------------------------------------- */

static PyObject *option_names(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    size_t count = gbx_explainer_option_count();
    PyObject *list = PyList_New((Py_ssize_t)count);
    for (size_t i = 0; list && i < count; i++) {
        PyObject *name = PyUnicode_FromString(gbx_explainer_option_name(i));
        if (!name) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, name);
    }
    return list;
}

static PyMethodDef module_methods[] = {
    {"load_model", load_model, METH_VARARGS, "load_model(path, timeout=0): a model file or locator"},
    {"load_model_bytes", load_model_bytes, METH_VARARGS,
     "load_model_bytes(bytes, name): a model file's bytes"},
    {"model_from_function", (PyCFunction)(void (*)(void))model_from_function,
     METH_VARARGS | METH_KEYWORDS,
     "model_from_function(function, features, outputs, feature_names=None, output_names=None, "
     "name='function'): a Python black box"},
    {"read_explanation", read_explanation, METH_VARARGS, "read_explanation(path)"},
    {"option_names", option_names, METH_NOARGS, "the explainer options taken by name"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "glassbox._native", "The glassbox library's objects.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void)
{
    PyTypeObject *types[] = {&ArrayViewType, &ModelType, &ExplanationType, &ExplainerType};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        if (PyType_Ready(types[t]) != 0) return NULL;
    PyObject *module = PyModule_Create(&module_definition);
    if (!module) return NULL;
    glassbox_error = PyErr_NewExceptionWithDoc("glassbox.GlassboxError",
                                               "An error from the glassbox library.", NULL, NULL);
    PyObject *bases = glassbox_error ? PyTuple_Pack(2, glassbox_error, PyExc_ValueError) : NULL;
    input_error = bases ? PyErr_NewExceptionWithDoc("glassbox.InputError",
                                                    "Bad input: a malformed file, wrong shapes, "
                                                    "a bad option.", bases, NULL)
                        : NULL;
    Py_XDECREF(bases);
    if (!input_error || PyModule_AddObjectRef(module, "GlassboxError", glassbox_error) != 0 ||
        PyModule_AddObjectRef(module, "InputError", input_error) != 0 ||
        PyModule_AddObjectRef(module, "Model", (PyObject *)&ModelType) != 0 ||
        PyModule_AddObjectRef(module, "Explanation", (PyObject *)&ExplanationType) != 0 ||
        PyModule_AddObjectRef(module, "Explainer", (PyObject *)&ExplainerType) != 0 ||
        PyModule_AddStringConstant(module, "version", GBX_VERSION) != 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
