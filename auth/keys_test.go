package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weifang/kaigong-zsb/models"
)

func seed(b byte) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), ed25519.SeedSize)))
}

func TestParseSigningKeys(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantIDs []string
		wantErr bool
	}{
		{"one", "k1:" + seed('a'), []string{"k1"}, false},
		{"newest first", "2025-06:" + seed('b') + ",2025-01:" + seed('a'), []string{"2025-06", "2025-01"}, false},
		{"spaces around entries", " k2:" + seed('b') + " , k1:" + seed('a') + " ", []string{"k2", "k1"}, false},
		{"padded base64url", "k1:" + seed('a') + "=", []string{"k1"}, false},
		{"empty", "", nil, true},
		{"blank", "   ", nil, true},
		{"no colon", "k1" + seed('a'), nil, true},
		{"empty kid", ":" + seed('a'), nil, true},
		{"kid with space", "k 1:" + seed('a'), nil, true},
		{"kid too long", strings.Repeat("k", maxKeyIDLen+1) + ":" + seed('a'), nil, true},
		{"duplicate kid", "k1:" + seed('a') + ",k1:" + seed('b'), nil, true},
		{"trailing comma", "k1:" + seed('a') + ",", nil, true},
		{"short seed", "k1:" + base64.RawURLEncoding.EncodeToString(make([]byte, 31)), nil, true},
		{"long seed", "k1:" + base64.RawURLEncoding.EncodeToString(make([]byte, 64)), nil, true},
		{"standard base64", "k1:" + strings.Repeat("+/", 21) + "+", nil, true},
		{"not base64", "k1:%%%%", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseSigningKeys(tt.in)
			if tt.wantErr {
				wantCode(t, err, models.CodeValidationFailed)
				if strings.Contains(err.Error(), seed('a')) {
					t.Fatal("the error message contains key material")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ks.IDs(), ","); got != strings.Join(tt.wantIDs, ",") {
				t.Fatalf("ids = %s, want %v", got, tt.wantIDs)
			}
			if ks.signer().id != tt.wantIDs[0] {
				t.Fatalf("signer = %s, want the first key", ks.signer().id)
			}
		})
	}
}

func TestKeysNeverPrintKeyMaterial(t *testing.T) {
	ks, err := ParseSigningKeys("k1:" + seed('a'))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("keys", "keys", ks)
	for _, s := range []string{fmt.Sprint(ks), fmt.Sprintf("%v %+v %#v %s", ks, ks, ks, ks), log.String()} {
		if strings.Contains(s, seed('a')) || strings.Contains(s, "aaaa") || !strings.Contains(s, "k1") {
			t.Fatalf("printed keys as %q", s)
		}
	}
}

func TestLoadOrCreateDevKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := LoadOrCreateDevKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.Len() != 1 {
		t.Fatalf("created %d keys, want 1", first.Len())
	}
	fi, err := os.Stat(filepath.Join(dir, devKeysFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	again, err := LoadOrCreateDevKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.signer().id != first.signer().id || !again.signer().priv.Equal(first.signer().priv) {
		t.Fatal("the second load made a new key instead of reusing the file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files, want only the key file", len(entries))
	}
}

func TestLoadOrCreateDevKeysConcurrentStartsAgree(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ks, err := LoadOrCreateDevKeys(dir)
			errs[i] = err
			if err == nil {
				ids[i] = ks.signer().id
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("process %d got key %s, process 0 got %s", i, ids[i], ids[0])
		}
	}
}

func TestLoadOrCreateDevKeysRejectsCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, devKeysFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateDevKeys(dir)
	wantCode(t, err, models.CodeValidationFailed)
}
