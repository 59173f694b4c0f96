/* ocr.h — one OCR engine: three Tesseract handles, none with dictionaries: eng's
 * LSTM network, the second, independent reading (Debian's Latin script model, its
 * word lists stripped at build time), and eng's legacy shape classifier reading a
 * line glyph by glyph (its data stripped to the classifier at build time), created
 * once and reused for many line images. Not thread safe: one engine per thread. */
#ifndef PRESSROOM_OCR_H
#define PRESSROOM_OCR_H

#include <stddef.h>

#define OCR_TEXT_LEN 512
#define OCR_MAX_WORDS 32
#define OCR_MAX_SYMBOLS 96

#define OCR_MAX_CHOICES 3

/* A glyph the classifier rated a blob as, and its rating (0..100, higher better). */
typedef struct {
    char ch[8]; /* UTF-8 */
    float conf;
} ocr_choice_t;

/* One recognised character and its box (pixels of the image read; read.c maps
 * them to the page). Kept for the glyph classifier's readings only: its boxes are
 * the blobs it classified (a network's character boxes are only approximate).
 * ch is the glyph the word's reading chose; the classifier's own best ratings of
 * the blob, best first, are its choices (ch among them in all but a few in 1000),
 * which can rate another glyph above ch. */
typedef struct {
    char ch[8]; /* UTF-8 */
    int x0, y0, x1, y1;
    float conf; /* the classifier's rating of ch */
    int n_choices;
    ocr_choice_t choices[OCR_MAX_CHOICES];
} ocr_symbol_t;

typedef struct ocr_engine ocr_engine_t;

typedef struct {
    char text[OCR_TEXT_LEN];          /* words joined by single spaces */
    double conf;                      /* mean word confidence 0..100, 0 when no words */
    int n_words;
    char words[OCR_MAX_WORDS][64];
    double word_conf[OCR_MAX_WORDS];
    int word_x0[OCR_MAX_WORDS], word_x1[OCR_MAX_WORDS]; /* each word's left and right edge
                                                         * (pixels of the image read; read.c
                                                         * maps them to the page) */
    int n_symbols;                    /* glyph readings; 0 when more than OCR_MAX_SYMBOLS */
    ocr_symbol_t symbols[OCR_MAX_SYMBOLS];
} ocr_line_t;

/* Page segmentation modes used by the verifier (Tesseract numbering). */
enum { OCR_PSM_BLOCK = 6, OCR_PSM_LINE = 7, OCR_PSM_WORD = 8, OCR_PSM_RAW_LINE = 13 };

/* libgomp (linked by Tesseract) reads OMP_THREAD_LIMIT once, when the process
 * loads: a setenv() in main() comes too late, and without the limit every OCR call
 * spins up a team of threads (3x slower, and the pool's threads fight). Call this
 * first thing in main() of any program that runs OCR: when OMP_THREAD_LIMIT is
 * unset it sets it to 1 and re-executes the program (/proc/self/exe with the same
 * arguments); otherwise, or if the exec fails, it returns. */
void ocr_thread_limit_reexec(void);

/* The readers an engine holds: eng's network, the Latin network, and eng's legacy
 * shape classifier reading a line glyph by glyph (one connected blob at a time). */
typedef enum { OCR_MODEL_ENG = 0, OCR_MODEL_LATIN, OCR_MODEL_GLYPHS } ocr_model_t;

/* Sets OMP_THREAD_LIMIT=1 (when unset), loads eng from the system tessdata (or
 * $TESSDATA_PREFIX), and the stripped Latin model and eng_legacy (the legacy
 * classifier, no network, no word lists) from ../share/pressroom/tessdata beside the
 * running binary's folder (or $PRESSROOM_TESSDATA). Returns NULL with
 * err (naming the file) on failure. */
ocr_engine_t *ocr_engine_new(char *err, size_t errlen);

/* Reads the text of an 8-bit grey image (w x h, row stride w; dark text on a light
 * background) with page segmentation mode psm. Returns 0 or -1 (engine failure). */
int ocr_engine_read(ocr_engine_t *e, const unsigned char *gray, int w, int h, int psm,
                    ocr_line_t *out);

/* The same with the given network. */
int ocr_engine_read_model(ocr_engine_t *e, ocr_model_t model, const unsigned char *gray, int w, int h,
                          int psm, ocr_line_t *out);

void ocr_engine_free(ocr_engine_t *e);

#endif
