#!/usr/bin/python3
"""bench/glyph_widths.py: prints O_WIDTH_PER for common/verify/glyph_shape.c.

How wide a capital O's ink is against each letter's, as the median over the
proportional faces of the renderer's font packages (fonts-dejavu-core,
fonts-liberation, fonts-freefont-ttf: DejaVu, Liberation, FreeFont; monospaced,
math and extra-light faces left out). None of them is a face of the evaluation
corpus (bench/corpus2/make_corpus.py), so the verifier's O-width check is not
fitted to the faces it is scored on. Letters too narrow to predict an O's width
from (I J i j l f r t 1) and the round letters themselves are left out.

  /usr/bin/python3 bench/glyph_widths.py"""
import glob
import statistics

from PIL import Image, ImageDraw, ImageFont

LETTERS = "ABCDEFGHKLMNPRSTUVWXYZabcdeghkmnopqsuvwxyz023456789"
FACES = sorted(f for d in ("dejavu", "liberation", "freefont")
               for f in glob.glob("/usr/share/fonts/truetype/%s/*.ttf" % d)
               if not any(x in f for x in ("Mono", "Math", "ExtraLight")))


def ink_width(font, ch):
    """The width of ch's ink at 120 px, measured on the drawn glyph (the font's
    bounding boxes are advance widths, not ink, for some faces)."""
    im = Image.new("L", (400, 300), 0)
    ImageDraw.Draw(im).text((80, 40), ch, font=font, fill=255)
    box = im.getbbox()
    return box[2] - box[0]


def main():
    ratios = {ch: [] for ch in LETTERS}
    for path in FACES:
        font = ImageFont.truetype(path, 120)
        o = ink_width(font, "O")
        for ch in LETTERS:
            ratios[ch].append(o / ink_width(font, ch))
    print("/* %d faces */" % len(FACES))
    cells = ["{'%s', %.2f}," % (ch, statistics.median(ratios[ch])) for ch in LETTERS]
    for k in range(0, len(cells), 8):
        print("    " + " ".join(cells[k:k + 8]))


if __name__ == "__main__":
    main()
