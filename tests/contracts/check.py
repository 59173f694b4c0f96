#!/usr/bin/env python3
"""check.py DIR — validates captured provider requests against the request schemas here.

Each DIR/*.json is one request as it went over the wire (written by
tests/unit/test_provider_contracts.c from a real HTTP exchange): provider, case, method,
path, content_type, body_b64, expect ("valid" or "reject"). A "valid" request must pass
its provider's schema; a "reject" one (a deliberate drift) must fail it. Then the
self-check: every valid request with one extra field added must fail too, so a schema
that lets anything through cannot pass. Exit 1 on any mismatch, naming each.
"""
import base64, email.parser, email.policy, glob, json, os, re, sys

from jsonschema import Draft202012Validator

HERE = os.path.dirname(os.path.abspath(__file__))
PATHS = {
    "openai": re.compile(r"^/v1/images/generations$"),
    "stability": re.compile(r"^/v2beta/stable-image/generate/sd3$"),
    "a1111": re.compile(r"^/sdapi/v1/txt2img$"),
    "vertex": re.compile(r"^/v1/projects/[^/]+/locations/[^/]+/publishers/google/models/([^/:]+):predict$"),
    "raw": re.compile(r"^/render$"),
}
NO_NEGATIVE = re.compile(r"^(imagen-3\.0-generate-002|imagen-4)")


def body_of(rec):
    raw = base64.b64decode(rec["body_b64"])
    if rec["provider"] == "stability":
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + rec["content_type"].encode() + b"\r\n\r\n" + raw)
        if not msg.is_multipart():
            raise ValueError("expected multipart/form-data, found " + rec["content_type"])
        fields = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name in fields:
                raise ValueError("form field %s twice" % name)
            fields[name] = part.get_payload(decode=True).decode("utf-8")
        return fields
    return json.loads(raw)


def problems(rec, body, validator):
    errs = [e.message for e in validator.iter_errors(body)]
    m = PATHS[rec["provider"]].match(rec["path"])
    if rec["method"] != "POST":
        errs.append("method %s, expected POST" % rec["method"])
    if not m:
        errs.append("path %s is not the provider's" % rec["path"])
    if rec["provider"] == "stability" and "seed" in body and body["seed"].isdigit() and int(body["seed"]) > 4294967294:
        errs.append("seed above 4294967294")
    if rec["provider"] == "vertex" and m and NO_NEGATIVE.match(m.group(1)) and "negativePrompt" in body.get("parameters", {}):
        errs.append("negativePrompt on %s, which does not take one" % m.group(1))
    return errs


def drifted(rec, body):
    body = json.loads(json.dumps(body))
    if rec["provider"] == "vertex":
        body.setdefault("parameters", {})["guidanceScale"] = 9
    else:
        body["x_pressroom_drift"] = "1"
    return body


def main():
    files = sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))
    schemas = {p: Draft202012Validator(json.load(open(os.path.join(HERE, p + ".schema.json")))) for p in PATHS}
    for v in schemas.values():
        Draft202012Validator.check_schema(v.schema)
    bad, seen = [], {}
    for f in files:
        rec = json.load(open(f))
        name = "%s/%s" % (rec["provider"], rec["case"])
        try:
            body = body_of(rec)
        except ValueError as e:
            bad.append("%s: %s" % (name, e))
            continue
        errs = problems(rec, body, schemas[rec["provider"]])
        if rec["expect"] == "valid" and errs:
            bad.append("%s: rejected by %s.schema.json: %s\n    request: %s" % (name, rec["provider"], "; ".join(errs), json.dumps(body)[:400]))
        if rec["expect"] == "reject" and not errs:
            bad.append("%s: a drifted request passed %s.schema.json: %s" % (name, rec["provider"], json.dumps(body)[:400]))
        if rec["expect"] == "valid":
            seen[rec["provider"]] = seen.get(rec["provider"], 0) + 1
            if not problems(rec, drifted(rec, body), schemas[rec["provider"]]):
                bad.append("%s: self-check: the schema accepts the request with an extra field" % name)
    for p in PATHS:
        if not seen.get(p):
            bad.append("%s: no valid request captured" % p)
    print("contracts: %d requests checked (%s)" % (len(files), ", ".join("%s %d" % kv for kv in sorted(seen.items()))))
    for b in bad:
        print("FAIL " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
