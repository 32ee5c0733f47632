package apidocs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// problemCodesExt is the response extension listing the problem codes a
// response may carry. The validator enforces it and the reference page shows it.
const problemCodesExt = "x-problem-codes"

// problemTypePrefix is how a problem's type is built from its code.
const problemTypePrefix = "urn:zsb:problem:"

// Validator holds real HTTP exchanges to the OpenAPI document. HTTP tests
// call Validate on every response they receive, so a handler cannot drift
// from the contract unnoticed. It is safe for concurrent use.
type Validator struct {
	router routers.Router
}

// NewValidator loads the document and builds a validator for it.
func NewValidator() (*Validator, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apidocs: build router: %w", err)
	}
	return &Validator{router: router}, nil
}

// Validate checks one exchange: the request the test sent (req, whose body is
// passed separately as reqBody because it has usually been consumed) and the
// response it got (status, respHeader, respBody). It returns nil when the
// exchange conforms, or an error listing every violation found.
//
// What it checks:
//
//   - The route and method are in the document; anything else is an error.
//   - The status is documented for the operation.
//   - Documented response headers marked required are present and valid
//     (ETag, Retry-After, Location).
//   - A JSON body (application/json or application/problem+json) matches the
//     response schema exactly, additionalProperties false included. A
//     non-JSON body (text/plain, application/yaml, text/html) must have a
//     documented media type and is not parsed. 204 and 304 must have no body.
//   - A problem's status equals the HTTP status, its type is
//     "urn:zsb:problem:<code>" and its code is one the response lists under
//     x-problem-codes.
//   - When the server accepted the request (status below 400), the request
//     itself must conform too: parameters, headers and body. A server that
//     accepts what the contract forbids is lax. Requests answered with 4xx or
//     5xx are not checked, since tests send invalid requests on purpose.
//
// Security requirements are not checked here (any credentials are accepted);
// the tests of authentication check them.
func (v *Validator) Validate(req *http.Request, reqBody []byte, status int, respHeader http.Header, respBody []byte) error {
	if req == nil {
		return errors.New("apidocs: nil request")
	}
	ctx := req.Context()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }

	exchange := fmt.Sprintf("%s %s → %d", req.Method, req.URL.RequestURI(), status)
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s: route not in the OpenAPI document: %w", exchange, err)
	}

	opts := &openapi3filter.Options{
		AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
		SkipSettingDefaults: true,
		MultiError:          true,
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    opts,
	}

	var errs []error
	if status < 400 {
		if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
			errs = append(errs, fmt.Errorf("request accepted but not conforming: %s", describe(err)))
		}
	}
	if err := validateResponse(ctx, input, status, respHeader, respBody); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s (operation %s): %w", exchange, route.Operation.OperationID, errors.Join(errs...))
}

// validateResponse checks the response half of an exchange.
func validateResponse(ctx context.Context, input *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	if header == nil {
		header = http.Header{}
	}
	ref := input.Route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("status %d is not documented for this operation", status)
	}
	resp := ref.Value

	if len(resp.Content) == 0 {
		// 204, 304: kin-openapi skips 304 entirely, so the headers are
		// checked here for both.
		var errs []error
		if len(body) != 0 {
			errs = append(errs, fmt.Errorf("response body must be empty, got %d bytes", len(body)))
		}
		for _, name := range sortedKeys(resp.Headers) {
			if h := resp.Headers[name].Value; h != nil && h.Required && header.Get(name) == "" {
				errs = append(errs, fmt.Errorf("response header %s is required", name))
			}
		}
		if status != http.StatusNotModified {
			if err := runResponseValidation(ctx, input, status, header, body, false); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}

	ct := header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("response Content-Type %q: %w (documented: %s)", ct, err, strings.Join(sortedKeys(resp.Content), ", "))
	}
	if resp.Content[mediaType] == nil {
		return fmt.Errorf("response Content-Type %q is not documented (documented: %s)", ct, strings.Join(sortedKeys(resp.Content), ", "))
	}
	isJSON := mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
	if !isJSON {
		var errs []error
		if len(body) == 0 {
			errs = append(errs, errors.New("response body is empty"))
		}
		if err := runResponseValidation(ctx, input, status, header, body, true); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	if err := runResponseValidation(ctx, input, status, header, body, false); err != nil {
		return err
	}
	if mediaType == "application/problem+json" {
		return checkProblem(resp, status, body)
	}
	return nil
}

// runResponseValidation runs kin-openapi's response validation.
func runResponseValidation(ctx context.Context, input *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte, skipBody bool) error {
	opts := *input.Options
	opts.IncludeResponseStatus = true
	opts.ExcludeResponseBody = skipBody
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return fmt.Errorf("response: %s", describe(err))
	}
	return nil
}

// checkProblem enforces what the schema alone cannot: the problem agrees with
// the HTTP status and carries a code this response documents.
func checkProblem(resp *openapi3.Response, status int, body []byte) error {
	var p struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("problem body: %w", err)
	}
	var errs []error
	if p.Status != status {
		errs = append(errs, fmt.Errorf("problem status %d differs from HTTP status %d", p.Status, status))
	}
	if want := problemTypePrefix + p.Code; p.Type != want {
		errs = append(errs, fmt.Errorf("problem type %q, want %q", p.Type, want))
	}
	if codes := problemCodes(resp); !slices.Contains(codes, p.Code) {
		errs = append(errs, fmt.Errorf("problem code %q is not documented for status %d (documented: %s)", p.Code, status, strings.Join(codes, ", ")))
	}
	return errors.Join(errs...)
}

// problemCodes returns the codes listed under x-problem-codes of a response.
func problemCodes(resp *openapi3.Response) []string {
	raw, _ := resp.Extensions[problemCodesExt].([]any)
	codes := make([]string, 0, len(raw))
	for _, c := range raw {
		if s, ok := c.(string); ok {
			codes = append(codes, s)
		}
	}
	return codes
}

// describe turns kin-openapi's errors into one line per violation, naming the
// JSON location, instead of dumping whole schemas.
func describe(err error) string {
	var lines []string
	var walk func(err error, prefix string)
	walk = func(err error, prefix string) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(x, prefix)
			}
		case *openapi3filter.RequestError:
			switch {
			case e.Parameter != nil:
				prefix += fmt.Sprintf("%s parameter %q: ", e.Parameter.In, e.Parameter.Name)
			case e.RequestBody != nil:
				prefix += "body: "
			}
			if e.Err == nil {
				lines = append(lines, prefix+e.Reason)
				return
			}
			if e.Reason != "" && e.Reason != e.Err.Error() && !isSchemaOrMulti(e.Err) {
				prefix += e.Reason + ": "
			}
			walk(e.Err, prefix)
		case *openapi3filter.ResponseError:
			if e.Err == nil {
				lines = append(lines, prefix+e.Reason)
				return
			}
			if e.Reason != "" {
				prefix += e.Reason + ": "
			}
			walk(e.Err, prefix)
		case *openapi3.SchemaError:
			where := "/" + strings.Join(e.JSONPointer(), "/")
			lines = append(lines, fmt.Sprintf("%sat %s: %s", prefix, where, e.Reason))
		default:
			lines = append(lines, prefix+err.Error())
		}
	}
	walk(err, "")
	return strings.Join(lines, "; ")
}

// isSchemaOrMulti reports whether err is a schema error or a list of errors,
// whose own messages say more than a generic reason would.
func isSchemaOrMulti(err error) bool {
	switch err.(type) {
	case *openapi3.SchemaError, openapi3.MultiError:
		return true
	}
	return false
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
