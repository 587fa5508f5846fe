/* jpeg.c: JPEG decoding with libjpeg-turbo, DCT scaling, RGB output, and
 * encoding (see jpeg.h).
 *
 * libjpeg reports fatal errors through error_exit, which by default prints and
 * calls exit(); here it formats the message and longjmps to the relab
 * function that called into libjpeg.  Each such function sets the jump point
 * itself, so the decoder can be used across several calls.
 */
#include "data/jpeg.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg casts cinfo->err to this */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} err_mgr;

struct rl_jpeg {
    struct jpeg_decompress_struct cinfo;
    err_mgr jerr;
    char name[512];
    int decoded;
};

void rl_image_free(rl_image *img)
{
    if (!img) return;
    free(img->pixels);
    img->pixels = NULL;
    img->width = img->height = 0;
}

static void on_error_exit(j_common_ptr cinfo)
{
    err_mgr *e = (err_mgr *)cinfo->err;
    e->pub.format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* Warnings (msg_level -1) are ignored as Pillow ignores them, except the one
 * for data that ends early: libjpeg then fills the rest with grey and the
 * sample would silently be part garbage. */
static void on_message(j_common_ptr cinfo, int msg_level)
{
    err_mgr *e = (err_mgr *)cinfo->err;
    if (msg_level == -1 && e->pub.msg_code == JWRN_JPEG_EOF) {
        e->pub.format_message(cinfo, e->msg);
        longjmp(e->jump, 1);
    }
}

/* What a non-JPEG file looks like, for the message. */
static const char *sniff(const uint8_t *d, size_t n)
{
    if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return "a PNG image";
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "a GIF image";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "a BMP image";
    if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return "a TIFF image";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "a WebP image";
    if (n == 0) return "an empty file";
    return "not an image format relab knows";
}

rl_status rl_jpeg_open(rl_jpeg **out, const uint8_t *data, size_t size, const char *name, rl_error *err)
{
    *out = NULL;
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: not a JPEG file (%s, %zu bytes); hint: convert it to JPEG (ImageNet's train set has "
                       "a PNG and CMYK files named .JPEG) or remove it from the list",
                       name, sniff(data, size), size);
    rl_jpeg *j = calloc(1, sizeof *j);
    if (!j) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for a JPEG decoder", name);
    snprintf(j->name, sizeof j->name, "%s", name);
    j->cinfo.err = jpeg_std_error(&j->jerr.pub);
    j->jerr.pub.error_exit = on_error_exit;
    j->jerr.pub.emit_message = on_message;
    if (setjmp(j->jerr.jump)) {
        rl_fail(err, RL_ERR_FORMAT, "%s: corrupt JPEG header (libjpeg: %s); hint: re-download or remove the file",
                j->name, j->jerr.msg);
        rl_jpeg_close(j);
        return RL_ERR_FORMAT;
    }
    jpeg_create_decompress(&j->cinfo);
    jpeg_mem_src(&j->cinfo, data, (unsigned long)size);
    jpeg_read_header(&j->cinfo, TRUE);
    int nc = j->cinfo.num_components;
    /* A damaged header can claim 65500 x 65500; refuse before allocating 12 GB. */
    if ((uint64_t)j->cinfo.image_width * j->cinfo.image_height > ((uint64_t)1 << 28)) {
        rl_fail(err, RL_ERR_FORMAT, "%s: JPEG claims %u x %u pixels (limit 268M); damaged header?", j->name,
                j->cinfo.image_width, j->cinfo.image_height);
        rl_jpeg_close(j);
        return RL_ERR_FORMAT;
    }
    if (nc != 1 && nc != 3 && nc != 4) {
        rl_fail(err, RL_ERR_FORMAT, "%s: JPEG with %d colour components (expected 1, 3 or 4)", j->name, nc);
        rl_jpeg_close(j);
        return RL_ERR_FORMAT;
    }
    *out = j;
    return RL_OK;
}

void rl_jpeg_info(const rl_jpeg *j, int *width, int *height, int *components)
{
    if (width) *width = (int)j->cinfo.image_width;
    if (height) *height = (int)j->cinfo.image_height;
    if (components) *components = j->cinfo.num_components;
}

/* Pillow's convert('RGB') from CMYK (Convert.c cmyk2rgb) after reading the
 * file as "CMYK;I" (it always assumes Adobe's inverted polarity):
 *   ink = 255 - stored;  nk = 255 - K;  R = nk - round(C * nk / 255).
 * Done in place: pixel i's 3 outputs never overwrite pixel i+1's 4 inputs. */
static void cmyk_to_rgb(uint8_t *p, size_t npix)
{
    for (size_t i = 0; i < npix; i++) {
        const uint8_t *in = p + 4 * i;
        int nk = in[3]; /* 255 - ink K = stored K */
        int v[3];
        for (int c = 0; c < 3; c++) {
            int ink = 255 - in[c];
            int t = ink * nk + 128;
            int r = nk - (((t >> 8) + t) >> 8);
            v[c] = r < 0 ? 0 : r > 255 ? 255 : r;
        }
        uint8_t *o = p + 3 * i;
        o[0] = (uint8_t)v[0];
        o[1] = (uint8_t)v[1];
        o[2] = (uint8_t)v[2];
    }
}

rl_status rl_jpeg_decode(rl_jpeg *j, int scale_num, rl_image *out, rl_error *err)
{
    RL_CHECK(scale_num >= 1 && scale_num <= 8);
    RL_CHECK(!j->decoded);
    j->decoded = 1;
    out->pixels = NULL;
    out->width = out->height = 0;
    /* Written after setjmp and read after longjmp: volatile keeps its value. */
    uint8_t *volatile buf = NULL;
    struct jpeg_decompress_struct *ci = &j->cinfo;
    if (setjmp(j->jerr.jump)) {
        free(buf);
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: corrupt or truncated JPEG data (libjpeg: %s); hint: re-download or remove the file",
                       j->name, j->jerr.msg);
    }
    int cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB; /* libjpeg-turbo expands grayscale to RGB */
    ci->scale_num = (unsigned)scale_num;
    ci->scale_denom = 8;
    ci->dct_method = JDCT_ISLOW;
    jpeg_start_decompress(ci);
    int w = (int)ci->output_width, h = (int)ci->output_height, oc = ci->output_components;
    RL_CHECK(oc == (cmyk ? 4 : 3));
    buf = malloc((size_t)w * (size_t)h * (size_t)oc);
    if (!buf) {
        jpeg_abort_decompress(ci);
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory decoding %dx%d", j->name, w, h);
    }
    JSAMPROW rows[16];
    while ((int)ci->output_scanline < h) {
        int y = (int)ci->output_scanline, k = h - y < 16 ? h - y : 16;
        for (int r = 0; r < k; r++)
            rows[r] = buf + (size_t)(y + r) * (size_t)w * (size_t)oc;
        if (jpeg_read_scanlines(ci, rows, (JDIMENSION)k) == 0) {
            /* Cannot happen with a memory source (it never suspends); guard anyway. */
            free(buf);
            jpeg_abort_decompress(ci);
            return rl_fail(err, RL_ERR_FORMAT, "%s: JPEG decoder stalled at row %d of %d", j->name, y, h);
        }
    }
    jpeg_finish_decompress(ci);
    if (cmyk) cmyk_to_rgb(buf, (size_t)w * (size_t)h);
    out->pixels = buf;
    out->width = w;
    out->height = h;
    return RL_OK;
}

void rl_jpeg_close(rl_jpeg *j)
{
    if (!j) return;
    jpeg_destroy_decompress(&j->cinfo);
    free(j);
}

int rl_jpeg_pick_scale(int width, int height, int need_w, int need_h)
{
    for (int n = 1; n < 8; n++)
        if (rl_jpeg_scaled(width, n) >= need_w && rl_jpeg_scaled(height, n) >= need_h) return n;
    return 8;
}

rl_status rl_jpeg_decode_mem(const uint8_t *data, size_t size, int min_w, int min_h, const char *name, rl_image *out,
                             rl_error *err)
{
    rl_jpeg *j;
    rl_status st = rl_jpeg_open(&j, data, size, name, err);
    if (st) return st;
    int w, h;
    rl_jpeg_info(j, &w, &h, NULL);
    int n = min_w <= 0 && min_h <= 0 ? 8 : rl_jpeg_pick_scale(w, h, min_w, min_h);
    st = rl_jpeg_decode(j, n, out, err);
    rl_jpeg_close(j);
    return st;
}

/* The encoder's state on the heap: libjpeg writes buf and size through
 * pointers, and they are read after a longjmp. */
typedef struct {
    struct jpeg_compress_struct cinfo;
    err_mgr jerr;
    unsigned char *buf;
    unsigned long size;
} encoder;

rl_status rl_jpeg_encode(const uint8_t *rgb, int width, int height, int quality, const char *name, uint8_t **out,
                         size_t *size, rl_error *err)
{
    RL_CHECK(width > 0 && height > 0 && quality >= 1 && quality <= 100);
    *out = NULL;
    *size = 0;
    encoder *e = calloc(1, sizeof *e);
    if (!e) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for a JPEG encoder", name);
    struct jpeg_compress_struct *c = &e->cinfo;
    c->err = jpeg_std_error(&e->jerr.pub);
    e->jerr.pub.error_exit = on_error_exit;
    if (setjmp(e->jerr.jump)) {
        rl_fail(err, RL_ERR_FORMAT, "%s: JPEG encoding failed (libjpeg: %s)", name, e->jerr.msg);
        jpeg_destroy_compress(c);
        free(e->buf);
        free(e);
        return RL_ERR_FORMAT;
    }
    jpeg_create_compress(c);
    jpeg_mem_dest(c, &e->buf, &e->size);
    c->image_width = (JDIMENSION)width;
    c->image_height = (JDIMENSION)height;
    c->input_components = 3;
    c->in_color_space = JCS_RGB;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, quality, TRUE);
    for (int k = 0; k < c->num_components; k++)
        c->comp_info[k].h_samp_factor = c->comp_info[k].v_samp_factor = 1;
    jpeg_start_compress(c, TRUE);
    while (c->next_scanline < c->image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c->next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(c, &row, 1);
    }
    jpeg_finish_compress(c);
    jpeg_destroy_compress(c);
    *out = e->buf;
    *size = e->size;
    free(e);
    return RL_OK;
}

rl_status rl_read_file(const char *path, uint8_t **data, size_t *size, rl_error *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return rl_fail(err, RL_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    rl_status st = RL_OK;
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = rl_fail(err, RL_ERR_IO, "%s: cannot seek (is it a regular file?)", path);
        goto done;
    }
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for %ld bytes", path, n);
        goto done;
    }
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        st = rl_fail(err, RL_ERR_IO, "%s: short read of %ld bytes (%s)", path, n, ferror(f) ? strerror(errno) : "EOF");
        free(buf);
        buf = NULL;
        goto done;
    }
    *data = buf;
    *size = (size_t)n;
done:
    fclose(f);
    return st;
}
