package apidocs

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed docs.html.tmpl
var docsTemplate string

// methodOrder is the order operations of one path appear in on the page.
var methodOrder = []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete}

// maxSchemaDepth bounds how deep nested fields are expanded on the page.
const maxSchemaDepth = 8

var (
	docsOnce sync.Once
	docsPage []byte
)

// DocsHTML returns the API reference page for GET /docs: static HTML rendered
// once from the OpenAPI document, with its CSS inline and no script, font or
// stylesheet from anywhere else, so it works offline and under a strict
// Content-Security-Policy. Each call returns a fresh copy.
func DocsHTML() []byte {
	docsOnce.Do(func() {
		page, err := renderDocs()
		if err != nil {
			// Unreachable while the package's tests pass; still answer
			// something a person can read.
			page = []byte("<!doctype html><meta charset=\"utf-8\"><title>API reference</title><p>" +
				template.HTMLEscapeString(err.Error()) + "</p><p>The document itself is at <a href=\"/openapi.yaml\">/openapi.yaml</a>.</p>")
		}
		docsPage = page
	})
	return bytes.Clone(docsPage)
}

// renderDocs builds the page from the parsed document.
func renderDocs() ([]byte, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("docs").Parse(docsTemplate)
	if err != nil {
		return nil, fmt.Errorf("apidocs: docs template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, buildPage(doc)); err != nil {
		return nil, fmt.Errorf("apidocs: render docs: %w", err)
	}
	return buf.Bytes(), nil
}

// page is what the template renders.
type page struct {
	Title       string
	Version     string
	Description []block
	Tags        []tagView
	Codes       []codeView
	Problem     *fieldView
}

// block is one paragraph or bullet list of a description.
type block struct {
	Text  string
	Items []string
}

// tagView is one tag with its operations.
type tagView struct {
	Name        string
	Description string
	Ops         []opView
}

// opView is one operation.
type opView struct {
	Anchor      string
	Method      string
	Path        string
	ID          string
	Summary     string
	Description []block
	Auth        string
	Params      []paramView
	Body        *bodyView
	Responses   []responseView
}

// paramView is one parameter or response header.
type paramView struct {
	Name        string
	In          string
	Required    bool
	Type        string
	Notes       string
	Description string
}

// bodyView is a request body.
type bodyView struct {
	MediaType string
	Fields    fieldView
}

// responseView is one documented status of an operation.
type responseView struct {
	Status      string
	StatusText  string
	Class       string
	Description string
	Headers     []paramView
	MediaType   string
	Fields      *fieldView
	Problem     bool
	Codes       []string
}

// fieldView is one node of a schema rendered as a nested field list.
type fieldView struct {
	Name        string
	Type        string
	Required    bool
	Nullable    bool
	Notes       string
	Description string
	Children    []fieldView
}

// codeView is one problem code and the statuses that carry it.
type codeView struct {
	Code     string
	Statuses string
}

// buildPage turns the document into the page's view model.
func buildPage(doc *openapi3.T) page {
	p := page{
		Title:       doc.Info.Title,
		Version:     doc.Info.Version,
		Description: blocks(doc.Info.Description),
	}
	byTag := map[string]*tagView{}
	for _, t := range doc.Tags {
		p.Tags = append(p.Tags, tagView{Name: t.Name, Description: t.Description})
	}
	for i := range p.Tags {
		byTag[p.Tags[i].Name] = &p.Tags[i]
	}
	codeStatuses := map[string][]string{}
	for _, path := range pathsInSpecOrder(doc) {
		item := doc.Paths.Value(path)
		for _, method := range methodOrder {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			ov := buildOp(doc, path, method, item, op)
			for _, r := range ov.Responses {
				for _, c := range r.Codes {
					if !slices.Contains(codeStatuses[c], r.Status) {
						codeStatuses[c] = append(codeStatuses[c], r.Status)
					}
				}
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			tv := byTag[tag]
			if tv == nil {
				p.Tags = append(p.Tags, tagView{Name: tag})
				// Appending may move the slice: rebuild the index.
				for i := range p.Tags {
					byTag[p.Tags[i].Name] = &p.Tags[i]
				}
				tv = byTag[tag]
			}
			tv.Ops = append(tv.Ops, ov)
		}
	}
	if s := doc.Components.Schemas["Problem"]; s != nil {
		f := buildField("problem", s, true, 0, nil)
		p.Problem = &f
	}
	if s := doc.Components.Schemas["ProblemCode"]; s != nil && s.Value != nil {
		for _, e := range s.Value.Enum {
			c := fmt.Sprint(e)
			st := codeStatuses[c]
			slices.Sort(st)
			p.Codes = append(p.Codes, codeView{Code: c, Statuses: strings.Join(st, ", ")})
		}
	}
	return p
}

// buildOp renders one operation.
func buildOp(doc *openapi3.T, path, method string, item *openapi3.PathItem, op *openapi3.Operation) opView {
	ov := opView{
		Anchor:      "op-" + op.OperationID,
		Method:      method,
		Path:        path,
		ID:          op.OperationID,
		Summary:     op.Summary,
		Description: blocks(op.Description),
		Auth:        authOf(doc, op),
	}
	for _, ref := range append(slices.Clone(item.Parameters), op.Parameters...) {
		prm := ref.Value
		if prm == nil {
			continue
		}
		pv := paramView{Name: prm.Name, In: prm.In, Required: prm.Required, Description: prm.Description}
		if prm.Schema != nil {
			f := buildField("", prm.Schema, false, 0, nil)
			pv.Type, pv.Notes = f.Type, f.Notes
		}
		ov.Params = append(ov.Params, pv)
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		for _, mt := range sortedKeys(rb.Value.Content) {
			if s := rb.Value.Content[mt].Schema; s != nil {
				ov.Body = &bodyView{MediaType: mt, Fields: buildField("body", s, rb.Value.Required, 0, nil)}
				break
			}
		}
	}
	statuses := op.Responses.Keys()
	slices.Sort(statuses)
	for _, status := range statuses {
		ref := op.Responses.Value(status)
		if ref == nil || ref.Value == nil {
			continue
		}
		r := ref.Value
		rv := responseView{Status: status, StatusText: statusText(status), Class: "s" + status[:1], Codes: problemCodes(r)}
		if r.Description != nil {
			rv.Description = *r.Description
		}
		for _, name := range sortedKeys(r.Headers) {
			h := r.Headers[name].Value
			if h == nil {
				continue
			}
			hv := paramView{Name: name, Required: h.Required, Description: h.Description}
			if h.Schema != nil {
				f := buildField("", h.Schema, false, 0, nil)
				hv.Type, hv.Notes = f.Type, f.Notes
			}
			rv.Headers = append(rv.Headers, hv)
		}
		for _, mt := range sortedKeys(r.Content) {
			rv.MediaType = mt
			if mt == "application/problem+json" {
				// Rendered once, at the end of the page.
				rv.Problem = true
			} else if s := r.Content[mt].Schema; s != nil {
				f := buildField("body", s, true, 0, nil)
				rv.Fields = &f
			}
			break
		}
		ov.Responses = append(ov.Responses, rv)
	}
	return ov
}

// authOf says how an operation is authenticated.
func authOf(doc *openapi3.T, op *openapi3.Operation) string {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	var names []string
	for _, req := range reqs {
		for _, name := range sortedKeys(req) {
			switch name {
			case "bearerAuth":
				names = append(names, "Bearer access token")
			case "upstreamSignature":
				names = append(names, "upstream HMAC signature")
			default:
				names = append(names, name)
			}
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, " or ")
}

// buildField renders a schema as a field and, for objects and arrays of
// objects, its nested fields. seen holds the component schemas on the way
// down, so recursive schemas stop instead of looping.
func buildField(name string, ref *openapi3.SchemaRef, required bool, depth int, seen []string) fieldView {
	f := fieldView{Name: name, Required: required}
	if ref == nil || ref.Value == nil {
		f.Type = "any"
		return f
	}
	s := ref.Value
	refName := componentName(ref.Ref)
	f.Description = s.Description
	f.Nullable = s.Nullable
	f.Notes = notes(s)
	if refName != "" && slices.Contains(seen, refName) || depth >= maxSchemaDepth {
		f.Type = typeName(s)
		if refName != "" {
			f.Type += " (" + refName + ", see above)"
		}
		return f
	}
	if refName != "" {
		seen = append(slices.Clone(seen), refName)
	}
	switch {
	case s.Type.Is(openapi3.TypeArray) && s.Items != nil:
		item := buildField("", s.Items, false, depth+1, seen)
		f.Type = "array of " + item.Type
		if item.Notes != "" {
			f.Notes = joinNotes(f.Notes, "items: "+item.Notes)
		}
		f.Children = item.Children
	case s.Type.Is(openapi3.TypeObject) || len(s.Properties) > 0:
		f.Type = "object"
		if ap := s.AdditionalProperties.Schema; ap != nil {
			f.Type = "map of string to " + buildField("", ap, false, depth+1, seen).Type
		}
		for _, prop := range sortedProps(s) {
			f.Children = append(f.Children, buildField(prop, s.Properties[prop], slices.Contains(s.Required, prop), depth+1, seen))
		}
	default:
		f.Type = typeName(s)
	}
	if refName != "" && f.Type == "object" {
		f.Type = refName
	}
	return f
}

// sortedProps lists an object's properties, required ones first, each group
// in alphabetical order.
func sortedProps(s *openapi3.Schema) []string {
	props := sortedKeys(s.Properties)
	slices.SortStableFunc(props, func(a, b string) int {
		ra, rb := slices.Contains(s.Required, a), slices.Contains(s.Required, b)
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	return props
}

// typeName names a scalar schema's type, with its format.
func typeName(s *openapi3.Schema) string {
	t := "any"
	if s.Type != nil && len(s.Type.Slice()) > 0 {
		t = strings.Join(s.Type.Slice(), " | ")
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	return t
}

// notes lists a schema's constraints in a compact, readable form.
func notes(s *openapi3.Schema) string {
	var n []string
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			if e == nil {
				continue
			}
			vals = append(vals, fmt.Sprint(e))
		}
		n = append(n, "one of: "+strings.Join(vals, ", "))
	}
	if s.MinLength > 0 || s.MaxLength != nil {
		n = append(n, "length "+bounds(float64(s.MinLength), s.MinLength > 0, s.MaxLength))
	}
	switch {
	case s.Min != nil && s.Max != nil:
		n = append(n, "range "+num(*s.Min)+".."+num(*s.Max))
	case s.Min != nil:
		n = append(n, "≥ "+num(*s.Min))
	case s.Max != nil:
		n = append(n, "≤ "+num(*s.Max))
	}
	if s.MinItems > 0 || s.MaxItems != nil {
		n = append(n, "items "+bounds(float64(s.MinItems), s.MinItems > 0, s.MaxItems))
	}
	if s.UniqueItems {
		n = append(n, "unique")
	}
	if s.Pattern != "" {
		n = append(n, "pattern "+s.Pattern)
	}
	if s.Default != nil {
		n = append(n, "default "+fmt.Sprint(s.Default))
	}
	if s.ReadOnly {
		n = append(n, "read-only")
	}
	return strings.Join(n, "; ")
}

// bounds formats a length or count range.
func bounds(lo float64, hasLo bool, hi *uint64) string {
	switch {
	case hasLo && hi != nil:
		return num(lo) + ".." + strconv.FormatUint(*hi, 10)
	case hasLo:
		return "≥ " + num(lo)
	default:
		return "≤ " + strconv.FormatUint(*hi, 10)
	}
}

// num formats a number without a needless fraction.
func num(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// joinNotes joins two note strings.
func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// componentName returns the schema name of a local component reference.
func componentName(ref string) string {
	const prefix = "#/components/schemas/"
	if name, ok := strings.CutPrefix(ref, prefix); ok {
		return name
	}
	return ""
}

// statusText names an HTTP status given as a string.
func statusText(code string) string {
	n, err := strconv.Atoi(code)
	if err != nil {
		return code
	}
	return http.StatusText(n)
}

// pathLine matches a path key of the document's paths section.
var pathLine = regexp.MustCompile(`(?m)^  (/[^:\s]*):\s*$`)

// pathsInSpecOrder returns the document's paths in the order openapi.yaml
// lists them, which groups them the way a reader expects; the parsed document
// only has them as a map.
func pathsInSpecOrder(doc *openapi3.T) []string {
	var paths []string
	for _, m := range pathLine.FindAllSubmatch(spec, -1) {
		if p := string(m[1]); doc.Paths.Value(p) != nil && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	for _, p := range doc.Paths.Keys() {
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	return paths
}

// blocks splits a description into paragraphs and bullet lists. Lines
// starting with "- " open a bullet; indented lines continue it.
func blocks(text string) []block {
	var out []block
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		if !strings.HasPrefix(para, "- ") {
			out = append(out, block{Text: strings.Join(strings.Fields(para), " ")})
			continue
		}
		var items []string
		for _, line := range strings.Split(para, "\n") {
			line = strings.TrimSpace(line)
			if item, ok := strings.CutPrefix(line, "- "); ok {
				items = append(items, item)
			} else if len(items) > 0 {
				items[len(items)-1] += " " + line
			}
		}
		out = append(out, block{Items: items})
	}
	return out
}
