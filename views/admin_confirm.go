package views

// ConfirmView asks before an action that cannot be undone, as Django's
// admin does: a page of its own (no script needed) saying what the action
// does and what it takes with it, with counts, and a form that acts only
// when the admin presses its danger button. Cancel goes back without
// acting.
type ConfirmView struct {
	AdminChrome
	// Heading is the question: "Revoke this token?".
	Heading string
	// Lead says, in a sentence or two, what the action does.
	Lead string
	// TakesIntro introduces Takes ("It also deletes:"); "It takes with
	// it:" when empty.
	TakesIntro string
	// Takes is what goes with the action, with counts ("3 access tokens").
	Takes []string
	// Keeps is what the action leaves alone, said so that no admin
	// assumes more happened than did ("Tokens already issued stay valid").
	Keeps []string
	// Undo says how to reverse it; empty: "This cannot be undone."
	Undo string
	// Action is the path the form posts to; Hidden, the fields it carries
	// (a filter, a list of ids, the list to go back to).
	Action string
	Hidden []HiddenField
	// Button is the danger button's label ("Revoke token").
	Button string
	// Cancel is where Cancel goes: a same-site path (admin.backTo).
	Cancel string
	// Disabled, when not empty, says why the action cannot be taken now
	// (the button is left out, Cancel stays).
	Disabled string
}

// HiddenField is a field a confirmation form carries.
type HiddenField struct {
	Name, Value string
}
