/*
 * workforce.ledger._leafcheck: the acceptance check of ``fastcheck.check_run`` in C.
 *
 * ``check_run(leaves, first, prev, digests)`` accepts a run of ledger leaves exactly when each
 * one is, byte for byte, the canonical encoding (msgspec, sorted keys, compact) of a schema-v1
 * ban entry with the expected ``seq`` and ``prev``:
 *
 *   {"case":H,"decision":H,"issuer":{"org":ORG,"region":REGION},"kind":KIND,"prev":H,
 *    "reason_code":CODE,"seq":SEQ,"subject":H,"ts":TS,"type":"ban","until":UNTIL,"v":1}
 *
 * (one line, no spaces) where H is "64 lowercase hex digits"; ORG matches
 * [A-Za-z0-9][A-Za-z0-9._:-]{0,63}, CODE [a-z][a-z0-9_]{0,63} and REGION [0-9]{6}, the
 * formats of ``workforce.ledger.entry`` (none of their characters is ever escaped by the
 * encoder, so the bytes between the quotes are the value); KIND is "lifetime" with UNTIL null,
 * or "fixed_term" with UNTIL a real date "YYYY-MM-DD"; SEQ is ``first + i`` in decimal
 * (no sign, no leading zero, at most 2**53 - 1); TS is a real UTC time "YYYY-MM-DDTHH:MM:SSZ"
 * (years 0001-9999, proleptic Gregorian calendar, seconds 00-59); PREV is ``prev`` for the
 * first leaf and the hex of ``digests[i - 1]`` after it, and it is 64 zeros (GENESIS_PREV)
 * exactly when SEQ is 0.
 *
 * It returns the list of the TS texts, or None as soon as one leaf is anything else. None is no
 * verdict: the caller then asks the Python path, which accepts more (corrections, any valid
 * spelling this scan does not cover) and finally ``parse_entry``, which names the problem. So
 * this check may refuse a valid entry but must never accept one ``parse_entry`` refuses;
 * ``tests/ledger/test_fastcheck.py`` checks that on mutated and generated leaves.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define HASH_SIZE 32
#define HEX_SIZE 64
#define TS_SIZE 20   /* YYYY-MM-DDTHH:MM:SSZ */
#define DATE_SIZE 10 /* YYYY-MM-DD */
#define FORMAT_MAX 64
#define MAX_SAFE_INTEGER ((((uint64_t)1) << 53) - 1)

static const char HEX_DIGITS[] = "0123456789abcdef";

/* Character classes, one bit each. */
enum {
    C_HEX = 1,   /* 0-9 a-f */
    C_DIGIT = 2, /* 0-9 */
    C_CODE0 = 4, /* a-z: first character of reason_code */
    C_CODE = 8,  /* a-z 0-9 _ */
    C_ORG0 = 16, /* A-Z a-z 0-9: first character of issuer.org */
    C_ORG = 32,  /* A-Z a-z 0-9 . _ : - */
};

static unsigned char classes[256];

static void
init_classes(void)
{
    for (int c = '0'; c <= '9'; c++) {
        classes[c] |= C_HEX | C_DIGIT | C_CODE | C_ORG0 | C_ORG;
    }
    for (int c = 'a'; c <= 'z'; c++) {
        classes[c] |= C_CODE0 | C_CODE | C_ORG0 | C_ORG;
    }
    for (int c = 'a'; c <= 'f'; c++) {
        classes[c] |= C_HEX;
    }
    for (int c = 'A'; c <= 'Z'; c++) {
        classes[c] |= C_ORG0 | C_ORG;
    }
    classes['_'] |= C_CODE | C_ORG;
    classes['.'] |= C_ORG;
    classes[':'] |= C_ORG;
    classes['-'] |= C_ORG;
}

/* A position in one leaf; every step checks the bytes left. */
typedef struct {
    const unsigned char *at;
    const unsigned char *end;
} Cursor;

static int
literal(Cursor *c, const char *text, size_t size)
{
    if ((size_t)(c->end - c->at) < size || memcmp(c->at, text, size) != 0) {
        return 0;
    }
    c->at += size;
    return 1;
}

#define LITERAL(c, text) literal((c), (text), sizeof(text) - 1)

/* 64 lowercase hex digits; *start points at them. */
static int
hex64(Cursor *c, const unsigned char **start)
{
    if (c->end - c->at < HEX_SIZE) {
        return 0;
    }
    for (int i = 0; i < HEX_SIZE; i++) {
        if (!(classes[c->at[i]] & C_HEX)) {
            return 0;
        }
    }
    *start = c->at;
    c->at += HEX_SIZE;
    return 1;
}

/* 1-64 characters: the first of class `head`, the rest of class `tail`, then the closing
 * quote (not consumed). */
static int
token(Cursor *c, unsigned char head, unsigned char tail)
{
    const unsigned char *start = c->at;
    if (c->at >= c->end || !(classes[*c->at] & head)) {
        return 0;
    }
    c->at++;
    while (c->at < c->end && (classes[*c->at] & tail)) {
        c->at++;
    }
    return c->at - start <= FORMAT_MAX;
}

static int
number(const unsigned char *p, int size)
{
    int value = 0;
    for (int i = 0; i < size; i++) {
        if (!(classes[p[i]] & C_DIGIT)) {
            return -1;
        }
        value = value * 10 + (p[i] - '0');
    }
    return value;
}

static int
days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) {
        return 29;
    }
    return days[month - 1];
}

/* A real date "YYYY-MM-DD" (years 0001-9999) at p (DATE_SIZE bytes available). */
static int
real_date(const unsigned char *p)
{
    if (p[4] != '-' || p[7] != '-') {
        return 0;
    }
    int year = number(p, 4), month = number(p + 5, 2), day = number(p + 8, 2);
    return year >= 1 && month >= 1 && month <= 12 && day >= 1 &&
           day <= days_in_month(year, month);
}

/* A real UTC time "YYYY-MM-DDTHH:MM:SSZ" at p (TS_SIZE bytes available). */
static int
real_time(const unsigned char *p)
{
    if (!real_date(p) || p[10] != 'T' || p[13] != ':' || p[16] != ':' || p[19] != 'Z') {
        return 0;
    }
    int hour = number(p + 11, 2), minute = number(p + 14, 2), second = number(p + 17, 2);
    return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 &&
           second <= 59;
}

/* The decimal digits of `value` (no leading zero), into buf; their count. */
static int
decimal(uint64_t value, char *buf)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (int i = 0; i < n; i++) {
        buf[i] = digits[n - 1 - i];
    }
    return n;
}

static int
is_hex_of(const unsigned char *text, const unsigned char *digest)
{
    for (int i = 0; i < HASH_SIZE; i++) {
        if (text[2 * i] != HEX_DIGITS[digest[i] >> 4] ||
            text[2 * i + 1] != HEX_DIGITS[digest[i] & 15]) {
            return 0;
        }
    }
    return 1;
}

static int
is_genesis(const unsigned char *text)
{
    for (int i = 0; i < HEX_SIZE; i++) {
        if (text[i] != '0') {
            return 0;
        }
    }
    return 1;
}

/* One leaf: 1 if it is the canonical ban with this seq and prev (`expected_prev`: 64 hex
 * digits, or NULL to compare with `digest`), *ts pointing at its TS; else 0. */
static int
check_leaf(const unsigned char *leaf, Py_ssize_t size, uint64_t seq,
           const unsigned char *expected_prev, const unsigned char *digest,
           const unsigned char **ts)
{
    Cursor c = {leaf, leaf + size};
    const unsigned char *hex, *prev;
    char seq_text[24];
    int seq_size = decimal(seq, seq_text);

    if (!LITERAL(&c, "{\"case\":\"") || !hex64(&c, &hex) ||
        !LITERAL(&c, "\",\"decision\":\"") || !hex64(&c, &hex) ||
        !LITERAL(&c, "\",\"issuer\":{\"org\":\"") || !token(&c, C_ORG0, C_ORG) ||
        !LITERAL(&c, "\",\"region\":\"") || c.end - c.at < 6 || number(c.at, 6) < 0) {
        return 0;
    }
    c.at += 6;
    int fixed_term;
    if (LITERAL(&c, "\"},\"kind\":\"lifetime\",\"prev\":\"")) {
        fixed_term = 0;
    }
    else if (LITERAL(&c, "\"},\"kind\":\"fixed_term\",\"prev\":\"")) {
        fixed_term = 1;
    }
    else {
        return 0;
    }
    if (!hex64(&c, &prev) ||
        !(expected_prev ? memcmp(prev, expected_prev, HEX_SIZE) == 0 : is_hex_of(prev, digest)) ||
        (seq == 0) != is_genesis(prev) || !LITERAL(&c, "\",\"reason_code\":\"") ||
        !token(&c, C_CODE0, C_CODE) || !LITERAL(&c, "\",\"seq\":") ||
        !literal(&c, seq_text, (size_t)seq_size) || !LITERAL(&c, ",\"subject\":\"") ||
        !hex64(&c, &hex) || !LITERAL(&c, "\",\"ts\":\"") || c.end - c.at < TS_SIZE ||
        !real_time(c.at)) {
        return 0;
    }
    *ts = c.at;
    c.at += TS_SIZE;
    if (!LITERAL(&c, "\",\"type\":\"ban\",\"until\":")) {
        return 0;
    }
    if (fixed_term) {
        if (!LITERAL(&c, "\"") || c.end - c.at < DATE_SIZE || !real_date(c.at)) {
            return 0;
        }
        c.at += DATE_SIZE;
        if (!LITERAL(&c, "\"")) {
            return 0;
        }
    }
    else if (!LITERAL(&c, "null")) {
        return 0;
    }
    return LITERAL(&c, ",\"v\":1}") && c.at == c.end;
}

PyDoc_STRVAR(check_run_doc,
"check_run(leaves, first, prev, digests, /)\n"
"--\n"
"\n"
"The ts text of each leaf if every leaf is the canonical schema-v1 ban with seq\n"
"first + i and the expected prev (prev for the first, digests[i - 1].hex() after it),\n"
"else None (no verdict: ask the Python path).");

static PyObject *
check_run(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "check_run takes 4 arguments");
        return NULL;
    }
    PyObject *leaves = PySequence_Fast(args[0], "leaves must be a sequence");
    if (leaves == NULL) {
        return NULL;
    }
    PyObject *digests = PySequence_Fast(args[3], "digests must be a sequence");
    if (digests == NULL) {
        Py_DECREF(leaves);
        return NULL;
    }
    PyObject *result = NULL, *stamps = NULL;
    int overflow = 0;
    long long first = PyLong_AsLongLongAndOverflow(args[1], &overflow);
    if (first == -1 && PyErr_Occurred()) {
        goto done;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(leaves);
    Py_ssize_t prev_size = 0;
    const char *prev = PyUnicode_Check(args[2]) ? PyUnicode_AsUTF8AndSize(args[2], &prev_size)
                                                : NULL;
    if (prev == NULL && PyErr_Occurred()) {
        PyErr_Clear(); /* a lone surrogate: not a hash */
    }
    if (overflow || first < 0 || (uint64_t)first + (uint64_t)count > MAX_SAFE_INTEGER + 1 ||
        prev == NULL || prev_size != HEX_SIZE ||
        PySequence_Fast_GET_SIZE(digests) < count - 1) {
        goto refused;
    }
    PyObject **leaf_items = PySequence_Fast_ITEMS(leaves);
    PyObject **digest_items = PySequence_Fast_ITEMS(digests);
    stamps = PyList_New(count);
    if (stamps == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *leaf = leaf_items[i];
        const unsigned char *digest = NULL, *ts;
        if (!PyBytes_CheckExact(leaf)) {
            goto refused;
        }
        if (i) {
            PyObject *before = digest_items[i - 1];
            if (!PyBytes_CheckExact(before) || PyBytes_GET_SIZE(before) != HASH_SIZE) {
                goto refused;
            }
            digest = (const unsigned char *)PyBytes_AS_STRING(before);
        }
        if (!check_leaf((const unsigned char *)PyBytes_AS_STRING(leaf), PyBytes_GET_SIZE(leaf),
                        (uint64_t)first + (uint64_t)i, i ? NULL : (const unsigned char *)prev,
                        digest, &ts)) {
            goto refused;
        }
        PyObject *stamp = PyUnicode_New(TS_SIZE, 127);
        if (stamp == NULL) {
            goto done;
        }
        memcpy(PyUnicode_1BYTE_DATA(stamp), ts, TS_SIZE);
        PyList_SET_ITEM(stamps, i, stamp);
    }
    result = stamps;
    stamps = NULL;
    goto done;
refused:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(stamps);
    Py_DECREF(digests);
    Py_DECREF(leaves);
    return result;
}

static PyMethodDef methods[] = {
    {"check_run", (PyCFunction)(void (*)(void))check_run, METH_FASTCALL, check_run_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "workforce.ledger._leafcheck",
    .m_doc = "The acceptance check of fastcheck.check_run for a run of ban leaves, in C.",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__leafcheck(void)
{
    init_classes();
    return PyModule_Create(&module);
}
