/*
 * workforce.ledger._merklehash: the RFC 6962 hashes of a chunk of ``ledger verify``, in C.
 *
 * ``leaf_hashes(leaves)`` is ``[SHA-256(0x00 || leaf) for leaf in leaves]`` and
 * ``levels(digests)`` the Merkle levels above them: each level the ``SHA-256(0x01 || left ||
 * right)`` of consecutive pairs of the one below (an unpaired last node is left out), up to a
 * level of one node (``fastverify.FastVerifier.entries``). SHA-256 is OpenSSL's libcrypto, the
 * library ``hashlib`` uses; the module is built only where libcrypto is found (``setup.py``),
 * else ``fastverify`` computes the same hashes with ``hashlib``. What it saves is the Python
 * work around each of the two million hashes of a million-entry ledger, not the hashing.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#define HASH_SIZE 32

static const unsigned char LEAF_PREFIX = 0x00;
static const unsigned char NODE_PREFIX = 0x01;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static EVP_MD *sha256; /* fetched once: a fetch per hash would cost more than the hash */
#define DIGEST_INIT(ctx) EVP_DigestInit_ex2((ctx), sha256, NULL)
#else
static const EVP_MD *sha256;
#define DIGEST_INIT(ctx) EVP_DigestInit_ex((ctx), sha256, NULL)
#endif

/* SHA-256(prefix || a || b) into out; 0 on an OpenSSL failure. */
static int
digest(EVP_MD_CTX *ctx, unsigned char prefix, const void *a, size_t a_size, const void *b,
       size_t b_size, unsigned char *out)
{
    unsigned int size = 0;
    return DIGEST_INIT(ctx) && EVP_DigestUpdate(ctx, &prefix, 1) &&
           EVP_DigestUpdate(ctx, a, a_size) && (b_size == 0 || EVP_DigestUpdate(ctx, b, b_size)) &&
           EVP_DigestFinal_ex(ctx, out, &size) && size == HASH_SIZE;
}

static PyObject *
openssl_failed(void)
{
    PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
    return NULL;
}

PyDoc_STRVAR(leaf_hashes_doc,
"leaf_hashes(leaves, /)\n"
"--\n"
"\n"
"[SHA-256(b'\\x00' + leaf).digest() for leaf in leaves] (each leaf bytes).");

static PyObject *
leaf_hashes(PyObject *module, PyObject *arg)
{
    (void)module;
    PyObject *leaves = PySequence_Fast(arg, "leaves must be a sequence");
    if (leaves == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(leaves);
    PyObject **items = PySequence_Fast_ITEMS(leaves);
    PyObject *result = PyList_New(count);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (result == NULL || ctx == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        goto failed;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyBytes_Check(items[i])) {
            PyErr_SetString(PyExc_TypeError, "each leaf must be bytes");
            goto failed;
        }
        PyObject *out = PyBytes_FromStringAndSize(NULL, HASH_SIZE);
        if (out == NULL) {
            goto failed;
        }
        PyList_SET_ITEM(result, i, out);
        if (!digest(ctx, LEAF_PREFIX, PyBytes_AS_STRING(items[i]),
                    (size_t)PyBytes_GET_SIZE(items[i]), NULL, 0,
                    (unsigned char *)PyBytes_AS_STRING(out))) {
            openssl_failed();
            goto failed;
        }
    }
    EVP_MD_CTX_free(ctx);
    Py_DECREF(leaves);
    return result;
failed:
    EVP_MD_CTX_free(ctx);
    Py_XDECREF(result);
    Py_DECREF(leaves);
    return NULL;
}

/* The level above `below` (a list of 32-byte bytes): a new list, or NULL. */
static PyObject *
level_above(EVP_MD_CTX *ctx, PyObject *below)
{
    Py_ssize_t count = PyList_GET_SIZE(below) / 2;
    PyObject *level = PyList_New(count);
    if (level == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *left = PyList_GET_ITEM(below, 2 * i);
        PyObject *right = PyList_GET_ITEM(below, 2 * i + 1);
        if (!PyBytes_Check(left) || !PyBytes_Check(right) ||
            PyBytes_GET_SIZE(left) != HASH_SIZE || PyBytes_GET_SIZE(right) != HASH_SIZE) {
            PyErr_SetString(PyExc_ValueError, "each hash must be 32 bytes");
            Py_DECREF(level);
            return NULL;
        }
        PyObject *out = PyBytes_FromStringAndSize(NULL, HASH_SIZE);
        if (out == NULL) {
            Py_DECREF(level);
            return NULL;
        }
        PyList_SET_ITEM(level, i, out);
        if (!digest(ctx, NODE_PREFIX, PyBytes_AS_STRING(left), HASH_SIZE,
                    PyBytes_AS_STRING(right), HASH_SIZE, (unsigned char *)PyBytes_AS_STRING(out))) {
            Py_DECREF(level);
            return openssl_failed();
        }
    }
    return level;
}

PyDoc_STRVAR(levels_doc,
"levels(digests, /)\n"
"--\n"
"\n"
"[digests, level 1, ..., a level of one node]: each level the node hashes\n"
"SHA-256(b'\\x01' + left + right) of the pairs of the level below (an unpaired last\n"
"node left out); digests must be a list of 32-byte bytes and is the first level.");

static PyObject *
levels(PyObject *module, PyObject *digests)
{
    (void)module;
    if (!PyList_Check(digests)) {
        PyErr_SetString(PyExc_TypeError, "digests must be a list");
        return NULL;
    }
    PyObject *result = PyList_New(0);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (result == NULL || ctx == NULL || PyList_Append(result, digests) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        goto failed;
    }
    PyObject *below = digests;
    while (PyList_GET_SIZE(below) > 1) {
        PyObject *level = level_above(ctx, below);
        if (level == NULL) {
            goto failed;
        }
        int appended = PyList_Append(result, level);
        Py_DECREF(level); /* result holds it */
        if (appended < 0) {
            goto failed;
        }
        below = level;
    }
    EVP_MD_CTX_free(ctx);
    return result;
failed:
    EVP_MD_CTX_free(ctx);
    Py_XDECREF(result);
    return NULL;
}

static PyMethodDef methods[] = {
    {"leaf_hashes", leaf_hashes, METH_O, leaf_hashes_doc},
    {"levels", levels, METH_O, levels_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "workforce.ledger._merklehash",
    .m_doc = "RFC 6962 leaf and node hashes of a chunk, with OpenSSL's SHA-256.",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__merklehash(void)
{
    if (sha256 == NULL) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
#else
        sha256 = EVP_sha256();
#endif
        if (sha256 == NULL) {
            PyErr_SetString(PyExc_ImportError, "OpenSSL has no SHA-256");
            return NULL;
        }
    }
    return PyModule_Create(&module);
}
