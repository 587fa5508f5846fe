/* png.c: PNG decoding to RGB with libpng (see png.h).
 *
 * libpng reports fatal errors through an error callback that must not return;
 * it records the message and longjmps back here (libpng's png_jmpbuf).  The
 * transforms reproduce Pillow's convert('RGB'): palette and gray expanded to
 * RGB (gray of depth 1/2/4 scaled to 0..255), alpha and tRNS dropped (not
 * composited), 16-bit samples keep their high byte (png_set_strip_16).
 */
#include "data/png.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define PNG_MAX_PIXELS ((uint64_t)1 << 28) /* the same limit as for JPEGs: 805 MB of RGB */

int rl_png_is(const uint8_t *data, size_t size)
{
    return size >= 8 && !png_sig_cmp(data, 0, 8);
}

typedef struct {
    const uint8_t *data;
    size_t size, pos;
    char msg[256];
} source;

static void on_error(png_structp png, png_const_charp msg)
{
    source *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* ancillary-chunk trouble (bad CRC, unknown profile): decoding goes on, as in Pillow */
}

static void read_mem(png_structp png, png_bytep out, png_size_t n)
{
    source *s = png_get_io_ptr(png);
    if (n > s->size - s->pos) png_error(png, "file ends early (truncated)");
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

/* Sets the transforms to 8-bit RGB; returns 0 or -1 for dimensions past the limit. */
static int setup(png_structp png, png_infop info, uint32_t *w, uint32_t *h)
{
    png_read_info(png, info);
    *w = png_get_image_width(png, info);
    *h = png_get_image_height(png, info);
    if ((uint64_t)*w * *h > PNG_MAX_PIXELS) return -1;
    int ctype = png_get_color_type(png, info);
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA) {
        png_set_expand_gray_1_2_4_to_8(png);
        png_set_gray_to_rgb(png);
    }
    if (ctype & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return 0;
}

rl_status rl_png_decode(const uint8_t *data, size_t size, const char *name, rl_image *out, rl_error *err)
{
    out->pixels = NULL;
    out->width = out->height = 0;
    if (!rl_png_is(data, size)) return rl_fail(err, RL_ERR_FORMAT, "%s: not a PNG file", name);
    source src = {data, size, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for a PNG decoder", name);
    }
    /* Written after setjmp and read after longjmp: volatile keeps their values. */
    uint8_t *volatile rgb = NULL;
    png_bytep *volatile rows = NULL;
    rl_status st = RL_OK;
    if (setjmp(png_jmpbuf(png))) {
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: corrupt or truncated PNG (libpng: %s); hint: re-download or remove the file", name, src.msg);
        goto done;
    }
    png_set_read_fn(png, &src, read_mem);
    png_set_user_limits(png, 1u << 28, 1u << 28);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)64 << 20); /* ancillary chunks (iCCP, zTXt...) */
    uint32_t w, h;
    if (setup(png, info, &w, &h)) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG claims %u x %u pixels (limit 268M); damaged header?", name, w, h);
        goto done;
    }
    if (png_get_rowbytes(png, info) != (size_t)w * 3) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: PNG rows of %zu bytes after conversion, expected %zu", name,
                     (size_t)png_get_rowbytes(png, info), (size_t)w * 3);
        goto done;
    }
    rgb = malloc((size_t)w * h * 3);
    rows = malloc((size_t)h * sizeof *rows);
    if (!rgb || !rows) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for a %ux%u PNG", name, w, h);
        goto done;
    }
    for (uint32_t y = 0; y < h; y++)
        rows[y] = rgb + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL); /* the rest of the file up to IEND: a truncated file is an error */
    out->pixels = rgb;
    out->width = (int)w;
    out->height = (int)h;
    rgb = NULL;
done:
    png_destroy_read_struct(&png, &info, NULL);
    free(rgb);
    free(rows);
    return st;
}
