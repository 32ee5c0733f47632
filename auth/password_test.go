package auth

import (
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/weifang/kaigong-zsb/models"
)

func TestPasswordRoundTrip(t *testing.T) {
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	tests := []struct {
		name, password, attempt string
		want                    bool
	}{
		{"same", "demo12345", "demo12345", true},
		{"wrong", "demo12345", "demo12346", false},
		{"case matters", "Demo12345", "demo12345", false},
		{"prefix only", "demo12345", "demo1234", false},
		{"empty attempt", "demo12345", "", false},
		{"unicode", "潍坊开工直通车2024", "潍坊开工直通车2024", true},
		{"longest", strings.Repeat("x", MaxPasswordBytes), strings.Repeat("x", MaxPasswordBytes), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HashPassword(tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if !phc.MatchString(h) {
				t.Fatalf("hash %q is not in the expected PHC form", h)
			}
			got, err := VerifyPassword(h, tt.attempt)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("VerifyPassword = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHashPasswordSaltsEachHash(t *testing.T) {
	a, err := HashPassword("demo12345")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("demo12345")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestHashPasswordRefusesOverlongPassword(t *testing.T) {
	_, err := HashPassword(strings.Repeat("x", MaxPasswordBytes+1))
	wantCode(t, err, models.CodeValidationFailed)
}

func TestVerifyPasswordAcceptsOtherParameters(t *testing.T) {
	// A hash made with older parameters keeps working after they change.
	salt := []byte("somesaltsomesalt")
	key := argon2.IDKey([]byte("demo12345"), salt, 1, 8192, 2, 32)
	old := "$argon2id$v=19$m=8192,t=1,p=2$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	for pw, want := range map[string]bool{"demo12345": true, "demo1234": false} {
		got, err := VerifyPassword(old, pw)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("VerifyPassword(%q) = %v, want %v", pw, got, want)
		}
	}
}

func TestVerifyPasswordRejectsMalformedHashes(t *testing.T) {
	good, err := HashPassword("demo12345")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with(1, "argon2i")},
		{"old version", with(2, "v=16")},
		{"missing parallelism", with(3, "m=19456,t=2")},
		{"unknown parameter", with(3, "m=19456,t=2,p=1,x=1")},
		{"zero time", with(3, "m=19456,t=0,p=1")},
		{"huge memory", with(3, "m=4194304,t=2,p=1")},
		{"huge time", with(3, "m=19456,t=1000,p=1")},
		{"bad salt", with(4, "!!!")},
		{"short salt", with(4, "YWJj")},
		{"bad key", with(5, "not base64!")},
		{"short key", with(5, "YWJj")},
		{"extra field", good + "$x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.hash, "demo12345")
			if ok {
				t.Fatal("a malformed hash verified")
			}
			wantCode(t, err, models.CodeInternal)
		})
	}
}

func TestDummyHashNeverMatches(t *testing.T) {
	if _, err := parseArgonHash(dummyHash()); err != nil {
		t.Fatalf("dummy hash is malformed: %v", err)
	}
	for _, pw := range []string{"", "demo12345", "password"} {
		if ok, _ := VerifyPassword(dummyHash(), pw); ok {
			t.Fatalf("dummy hash matched %q", pw)
		}
	}
}
