// Package openapi holds the OpenAPI v2 document that protoc-gen-openapiv2
// makes from the contract (`make proto`): its descriptions are the .proto
// files' comments, which the apiserver's Kubernetes-shaped OpenAPI reuses.
package openapi

import _ "embed"

// Swagger is skiff.swagger.json.
//
//go:embed skiff.swagger.json
var Swagger []byte
