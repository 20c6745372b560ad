package engine

// Func returns an Option that runs f on the configuration: a test's knob,
// which skips validation, so it exists only in the tests.
func Func(f func(*Config)) Option { return optionFunc(f) }
