package push

import "testing"

func TestProviders(t *testing.T) {
	tests := []struct {
		provider string
		want     bool
	}{
		{"fcm", true}, {"", true}, {"huawei", false}, {"xiaomi", false},
		{"oppo", false}, {"vivo", false}, {"honor", false}, {"FCM", false},
	}
	for _, tt := range tests {
		if got := ProviderSupported(tt.provider); got != tt.want {
			t.Errorf("ProviderSupported(%q) = %v, want %v", tt.provider, got, tt.want)
		}
	}
	p := SupportedProviders()
	p[0] = "mutated"
	if SupportedProviders()[0] != ProviderFCM {
		t.Error("SupportedProviders shares its slice")
	}
}
