#!/bin/bash
# The Kubernetes manifests (contrib/kubernetes) validated against Kubernetes' own schemas:
# kubernetes-models (the API's OpenAPI schemas, checked with ajv) from the npm registry,
# installed once into the build tree. A manifest that breaks the schema (a string port, a
# misspelt field of a typed object) fails here; what a cluster would do with it beyond the
# schema is not tested (no cluster on the test machines). Skipped when node/npm are missing
# or the registry cannot be reached.
srcdir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$srcdir/lib.sh"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	op_skip "node or npm missing (nodejs)"
fi
dir=$top_builddir/tests/ops/k8s-schema
mkdir -p "$dir"
if [ ! -d "$dir/node_modules/kubernetes-models" ] || [ ! -d "$dir/node_modules/js-yaml" ]; then
	(cd "$dir" && timeout 300 npm install --no-audit --no-fund --silent \
		kubernetes-models@4.5.1 js-yaml@4.1.0 >npm.log 2>&1) ||
		op_skip "npm install kubernetes-models failed (registry unreachable?): $(tail -n 3 "$dir/npm.log" | tr '\n' ' ')"
fi
export NODE_PATH=$dir/node_modules
node "$srcdir/k8s_schema.js" "$top_srcdir"/contrib/kubernetes/*.yaml ||
	op_fail "a manifest does not match the Kubernetes schema"
# the check itself can fail: a string where the schema wants an integer
op_make_tmp
sed 's/containerPort: 5000/containerPort: "5000"/' "$top_srcdir/contrib/kubernetes/function-deployment.yaml" >"$tmp/bad.yaml"
grep -q 'containerPort: "5000"' "$tmp/bad.yaml" || op_fail "the negative control was not made"
if node "$srcdir/k8s_schema.js" "$tmp/bad.yaml" >"$tmp/bad.out" 2>&1; then
	op_fail "a string containerPort passed the schema check"
fi
grep -q "containerPort must be integer" "$tmp/bad.out" || op_fail "unexpected output: $(cat "$tmp/bad.out")"
op_ok "manifests valid; a string containerPort is refused"
