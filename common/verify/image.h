/* image.h — bounded decoding of untrusted PNGs into 8-bit RGB.
 *
 * Every PNG that reaches the verifier is decoded here, with limits on the byte
 * size, the dimensions, the number of ancillary chunks and the memory a single
 * chunk may claim (libpng user limits), and with libpng errors caught (setjmp):
 * a hostile or truncated file yields -1 and a sentence, never a crash. */
#ifndef PRESSROOM_IMAGE_H
#define PRESSROOM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t max_bytes;     /* whole file */
    int max_dimension;     /* width and height */
    int max_chunks;        /* ancillary chunks kept (tEXt, sPLT, unknown ...) */
} image_limits_t;

/* An 8-bit RGB image, 3 bytes per pixel, rows packed (stride = 3 * w). */
typedef struct {
    int w, h;
    unsigned char *rgb;
} image_t;

/* Decodes PNG bytes into *img (caller calls image_free). Alpha is composited onto
 * white; 16-bit is reduced to 8; grey and palette images are expanded to RGB.
 * Returns 0, or -1 with err saying what was wrong ("PNG is 20000x20 pixels, the
 * limit is 4096 per side", "not a PNG (bad signature)", "truncated PNG ..."). */
int image_decode_png(const unsigned char *buf, size_t len, const image_limits_t *lim,
                     image_t *img, char *err, size_t errlen);

/* Encodes img as PNG into a malloc'd buffer. Returns 0 or -1 with err. */
int image_encode_png(const image_t *img, unsigned char **png, size_t *len, char *err,
                     size_t errlen);

void image_free(image_t *img);

/* *dst = src turned about its centre so that what tilts by deg degrees (descending
 * to the right for deg > 0, image coordinates) becomes level; same size, bilinear,
 * what comes from outside the image repeats its nearest edge pixel. Caller calls
 * image_free(dst). */
void image_rotate(const image_t *src, double deg, image_t *dst);

#endif
