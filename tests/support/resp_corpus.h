/*
 * resp_corpus.h -- the cases of the RESP differential test: bytes a
 * client sends, how many replies come back, and which parts of them may
 * differ between two servers. Cases come from the corpus files
 * (tests/resp_corpus/NAME.txt) or are built in code (values too large for
 * a file); both go through the builder below.
 *
 * The file format, one directive a line ('#' lines and blank lines are
 * skipped):
 *
 *   === NAME            a case begins (names are unique over the corpus)
 *   > SET k "a b" \x00  a command, sent as a multibulk: words split at
 *                       blanks, "..." keeps blanks, "" is empty
 *   raw: PING\r\n       exact bytes (nothing is added)
 *   replies: N          replies the last segment gets (default: one per
 *                       '>' and 'raw:' line of it); "close": read until
 *                       the server closes
 *   ---                 segment end: send what came so far, read its
 *                       replies before going on
 *   await-gone: KEY     poll EXISTS KEY until it is 0 (lazy expiry);
 *                       these polls are not part of the record
 *   halfclose           after the last segment, shut the sending side
 *   timeout: MS         the case's bound (default TN_RESP_CASE_MS)
 *   mask: I             reply I (1-based over the case) may differ: only
 *                       its type byte is compared
 *   mask-field: A B...  in array replies, the element after an element
 *                       A (B...) is masked (HELLO's id, version...)
 *   unordered: I        reply I is an array whose order may differ
 *   unordered-pairs: I  the same, for field/value pairs (HGETALL)
 *   ours: I BYTES       an expected difference: a gnetd+resp server
 *                       answers BYTES (escapes as raw:) where Redis
 *                       answers otherwise; not used against redis-server
 *
 * Escapes, in '>' words, 'raw:' and 'ours:': \r \n \t \0 \\ \" \xHH, and
 * \{N}c: the character c N times (long arguments).
 */
#ifndef TESTS_SUPPORT_RESP_CORPUS_H
#define TESTS_SUPPORT_RESP_CORPUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TN_RESP_CASE_MS 5000      /* default bound of one case */
#define TN_RESP_MAX_SEGMENTS 16
#define TN_RESP_MAX_MASKS 8
#define TN_RESP_MAX_FIELDS 8

enum { TN_RESP_UNTIL_CLOSE = -1 };

enum tn_resp_mask_kind {
	TN_MASK_REPLY,              /* reply `reply`: type byte only */
	TN_MASK_UNORDERED,          /* reply `reply`: elements as a set */
	TN_MASK_UNORDERED_PAIRS,    /* reply `reply`: pairs as a set */
	TN_MASK_OURS                /* reply `reply` of ours must be `bytes` */
};

typedef struct tn_resp_mask {
	int kind;
	int reply;                  /* 1-based */
	uint8_t *bytes;             /* TN_MASK_OURS */
	size_t len;
} tn_resp_mask_t;

typedef struct tn_resp_segment {
	uint8_t *tx;                /* bytes to send in one write */
	size_t len, cap;
	int lines;                  /* '>' and 'raw:' lines: the default */
	int replies;                /* -2: not set; else as replies: */
	char await_gone[128];       /* set: poll this key before sending */
} tn_resp_segment_t;

typedef struct tn_resp_case {
	char name[96];
	char where[160];            /* file:line, for messages */
	tn_resp_segment_t seg[TN_RESP_MAX_SEGMENTS];
	int nseg;
	int halfclose;
	int timeout_ms;
	tn_resp_mask_t masks[TN_RESP_MAX_MASKS];
	int nmasks;
	char fields[TN_RESP_MAX_FIELDS][32]; /* mask-field names */
	int nfields;
} tn_resp_case_t;

typedef struct tn_resp_corpus {
	tn_resp_case_t *cases;
	int n, cap;
} tn_resp_corpus_t;

/* ------------------------------------------------------------------------
 * Building cases (the corpus reader uses these too).
 */
/* A new, empty case at the end of the corpus (one segment). */
tn_resp_case_t *tn_resp_case_add(tn_resp_corpus_t *c, const char *name,
    const char *where);
/* Bytes appended to the last segment; `lines` adds to its default count. */
void tn_resp_case_raw(tn_resp_case_t *k, const void *p, size_t n, int lines);
/* A multibulk command of argc arguments (lens[i] bytes each). */
void tn_resp_case_cmd(tn_resp_case_t *k, int argc, const char *const *argv,
    const size_t *lens);
/* End the segment: later bytes go in a new write. */
void tn_resp_case_cut(tn_resp_case_t *k);
/* The replies the last segment gets (TN_RESP_UNTIL_CLOSE: until close). */
void tn_resp_case_replies(tn_resp_case_t *k, int replies);
/* The replies segment i gets, its default resolved. */
int tn_resp_segment_replies(const tn_resp_segment_t *s);

/* ------------------------------------------------------------------------
 * The corpus files.
 */
/* The folder of the corpus in the source tree (found from the test
 * binary, BUILD/tests/check_x, three folders up; or ./tests/resp_corpus);
 * fails the test when there is none. */
void tn_resp_corpus_dir(char *out, size_t cap);
/* Append the cases of every *.txt in dir, files in name order; a syntax
 * error fails the test with its file and line. */
void tn_resp_corpus_load(tn_resp_corpus_t *c, const char *dir);
void tn_resp_corpus_free(tn_resp_corpus_t *c);

/* Decode escapes of s[0..n) into out (cap bytes); returns the length,
 * or -1 on a bad escape or when out is too small. */
ssize_t tn_resp_unescape(const char *s, size_t n, uint8_t *out, size_t cap);

#endif
