/* test_jpeg.c: JPEG decoding against Pillow (an independent caller of
 * libjpeg-turbo): full-size pixels, DCT-scaled pixels (Pillow's draft mode),
 * decoded sizes against hand-computed ceil(W*n/8), grayscale and CMYK to RGB
 * as Pillow's convert('RGB'), and errors (not crashes) on truncated, corrupt,
 * PNG, missing and fuzzed input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "data/jpeg.h"
#include "data/png.h"
#include "jpeg_fixture.h"
#include "tap.h"
#include "util/rng.h"

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > m) m = d;
    }
    return m;
}

static rl_status decode_file(const char *rel, int n, rl_image *img, rl_error *err)
{
    char path[1400];
    uint8_t *data;
    size_t size;
    rl_status st = rl_read_file(fx_path(path, sizeof path, rel), &data, &size, err);
    if (st) return st;
    rl_jpeg *j;
    st = rl_jpeg_open(&j, data, size, path, err);
    if (!st) {
        st = rl_jpeg_decode(j, n, img, err);
        rl_jpeg_close(j);
    }
    free(data);
    return st;
}

/* Encodes w x h CMYK pixels (stored Adobe-inverted, as Photoshop writes them)
 * as a YCCK JPEG with libjpeg's encoder; Pillow cannot write YCCK, and
 * ImageNet's CMYK photos are mostly YCCK.  Returns the malloc'ed file. */
static uint8_t *encode_ycck(const uint8_t *cmyk, int w, int h, unsigned long *n)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    jpeg_mem_dest(&c, &buf, n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, JCS_YCCK); /* also writes the Adobe marker, transform 2 */
    jpeg_set_quality(&c, 92, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(cmyk + (size_t)c.next_scanline * w * 4);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return buf;
}

static void test_ycck(void)
{
    const int w = 97, h = 61;
    uint8_t *cmyk = malloc((size_t)w * h * 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = cmyk + ((size_t)y * w + x) * 4;
            p[0] = (uint8_t)(x * 255 / w);
            p[1] = (uint8_t)(y * 255 / h);
            p[2] = (uint8_t)((x * y) % 256);
            p[3] = (uint8_t)(255 - (x + y) % 64);
        }
    unsigned long n = 0;
    uint8_t *jpg = encode_ycck(cmyk, w, h, &n);
    char path[1400], refp[1400], cmd[4400];
    fx_path(path, sizeof path, "ycck.jpg");
    fx_path(refp, sizeof refp, "ycck.rgb");
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(jpg, 1, n, f) != n || fclose(f)) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
    const char *py = getenv("REF_PYTHON") ? getenv("REF_PYTHON") : "/usr/bin/python3";
    snprintf(cmd, sizeof cmd,
             "%s -c \"from PIL import Image; im=Image.open('%s'); assert im.mode=='CMYK'; "
             "open('%s','wb').write(im.convert('RGB').tobytes())\"",
             py, path, refp);
    int rc = system(cmd);
    rl_image img = {0};
    rl_error err;
    rl_status st = rl_jpeg_decode_mem(jpg, n, 0, 0, path, &img, &err);
    size_t rs = 0;
    uint8_t *ref = rc == 0 ? fx_load("ycck.rgb", &rs) : NULL;
    int m = st == RL_OK && ref && rs == (size_t)w * h * 3 ? max_diff(img.pixels, ref, rs) : -1;
    tap_ok(m == 0, "YCCK (Adobe transform 2) JPEG: max |relab - Pillow convert('RGB')| = %d", m);
    rl_image_free(&img);
    /* And at 4/8 scale against Pillow's draft mode. */
    snprintf(cmd, sizeof cmd,
             "%s -c \"from PIL import Image; im=Image.open('%s'); im.draft('CMYK',(%d,%d)); "
             "open('%s','wb').write(im.convert('RGB').tobytes())\"",
             py, path, w / 2, h / 2, refp);
    rc = system(cmd);
    free(ref);
    ref = rc == 0 ? fx_load("ycck.rgb", &rs) : NULL;
    rl_jpeg *j;
    st = rl_jpeg_open(&j, jpg, n, path, &err);
    if (!st) {
        st = rl_jpeg_decode(j, 4, &img, &err);
        rl_jpeg_close(j);
    }
    m = st == RL_OK && ref && rs == (size_t)img.width * img.height * 3 ? max_diff(img.pixels, ref, rs) : -1;
    tap_ok(m == 0, "YCCK at 4/8 (%dx%d): max |relab - Pillow draft| = %d", img.width, img.height, m);
    rl_image_free(&img);
    free(ref);
    free(jpg);
    free(cmyk);
}

int main(void)
{
    fx_make("jpeg", 0);
    rl_error err;

    /* Full-size decode equals Pillow's convert('RGB') (same libjpeg-turbo,
     * same slow integer IDCT and fancy upsampling: expect 0, allow 1). */
    for (int i = 0; i < fx_count; i++) {
        fx_entry *e = &fx_man[i];
        int n = !strcmp(e->kind, "rgb")      ? 8
                : !strcmp(e->kind, "draft2") ? 4
                : !strcmp(e->kind, "draft4") ? 2
                : !strcmp(e->kind, "draft8") ? 1
                                             : 0;
        if (!n) continue;
        rl_image img = {0};
        rl_status st = decode_file(e->rel, n, &img, &err);
        if (!tap_ok(st == RL_OK, "decode %s at %d/8: %s", e->rel, n, st ? err.msg : "ok")) continue;
        tap_ok(img.width == e->width && img.height == e->height, "%s at %d/8: size %dx%d, Pillow %dx%d", e->rel, n,
               img.width, img.height, e->width, e->height);
        size_t rs;
        uint8_t *ref = fx_load(e->ref, &rs);
        if (rs == (size_t)img.width * img.height * 3) {
            int m = max_diff(img.pixels, ref, rs);
            tap_ok(m <= 1, "%s at %d/8 (%s): max |relab - Pillow| = %d (<= 1)", e->rel, n, e->kind, m);
        } else {
            tap_ok(0, "%s: reference has %zu bytes", e->rel, rs);
        }
        free(ref);
        rl_image_free(&img);
    }

    /* PNG fallback: every colour type, Adam7, 16 bit, all five filters;
     * references are Pillow's convert('RGB') or the encoded array. */
    for (int i = 0; i < fx_count; i++) {
        fx_entry *e = &fx_man[i];
        if (strcmp(e->kind, "png")) continue;
        char path[1400];
        uint8_t *data;
        size_t size, rs;
        rl_image img = {0};
        rl_status st = rl_read_file(fx_path(path, sizeof path, e->rel), &data, &size, &err);
        if (!st) st = rl_png_decode(data, size, path, &img, &err);
        uint8_t *ref = fx_load(e->ref, &rs);
        int good =
            st == RL_OK && img.width == e->width && img.height == e->height && rs == (size_t)img.width * img.height * 3;
        int m = good ? max_diff(img.pixels, ref, rs) : -1;
        tap_ok(good && m == 0, "PNG %s %dx%d: max |relab - reference| = %d (%s)", e->rel, img.width, img.height, m,
               st ? err.msg : "ok");
        if (!st) free(data);
        free(ref);
        rl_image_free(&img);
    }
    {
        /* a flipped IDAT byte: libpng's inflate fails before the chunk's CRC is compared */
        const char *bad_png[][2] = {{"bad/crc.png", "corrupt"}, {"bad/cut.png", "truncated"}};
        for (int i = 0; i < 2; i++) {
            char path[1400];
            uint8_t *data;
            size_t size;
            rl_image img = {0};
            rl_status st = rl_read_file(fx_path(path, sizeof path, bad_png[i][0]), &data, &size, &err);
            if (!st) {
                st = rl_png_decode(data, size, path, &img, &err);
                free(data);
            }
            tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, bad_png[i][0]) && strstr(err.msg, bad_png[i][1]) &&
                       !img.pixels,
                   "%s: %s", bad_png[i][0], err.msg);
        }
    }

    test_ycck();

    /* Sizes at every scale of a 500x375 image, by hand: ceil(500n/8) x ceil(375n/8). */
    const int want[9][2] = {{0, 0},     {63, 47},   {125, 94},  {188, 141}, {250, 188},
                            {313, 235}, {375, 282}, {438, 329}, {500, 375}};
    for (int n = 1; n <= 8; n++) {
        rl_image img = {0};
        rl_status st = decode_file("train/n01440764/n01440764_0.JPEG", n, &img, &err);
        tap_ok(st == RL_OK && img.width == want[n][0] && img.height == want[n][1],
               "500x375 at %d/8 decodes to %dx%d (want %dx%d)", n, img.width, img.height, want[n][0], want[n][1]);
        rl_image_free(&img);
    }
    /* Smallest covering scale, by hand: 224x224 from 500x375 needs 375n/8 >= 224 -> n = 5;
     * 256 short side -> 6; 60x90 cannot cover 224 -> 8; 800x600 covering 100x100 -> 2. */
    tap_ok(rl_jpeg_pick_scale(500, 375, 224, 224) == 5, "pick_scale(500x375, 224) = 5");
    tap_ok(rl_jpeg_pick_scale(500, 375, 256, 256) == 6, "pick_scale(500x375, 256) = 6");
    tap_ok(rl_jpeg_pick_scale(60, 90, 224, 224) == 8, "pick_scale(60x90, 224) = 8");
    tap_ok(rl_jpeg_pick_scale(800, 600, 100, 100) == 2, "pick_scale(800x600, 100) = 2");

    /* Bad input: errors naming the file, never a crash. */
    struct {
        const char *rel, *want;
        rl_status code;
    } bad[] = {{"bad/truncated.JPEG", "truncated", RL_ERR_FORMAT},
               {"bad/corrupt.JPEG", "corrupt", RL_ERR_FORMAT},
               {"bad/png.JPEG", "PNG", RL_ERR_FORMAT},
               {"bad/missing.JPEG", "cannot open", RL_ERR_IO}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rl_image img = {0};
        memset(&err, 0, sizeof err);
        rl_status st = decode_file(bad[i].rel, 8, &img, &err);
        tap_ok(st == bad[i].code && strstr(err.msg, bad[i].rel) && strstr(err.msg, bad[i].want), "%s -> %s: %s",
               bad[i].rel, rl_status_name(st), err.msg);
        tap_ok(img.pixels == NULL, "%s: no image on error", bad[i].rel);
    }

    /* Fuzz: every truncation length step and random byte damage of a real file
     * returns (OK or FORMAT), never crashes or hangs. */
    char path[1400];
    uint8_t *data;
    size_t size;
    if (rl_read_file(fx_path(path, sizeof path, "train/n01440764/n01440764_3.JPEG"), &data, &size, &err)) {
        printf("Bail out! %s\n", err.msg);
        return 1;
    }
    int ok = 1, nerr = 0, trials = 0;
    rl_rng rng = rl_rng_make(1, 2, 3);
    uint8_t *copy = malloc(size);
    for (size_t cut = 0; cut < size; cut += size / 40 + 1, trials++) {
        rl_image img = {0};
        rl_status st = rl_jpeg_decode_mem(data, cut, 0, 0, "cut", &img, &err);
        ok &= st == RL_OK || st == RL_ERR_FORMAT;
        nerr += st != RL_OK;
        rl_image_free(&img);
    }
    for (int t = 0; t < 60; t++, trials++) {
        memcpy(copy, data, size);
        for (int k = 0; k < 8; k++)
            copy[rl_rng_below(&rng, (uint32_t)size)] = (uint8_t)rl_rng_next(&rng);
        rl_image img = {0};
        rl_status st = rl_jpeg_decode_mem(copy, size, 100, 100, "damaged", &img, &err);
        ok &= st == RL_OK || st == RL_ERR_FORMAT;
        nerr += st != RL_OK;
        rl_image_free(&img);
    }
    tap_ok(ok, "fuzz: %d truncated/damaged inputs returned OK or FORMAT (%d errors), no crash", trials, nerr);
    { /* The same for PNG, without CRCs to stop the damage early: cut at every length step. */
        uint8_t *png;
        size_t pn;
        if (!rl_read_file(fx_path(path, sizeof path, "png/rgb8_adam7.png"), &png, &pn, &err)) {
            int pok = 1, perr = 0, pt = 0;
            for (size_t cut = 0; cut < pn; cut += pn / 50 + 1, pt++) {
                rl_image img = {0};
                rl_status st = rl_png_decode(png, cut, "cut", &img, &err);
                pok &= st == RL_ERR_FORMAT && !img.pixels;
                perr += st != RL_OK;
            }
            tap_ok(pok, "PNG cut at %d lengths: all FORMAT errors, no crash", pt);
            free(png);
        }
    }
    /* A header claiming 60000 x 60000 (SOF0: FF C0 len(2) precision(1) height(2) width(2)). */
    memcpy(copy, data, size);
    for (size_t i = 0; i + 9 < size; i++)
        if (copy[i] == 0xFF && copy[i + 1] == 0xC0) {
            copy[i + 5] = copy[i + 7] = 0xEA;
            copy[i + 6] = copy[i + 8] = 0x60;
            break;
        }
    {
        rl_image img = {0};
        rl_status st = rl_jpeg_decode_mem(copy, size, 0, 0, "huge", &img, &err);
        tap_ok(st == RL_ERR_FORMAT && strstr(err.msg, "60000 x 60000"), "huge header refused: %s", err.msg);
    }
    free(copy);
    free(data);
    return tap_done();
}
