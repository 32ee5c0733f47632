package workdays

import (
	"encoding/json"
	"testing"
	"time"
)

func mustDate(tb testing.TB, s string) Date {
	tb.Helper()
	d, err := ParseDate(s)
	if err != nil {
		tb.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		want    Date
		wantErr bool
	}{
		{in: "2026-10-01", want: NewDate(2026, time.October, 1)},
		{in: "2024-02-29", want: NewDate(2024, time.February, 29)},
		{in: "2026-02-29", wantErr: true},
		{in: "2026-13-01", wantErr: true},
		{in: "2026-1-01", wantErr: true},
		{in: "2026-10-01T00:00:00+08:00", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDate(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseDate(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDateOfUsesShanghai(t *testing.T) {
	tests := []struct {
		instant string
		want    string
	}{
		{"2026-09-30T15:59:59Z", "2026-09-30"},
		{"2026-09-30T16:00:00Z", "2026-10-01"},
		{"2026-10-01T07:59:59+08:00", "2026-10-01"},
		{"2026-12-31T20:00:00-05:00", "2027-01-01"},
	}
	for _, tt := range tests {
		ts, err := time.Parse(time.RFC3339, tt.instant)
		if err != nil {
			t.Fatal(err)
		}
		if got := DateOf(ts).String(); got != tt.want {
			t.Errorf("DateOf(%s) = %s, want %s", tt.instant, got, tt.want)
		}
	}
}

func TestDateArithmeticAndOrder(t *testing.T) {
	d := mustDate(t, "2026-12-30")
	if got := d.AddDays(3).String(); got != "2027-01-02" {
		t.Errorf("AddDays(3) = %s", got)
	}
	if got := d.AddDays(-365).String(); got != "2025-12-30" {
		t.Errorf("AddDays(-365) = %s", got)
	}
	if got := NewDate(2026, 13, 1).String(); got != "2027-01-01" {
		t.Errorf("NewDate normalises months: got %s", got)
	}
	a, b := mustDate(t, "2026-09-30"), mustDate(t, "2026-10-01")
	if !a.Before(b) || b.Before(a) || !b.After(a) || a.Compare(a) != 0 {
		t.Errorf("ordering of %v and %v is wrong", a, b)
	}
	if got := mustDate(t, "2026-10-01").Weekday(); got != time.Thursday {
		t.Errorf("2026-10-01 weekday = %v, want Thursday", got)
	}
}

func TestDateJSON(t *testing.T) {
	type doc struct {
		On    Date  `json:"on"`
		Maybe *Date `json:"maybe"`
		Zero  Date  `json:"zero"`
	}
	d := mustDate(t, "2026-10-10")
	b, err := json.Marshal(doc{On: d})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"on":"2026-10-10","maybe":null,"zero":null}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var back doc
	if err := json.Unmarshal([]byte(`{"on":"2026-10-10","maybe":"2026-01-04","zero":null}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.On != d || back.Maybe == nil || back.Maybe.String() != "2026-01-04" || !back.Zero.IsZero() {
		t.Errorf("Unmarshal = %+v", back)
	}
	for _, bad := range []string{`{"on":"2026/10/10"}`, `{"on":20261010}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) accepted a malformed date", bad)
		}
	}
}
