package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/weifang/kaigong-zsb/models"
)

// signingKeysEnv names the setting in messages; the key material never
// appears in an error.
const signingKeysEnv = "JWT_SIGNING_KEYS"

// devKeysFile is the file, under the data directory, that keeps the
// development signing key between runs.
const devKeysFile = "jwt-signing-keys"

// maxKeyIDLen bounds a key id; it travels in every token header.
const maxKeyIDLen = 32

// signingKey is one Ed25519 key pair and the id ("kid") tokens name it by.
type signingKey struct {
	id   string
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

// Keys is an ordered set of Ed25519 signing keys, newest first: the newest
// signs, every one verifies. Printing or logging Keys shows only the key ids.
type Keys struct {
	keys []signingKey
}

// ParseSigningKeys parses the JWT_SIGNING_KEYS format: comma-separated
// "kid:seed" entries, newest first, where seed is the base64url encoding of a
// 32-byte Ed25519 seed. Key ids must be unique and made of [A-Za-z0-9._-].
func ParseSigningKeys(s string) (Keys, error) {
	bad := func(msg string) (Keys, error) {
		return Keys{}, models.ValidationError(models.FieldError{Field: signingKeysEnv, Message: msg})
	}
	if strings.TrimSpace(s) == "" {
		return bad("no signing keys")
	}
	var ks Keys
	seen := map[string]bool{}
	for i, entry := range strings.Split(s, ",") {
		kid, seedText, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return bad(fmt.Sprintf("entry %d is not kid:seed", i+1))
		}
		if !validKeyID(kid) {
			return bad(fmt.Sprintf("entry %d has an invalid key id (1-%d of A-Z a-z 0-9 . _ -)", i+1, maxKeyIDLen))
		}
		if seen[kid] {
			return bad(fmt.Sprintf("key id %q appears twice", kid))
		}
		seen[kid] = true
		seed, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seedText, "="))
		if err != nil || len(seed) != ed25519.SeedSize {
			return bad(fmt.Sprintf("key %q is not a base64url %d-byte seed", kid, ed25519.SeedSize))
		}
		priv := ed25519.NewKeyFromSeed(seed)
		ks.keys = append(ks.keys, signingKey{id: kid, priv: priv, pub: priv.Public().(ed25519.PublicKey)})
	}
	return ks, nil
}

// GenerateKeyEntry returns a new "kid:seed" entry in the JWT_SIGNING_KEYS
// format, for an operator rotating keys: put it first and keep the old ones
// until the tokens they signed have expired.
func GenerateKeyEntry(kid string) (string, error) {
	if !validKeyID(kid) {
		return "", models.ValidationError(models.FieldError{Field: "kid", Message: fmt.Sprintf("1-%d of A-Z a-z 0-9 . _ -", maxKeyIDLen)})
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return "", internal("cannot read random bytes", err)
	}
	return kid + ":" + base64.RawURLEncoding.EncodeToString(seed), nil
}

// LoadOrCreateDevKeys returns the development signing keys kept in
// dir/jwt-signing-keys, creating that file (mode 0600) with one new key the
// first time. Several processes starting at once end up with the same key.
func LoadOrCreateDevKeys(dir string) (Keys, error) {
	path := filepath.Join(dir, devKeysFile)
	if ks, err := readKeysFile(path); !errors.Is(err, fs.ErrNotExist) {
		return ks, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Keys{}, internal("cannot create the key directory", err)
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return Keys{}, internal("cannot read random bytes", err)
	}
	entry, err := GenerateKeyEntry("dev-" + hex.EncodeToString(suffix))
	if err != nil {
		return Keys{}, err
	}
	// Write a temporary file and link it into place: the link either
	// appears complete or fails because another process got there first.
	tmp, err := os.CreateTemp(dir, devKeysFile+".tmp-*")
	if err != nil {
		return Keys{}, internal("cannot write the key file", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return Keys{}, internal("cannot write the key file", err)
	}
	if _, err := tmp.WriteString(entry + "\n"); err != nil {
		tmp.Close()
		return Keys{}, internal("cannot write the key file", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Keys{}, internal("cannot write the key file", err)
	}
	if err := tmp.Close(); err != nil {
		return Keys{}, internal("cannot write the key file", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return Keys{}, internal("cannot write the key file", err)
	}
	return readKeysFile(path)
}

func readKeysFile(path string) (Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Keys{}, err
		}
		return Keys{}, internal("cannot read the key file", err)
	}
	return ParseSigningKeys(strings.TrimSpace(string(b)))
}

func validKeyID(kid string) bool {
	if kid == "" || len(kid) > maxKeyIDLen {
		return false
	}
	for _, c := range kid {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Len returns the number of keys.
func (ks Keys) Len() int { return len(ks.keys) }

// IDs returns the key ids, newest first.
func (ks Keys) IDs() []string {
	ids := make([]string, len(ks.keys))
	for i, k := range ks.keys {
		ids[i] = k.id
	}
	return ids
}

// String lists the key ids only, so a stray log line cannot leak a key.
func (ks Keys) String() string { return "Keys[" + strings.Join(ks.IDs(), ",") + "]" }

// GoString lists the key ids only, like String.
func (ks Keys) GoString() string { return ks.String() }

// LogValue lists the key ids only, like String.
func (ks Keys) LogValue() slog.Value { return slog.AnyValue(ks.IDs()) }

func (ks Keys) signer() signingKey { return ks.keys[0] }

func (ks Keys) publicKey(kid string) (ed25519.PublicKey, bool) {
	for _, k := range ks.keys {
		if k.id == kid {
			return k.pub, true
		}
	}
	return nil, false
}
