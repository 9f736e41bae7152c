// Validate Kubernetes manifests against the API's JSON schemas (the kubernetes-models
// package: the OpenAPI schemas of Kubernetes, checked with ajv). Usage: node k8s_schema.js
// FILE... (NODE_PATH names the node_modules holding kubernetes-models and js-yaml).
// Prints "ok"/"FAIL" per document; exits 1 when one fails or has no schema here.
const fs = require('fs');
const yaml = require('js-yaml');
const apps = require('kubernetes-models/apps/v1');
const core = require('kubernetes-models/v1');
const kinds = { 'apps/v1:DaemonSet': apps.DaemonSet, 'apps/v1:Deployment': apps.Deployment,
  'v1:Namespace': core.Namespace, 'v1:ConfigMap': core.ConfigMap, 'v1:Service': core.Service };
let bad = 0;
for (const f of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(f, 'utf8'))) {
    if (!doc) continue;
    const K = kinds[doc.apiVersion + ':' + doc.kind];
    if (!K) { console.log(`FAIL ${f}: no schema for ${doc.apiVersion} ${doc.kind}`); bad++; continue; }
    try { new K(doc).validate(); console.log(`ok ${f}: ${doc.kind} ${doc.metadata.name}`); }
    catch (e) { console.log(`FAIL ${f}: ${doc.kind} ${doc.metadata && doc.metadata.name}: ${e.message}`); bad++; }
  }
}
process.exit(bad ? 1 : 0);
