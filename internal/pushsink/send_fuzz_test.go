package pushsink

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

// referenceCheck is checkRequest as it was written with encoding/json:
// what the sink's own reader must agree with.
func referenceCheck(body []byte) (violations []fieldViolation, message json.RawMessage, validateOnly bool, token string) {
	var req struct {
		Message      json.RawMessage `json:"message"`
		ValidateOnly bool            `json:"validate_only"`
	}
	var target struct {
		Token     string                     `json:"token"`
		Topic     string                     `json:"topic"`
		Condition string                     `json:"condition"`
		Data      map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		// What decoded before the error is kept, as the sink recorded it.
		return []fieldViolation{{Field: "", Description: "Invalid JSON payload received."}}, req.Message, req.ValidateOnly, ""
	}
	if len(req.Message) == 0 || string(req.Message) == "null" {
		return []fieldViolation{{Field: "message", Description: "message is required"}}, req.Message, req.ValidateOnly, ""
	}
	if err := json.Unmarshal(req.Message, &target); err != nil {
		return []fieldViolation{{Field: "message", Description: "Invalid JSON payload received."}}, req.Message, req.ValidateOnly, ""
	}
	targets := 0
	for _, t := range []string{target.Token, target.Topic, target.Condition} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		violations = append(violations, fieldViolation{Field: "message", Description: "exactly one of token, topic or condition is required"})
	}
	keys := make([]string, 0, len(target.Data))
	for k := range target.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var str string
		if json.Unmarshal(target.Data[k], &str) != nil {
			violations = append(violations, fieldViolation{Field: "message.data[" + k + "].value", Description: "data values must be strings"})
		}
	}
	return violations, req.Message, req.ValidateOnly, target.Token
}

// FuzzCheckRequest holds the sink's single-pass reader of send requests to
// what encoding/json makes of the same bytes.
func FuzzCheckRequest(f *testing.F) {
	for _, seed := range []string{
		benchMessage,
		`{}`, `null`, `"just a string"`, `[1,2]`, `{"message":null}`, `{"message":"x"}`, `{"message":{}}`,
		`{"message":{"token":"t","topic":"news"}}`,
		`{"message":{"token":"t","data":{"n":1,"a":"b","m":null,"o":{"x":[1,"]"]}}}}`,
		`{"MESSAGE":{"Token":"t"},"Validate_Only":true}`,
		`{"message":{"token":"t"},"message":{"topic":"x"}}`,
		`{"message":{"token":5}}`, `{"message":{"token":"t","data":[]}}`, `{"message":{"token":"t","data":null}}`,
		`{"message":{"token":"t\u00e9\"\\x"},"validate_only":"yes"}`,
		`{"message":{"tok\u0065n":"t"},"validate_only":null}`,
		` { "message" : { "token" : "t" , "data" : { "k\n" : "v" , "x" : true } } , "validate_only" : false } `,
		"{\"message\":{\"token\":\"\xff\xfe\"}}",
		`{"message":{"token":"t","data":{"a":1},"data":{"b":"2"}}}`,
		`{"message":{"token":"t"}} x`, `{"message":{"token":"t",}}`,
		`{"message":{"token":"t","data":{"k":1e5}},"validate_only":true}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		wantV, wantMsg, wantVO, wantTok := referenceCheck(body)
		var req sendRequest
		gotV := checkRequest(body, &req)
		if !reflect.DeepEqual(gotV, wantV) {
			t.Fatalf("%q: violations %+v, want %+v", body, gotV, wantV)
		}
		if !bytes.Equal(req.Message, wantMsg) || req.ValidateOnly != wantVO {
			t.Fatalf("%q: message %q validate_only %v, want %q %v", body, req.Message, req.ValidateOnly, wantMsg, wantVO)
		}
		if len(wantV) == 0 && req.target.Token != wantTok {
			t.Fatalf("%q: token %q, want %q", body, req.target.Token, wantTok)
		}
	})
}
