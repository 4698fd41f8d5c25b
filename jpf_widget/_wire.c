/* The compiled half of wire.py: split a message's frames, and check a batch's signatures.
 *
 * The one compiled part of jpf_widget, for the two things the capture thread does to every
 * message before recording it. Each costs a few microseconds of interpreter work per message
 * in Python, while the whole path has about eleven.
 *
 *     split(frames: list[Blob]) -> Frames
 *
 * wire.split_frames (see the comment above it in wire.py). The JSON is parsed by orjson and the
 * errors come from wire.py's own helpers, which ``configure`` hands over when wire.py is
 * imported.
 *
 *     check_all(key: bytes, digest: str, batch: list[Frames]) -> bytes
 *
 * Checks a whole batch in one call that holds the GIL only to reach the frames' buffers, so
 * the capture thread can check one batch on a second core while it records the one before.
 * Each item's ``signature`` (place 0) must be the lowercase hex HMAC of ``header_bytes``,
 * ``parent_bytes``, ``metadata_bytes`` and ``content_bytes`` (places 3 to 6, any bytes-like
 * object), keyed with ``key`` and hashed with the OpenSSL ``digest`` ("sha256" for
 * "hmac-sha256"). Returns one byte per item: 1 where the signature is good, 0 where not.
 */
#define PY_SSIZE_T_CLEAN
/* HMAC_CTX is deprecated by OpenSSL 3 in favour of EVP_MAC, which 1.1 lacks; this keeps
 * both, and a keyed HMAC_CTX can be reset for the next message without keying again */
#define OPENSSL_API_COMPAT 0x10100000L
#include <Python.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIGNATURE 0
#define SIGNED_FROM 3 /* header_bytes, parent_bytes, metadata_bytes, content_bytes */
#define SIGNED_PARTS 4
#define VIEWS (1 + SIGNED_PARTS)

/* Whether each message's signature is good, into good[i]; 0 when OpenSSL itself fails. */
static int
check_views(const Py_buffer *key, const EVP_MD *md, const Py_buffer *views, Py_ssize_t n,
            char *good)
{
    static const char hex_digits[] = "0123456789abcdef";
    HMAC_CTX *ctx = HMAC_CTX_new();
    int ok = ctx != NULL && HMAC_Init_ex(ctx, key->buf, (int)key->len, md, NULL);
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        const Py_buffer *view = &views[i * VIEWS];
        unsigned char mac[EVP_MAX_MD_SIZE];
        char hex[2 * EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        ok = HMAC_Init_ex(ctx, NULL, 0, NULL, NULL); /* the same key again */
        for (int part = 1; ok && part < VIEWS; part++)
            ok = HMAC_Update(ctx, view[part].buf, (size_t)view[part].len);
        ok = ok && HMAC_Final(ctx, mac, &length);
        for (unsigned int b = 0; b < length; b++) {
            hex[2 * b] = hex_digits[mac[b] >> 4];
            hex[2 * b + 1] = hex_digits[mac[b] & 15];
        }
        good[i] = view[0].len == 2 * (Py_ssize_t)length &&
                  CRYPTO_memcmp(hex, view[0].buf, 2 * (size_t)length) == 0;
    }
    HMAC_CTX_free(ctx);
    return ok;
}

static PyObject *
check_all(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer key;
    const char *digest;
    PyObject *batch;
    if (!PyArg_ParseTuple(args, "y*sO!:check_all", &key, &digest, &PyList_Type, &batch))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = PyList_GET_SIZE(batch), held = 0;
    Py_buffer *views = NULL;
    const EVP_MD *md = EVP_get_digestbyname(digest);
    if (md == NULL) {
        PyErr_Format(PyExc_ValueError,
                     "OpenSSL has no digest %R: the connection file's signature_scheme names "
                     "one it does not know",
                     PyTuple_GET_ITEM(args, 1));
        goto done;
    }
    views = PyMem_Calloc((size_t)(n ? n : 1) * VIEWS, sizeof(Py_buffer));
    if (views == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *frames = PyList_GET_ITEM(batch, i);
        if (!PyTuple_Check(frames) || PyTuple_GET_SIZE(frames) < SIGNED_FROM + SIGNED_PARTS) {
            PyErr_Format(PyExc_TypeError, "batch[%zd] is a %.100s, not a wire.Frames", i,
                         Py_TYPE(frames)->tp_name);
            goto done;
        }
        for (int part = 0; part < VIEWS; part++) {
            Py_ssize_t place = part == 0 ? SIGNATURE : SIGNED_FROM + part - 1;
            if (PyObject_GetBuffer(PyTuple_GET_ITEM(frames, place), &views[held], PyBUF_SIMPLE))
                goto done;
            held++;
        }
    }
    result = PyBytes_FromStringAndSize(NULL, n);
    if (result == NULL)
        goto done;
    int ok;
    /* the buffers stay valid: each Py_buffer holds a reference to what it views */
    Py_BEGIN_ALLOW_THREADS
    ok = check_views(&key, md, views, n, PyBytes_AS_STRING(result));
    Py_END_ALLOW_THREADS
    if (!ok) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL failed to compute an HMAC");
    }
done:
    for (Py_ssize_t i = 0; i < held; i++)
        PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    PyBuffer_Release(&key);
    return result;
}


/* What wire.py hands over (configure): its exception, the Frames type, orjson.loads, and the
 * Python helpers whose behaviour (and error messages) split shares rather than copies. */
static PyObject *malformed_type, *frames_type, *json_loads, *json_object, *parent_cached,
    *parent_parsed, *delimiter, *header_name, *msg_type_key, *msg_id_key;
static Py_ssize_t parent_cached_up_to;

static PyObject *
configure(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *malformed, *frames, *loads, *object, *cached, *parsed;
    Py_ssize_t up_to;
    if (!PyArg_ParseTuple(args, "OO!OOOnO:configure", &malformed, &PyType_Type, &frames, &loads,
                          &object, &cached, &up_to, &parsed))
        return NULL;
    Py_XSETREF(malformed_type, Py_NewRef(malformed));
    Py_XSETREF(frames_type, Py_NewRef(frames));
    Py_XSETREF(json_loads, Py_NewRef(loads));
    Py_XSETREF(json_object, Py_NewRef(object));
    Py_XSETREF(parent_cached, Py_NewRef(cached));
    Py_XSETREF(parent_parsed, Py_NewRef(parsed));
    parent_cached_up_to = up_to;
    Py_RETURN_NONE;
}

/* A frame as bytes: only big parts arrive as views, and these are compared, parsed and kept. */
static PyObject *
as_bytes(PyObject *part)
{
    return PyBytes_CheckExact(part) ? Py_NewRef(part) : PyBytes_FromObject(part);
}

/* The index of the delimiter in frames, -1 with MalformedMessage set when there is none. */
static Py_ssize_t
find_delimiter(PyObject *frames)
{
    Py_ssize_t n = PyList_GET_SIZE(frames);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *part = PyList_GET_ITEM(frames, i);
        int equal;
        if (PyBytes_CheckExact(part))
            equal = PyBytes_GET_SIZE(part) == PyBytes_GET_SIZE(delimiter) &&
                    memcmp(PyBytes_AS_STRING(part), PyBytes_AS_STRING(delimiter),
                           (size_t)PyBytes_GET_SIZE(delimiter)) == 0;
        else if ((equal = PyObject_RichCompareBool(part, delimiter, Py_EQ)) < 0)
            return -1;
        if (equal)
            return i;
    }
    PyErr_SetString(malformed_type, "no <IDS|MSG> delimiter among the frames");
    return -1;
}

/* The header as a dict; wire._json_object says what is wrong with one that is not. */
static PyObject *
parse_header(PyObject *header_bytes)
{
    PyObject *header = PyObject_CallOneArg(json_loads, header_bytes);
    if (header != NULL && PyDict_CheckExact(header))
        return header;
    Py_XDECREF(header);
    PyErr_Clear();
    return PyObject_CallFunctionObjArgs(json_object, header_bytes, header_name, NULL);
}

static PyObject *
split(PyObject *Py_UNUSED(module), PyObject *frames)
{
    if (frames_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_wire.split before wire.py configured it");
        return NULL;
    }
    if (!PyList_Check(frames)) {
        PyErr_Format(PyExc_TypeError, "frames must be a list, not %.100s",
                     Py_TYPE(frames)->tp_name);
        return NULL;
    }
    Py_ssize_t at = find_delimiter(frames);
    if (at < 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(frames), start = at + 1;
    if (n - start < 5)
        return PyErr_Format(malformed_type,
                            "%zd frames after the delimiter, need at least 5 (signature, "
                            "header, parent_header, metadata, content)",
                            n - start);
    PyObject *item[9] = {NULL}; /* the Frames, in its order */
    enum { SIG, HEADER, PARENT, HEADER_BYTES, PARENT_BYTES, METADATA_BYTES, CONTENT, BUFFERS, SIZE };
    PyObject *result = NULL, *parent_bytes = NULL, *msg_type, *msg_id;
    if (!(item[SIG] = as_bytes(PyList_GET_ITEM(frames, start))) ||
        !(item[HEADER_BYTES] = as_bytes(PyList_GET_ITEM(frames, start + 1))) ||
        !(parent_bytes = as_bytes(PyList_GET_ITEM(frames, start + 2))) ||
        !(item[METADATA_BYTES] = as_bytes(PyList_GET_ITEM(frames, start + 3))) ||
        !(item[HEADER] = parse_header(item[HEADER_BYTES])))
        goto done;
    item[CONTENT] = Py_NewRef(PyList_GET_ITEM(frames, start + 4));
    msg_type = PyDict_GetItemWithError(item[HEADER], msg_type_key);
    if (msg_type == NULL || !PyUnicode_Check(msg_type) || PyUnicode_GET_LENGTH(msg_type) == 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(malformed_type, "header has no msg_type");
        goto done;
    }
    msg_id = PyDict_GetItemWithError(item[HEADER], msg_id_key);
    if (msg_id == NULL || !PyUnicode_Check(msg_id)) {
        if (!PyErr_Occurred())
            PyErr_SetString(malformed_type, "header has no msg_id");
        goto done;
    }
    if (PyBytes_GET_SIZE(parent_bytes) <= parent_cached_up_to) {
        /* (one shared copy of the bytes, the parsed dict) */
        PyObject *pair = PyObject_CallOneArg(parent_cached, parent_bytes);
        if (pair == NULL)
            goto done;
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            Py_DECREF(pair);
            PyErr_SetString(PyExc_TypeError, "wire._parent_header must return a pair");
            goto done;
        }
        item[PARENT_BYTES] = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
        item[PARENT] = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
        Py_DECREF(pair);
    }
    else {
        item[PARENT_BYTES] = Py_NewRef(parent_bytes);
        if (!(item[PARENT] = PyObject_CallOneArg(parent_parsed, parent_bytes)))
            goto done;
    }
    PyObject *rest = PyList_GetSlice(frames, start + 5, n);
    if (rest == NULL || !(item[BUFFERS] = PyList_AsTuple(rest))) {
        Py_XDECREF(rest);
        goto done;
    }
    Py_DECREF(rest);
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *part = PyList_GET_ITEM(frames, i);
        Py_ssize_t length = PyBytes_CheckExact(part) ? PyBytes_GET_SIZE(part) : PyObject_Size(part);
        if (length < 0)
            goto done;
        size += length;
    }
    if (!(item[SIZE] = PyLong_FromSsize_t(size)))
        goto done;
    PyTypeObject *type = (PyTypeObject *)frames_type;
    if (!(result = type->tp_alloc(type, 9)))
        goto done;
    for (int i = 0; i < 9; i++) {
        PyTuple_SET_ITEM(result, i, item[i]);
        item[i] = NULL; /* the Frames holds it now */
    }
done:
    for (int i = 0; i < 9; i++)
        Py_XDECREF(item[i]);
    Py_XDECREF(parent_bytes);
    return result;
}

static PyMethodDef methods[] = {
    {"check_all", check_all, METH_VARARGS,
     "check_all(key, digest, batch) -> bytes: 1 for each wire.Frames whose signature is good"},
    {"split", split, METH_O, "split(frames) -> wire.Frames (wire.split_frames)"},
    {"configure", configure, METH_VARARGS,
     "configure(MalformedMessage, Frames, loads, json_object, parent_header, cached_up_to, "
     "parse_parent_header): what split uses from wire.py"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "jpf_widget._wire",
    .m_doc = "The compiled half of wire.py: split frames, check a batch's signatures.",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__wire(void)
{
    if (!delimiter && !(delimiter = PyBytes_FromString("<IDS|MSG>")))
        return NULL;
    if (!header_name && !(header_name = PyUnicode_InternFromString("header")))
        return NULL;
    if (!msg_type_key && !(msg_type_key = PyUnicode_InternFromString("msg_type")))
        return NULL;
    if (!msg_id_key && !(msg_id_key = PyUnicode_InternFromString("msg_id")))
        return NULL;
    return PyModuleDef_Init(&module);
}
