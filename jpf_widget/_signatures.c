/* Check the HMAC signatures of a batch of Jupyter messages, with the GIL released.
 *
 * The one compiled part of jpf_widget. In Python, checking a message costs its hash plus a
 * microsecond or two of interpreter work, all of it holding the GIL (hashlib lets go only
 * while hashing 2 KB or more). Here a whole batch is checked in one call that holds the GIL
 * only to reach the frames' buffers, so the capture thread can check one batch on a second
 * core while it records the one before.
 *
 *     check_all(key: bytes, digest: str, batch: list[Frames]) -> bytes
 *
 * Each item of ``batch`` is a wire.Frames (a tuple): its ``signature`` (place 0) must be the
 * lowercase hex HMAC of ``header_bytes``, ``parent_bytes``, ``metadata_bytes`` and
 * ``content_bytes`` (places 3 to 6, any bytes-like object), keyed with ``key`` and hashed with
 * the OpenSSL ``digest`` ("sha256" for "hmac-sha256"). Returns one byte per item: 1 where the
 * signature is good, 0 where it is not.
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

static PyMethodDef methods[] = {
    {"check_all", check_all, METH_VARARGS,
     "check_all(key, digest, batch) -> bytes: 1 for each wire.Frames whose signature is good"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "jpf_widget._signatures",
    .m_doc = "Check a batch of Jupyter message signatures with the GIL released.",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__signatures(void)
{
    return PyModuleDef_Init(&module);
}
