package fcm

import (
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"999999999", push.RetryAfterCap},
		{"Sat, 01 Mar 2025 08:01:30 GMT", 90 * time.Second},
		{"Sat, 01 Mar 2025 07:59:00 GMT", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.header, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestBlamesOnlyToken(t *testing.T) {
	tests := []struct {
		fields []string
		want   bool
	}{
		{nil, true},
		{[]string{"message.token"}, true},
		{[]string{"message.data"}, false},
		{[]string{"message.token", "message.apns.payload"}, false},
	}
	for _, tt := range tests {
		if got := (errorBody{violationFields: tt.fields}).blamesOnlyToken(); got != tt.want {
			t.Errorf("blamesOnlyToken(%v) = %v, want %v", tt.fields, got, tt.want)
		}
	}
}
