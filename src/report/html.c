/* html.c: escaping, base64 and number formatting for the HTML report (html.h). */
#include "report/html.h"

#include <stdarg.h>
#include <string.h>

#include "util/text.h"

void rl_html_text(FILE *f, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        /* Copy the longest valid UTF-8 stretch, then replace one bad byte. */
        size_t bad = rl_utf8_check(s, n), good = bad ? bad - 1 : n;
        for (size_t i = 0; i < good; i++) {
            switch (s[i]) {
            case '&': fputs("&amp;", f); break;
            case '<': fputs("&lt;", f); break;
            case '>': fputs("&gt;", f); break;
            case '"': fputs("&quot;", f); break;
            case '\'': fputs("&#39;", f); break;
            default: fputc(s[i], f);
            }
        }
        if (!bad) break;
        fputs("\xEF\xBF\xBD", f);
        s += good + 1;
        n -= good + 1;
    }
}

void rl_html_textf(FILE *f, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rl_html_text(f, buf);
}

void rl_html_base64(FILE *f, const uint8_t *data, size_t n)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < n) v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < n) v |= data[i + 2];
        out[0] = digits[v >> 18];
        out[1] = digits[(v >> 12) & 63];
        out[2] = i + 1 < n ? digits[(v >> 6) & 63] : '=';
        out[3] = i + 2 < n ? digits[v & 63] : '=';
        fwrite(out, 1, 4, f);
    }
}

const char *rl_html_count(int64_t v, char *buf, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v)), o = 0;
    char tmp[48];
    if (v < 0) tmp[o++] = '-';
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0) tmp[o++] = ',';
        tmp[o++] = digits[i];
    }
    tmp[o] = '\0';
    snprintf(buf, n, "%s", tmp);
    return buf;
}
