/* png.c: PNG decoding to RGB (see png.h).
 *
 * Layout of a PNG: the 8-byte signature, then chunks (length, type, data,
 * CRC-32 of type+data).  IHDR gives width, height, bit depth, colour type and
 * interlacing; PLTE the palette; the IDAT chunks together are one zlib stream
 * of filtered scanlines, each prefixed by its filter type byte (0 none,
 * 1 sub, 2 up, 3 average, 4 Paeth).  With Adam7 interlacing the stream holds
 * seven reduced images one after the other.
 */
#include "data/png.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

int rl_png_is(const uint8_t *data, size_t size)
{
    return size >= 8 && !memcmp(data, signature, 8);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct {
    int w, h, depth, ctype, interlace, channels;
    uint8_t pal[256][3];
    int npal;
} header;

/* Bytes of one filtered row of w pixels (without the filter byte). */
static size_t row_bytes(const header *h, int w)
{
    return ((size_t)w * h->channels * h->depth + 7) / 8;
}

static const int adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}; /* x0, y0, dx, dy */

static void pass_size(const header *h, int p, int *pw, int *ph)
{
    if (!h->interlace) {
        *pw = h->w;
        *ph = h->h;
        return;
    }
    const int *a = adam7[p];
    *pw = h->w > a[0] ? (h->w - a[0] + a[2] - 1) / a[2] : 0;
    *ph = h->h > a[1] ? (h->h - a[1] + a[3] - 1) / a[3] : 0;
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the row filter of row (n bytes) in place; prev is the row above
 * (already unfiltered) or NULL for the first row.  Returns -1 on a bad type. */
static int unfilter(int type, uint8_t *row, const uint8_t *prev, size_t n, size_t bpp)
{
    switch (type) {
    case 0: break;
    case 1:
        for (size_t i = bpp; i < n; i++)
            row[i] = (uint8_t)(row[i] + row[i - bpp]);
        break;
    case 2:
        if (prev)
            for (size_t i = 0; i < n; i++)
                row[i] = (uint8_t)(row[i] + prev[i]);
        break;
    case 3:
        for (size_t i = 0; i < n; i++) {
            int left = i >= bpp ? row[i - bpp] : 0, up = prev ? prev[i] : 0;
            row[i] = (uint8_t)(row[i] + ((left + up) >> 1));
        }
        break;
    case 4:
        for (size_t i = 0; i < n; i++) {
            int left = i >= bpp ? row[i - bpp] : 0, up = prev ? prev[i] : 0;
            int ul = prev && i >= bpp ? prev[i - bpp] : 0;
            row[i] = (uint8_t)(row[i] + paeth(left, up, ul));
        }
        break;
    default: return -1;
    }
    return 0;
}

/* Sample c of pixel x of an unfiltered row, reduced to 8 bits. */
static int sample(const header *h, const uint8_t *row, int x, int c)
{
    int d = h->depth;
    if (d == 8) return row[(size_t)x * h->channels + c];
    if (d == 16) return row[((size_t)x * h->channels + c) * 2]; /* high byte */
    size_t bit = (size_t)x * d;                                 /* sub-byte depths only occur with one channel */
    return (row[bit / 8] >> (8 - d - (int)(bit % 8))) & ((1 << d) - 1);
}

static void put_pixel(const header *h, const uint8_t *row, int x, uint8_t *o)
{
    switch (h->ctype) {
    case 0:
    case 4: { /* gray (+alpha): scale sub-byte depths to 0..255 */
        int g = sample(h, row, x, 0);
        if (h->depth < 8) g *= 255 / ((1 << h->depth) - 1);
        o[0] = o[1] = o[2] = (uint8_t)g;
        break;
    }
    case 3: {
        int i = sample(h, row, x, 0);
        if (i < h->npal)
            memcpy(o, h->pal[i], 3);
        else
            o[0] = o[1] = o[2] = 0;
        break;
    }
    default: /* 2 RGB, 6 RGBA: alpha dropped as Pillow's convert('RGB') */
        for (int c = 0; c < 3; c++)
            o[c] = (uint8_t)sample(h, row, x, c);
    }
}

static rl_status parse_ihdr(const uint8_t *d, uint32_t len, header *h, const char *name, rl_error *err)
{
    if (len != 13) return rl_fail(err, RL_ERR_FORMAT, "%s: PNG IHDR has %u bytes, expected 13", name, len);
    uint32_t w = be32(d), ht = be32(d + 4);
    h->depth = d[8];
    h->ctype = d[9];
    h->interlace = d[12];
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    int dep = h->depth, ct = h->ctype;
    int ok = ct <= 6 && channels[ct] &&
             (ct == 0   ? (dep == 1 || dep == 2 || dep == 4 || dep == 8 || dep == 16)
              : ct == 3 ? (dep == 1 || dep == 2 || dep == 4 || dep == 8)
                        : (dep == 8 || dep == 16));
    if (!ok || d[10] != 0 || d[11] != 0 || h->interlace > 1)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: PNG with colour type %d, bit depth %d, compression %d, filter %d, "
                       "interlace %d is not valid",
                       name, ct, dep, d[10], d[11], h->interlace);
    if (w == 0 || ht == 0 || (uint64_t)w * ht > ((uint64_t)1 << 28))
        return rl_fail(err, RL_ERR_FORMAT, "%s: PNG claims %u x %u pixels", name, w, ht);
    h->w = (int)w;
    h->h = (int)ht;
    h->channels = channels[ct];
    return RL_OK;
}

rl_status rl_png_decode(const uint8_t *data, size_t size, const char *name, rl_image *out, rl_error *err)
{
    out->pixels = NULL;
    out->width = out->height = 0;
    if (!rl_png_is(data, size)) return rl_fail(err, RL_ERR_FORMAT, "%s: not a PNG file", name);
    header h;
    memset(&h, 0, sizeof h);
    uint8_t *raw = NULL, *rgb = NULL;
    size_t raw_n = 0, raw_got = 0;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int zinit = 0, seen_ihdr = 0, seen_iend = 0, zend = 0;
    rl_status st = RL_OK;
    size_t pos = 8;
    while (!seen_iend) {
        if (size - pos < 12) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG truncated at byte %zu (no IEND chunk)", name, pos);
            goto done;
        }
        uint32_t len = be32(data + pos);
        const uint8_t *type = data + pos + 4, *d = data + pos + 8;
        if (len > size - pos - 12) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG truncated in a %.4s chunk at byte %zu", name, (const char *)type,
                         pos);
            goto done;
        }
        if ((uint32_t)crc32(crc32(0L, Z_NULL, 0), type, len + 4) != be32(d + len)) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG %.4s chunk at byte %zu fails its CRC (damaged file)", name,
                         (const char *)type, pos);
            goto done;
        }
        pos += 12 + (size_t)len;
        if (!seen_ihdr && memcmp(type, "IHDR", 4)) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG does not start with IHDR", name);
            goto done;
        }
        if (!memcmp(type, "IHDR", 4)) {
            if (seen_ihdr || (st = parse_ihdr(d, len, &h, name, err))) {
                if (!st) st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG has two IHDR chunks", name);
                goto done;
            }
            seen_ihdr = 1;
            for (int p = 0; p < (h.interlace ? 7 : 1); p++) {
                int pw, ph;
                pass_size(&h, p, &pw, &ph);
                if (pw && ph) raw_n += (size_t)ph * (1 + row_bytes(&h, pw));
            }
            raw = malloc(raw_n);
            if (!raw || inflateInit(&zs) != Z_OK) {
                st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for a %dx%d PNG", name, h.w, h.h);
                goto done;
            }
            zinit = 1;
        } else if (!memcmp(type, "PLTE", 4)) {
            if (len % 3 || len > 768) {
                st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG palette of %u bytes", name, len);
                goto done;
            }
            h.npal = (int)(len / 3);
            memcpy(h.pal, d, len);
        } else if (!memcmp(type, "IDAT", 4)) {
            if (zend) continue; /* data after the stream's end: ignored, as zlib-based readers do */
            zs.next_in = (Bytef *)d;
            zs.avail_in = len;
            while (zs.avail_in > 0 && !zend) {
                zs.next_out = raw + raw_got;
                zs.avail_out = (uInt)(raw_n - raw_got);
                int rc = inflate(&zs, Z_NO_FLUSH);
                raw_got = raw_n - zs.avail_out;
                if (rc == Z_STREAM_END) {
                    zend = 1;
                } else if (zs.avail_out == 0 && (rc == Z_OK || rc == Z_BUF_ERROR)) {
                    break; /* the image is complete; surplus data is ignored */
                } else if (rc != Z_OK) {
                    st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG image data is corrupt (zlib: %s)", name,
                                 zs.msg ? zs.msg : "no progress");
                    goto done;
                }
            }
        } else if (!memcmp(type, "IEND", 4)) {
            seen_iend = 1;
        } else if (!(type[0] & 0x20)) { /* uppercase first letter: critical, must be understood */
            st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG has an unknown critical chunk %.4s", name, (const char *)type);
            goto done;
        }
    }
    if (h.ctype == 3 && h.npal == 0) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: palette PNG without a PLTE chunk", name);
        goto done;
    }
    if (raw_got != raw_n) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG image data ends early (%zu of %zu bytes; truncated file?)", name,
                     raw_got, raw_n);
        goto done;
    }
    rgb = malloc((size_t)h.w * h.h * 3);
    if (!rgb) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for a %dx%d PNG", name, h.w, h.h);
        goto done;
    }
    size_t bpp = ((size_t)h.channels * h.depth + 7) / 8;
    uint8_t *p = raw;
    for (int ps = 0; ps < (h.interlace ? 7 : 1); ps++) {
        int pw, ph;
        pass_size(&h, ps, &pw, &ph);
        if (!pw || !ph) continue;
        const int *a = h.interlace ? adam7[ps] : (const int[4]){0, 0, 1, 1};
        size_t rb = row_bytes(&h, pw);
        const uint8_t *prev = NULL;
        for (int y = 0; y < ph; y++, p += 1 + rb) {
            uint8_t *row = p + 1;
            if (unfilter(p[0], row, prev, rb, bpp)) {
                st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG row %d has filter type %d (0-4 allowed)", name, y, p[0]);
                goto done;
            }
            prev = row;
            uint8_t *o = rgb + ((size_t)(a[1] + y * a[3]) * h.w + a[0]) * 3;
            for (int x = 0; x < pw; x++)
                put_pixel(&h, row, x, o + (size_t)x * a[2] * 3);
        }
    }
    out->pixels = rgb;
    out->width = h.w;
    out->height = h.h;
    rgb = NULL;
done:
    if (zinit) inflateEnd(&zs);
    free(raw);
    free(rgb);
    return st;
}
