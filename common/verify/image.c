/* image.c — bounded PNG decode/encode with libpng; see image.h. */
#include "verify/image.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *buf;
    size_t len, pos;
    char msg[192];
} png_reader_t;

static void on_read(png_structp png, png_bytep out, size_t n) {
    png_reader_t *r = png_get_io_ptr(png);
    if (n > r->len - r->pos) {
        snprintf(r->msg, sizeof r->msg, "truncated PNG: needed %zu more bytes at offset %zu of %zu",
                 n, r->pos, r->len);
        png_error(png, "truncated");
    }
    memcpy(out, r->buf + r->pos, n);
    r->pos += n;
}

static void on_error(png_structp png, png_const_charp msg) {
    png_reader_t *r = png_get_error_ptr(png);
    if (r && !r->msg[0]) snprintf(r->msg, sizeof r->msg, "invalid PNG: %s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

int image_decode_png(const unsigned char *buf, size_t len, const image_limits_t *lim,
                     image_t *img, char *err, size_t errlen) {
    memset(img, 0, sizeof *img);
    if (lim->max_bytes > 0 && (int64_t)len > lim->max_bytes) {
        snprintf(err, errlen, "PNG is %zu bytes, the limit is %lld", len, (long long)lim->max_bytes);
        return -1;
    }
    if (len < 8 || png_sig_cmp(buf, 0, 8) != 0) {
        snprintf(err, errlen, "not a PNG: expected the 8-byte PNG signature, found %s",
                 len < 8 ? "fewer than 8 bytes" : "other bytes");
        return -1;
    }
    /* Count chunks before libpng sees them: a file of a million tiny chunks is
     * rejected here, cheaply (libpng would only skip the ancillary ones). */
    int max_chunks = lim->max_chunks > 0 ? lim->max_chunks : 4096, chunks = 0;
    for (size_t pos = 8; pos + 12 <= len;) {
        uint32_t clen = (uint32_t)buf[pos] << 24 | (uint32_t)buf[pos + 1] << 16 | (uint32_t)buf[pos + 2] << 8 |
                        buf[pos + 3];
        if (clen > 0x7fffffffu) {
            snprintf(err, errlen, "invalid PNG: chunk %d at offset %zu claims %u bytes", chunks + 1, pos, clen);
            return -1;
        }
        if (++chunks > max_chunks) {
            snprintf(err, errlen, "PNG has more than %d chunks (the limit)", max_chunks);
            return -1;
        }
        if (chunks == 1 && clen == 13 && pos + 8 + 13 <= len && !memcmp(buf + pos + 4, "IHDR", 4)) {
            const unsigned char *d = buf + pos + 8;
            uint32_t w = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
            uint32_t h = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
            int maxd = lim->max_dimension > 0 ? lim->max_dimension : 16384;
            if (w > (uint32_t)maxd || h > (uint32_t)maxd) {
                snprintf(err, errlen, "PNG is %ux%u pixels, the limit is %d per side", w, h, maxd);
                return -1;
            }
        }
        if (!memcmp(buf + pos + 4, "IEND", 4)) break;
        pos += 12 + (size_t)clen;
    }
    png_reader_t rd = {buf, len, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &rd, on_error, on_warning);
    if (!png) {
        snprintf(err, errlen, "out of memory creating the PNG reader");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    /* volatile: modified between setjmp and a possible longjmp. */
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        snprintf(err, errlen, "%s", rd.msg[0] ? rd.msg : "invalid PNG");
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        return -1;
    }
    int maxdim = lim->max_dimension > 0 ? lim->max_dimension : 16384;
    png_set_user_limits(png, (png_uint_32)maxdim, (png_uint_32)maxdim);
    png_set_chunk_cache_max(png, (png_uint_32)(lim->max_chunks > 0 ? lim->max_chunks : 1000));
    png_set_chunk_malloc_max(png, (png_alloc_size_t)(8u << 20));
    png_set_read_fn(png, &rd, on_read);
#ifdef PNG_IGNORE_ADLER32
    /* Integrity stays with the chunk CRC-32s, which libpng checks on every chunk (a
     * bad CRC on IHDR, IDAT or IEND is an error): every compressed byte is covered by
     * its IDAT chunk's CRC, so the zlib stream's Adler-32 over the inflated pixels
     * (~1.2 MB at 768x512, 4.2 M instructions, 60 % of the decode) only re-checks
     * what the CRCs already caught. Decoding stays bounded either way. */
    png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w == 0 || h == 0 || w > (png_uint_32)maxdim || h > (png_uint_32)maxdim) {
        snprintf(rd.msg, sizeof rd.msg, "PNG is %ux%u pixels, the limit is %d per side",
                 (unsigned)w, (unsigned)h, maxdim);
        png_error(png, "dimensions");
    }
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if ((color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    /* Opaque images (no alpha channel, no tRNS) decode straight into RGB rows;
     * only images with alpha get a filler byte and are composited below. */
    bool alpha = (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    if (alpha) png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t bpp = alpha ? 4 : 3;
    if (png_get_rowbytes(png, info) != (size_t)w * bpp) {
        snprintf(rd.msg, sizeof rd.msg, "unsupported PNG layout (%zu bytes per row for %u pixels)",
                 (size_t)png_get_rowbytes(png, info), (unsigned)w);
        png_error(png, "layout");
    }
    pixels = malloc((size_t)w * h * bpp);
    rows = malloc(h * sizeof(png_bytep));
    if (!pixels || !rows) {
        snprintf(rd.msg, sizeof rd.msg, "out of memory for a %ux%u image", (unsigned)w, (unsigned)h);
        png_error(png, "oom");
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * w * bpp;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);

    /* RGBA -> RGB over white, in place (the RGB stream never overtakes the RGBA one). */
    unsigned char *px = pixels;
    size_t n = (size_t)w * h;
    for (size_t i = 0; alpha && i < n; i++) {
        unsigned a = px[4 * i + 3];
        for (int c = 0; c < 3; c++) {
            unsigned v = px[4 * i + c];
            px[3 * i + c] = (unsigned char)(a == 255 ? v : (v * a + 255 * (255 - a) + 127) / 255);
        }
    }
    img->w = (int)w;
    img->h = (int)h;
    img->rgb = px;
    return 0;
}

typedef struct {
    unsigned char *buf;
    size_t len, cap;
} png_writer_t;

static void on_write(png_structp png, png_bytep data, size_t n) {
    png_writer_t *wr = png_get_io_ptr(png);
    if (wr->len + n > wr->cap) {
        size_t cap = wr->cap ? wr->cap * 2 : 65536;
        while (cap < wr->len + n) cap *= 2;
        unsigned char *nb = realloc(wr->buf, cap);
        if (!nb) png_error(png, "out of memory");
        wr->buf = nb;
        wr->cap = cap;
    }
    memcpy(wr->buf + wr->len, data, n);
    wr->len += n;
}

static void on_flush(png_structp png) { (void)png; }

int image_encode_png(const image_t *img, unsigned char **out, size_t *outlen, char *err,
                     size_t errlen) {
    png_writer_t wr = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        snprintf(err, errlen, "PNG encode of a %dx%d image failed", img->w, img->h);
        free(wr.buf);
        png_destroy_write_struct(&png, info ? &info : NULL);
        return -1;
    }
    png_set_write_fn(png, &wr, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 3);
    png_write_info(png, info);
    for (int y = 0; y < img->h; y++) png_write_row(png, img->rgb + (size_t)y * img->w * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = wr.buf;
    *outlen = wr.len;
    return 0;
}

void image_free(image_t *img) {
    free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

void image_rotate(const image_t *src, double deg, image_t *dst) {
    int w = src->w, h = src->h;
    dst->w = w, dst->h = h;
    dst->rgb = malloc((size_t)w * h * 3);
    if (!dst->rgb) abort();
    double t = deg * M_PI / 180, cs = cos(t), sn = sin(t), cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    for (int y = 0; y < h; y++) {
        unsigned char *o = dst->rgb + (size_t)y * w * 3;
        for (int x = 0; x < w; x++, o += 3) {
            double sx = cx + cs * (x - cx) - sn * (y - cy), sy = cy + sn * (x - cx) + cs * (y - cy);
            if (sx < 0) sx = 0;
            if (sy < 0) sy = 0;
            if (sx > w - 1) sx = w - 1;
            if (sy > h - 1) sy = h - 1;
            int x0 = (int)sx, y0 = (int)sy, x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
            double fx = sx - x0, fy = sy - y0;
            const unsigned char *a = src->rgb + ((size_t)y0 * w + x0) * 3, *b = src->rgb + ((size_t)y0 * w + x1) * 3;
            const unsigned char *c = src->rgb + ((size_t)y1 * w + x0) * 3, *d = src->rgb + ((size_t)y1 * w + x1) * 3;
            for (int k = 0; k < 3; k++) {
                double top = a[k] + (b[k] - a[k]) * fx, bot = c[k] + (d[k] - c[k]) * fx;
                o[k] = (unsigned char)(top + (bot - top) * fy + 0.5);
            }
        }
    }
}
