package push

import "testing"

func TestKnownProviders(t *testing.T) {
	for _, p := range AllProviders() {
		if !KnownProvider(p) {
			t.Errorf("KnownProvider(%q) = false", p)
		}
	}
	for _, p := range []string{"", "FCM", "nokia"} {
		if KnownProvider(p) {
			t.Errorf("KnownProvider(%q) = true", p)
		}
	}
}
