package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weifang/kaigong-zsb/models"
)

func TestAddUserValidates(t *testing.T) {
	db := testSQLite(t)
	ent := func(change func(*NewUser)) NewUser {
		nu := NewUser{Username: "ent-demo", DisplayName: "示例", Password: "demo12345", Role: models.RoleEnterprise,
			EnterpriseCode: "91370700MA3DEMO001", EnterpriseName: "潍坊示例建设有限公司"}
		change(&nu)
		return nu
	}
	agent := func(change func(*NewUser)) NewUser {
		nu := NewUser{Username: "agent-town", Password: "demo12345", Role: models.RoleAgent, AgentLevel: models.LevelTown, RegionCode: "370702"}
		change(&nu)
		return nu
	}
	tests := []struct {
		name       string
		in         NewUser
		wantFields []string
	}{
		{"enterprise", ent(func(*NewUser) {}), nil},
		{"agent, 6-digit region", agent(func(*NewUser) {}), nil},
		{"agent, 9-digit region", agent(func(n *NewUser) { n.Username = "agent-9"; n.RegionCode = "370702001" }), nil},
		{"username upper-cased is lower-cased", agent(func(n *NewUser) { n.Username = "Agent.City_1" }), nil},
		{"username too short", agent(func(n *NewUser) { n.Username = "ab" }), []string{"username"}},
		{"username too long", agent(func(n *NewUser) { n.Username = strings.Repeat("a", 65) }), []string{"username"}},
		{"username with space", agent(func(n *NewUser) { n.Username = "a b c" }), []string{"username"}},
		{"username with unicode", agent(func(n *NewUser) { n.Username = "用户名" }), []string{"username"}},
		{"password too short", agent(func(n *NewUser) { n.Password = "1234567" }), []string{"password"}},
		{"password too long", agent(func(n *NewUser) { n.Password = strings.Repeat("x", MaxPasswordBytes+1) }), []string{"password"}},
		{"unknown role", agent(func(n *NewUser) { n.Role = "admin" }), []string{"role"}},
		{"credit code short", ent(func(n *NewUser) { n.EnterpriseCode = "91370700MA3DEMO00" }), []string{"enterprise_code"}},
		{"credit code punctuation", ent(func(n *NewUser) { n.EnterpriseCode = "91370700MA3DEMO0-1" }), []string{"enterprise_code"}},
		{"enterprise with agent level", ent(func(n *NewUser) { n.AgentLevel = "town" }), []string{"role"}},
		{"agent level unknown", agent(func(n *NewUser) { n.AgentLevel = "province" }), []string{"agent_level"}},
		{"agent region 7 digits", agent(func(n *NewUser) { n.RegionCode = "3707021" }), []string{"region_code"}},
		{"agent region letters", agent(func(n *NewUser) { n.RegionCode = "37070A" }), []string{"region_code"}},
		{"agent with enterprise", agent(func(n *NewUser) { n.EnterpriseCode = "91370700MA3DEMO001" }), []string{"role"}},
		{"new enterprise without a name", ent(func(n *NewUser) { n.Username = "ent-x"; n.EnterpriseCode = "91370700MA3NEW0001"; n.EnterpriseName = "" }), []string{"enterprise_name"}},
		{"several faults at once", agent(func(n *NewUser) { n.Username = "x"; n.Password = "short"; n.RegionCode = "" }), []string{"username", "password", "region_code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := AddUser(context.Background(), db, tt.in)
			if tt.wantFields == nil {
				if err != nil {
					t.Fatal(err)
				}
				if u.ID == 0 || u.Username != strings.ToLower(tt.in.Username) || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
					t.Fatalf("created %+v", u)
				}
				return
			}
			wantCode(t, err, models.CodeValidationFailed)
			var me *models.Error
			errors.As(err, &me)
			var got []string
			for _, f := range me.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantFields, ",") {
				t.Fatalf("fields = %v, want %v", got, tt.wantFields)
			}
		})
	}
}

func TestAddUserCreatesEnterpriseOnce(t *testing.T) {
	db := testSQLite(t)
	ctx := context.Background()
	nu := NewUser{Username: "ent-demo", Password: "demo12345", Role: models.RoleEnterprise,
		EnterpriseCode: "91370700ma3demo001", EnterpriseName: "潍坊示例建设有限公司"}
	u, err := AddUser(ctx, db, nu)
	if err != nil {
		t.Fatal(err)
	}
	if u.EnterpriseCode != "91370700MA3DEMO001" || u.DisplayName != "ent-demo" {
		t.Fatalf("created %+v", u)
	}
	// A second user of the same enterprise needs no name.
	nu.Username, nu.EnterpriseName = "ent-demo-2", ""
	if _, err := AddUser(ctx, db, nu); err != nil {
		t.Fatal(err)
	}
	var e models.Enterprise
	if err := db.First(&e, "credit_code = ?", "91370700MA3DEMO001").Error; err != nil || e.Name != "潍坊示例建设有限公司" {
		t.Fatalf("enterprise = %+v, %v", e, err)
	}
	// The same username again is a conflict, whatever its case.
	nu.Username = "ENT-DEMO"
	_, err = AddUser(ctx, db, nu)
	wantCode(t, err, models.CodeConflict)
}

func TestDisableUserAndResetPasswordRevokeTokens(t *testing.T) {
	env := newLoginEnv(t, generous)
	ctx := context.Background()
	rev := env.tokens.rev
	for _, name := range []string{"gina", "hank"} {
		env.addUser(t, name, "old password")
	}
	login := func(name, pw string) Pair {
		t.Helper()
		p, _, err := env.auth.Login(ctx, name, pw, "192.0.2.50")
		if err != nil {
			t.Fatalf("login %s: %v", name, err)
		}
		return p
	}

	gina := login("gina", "old password")
	u, err := DisableUser(ctx, env.db, rev, "gina")
	if err != nil || !u.Disabled {
		t.Fatalf("DisableUser = %+v, %v", u, err)
	}
	verifyCode(t, env.tokens, gina.AccessToken, models.CodeTokenInvalid)
	_, _, err = env.tokens.Refresh(ctx, gina.RefreshToken)
	wantCode(t, err, models.CodeTokenInvalid)
	_, _, err = env.auth.Login(ctx, "gina", "old password", "192.0.2.50")
	wantCode(t, err, models.CodeInvalidCredentials)

	hank := login("hank", "old password")
	if err := ResetPassword(ctx, env.db, rev, "HANK", "new password"); err != nil {
		t.Fatal(err)
	}
	verifyCode(t, env.tokens, hank.AccessToken, models.CodeTokenInvalid)
	_, _, err = env.tokens.Refresh(ctx, hank.RefreshToken)
	wantCode(t, err, models.CodeTokenInvalid)
	_, _, err = env.auth.Login(ctx, "hank", "old password", "192.0.2.50")
	wantCode(t, err, models.CodeInvalidCredentials)
	verifyCode(t, env.tokens, login("hank", "new password").AccessToken, "")
}

func TestUserAdminErrors(t *testing.T) {
	env := newLoginEnv(t, generous)
	ctx := context.Background()
	rev := env.tokens.rev
	env.addUser(t, "ivy", "old password")
	tests := []struct {
		name string
		run  func() error
		want models.Code
	}{
		{"disable unknown", func() error { _, err := DisableUser(ctx, env.db, rev, "nobody"); return err }, models.CodeNotFound},
		{"reset unknown", func() error { return ResetPassword(ctx, env.db, rev, "nobody", "new password") }, models.CodeNotFound},
		{"reset to a short password", func() error { return ResetPassword(ctx, env.db, rev, "ivy", "short") }, models.CodeValidationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.run(), tt.want)
		})
	}
}
