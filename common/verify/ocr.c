/* ocr.c — a reusable Tesseract handle for line images; see ocr.h. */
#include "verify/ocr.h"

#include <leptonica/allheaders.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <unistd.h>

#define TESSDATA_DEFAULT "/usr/share/tesseract-ocr/5/tessdata"

#define OCR_N_MODELS 3

/* One handle per reader, indexed by ocr_model_t: eng, the stripped Latin script
 * model, eng's legacy shape classifier; each with the page mode it was last set to. */
struct ocr_engine {
    TessBaseAPI *api[OCR_N_MODELS];
    int psm[OCR_N_MODELS];
};

void ocr_thread_limit_reexec(void) {
    if (getenv("OMP_THREAD_LIMIT")) return;
    setenv("OMP_THREAD_LIMIT", "1", 1);
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f) return;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (n == 0 || n >= sizeof buf - 1) return;
    buf[n] = '\0';
    char *argv[1024];
    int argc = 0;
    for (size_t i = 0; i < n && argc < 1023; i += strlen(buf + i) + 1) argv[argc++] = buf + i;
    argv[argc] = NULL;
    execv("/proc/self/exe", argv);
    /* exec failed: carry on, slower. */
}

/* Where the stripped Latin model lives: $PRESSROOM_TESSDATA, else
 * ../share/pressroom/tessdata from the running binary's folder (build/bin,
 * build/tests, build/bench and /usr/local/bin in the image all have it there). */
static void second_model_dir(char *dir, size_t len) {
    const char *env = getenv("PRESSROOM_TESSDATA");
    if (env && *env) {
        snprintf(dir, len, "%s", env);
        return;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(dir, len, "share/pressroom/tessdata");
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(dir, len, "%s/../share/pressroom/tessdata", exe);
}

/* One handle for lang in datapath, without dictionaries, reading one line: the
 * LSTM network (oem OEM_LSTM_ONLY) or the legacy shape classifier (OEM_TESSERACT_ONLY). */
static TessBaseAPI *load_model(const char *datapath, const char *lang, TessOcrEngineMode oem) {
    TessBaseAPI *api = TessBaseAPICreate();
    /* Init-only parameters: no dictionaries (we compare exact strings; a dictionary
     * pulls readings towards real words: "Sa1e" read "Sale"). The load_*_dawg ones
     * only switch off the legacy engine's word lists: Tesseract 5.3 builds the LSTM's
     * own dictionary from its parameters regardless, and only lstm_use_matrix=0,
     * given here at Init (it is read once, when the LSTM recogniser loads), leaves
     * it out, so the LSTM decodes the glyphs it sees.
     * For the legacy classifier: each connected blob is classified as it is
     * (chop_enable=0, wordrec_enable_assoc=0: no search over cut or joined blobs,
     * a quarter of the cost, and a blob is the glyph the check is about); no
     * learning from a line (classify_enable_learning=0: the lines of a pool
     * thread come from different images and fonts) and no second, adaptive pass
     * over it (tessedit_tess_adaption_mode=0: half the remaining cost; on the dev
     * study corpora 4 of 120 readings differ and no judgement). The templates it
     * adapts regardless are cleared after every line (ocr_engine_read_model). */
    char *names[] = {"load_system_dawg", "load_freq_dawg", "load_punc_dawg", "load_number_dawg",
                     "load_unambig_dawg", "load_bigram_dawg", "lstm_use_matrix", "debug_file",
                     "chop_enable", "wordrec_enable_assoc", "classify_enable_learning",
                     "tessedit_tess_adaption_mode"};
    char *values[] = {"0", "0", "0", "0", "0", "0", "0", "/dev/null", "0", "0", "0", "0"};
    size_t nvars = sizeof names / sizeof names[0];
    if (oem != OEM_TESSERACT_ONLY) nvars -= 4;
    if (TessBaseAPIInit4(api, datapath, lang, oem, NULL, 0, names, values, nvars, 0) != 0) {
        TessBaseAPIDelete(api);
        return NULL;
    }
    TessBaseAPISetVariable(api, "user_defined_dpi", "300");
    /* Fixed-pitch analysis (textord's pitch search over each row) only serves the
     * legacy engine's character chopping, which is off: ~3% of every call, the
     * same readings. */
    TessBaseAPISetVariable(api, "textord_disable_pitch_test", "1");
    /* The verifier always hands over dark text on a light ground (read.c): the
     * second recognition of a doubtful line, inverted, only costs time (~3% of
     * the cairo corpus's CPU time; the same readings on the dev split). */
    TessBaseAPISetVariable(api, "tessedit_do_invert", "0");
    TessBaseAPISetPageSegMode(api, PSM_SINGLE_LINE);
    return api;
}

static void end_model(TessBaseAPI *api) {
    if (!api) return;
    TessBaseAPIEnd(api);
    TessBaseAPIDelete(api);
}

ocr_engine_t *ocr_engine_new(char *err, size_t errlen) {
    setenv("OMP_THREAD_LIMIT", "1", 0);
    ocr_engine_t *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory creating an OCR engine");
        return NULL;
    }
    const char *prefix = getenv("TESSDATA_PREFIX");
    const char *datapath = prefix && *prefix ? prefix : TESSDATA_DEFAULT;
    if (!(e->api[OCR_MODEL_ENG] = load_model(datapath, "eng", OEM_LSTM_ONLY))) {
        snprintf(err, errlen, "Tesseract could not load eng.traineddata from %s (set TESSDATA_PREFIX)",
                 datapath);
        free(e);
        return NULL;
    }
    char dir[4200];
    second_model_dir(dir, sizeof dir);
    if (!(e->api[OCR_MODEL_LATIN] = load_model(dir, "Latin", OEM_LSTM_ONLY))) {
        snprintf(err, errlen,
                 "Tesseract could not load the second model %s/Latin.traineddata (make builds it from "
                 "tesseract-ocr-script-latn; or set PRESSROOM_TESSDATA to its folder)", dir);
        ocr_engine_free(e);
        return NULL;
    }
    if (!(e->api[OCR_MODEL_GLYPHS] = load_model(dir, "eng_legacy", OEM_TESSERACT_ONLY))) {
        snprintf(err, errlen,
                 "Tesseract could not load the glyph classifier %s/eng_legacy.traineddata (make builds it "
                 "from the npm package @tesseract.js-data/eng; or set PRESSROOM_TESSDATA to its folder)", dir);
        ocr_engine_free(e);
        return NULL;
    }
    for (int m = 0; m < OCR_N_MODELS; m++) e->psm[m] = OCR_PSM_LINE;
    return e;
}

int ocr_engine_read(ocr_engine_t *e, const unsigned char *gray, int w, int h, int psm,
                    ocr_line_t *out) {
    return ocr_engine_read_model(e, OCR_MODEL_ENG, gray, w, h, psm, out);
}

/* The characters of the last recognition, their boxes and the classifier's ratings,
 * in reading order. */
static void read_symbols(TessBaseAPI *api, ocr_line_t *out) {
    TessResultIterator *it = TessBaseAPIGetIterator(api);
    if (!it) return;
    TessPageIterator *pit = TessResultIteratorGetPageIterator(it);
    do {
        char *sym = TessResultIteratorGetUTF8Text(it, RIL_SYMBOL);
        if (!sym) continue;
        ocr_symbol_t *o = &out->symbols[out->n_symbols];
        if (out->n_symbols == OCR_MAX_SYMBOLS || strlen(sym) >= sizeof o->ch ||
            !TessPageIteratorBoundingBox(pit, RIL_SYMBOL, &o->x0, &o->y0, &o->x1, &o->y1)) {
            TessDeleteText(sym);
            out->n_symbols = 0; /* a partial list would misplace the glyphs after it */
            break;
        }
        memcpy(o->ch, sym, strlen(sym) + 1);
        o->conf = TessResultIteratorConfidence(it, RIL_SYMBOL);
        o->n_choices = 0;
        TessChoiceIterator *ci = TessResultIteratorGetChoiceIterator(it);
        if (ci) {
            do {
                const char *t = TessChoiceIteratorGetUTF8Text(ci);
                if (!t || strlen(t) >= sizeof o->choices[0].ch) continue;
                ocr_choice_t *k = &o->choices[o->n_choices++];
                memcpy(k->ch, t, strlen(t) + 1);
                k->conf = TessChoiceIteratorConfidence(ci);
            } while (o->n_choices < OCR_MAX_CHOICES && TessChoiceIteratorNext(ci));
            TessChoiceIteratorDelete(ci);
        }
        out->n_symbols++;
        TessDeleteText(sym);
    } while (TessResultIteratorNext(it, RIL_SYMBOL));
    TessResultIteratorDelete(it);
}

int ocr_engine_read_model(ocr_engine_t *e, ocr_model_t model, const unsigned char *gray, int w, int h,
                          int psm, ocr_line_t *out) {
    TessBaseAPI *api = e->api[model];
    int *cur = &e->psm[model];
    memset(out, 0, sizeof *out);
    PIX *pix = pixCreate(w, h, 8);
    if (!pix) return -1;
    l_uint32 *data = pixGetData(pix);
    int wpl = pixGetWpl(pix);
    for (int y = 0; y < h; y++) {
        l_uint32 *line = data + (size_t)y * wpl;
        const unsigned char *src = gray + (size_t)y * w;
        for (int x = 0; x < w; x++) SET_DATA_BYTE(line, x, src[x]);
    }
    pixSetResolution(pix, 300, 300);
    if (psm != *cur) {
        TessBaseAPISetPageSegMode(api, (TessPageSegMode)psm);
        *cur = psm;
    }
    TessBaseAPISetImage2(api, pix);
    int rc = TessBaseAPIRecognize(api, NULL);
    if (rc == 0) {
        TessResultIterator *it = TessBaseAPIGetIterator(api);
        size_t pos = 0;
        double sum = 0;
        if (it) {
            do {
                char *word = TessResultIteratorGetUTF8Text(it, RIL_WORD);
                if (!word) continue;
                float conf = TessResultIteratorConfidence(it, RIL_WORD);
                size_t wl = strlen(word);
                if (wl > 0 && pos + wl + 2 < sizeof out->text) {
                    if (pos) out->text[pos++] = ' ';
                    memcpy(out->text + pos, word, wl);
                    pos += wl;
                    out->text[pos] = '\0';
                    if (out->n_words < OCR_MAX_WORDS) {
                        int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
                        TessPageIteratorBoundingBox(TessResultIteratorGetPageIterator(it), RIL_WORD, &x0, &y0, &x1, &y1);
                        snprintf(out->words[out->n_words], sizeof out->words[0], "%s", word);
                        out->word_conf[out->n_words] = conf;
                        out->word_x0[out->n_words] = x0;
                        out->word_x1[out->n_words] = x1;
                        out->n_words++;
                        sum += conf;
                    }
                }
                TessDeleteText(word);
            } while (TessResultIteratorNext(it, RIL_WORD));
            TessResultIteratorDelete(it);
        }
        if (model == OCR_MODEL_GLYPHS) read_symbols(api, out); /* its boxes are its blobs */
        out->conf = out->n_words ? sum / out->n_words : 0;
    }
    TessBaseAPIClear(api);
    /* The legacy classifier adapts its templates to what it has read, whatever
     * classify_enable_learning says: without this, a line's glyph reading depended
     * on the lines the thread read before it (53 of 615 readings differed with
     * the batch read backwards), so a verdict depended on the pool's scheduling. */
    if (model == OCR_MODEL_GLYPHS) TessBaseAPIClearAdaptiveClassifier(api);
    pixDestroy(&pix);
    return rc == 0 ? 0 : -1;
}

void ocr_engine_free(ocr_engine_t *e) {
    if (!e) return;
    for (int m = 0; m < OCR_N_MODELS; m++) end_model(e->api[m]);
    free(e);
}
