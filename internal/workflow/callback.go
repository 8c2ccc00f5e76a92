package workflow

import "aias/internal/errs"

// validate checks an on_finish block at path.
func (o *OnFinish) validate(path string, l Limits) []errs.FieldError {
	if o == nil {
		return nil
	}
	_ = l
	return nil
}
