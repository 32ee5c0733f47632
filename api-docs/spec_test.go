package apidocs

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// loadDoc loads the document or stops the test.
func loadDoc(tb testing.TB) *openapi3.T {
	tb.Helper()
	doc, err := Load()
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

// eachOp calls fn for every operation of the document, in a fixed order.
func eachOp(doc *openapi3.T, fn func(method, path string, item *openapi3.PathItem, op *openapi3.Operation)) {
	for _, path := range doc.Paths.Keys() {
		item := doc.Paths.Value(path)
		for _, method := range methodOrder {
			if op := item.GetOperation(method); op != nil {
				fn(method, path, item, op)
			}
		}
	}
}

func TestSpecIsValid(t *testing.T) {
	doc := loadDoc(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if doc.Info.Title != "开工直通车 · 掌上办 BFF" || doc.Info.Version != "1.0.0" {
		t.Errorf("info = %q %q", doc.Info.Title, doc.Info.Version)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/" {
		t.Errorf("servers = %v, want [/]", doc.Servers)
	}
}

// TestSpecRoutes pins the route list of the contract: a route is added or
// removed here and in contract.md together.
func TestSpecRoutes(t *testing.T) {
	want := []string{
		"POST /v1/auth/login", "POST /v1/auth/refresh", "POST /v1/auth/logout",
		"GET /v1/me",
		"PUT /v1/me/devices/{installation_id}", "DELETE /v1/me/devices/{installation_id}",
		"GET /v1/me/push-preferences", "PUT /v1/me/push-preferences",
		"GET /v1/me/notifications", "POST /v1/me/notifications/{id}/read", "POST /v1/me/notifications/read-all",
		"GET /v1/catalog", "POST /v1/guide/preview",
		"GET /v1/projects", "GET /v1/projects/{project_id}", "GET /v1/projects/{project_id}/progress",
		"GET /v1/projects/{project_id}/guide", "GET /v1/projects/{project_id}/next-steps",
		"GET /v1/projects/{project_id}/timeline", "POST /v1/projects/{project_id}/help-requests",
		"GET /v1/agent/tasks", "POST /v1/agent/tasks/{task_id}/claim", "POST /v1/agent/tasks/{task_id}/complete",
		"POST /v1/upstream/events",
		"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.yaml", "GET /docs",
	}
	var got []string
	eachOp(loadDoc(t), func(method, path string, _ *openapi3.PathItem, _ *openapi3.Operation) {
		got = append(got, method+" "+path)
	})
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("routes:\n got %v\nwant %v", got, want)
	}
}

// noClientErrors are the operations allowed to list no 4xx response: the
// operational probes and the public catalog take no input and no
// credentials, so nothing a client sends can be wrong.
var noClientErrors = []string{"getHealth", "getReadiness", "getOpenAPISpec", "getDocs", "getCatalog"}

func TestSpecOperationsLint(t *testing.T) {
	doc := loadDoc(t)
	templateParam := regexp.MustCompile(`\{([^}]+)\}`)
	eachOp(doc, func(method, path string, item *openapi3.PathItem, op *openapi3.Operation) {
		name := method + " " + path
		if op.OperationID == "" {
			t.Errorf("%s: no operationId", name)
		}
		if strings.TrimSpace(op.Summary) == "" {
			t.Errorf("%s: no summary", name)
		}
		if len(op.Tags) != 1 || !slices.ContainsFunc(doc.Tags, func(tag *openapi3.Tag) bool { return tag.Name == op.Tags[0] }) {
			t.Errorf("%s: tags %v, want exactly one declared tag", name, op.Tags)
		}
		has4xx := false
		for _, status := range op.Responses.Keys() {
			if strings.HasPrefix(status, "4") {
				has4xx = true
			}
		}
		if !has4xx && !slices.Contains(noClientErrors, op.OperationID) {
			t.Errorf("%s: no 4xx response", name)
		}

		// Path parameters: every template variable is declared, and nothing else.
		declared := map[string]bool{}
		for _, ref := range append(slices.Clone(item.Parameters), op.Parameters...) {
			if ref.Value.In == openapi3.ParameterInPath {
				declared[ref.Value.Name] = true
			}
		}
		var inTemplate []string
		for _, m := range templateParam.FindAllStringSubmatch(path, -1) {
			inTemplate = append(inTemplate, m[1])
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q not declared", name, m[1])
			}
		}
		for p := range declared {
			if !slices.Contains(inTemplate, p) {
				t.Errorf("%s: declared path parameter %q not in the path", name, p)
			}
		}

		// Request bodies reject unknown fields, at every level.
		if rb := op.RequestBody; rb != nil {
			if !rb.Value.Required {
				t.Errorf("%s: request body not required", name)
			}
			for mt, media := range rb.Value.Content {
				if mt != "application/json" {
					t.Errorf("%s: request body media type %s, want application/json", name, mt)
				}
				checkClosedObjects(t, name+" request body", media.Schema, nil)
			}
		}

		// Responses: JSON objects are closed too (maps aside), so extra
		// fields such as an echoed push_token are caught.
		for status, ref := range op.Responses.Map() {
			for mt, media := range ref.Value.Content {
				if mt == "application/json" || mt == "application/problem+json" {
					checkClosedObjects(t, name+" "+status+" response", media.Schema, nil)
				}
			}
		}
	})
}

// checkClosedObjects reports every object schema under ref that does not set
// additionalProperties: false (an explicit additionalProperties schema, a map,
// is allowed).
func checkClosedObjects(t *testing.T, where string, ref *openapi3.SchemaRef, seen []*openapi3.Schema) {
	t.Helper()
	if ref == nil || ref.Value == nil || slices.Contains(seen, ref.Value) {
		return
	}
	s := ref.Value
	seen = append(seen, s)
	if s.Type.Is(openapi3.TypeObject) {
		ap := s.AdditionalProperties
		if ap.Schema == nil && (ap.Has == nil || *ap.Has) {
			t.Errorf("%s: object %s does not set additionalProperties: false", where, ref.Ref)
		}
	}
	for _, p := range sortedKeys(s.Properties) {
		checkClosedObjects(t, where+"."+p, s.Properties[p], seen)
	}
	checkClosedObjects(t, where+"[]", s.Items, seen)
	checkClosedObjects(t, where+"{}", s.AdditionalProperties.Schema, seen)
	for _, sub := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf) {
		checkClosedObjects(t, where, sub, seen)
	}
}

// modelCodes returns the Code constants declared in models/errors.go.
func modelCodes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../models/errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					codes = append(codes, s)
				}
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("no Code constants found in models/errors.go")
	}
	return codes
}

// reservedCodes are codes of models/errors.go that no v1 response carries.
// forbidden stays out because the contract answers 404, never 403, for what
// the caller may not see; the Validator then rejects any 403.
var reservedCodes = []string{"forbidden"}

func TestSpecProblemCodes(t *testing.T) {
	doc := loadDoc(t)
	var enum []string
	for _, e := range doc.Components.Schemas["ProblemCode"].Value.Enum {
		enum = append(enum, e.(string))
	}
	models := modelCodes(t)
	slices.Sort(enum)
	slices.Sort(models)
	if !slices.Equal(enum, models) {
		t.Errorf("ProblemCode enum differs from models/errors.go:\n spec   %v\n models %v", enum, models)
	}

	used := map[string]bool{}
	eachOp(doc, func(method, path string, _ *openapi3.PathItem, op *openapi3.Operation) {
		for status, ref := range op.Responses.Map() {
			r := ref.Value
			codes := problemCodes(r)
			for _, c := range codes {
				used[c] = true
				if !slices.Contains(enum, c) {
					t.Errorf("%s %s %s: x-problem-codes lists unknown code %q", method, path, status, c)
				}
			}
			isProblem := r.Content["application/problem+json"] != nil
			if isProblem != (len(codes) > 0) {
				t.Errorf("%s %s %s: problem+json and x-problem-codes must go together", method, path, status)
			}
			if status >= "400" && !isProblem && op.OperationID != "getReadiness" {
				t.Errorf("%s %s %s: error response is not application/problem+json", method, path, status)
			}
			if (status == "429" || status == "503") && isProblem && r.Headers["Retry-After"] == nil {
				t.Errorf("%s %s %s: no Retry-After header", method, path, status)
			}
		}
	})
	for _, c := range enum {
		switch {
		case slices.Contains(reservedCodes, c) && used[c]:
			t.Errorf("reserved code %q is listed by a response", c)
		case !slices.Contains(reservedCodes, c) && !used[c]:
			t.Errorf("code %q is listed by no response", c)
		}
	}
}

func TestSpecSecurity(t *testing.T) {
	doc := loadDoc(t)
	public := map[string]string{ // operationId → the scheme it uses instead of bearerAuth ("" for none)
		"login": "", "refreshTokens": "", "receiveUpstreamEvent": "upstreamSignature",
		"getHealth": "", "getReadiness": "", "getMetrics": "", "getOpenAPISpec": "", "getDocs": "", "getCatalog": "",
	}
	eachOp(doc, func(method, path string, _ *openapi3.PathItem, op *openapi3.Operation) {
		reqs := doc.Security
		if op.Security != nil {
			reqs = *op.Security
		}
		var schemes []string
		for _, r := range reqs {
			schemes = append(schemes, sortedKeys(r)...)
		}
		want, isPublic := public[op.OperationID]
		switch {
		case !isPublic && !slices.Equal(schemes, []string{"bearerAuth"}):
			t.Errorf("%s %s: security %v, want bearerAuth", method, path, schemes)
		case isPublic && want == "" && len(schemes) != 0:
			t.Errorf("%s %s: security %v, want none", method, path, schemes)
		case isPublic && want != "" && !slices.Equal(schemes, []string{want}):
			t.Errorf("%s %s: security %v, want %s", method, path, schemes, want)
		}
		if slices.Contains(schemes, "bearerAuth") && op.Responses.Value("401") == nil {
			t.Errorf("%s %s: bearer route without 401", method, path)
		}
	})
}

// TestSpecConventions checks the list and caching conventions.
func TestSpecConventions(t *testing.T) {
	doc := loadDoc(t)
	eachOp(doc, func(method, path string, _ *openapi3.PathItem, op *openapi3.Operation) {
		name := method + " " + path
		if op.Parameters.GetByInAndName("query", "cursor") != nil {
			if op.Parameters.GetByInAndName("query", "limit") == nil {
				t.Errorf("%s: cursor without limit", name)
			}
			page := op.Responses.Value("200").Value.Content["application/json"].Schema.Value
			if nc := page.Properties["next_cursor"]; nc == nil || !nc.Value.Nullable || !slices.Contains(page.Required, "next_cursor") {
				t.Errorf("%s: list response needs a required, nullable next_cursor", name)
			}
			if !slices.Contains(page.Required, "items") {
				t.Errorf("%s: list response needs items", name)
			}
		}
		if op.Responses.Value("304") != nil {
			if op.Parameters.GetByInAndName("header", "If-None-Match") == nil {
				t.Errorf("%s: 304 without If-None-Match", name)
			}
			if op.Responses.Value("200").Value.Headers["ETag"] == nil {
				t.Errorf("%s: 304 without an ETag on 200", name)
			}
		}
	})
	for _, id := range []string{"getProject", "getProjectProgress", "getProjectGuide"} {
		found := false
		eachOp(doc, func(_, _ string, _ *openapi3.PathItem, op *openapi3.Operation) {
			if op.OperationID == id {
				found = op.Responses.Value("304") != nil
			}
		})
		if !found {
			t.Errorf("%s: project reads answer 304", id)
		}
	}
}

// TestSpecNoAbsoluteURLs keeps host names (and so external references) out of
// the document.
func TestSpecNoAbsoluteURLs(t *testing.T) {
	if s := string(Spec()); strings.Contains(s, "://") {
		t.Error("openapi.yaml contains an absolute URL")
	}
}
