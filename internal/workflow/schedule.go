package workflow

import "aias/internal/errs"

// validate checks a schedule block at path.
func (s *Schedule) validate(path string) []errs.FieldError {
	if s == nil {
		return nil
	}
	return nil
}
