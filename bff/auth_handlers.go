package bff

import (
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/models"
)

const (
	localUser = "user"
)

type loginInput struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type refreshInput struct {
	RefreshToken string `json:"refresh_token"`
}

type tokenPairView struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	User         meView `json:"user"`
}

func pairView(p auth.Pair, u models.User, ent *models.Enterprise) tokenPairView {
	return tokenPairView{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken, TokenType: "Bearer", ExpiresIn: p.ExpiresIn, User: newMeView(u, ent)}
}

func (s *Server) login(c *fiber.Ctx) error {
	var in loginInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var bad fieldErrors
	if n := utf8.RuneCountInString(in.Username); n < 1 || n > 64 {
		bad.add("username", "must be 1 to 64 characters")
	}
	if n := len(in.Password); n < 1 || n > 256 {
		bad.add("password", "must be 1 to 256 characters")
	}
	if err := bad.err(); err != nil {
		return err
	}
	pair, u, err := s.deps.Login.Login(c.UserContext(), in.Username, in.Password, c.IP())
	if err != nil {
		return err
	}
	return s.answerPair(c, pair, u)
}

// answerPair answers a freshly issued token pair with the user it belongs to.
func (s *Server) answerPair(c *fiber.Ctx, pair auth.Pair, u models.User) error {
	ent, err := s.enterpriseOf(c, u)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(pairView(pair, u, ent))
}

func (s *Server) refresh(c *fiber.Ctx) error {
	var in refreshInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.RefreshToken == "" || len(in.RefreshToken) > 4096 {
		return models.ValidationError(models.FieldError{Field: "refresh_token", Message: "must be 1 to 4096 characters"})
	}
	pair, u, err := s.deps.Tokens.Refresh(c.UserContext(), in.RefreshToken)
	if err != nil {
		return err
	}
	return s.answerPair(c, pair, u)
}

func (s *Server) logout(c *fiber.Ctx) error {
	// Verified again (from the cache): authenticate keeps no claims.
	claims, _, err := s.bearerClaims(c)
	if err != nil {
		return err
	}
	if err := s.deps.Tokens.Logout(c.UserContext(), claims); err != nil {
		return err
	}
	s.users.forget(claims.UserID)
	return c.SendStatus(fiber.StatusNoContent)
}

// authenticate admits a request with a valid access token of an enabled
// account and puts the user in the request's locals. Every failure answers
// 401 with the same problem shape.
func (s *Server) authenticate(c *fiber.Ctx) error {
	claims, degraded, err := s.bearerClaims(c)
	if err != nil {
		return err
	}
	// Checked by signature only, the account's disabled flag is the one
	// revocation left: the row must then be fresh.
	u, err := s.users.get(c.UserContext(), claims.UserID, degraded)
	if err != nil {
		if isNotFound(err) {
			return &models.Error{Code: models.CodeTokenInvalid, Message: "the token's account no longer exists"}
		}
		return unavailable(err)
	}
	if u.Disabled {
		return &models.Error{Code: models.CodeTokenInvalid, Message: "the account is disabled"}
	}
	c.Locals(localUser, u)
	return c.Next()
}

// bearerClaims verifies the request's bearer access token; degraded is set
// when Redis could not be asked and only the signature was checked. The
// claims are not kept in the request's locals: boxing them was an
// allocation on every request, and only logout needs them, so logout asks
// again (answered from the verified-token cache).
func (s *Server) bearerClaims(c *fiber.Ctx) (claims auth.Claims, degraded bool, err error) {
	h := c.Get(fiber.HeaderAuthorization)
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return auth.Claims{}, false, &models.Error{Code: models.CodeUnauthorized, Message: "a bearer access token is required"}
	}
	token := strings.TrimSpace(h[len(scheme):])
	claims, err = s.deps.Tokens.VerifyAccess(c.UserContext(), token)
	if models.ErrorCode(err) == models.CodeUnavailable {
		// Redis is down: keep serving reads from the database rather than
		// refusing everyone. Signature, type and lifetime still hold and
		// authenticate still refuses disabled users from a fresh account
		// row; only a logout in the last few minutes goes unseen until
		// Redis is back.
		s.log.WarnContext(c.UserContext(), "revocation state unavailable; verifying the access token by signature only", "err", err)
		s.metrics.degradedAuth.Inc()
		claims, err = s.deps.Tokens.VerifyAccessSignature(token)
		return claims, true, err
	}
	return claims, false, err
}

func currentUser(c *fiber.Ctx) models.User {
	return *c.Locals(localUser).(*models.User)
}
