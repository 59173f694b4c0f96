#!/usr/bin/env node
// validate.js — checks Kubernetes objects against the API's OpenAPI schemas
// (kubernetes-models: types, required fields, enums, formats) and KEDA's and
// prometheus-operator's CRD schemas. Reads a JSON array of objects (the output of
// `kubectl kustomize`, converted) on stdin; prints one line per invalid object and
// exits 1 when any is. Used by tests/integration/test_deploy_manifests.sh.
"use strict";
const CRDS = {
  "keda.sh/": "@kubernetes-models/keda/",
  "monitoring.coreos.com/": "@kubernetes-models/prometheus-operator/",
};

function modelFor(apiVersion, kind) {
  let mod = null;
  for (const [prefix, pkg] of Object.entries(CRDS))
    if (apiVersion.startsWith(prefix)) mod = pkg + apiVersion;
  if (!mod) mod = "kubernetes-models/" + apiVersion; // "v1", "apps/v1", "policy/v1"
  try {
    return require(mod)[kind] || null;
  } catch (e) {
    return null;
  }
}

const docs = JSON.parse(require("fs").readFileSync(0, "utf8"));
let bad = 0;
for (const d of docs) {
  const where = `${d.kind}/${d.metadata && d.metadata.name}`;
  const Model = d.apiVersion && d.kind ? modelFor(d.apiVersion, d.kind) : null;
  if (!Model) {
    console.log(`${where}: no schema for apiVersion ${d.apiVersion} kind ${d.kind}`);
    bad++;
    continue;
  }
  try {
    new Model(d).validate();
  } catch (e) {
    console.log(`${where}: does not match the ${d.apiVersion} ${d.kind} schema: ${e.message.split("\n").join("; ")}`);
    bad++;
  }
}
if (!bad) console.log(`${docs.length} objects valid against their schemas`);
process.exit(bad ? 1 : 0);
