package burrow

import "errors"

// PermanentError marks an error as not retriable: the message goes straight to the failure
// policy (Config.OnFailure) instead of being retried. Create one with Permanent.
type PermanentError struct{ Err error }

// Error returns the wrapped error's text ("permanent error" when Err is nil).
func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "permanent error"
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the message is not retried. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or an error it wraps) was marked with Permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
