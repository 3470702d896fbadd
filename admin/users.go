package admin

import "oidcd/models"

// userState is a user as the audit log records it: no password hash.
type userState struct {
	Username, Email, Name, GivenName, FamilyName string
	EmailVerified, Active, Superuser             bool
}

func userStateOf(u *models.User) userState {
	return userState{
		Username: u.Username, Email: u.Email, Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName,
		EmailVerified: u.EmailVerified, Active: u.Active, Superuser: u.Superuser,
	}
}
