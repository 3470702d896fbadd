// Submits the form_post authorization response at once (OAuth 2.0 Form
// Post Response Mode §2). Without JavaScript the Continue button does it.
document.getElementById("form-post").submit();
