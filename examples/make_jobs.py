#!/usr/bin/python3
"""make_jobs.py — writes examples/jobs.jsonl, the example batch (make demo, benchmarks).

Deterministic: the same script always writes the same bytes. Run it with Debian's
python3 from the repository root or anywhere:

    /usr/bin/python3 examples/make_jobs.py            # rewrites examples/jobs.jsonl
    /usr/bin/python3 examples/make_jobs.py --check    # exit 1 if the file is stale

220 jobs: 50 avatar, 50 auto_preview, 60 thumbnail, 40 editorial, 20 paid, in a
shuffled (but fixed) order, as upstream would send them. Most carry overlay text:
some list it in "text", others only quote it in the prompt ('SALE' or "SALE"), and a
few avatars carry none (text: [], the verifier then checks image sanity only).
Every line is at most 24 characters so it fits a 768x512 (or 512x512) image, and
every palette is a background/ink pair with a WCAG contrast ratio of at least 4.5.
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "jobs.jsonl")
MAX_LINE = 24

# Brand palettes: [background, ink]; checked for contrast below.
PALETTES = [
    ["#0B3D91", "#FFFFFF"],  # navy / white
    ["#C8102E", "#FFFFFF"],  # red / white
    ["#111111", "#FFD200"],  # black / yellow
    ["#F5F1E8", "#1B1B1B"],  # cream / near-black
    ["#00563F", "#FFFFFF"],  # forest / white
    ["#FFFFFF", "#222222"],  # white / charcoal
    ["#1D1D3B", "#F2C14E"],  # midnight / gold
    ["#FFE600", "#111111"],  # yellow / black
]

AVATAR_SUBJECTS = [
    "a friendly corgi wearing round glasses, flat vector style",
    "a smiling astronaut helmet on a pastel background",
    "a minimalist fox head, geometric shapes",
    "a cheerful cactus in a terracotta pot, sticker style",
    "a retro robot face with big eyes",
    "an owl reading a book, soft watercolor",
    "a mountain sunrise inside a circle badge",
    "a cat in a tiny beret, line art",
    "a coffee cup with steam forming a heart",
    "a paper airplane over clouds, flat design",
]
AVATAR_TEXT = ["MAYA", "JO", "ALEX R", "TEAM BLUE", "DEV OPS", "KAI", "NOVA", "SAM", "LUNA",
               "ZED", "OLLIE", "MILO", "PIXEL", "ECHO", "RIVER"]

AUTO_SUBJECTS = [
    "a product shot of running shoes on a clean studio background",
    "a flat lay of summer dresses on linen",
    "a stack of hardcover books with a reading lamp",
    "a smartphone on a marble desk with soft shadows",
    "a bowl of fresh ramen, top view",
    "a bicycle leaning on a brick wall at golden hour",
    "a set of ceramic mugs in pastel colors",
    "a city skyline at dusk, wide shot",
    "a wooden cutting board with herbs and tomatoes",
    "a pair of wireless headphones on a desk",
]
AUTO_TEXT = [["NEW ARRIVALS"], ["SALE"], ["Shop Now"], ["50% OFF"], ["Free Shipping"],
             ["Just In"], ["$19.99"], ["Back in Stock"], ["LIMITED EDITION"], ["Only $9.99"],
             ["SUMMER SALE", "Up to 40% off"], ["NEW", "Spring Collection"]]

THUMB_SUBJECTS = [
    "a video thumbnail of a chef plating a dessert",
    "a video thumbnail of a hiker on a ridge at sunset",
    "a video thumbnail of a laptop with code on screen",
    "a video thumbnail of a vintage car in a garage",
    "a video thumbnail of a garden with raised beds",
    "a video thumbnail of a guitar on a stage under lights",
    "a video thumbnail of a living room makeover",
    "a video thumbnail of a science experiment with colorful liquids",
    "a video thumbnail of a marathon finish line",
    "a video thumbnail of a bakery counter with bread",
]
THUMB_TEXT = [["Chef's Table"], ["TOP 10 HIKES"], ["Learn C in 1 Hour"], ["Restoring a 1967 Mustang"],
              ["GROW MORE FOOD"], ["Live Tonight"], ["Before and After"], ["Try This at Home"],
              ["Race Day", "Full Recap"], ["Sourdough 101"], ["EPISODE 12"], ["5 Tips", "for Beginners"],
              ["WATCH NOW"], ["Budget Makeover", "Under $500"], ["How It Works"]]

EDITORIAL_SUBJECTS = [
    "an editorial illustration of a stock exchange floor",
    "an editorial photo of a city council meeting",
    "an editorial illustration of wind turbines on a hill",
    "an editorial photo of a crowded train platform",
    "an editorial illustration of a rocket launch",
    "an editorial photo of farmers at a market stall",
    "an editorial illustration of a data center aisle",
    "an editorial photo of a football stadium at night",
]
EDITORIAL_TEXT = [["Breaking: Markets Rally"], ["Council Votes Yes"], ["Wind Power Hits Record"],
                  ["Rail Strike Ends"], ["Liftoff"], ["Harvest Season"], ["The Cloud Gets Bigger"],
                  ["Final Score 3-1"], ["ELECTION 2026", "Live Results"], ["Opinion", "Why Cities Win"],
                  ["Weekend Edition"], ["Inside the Lab"], ["Rates Hold Steady"],
                  ["Storm Warning", "Coastal Areas"]]

PAID_SUBJECTS = [
    "a banner ad for a coffee subscription with beans and a mug",
    "a banner ad for noise cancelling headphones",
    "a banner ad for a weekend hotel getaway by the sea",
    "a banner ad for a fitness app with a runner",
    "a banner ad for a meal kit with fresh vegetables",
]
PAID_TEXT = [["50% OFF", "Today Only"], ["$19.99"], ["Book Now", "From $89"], ["Try It Free"],
             ["SALE", "Ends Sunday"], ["BUY 1 GET 1"], ["LIMITED TIME", "$29.99/mo"], ["Order Today"]]


def luminance(hex_colour):
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def quoted_prompt(subject, lines, quote):
    """Prompt that carries the text only as quoted strings."""
    words = " and ".join(f"{quote}{t}{quote}" for t in lines)
    return f"{subject}, with the words {words} in bold clean letters"


def make_job(rng, cls, n, subjects, texts, sizes, no_text=False):
    prefix = {"avatar": "avatar", "auto_preview": "auto", "thumbnail": "thumb",
              "editorial": "edit", "paid": "paid"}[cls]
    job = {"job_id": f"{prefix}-{n:04d}", "asset_class": cls}
    subject = rng.choice(subjects)
    if no_text:
        job["prompt"] = f"{subject}, no text"
        job["text"] = []
    else:
        lines = rng.choice(texts)
        style = rng.random()
        has_apostrophe = any("'" in t for t in lines)
        if style < 0.55:
            # Text given explicitly; the prompt describes the scene only.
            job["prompt"] = f"{subject}, with a bold headline"
            job["text"] = list(lines)
        elif style < 0.80 or has_apostrophe:
            job["prompt"] = quoted_prompt(subject, lines, '"')
        else:
            job["prompt"] = quoted_prompt(subject, lines, "'")
    job["size"] = rng.choice(sizes)
    if rng.random() < 0.35:
        job["seed"] = rng.randrange(1, 2**31)
    if rng.random() < 0.35:
        job["palette"] = list(rng.choice(PALETTES))
    if cls == "editorial" and not no_text and rng.random() < 0.25:
        job["min_contrast"] = 7.0
    if cls == "paid" and rng.random() < 0.3:
        job["safe_zone"] = 0.85
    if cls == "editorial" and n % 10 == 3:
        job["region"] = {"x": 0.05, "y": 0.15, "w": 0.9, "h": 0.7}
    if cls == "thumbnail" and n % 12 == 5:
        job["case_insensitive"] = True
    return job


def expected_text(job):
    """What the verifier will require: text, else the prompt's quoted strings."""
    if "text" in job:
        return job["text"]
    p = job["prompt"]
    q = '"' if '"' in p else "'"
    parts = p.split(q)
    return parts[1::2]


def build():
    rng = random.Random(20260401)
    jobs = []
    no_text = set(rng.sample(range(1, 51), 8))
    for n in range(1, 51):
        jobs.append(make_job(rng, "avatar", n, AVATAR_SUBJECTS, [[t] for t in AVATAR_TEXT],
                             ["512x512", "512x512", "768x512"], no_text=n in no_text))
    for n in range(1, 51):
        jobs.append(make_job(rng, "auto_preview", n, AUTO_SUBJECTS, AUTO_TEXT, ["768x512"]))
    for n in range(1, 61):
        jobs.append(make_job(rng, "thumbnail", n, THUMB_SUBJECTS, THUMB_TEXT,
                             ["768x512"] * 5 + ["1024x576"]))
    for n in range(1, 41):
        jobs.append(make_job(rng, "editorial", n, EDITORIAL_SUBJECTS, EDITORIAL_TEXT,
                             ["768x512"] * 4 + ["1024x576"]))
    for n in range(1, 21):
        jobs.append(make_job(rng, "paid", n, PAID_SUBJECTS, PAID_TEXT, ["768x512"]))
    rng.shuffle(jobs)

    for pal in PALETTES:
        assert contrast(*pal) >= 4.5, f"palette {pal}: contrast {contrast(*pal):.2f} < 4.5"
    ids = set()
    for job in jobs:
        assert job["job_id"] not in ids, job["job_id"]
        ids.add(job["job_id"])
        lines = expected_text(job)
        assert len(lines) <= 3 and all(0 < len(t) <= MAX_LINE for t in lines), (job["job_id"], lines)
        if "text" not in job:
            assert lines, f"{job['job_id']}: no quoted text in the prompt"
    return jobs


def render(jobs):
    return "".join(json.dumps(j, separators=(", ", ": "), ensure_ascii=False) + "\n" for j in jobs)


def main():
    text = render(build())
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{OUT} is stale: run /usr/bin/python3 examples/make_jobs.py", file=sys.stderr)
                return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
