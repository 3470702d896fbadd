package views

// SectionLink is one entry of a form page's section links.
type SectionLink struct {
	ID    string
	Title string
}

// sectionID is the element id of a form section: prefixed, so that it
// cannot clash with a field's id (the claim "profile" is a field, and
// "Profile" a section).
func sectionID(id string) string { return "section-" + id }
