#!/usr/bin/env bash
# The seed system's upload workflow: every plugin built under packages/plugins (or the
# directory given) goes to <bucket>/plugins/<name>.wasm. A thin wrapper over `plugmill upload`.
#
#   AWS_ENDPOINT_URL=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
#   BUCKET=my-bucket scripts/upload_plugins_to_s3.sh [PLUGINS_DIR]
#
# The seed's environment works unchanged: the bucket from AWS_S3_PUBLIC_BUCKET and the store
# from AWS_S3_PRIVATE_URI, AWS_S3_ACCESS_KEY and AWS_S3_ACCESS_SECRET. BUCKET wins when both
# name a bucket.
set -euo pipefail

BUCKET="${BUCKET:-${AWS_S3_PUBLIC_BUCKET:-}}"
: "${BUCKET:?set BUCKET (or AWS_S3_PUBLIC_BUCKET, as the seed) to the bucket name}"
dir="${1:-packages/plugins}"
plugmill="${PLUGMILL:-plugmill}"
if ! command -v "$plugmill" >/dev/null; then
    plugmill="cargo run --quiet --manifest-path $(dirname "$0")/../Cargo.toml -p plugmill-cli --"
fi
exec $plugmill --plugins "s3://${BUCKET}/plugins/" upload --workspace "$dir"
