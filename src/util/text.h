/* text.h: the text-file plumbing every relab reader shares: a bounded line
 * reader, a growable array and the classes.tsv reader.
 *
 * Line reader (rl_lines): reads a UTF-8 text file one line at a time.
 *   - "\n" and "\r\n" end a line; the last line may lack its newline;
 *   - a UTF-8 byte-order mark at the start of the file is skipped;
 *   - refused, with the file, line and column in the message: a line longer
 *     than the reader's limit (RL_LINE_MAX unless given), a NUL byte, a
 *     carriage return that does not end a line, bytes that are not UTF-8;
 *   - a folder (or anything that is neither a regular file, a pipe nor a
 *     character device) is refused when opened, naming it.
 * Memory is bounded by the line limit: /dev/zero is refused at its first NUL.
 * A reader belongs to one thread; the returned line stays valid until the
 * next call.
 *
 * Growable array (rl_grow): makes room for `need` elements in a typed array
 * the caller keeps with its capacity, growing by 1.5x so n appends cost O(n)
 * copies; a size that would overflow is an allocation failure, never a wrap.
 *
 * classes.tsv (rl_classes_read): lines "index<TAB>wnid[<TAB>name]" with
 * indices 0, 1, 2, ... in order; the first line may be a header (its first
 * field is not a number, e.g. "index<TAB>wnid<TAB>name"); blank lines and
 * lines starting with '#' are skipped.  A wnid is non-empty, holds no space
 * and appears once.  At most RL_MAX_CLASSES classes.
 */
#ifndef RL_TEXT_H
#define RL_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "util/status.h"

/* The longest line any relab text format may have (16 MiB): far above any
 * real list, label file or matrix row, small enough to bound memory. */
#define RL_LINE_MAX ((size_t)16 << 20)

/* The largest number of classes any relab file may declare or use (ImageNet-21k
 * has 21,841); per-class arrays are sized by it, so a file cannot claim 2^31. */
#define RL_MAX_CLASSES (1 << 20)

typedef struct {
    FILE *f;
    char path[4096];
    size_t max;  /* longest line accepted, bytes without the newline */
    long lineno; /* number of the line last returned, from 1 */
    char *line;  /* [cap] the current line, NUL-terminated, owned */
    size_t cap;
    unsigned char *buf; /* [RL_LINES_CHUNK] read buffer, owned */
    size_t pos, len;
    int eof;
} rl_lines;

/* Opens path for reading; what names the kind of file in messages ("label
 * list").  max = 0 means RL_LINE_MAX.  On error nothing needs closing. */
rl_status rl_lines_open(rl_lines *r, const char *path, const char *what, size_t max, rl_error *err);

/* Reads the next line into *line (without its line end; *len bytes).
 * Returns 1 for a line, 0 at the end of the file, -1 with err set. */
int rl_lines_next(rl_lines *r, char **line, size_t *len, rl_error *err);

/* The next id of a one-id-per-line file (names lists, subsets): blank lines
 * and lines starting with '#' are skipped and a line is cut at its first tab,
 * so a relab list reads as its ids.  Returns like rl_lines_next. */
int rl_lines_next_id(rl_lines *r, char **id, rl_error *err);

/* Closes the file and frees the buffers; safe on a reader that failed to open. */
void rl_lines_close(rl_lines *r);

/* 0 when s[0..n) is valid UTF-8, else the 1-based column of the first bad byte. */
size_t rl_utf8_check(const char *s, size_t n);

/* Ensures *data (elements of elem bytes, *cap of them allocated) can hold need
 * elements.  Returns 0, or -1 when memory runs out (then *data is unchanged). */
int rl_grow(void *data, size_t *cap, size_t need, size_t elem);

/* classes.tsv: wnid[i] (and name[i], "" when absent) of class i, all owned. */
typedef struct {
    int n;
    char **wnid;
    char **name;
} rl_classes;

rl_status rl_classes_read(const char *path, rl_classes *out, rl_error *err);

/* Frees what c owns and zeroes it; NULL-safe. */
void rl_classes_free(rl_classes *c);

#endif
