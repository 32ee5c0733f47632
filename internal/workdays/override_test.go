package workdays

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// override2099 is an operator file for a year the library cannot carry yet.
// The days are illustrative, not an official schedule.
const override2099 = `{
  "years": [2099],
  "holidays": ["2099-01-01", "2099-02-09", "2099-02-10"],
  "workdays": ["2099-02-08"]
}`

func TestOverrideAddsAYear(t *testing.T) {
	if plain := newCalendar(t); plain.Covers(2099) {
		t.Fatal("the library carries 2099; pick a later year for the override test")
	}
	c, err := New(strings.NewReader(override2099))
	if err != nil {
		t.Fatalf("New(override): %v", err)
	}
	if !c.Covers(2099) || !c.Covers(2026) {
		t.Fatalf("Covers(2099) = %v, Covers(2026) = %v; want both", c.Covers(2099), c.Covers(2026))
	}
	tests := []struct {
		day  string
		want bool
	}{
		{"2099-01-01", false}, // Thursday, holiday
		{"2099-02-08", true},  // Sunday, make-up day
		{"2099-02-09", false}, // Monday, holiday
		{"2099-02-11", true},  // Wednesday, ordinary
		{"2099-02-14", false}, // Saturday, ordinary weekend
	}
	for _, tt := range tests {
		got, covered := c.IsWorkday(mustDate(t, tt.day))
		if got != tt.want || !covered {
			t.Errorf("IsWorkday(%s) = %v (covered %v), want %v, covered", tt.day, got, covered, tt.want)
		}
	}
	due, covered := c.AddWorkingDays(mustDate(t, "2099-02-06"), 2)
	if due.String() != "2099-02-11" || !covered {
		t.Errorf("AddWorkingDays(2099-02-06, 2) = %s (covered %v), want 2099-02-11, covered", due, covered)
	}
}

func TestOverrideCorrectsALibraryDay(t *testing.T) {
	c, err := New(strings.NewReader(`{"workdays": ["2026-10-07"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, covered := c.IsWorkday(mustDate(t, "2026-10-07")); !got || !covered {
		t.Errorf("IsWorkday(2026-10-07) = %v (covered %v), want the override's working day", got, covered)
	}
	if got, _ := c.IsWorkday(mustDate(t, "2026-10-06")); got {
		t.Error("IsWorkday(2026-10-06) = true; days the file does not name keep the library's answer")
	}
}

func TestOverrideRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, file, wantInErr string
	}{
		{"not json", `{"years": [2027`, "override file"},
		{"unknown field", `{"year": [2027]}`, "unknown field"},
		{"bad date", `{"years": [2027], "holidays": ["2027-02-30"]}`, "2027-02-30"},
		{"year not declared", `{"holidays": ["2099-01-01"]}`, "not in \"years\""},
		{"both lists", `{"years": [2027], "holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}`, "both"},
		{"silly year", `{"years": [0]}`, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(strings.NewReader(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("New(%s) error = %v, want one mentioning %q", tt.file, err, tt.wantInErr)
			}
		})
	}
}

func TestNewFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "holidays.json")
	if err := os.WriteFile(path, []byte(override2099), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := NewFromFile(path)
	if err != nil {
		t.Fatalf("NewFromFile: %v", err)
	}
	if !c.Covers(2099) {
		t.Error("NewFromFile did not apply the file")
	}
	if c, err := NewFromFile(""); err != nil || !c.Covers(2026) {
		t.Errorf("NewFromFile(\"\") = %v, %v; want the library calendar", c, err)
	}
	if _, err := NewFromFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("NewFromFile(missing) succeeded")
	}
}
