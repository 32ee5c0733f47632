// Package apidocs holds the mobile contract as code: the OpenAPI document
// (openapi.yaml), the offline API reference page rendered from it, and a
// validator that holds real requests and responses to it in tests.
//
// openapi.yaml is the machine-readable form of shared/design/contract.md; the
// handlers are written to match it, not the other way round.
package apidocs

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var spec []byte

// Spec returns the OpenAPI document as YAML, byte for byte as written, for
// GET /openapi.yaml. Each call returns a fresh copy, so callers may keep or
// modify it.
func Spec() []byte {
	return bytes.Clone(spec)
}

// Load parses and validates the OpenAPI document. Each call returns a new
// document that the caller owns. It fails only if openapi.yaml is broken,
// which the package's tests rule out.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(Spec())
	if err != nil {
		return nil, fmt.Errorf("apidocs: parse openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apidocs: invalid openapi.yaml: %w", err)
	}
	return doc, nil
}
