package equity311

import (
	"errors"
	"fmt"
)

// An OptionError is a problem with an option a library call was given, or
// one it lacks. Key names the option as a config file spells it (snake
// case, e.g. "id_prop"; several joined by "/", as "from/to"). The library
// says what is wrong; the caller says how its users set the option: the
// command line as --id-prop, the weekly service as layer[0].id_prop.
type OptionError struct {
	Key string
	Err error
}

func (e *OptionError) Error() string { return e.Err.Error() }

func (e *OptionError) Unwrap() error { return e.Err }

// OptionErrorf returns an OptionError for key with a formatted message.
func OptionErrorf(key, format string, args ...any) error {
	return &OptionError{Key: key, Err: fmt.Errorf(format, args...)}
}

// OptionKey returns the key of the first OptionError in err's chain, or "".
func OptionKey(err error) string {
	var oe *OptionError
	if errors.As(err, &oe) {
		return oe.Key
	}
	return ""
}
