package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// api makes the BFF calls that set a scenario up (login, preferences,
// devices, the inbox) with the standard client; the load itself goes
// through loadClient.
type api struct {
	base   string
	token  string
	client *http.Client
}

func newAPI(base string) *api {
	tr := &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: time.Minute}
	return &api{base: base, client: &http.Client{Timeout: 30 * time.Second, Transport: tr}}
}

// call sends a JSON request and decodes a JSON answer into out (when not
// nil); any status but want is an error carrying the body.
func (a *api) call(ctx context.Context, method, path string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %.300s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// login signs in and keeps the access token for later calls.
func (a *api) login(ctx context.Context, username, password string) error {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := a.call(ctx, http.MethodPost, "/v1/auth/login", map[string]string{"username": username, "password": password}, &out, http.StatusOK); err != nil {
		return err
	}
	a.token = out.AccessToken
	return nil
}

// me returns the signed-in user's id.
func (a *api) me(ctx context.Context) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	err := a.call(ctx, http.MethodGet, "/v1/me", nil, &out, http.StatusOK)
	return out.ID, err
}

// pushAlways switches quiet hours off (keeping every other preference), so
// ordinary notices are pushed at once whatever the hour in Asia/Shanghai.
func (a *api) pushAlways(ctx context.Context) error {
	var prefs map[string]any
	if err := a.call(ctx, http.MethodGet, "/v1/me/push-preferences", nil, &prefs, http.StatusOK); err != nil {
		return err
	}
	delete(prefs, "not_switchable")
	prefs["push_enabled"] = true
	if q, ok := prefs["quiet_hours"].(map[string]any); ok {
		q["enabled"] = false
	}
	prefs["muted_projects"] = []string{}
	return a.call(ctx, http.MethodPut, "/v1/me/push-preferences", prefs, nil, http.StatusOK)
}

// putDevice registers an Android installation with an FCM token.
func (a *api) putDevice(ctx context.Context, installationID, token string) error {
	return a.call(ctx, http.MethodPut, "/v1/me/devices/"+installationID,
		map[string]string{"platform": "android", "provider": "fcm", "push_token": token}, nil, http.StatusOK)
}

// deleteDevice unregisters an installation.
func (a *api) deleteDevice(ctx context.Context, installationID string) error {
	return a.call(ctx, http.MethodDelete, "/v1/me/devices/"+installationID, nil, nil, http.StatusNoContent)
}

// progress returns the progress body and its ETag.
func (a *api) progress(ctx context.Context, projectID string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/v1/projects/"+projectID+"/progress", nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("progress: %d %.300s", resp.StatusCode, body)
	}
	return body, resp.Header.Get("ETag"), nil
}
