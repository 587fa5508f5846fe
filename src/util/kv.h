/* kv.h: one parser for `key = value` text (recipes and ablation grids).
 *
 * Format: one `key = value` per line; blank lines are ignored; '#' starts a
 * comment, on its own line or after a value (outside double quotes); a value
 * may be wrapped in double quotes (needed when it holds '#' or is empty or
 * starts or ends with a space); there are no escapes and a quote inside a
 * value is refused.  Keys are lower-case words joined by '_' (digits
 * allowed), optionally qualified by a label after a dot, `set.R50-v2`
 * (letters of either case, digits and -_.+; grids use it, recipes have no
 * such keys and call them unknown).  Space around keys and values is
 * trimmed; CRLF line ends and a UTF-8 byte-order mark are accepted; control
 * characters, NUL bytes, a CR inside a line and bytes that are not UTF-8 are
 * refused (util/text.h's rules for every text file).  Errors read
 * "ORIGIN:LINE: what; hint".
 *
 * Functions are re-entrant; text is modified in place only where stated.
 */
#ifndef RL_KV_H
#define RL_KV_H

#include <stddef.h>

#include "util/status.h"

#define RL_KV_LINE_MAX 4096

/* Called for each assignment with the trimmed, unquoted key and value
 * (both writable, valid during the call) and its 1-based line number.  A
 * non-zero status stops parsing; the parser prefixes "ORIGIN:LINE". */
typedef rl_status (*rl_kv_fn)(void *ctx, char *key, char *value, int line, rl_error *err);

/* Splits one line in place.  comments != 0 cuts a '#' comment first (a file
 * line); 0 keeps '#' (a command-line --set).  *key is NULL for a blank line. */
rl_status rl_kv_split(char *line, int comments, char **key, char **value, rl_error *err);

/* Parses text (NUL-terminated) line by line; origin names it in messages. */
rl_status rl_kv_parse(const char *text, const char *origin, rl_kv_fn fn, void *ctx, rl_error *err);

/* Reads a whole text file of at most max_bytes into a malloc'ed,
 * NUL-terminated string (caller frees).  what names it in messages ("recipe");
 * a NUL byte is refused with its line. */
rl_status rl_kv_read_file(const char *path, const char *what, size_t max_bytes, char **text, rl_error *err);

/* Values: a whole string as a finite double / a decimal integer; 1 on success. */
int rl_kv_double(const char *s, double *out);
int rl_kv_int64(const char *s, long long *out);
/* The shortest "%.{15,16,17}g" of v that reads back to v (canonical, exact). */
void rl_kv_format_double(double v, char *buf, size_t n);

/* The index of the known key closest to name (edit distance, an
 * abbreviation counts as close), or -1 when none is close enough to suggest. */
int rl_kv_closest(const char *name, const char *const *known, int n);

/* Trims ASCII space at both ends, in place; returns the new start. */
char *rl_kv_trim(char *s);

#endif
