package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/weifang/kaigong-zsb/models"
)

// Argon2id parameters for new hashes. OWASP's Password Storage Cheat Sheet
// lists m=19 MiB, t=2, p=1 as its baseline; on a 2-core server that is about
// 30–60 ms per check with one core busy, so the other core keeps serving
// requests during a burst of logins. Memory, not time, is what an attacker's
// GPU lacks, and 19 MiB per guess is the part that hurts them. Existing hashes
// keep verifying with the parameters they were made with.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// Bounds on parameters read back from a stored hash, so a corrupt or hostile
// row cannot make one verification allocate gigabytes.
const (
	maxArgonMemoryKiB = 256 * 1024
	maxArgonTime      = 16
	maxArgonThreads   = 16
)

// MaxPasswordBytes is the longest password accepted, so the work per attempt
// stays bounded whatever a client sends.
const MaxPasswordBytes = 1024

var b64 = base64.RawStdEncoding

// HashPassword returns an argon2id hash of pw in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash) with a fresh random salt.
func HashPassword(pw string) (string, error) {
	if len(pw) > MaxPasswordBytes {
		return "", models.ValidationError(models.FieldError{Field: "password", Message: fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes)})
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", internal("cannot read random bytes", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the PHC-encoded argon2id hash,
// comparing in constant time. It returns an error only when hash is not a
// well-formed argon2id hash within sane parameter bounds.
func VerifyPassword(hash, pw string) (bool, error) {
	p, err := parseArgonHash(hash)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

// dummyHash is a hash of a random password made with the current parameters.
// Checking a password against it for an unknown user costs what checking a
// real user's password costs, so response time does not reveal whether an
// account exists.
var dummyHash = sync.OnceValue(func() string {
	pw := make([]byte, 32)
	_, _ = rand.Read(pw)
	h, err := HashPassword(b64.EncodeToString(pw))
	if err != nil {
		panic("auth: cannot build the dummy password hash: " + err.Error())
	}
	return h
})

type argonHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseArgonHash(s string) (argonHash, error) {
	bad := func(why string) (argonHash, error) {
		return argonHash{}, internal("malformed password hash", reasonError(why))
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported argon2 version")
	}
	var h argonHash
	seen := 0
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return bad("malformed parameters")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return bad("malformed parameter " + k)
		}
		switch k {
		case "m":
			if n > maxArgonMemoryKiB {
				return bad("memory parameter out of range")
			}
			h.memory = uint32(n)
		case "t":
			if n > maxArgonTime {
				return bad("time parameter out of range")
			}
			h.time = uint32(n)
		case "p":
			if n > maxArgonThreads {
				return bad("parallelism parameter out of range")
			}
			h.threads = uint8(n)
		default:
			return bad("unknown parameter " + k)
		}
		seen++
	}
	if seen != 3 || h.memory == 0 || h.time == 0 || h.threads == 0 || h.memory < 8*uint32(h.threads) {
		return bad("missing or inconsistent parameters")
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return bad("malformed salt")
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return bad("malformed key")
	}
	return h, nil
}
