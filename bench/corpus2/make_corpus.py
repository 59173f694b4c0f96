#!/usr/bin/python3
"""bench/corpus2/make_corpus.py: the independent evaluation corpus for the verifier.

Draws labelled 768x512 images with Pillow (FreeType), never with the renderer's cairo
code (tools/pressroom-renderer/draw.c), in font families the renderer does not use
(fonts-urw-base35, fonts-open-sans, fonts-crosextra-*, fonts-cantarell, fonts-comic-neue,
fonts-ebgaramond, fonts-bebas-neue, fonts-league-spartan, fonts-firacode,
fonts-roboto-unhinted: scripts/install-deps.sh, group "eval").

Two looks:
  plain   text faces, flat background, no effect
  styled  display and text faces; backgrounds flat, gradient, photo (smooth noise blobs),
          stripes, checks, confetti, bokeh; one effect each: none, stroke, shadow, glow,
          rotate (+-4 deg), perspective, grain, jpeg; tight leading
Kinds (what the image gets wrong against the expected text, which is always the
correct text): ok, lookalike (1/l, 0/O, 5/S, e/c, rn/m, ...), drop, double, swap,
missing_word, wrong_case, extra (a hallucinated word or line elsewhere), garbled
(part of a word replaced by glyph-like strokes), blank (no text drawn), unexpected
(no text expected, a headline drawn) and ok_notext (no text expected, none drawn).

A mistake whose lines come out pixel for pixel as the correct text in the chosen face
(Bebas Neue's O and 0 are one glyph) is labelled "same_pixels": no reader can see it,
and score.py reports it apart from its kind.

Every image that carries text is legible by construction: the fill's WCAG contrast
against the background actually under the glyphs (97% of those pixels) and against
the ring the effects leave around them is >= 4.5:1, measured after the effects, and
every glyph lies inside the safe zone; otherwise the sample is drawn again with the
next random choices. Deterministic for a given --seed.

  make_corpus.py --out DIR --look styled|plain --n N --seed S

writes DIR/NNNN.png, DIR/labels.jsonl (one label per image) and DIR/batch.jsonl (the
`pressctl verify --batch` input: the image, the expected text, the size)."""
import argparse
import io
import json
import math
import os
import random
import sys

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageStat

W, H = 768, 512
SAFE_ZONE = 0.9

FONT_DIRS = ["/usr/share/fonts/opentype", "/usr/share/fonts/truetype"]

# (file, family, caps_only). Display faces first; the text faces make the plain look.
DISPLAY_FACES = [
    ("urw-base35/NimbusSans-Bold.otf", "Nimbus Sans Bold", False),
    ("urw-base35/NimbusSansNarrow-Bold.otf", "Nimbus Sans Narrow Bold", False),
    ("urw-base35/URWGothic-Demi.otf", "URW Gothic Demi", False),
    ("urw-base35/URWBookman-Demi.otf", "URW Bookman Demi", False),
    ("urw-base35/C059-Bold.otf", "C059 Bold", False),
    ("bebas-neue/BebasNeue-Bold.otf", "Bebas Neue Bold", True),
    ("league-spartan/LeagueSpartan-Black.otf", "League Spartan Black", False),
    ("cantarell/Cantarell-ExtraBold.otf", "Cantarell ExtraBold", False),
    ("open-sans/OpenSans-ExtraBold.ttf", "Open Sans ExtraBold", False),
    ("open-sans/OpenSans-CondBold.ttf", "Open Sans Condensed Bold", False),
    ("comic-neue/ComicNeue-Bold.otf", "Comic Neue Bold", False),
    ("crosextra/Caladea-Bold.ttf", "Caladea Bold", False),
    ("roboto/unhinted/RobotoTTF/Roboto-Black.ttf", "Roboto Black", False),
]
TEXT_FACES = [
    ("urw-base35/NimbusRoman-Regular.otf", "Nimbus Roman", False),
    ("urw-base35/NimbusSans-Regular.otf", "Nimbus Sans", False),
    ("urw-base35/NimbusMonoPS-Bold.otf", "Nimbus Mono PS Bold", False),
    ("urw-base35/P052-Roman.otf", "P052", False),
    ("urw-base35/C059-Roman.otf", "C059", False),
    ("ebgaramond/EBGaramond12-Regular.otf", "EB Garamond", False),
    ("crosextra/Carlito-Regular.ttf", "Carlito", False),
    ("crosextra/Caladea-Regular.ttf", "Caladea", False),
    ("cantarell/Cantarell-Regular.otf", "Cantarell", False),
    ("firacode/FiraCode-Regular.ttf", "Fira Code", False),
    ("urw-base35/NimbusRoman-Italic.otf", "Nimbus Roman Italic", False),
    ("roboto/unhinted/RobotoTTF/Roboto-Regular.ttf", "Roboto", False),
]

WORDS = ("Sale Flash Deals Summer Winter Spring Autumn Best Seller Chef's Table Fresh "
         "Picks Limited Edition Free Shipping Today Only Breaking News Weekend Special "
         "Members Save Price Drop Last Chance Clearance Open Late Back in Stock Gift Guide "
         "Recipe of the Week Match Report Election Night Garden Market Coffee Bar Modern "
         "Living Travel Deals Island Escape Book Club Film Night Local Heroes Street Food "
         "Weekly Planner Home Office Night Owl Golden Hour Wild Ocean Mountain Trail").split()
NUMBERS = ["2026", "50% Off", "$19.99", "Only $9", "Up to 70%", "No. 5", "10 Days", "Save 30%", "$4.50"]

# The least luma standard deviation (0-255) of an image labelled ok_notext.
SCENE_MIN_LUMA_SD = 4.0
BACKGROUNDS = ["flat", "gradient", "photo", "stripes", "checks", "confetti", "bokeh"]
EFFECTS = ["none", "stroke", "shadow", "glow", "rotate", "perspective", "grain", "jpeg"]
TEXT_KINDS = ["lookalike", "drop", "double", "swap", "missing_word", "wrong_case", "extra",
              "garbled", "blank"]

LOOKALIKES = [("l", "1"), ("I", "1"), ("i", "1"), ("O", "0"), ("o", "0"), ("S", "5"), ("s", "5"),
              ("e", "c"), ("c", "e"), ("a", "o"), ("m", "rn"), ("rn", "m"), ("B", "8"),
              ("Z", "2"), ("g", "9"), ("G", "6"), ("u", "v"), ("h", "b"), ("E", "F"),
              ("1", "l"), ("0", "O"), ("5", "S"), ("n", "h"), ("t", "f")]
# Letters whose upper and lower case differ in shape, not only in size.
CASE_SHAPED = set("abdeghnqrtyABDEGHNQRTY")


def font_path(rel):
    for d in FONT_DIRS:
        p = os.path.join(d, rel)
        if os.path.exists(p):
            return p
    sys.exit("make_corpus.py: font %s not found under %s (bash scripts/install-deps.sh eval)"
             % (rel, " or ".join(FONT_DIRS)))


# ==== Colour ====

def _lin(v):
    v /= 255.0
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


LIN = [_lin(v) for v in range(256)]
LIN_LUT = [min(255, int(round(x * 255))) for x in LIN]


def lum(rgb):
    r, g, b = rgb[:3]
    return 0.2126 * LIN[r] + 0.7152 * LIN[g] + 0.0722 * LIN[b]


def ratio(l1, l2):
    a, b = max(l1, l2), min(l1, l2)
    return (a + 0.05) / (b + 0.05)


def rand_colour(rng, lo, hi):
    """A random colour whose relative luminance lies in [lo, hi]."""
    for _ in range(200):
        c = tuple(rng.randrange(256) for _ in range(3))
        if lo <= lum(c) <= hi:
            return c
    return (255, 255, 255) if hi > 0.5 else (0, 0, 0)


def lum_image(img):
    """Relative luminance as an 8-bit image (0..255 = 0..1)."""
    r, g, b = img.convert("RGB").split()
    return Image.merge("RGB", [ch.point(LIN_LUT) for ch in (r, g, b)]).convert(
        "L", matrix=(0.2126, 0.7152, 0.0722, 0))


def hist_median(h):
    n = sum(h)
    acc = 0
    for i, c in enumerate(h):
        acc += c
        if acc * 2 >= n:
            return i
    return 0


# ==== Backgrounds ====

def background(rng, kind, scheme):
    """scheme 'light' (dark text goes on it) or 'dark'."""
    lo, hi = (0.40, 1.0) if scheme == "light" else (0.0, 0.12)
    col = lambda: rand_colour(rng, lo, hi)
    if kind == "flat":
        return Image.new("RGB", (W, H), col())
    if kind == "gradient":
        g = Image.linear_gradient("L").rotate(rng.uniform(0, 360), resample=Image.BICUBIC, expand=False)
        g = g.crop((40, 40, 216, 216)).resize((W, H), Image.BICUBIC)
        return Image.composite(Image.new("RGB", (W, H), col()), Image.new("RGB", (W, H), col()), g)
    if kind == "photo":
        small = Image.new("RGB", (rng.randint(5, 9), rng.randint(4, 7)))
        small.putdata([col() for _ in range(small.width * small.height)])
        img = small.resize((W, H), Image.BICUBIC).filter(ImageFilter.GaussianBlur(rng.uniform(6, 20)))
        # blotches: a few soft blobs, like out-of-focus objects
        d = ImageDraw.Draw(img)
        for _ in range(rng.randint(3, 8)):
            r = rng.randint(30, 120)
            x, y = rng.randrange(W), rng.randrange(H)
            d.ellipse((x - r, y - r, x + r, y + r), fill=col())
        return img.filter(ImageFilter.GaussianBlur(rng.uniform(10, 25)))
    if kind == "stripes":
        a, b = col(), col()
        w = rng.randint(8, 40)
        big = Image.new("RGB", (2 * W, 2 * H), a)
        d = ImageDraw.Draw(big)
        for x in range(0, 2 * W, 2 * w):
            d.rectangle((x, 0, x + w - 1, 2 * H), fill=b)
        big = big.rotate(rng.choice([0, 45, -45, 90, 30, -60]), resample=Image.BICUBIC)
        return big.crop((W // 2, H // 2, W // 2 + W, H // 2 + H))
    if kind == "checks":
        a, b = col(), col()
        s = rng.randint(12, 48)
        img = Image.new("RGB", (W, H), a)
        d = ImageDraw.Draw(img)
        for y in range(0, H, s):
            for x in range(0, W, s):
                if ((x // s) + (y // s)) % 2:
                    d.rectangle((x, y, x + s - 1, y + s - 1), fill=b)
        return img
    if kind == "confetti":
        img = Image.new("RGB", (W, H), col())
        d = ImageDraw.Draw(img)
        for _ in range(rng.randint(200, 600)):
            x, y = rng.randrange(W), rng.randrange(H)
            s = rng.randint(2, 9)
            c = col()
            if rng.random() < 0.5:
                d.ellipse((x, y, x + s, y + s), fill=c)
            else:
                a = rng.uniform(0, math.pi)
                dx, dy = math.cos(a) * s, math.sin(a) * s
                d.line((x, y, x + dx, y + dy), fill=c, width=rng.randint(2, 4))
        return img
    if kind == "bokeh":
        img = Image.new("RGB", (W, H), col())
        d = ImageDraw.Draw(img)
        for _ in range(rng.randint(15, 40)):
            r = rng.randint(10, 60)
            x, y = rng.randrange(W), rng.randrange(H)
            d.ellipse((x - r, y - r, x + r, y + r), fill=col())
        return img.filter(ImageFilter.GaussianBlur(rng.uniform(3, 9)))
    raise ValueError(kind)


# ==== Text ====

def phrase(rng, caps_only):
    n = rng.choice([1, 2, 2, 3, 3])
    lines = []
    for _ in range(n):
        k = rng.choice([1, 2, 2, 3])
        ws = [rng.choice(WORDS) for _ in range(k)]
        if rng.random() < 0.2:
            ws.append(rng.choice(NUMBERS))
        style = rng.random()
        line = " ".join(ws)
        if caps_only or style < 0.3:
            line = line.upper()
        elif style < 0.45:
            line = line[0].upper() + line[1:].lower()
        lines.append(line)
    return lines


def mutate(rng, lines, kind, caps_only):
    """The drawn lines for a text mistake, or None when it does not apply."""
    li = rng.randrange(len(lines))
    s = lines[li]
    out = list(lines)
    letters = [i for i, ch in enumerate(s) if ch.isalpha()]
    if kind == "lookalike":
        opts = [(i, a, b) for a, b in LOOKALIKES for i in range(len(s)) if s.startswith(a, i)
                and not (caps_only and b.islower())]
        if not opts:
            return None
        i, a, b = rng.choice(opts)
        out[li] = s[:i] + b + s[i + len(a):]
    elif kind == "drop":
        if len(letters) < 3:
            return None
        i = rng.choice(letters)
        out[li] = s[:i] + s[i + 1:]
    elif kind == "double":
        if not letters:
            return None
        i = rng.choice(letters)
        out[li] = s[:i] + s[i] + s[i:]
    elif kind == "swap":
        opts = [i for i in range(len(s) - 1) if s[i].isalnum() and s[i + 1].isalnum() and s[i] != s[i + 1]]
        if not opts:
            return None
        i = rng.choice(opts)
        out[li] = s[:i] + s[i + 1] + s[i] + s[i + 2:]
    elif kind == "missing_word":
        multi = [k for k, l in enumerate(lines) if " " in l]
        if multi:
            li = rng.choice(multi)
            ws = lines[li].split(" ")
            del ws[rng.randrange(len(ws))]
            out[li] = " ".join(ws)
        elif len(lines) > 1:
            del out[li]
        else:
            return None
    elif kind == "wrong_case":
        if caps_only:
            return None
        opts = [i for i in letters if s[i] in CASE_SHAPED]
        if not opts:
            return None
        i = rng.choice(opts)
        out[li] = s[:i] + s[i].swapcase() + s[i + 1:]
    else:
        raise ValueError(kind)
    return out if out != lines else None


def same_pixels(font, expected, drawn):
    """True when the drawn lines put down the very pixels of the expected ones in this
    face: Bebas Neue draws O and 0 as one glyph, so "F0OD" in it is "FOOD" to any
    reader. Such an image is no mistake to catch; score.py counts it apart."""
    if len(expected) != len(drawn):
        return False
    asc, desc = font.getmetrics()
    for e, d in zip(expected, drawn):
        if e == d:
            continue
        w = int(max(font.getlength(e), font.getlength(d))) + 2 * asc
        ims = []
        for t in (e, d):
            im = Image.new("L", (w, 2 * (asc + desc)), 0)
            ImageDraw.Draw(im).text((asc, asc // 2), t, font=font, fill=255)
            ims.append(im)
        if ImageChops.difference(*ims).point(lambda v: 255 if v > 64 else 0).getbbox():
            return False
    return True


def line_layout(rng, lines, font, leading):
    """Per line (text, x, y) inside the inner 80% of the image, or None if it does not fit."""
    asc, desc = font.getmetrics()
    lh = int((asc + desc) * leading)
    widths = [font.getlength(l) for l in lines]
    bw, bh = max(widths), lh * (len(lines) - 1) + asc + desc
    ix0, iy0, ix1, iy1 = W * 0.1, H * 0.1, W * 0.9, H * 0.9
    if bw > ix1 - ix0 or bh > iy1 - iy0:
        return None
    x0 = rng.uniform(ix0, ix1 - bw)
    y0 = rng.uniform(iy0, iy1 - bh)
    align = rng.choice(["left", "centre", "centre", "right"])
    out = []
    for k, (l, w) in enumerate(zip(lines, widths)):
        x = x0 if align == "left" else x0 + (bw - w) / 2 if align == "centre" else x0 + bw - w
        out.append((l, x, y0 + k * lh))
    return out


def garble(rng, layer, mask, font, text, x, y, fill):
    """Replaces 2-3 letters of a word by glyph-like strokes (on the text layer and mask)."""
    opts = [i for i in range(len(text) - 2) if text[i:i + 2].isalpha()]
    if not opts:
        return False
    i = rng.choice(opts)
    n = rng.choice([2, 3]) if i + 3 <= len(text) and text[i + 2].isalpha() else 2
    xa = x + font.getlength(text[:i])
    xb = x + font.getlength(text[:i + n])
    asc, desc = font.getmetrics()
    box = (int(xa), int(y), int(math.ceil(xb)), int(y + asc + desc))
    dl = ImageDraw.Draw(layer)
    dm = ImageDraw.Draw(mask)
    dl.rectangle(box, fill=(0, 0, 0, 0))
    dm.rectangle(box, fill=0)
    top, base = y + asc * 0.3, y + asc
    width = max(2, int(asc * 0.12))
    for _ in range(rng.randint(3, 5)):
        pts = [(rng.uniform(xa + 1, xb - 1), rng.uniform(top, base)) for _ in range(rng.randint(2, 3))]
        dl.line(pts, fill=fill + (255,), width=width, joint="curve")
        dm.line(pts, fill=255, width=width)
    return True


def dilate(mask, r):
    return mask.filter(ImageFilter.MaxFilter(2 * r + 1)) if r > 0 else mask


def erode(mask, r):
    return mask.filter(ImageFilter.MinFilter(2 * r + 1))


def legible(bg, final, mask, need=4.5):
    """True when the fill contrasts >= 4.5:1 with 97% of the background under the glyphs
    and with the median of the ring around them, measured on the final image."""
    core = erode(mask.point(lambda v: 255 if v >= 200 else 0), 1)
    if core.getbbox() is None:
        core = mask.point(lambda v: 255 if v >= 200 else 0)
        if core.getbbox() is None:
            return False, 0.0
    lf = lum_image(final)
    fill = hist_median(lf.histogram(mask=core)) / 255.0
    under = dilate(mask.point(lambda v: 255 if v >= 40 else 0), 2)
    hb = lum_image(bg).histogram(mask=under)
    n = sum(hb)
    good = sum(c for i, c in enumerate(hb) if ratio(fill, i / 255.0) >= need)
    ring = ImageChops.subtract(dilate(under, 3), under)
    hr = lf.histogram(mask=ring)
    ring_lum = hist_median(hr) / 255.0
    worst = min(ratio(fill, ring_lum), ratio(fill, hist_median(hb) / 255.0))
    return n > 0 and good >= 0.97 * n and ratio(fill, ring_lum) >= need, worst


def inside_zone(mask):
    bb = mask.point(lambda v: 255 if v >= 40 else 0).getbbox()
    if bb is None:
        return True
    zx0, zy0 = W * (1 - SAFE_ZONE) / 2 + 4, H * (1 - SAFE_ZONE) / 2 + 4
    return bb[0] >= zx0 and bb[1] >= zy0 and bb[2] <= W - zx0 and bb[3] <= H - zy0


def draw_sample(rng, look, kind, bgk, eff):
    """One attempt at a sample on background bgk with effect eff: (image, label), or
    None when it came out illegible or outside the safe zone."""
    faces = TEXT_FACES if look == "plain" else DISPLAY_FACES + TEXT_FACES[:6]
    rel, family, caps = rng.choice(faces)
    scheme = rng.choice(["light", "dark"])
    bg = background(rng, bgk, scheme)
    fill = rand_colour(rng, 0.0, 0.03) if scheme == "light" else rand_colour(rng, 0.6, 1.0)

    expected = phrase(rng, caps)
    drawn = expected
    if kind in ("lookalike", "drop", "double", "swap", "missing_word", "wrong_case"):
        drawn = mutate(rng, expected, kind, caps)
        if drawn is None:
            return None
    label_expected = expected
    if kind == "unexpected":
        label_expected = []
    if kind in ("blank", "ok_notext"):
        drawn = []
        if kind == "ok_notext":
            label_expected = []

    size = rng.randint(40, 88) if look == "styled" else rng.randint(28, 60)
    leading = rng.uniform(0.95, 1.25) if look == "styled" else rng.uniform(1.15, 1.4)
    font = ImageFont.truetype(font_path(rel), size)
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    mask = Image.new("L", (W, H), 0)
    dl, dm = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
    lay = line_layout(rng, drawn, font, leading) if drawn else []
    if lay is None:
        return None
    sw = rng.randint(2, max(2, size // 14)) if eff == "stroke" else 0
    stroke = None
    if eff == "stroke":
        stroke = (0, 0, 0) if scheme == "dark" else (255, 255, 255)  # a halo in the ground's polarity
        if rng.random() < 0.5:
            stroke = rand_colour(rng, 0.0, 0.02) if scheme == "dark" else rand_colour(rng, 0.7, 1.0)
    for t, x, y in lay:
        if sw:
            dl.text((x, y), t, font=font, fill=fill + (255,), stroke_width=sw, stroke_fill=stroke + (255,))
        else:
            dl.text((x, y), t, font=font, fill=fill + (255,))
        dm.text((x, y), t, font=font, fill=255)
    extra_text = None
    if kind == "extra":
        # A hallucinated word or line elsewhere: not overlapping the text block.
        extra_text = rng.choice(WORDS + NUMBERS)
        if rng.random() < 0.4:
            extra_text += " " + rng.choice(WORDS)
        if caps:
            extra_text = extra_text.upper()
        ef = ImageFont.truetype(font_path(rel), max(24, int(size * rng.uniform(0.5, 0.9))))
        ew = ef.getlength(extra_text)
        asc, desc = ef.getmetrics()
        block = mask.getbbox()
        placed = False
        for _ in range(30):
            ex = rng.uniform(W * 0.08, W * 0.92 - ew)
            ey = rng.uniform(H * 0.08, H * 0.92 - asc - desc)
            if ex < W * 0.08:
                break
            if block and not (ex + ew < block[0] - 10 or ex > block[2] + 10 or ey + asc + desc < block[1] - 10
                              or ey > block[3] + 10):
                continue
            dl.text((ex, ey), extra_text, font=ef, fill=fill + (255,))
            dm.text((ex, ey), extra_text, font=ef, fill=255)
            placed = True
            break
        if not placed:
            return None
    garbled = None
    if kind == "garbled":
        k = rng.randrange(len(lay))
        t, x, y = lay[k]
        if not garble(rng, layer, mask, font, t, x, y, fill):
            return None
        garbled = t

    # Effects on the text layer (geometry) or the whole image (grain, jpeg).
    deco = None
    if eff == "shadow" and lay:
        dx, dy = rng.randint(2, 8), rng.randint(2, 8)
        a = layer.split()[3]
        sh = Image.new("L", (W, H), 0)
        sh.paste(a, (dx, dy))
        sh = sh.filter(ImageFilter.GaussianBlur(rng.uniform(0, 4)))
        shc = rand_colour(rng, 0.0, 0.02) if scheme == "dark" else rand_colour(rng, 0.75, 1.0)
        deco = (Image.new("RGB", (W, H), shc), sh.point(lambda v: int(v * rng.uniform(0.7, 1.0))))
    if eff == "glow" and lay:
        a = layer.split()[3]
        gl = dilate(a, rng.randint(2, 5)).filter(ImageFilter.GaussianBlur(rng.uniform(3, 8)))
        glc = rand_colour(rng, 0.0, 0.03) if scheme == "dark" else rand_colour(rng, 0.8, 1.0)
        deco = (Image.new("RGB", (W, H), glc), gl.point(lambda v: min(255, int(v * 1.6))))
    if eff == "rotate" and lay:
        angle = rng.choice([-1, 1]) * rng.uniform(1.0, 4.0)
        bb = mask.getbbox()
        centre = ((bb[0] + bb[2]) / 2, (bb[1] + bb[3]) / 2)
        layer = layer.rotate(angle, resample=Image.BICUBIC, center=centre)
        mask = mask.rotate(angle, resample=Image.BICUBIC, center=centre)
    if eff == "perspective" and lay:
        k1, k2 = rng.uniform(-0.00025, 0.00025), rng.uniform(-0.00015, 0.00015)
        sh = rng.uniform(-0.06, 0.06)
        # output (x, y) samples the layer at ((x + sh*y + c) / d, (y + f) / d), d = k1*x + k2*y + 1;
        # c and f keep the image centre in place
        cx, cy = W / 2, H / 2
        den = k1 * cx + k2 * cy + 1
        coeffs = (1, sh, cx * den - cx - sh * cy, 0, 1, cy * den - cy, k1, k2)
        layer = layer.transform((W, H), Image.PERSPECTIVE, coeffs, Image.BICUBIC)
        mask = mask.transform((W, H), Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    img = bg.copy()
    if deco:
        img.paste(deco[0], (0, 0), deco[1])
    img.paste(layer.convert("RGB"), (0, 0), layer.split()[3])
    if eff == "grain":
        sigma = rng.uniform(6, 18)
        n = Image.effect_noise((W, H), sigma)
        img = ImageChops.add(img, Image.merge("RGB", (n, n, n)), 1.0, -128)
    if eff == "jpeg":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(20, 45))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")

    worst = None
    if drawn or extra_text:
        if not inside_zone(mask):
            return None
        ok, worst = legible(bg, img, mask)
        if not ok:
            return None
    label = {"kind": kind, "look": look, "background": bgk, "effect": eff, "font": family,
             "expected": label_expected, "drawn": drawn, "safe_zone": SAFE_ZONE, "scheme": scheme,
             "size_px": size}
    if extra_text:
        label["extra_text"] = extra_text
    if garbled:
        label["garbled_line"] = garbled
    if worst is not None:
        label["contrast"] = round(worst, 2)
    if drawn != expected and drawn and same_pixels(font, expected, drawn):
        label["same_pixels"] = True
    return img, label


def kinds_for(n, rng):
    """ok in 4 of 10; the mistake kinds share the rest; a few images expect no text."""
    cycle = []
    others = TEXT_KINDS + ["unexpected", "ok_notext"]
    i = 0
    while len(cycle) < n:
        if i % 10 in (0, 3, 6, 8):
            cycle.append("ok")
        else:
            cycle.append(others[len([k for k in cycle if k != "ok"]) % len(others)])
        i += 1
    return cycle


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--look", choices=["styled", "plain"], required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--kinds", help="comma-separated kinds drawn in turn (a study corpus, "
                    "e.g. ok,lookalike); default: the evaluation mix of kinds_for")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed * 1000003 + (1 if a.look == "styled" else 2))
    if a.kinds:
        wanted = a.kinds.split(",")
        unknown = [k for k in wanted if k not in ["ok", "unexpected", "ok_notext"] + TEXT_KINDS]
        if unknown:
            sys.exit("make_corpus.py: --kinds: unknown kind %s" % ", ".join(unknown))
        kinds = [wanted[i % len(wanted)] for i in range(a.n)]
    else:
        kinds = kinds_for(a.n, rng)
    with open(os.path.join(a.out, "labels.jsonl"), "w") as lf, \
            open(os.path.join(a.out, "batch.jsonl"), "w") as bf:
        for i, kind in enumerate(kinds):
            # the look is fixed per sample (so redrawing does not bias the mix)
            bgk = "flat" if a.look == "plain" else rng.choice(BACKGROUNDS)
            eff = "none" if a.look == "plain" else rng.choice(EFFECTS)
            if kind == "ok_notext" and bgk == "flat":
                bgk = "photo"  # a uniform image with nothing on it is a blank render
            for attempt in range(200):
                got = draw_sample(rng, a.look, kind, bgk, eff)
                if got:
                    break
            else:
                sys.exit("make_corpus.py: could not draw a legible %s sample on %s with %s" % (kind, bgk, eff))
            img, label = got
            # A scene with nothing on it must still be a scene: a gradient between two
            # near-equal colours is a blank render, not an "ok" image. Redrawn with a
            # generator of its own, so the samples after it are the same as before.
            redraw = random.Random(a.seed * 7919 + i)
            while kind == "ok_notext" and ImageStat.Stat(img.convert("L")).stddev[0] < SCENE_MIN_LUMA_SD:
                img, label = draw_sample(redraw, a.look, kind, bgk, eff) or (img, label)
            name = "%04d.png" % i
            path = os.path.abspath(os.path.join(a.out, name))
            img.save(path, optimize=False, compress_level=1)
            label["image"] = path
            label["attempts"] = attempt + 1
            lf.write(json.dumps(label) + "\n")
            bf.write(json.dumps({"image": path, "text": label["expected"], "size": "%dx%d" % (W, H)}) + "\n")


if __name__ == "__main__":
    main()
