package admin

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/views"
)

// A bulk action takes the ids ticked in a list (form fields id=...) to a
// confirmation page first: the same URL answers the list's form with
// the confirmation page, and acts only on the page's own form, which
// carries confirm=yes with the ids. Both are POSTs with the CSRF token.
// The rows change in one transaction; ids already gone (or, for tokens,
// already revoked) are skipped and counted. Each row is audited as the
// single action records it.

// bulkIDs reads the selected ids: at least one, at most
// models.MaxBulk, each a positive number; repeats count once.
func bulkIDs(c echo.Context) ([]uint, error) {
	form, err := c.FormParams()
	if err != nil {
		return nil, errBadList{"The selection could not be read."}
	}
	var ids []uint
	for _, s := range form["id"] {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 {
			return nil, errBadList{fmt.Sprintf("%q is not an id.", s)}
		}
		if !slices.Contains(ids, uint(n)) {
			ids = append(ids, uint(n))
		}
	}
	if len(ids) > models.MaxBulk {
		return nil, errBadList{fmt.Sprintf("At most %d rows can be changed at once; %d were selected.", models.MaxBulk, len(ids))}
	}
	return ids, nil
}

// bulkSelection reads a bulk action's form: where to go back to (a
// same-site path, else list), the selected ids, and whether the form is
// the confirmation page's own (confirm=yes). With a bad selection, or
// none ("Select the <what> first."), it answers itself: ids is nil and
// answered is the response.
func (a *Admin) bulkSelection(c echo.Context, list, action, what string) (back string, ids []uint, confirmed bool, answered error) {
	back = backTo(c, list)
	ids, err := bulkIDs(c)
	if err != nil {
		return back, nil, false, a.badList(c, action, err)
	}
	if len(ids) == 0 {
		return back, nil, false, a.redirectWith(c, back, "error", "Select the "+what+" first.")
	}
	return back, ids, c.FormValue("confirm") == "yes", nil
}

// bulkConfirm is the confirmation page of a bulk action on ids.
func (a *Admin) bulkConfirm(c echo.Context, ids []uint, back string, v views.ConfirmView) error {
	v.AdminChrome = a.chrome(c, v.Section, v.Heading)
	v.Hidden = append(v.Hidden, views.HiddenField{Name: "confirm", Value: "yes"}, views.HiddenField{Name: "back", Value: back})
	for _, id := range ids {
		v.Hidden = append(v.Hidden, views.HiddenField{Name: "id", Value: strconv.FormatUint(uint64(id), 10)})
	}
	v.Cancel = back
	return a.render(c, http.StatusOK, views.ConfirmPage(v))
}

// skippedNote says how many selected rows were skipped, or "".
func skippedNote(n int, why string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" %s skipped (%s).", views.Plural(int64(n), "selected row", "selected rows"), why)
}

// grantLine describes a token, consent or code on a confirmation page.
func grantLine(kind string, id uint, client string, user *models.User, scope string) string {
	who := "the client itself"
	if user != nil {
		who = "user " + user.Username
	}
	return fmt.Sprintf("%s %d: %s, %s, scope %q", kind, id, client, who, scope)
}

// BulkRevokeTokens serves POST /admin/tokens/bulk-revoke: the selected
// token pairs stop working at once, after a confirmation page.
func (a *Admin) BulkRevokeTokens(c echo.Context) error {
	back, ids, confirmed, answered := a.bulkSelection(c, "/admin/tokens", "bulk revoke tokens", "tokens to revoke")
	if ids == nil {
		return answered
	}
	ctx := c.Request().Context()
	if !confirmed {
		tokens, err := a.store.TokensByID(ctx, ids)
		if err != nil {
			return a.serverError(c, "bulk revoke tokens", err)
		}
		v := views.ConfirmView{
			Heading: "Revoke " + views.Plural(int64(len(ids)), "token", "tokens") + "?",
			Lead:    "Each access token and its refresh token stop working at once; the client must send the user through authorization again.",
			Button:  "Revoke " + views.Plural(int64(len(ids)), "token", "tokens"),
			Action:  "/admin/tokens/bulk-revoke", TakesIntro: "It revokes:",
			Keeps: []string{"The users' consents and sessions", "Tokens not selected"},
		}
		v.Section = "tokens"
		for _, t := range tokens {
			if t.RevokedAt == nil {
				v.Takes = append(v.Takes, grantLine("Token", t.ID, t.Client.Name, t.User, t.Scope))
			}
		}
		if n := len(ids) - len(v.Takes); n > 0 {
			v.Keeps = append(v.Keeps, views.Plural(int64(n), "selected token that is", "selected tokens that are")+" already revoked or gone (skipped)")
		}
		return a.bulkConfirm(c, ids, back, v)
	}
	revoked, skipped, err := a.store.RevokeTokensByID(ctx, ids, a.now())
	if err != nil {
		return a.serverError(c, "bulk revoke tokens", err)
	}
	for i := range revoked {
		a.auditTokenRevoked(c, &revoked[i])
	}
	return a.redirectWith(c, back, "success",
		views.Plural(int64(len(revoked)), "token", "tokens")+" revoked."+skippedNote(skipped, "gone or already revoked"))
}

// BulkRevokeConsents serves POST /admin/consents/bulk-revoke: each
// selected consent goes as RevokeConsent takes one, with the tokens and
// unused codes of its user and client, after a confirmation page.
func (a *Admin) BulkRevokeConsents(c echo.Context) error {
	back, ids, confirmed, answered := a.bulkSelection(c, "/admin/consents", "bulk revoke consents", "consents to revoke")
	if ids == nil {
		return answered
	}
	ctx := c.Request().Context()
	if !confirmed {
		consents, err := a.store.ConsentsByID(ctx, ids)
		if err != nil {
			return a.serverError(c, "bulk revoke consents", err)
		}
		v := views.ConfirmView{
			Heading: "Revoke " + views.Plural(int64(len(ids)), "consent", "consents") + "?",
			Lead:    "Each user is asked again the next time the client asks for their data.",
			Button:  "Revoke " + views.Plural(int64(len(ids)), "consent", "consents"),
			Action:  "/admin/consents/bulk-revoke", TakesIntro: "It revokes, each with every token the client holds for that user and its unused codes:",
			Keeps: []string{"The users and clients themselves", "Consents not selected"},
		}
		v.Section = "consents"
		for _, cs := range consents {
			v.Takes = append(v.Takes, fmt.Sprintf("Consent of %s to %s, scope %q", cs.User.Username, cs.Client.Name, cs.Scope))
		}
		if n := len(ids) - len(consents); n > 0 {
			v.Keeps = append(v.Keeps, views.Plural(int64(n), "selected consent that is", "selected consents that are")+" already gone (skipped)")
		}
		return a.bulkConfirm(c, ids, back, v)
	}
	revoked, skipped, err := a.store.RevokeConsents(ctx, ids, a.now())
	if err != nil {
		return a.serverError(c, "bulk revoke consents", err)
	}
	for i := range revoked {
		a.auditConsentRevoked(c, &revoked[i])
	}
	return a.redirectWith(c, back, "success",
		views.Plural(int64(len(revoked)), "consent", "consents")+" revoked, with the clients' tokens for those users."+skippedNote(skipped, "already gone"))
}

// BulkDeleteCodes serves POST /admin/codes/bulk-delete: the selected
// codes can no longer be exchanged, after a confirmation page. Tokens
// already issued from them are left alone.
func (a *Admin) BulkDeleteCodes(c echo.Context) error {
	back, ids, confirmed, answered := a.bulkSelection(c, "/admin/codes", "bulk delete codes", "codes to delete")
	if ids == nil {
		return answered
	}
	ctx := c.Request().Context()
	if !confirmed {
		codes, err := a.store.CodesByID(ctx, ids)
		if err != nil {
			return a.serverError(c, "bulk delete codes", err)
		}
		v := views.ConfirmView{
			Heading: "Delete " + views.Plural(int64(len(ids)), "authorization code", "authorization codes") + "?",
			Lead:    "An unused code can no longer be exchanged for tokens.",
			Button:  "Delete " + views.Plural(int64(len(ids)), "code", "codes"),
			Action:  "/admin/codes/bulk-delete", TakesIntro: "It deletes:",
			Keeps: []string{"Tokens already issued from these codes", "Codes not selected"},
		}
		v.Section = "codes"
		for _, cd := range codes {
			u := cd.User
			v.Takes = append(v.Takes, grantLine("Code", cd.ID, cd.Client.Name, &u, cd.Scope))
		}
		if n := len(ids) - len(codes); n > 0 {
			v.Keeps = append(v.Keeps, views.Plural(int64(n), "selected code that is", "selected codes that are")+" already gone (skipped)")
		}
		return a.bulkConfirm(c, ids, back, v)
	}
	deleted, skipped, err := a.store.DeleteCodes(ctx, ids)
	if err != nil {
		return a.serverError(c, "bulk delete codes", err)
	}
	for i := range deleted {
		a.auditCodeDeleted(c, &deleted[i])
	}
	return a.redirectWith(c, back, "success",
		views.Plural(int64(len(deleted)), "code", "codes")+" deleted."+skippedNote(skipped, "already gone"))
}
