/* textnorm.h — text normalisation and distances for comparing the text an image
 * must carry with what OCR read.
 *
 * Normalisation (applied to both sides before any comparison):
 *   - NFC for Latin letters written as base + combining accent (e + U+0301 -> é);
 *   - typographic quotes -> ' and ", dashes/minus -> '-', ellipsis -> "...",
 *     ligatures fi/fl/ff -> letters, fullwidth ASCII -> ASCII;
 *   - every run of Unicode whitespace (incl. NBSP, thin space) -> one space, trimmed;
 *   - optionally case folded (ASCII and Latin-1 letters).
 * Distances count Unicode code points. */
#ifndef PRESSROOM_TEXTNORM_H
#define PRESSROOM_TEXTNORM_H

#include <stdbool.h>
#include <stddef.h>

/* Normalises UTF-8 `in` into `out` (always NUL-terminated, truncated to outlen-1
 * at a code point boundary). Invalid UTF-8 bytes become U+FFFD. Returns strlen(out). */
size_t textnorm(const char *in, char *out, size_t outlen, bool casefold);

/* Levenshtein distance between two UTF-8 strings, in code points. */
int text_edit_distance(const char *a, const char *b);

/* Edit distance divided by the longer length: 0 = identical, 1 = nothing in common.
 * Two empty strings are 0. */
double text_normalized_distance(const char *a, const char *b);

/* True when `read` differs from `want` only by digit/letter look-alikes ("Sa1e" for
 * "Sale", "0ff" for "Off"; LOOKALIKE_PAIRS in textnorm.c), at least one; with
 * `letters`, also by the letter-for-letter ones ("Wcek" for "Week", "Oceah";
 * LETTER_LOOKALIKE_PAIRS), which only the second reading is judged by; with
 * `letters` a plain 0-for-O swap does not count, only the digit beside the letter
 * ("HERO0ES").
 * *seen and *meant (may be NULL) get the first such pair ("1", "l"): static strings. */
bool text_lookalike(const char *read, const char *want, bool letters, const char **seen, const char **meant);

/* The glyph classifier's judgement (a reading glyph by glyph, noisy elsewhere in the
 * line): true when, aligned with `want` by edit distance, `read` holds a digit where
 * the text has its look-alike letter ("SHIPPIN6" for "SHIPPING"; not 0 for O or o),
 * in a word of three letters or more whose other glyphs all read as the text, on a
 * line read with one other slip at most, and the line has no other instance of that
 * letter read the same way. A letter read for a digit, or for another letter, does
 * not count. *seen and *meant as for text_lookalike. */
bool text_glyph_lookalike(const char *read, const char *want, const char **seen, const char **meant);

/* Where `part` sits in `whole` as a stretch read with a few slips: the fewest
 * byte edits turning part into some stretch of whole, whose start and end go to
 * *start and *end. */
int text_infix_distance(const char *part, const char *whole, size_t *start, size_t *end);

/* True when a and b differ, but only in their spaces ("NEWS LATEIN", "Chef 's" for
 * "NEWS LATE IN", "Chef's"). */
bool text_differs_only_in_spaces(const char *a, const char *b);

/* Number of letters and digits (any script) in a UTF-8 string. */
int text_alnum_count(const char *s);

#endif
