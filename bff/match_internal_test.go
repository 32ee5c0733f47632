package bff

import (
	"testing"
)

func TestETagMatchesIfNoneMatchLists(t *testing.T) {
	const tag = `"7.20261125"`
	cases := []struct {
		header string
		want   bool
	}{
		{"", false},
		{tag, true},
		{"*", true},
		{" * ", true},
		{`W/` + tag, true},
		{`"6.20261125"`, false},
		{`"6.20261125",` + tag, true},
		{`"6.20261125" ,	W/` + tag + ` , "8.1"`, true},
		{`"6.20261125", "8.1"`, false},
		{`,,`, false},
		{`W/`, false},
		{`"7.20261125`, false},
		{`*, "1.2"`, false}, // "*" only on its own
	}
	for _, c := range cases {
		if got := etagMatches(c.header, tag); got != c.want {
			t.Errorf("etagMatches(%q) = %v, want %v", c.header, got, c.want)
		}
	}
	if etagMatches(`""`, "") || etagMatches(",", "") {
		t.Error("an empty tag matched")
	}
}

func TestValidProjectIDIsTheContractsShape(t *testing.T) {
	long := make([]byte, 65)
	for i := range long {
		long[i] = 'A'
	}
	for id, want := range map[string]bool{
		"WF-DEMO-CIVIL":   true,
		"a":               true,
		"0-9-az-AZ":       true,
		string(long[:64]): true,
		string(long):      false,
		"":                false,
		"WF_DEMO":         false,
		"WF DEMO":         false,
		"WF/DEMO":         false,
		"项目":              false,
		"WF-DEMO-CIVIL\n": false,
		"..":              false,
	} {
		if got := validProjectID(id); got != want {
			t.Errorf("validProjectID(%q) = %v, want %v", id, got, want)
		}
	}
}
