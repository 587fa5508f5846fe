/* html.h: the few things every part of the HTML report writes: escaped text,
 * base64 for data: URIs, and numbers formatted for people.
 *
 * Writers only print to their stream (the caller checks and commits it).
 * Re-entrant; no state.
 */
#ifndef RL_REPORT_HTML_H
#define RL_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s with & < > " ' escaped, so it is safe as element text and inside a
 * quoted attribute.  Bytes that are not valid UTF-8 are written as U+FFFD, so
 * the page stays valid whatever a file name holds. */
void rl_html_text(FILE *f, const char *s);

/* printf, then rl_html_text of the result (cut at 4 KB). */
void rl_html_textf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Base64 (RFC 4648, with padding, no line breaks) of data[0..n). */
void rl_html_base64(FILE *f, const uint8_t *data, size_t n);

/* "1,281,167": an integer with thousands separators, into buf. */
const char *rl_html_count(int64_t v, char *buf, size_t n);

#endif
