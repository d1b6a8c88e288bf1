#!/usr/bin/env bash
# Regenerates the API contract in proto/: services.proto from the kinds
# table, then Go messages, gRPC stubs, REST gateway and the OpenAPI document
# with protoc and the pinned plugins in $TOOLS.
set -euo pipefail
cd "$(dirname "$0")/../proto"
TOOLS=${TOOLS:?TOOLS must point at the pinned protoc plugins}
export PATH="$TOOLS:$PATH"

# The generated files name the protoc release; pin it so that output is
# byte-identical on every machine (Debian 12's protobuf-compiler).
want="libprotoc 3.21.12"
have=$(protoc --version 2>/dev/null || echo "no protoc")
if [[ "$have" != "$want" ]]; then
  echo "make proto needs protoc '$want' (Debian 12: apt-get install protobuf-compiler), found '$have'" >&2
  exit 1
fi

go run ./internal/apigen -out .

files=$(find meta core apps batch coordination -name '*.proto' | sort)
protoc -I . -I third_party \
  --go_out=. --go_opt=module=skiff.dev/proto \
  --go-grpc_out=. --go-grpc_opt=module=skiff.dev/proto,require_unimplemented_servers=false \
  --grpc-gateway_out=. --grpc-gateway_opt=module=skiff.dev/proto \
  --openapiv2_out=openapi --openapiv2_opt=allow_merge=true,merge_file_name=skiff,json_names_for_fields=true \
  $files
