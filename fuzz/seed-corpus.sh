#!/usr/bin/env bash
# Builds small seed corpora for the fuzz targets from fixtures/ (git-ignored: fuzz/corpus/).
#
#   fuzz/seed-corpus.sh            # then: RUSTC_BOOTSTRAP=1 cargo fuzz run <target>
#
# decode_responses, json_path : every request and response body of fixtures/ (compact JSON, or
#                               the raw text of a non-JSON body), plus a few edge cases
# www_authenticate            : every www-authenticate value of fixtures/ plus hand-written ones
# retry_after                 : every retry-after value of fixtures/ plus hand-written ones
# paging                      : nothing; its input is a structured scenario the fuzzer builds
#
# Needs jq or python3 to read the fixtures. Re-running it rewrites the seeds, nothing else:
# files the fuzzer added to the corpora stay.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fixtures="$here/../fixtures"
corpus="$here/corpus"
mkdir -p "$corpus"/{decode_responses,www_authenticate,retry_after,json_path,paging}

# Prints, for one fixture file, one line per seed: `<kind>\t<value>` where the value is
# JSON-encoded (so that it fits on one line) and kind is body, text, auth or retry.
extract() {
    if command -v jq >/dev/null; then
        # A JSON-encoded string holds no raw tab or newline, so a tab joins the two fields.
        jq -r '
            (.request.body // empty | "body\t" + (tojson | tojson)),
            (.response.body // empty | "body\t" + (tojson | tojson)),
            (.response.body_text // empty | "text\t" + tojson),
            (.response.headers["www-authenticate"] // empty | "auth\t" + tojson),
            (.response.headers["retry-after"] // empty | "retry\t" + tojson)' "$1"
    elif command -v python3 >/dev/null; then
        python3 - "$1" <<'PY'
import json, sys
f = json.load(open(sys.argv[1], encoding="utf-8"))
req, resp = f.get("request", {}), f.get("response", {})
compact = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False)
for kind, value in (("body", req.get("body")), ("body", resp.get("body"))):
    if value is not None:
        print("body\t" + json.dumps(compact(value), ensure_ascii=False))
if "body_text" in resp:
    print("text\t" + json.dumps(resp["body_text"], ensure_ascii=False))
headers = resp.get("headers", {})
for name, kind in (("www-authenticate", "auth"), ("retry-after", "retry")):
    if name in headers:
        print(kind + "\t" + json.dumps(headers[name], ensure_ascii=False))
PY
    else
        echo "seed-corpus.sh: needs jq or python3 to read fixtures/" >&2
        exit 1
    fi
}

# Writes the JSON string literal $2 (decoded) to the file $1.
write_decoded() {
    if command -v jq >/dev/null; then
        jq -j -n --argjson s "$2" '$s' >"$1"
    else
        python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.argv[1]))' "$2" >"$1"
    fi
}

count=0
while IFS= read -r -d '' file; do
    rel="${file#"$fixtures"/}"
    name="${rel%.json}"
    name="${name//\//__}"
    n=0
    while IFS=$'\t' read -r kind value; do
        n=$((n + 1))
        case "$kind" in
            body | text)
                write_decoded "$corpus/decode_responses/$name.$n" "$value"
                cp "$corpus/decode_responses/$name.$n" "$corpus/json_path/$name.$n"
                ;;
            auth) write_decoded "$corpus/www_authenticate/$name.$n" "$value" ;;
            retry) write_decoded "$corpus/retry_after/$name.$n" "$value" ;;
        esac
        count=$((count + 1))
    done < <(extract "$file")
done < <(find "$fixtures" -name '*.json' -print0 | sort -z)

# Hand-written seeds: shapes the fixtures do not show.
printf '%s' '{"results":[],"links":null}' >"$corpus/decode_responses/extra.empty_page"
printf '%s' '{"results":[{"providerName":"TENANT","x":[1.5,-0.0,1e300]}],"totalCount":-1}' \
    >"$corpus/decode_responses/extra.unknown_floats"
printf '%s' '{"error":400,"errorCode":"X","parameters":[null,{"a":[]}],"badRequestDetail":{"fields":[]}}' \
    >"$corpus/decode_responses/extra.api_error"
printf '%s' 'Basic realm="x", Digest realm="a b", nonce="n/+=", algorithm=SHA-256-sess, qop="auth-int, auth", opaque=o, stale=TRUE, domain="/a /b"' \
    >"$corpus/www_authenticate/extra.two_schemes"
printf '%s' 'Negotiate abc==, Digest realm="r\"q\\", nonce=abc' >"$corpus/www_authenticate/extra.token68"
printf '%s' 'Sun, 06 Nov 1994 08:49:37 GMT' >"$corpus/retry_after/extra.imf_fixdate"
printf '%s' 'Sunday, 06-Nov-94 08:49:37 GMT' >"$corpus/retry_after/extra.rfc850"
printf '%s' 'Sun Nov  6 08:49:37 1994' >"$corpus/retry_after/extra.asctime"
printf '%s' ' 18446744073709551616 ' >"$corpus/retry_after/extra.overflow"
echo "seed-corpus.sh: $count seeds from fixtures/ (+9 hand-written) in $corpus"
