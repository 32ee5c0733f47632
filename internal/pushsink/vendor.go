package pushsink

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// The vendor stand-ins the sink speaks besides FCM, each under its own
// path prefix ("/huawei", "/xiaomi", …): a client's base URL is the sink's
// base URL plus the prefix, and the client appends the vendor's documented
// path to it.
const (
	VendorHuawei  = "huawei"
	VendorHarmony = "harmony"
	VendorHonor   = "honor"
	VendorXiaomi  = "xiaomi"
	VendorOPPO    = "oppo"
	VendorVivo    = "vivo"
	VendorAPNs    = "apns"
)

// Vendors lists the vendor stand-ins the sink serves.
func Vendors() []string {
	return []string{VendorHuawei, VendorHarmony, VendorHonor, VendorXiaomi, VendorOPPO, VendorVivo, VendorAPNs}
}

// VendorBase returns the base URL a vendor client is configured with: the
// sink's base URL (from Start) and the vendor's prefix.
func VendorBase(baseURL, vendor string) string {
	return baseURL + "/" + vendor
}

// Credentials are what the vendor stand-ins accept, as each vendor's
// console would hand them out. DevCredentials gives the development ones.
type Credentials struct {
	HuaweiAppID        string
	HuaweiClientSecret string

	HarmonyProjectID  string
	HarmonyKeyID      string
	HarmonySubAccount string
	// HarmonyPublicKey verifies the PS256 JWTs of the service account;
	// nil rejects every Harmony send.
	HarmonyPublicKey *rsa.PublicKey

	HonorAppID        string
	HonorClientID     string
	HonorClientSecret string

	XiaomiAppSecret string
	XiaomiPackage   string

	OPPOAppKey       string
	OPPOMasterSecret string

	VivoAppID     string
	VivoAppKey    string
	VivoAppSecret string

	APNsKeyID  string
	APNsTeamID string
	APNsTopic  string
	// APNsPublicKey verifies the ES256 provider tokens made with the .p8
	// key; nil rejects every APNs send.
	APNsPublicKey *ecdsa.PublicKey
}

// DevCredentials are the credentials the stand-ins accept when Options
// gives none (make run configures the clients with the same).
func DevCredentials() Credentials {
	return Credentials{
		HuaweiAppID: "104000001", HuaweiClientSecret: "dev-huawei-client-secret",
		HarmonyProjectID: "388421841221000001", HarmonyKeyID: "dev-harmony-key", HarmonySubAccount: "1000000001",
		HonorAppID: "104400001", HonorClientID: "dev-honor-client", HonorClientSecret: "dev-honor-client-secret",
		XiaomiAppSecret: "dev-xiaomi-app-secret", XiaomiPackage: "cn.gov.weifang.kaigong",
		OPPOAppKey: "dev-oppo-app-key", OPPOMasterSecret: "dev-oppo-master-secret",
		VivoAppID: "10001", VivoAppKey: "dev-vivo-app-key", VivoAppSecret: "dev-vivo-app-secret",
		APNsKeyID: "DEVKEY0001", APNsTeamID: "DEVTEAM001", APNsTopic: "cn.gov.weifang.kaigong",
	}
}

// The kinds of vendor fault: each stand-in answers them in its vendor's
// own form.
const (
	// FaultThrottle answers the vendor's flow-control error.
	FaultThrottle = "throttle"
	// FaultQuota answers the vendor's daily-quota error (Xiaomi, OPPO,
	// vivo: the vendors that document one).
	FaultQuota = "quota"
	// FaultServer answers the vendor's internal server error.
	FaultServer = "server"
	// FaultInvalidToken reports Token as invalid (uninstalled, expired) in
	// the vendor's partial-success shape.
	FaultInvalidToken = "invalid_token"
)

// VendorFault tells a vendor stand-in to fail on purpose.
type VendorFault struct {
	// Vendor is one of Vendors().
	Vendor string `json:"vendor"`
	// Kind is one of the Fault kinds.
	Kind string `json:"kind"`
	// Token, required with FaultInvalidToken, is the device token.
	Token string `json:"token,omitempty"`
	// Count, when positive, ends the fault after that many answers.
	Count int `json:"count,omitempty"`
	// For, when positive, ends the fault that long after it was added.
	For time.Duration `json:"-"`
	// RetryAfter, when positive, is the hint sent with FaultThrottle.
	RetryAfter time.Duration `json:"-"`
}

// quotaVendors are the vendors that document a daily quota answer.
var quotaVendors = []string{VendorXiaomi, VendorOPPO, VendorVivo}

func (f VendorFault) validate() error {
	if !slices.Contains(Vendors(), f.Vendor) {
		return fmt.Errorf("pushsink: unknown vendor %q", f.Vendor)
	}
	switch f.Kind {
	case FaultThrottle, FaultServer:
	case FaultQuota:
		if !slices.Contains(quotaVendors, f.Vendor) {
			return fmt.Errorf("pushsink: %s documents no daily quota answer", f.Vendor)
		}
	case FaultInvalidToken:
		if f.Token == "" {
			return fmt.Errorf("pushsink: an invalid_token fault names its token")
		}
	default:
		return fmt.Errorf("pushsink: unknown fault kind %q", f.Kind)
	}
	if f.Count < 0 || f.For < 0 || f.RetryAfter < 0 {
		return fmt.Errorf("pushsink: count, duration and retry-after must not be negative")
	}
	return nil
}

type vendorFault struct {
	VendorFault
	id       int64
	answered int
	until    time.Time
}

func (f *vendorFault) live(now time.Time) bool {
	if f.Count > 0 && f.answered >= f.Count {
		return false
	}
	return f.until.IsZero() || now.Before(f.until)
}

// VendorReceived is one device's part of a vendor send request, as the
// stand-in saw it, accepted or not.
type VendorReceived struct {
	// Vendor is the stand-in that received it.
	Vendor string `json:"vendor"`
	// Token is the device token (registration id) addressed.
	Token string `json:"token"`
	// Message is the vendor message for this token as received: the JSON
	// body (without the token list), or for form posts an object of the
	// form's fields.
	Message json.RawMessage `json:"message"`
	// Delivered reports that the vendor would have delivered it.
	Delivered bool `json:"delivered"`
	// Code is the vendor's code answered for this token ("" when
	// delivered).
	Code string `json:"code,omitempty"`
	// ReceivedAt is when the request arrived, by the sink's clock.
	ReceivedAt time.Time `json:"received_at"`
}

// issued is an access token a stand-in handed out.
type issued struct {
	vendor string
	app    string
	expiry time.Time
}

// vendorState is the sink's state for the vendor stand-ins (guarded by
// Sink.mu).
type vendorState struct {
	creds    Credentials
	tokenTTL time.Duration
	tokens   map[string]issued
	grants   map[string]int
	received map[string][]VendorReceived
	// sends holds the token count of each send request, by vendor.
	sends    map[string][]int
	faults   []*vendorFault
	faultSeq int64
	// vivoTasks holds the payloads saved by saveListPayload, by taskId.
	vivoTasks map[string]json.RawMessage
	// apnsTokens holds the provider tokens APNs has seen, true for those
	// expired by ExpireAccessTokens.
	apnsTokens map[string]bool
}

func newVendorState(creds Credentials, ttl time.Duration) *vendorState {
	return &vendorState{
		creds: creds, tokenTTL: ttl,
		tokens: map[string]issued{}, grants: map[string]int{},
		received: map[string][]VendorReceived{}, sends: map[string][]int{}, vivoTasks: map[string]json.RawMessage{},
		apnsTokens: map[string]bool{},
	}
}

// newID returns a random hex id of n bytes.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// issueToken hands out an access token for vendor, valid for ttl (or the
// sink's TokenTTL when set).
func (s *Sink) issueToken(vendor, app string, ttl time.Duration) (string, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vend.tokenTTL > 0 {
		ttl = s.vend.tokenTTL
	}
	tok := vendor + "-at-" + newID(16)
	s.vend.tokens[tok] = issued{vendor: vendor, app: app, expiry: s.now().Add(ttl)}
	s.vend.grants[vendor]++
	return tok, ttl
}

// tokenStatus is what a stand-in finds about an access token.
type tokenStatus int

const (
	tokenValid tokenStatus = iota
	tokenUnknown
	tokenExpired
)

// checkToken looks an access token up for vendor.
func (s *Sink) checkToken(vendor, tok string) (tokenStatus, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.vend.tokens[tok]
	switch {
	case !ok || it.vendor != vendor:
		return tokenUnknown, ""
	case !s.now().Before(it.expiry):
		return tokenExpired, it.app
	}
	return tokenValid, it.app
}

// ExpireAccessTokens makes every access token vendor's stand-in has handed
// out expired, as if the vendor's clock had run past them: the next send
// with one is rejected as expired and the client must fetch a new one.
func (s *Sink) ExpireAccessTokens(vendor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if vendor == VendorAPNs {
		for k := range s.vend.apnsTokens {
			s.vend.apnsTokens[k] = true
		}
	}
	for k, it := range s.vend.tokens {
		if it.vendor == vendor {
			it.expiry = now
			s.vend.tokens[k] = it
		}
	}
}

// AccessTokensIssued counts the access tokens vendor's stand-in handed out.
func (s *Sink) AccessTokensIssued(vendor string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vend.grants[vendor]
}

// AddVendorFault puts a vendor fault in force and returns its id.
func (s *Sink) AddVendorFault(f VendorFault) (int64, error) {
	if err := f.validate(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vend.faultSeq++
	vf := &vendorFault{VendorFault: f, id: s.vend.faultSeq}
	if f.For > 0 {
		vf.until = s.now().Add(f.For)
	}
	s.vend.faults = append(s.vend.faults, vf)
	return vf.id, nil
}

// ClearVendorFaults removes every fault of vendor.
func (s *Sink) ClearVendorFaults(vendor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vend.faults = slices.DeleteFunc(s.vend.faults, func(f *vendorFault) bool { return f.Vendor == vendor })
}

// requestFault returns the fault (throttle, quota, server) that answers a
// whole request to vendor, counting it, or nil.
func (s *Sink) requestFault(vendor string) *VendorFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.vend.faults = slices.DeleteFunc(s.vend.faults, func(f *vendorFault) bool { return !f.live(now) })
	for _, f := range s.vend.faults {
		if f.Vendor == vendor && f.Kind != FaultInvalidToken {
			f.answered++
			out := f.VendorFault
			return &out
		}
	}
	return nil
}

// invalidTokens returns which of tokens vendor's stand-in reports invalid.
func (s *Sink) invalidTokens(vendor string, tokens []string) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := map[string]bool{}
	for _, f := range s.vend.faults {
		if f.Vendor != vendor || f.Kind != FaultInvalidToken || !f.live(now) {
			continue
		}
		if slices.Contains(tokens, f.Token) {
			out[f.Token] = true
			f.answered++
		}
	}
	return out
}

// recordVendor keeps what vendor received for each token.
func (s *Sink) recordVendor(vendor string, recs []VendorReceived) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	list := s.vend.received[vendor]
	for _, r := range recs {
		r.Vendor, r.ReceivedAt = vendor, now
		list = append(list, r)
	}
	if over := len(list) - s.maxMessages; over > 0 {
		list = slices.Delete(list, 0, over)
	}
	s.vend.received[vendor] = list
}

// record builds the records of one request: each token delivered unless
// rejected names it (with its code), or, with all set, every token with
// that code.
func records(tokens []string, msg json.RawMessage, rejected map[string]string, all string) []VendorReceived {
	out := make([]VendorReceived, 0, len(tokens))
	for _, t := range tokens {
		r := VendorReceived{Token: t, Message: msg}
		switch {
		case all != "":
			r.Code = all
		case rejected[t] != "":
			r.Code = rejected[t]
		default:
			r.Delivered = true
		}
		out = append(out, r)
	}
	return out
}

// countSend keeps the token count of one send request to vendor that
// passed the auth check, before the stand-in judges its size.
func (s *Sink) countSend(vendor string, tokens int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := append(s.vend.sends[vendor], tokens)
	if over := len(list) - s.maxMessages; over > 0 {
		list = slices.Delete(list, 0, over)
	}
	s.vend.sends[vendor] = list
}

// VendorSendSizes returns how many device tokens each send request to
// vendor's stand-in carried, in arrival order: every send that passed the
// auth check, accepted or refused (one over the vendor's limit too), so a
// test sees how a client batches. vivo's saveListPayload carries no tokens
// and is not counted; its pushToList is.
func (s *Sink) VendorSendSizes(vendor string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.vend.sends[vendor])
}

// VendorMessages returns what vendor's stand-in received, oldest first.
func (s *Sink) VendorMessages(vendor string) []VendorReceived {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.vend.received[vendor])
}

// VendorDelivered returns what vendor's stand-in accepted for delivery.
func (s *Sink) VendorDelivered(vendor string) []VendorReceived {
	var out []VendorReceived
	for _, r := range s.VendorMessages(vendor) {
		if r.Delivered {
			out = append(out, r)
		}
	}
	return out
}

// ResetVendor forgets what vendor's stand-in received (and the sizes of
// its sends); faults stay.
func (s *Sink) ResetVendor(vendor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.vend.received, vendor)
	delete(s.vend.sends, vendor)
}

// creds returns the credentials the stand-ins accept.
func (s *Sink) creds() Credentials {
	return s.vend.creds
}

// vendorFaultJSON is a vendor fault on the control API (whole seconds).
type vendorFaultJSON struct {
	VendorFault
	ForSeconds        int   `json:"for_seconds,omitempty"`
	RetryAfterSeconds int   `json:"retry_after_seconds,omitempty"`
	ID                int64 `json:"id,omitempty"`
}

// routeVendors adds the vendor stand-ins and their control API.
func (s *Sink) routeVendors() {
	s.routeHuawei()
	s.routeHarmony()
	s.routeHonor()
	s.routeXiaomi()
	s.routeOPPO()
	s.routeVivo()
	s.routeAPNs()
	s.mux.HandleFunc("GET /_sink/vendors/{vendor}/messages", func(w http.ResponseWriter, r *http.Request) {
		items := s.VendorMessages(r.PathValue("vendor"))
		if items == nil {
			items = []VendorReceived{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items, "count": len(items)})
	})
	s.mux.HandleFunc("DELETE /_sink/vendors/{vendor}/messages", func(w http.ResponseWriter, r *http.Request) {
		s.ResetVendor(r.PathValue("vendor"))
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("POST /_sink/vendors/{vendor}/faults", func(w http.ResponseWriter, r *http.Request) {
		var in vendorFaultJSON
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed fault: " + err.Error()})
			return
		}
		in.Vendor = r.PathValue("vendor")
		in.For = time.Duration(in.ForSeconds) * time.Second
		in.RetryAfter = time.Duration(in.RetryAfterSeconds) * time.Second
		id, err := s.AddVendorFault(in.VendorFault)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
			return
		}
		in.ID = id
		writeJSON(w, http.StatusCreated, in)
	})
	s.mux.HandleFunc("DELETE /_sink/vendors/{vendor}/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearVendorFaults(r.PathValue("vendor"))
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("POST /_sink/vendors/{vendor}/expire-tokens", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireAccessTokens(r.PathValue("vendor"))
		w.WriteHeader(http.StatusNoContent)
	})
}

// readVendorBody reads a vendor request body (bounded).
func readVendorBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
}

// retryAfterHeader sets Retry-After in whole seconds when d is positive.
func retryAfterHeader(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(d.Seconds())))
	}
}
