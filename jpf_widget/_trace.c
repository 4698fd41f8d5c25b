/* The compiled half of trace.py: read one message line of a trace in a single pass, and write
 * one.
 *
 *     message(line: bytes) -> RecordedMessage | None
 *     line(record, received_iso: str, ns: int, own: bool, numbered: bool) -> bytes | None
 *
 * A message line is one JSON object (docs/trace-format.md):
 *
 *     {"type":"message","channel":"iopub","direction":"from_kernel","client":null,
 *      "t":1796472100.03,"size":430,"header":{...},"parent_header":{...},"metadata":{},
 *      "content":{...},"buffers":["AAEC"], ...}
 *
 * One pass checks the whole line is JSON and notes where each top-level member's value lies;
 * the four JSON frames are then cut from the line as they are (never parsed and encoded
 * again), and only the header is parsed (by orjson, as on capture) and the parent header
 * (through wire.py's cache). Parsing the whole line with orjson and cutting the frames in
 * Python cost four times as much, most of it building the objects of content, metadata and
 * the parent that are thrown away.
 *
 * None means "read this line the general way": trace.py then parses it with orjson, which
 * loads it or counts it as malformed. So None is returned for anything not certainly a good
 * message line: JSON this scanner is unsure of (a number that may overflow a double, a lone
 * surrogate, invalid UTF-8, deep nesting), a member named twice, a key or a name with an
 * escape in it, a field of an unexpected type. A line this function reads, the general way
 * reads too, to the same message.
 *
 * ``configure`` hands over what it builds with: the Frames and RecordedMessage types,
 * orjson.loads, wire.py's parent header helpers, trace.py's base64 decoder and the latest
 * receive time a line may have.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <ctype.h>
#include <math.h>
#include <string.h>

#define MAX_MEMBERS 32  /* a writer's line has 15 */
#define MAX_DEPTH 200   /* deeper: left to orjson */
#define MAX_NUMBER 32   /* longer number literals: left to orjson (it may overflow a double) */

typedef struct {
    const unsigned char *at, *end;
    int depth;
} Scanner;

typedef struct {
    const unsigned char *key, *value;
    Py_ssize_t key_length, value_length;
    int key_escaped;
} Member;

static int scan_value(Scanner *s);

static void
skip_space(Scanner *s)
{
    while (s->at < s->end &&
           (*s->at == ' ' || *s->at == '\n' || *s->at == '\r' || *s->at == '\t'))
        s->at++;
}

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits after "\u" at s->at; -1 when they are not there. */
static long
scan_hex4(Scanner *s)
{
    if (s->end - s->at < 4)
        return -1;
    long value = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_value(s->at[i]);
        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    s->at += 4;
    return value;
}

/* One UTF-8 sequence starting at a byte >= 0x80: strict (no overlong forms, no surrogates,
 * nothing above U+10FFFF), as orjson is. */
static int
scan_utf8(Scanner *s)
{
    const unsigned char *p = s->at;
    Py_ssize_t left = s->end - p;
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (left < 2 || (p[1] & 0xC0) != 0x80)
            return 0;
        s->at += 2;
        return 1;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))
            return 0; /* overlong, or a surrogate */
        s->at += 3;
        return 1;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))
            return 0; /* overlong, or above U+10FFFF */
        s->at += 4;
        return 1;
    }
    return 0;
}

/* A string, s->at on its opening quote; ``escaped`` says whether it holds a backslash. */
static int
scan_string(Scanner *s, int *escaped)
{
    s->at++;
    *escaped = 0;
    while (s->at < s->end) {
        unsigned char c = *s->at;
        if (c == '"') {
            s->at++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c < 0x80 && c != '\\') {
            s->at++;
            continue;
        }
        if (c >= 0x80) {
            if (!scan_utf8(s))
                return 0;
            continue;
        }
        *escaped = 1;
        if (++s->at >= s->end)
            return 0;
        c = *s->at++;
        if (c == 'u') {
            long unit = scan_hex4(s);
            if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF))
                return 0;
            if (unit >= 0xD800 && unit <= 0xDBFF) { /* a high surrogate needs its low half */
                if (s->end - s->at < 2 || s->at[0] != '\\' || s->at[1] != 'u')
                    return 0;
                s->at += 2;
                long low = scan_hex4(s);
                if (low < 0xDC00 || low > 0xDFFF)
                    return 0;
            }
        }
        else if (!strchr("\"\\/bfnrt", c) || c == 0)
            return 0;
    }
    return 0;
}

static int
scan_digits(Scanner *s)
{
    const unsigned char *start = s->at;
    while (s->at < s->end && *s->at >= '0' && *s->at <= '9')
        s->at++;
    return s->at > start;
}

/* A number; ``integer`` says it has no fraction and no exponent. */
static int
scan_number(Scanner *s, int *integer)
{
    const unsigned char *start = s->at;
    *integer = 1;
    if (*s->at == '-')
        s->at++;
    if (s->at < s->end && *s->at == '0')
        s->at++;
    else if (!scan_digits(s))
        return 0;
    if (s->at < s->end && *s->at == '.') {
        s->at++;
        *integer = 0;
        if (!scan_digits(s))
            return 0;
    }
    if (s->at < s->end && (*s->at == 'e' || *s->at == 'E')) {
        s->at++;
        *integer = 0;
        if (s->at < s->end && (*s->at == '+' || *s->at == '-'))
            s->at++;
        const unsigned char *digits = s->at;
        if (!scan_digits(s) || s->at - digits > 2)
            return 0; /* 1e400 is an error to orjson: left to it */
    }
    return s->at - start <= MAX_NUMBER;
}

static int
scan_word(Scanner *s, const char *word, size_t length)
{
    if ((size_t)(s->end - s->at) < length || memcmp(s->at, word, length) != 0)
        return 0;
    s->at += length;
    return 1;
}

/* Past an opening bracket and the space after it: whether ``close`` follows at once (then
 * consumed too: the object or array is empty). */
static int
opens_empty(Scanner *s, unsigned char close)
{
    s->at++;
    skip_space(s);
    if (s->at < s->end && *s->at == close) {
        s->at++;
        return 1;
    }
    return 0;
}

enum { BAD, MORE, DONE };

/* After an item of an object or array: DONE past its closing ``close``, MORE past a comma and
 * the space after it, BAD at anything else. */
static int
next_item(Scanner *s, unsigned char close)
{
    skip_space(s);
    if (s->at >= s->end)
        return BAD;
    if (*s->at == close) {
        s->at++;
        return DONE;
    }
    if (*s->at != ',')
        return BAD;
    s->at++;
    skip_space(s);
    return MORE;
}

/* An object's members, s->at on its "{"; the first ``capacity`` are noted in ``members``
 * (NULL: none), their number in ``count``. */
static int
scan_object(Scanner *s, Member *members, int capacity, int *count)
{
    *count = 0;
    if (opens_empty(s, '}'))
        return 1;
    for (;;) {
        if (s->at >= s->end || *s->at != '"')
            return 0;
        const unsigned char *key = s->at + 1;
        int escaped;
        if (!scan_string(s, &escaped))
            return 0;
        Py_ssize_t key_length = s->at - 1 - key;
        skip_space(s);
        if (s->at >= s->end || *s->at != ':')
            return 0;
        s->at++;
        skip_space(s);
        const unsigned char *value = s->at;
        if (!scan_value(s))
            return 0;
        if (members != NULL) {
            if (*count >= capacity)
                return 0;
            members[*count] = (Member){key, value, key_length, s->at - value, escaped};
        }
        (*count)++;
        int next = next_item(s, '}');
        if (next != MORE)
            return next == DONE;
    }
}

static int
scan_array(Scanner *s)
{
    if (opens_empty(s, ']'))
        return 1;
    for (;;) {
        if (!scan_value(s))
            return 0;
        int next = next_item(s, ']');
        if (next != MORE)
            return next == DONE;
    }
}

static int
scan_value(Scanner *s)
{
    if (s->at >= s->end)
        return 0;
    int ok, flag, count;
    switch (*s->at) {
    case '{':
    case '[':
        if (++s->depth > MAX_DEPTH)
            return 0;
        ok = *s->at == '{' ? scan_object(s, NULL, 0, &count) : scan_array(s);
        s->depth--;
        return ok;
    case '"':
        return scan_string(s, &flag);
    case 't':
        return scan_word(s, "true", 4);
    case 'f':
        return scan_word(s, "false", 5);
    case 'n':
        return scan_word(s, "null", 4);
    default:
        return (*s->at == '-' || (*s->at >= '0' && *s->at <= '9')) && scan_number(s, &flag);
    }
}

/* ------------------------------------------------------------------ from members to values */

static PyObject *frames_type, *recorded_type, *json_loads, *parent_cached, *parent_parsed,
    *decode_buffers, *from_kernel, *no_client, *no_signature, *empty_parent;
static Py_ssize_t parent_cached_up_to;
/* Receive times from 0 up to this one (trace.py's _LATEST_TIME): a line with any other is
 * left to the general way, which counts it as damaged */
static double latest_time = 0.0;

static const Member *
member(const Member *members, int count, const char *name)
{
    Py_ssize_t length = (Py_ssize_t)strlen(name);
    for (int i = 0; i < count; i++)
        if (members[i].key_length == length && memcmp(members[i].key, name, length) == 0)
            return &members[i];
    return NULL;
}

static int
is_null(const Member *m)
{
    return m == NULL || (m->value_length == 4 && memcmp(m->value, "null", 4) == 0);
}

/* A string value without escapes, interned (names repeat on every line); NULL without an
 * error set when it is not one. */
static PyObject *
plain_string(const Member *m)
{
    if (m == NULL || m->value[0] != '"' ||
        memchr(m->value, '\\', (size_t)m->value_length) != NULL)
        return NULL;
    PyObject *text = PyUnicode_DecodeUTF8((const char *)m->value + 1, m->value_length - 2, NULL);
    if (text != NULL)
        PyUnicode_InternInPlace(&text);
    return text;
}

/* channel, direction or client: a string, or (direction and client) null, missing or "" for
 * ``otherwise``. */
static PyObject *
name_of(const Member *m, PyObject *otherwise)
{
    if (otherwise != NULL && (is_null(m) || (m->value_length == 2 && m->value[0] == '"')))
        return Py_NewRef(otherwise);
    return plain_string(m);
}

static PyObject *
slice(const Member *m)
{
    return PyBytes_FromStringAndSize((const char *)m->value, m->value_length);
}

/* An integer literal of at most 18 digits, into ``value``. */
static int
small_integer(const Member *m, long long *value)
{
    const unsigned char *p = m->value, *end = p + m->value_length;
    int negative = *p == '-';
    p += negative;
    if (end - p > 18 || p == end)
        return 0;
    long long result = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        result = result * 10 + (*p - '0');
    }
    *value = negative ? -result : result;
    return 1;
}

/* The header as a dict with string msg_id and msg_type; NULL without an error set when not. */
static PyObject *
header_of(PyObject *header_bytes)
{
    PyObject *header = PyObject_CallOneArg(json_loads, header_bytes);
    if (header == NULL || !PyDict_CheckExact(header))
        goto no;
    PyObject *msg_id = PyDict_GetItemString(header, "msg_id");
    PyObject *msg_type = PyDict_GetItemString(header, "msg_type");
    if (msg_id == NULL || msg_type == NULL || !PyUnicode_CheckExact(msg_id) ||
        !PyUnicode_CheckExact(msg_type))
        goto no;
    return header;
no:
    Py_XDECREF(header);
    PyErr_Clear();
    return NULL;
}

/* (parent bytes, parent dict) into ``pair``: one shared copy of a flood's parent. */
static int
parent_of(const Member *m, PyObject **bytes, PyObject **dict)
{
    if (is_null(m)) {
        m = NULL;
    }
    else if (m->value[0] != '{') {
        return 0;
    }
    PyObject *data = m == NULL ? Py_NewRef(empty_parent) : slice(m);
    if (data == NULL)
        return 0;
    if (PyBytes_GET_SIZE(data) <= parent_cached_up_to) {
        PyObject *pair = PyObject_CallOneArg(parent_cached, data);
        Py_DECREF(data);
        if (pair == NULL || !PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            Py_XDECREF(pair);
            return 0;
        }
        *bytes = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
        *dict = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
        Py_DECREF(pair);
        return 1;
    }
    *dict = PyObject_CallOneArg(parent_parsed, data);
    if (*dict == NULL) {
        Py_DECREF(data);
        return 0;
    }
    *bytes = data;
    return 1;
}

/* The buffers: missing, null or [] for none, else an array of base64 strings. */
static PyObject *
buffers_of(const Member *m)
{
    if (is_null(m))
        return PyTuple_New(0);
    Scanner s = {m->value, m->value + m->value_length, 0};
    if (*s.at != '[')
        return NULL;
    PyObject *texts = PyList_New(0);
    if (texts == NULL)
        return NULL;
    for (int next = opens_empty(&s, ']') ? DONE : MORE; next == MORE;) {
        const unsigned char *start = s.at + 1;
        int escaped;
        if (s.at >= s.end || *s.at != '"' || !scan_string(&s, &escaped) || escaped)
            goto no;
        PyObject *text = PyBytes_FromStringAndSize((const char *)start, s.at - 1 - start);
        if (text == NULL || PyList_Append(texts, text) < 0) {
            Py_XDECREF(text);
            goto no;
        }
        Py_DECREF(text);
        if ((next = next_item(&s, ']')) == BAD)
            goto no;
    }
    PyObject *buffers = PyList_GET_SIZE(texts) ? PyObject_CallOneArg(decode_buffers, texts)
                                               : PyTuple_New(0);
    Py_DECREF(texts);
    return buffers;
no:
    Py_DECREF(texts);
    return NULL;
}

static PyObject *
new_tuple(PyObject *type, PyObject **items, Py_ssize_t n)
{
    PyObject *result = ((PyTypeObject *)type)->tp_alloc((PyTypeObject *)type, n);
    if (result == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SET_ITEM(result, i, items[i]);
        items[i] = NULL; /* the tuple holds it now */
    }
    return result;
}

static PyObject *
message(PyObject *Py_UNUSED(module), PyObject *line)
{
    if (recorded_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_trace.message before trace.py configured it");
        return NULL;
    }
    if (!PyBytes_CheckExact(line)) {
        PyErr_Format(PyExc_TypeError, "line must be bytes, not %.100s", Py_TYPE(line)->tp_name);
        return NULL;
    }
    const unsigned char *text = (const unsigned char *)PyBytes_AS_STRING(line);
    Scanner s = {text, text + PyBytes_GET_SIZE(line), 0};
    Member members[MAX_MEMBERS];
    int count;
    skip_space(&s);
    if (s.at >= s.end || *s.at != '{' || !scan_object(&s, members, MAX_MEMBERS, &count))
        Py_RETURN_NONE;
    skip_space(&s);
    if (s.at != s.end)
        Py_RETURN_NONE;
    for (int i = 0; i < count; i++) { /* keys named twice or escaped: left to orjson */
        if (members[i].key_escaped)
            Py_RETURN_NONE;
        for (int j = 0; j < i; j++)
            if (members[i].key_length == members[j].key_length &&
                memcmp(members[i].key, members[j].key, members[i].key_length) == 0)
                Py_RETURN_NONE;
    }
    const Member *kind = member(members, count, "type"), *t = member(members, count, "t"),
                 *header = member(members, count, "header"),
                 *metadata = member(members, count, "metadata"),
                 *content = member(members, count, "content"),
                 *size = member(members, count, "size"), *own = member(members, count, "own");
    if (kind == NULL || kind->value_length != 9 || memcmp(kind->value, "\"message\"", 9) != 0 ||
        t == NULL || header == NULL || header->value[0] != '{' || metadata == NULL ||
        content == NULL || member(members, count, "parent_header") == NULL)
        Py_RETURN_NONE;
    enum { SIG, HEADER, PARENT, HEADER_BYTES, PARENT_BYTES, METADATA, CONTENT, BUFFERS, SIZE };
    enum { CHANNEL, DIRECTION, CLIENT, RECEIVED, OWN, FRAMES };
    PyObject *frame[9] = {NULL}, *item[6] = {NULL}, *result = NULL;
    char number[MAX_NUMBER + 1];
    int integer;
    Scanner at_t = {t->value, t->value + t->value_length, 0};
    if (!scan_number(&at_t, &integer))
        goto done;
    memcpy(number, t->value, (size_t)t->value_length);
    number[t->value_length] = '\0';
    double when = PyOS_string_to_double(number, NULL, NULL);
    if ((when == -1.0 && PyErr_Occurred()) || !(when >= 0.0 && when < latest_time))
        goto done;
    if (!(item[CHANNEL] = name_of(member(members, count, "channel"), NULL)) ||
        !(item[DIRECTION] = name_of(member(members, count, "direction"), from_kernel)) ||
        !(item[CLIENT] = name_of(member(members, count, "client"), no_client)) ||
        !(item[RECEIVED] = PyFloat_FromDouble(when)) ||
        !(frame[HEADER_BYTES] = slice(header)) ||
        !(frame[HEADER] = header_of(frame[HEADER_BYTES])) ||
        !parent_of(member(members, count, "parent_header"), &frame[PARENT_BYTES],
                   &frame[PARENT]) ||
        !(frame[METADATA] = slice(metadata)) || !(frame[CONTENT] = slice(content)) ||
        !(frame[BUFFERS] = buffers_of(member(members, count, "buffers"))))
        goto done;
    item[OWN] = Py_NewRef(own != NULL && own->value_length == 4 &&
                                  memcmp(own->value, "true", 4) == 0
                              ? Py_True
                              : Py_False);
    long long wire_size;
    int size_is_number = size != NULL && (size->value[0] == '-' || isdigit(size->value[0]));
    if (size_is_number && !small_integer(size, &wire_size))
        goto done; /* a fraction, or a huge number: left to orjson */
    if (!size_is_number) { /* missing or not a number: the frames' lengths */
        wire_size = PyBytes_GET_SIZE(frame[HEADER_BYTES]) + PyBytes_GET_SIZE(frame[PARENT_BYTES]) +
                    metadata->value_length + content->value_length;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(frame[BUFFERS]); i++) {
            Py_ssize_t length = PyObject_Size(PyTuple_GET_ITEM(frame[BUFFERS], i));
            if (length < 0)
                goto done;
            wire_size += length;
        }
    }
    frame[SIG] = Py_NewRef(no_signature);
    if (!(frame[SIZE] = PyLong_FromLongLong(wire_size)) ||
        !(item[FRAMES] = new_tuple(frames_type, frame, 9)))
        goto done;
    result = new_tuple(recorded_type, item, 6);
done:
    for (int i = 0; i < 9; i++)
        Py_XDECREF(frame[i]);
    for (int i = 0; i < 6; i++)
        Py_XDECREF(item[i]);
    if (result == NULL) { /* not certainly a good message line: the general way decides */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return result;
}

static PyObject *
configure(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *frames, *recorded, *loads, *cached, *parsed, *decode;
    Py_ssize_t up_to;
    double latest;
    if (!PyArg_ParseTuple(args, "O!O!OOnOOd:configure", &PyType_Type, &frames, &PyType_Type,
                          &recorded, &loads, &cached, &up_to, &parsed, &decode, &latest))
        return NULL;
    Py_XSETREF(frames_type, Py_NewRef(frames));
    Py_XSETREF(recorded_type, Py_NewRef(recorded));
    Py_XSETREF(json_loads, Py_NewRef(loads));
    Py_XSETREF(parent_cached, Py_NewRef(cached));
    Py_XSETREF(parent_parsed, Py_NewRef(parsed));
    Py_XSETREF(decode_buffers, Py_NewRef(decode));
    parent_cached_up_to = up_to;
    latest_time = latest;
    Py_RETURN_NONE;
}


/* ------------------------------------------------------------------------ writing a line */

#define MAX_BUFFERS 16 /* more: the general way */
/* What ``line`` writes: pieces of the line, each a pointer and a length, joined at the end:
 * 40 at most, and four for each buffer. */
#define MAX_PIECES (40 + 4 * MAX_BUFFERS)

typedef struct {
    const char *at[MAX_PIECES];
    Py_ssize_t length[MAX_PIECES];
    int count;
    Py_ssize_t total;
} Pieces;

static void
put(Pieces *p, const char *at, Py_ssize_t length)
{
    p->at[p->count] = at;
    p->length[p->count++] = length;
    p->total += length;
}

#define PUT_LITERAL(p, text) put((p), (text), (Py_ssize_t)(sizeof(text) - 1))

/* A channel, direction or client name as a JSON string, or null when empty; 0 when it has
 * anything but printable ASCII without quotes or backslashes (the general way encodes it). */
static int
put_name(Pieces *p, PyObject *name)
{
    if (!PyUnicode_CheckExact(name) || !PyUnicode_IS_ASCII(name))
        return 0;
    Py_ssize_t length = PyUnicode_GET_LENGTH(name);
    if (length == 0) {
        PUT_LITERAL(p, "null");
        return 1;
    }
    const char *text = (const char *)PyUnicode_DATA(name);
    for (Py_ssize_t i = 0; i < length; i++)
        if (text[i] < 0x20 || text[i] == 0x7f || text[i] == '"' || text[i] == '\\')
            return 0;
    PUT_LITERAL(p, "\"");
    put(p, text, length);
    PUT_LITERAL(p, "\"");
    return 1;
}

/* A JSON frame as it goes into the line: as held, when it is one JSON value on one line
 * (``check``: scanned to make sure; the header frames were parsed on arrival); "{}" when
 * empty; 0 when it must go the general way (a newline in it, JSON the scanner is unsure of). */
static int
put_frame(Pieces *p, const Py_buffer *frame, int check)
{
    if (frame->len == 0) {
        PUT_LITERAL(p, "{}");
        return 1;
    }
    const unsigned char *data = (const unsigned char *)frame->buf;
    if (memchr(data, '\n', (size_t)frame->len) != NULL)
        return 0;
    if (check) {
        Scanner s = {data, data + frame->len, 0};
        skip_space(&s);
        if (!scan_value(&s))
            return 0;
        skip_space(&s);
        if (s.at != s.end)
            return 0;
    }
    put(p, (const char *)data, frame->len);
    return 1;
}

/* ``value`` in decimal at ``out`` (room for 21 characters); its length. snprintf cost a
 * sixth of a line. */
static Py_ssize_t
format_integer(long long value, char *out)
{
    char digits[20];
    int n = 0;
    unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value
                                             : (unsigned long long)value;
    do {
        digits[n++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    Py_ssize_t length = 0;
    if (value < 0)
        out[length++] = '-';
    while (n)
        out[length++] = digits[--n];
    return length;
}

/* The shortest text that reads back as the receive time (Python's repr of it), kept for the
 * next line: the messages of one batch share their receive time, and making the text took
 * half of a small message's line. Under the GIL, as every call of ``line`` is. */
static double last_received = -1.0;
static char last_received_text[32] = "-1.0";
static Py_ssize_t last_received_length = 4;

static int
put_received(Pieces *p, double received)
{
    if (memcmp(&received, &last_received, sizeof received) != 0) {
        char *text = PyOS_double_to_string(received, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
        if (text == NULL)
            return 0;
        size_t length = strlen(text);
        if (length >= sizeof last_received_text) {
            PyMem_Free(text);
            return 0;
        }
        memcpy(last_received_text, text, length);
        PyMem_Free(text);
        last_received = received;
        last_received_length = (Py_ssize_t)length;
    }
    put(p, last_received_text, last_received_length);
    return 1;
}

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static Py_ssize_t
base64_length(Py_ssize_t n)
{
    return (n + 2) / 3 * 4;
}

static char *
base64_encode(const unsigned char *in, Py_ssize_t n, char *out)
{
    Py_ssize_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned long v = ((unsigned long)in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
        *out++ = base64_alphabet[(v >> 18) & 63];
        *out++ = base64_alphabet[(v >> 12) & 63];
        *out++ = base64_alphabet[(v >> 6) & 63];
        *out++ = base64_alphabet[v & 63];
    }
    if (i < n) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < n)
            v |= in[i + 1] << 8;
        *out++ = base64_alphabet[(v >> 18) & 63];
        *out++ = base64_alphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? base64_alphabet[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    return out;
}

/* The record's places (messages.py's Record) */
enum {
    R_SEQ,
    R_CHANNEL,
    R_RECEIVED,
    R_HEADER = 9,
    R_PARENT,
    R_METADATA,
    R_CONTENT,
    R_BUFFERS,
    R_DIRECTION,
    R_CLIENT,
    R_SIZE,
    R_FIELDS
};

#define FRAME_COUNT 4 /* header, parent_header, metadata, content */

static PyObject *
line(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *record, *iso;
    long long ns;
    int own, numbered;
    if (!PyArg_ParseTuple(args, "O!ULpp:line", &PyTuple_Type, &record, &iso, &ns, &own,
                          &numbered))
        return NULL;
    if (PyTuple_GET_SIZE(record) != R_FIELDS || !PyUnicode_IS_ASCII(iso))
        Py_RETURN_NONE;
    PyObject *received = PyTuple_GET_ITEM(record, R_RECEIVED),
             *buffers = PyTuple_GET_ITEM(record, R_BUFFERS);
    if (!PyFloat_CheckExact(received) || !isfinite(PyFloat_AS_DOUBLE(received)) ||
        !PyTuple_CheckExact(buffers) || PyTuple_GET_SIZE(buffers) > MAX_BUFFERS)
        Py_RETURN_NONE;
    long long number = PyLong_AsLongLong(PyTuple_GET_ITEM(record, R_SEQ));
    long long size = PyLong_AsLongLong(PyTuple_GET_ITEM(record, R_SIZE));
    if ((number == -1 || size == -1) && PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    Py_ssize_t n_buffers = PyTuple_GET_SIZE(buffers);
    Py_buffer view[FRAME_COUNT + MAX_BUFFERS];
    int held = 0;
    PyObject *result = NULL;
    char *encoded = NULL;
    for (; held < FRAME_COUNT + n_buffers; held++) {
        PyObject *frame = held < FRAME_COUNT ? PyTuple_GET_ITEM(record, R_HEADER + held)
                                             : PyTuple_GET_ITEM(buffers, held - FRAME_COUNT);
        if (PyObject_GetBuffer(frame, &view[held], PyBUF_SIMPLE) < 0)
            goto done;
    }
    char numbers[3][24];
    Pieces p = {.count = 0, .total = 0};
    PUT_LITERAL(&p, "{\"type\":\"message\",");
    if (numbered) {
        PUT_LITERAL(&p, "\"seq\":");
        put(&p, numbers[0], format_integer(number, numbers[0]));
        PUT_LITERAL(&p, ",");
    }
    PUT_LITERAL(&p, "\"channel\":");
    if (!put_name(&p, PyTuple_GET_ITEM(record, R_CHANNEL)))
        goto done;
    PUT_LITERAL(&p, ",\"direction\":");
    if (!put_name(&p, PyTuple_GET_ITEM(record, R_DIRECTION)))
        goto done;
    PUT_LITERAL(&p, ",\"client\":");
    if (!put_name(&p, PyTuple_GET_ITEM(record, R_CLIENT)))
        goto done;
    PUT_LITERAL(&p, ",\"received\":\"");
    put(&p, (const char *)PyUnicode_DATA(iso), PyUnicode_GET_LENGTH(iso));
    PUT_LITERAL(&p, "\",\"t\":");
    if (!put_received(&p, PyFloat_AS_DOUBLE(received)))
        goto done;
    PUT_LITERAL(&p, ",\"ns\":");
    put(&p, numbers[1], format_integer(ns, numbers[1]));
    PUT_LITERAL(&p, ",\"size\":");
    put(&p, numbers[2], format_integer(size, numbers[2]));
    if (own)
        PUT_LITERAL(&p, ",\"own\":true");
    PUT_LITERAL(&p, ",\"header\":");
    if (!put_frame(&p, &view[0], 0))
        goto done;
    PUT_LITERAL(&p, ",\"parent_header\":");
    if (!put_frame(&p, &view[1], 0))
        goto done;
    PUT_LITERAL(&p, ",\"metadata\":");
    if (!put_frame(&p, &view[2], !(view[2].len == 2 && memcmp(view[2].buf, "{}", 2) == 0)))
        goto done;
    PUT_LITERAL(&p, ",\"content\":");
    if (!put_frame(&p, &view[3], 1))
        goto done;
    PUT_LITERAL(&p, ",\"buffers\":[");
    Py_ssize_t encoded_length = 0;
    for (Py_ssize_t i = 0; i < n_buffers; i++)
        encoded_length += base64_length(view[FRAME_COUNT + i].len);
    if (n_buffers) {
        encoded = PyMem_Malloc((size_t)encoded_length + 1);
        if (encoded == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        char *out = encoded;
        for (Py_ssize_t i = 0; i < n_buffers; i++) {
            const Py_buffer *b = &view[FRAME_COUNT + i];
            char *end = base64_encode((const unsigned char *)b->buf, b->len, out);
            if (i)
                PUT_LITERAL(&p, ",");
            PUT_LITERAL(&p, "\"");
            put(&p, out, end - out);
            PUT_LITERAL(&p, "\"");
            out = end;
        }
    }
    PUT_LITERAL(&p, "]}\n");
    result = PyBytes_FromStringAndSize(NULL, p.total);
    if (result == NULL)
        goto done;
    char *out = PyBytes_AS_STRING(result);
    for (int i = 0; i < p.count; i++) {
        memcpy(out, p.at[i], (size_t)p.length[i]);
        out += p.length[i];
    }
done:
    for (int i = 0; i < held; i++)
        PyBuffer_Release(&view[i]);
    PyMem_Free(encoded);
    if (result == NULL && !PyErr_ExceptionMatches(PyExc_MemoryError)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"message", message, METH_O,
     "message(line) -> RecordedMessage, or None: read the line the general way"},
    {"line", line, METH_VARARGS,
     "line(record, received_iso, ns, own, numbered) -> bytes, or None: write the line the "
     "general way"},
    {"configure", configure, METH_VARARGS,
     "configure(Frames, RecordedMessage, loads, parent_header, cached_up_to, "
     "parse_parent_header, decode_buffers, latest_time): what message uses from trace.py and "
     "wire.py"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "jpf_widget._trace",
    .m_doc = "The compiled half of trace.py: read one message line of a trace in a single pass.",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__trace(void)
{
    if (!from_kernel && !(from_kernel = PyUnicode_InternFromString("from_kernel")))
        return NULL;
    if (!no_client && !(no_client = PyUnicode_InternFromString("")))
        return NULL;
    if (!no_signature && !(no_signature = PyBytes_FromStringAndSize("", 0)))
        return NULL;
    if (!empty_parent && !(empty_parent = PyBytes_FromString("{}")))
        return NULL;
    return PyModuleDef_Init(&module);
}
