package postgres

import "strings"

// Text makes s storable as Postgres text: NUL (which text cannot hold) and
// bytes that are not UTF-8 (which a UTF-8 database refuses) become U+FFFD.
// For text that comes from outside or quotes what did — a sender's header,
// an error message that quotes a payload — where refusing the whole write
// would lose more than the odd byte.
func Text(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

// TextPtr is Text of *s, nil for nil.
func TextPtr(s *string) *string {
	if s == nil {
		return nil
	}
	t := Text(*s)
	return &t
}
