package apidocs

import (
	"html"
	"strings"
	"testing"
)

func TestDocsHTMLListsEveryOperation(t *testing.T) {
	doc := loadDoc(t)
	page := string(DocsHTML())
	text := html.UnescapeString(page)
	for path, item := range doc.Paths.Map() {
		if !strings.Contains(text, path) {
			t.Errorf("page lacks path %s", path)
		}
		for method, op := range item.Operations() {
			if !strings.Contains(page, `id="op-`+op.OperationID+`"`) {
				t.Errorf("page lacks the section of %s %s (%s)", method, path, op.OperationID)
			}
		}
	}
	for _, want := range []string{
		"<!doctype html>", doc.Info.Title,
		"task_taken", "provider_unsupported", "Retry-After", "ETag", "Location",
		"next_cursor", "not_switchable", "materials_to_prepare",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestDocsHTMLIsSelfContained guards the offline promise: nothing is loaded
// from another host.
func TestDocsHTMLIsSelfContained(t *testing.T) {
	page := strings.ToLower(string(DocsHTML()))
	for _, banned := range []string{"<script", "<link", "@import", "url(", "src=", "http://", "https://", "//cdn"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q", banned)
		}
	}
}

func TestDocsHTMLReturnsCopies(t *testing.T) {
	a := DocsHTML()
	a[0] = 'X'
	if b := DocsHTML(); b[0] == 'X' {
		t.Fatal("DocsHTML returned shared bytes")
	}
	s := Spec()
	s[0] = 'X'
	if Spec()[0] == 'X' {
		t.Fatal("Spec returned shared bytes")
	}
}

func TestBlocks(t *testing.T) {
	got := blocks("First line\ncontinues.\n\n- one\n  more\n- two\n")
	if len(got) != 2 || got[0].Text != "First line continues." ||
		len(got[1].Items) != 2 || got[1].Items[0] != "one more" || got[1].Items[1] != "two" {
		t.Fatalf("blocks = %#v", got)
	}
}
